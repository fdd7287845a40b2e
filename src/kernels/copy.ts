// Word copy as a compute pass (shaders/copy_words.wgsl), so a GPU timer can measure it:
// DWDP's weight merge when the grouped GEMM cannot read split weights in place.
import {
  ComputeProgram,
  wgslProgram,
  workgroupGrid,
  type Gpu,
  type GpuTimer,
  type ProgramDispatch,
} from '../gpu/index.ts';
import { SizeUniforms } from './routing-params.ts';

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
    private readonly program: ComputeProgram,
  ) {
    this.params = new SizeUniforms(gpu.device, 'copy');
  }

  static async create(gpu: Gpu): Promise<CopyKernel> {
    const program = await ComputeProgram.create(gpu, 'copy_words', async () => ({
      program: await wgslProgram('copy_words.wgsl'),
    }));
    return new CopyKernel(gpu, program);
  }

  /** One timed pass (`label`) holding every copy, one dispatch each (the pipeline set once). */
  encode(enc: GPUCommandEncoder, copies: WordCopy[], label: string, timer?: GpuTimer): void {
    // Every copy is checked, its grid included, before the pass is begun (one loop over the copies).
    const dispatches: ProgramDispatch[] = [];
    for (let i = 0; i < copies.length; i++) {
      const c = copies[i];
      if (c.srcOffset % 16 || c.dstOffset % 16 || c.bytes % 16)
        throw new Error(
          `copy ${i}: offsets and sizes must be multiples of 16 bytes (got srcOffset ${c.srcOffset}, dstOffset ${c.dstOffset}, bytes ${c.bytes})`,
        );
      if (c.srcOffset + c.bytes > c.src.size || c.dstOffset + c.bytes > c.dst.size)
        throw new Error(
          `copy ${i}: ${c.bytes} bytes overrun a buffer (src ${c.src.size} bytes from ${c.srcOffset}, dst ${c.dst.size} bytes from ${c.dstOffset})`,
        );
      const grid = workgroupGrid(
        Math.ceil(c.bytes / 16 / 256),
        this.gpu.device.limits,
        () => `copy of ${c.bytes} bytes`,
      );
      if (c.bytes === 0) continue;
      const sizes = this.params.get(c.srcOffset / 16, c.dstOffset / 16, c.bytes / 16);
      dispatches.push({ bindGroup: this.program.bindGroup([sizes, c.src, c.dst]), grid });
    }
    const pass = enc.beginComputePass({ label, timestampWrites: timer?.writes(label) });
    this.program.dispatchEach(pass, dispatches);
    pass.end();
  }

  destroy(): void {
    this.params.destroy();
  }
}
