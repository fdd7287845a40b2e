// Lab: the memory ceiling — a word copy as a compute pass (src/kernels/copy.ts), one
// 16-byte load and store per invocation. GB/s count bytes read + bytes written, as the rack
// model's copyWork does, so `copyGBps` for the 'this-device' profile is this number.
import { createBuffer, createBufferWith, readU32, type Gpu } from '../../gpu/index.ts';
import { CopyKernel } from '../../kernels/copy.ts';
import { Rng } from '../../util/random.ts';
import { checkExact } from '../checks.ts';
import type { LabKernel, LabProblem } from '../types.ts';

/** 16 MiB on a CPU-emulated adapter; 256 MiB on a hardware GPU (well past its caches). */
export const defaultCopyMiB = (gpu: Gpu): number => (gpu.info.software ? 16 : 256);

export const copyLab: LabKernel<Uint32Array> = {
  name: 'copy',
  summary: 'copy bandwidth: a vec4 word copy (the memory ceiling; GB/s = bytes read + written)',
  bound: 'memory',
  uses: ['mib'],
  async prepare(gpu: Gpu, s, opts): Promise<LabProblem<Uint32Array>> {
    if (opts.variant !== undefined) throw new Error('copy has no variants');
    const mib = s.mib ?? defaultCopyMiB(gpu);
    // Whole vec4s; fractions of a MiB allowed for tests.
    const bytes = Math.max(16, Math.round((mib * 1024 * 1024) / 16) * 16);
    const rng = new Rng(opts.seed).fork('words');
    const words = new Uint32Array(bytes / 4);
    for (let i = 0; i < words.length; i++) words[i] = (rng.next() * 4294967296) >>> 0;
    const src = createBufferWith(gpu, words, 'lab copy src');
    const dst = createBuffer(gpu, bytes, 'lab copy dst');
    const kernel = await CopyKernel.create(gpu);
    const copies = [{ src, srcOffset: 0, dst, dstOffset: 0, bytes }];
    return {
      kernel: 'copy',
      shape: { mib: bytes / (1024 * 1024), bytes },
      variant: '-',
      variantSource: 'fixed',
      bound: 'memory',
      flops: 0,
      bytes: 2 * bytes,
      passes: 1,
      outputs: [dst],
      encode(enc, timer) {
        kernel.encode(enc, copies, 'copy', timer);
      },
      read: () => readU32(gpu, dst, bytes / 4),
      check: (out) => checkExact(`${bytes} bytes`, out, words),
      destroy() {
        kernel.destroy();
        src.destroy();
        dst.destroy();
      },
    };
  },
};
