// Lab: the causal attention stand-in (src/kernels/attention.ts) over requests packed back to
// back. Variant 'bk:N' = N keys per K/V workgroup tile.
import { createBuffer, createBufferWith, readF32, type Gpu } from '../../gpu/index.ts';
import {
  AttentionKernel,
  attentionFlops,
  attentionReference,
  defaultBlockK,
  packOffsets,
} from '../../kernels/attention.ts';
import { Rng } from '../../util/random.ts';
import { checkClose } from '../checks.ts';
import { attentionShapeClass } from '../../tuning/shape-class.ts';
import { parseNumbered, tunedVariant } from '../tuned.ts';
import type { LabKernel, LabProblem, LabShape } from '../types.ts';

export const ATTENTION_TOLERANCE = 1e-4;

export const attentionLab: LabKernel<Float32Array> = {
  name: 'attention',
  summary: 'causal multi-head attention stand-in over packed requests (FLOPs 2·Σ len·(len+1)·heads·headDim)',
  bound: 'compute',
  uses: ['heads', 'headDim', 'lengths'],
  shapeClass: (s) => attentionShapeClass(s),
  variantProblem(v) {
    const n = parseNumbered('bk', v);
    return typeof n === 'string' ? n : undefined;
  },
  sweepCandidates: (gpu, s) =>
    [4, 8, 16, 32]
      .filter((bk) => 8 * bk * s.headDim <= gpu.device.limits.maxComputeWorkgroupStorageSize)
      .map((bk) => `bk:${bk}`),
  async prepare(gpu: Gpu, s: LabShape, opts): Promise<LabProblem<Float32Array>> {
    const params = { heads: s.heads, headDim: s.headDim };
    const d = s.heads * s.headDim;
    const offsets = packOffsets(s.lengths);
    const S = offsets[offsets.length - 1];
    const rng = new Rng(opts.seed);
    const [q, k, v] = ['q', 'k', 'v'].map((n) => rng.fork(n).normals(S * d, 1));
    const want = attentionReference(params, offsets, q, k, v);
    const validate = (variant: string): string | undefined => {
      const n = parseNumbered('bk', variant);
      if (typeof n === 'string') return n;
      return 8 * n * s.headDim <= gpu.device.limits.maxComputeWorkgroupStorageSize
        ? undefined
        : `blockK ${n} does not fit workgroup memory with headDim ${s.headDim}`;
    };
    const given = opts.variant;
    if (given !== undefined && validate(given)) throw new Error(`attention variant: ${validate(given)}`);
    const tuned = given === undefined ? await tunedVariant(gpu, attentionLab, s, validate) : undefined;
    const blockKOf = (variant: string | undefined) =>
      variant ? (parseNumbered('bk', variant) as number) : defaultBlockK(s.headDim);
    let blockK = blockKOf(given ?? tuned);
    let kernel = await AttentionKernel.create(gpu, params, { blockK });
    const bufs = {
      q: createBufferWith(gpu, q, 'lab attention q'),
      k: createBufferWith(gpu, k, 'lab attention k'),
      v: createBufferWith(gpu, v, 'lab attention v'),
      out: createBuffer(gpu, 4 * S * d, 'lab attention out'),
      seqOffsets: createBufferWith(gpu, offsets, 'lab attention offsets'),
    };
    const args = { ...bufs, tokens: S, requests: s.lengths.length };
    const problem: LabProblem<Float32Array> = {
      kernel: 'attention',
      shape: { heads: s.heads, headDim: s.headDim, lengths: [...s.lengths] },
      variant: `bk:${blockK}`,
      variantSource: given ? 'given' : tuned ? 'tuned' : 'default',
      bound: 'compute',
      flops: attentionFlops(s.lengths, d),
      bytes: 4 * (4 * S * d + offsets.length),
      passes: 1,
      outputs: [bufs.out],
      encode(enc, timer) {
        kernel.encode(enc, args, timer);
      },
      read: () => readF32(gpu, bufs.out, S * d),
      check: (out) => checkClose(`out [${S}, ${d}]`, out, want, ATTENTION_TOLERANCE),
      async setVariant(variant) {
        const why = validate(variant);
        if (why) throw new Error(`attention variant: ${why}`);
        const next = await AttentionKernel.create(gpu, params, { blockK: blockKOf(variant) });
        kernel.destroy();
        kernel = next;
        blockK = blockKOf(variant);
        problem.variant = `bk:${blockK}`;
        problem.variantSource = 'given';
      },
      destroy() {
        kernel.destroy();
        for (const b of Object.values(bufs)) b.destroy();
      },
    };
    return problem;
  },
};
