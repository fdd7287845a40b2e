// Unpacks compressed expert blocks to f32 on the GPU, with the decoders the grouped
// expert GEMM uses (shaders/weight_decode.wgsl): the tests' proof that GPU and CPU
// (src/model/formats.ts decodeExpert) agree code for code.
import { cachedPipeline, createBuffer, createUniform, packUniform, readF32, wgslProgram, withErrorScopes, type Gpu, type GpuTimer } from '../gpu/index.ts';
import type { ExpertLayout, MatrixLayout, WeightFormat } from '../model/formats.ts';

const FORMAT_ID: Record<WeightFormat, number> = { f32: 0, int8: 1, fp8: 2, nvfp4: 3 };

export type MatrixName = 'gate' | 'up' | 'down';

function matrixUniform(format: WeightFormat, m: MatrixLayout): ArrayBuffer {
  return packUniform([
    ['u32', FORMAT_ID[format]],
    ['u32', m.rows],
    ['u32', m.cols],
    ['u32', m.codes],
    ['u32', m.rowWords],
    ['u32', m.scales],
    ['u32', m.scaleRowWords],
    ['u32', m.blockRows],
    ['u32', m.blockCols],
    ['u32', m.blocksPerRow],
    ['u32', m.tensorScale],
  ]);
}

function unpackPipeline(gpu: Gpu): Promise<GPUComputePipeline> {
  return cachedPipeline(gpu, 'expert_gemm_unpack', async () => ({
    program: await wgslProgram('weight_decode.wgsl', 'expert_gemm_unpack.wgsl'),
  }));
}

/**
 * Records the unpack of one matrix of the expert block at `block` (binding = the block's
 * first word) into `out` (f32 [rows, cols]); with a timer the pass is timed as 'decode'.
 */
export async function encodeUnpackMatrix(
  gpu: Gpu,
  enc: GPUCommandEncoder,
  l: ExpertLayout,
  which: MatrixName,
  block: GPUBufferBinding,
  out: GPUBuffer,
  timer?: GpuTimer,
): Promise<void> {
  const m = l[which];
  const pipeline = await unpackPipeline(gpu);
  const bind = gpu.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: block },
      { binding: 1, resource: { buffer: out } },
      { binding: 2, resource: { buffer: createUniform(gpu, matrixUniform(l.format, m), `unpack ${which}`) } },
    ],
  });
  const groups = Math.ceil((m.rows * m.rowWords) / 64);
  const x = Math.min(groups, 65535);
  const pass = enc.beginComputePass({ label: `unpack ${which}`, timestampWrites: timer?.writes('decode') });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
  pass.end();
}

/** Unpacks gate, up and down of the expert block at `block` and reads them back. */
export async function unpackExpertGpu(gpu: Gpu, l: ExpertLayout, block: GPUBufferBinding): Promise<Record<MatrixName, Float32Array>> {
  return withErrorScopes(gpu, 'unpack expert', async () => {
    const names: MatrixName[] = ['gate', 'up', 'down'];
    const outs = names.map((n) => createBuffer(gpu, l[n].rows * l[n].cols * 4, `unpacked ${n}`));
    const enc = gpu.device.createCommandEncoder();
    for (let i = 0; i < 3; i++) await encodeUnpackMatrix(gpu, enc, l, names[i], block, outs[i]);
    gpu.device.queue.submit([enc.finish()]);
    const got = await Promise.all(names.map((n, i) => readF32(gpu, outs[i], l[n].rows * l[n].cols)));
    outs.forEach((b) => b.destroy());
    return { gate: got[0], up: got[1], down: got[2] };
  });
}
