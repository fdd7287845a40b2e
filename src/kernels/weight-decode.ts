// Unpacks compressed expert blocks to f32 on the GPU, with the decoders the grouped
// expert GEMM uses (shaders/weight_decode.wgsl): the tests' proof that GPU and CPU
// (src/model/formats.ts decodeExpert) agree code for code.
import {
  ComputeProgram,
  createBuffer,
  createUniform,
  packUniform,
  readF32,
  wgslProgram,
  withErrorScopes,
  workgroupGrid,
  type Gpu,
  type GpuTimer,
} from '../gpu/index.ts';
import type { ExpertLayout, MatrixLayout, WeightFormat } from '../model/formats.ts';
import { FORMAT_ID } from './expert-gemm-codegen.ts';

export type MatrixName = 'gate' | 'up' | 'down';

const MATRICES: readonly MatrixName[] = ['gate', 'up', 'down'];

function matrixUniform(format: WeightFormat, m: MatrixLayout): ArrayBuffer {
  // struct Unpack (expert_gemm_unpack.wgsl): the MatrixLayout (matrix_layout.wgsl), then format and shape.
  return packUniform([
    ['u32', m.codes],
    ['u32', m.rowWords],
    ['u32', m.scales],
    ['u32', m.scaleRowWords],
    ['u32', m.blockRows],
    ['u32', m.blockCols],
    ['u32', m.blocksPerRow],
    ['u32', m.tensorScale],
    ['u32', FORMAT_ID[format]],
    ['u32', m.rows],
    ['u32', m.cols],
  ]);
}

/** The unpack kernel for one expert layout: its pipeline and one layout uniform per matrix, made once. */
export class UnpackKernel {
  private constructor(
    private readonly gpu: Gpu,
    readonly layout: ExpertLayout,
    private readonly program: ComputeProgram,
    private readonly uniforms: Record<MatrixName, GPUBuffer>,
  ) {}

  static async create(gpu: Gpu, l: ExpertLayout): Promise<UnpackKernel> {
    const program = await ComputeProgram.create(gpu, 'expert_gemm_unpack', async () => ({
      program: await wgslProgram('weight_decode.wgsl', 'matrix_layout.wgsl', 'expert_gemm_unpack.wgsl'),
    }));
    const uniforms = Object.fromEntries(
      MATRICES.map((n) => [n, createUniform(gpu, matrixUniform(l.format, l[n]), `unpack ${n}`)]),
    ) as Record<MatrixName, GPUBuffer>;
    return new UnpackKernel(gpu, l, program, uniforms);
  }

  /**
   * Records the unpack of one matrix of the expert block at `block` (binding = the block's
   * first word) into `out` (f32 [rows, cols]); with a timer the pass is timed as 'decode'.
   */
  encode(enc: GPUCommandEncoder, which: MatrixName, block: GPUBufferBinding, out: GPUBuffer, timer?: GpuTimer): void {
    const m = this.layout[which];
    const grid = workgroupGrid(
      Math.ceil((m.rows * m.rowWords) / 64),
      this.gpu.device.limits,
      () => `unpack of ${which}`,
    );
    const bind = this.program.bindGroup([block, out, this.uniforms[which]]);
    const pass = enc.beginComputePass({ label: `unpack ${which}`, timestampWrites: timer?.writes('decode') });
    this.program.dispatch(pass, bind, grid);
    pass.end();
  }

  destroy(): void {
    for (const b of Object.values(this.uniforms)) b.destroy();
  }
}

/** Unpacks gate, up and down of the expert block at `block` and reads them back. */
export async function unpackExpertGpu(
  gpu: Gpu,
  l: ExpertLayout,
  block: GPUBufferBinding,
): Promise<Record<MatrixName, Float32Array>> {
  return withErrorScopes(gpu, 'unpack expert', async () => {
    const kernel = await UnpackKernel.create(gpu, l);
    const outs = MATRICES.map((n) => createBuffer(gpu, l[n].rows * l[n].cols * 4, `unpacked ${n}`));
    const enc = gpu.device.createCommandEncoder();
    MATRICES.forEach((n, i) => kernel.encode(enc, n, block, outs[i]));
    gpu.device.queue.submit([enc.finish()]);
    const got = await Promise.all(MATRICES.map((n, i) => readF32(gpu, outs[i], l[n].rows * l[n].cols)));
    outs.forEach((b) => b.destroy());
    kernel.destroy();
    return { gate: got[0], up: got[1], down: got[2] };
  });
}
