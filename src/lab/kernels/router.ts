// Lab: the MoE router (src/kernels/router.ts). Variant 'tb:N': the logits by the dense GEMM
// pass, then N tokens per selection workgroup, its threads cooperating on each; 'pt:N': the
// logits by the GEMM pass, then one invocation per token, N per workgroup; 'fused:tb:N': one
// pass whose workgroups compute the logits themselves, N tokens sharing each load of the
// router weights (the form the kernel keeps for H not a multiple of 4, and the one the GEMM
// pass replaced).
import { createBuffer, createBufferWith, readF32, readI32, type Gpu } from '../../gpu/index.ts';
import { RouterKernel, routerReference, type RouterParams } from '../../kernels/router.ts';
import { parseRouterVariant, routerVariantProblem, type RouterVariant } from '../../kernels/routing-params.ts';
import { clearRouterInputs, routerWeightBounds, type RouterInputs } from '../../kernels/router-bounds.ts';
import { Rng } from '../../util/random.ts';
import { allOf, checkExact } from '../checks.ts';
import { relativeError } from '../../util/numeric.ts';
import { routerShapeClass } from '../../tuning/shape-class.ts';
import { tunedVariant } from '../tuned.ts';
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
 * Held to the reference on every token: the inputs are drawn clear of f32 rounding
 * (router-bounds.ts: a token whose routing the kernel's rounding could flip is redrawn), so
 * every expert id must match exactly and every weight lie within its error bound, both
 * derived from the inputs. `relErr` is the weights' relative error; `tolerance` the
 * relative error the bounds allow together.
 */
export function checkRouter(
  p: RouterParams,
  tokens: number,
  inp: RouterInputs,
  ref: ReturnType<typeof routerReference>,
  out: RouterOut,
): CheckResult {
  const K = p.topK;
  const bounds = new Float64Array(tokens * K);
  for (let t = 0; t < tokens; t++) bounds.set(routerWeightBounds(p, inp, ref, t), t * K);
  let outside = 0;
  let first = -1;
  for (let i = 0; i < tokens * K; i++) {
    if (!(Math.abs(out.weight[i] - ref.weight[i]) <= bounds[i])) {
      outside++;
      if (first < 0) first = i;
    }
  }
  const relErr = relativeError(out.weight, ref.weight);
  const tolerance = relativeError(
    Array.from(ref.weight, (w, i) => w + bounds[i]),
    ref.weight,
  );
  const weights: CheckResult = {
    ok: outside === 0 && out.weight.length === ref.weight.length,
    relErr,
    tolerance,
    detail:
      outside === 0
        ? `routing weights: all ${tokens * K} within their error bounds (relative error ${relErr.toExponential(2)}, bounds allow ${tolerance.toExponential(2)})`
        : `routing weights: ${outside} of ${tokens * K} outside their error bounds; first at [${first}]: ` +
          `got ${out.weight[first]}, expected ${ref.weight[first]} ± ${bounds[first].toExponential(2)}`,
  };
  return allOf(checkExact('expert ids', out.idx, ref.idx), weights);
}

export const routerLab: LabKernel<RouterOut> = {
  name: 'router',
  summary: 'MoE router: logits x·Wᵀ, softmax or sigmoid (DeepSeek groups and bias), top-k and weights',
  bound: 'compute',
  uses: ['tokens', 'hidden', 'experts', 'topK', 'scoring'],
  shapeClass: (s) => routerShapeClass(s),
  variantProblem: (v, s) => routerVariantProblem(v, labRouterParams(s)),
  sweepCandidates: () => ['tb:1', 'tb:2', 'tb:4', 'tb:8', 'fused:tb:4', 'pt:16', 'pt:64', 'pt:256'],
  async prepare(gpu: Gpu, s: LabShape, opts): Promise<LabProblem<RouterOut>> {
    const p = labRouterParams(s);
    const T = s.tokens;
    const rng = new Rng(opts.seed);
    const w = rng.fork('w').normals(p.experts * p.hidden, 1 / Math.sqrt(p.hidden));
    const bias = p.hasBias ? rng.fork('bias').normals(p.experts, 0.05) : undefined;
    // Tokens whose routing sits within f32 rounding (a few percent) are redrawn: the check holds every token.
    const redraw = rng.fork('redraw');
    const inp = clearRouterInputs(p, T, { x: rng.fork('x').normals(T * p.hidden, 1), w, bias }, () =>
      redraw.normals(p.hidden, 1),
    );
    const { x } = inp;
    const ref = routerReference(p, T, x, w, bias);
    const bufs = {
      x: createBufferWith(gpu, x, 'lab router x'),
      weight: createBufferWith(gpu, w, 'lab router W'),
      bias: bias ? createBufferWith(gpu, bias, 'lab router bias') : undefined,
      topkIdx: createBuffer(gpu, 4 * T * p.topK, 'lab router idx'),
      topkWeight: createBuffer(gpu, 4 * T * p.topK, 'lab router weight'),
    };
    const args = { ...bufs, tokens: T };
    const problemOf = (v: string) => routerVariantProblem(v, p);
    const given = opts.variant;
    if (given !== undefined && problemOf(given)) throw new Error(`router variant: ${problemOf(given)}`);
    const tuned = given === undefined ? await tunedVariant(gpu, routerLab, s, problemOf) : undefined;
    const make = (v: string | undefined) =>
      RouterKernel.create(gpu, p, v ? (parseRouterVariant(v) as RouterVariant) : {});
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
      variant: kernel.variantName,
      variantSource: given ? 'given' : tuned ? 'tuned' : 'default',
      bound: 'compute',
      flops: 2 * T * p.experts * p.hidden,
      bytes: 4 * (T * p.hidden + p.experts * p.hidden + 2 * T * p.topK),
      passes: kernel.passes,
      outputs: [bufs.topkIdx, bufs.topkWeight],
      encode(enc, timer) {
        kernel.encode(enc, args, timer);
      },
      async read() {
        return {
          idx: await readI32(gpu, bufs.topkIdx, T * p.topK),
          weight: await readF32(gpu, bufs.topkWeight, T * p.topK),
        };
      },
      check: (out) => checkRouter(p, T, inp, ref, out),
      async setVariant(v) {
        const why = problemOf(v);
        if (why) throw new Error(`router variant: ${why}`);
        const next = await make(v);
        kernel.destroy();
        kernel = next;
        problem.variant = kernel.variantName;
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
