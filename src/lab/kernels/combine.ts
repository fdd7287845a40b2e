// Lab: combine (src/kernels/combine.ts) — each token's K expert outputs weighted and summed,
// plus the shared expert (plain, or gated as in Qwen2-MoE).
import { createBuffer, createBufferWith, readF32, type Gpu } from '../../gpu/index.ts';
import { CombineKernel, combineReference, type CombineInputs } from '../../kernels/combine.ts';
import { randomRouting } from '../../kernels/gemm-tuning.ts';
import { permuteReference } from '../../kernels/permute.ts';
import { Rng } from '../../util/random.ts';
import { checkClose } from '../checks.ts';
import type { LabKernel, LabProblem, LabShape } from '../types.ts';

export const COMBINE_TOLERANCE = 1e-5;

export const combineLab: LabKernel<Float32Array> = {
  name: 'combine',
  summary: 'combine: out[t] = Σ_k w[t,k]·y[inv[t,k]] (+ shared expert, plain or gated)',
  bound: 'memory',
  uses: ['tokens', 'hidden', 'experts', 'topK', 'skew', 'shared'],
  async prepare(gpu: Gpu, s: LabShape, opts): Promise<LabProblem<Float32Array>> {
    if (opts.variant !== undefined) throw new Error('combine has no variants');
    const { tokens: T, hidden: H, topK: K, experts: E, shared } = s;
    const rng = new Rng(opts.seed);
    const routing = randomRouting(
      rng.fork('routing'),
      { tokens: T, topK: K, experts: E, hidden: H, expertHidden: 1 },
      s.skew,
    );
    const { inv } = permuteReference({ experts: E, topK: K }, T, new Int32Array(routing.choice));
    const wr = rng.fork('weights');
    const inp: CombineInputs = {
      y: rng.fork('y').normals(T * K * H, 1),
      inv,
      topkWeight: Float32Array.from({ length: T * K }, () => wr.next()),
      ...(shared !== 'none' ? { shared: rng.fork('shared').normals(T * H, 1) } : {}),
      ...(shared === 'gated'
        ? { x: rng.fork('x').normals(T * H, 1), sharedGateW: rng.fork('gate').normals(H, 1 / Math.sqrt(H)) }
        : {}),
    };
    const params = { hidden: H, topK: K, shared };
    const want = combineReference(params, T, inp);
    const kernel = await CombineKernel.create(gpu, params);
    const bufs = {
      y: createBufferWith(gpu, inp.y, 'lab combine y'),
      inv: createBufferWith(gpu, inp.inv, 'lab combine inv'),
      topkWeight: createBufferWith(gpu, inp.topkWeight, 'lab combine weights'),
      out: createBuffer(gpu, 4 * T * H, 'lab combine out'),
      shared: inp.shared ? createBufferWith(gpu, inp.shared, 'lab combine shared') : undefined,
      x: inp.x ? createBufferWith(gpu, inp.x, 'lab combine x') : undefined,
      sharedGateW: inp.sharedGateW ? createBufferWith(gpu, inp.sharedGateW, 'lab combine gate') : undefined,
    };
    const args = { ...bufs, tokens: T };
    const sharedRows = shared === 'none' ? 0 : shared === 'plain' ? 1 : 2;
    return {
      kernel: 'combine',
      shape: { tokens: T, hidden: H, experts: E, topK: K, skew: s.skew, shared },
      variant: '-',
      variantSource: 'fixed',
      bound: 'memory',
      flops: 2 * T * H * (K + (shared === 'none' ? 0 : 1)) + (shared === 'gated' ? 2 * T * H : 0),
      bytes: 4 * (T * K * H + 2 * T * K + T * H * (1 + sharedRows) + (shared === 'gated' ? H : 0)),
      passes: 1,
      outputs: [bufs.out],
      encode(enc, timer) {
        kernel.encode(enc, args, timer);
      },
      read: () => readF32(gpu, bufs.out, T * H),
      check: (out) => checkClose(`out [${T}, ${H}]`, out, want, COMBINE_TOLERANCE),
      destroy() {
        kernel.destroy();
        for (const b of Object.values(bufs)) b?.destroy();
      },
    };
  },
};
