// Word copy as a compute pass (shaders/copy_words.wgsl), so a GPU timer can measure it:
// DWDP's weight merge when the grouped GEMM cannot read split weights in place.
import { cachedPipeline, wgslProgram, type Gpu, type GpuTimer } from '../gpu/index.ts';
import { SizeUniforms, workgroupGrid } from './routing-params.ts';

export interface WordCopy {
  src: GPUBuffer;
  /** Byte offsets and length, multiples of 16. */
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  bytes: number;
}

export class CopyKernel {
  private readonly params: SizeUniforms;

  private constructor(
    private readonly gpu: Gpu,
    private readonly pipeline: GPUComputePipeline,
  ) {
    this.params = new SizeUniforms(gpu.device, 'copy');
  }

  static async create(gpu: Gpu): Promise<CopyKernel> {
    const pipeline = await cachedPipeline(gpu, 'copy_words', async () => ({
      program: await wgslProgram('copy_words.wgsl'),
    }));
    return new CopyKernel(gpu, pipeline);
  }

  /** One timed pass (`label`) holding every copy, one dispatch each. */
  encode(enc: GPUCommandEncoder, copies: WordCopy[], label: string, timer?: GpuTimer): void {
    const pass = enc.beginComputePass({ label, timestampWrites: timer?.writes(label) });
    pass.setPipeline(this.pipeline);
    for (const c of copies) {
      for (const v of [c.srcOffset, c.dstOffset, c.bytes])
        if (v % 16) throw new Error(`copy: offsets and sizes must be multiples of 16 bytes (got ${v})`);
      if (c.srcOffset + c.bytes > c.src.size || c.dstOffset + c.bytes > c.dst.size)
        throw new Error(`copy: ${c.bytes} bytes overrun a buffer`);
      if (c.bytes === 0) continue;
      const count = c.bytes / 16;
      pass.setBindGroup(
        0,
        this.gpu.device.createBindGroup({
          layout: this.pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: this.params.get(c.srcOffset / 16, c.dstOffset / 16, count) } },
            { binding: 1, resource: { buffer: c.src } },
            { binding: 2, resource: { buffer: c.dst } },
          ],
        }),
      );
      pass.dispatchWorkgroups(...workgroupGrid(Math.ceil(count / 256)));
    }
    pass.end();
  }

  destroy(): void {
    this.params.destroy();
  }
}
