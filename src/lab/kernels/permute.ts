// Lab: permute (src/kernels/permute.ts) — the stable counting sort of (token, slot) pairs
// by expert that the grouped GEMM reads. Integer outputs: checked exactly.
import { createBuffer, createBufferWith, readU32, type Gpu } from '../../gpu/index.ts';
import { randomRouting } from '../../kernels/gemm-tuning.ts';
import { PermuteKernel, permuteReference, type PermuteReference } from '../../kernels/permute.ts';
import { Rng } from '../../util/random.ts';
import { allOf, checkExact } from '../checks.ts';
import type { CheckResult, LabKernel, LabProblem, LabShape } from '../types.ts';

export type PermuteOut = PermuteReference;

export function checkPermute(ref: PermuteReference, out: PermuteOut): CheckResult {
  return allOf(
    checkExact('counts', out.counts, ref.counts),
    checkExact('offsets', out.offsets, ref.offsets),
    checkExact('perm', out.perm, ref.perm),
    checkExact('inv', out.inv, ref.inv),
  );
}

export const permuteLab: LabKernel<PermuteOut> = {
  name: 'permute',
  summary: 'permute: count, scan and scatter (token, slot) pairs into expert-sorted order',
  bound: 'memory',
  uses: ['tokens', 'experts', 'topK', 'skew'],
  async prepare(gpu: Gpu, s: LabShape, opts): Promise<LabProblem<PermuteOut>> {
    if (opts.variant !== undefined) throw new Error('permute has no variants');
    const { tokens: T, experts: E, topK: K } = s;
    const routing = randomRouting(
      new Rng(opts.seed).fork('routing'),
      { tokens: T, topK: K, experts: E, hidden: 1, expertHidden: 1 },
      s.skew,
    );
    const topkIdx = new Int32Array(routing.choice);
    const ref = permuteReference({ experts: E, topK: K }, T, topkIdx);
    const kernel = await PermuteKernel.create(gpu, { experts: E, topK: K });
    const bufs = {
      topkIdx: createBufferWith(gpu, topkIdx, 'lab permute idx'),
      counts: createBuffer(gpu, 4 * E, 'lab permute counts'),
      offsets: createBuffer(gpu, 4 * (E + 1), 'lab permute offsets'),
      perm: createBuffer(gpu, 4 * T * K, 'lab permute perm'),
      inv: createBuffer(gpu, 4 * T * K, 'lab permute inv'),
    };
    const args = { ...bufs, tokens: T };
    return {
      kernel: 'permute',
      shape: { tokens: T, experts: E, topK: K, skew: s.skew },
      variant: '-',
      variantSource: 'fixed',
      bound: 'memory',
      flops: 0,
      bytes: 4 * (3 * T * K + 2 * E + 1),
      passes: 1,
      outputs: [bufs.counts, bufs.offsets, bufs.perm, bufs.inv],
      encode(enc, timer) {
        kernel.encode(enc, args, timer);
      },
      async read() {
        return {
          counts: await readU32(gpu, bufs.counts, E),
          offsets: await readU32(gpu, bufs.offsets, E + 1),
          perm: await readU32(gpu, bufs.perm, T * K),
          inv: await readU32(gpu, bufs.inv, T * K),
        };
      },
      check: (out) => checkPermute(ref, out),
      destroy() {
        kernel.destroy();
        for (const b of Object.values(bufs)) b.destroy();
      },
    };
  },
};
