// Lab: the MoE router (src/kernels/router.ts). Variant 'tb:N' = N tokens per workgroup
// share each load of the router weights.
import { createBuffer, createBufferWith, readF32, readI32, type Gpu } from '../../gpu/index.ts';
import { RouterKernel, routerReference, routingMargin, type RouterParams } from '../../kernels/router.ts';
import { Rng } from '../../util/random.ts';
import { allOf, checkClose, checkExact } from '../checks.ts';
import { routerShapeClass } from '../../tuning/shape-class.ts';
import { parseNumbered, tunedVariant } from '../tuned.ts';
import type { CheckResult, LabKernel, LabProblem, LabShape } from '../types.ts';

export interface RouterOut {
  idx: Int32Array;
  weight: Float32Array;
}

/** Softmax: Mixtral/Qwen style. Sigmoid: DeepSeek-V3 style (bias, groups of 8 when E allows, ×2.5). */
export function labRouterParams(s: LabShape): RouterParams {
  if (s.scoring === 'softmax') {
    return {
      hidden: s.hidden,
      experts: s.experts,
      topK: s.topK,
      scoring: 'softmax',
      nGroup: 1,
      topkGroup: 1,
      hasBias: false,
      normTopkProb: true,
      routedScalingFactor: 1,
    };
  }
  const grouped = s.experts % 8 === 0 && s.experts >= 16 && s.topK <= (4 * s.experts) / 8;
  return {
    hidden: s.hidden,
    experts: s.experts,
    topK: s.topK,
    scoring: 'sigmoid',
    nGroup: grouped ? 8 : 1,
    topkGroup: grouped ? 4 : 1,
    hasBias: true,
    normTopkProb: true,
    routedScalingFactor: 2.5,
  };
}

/**
 * Expert ids must match exactly on every token whose decision is clear of f32 rounding
 * (reference margin ≥ 1e-5 of its score scale); weights on those tokens to 1e-5; at least
 * half the tokens must be clear (random inputs leave nearly all of them clear).
 */
export function checkRouter(
  p: RouterParams,
  tokens: number,
  ref: ReturnType<typeof routerReference>,
  out: RouterOut,
): CheckResult {
  const K = p.topK;
  const gotIdx: number[] = [];
  const wantIdx: number[] = [];
  const gotW: number[] = [];
  const wantW: number[] = [];
  for (let t = 0; t < tokens; t++) {
    const s = ref.scores.subarray(t * p.experts, (t + 1) * p.experts);
    const scale = Math.max(...Array.from(s, Math.abs), 1e-30);
    if (routingMargin(p, ref, t) < 1e-5 * scale) continue;
    for (let k = 0; k < K; k++) {
      gotIdx.push(out.idx[t * K + k]);
      wantIdx.push(ref.idx[t * K + k]);
      gotW.push(out.weight[t * K + k]);
      wantW.push(ref.weight[t * K + k]);
    }
  }
  const clear = wantIdx.length / K;
  const enough: CheckResult = {
    ok: clear >= tokens / 2,
    relErr: 0,
    tolerance: 0,
    detail: `${clear} of ${tokens} tokens clear of near-ties`,
  };
  return allOf(checkExact('expert ids', gotIdx, wantIdx), checkClose('routing weights', gotW, wantW, 1e-5), enough);
}

const validate = (v: string): string | undefined => {
  const n = parseNumbered('tb', v);
  if (typeof n === 'string') return n;
  return n <= 16 ? undefined : `tokens per workgroup ${n} is above 16`;
};

export const routerLab: LabKernel<RouterOut> = {
  name: 'router',
  summary: 'MoE router: logits x·Wᵀ, softmax or sigmoid (DeepSeek groups and bias), top-k and weights',
  bound: 'compute',
  uses: ['tokens', 'hidden', 'experts', 'topK', 'scoring'],
  shapeClass: (s) => routerShapeClass(s),
  sweepCandidates: () => ['tb:1', 'tb:2', 'tb:4', 'tb:8'],
  async prepare(gpu: Gpu, s: LabShape, opts): Promise<LabProblem<RouterOut>> {
    const p = labRouterParams(s);
    const T = s.tokens;
    const rng = new Rng(opts.seed);
    const x = rng.fork('x').normals(T * p.hidden, 1);
    const w = rng.fork('w').normals(p.experts * p.hidden, 1 / Math.sqrt(p.hidden));
    const bias = p.hasBias ? rng.fork('bias').normals(p.experts, 0.05) : undefined;
    const ref = routerReference(p, T, x, w, bias);
    const bufs = {
      x: createBufferWith(gpu, x, 'lab router x'),
      weight: createBufferWith(gpu, w, 'lab router W'),
      bias: bias ? createBufferWith(gpu, bias, 'lab router bias') : undefined,
      topkIdx: createBuffer(gpu, 4 * T * p.topK, 'lab router idx'),
      topkWeight: createBuffer(gpu, 4 * T * p.topK, 'lab router weight'),
    };
    const problemOf = validate;
    const given = opts.variant;
    if (given !== undefined && problemOf(given)) throw new Error(`router variant: ${problemOf(given)}`);
    const tuned = given === undefined ? await tunedVariant(gpu, routerLab, s, problemOf) : undefined;
    const make = (v: string | undefined) =>
      RouterKernel.create(gpu, p, v ? { tokensPerWorkgroup: parseNumbered('tb', v) as number } : {});
    let kernel = await make(given ?? tuned);
    const problem: LabProblem<RouterOut> = {
      kernel: 'router',
      shape: {
        tokens: T,
        hidden: p.hidden,
        experts: p.experts,
        topK: p.topK,
        scoring: p.scoring,
        nGroup: p.nGroup,
        topkGroup: p.topkGroup,
      },
      variant: `tb:${kernel.tokensPerWorkgroup}`,
      variantSource: given ? 'given' : tuned ? 'tuned' : 'default',
      bound: 'compute',
      flops: 2 * T * p.experts * p.hidden,
      bytes: 4 * (T * p.hidden + p.experts * p.hidden + 2 * T * p.topK),
      passes: kernel.passes,
      outputs: [bufs.topkIdx, bufs.topkWeight],
      encode(enc, timer) {
        kernel.encode(enc, { ...bufs, tokens: T }, timer);
      },
      async read() {
        return {
          idx: await readI32(gpu, bufs.topkIdx, T * p.topK),
          weight: await readF32(gpu, bufs.topkWeight, T * p.topK),
        };
      },
      check: (out) => checkRouter(p, T, ref, out),
      async setVariant(v) {
        const why = problemOf(v);
        if (why) throw new Error(`router variant: ${why}`);
        const next = await make(v);
        kernel.destroy();
        kernel = next;
        problem.variant = `tb:${kernel.tokensPerWorkgroup}`;
        problem.variantSource = 'given';
      },
      destroy() {
        kernel.destroy();
        for (const b of Object.values(bufs)) b?.destroy();
      },
    };
    return problem;
  },
};
