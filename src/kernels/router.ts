// The MoE router (shaders/router.wgsl): x [T,H] · W [E,H]ᵀ → topkIdx [T,K] i32 and
// topkWeight [T,K] f32, plus its float64 CPU reference. Slot order within a token is
// descending selection score, exact ties broken by the lower expert index; the selection
// score is prob + bias with a noaux_tc bias, else prob; with routing 'topk-softmax' (gpt-oss)
// it is the raw logit, and the weights are the softmax over the K selected logits.
//
// Two passes when H % 4 == 0 (every real model): the logits [T, E] are a GEMM, run by the
// grouped expert GEMM's tiled kernel as a dense GEMM (dense-gemm.ts, the adapter's f32
// default variant), then a selection kernel does only the scoring and top-k: router.wgsl
// (variant 'tb:N': a workgroup's threads cooperate on each of its N tokens in turn) or
// router_per_token.wgsl ('pt:N': one invocation per token, N per workgroup, no workgroup
// memory or barriers). Otherwise one pass, router.wgsl, whose first step computes the logits
// itself (TB tokens per load of W; 'fused:tb:N').
//
// The default selection is per adapter, like the expert GEMM's defaults: 'pt' on adapters
// with subgroups of exactly 4 lanes (SwiftShader, a CPU, where barriers cost per thread;
// measured faster there at both benchmark shapes, docs/expert-gemm.md), 'tb' elsewhere (a
// GPU, where one invocation per token leaves most lanes idle at small T); a tuning sweep
// may pick either.
import {
  ComputeProgram,
  LimitExceededError,
  ScratchBuffer,
  wgslProgram,
  workgroupGrid,
  type Gpu,
  type GpuTimer,
} from '../gpu/index.ts';
import { DenseGemm } from './dense-gemm.ts';
import { defaultVariant, hasSubgroupsOf4 } from './expert-gemm.ts';
import type { TileVariant } from './gemm-variant.ts';
import { adapterKey, tunedOrigin, type VariantOrigin } from '../tuning/tuning-cache.ts';
import { defaultTuningCache } from '../tuning/tuning-store.ts';
import { routerShapeClass } from '../tuning/shape-class.ts';
import {
  MAX_PER_TOKEN_WORKGROUP,
  MAX_TOKENS_PER_WORKGROUP,
  SizeUniforms,
  parseRouterVariant,
  routerVariantName,
  routerVariantProblem,
  validateRouterParams,
  type RouterParams,
} from './routing-params.ts';

export type { RouterParams } from './routing-params.ts';

/**
 * Threads per workgroup: 128 when the kernel computes the logits itself (16 experts × 8
 * lanes at a time); the selection alone needs one thread per expert at most, and its
 * reductions and barriers cost per thread on a CPU adapter: the power of two ≥ E in 32..128.
 */
function workgroupSize(p: RouterParams, fused: boolean): number {
  return fused ? 128 : Math.min(128, Math.max(32, 2 ** Math.ceil(Math.log2(p.experts))));
}

export interface RouterBuffers {
  x: GPUBuffer;
  weight: GPUBuffer;
  bias?: GPUBuffer;
  topkIdx: GPUBuffer;
  topkWeight: GPUBuffer;
  tokens: number;
}

/** Bytes of workgroup memory router.wgsl declares for these parameters, TB tokens and WG threads per workgroup. */
function workgroupBytes(p: RouterParams, tb: number, wg: number): number {
  return 4 * (2 * p.experts + p.nGroup + p.topK + tb * wg + 1);
}

/** Tokens (invocations) per workgroup of the per-token selection when none is asked for. */
export const DEFAULT_PER_TOKEN_WORKGROUP = 64;

/**
 * WGSL's limit on the bytes of function-address-space variables declared in one function
 * (W3C WGSL, §2.4 "Limits": "Maximum combined byte-size of all variables instantiated in the
 * function address space that are declared in a single function", minimum supported value
 * 8192; an implementation may accept more, none has to): the per-token selection's private
 * arrays must fit it.
 */
export const WGSL_FUNCTION_STORAGE_BYTES = 8192;

/**
 * The scalar function-scope `var`s router_per_token.wgsl's main declares, 4 bytes each: m,
 * total, den (twice, one per branch) and every loop or scan counter (e ×4, g ×2, j ×3, k ×2,
 * h, n, rank, top1, top2). test/router.test.ts counts them in the shader.
 */
export const PER_TOKEN_SCALAR_VARS = 20;

/**
 * Bytes of function-address-space variables router_per_token.wgsl's main declares, as WGSL's
 * limit counts them (every variable of the function): the private arrays (group scores and
 * kept flags, nGroup long; the K best values and ids) and the PER_TOKEN_SCALAR_VARS scalars,
 * every element and scalar 4 bytes (f32, u32, bool).
 */
export function perTokenBytes(p: RouterParams): number {
  return 4 * (2 * p.nGroup + 2 * p.topK + PER_TOKEN_SCALAR_VARS);
}

/** The selection this adapter runs by default (see the header): 'pt' where subgroups are exactly 4 lanes, else 'tb'. */
export function defaultSelection(gpu: Gpu): 'tb' | 'pt' {
  return hasSubgroupsOf4(gpu) ? 'pt' : 'tb';
}

function needBytes(buf: GPUBuffer, bytes: number, what: string): void {
  if (buf.size < bytes) throw new Error(`${what} buffer holds ${buf.size} bytes, needs ${bytes}`);
}

export class RouterKernel {
  private readonly sizes: SizeUniforms;
  private readonly noBias: GPUBuffer;
  /** Logits [T, E] f32. */
  private readonly logitsScratch: ScratchBuffer;

  private constructor(
    private readonly gpu: Gpu,
    readonly params: RouterParams,
    private readonly program: ComputeProgram,
    /** Tokens per workgroup. */
    readonly tokensPerWorkgroup: number,
    /** 'tb': router.wgsl, a workgroup's threads cooperate on each token; 'pt': router_per_token.wgsl, an invocation per token. */
    readonly selection: 'tb' | 'pt',
    /** The logits GEMM (undefined: the selection kernel computes the logits itself). */
    readonly logits: DenseGemm | undefined,
    /** Where the configuration came from: given (or built in), tuned (the tuning cache) or the default. */
    readonly origin: VariantOrigin,
  ) {
    this.sizes = new SizeUniforms(gpu.device, 'router');
    this.logitsScratch = new ScratchBuffer(gpu.device, 'router logits');
    // The shader always declares the bias binding; without a bias it reads nothing from this.
    this.noBias = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'router no-bias' });
  }

  /**
   * `selection` picks the selection kernel ('tb' or 'pt', see the header; default per
   * adapter, defaultSelection, and 'tb' for the one-pass form). `tokensPerWorkgroup` sets how
   * many tokens one selection workgroup routes (default: 'tb' 4, or fewer when E needs the
   * workgroup memory, and in the one-pass form they share each load of W; 'pt'
   * DEFAULT_PER_TOKEN_WORKGROUP). `fused: true` forces the one-pass form (the logits computed
   * by the selection kernel, 'tb' only); `logitsVariant` picks the logits GEMM's tile
   * variant. `tuned: true` (the MoE layer) takes the tuning cache's winner for this adapter
   * and shape class (`expectedTokens` picks the size bucket) where none of the first three is given.
   */
  static async create(
    gpu: Gpu,
    p: RouterParams,
    opts: {
      selection?: 'tb' | 'pt';
      tokensPerWorkgroup?: number;
      fused?: boolean;
      logitsVariant?: TileVariant;
      tuned?: boolean;
      expectedTokens?: number;
    } = {},
  ): Promise<RouterKernel> {
    validateRouterParams(p);
    let origin: VariantOrigin = { source: opts.tuned ? 'default' : 'given' };
    if (
      opts.tuned &&
      opts.tokensPerWorkgroup === undefined &&
      opts.fused === undefined &&
      opts.selection === undefined
    ) {
      const cache = await defaultTuningCache();
      const c = routerShapeClass({ ...p, tokens: opts.expectedTokens ?? 1 });
      const hit = await cache?.lookup(
        adapterKey(gpu.info),
        { ...c, rows: opts.expectedTokens ? c.rows : undefined },
        (v) => routerVariantProblem(v, p),
      );
      if (hit) {
        opts = { ...opts, ...(parseRouterVariant(hit.variant) as object) };
        origin = tunedOrigin(hit, cache!);
      }
    }
    const limit = gpu.device.limits.maxComputeWorkgroupStorageSize;
    const asked = opts.tokensPerWorkgroup;
    const vw = p.hidden % 4 === 0 ? 4 : 1; // vec4 rows when H allows 16-byte loads
    const twoPass = vw === 4 && !opts.fused;
    const selection = opts.selection ?? (twoPass ? defaultSelection(gpu) : 'tb');
    if (selection === 'pt') {
      if (!twoPass) {
        throw new Error(
          opts.fused
            ? "router: the per-token selection ('pt:N') takes its logits from the GEMM pass, not fused (use 'fused:tb:N')"
            : `router: the per-token selection ('pt:N') takes its logits from the GEMM pass, which needs hidden % 4 == 0 ` +
                `(hidden = ${p.hidden}; use 'fused:tb:N')`,
        );
      }
      return RouterKernel.createPerToken(gpu, p, asked, opts.logitsVariant, origin);
    }
    if (asked !== undefined && !(Number.isInteger(asked) && asked >= 1 && asked <= MAX_TOKENS_PER_WORKGROUP)) {
      throw new Error(
        `router: tokensPerWorkgroup must be an integer in [1, ${MAX_TOKENS_PER_WORKGROUP}] (got ${asked})`,
      );
    }
    const wg = workgroupSize(p, !twoPass);
    const tb = (asked ? [asked] : [4, 2, 1]).find((n) => workgroupBytes(p, n, wg) <= limit);
    if (tb === undefined) {
      throw new Error(
        `router: experts = ${p.experts} needs ${workgroupBytes(p, 1, wg)} bytes of workgroup memory, ` +
          `this device allows ${limit} (maxComputeWorkgroupStorageSize)`,
      );
    }
    const logits = twoPass ? await logitsGemm(gpu, p, opts.logitsVariant) : undefined;
    const constants = { ...selectionConstants(p), HIDDEN_V: p.hidden / vw, FUSED_LOGITS: twoPass ? 0 : 1 };
    const key = `router:tb${tb}:wg${wg}:v${vw}:${Object.values(constants).join(',')}`;
    const prelude = {
      file: '<router prelude>',
      code:
        `const TB: u32 = ${tb}u; // tokens per workgroup\nconst WG: u32 = ${wg}u; // threads per workgroup\n` +
        (vw === 4
          ? 'alias XV = vec4<f32>;\nfn dotv(a: XV, b: XV) -> f32 { return dot(a, b); }\n'
          : 'alias XV = f32;\nfn dotv(a: XV, b: XV) -> f32 { return a * b; }\n'),
    };
    const program = await ComputeProgram.create(
      gpu,
      key,
      async () => ({ program: await wgslProgram(prelude, 'router_common.wgsl', 'router.wgsl'), constants }),
      { label: 'router' },
    );
    return new RouterKernel(gpu, p, program, tb, 'tb', logits, origin);
  }

  /** The logits GEMM pass, then router_per_token.wgsl with `asked` (default DEFAULT_PER_TOKEN_WORKGROUP) tokens per workgroup. */
  private static async createPerToken(
    gpu: Gpu,
    p: RouterParams,
    asked: number | undefined,
    logitsVariant: TileVariant | undefined,
    origin: VariantOrigin,
  ): Promise<RouterKernel> {
    const n = asked ?? DEFAULT_PER_TOKEN_WORKGROUP;
    if (!(Number.isInteger(n) && n >= 1 && n <= MAX_PER_TOKEN_WORKGROUP)) {
      throw new Error(
        `router: tokensPerWorkgroup of the per-token selection ('pt:N') must be an integer in [1, ${MAX_PER_TOKEN_WORKGROUP}] (got ${n})`,
      );
    }
    const { limits } = gpu.device;
    const fits = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
    if (n > fits) {
      const limit =
        n > limits.maxComputeWorkgroupSizeX ? 'maxComputeWorkgroupSizeX' : 'maxComputeInvocationsPerWorkgroup';
      throw new LimitExceededError(limit, n, fits, `router 'pt:${n}' (one invocation per token; use 'pt:${fits}')`);
    }
    const bytes = perTokenBytes(p);
    if (bytes > WGSL_FUNCTION_STORAGE_BYTES) {
      const wg = workgroupSize(p, false);
      const tb = [4, 2, 1].find((t) => workgroupBytes(p, t, wg) <= limits.maxComputeWorkgroupStorageSize);
      const instead = tb ? `use 'tb:${tb}'` : "'tb:N' does not fit this device's workgroup memory either";
      throw new LimitExceededError(
        'WGSL function-address-space bytes',
        bytes,
        WGSL_FUNCTION_STORAGE_BYTES,
        `router 'pt:${n}' (its per-invocation variables: arrays for nGroup = ${p.nGroup} and topK = ${p.topK}, ` +
          `and ${PER_TOKEN_SCALAR_VARS} scalars; ${instead})`,
        'wgsl',
      );
    }
    const logits = await logitsGemm(gpu, p, logitsVariant);
    const constants = selectionConstants(p);
    const key = `router:pt${n}:${Object.values(constants).join(',')}`;
    const prelude = {
      file: '<router per-token prelude>',
      code:
        `const PT: u32 = ${n}u; // tokens (invocations) per workgroup\n` +
        `const TOPK_CAP: u32 = ${p.topK}u; // K\nconst GROUP_CAP: u32 = ${p.nGroup}u; // nGroup\n`,
    };
    const program = await ComputeProgram.create(
      gpu,
      key,
      async () => ({
        program: await wgslProgram(prelude, 'router_common.wgsl', 'router_per_token.wgsl'),
        constants,
      }),
      // Bindings 1 and 2 (x, W) are the logits GEMM's alone.
      { label: 'router', uses: [0, 3, 4, 5, 6] },
    );
    return new RouterKernel(gpu, p, program, n, 'pt', logits, origin);
  }

  /** Records one compute pass ('router') routing `tokens` rows of x. */
  encode(encoder: GPUCommandEncoder, b: RouterBuffers, timer?: GpuTimer): void {
    const { hidden, experts, topK, hasBias } = this.params;
    const T = b.tokens;
    if (!Number.isInteger(T) || T < 0) throw new Error(`router: tokens must be a non-negative integer (got ${T})`);
    if (hasBias && !b.bias) throw new Error('router: params.hasBias is set but no bias buffer was given');
    needBytes(b.x, T * hidden * 4, 'router x');
    needBytes(b.weight, experts * hidden * 4, 'router weight');
    if (hasBias) needBytes(b.bias!, experts * 4, 'router bias');
    needBytes(b.topkIdx, T * topK * 4, 'router topkIdx');
    needBytes(b.topkWeight, T * topK * 4, 'router topkWeight');
    const grid = workgroupGrid(
      Math.ceil(T / this.tokensPerWorkgroup),
      this.gpu.device.limits,
      () => `router of ${T} tokens`,
    );

    const logits = this.logitsScratch.get(
      T * experts * 4,
      () => `router of ${T} tokens (its logits [T, E = ${experts}] f32)`,
    );
    // The logits GEMM is timed as 'router logits' (a dense GEMM in the breakdown), the selection as 'router'.
    if (this.logits && T > 0)
      this.logits.encode(encoder, { x: b.x, weight: b.weight, y: logits, rows: T }, timer, 'router logits');
    const bias = hasBias ? b.bias! : this.noBias;
    const bind = this.program.bindGroup([this.sizes.get(T), b.x, b.weight, bias, b.topkIdx, b.topkWeight, logits]);
    const pass = encoder.beginComputePass({ label: 'router', timestampWrites: timer?.writes('router') });
    if (T > 0) this.program.dispatch(pass, bind, grid);
    pass.end();
  }

  /** The configuration as the lab and the tuning cache name it: 'tb:N', 'fused:tb:N' or 'pt:N'. */
  get variantName(): string {
    return routerVariantName({
      selection: this.selection,
      fused: !this.logits,
      tokensPerWorkgroup: this.tokensPerWorkgroup,
    });
  }

  /** Compute passes one encode records (the timer's capacity): 2 with the logits GEMM, else 1. */
  get passes(): number {
    return this.logits ? 2 : 1;
  }

  destroy(): void {
    this.logits?.destroy();
    this.sizes.destroy();
    this.noBias.destroy();
    this.logitsScratch.destroy();
  }
}

/** The logits GEMM pass: the dense GEMM of W [E, H] over the tokens. */
function logitsGemm(gpu: Gpu, p: RouterParams, variant: TileVariant | undefined): Promise<DenseGemm> {
  return DenseGemm.create(gpu, {
    inner: p.hidden,
    outputs: p.experts,
    // The per-adapter defaults are tiled variants, never 'naive'.
    variant: variant ?? (defaultVariant(gpu, 'f32') as TileVariant),
  });
}

/** The override constants both selection kernels take (router_common.wgsl). */
function selectionConstants(p: RouterParams): Record<string, number> {
  return {
    EXPERTS: p.experts,
    TOP_K: p.topK,
    N_GROUP: p.nGroup,
    TOPK_GROUP: p.topkGroup,
    SIGMOID: p.scoring === 'sigmoid' ? 1 : 0,
    HAS_BIAS: p.hasBias ? 1 : 0,
    NORM_TOPK_PROB: p.normTopkProb ? 1 : 0,
    ROUTED_SCALING: p.routedScalingFactor,
    TOPK_SOFTMAX: p.routing === 'topk-softmax' ? 1 : 0,
  };
}

// ---------------------------------------------------------------------------------------
// float64 CPU reference

export interface RouterReference {
  /** [T,K] expert ids in slot order. */
  idx: Int32Array;
  /** [T,K] routing weights. */
  weight: Float64Array;
  /** [T,E] selection scores (prob + bias, or prob), before any group masking. */
  scores: Float64Array;
  /** [T,E] unbiased scores (sigmoid or softmax probabilities). */
  probs: Float64Array;
  /** [T,nGroup] group scores (empty when nGroup = 1). */
  groupScores: Float64Array;
}

/** Higher score first, equal scores by lower index (the contract's tie order). */
function byScore(s: ArrayLike<number>, base = 0): (a: number, b: number) => number {
  return (a, b) => s[base + b] - s[base + a] || a - b;
}

export function routerReference(
  p: RouterParams,
  tokens: number,
  x: Float32Array,
  w: Float32Array,
  bias?: Float32Array,
): RouterReference {
  validateRouterParams(p);
  const { hidden: H, experts: E, topK: K, nGroup: G, topkGroup } = p;
  if (p.hasBias && !bias) throw new Error('routerReference: params.hasBias is set but no bias was given');
  const per = E / G;
  const idx = new Int32Array(tokens * K);
  const weight = new Float64Array(tokens * K);
  const scores = new Float64Array(tokens * E);
  const probs = new Float64Array(tokens * E);
  const groupScores = new Float64Array(G > 1 ? tokens * G : 0);
  const prob = new Float64Array(E);
  const sel = new Float64Array(E);
  for (let t = 0; t < tokens; t++) {
    for (let e = 0; e < E; e++) {
      let acc = 0;
      for (let h = 0; h < H; h++) acc += x[t * H + h] * w[e * H + h];
      prob[e] = acc;
    }
    if (p.routing === 'topk-softmax') {
      // gpt-oss: select on the logits (probs and scores hold them), weights = softmax over the K selected.
      probs.set(prob, t * E);
      scores.set(prob, t * E);
      const chosen = Array.from({ length: E }, (_, e) => e)
        .sort(byScore(prob))
        .slice(0, K);
      const top = prob[chosen[0]];
      let den = 0;
      for (const e of chosen) den += Math.exp(prob[e] - top);
      chosen.forEach((e, k) => {
        idx[t * K + k] = e;
        weight[t * K + k] = (Math.exp(prob[e] - top) / den) * p.routedScalingFactor;
      });
      continue;
    }
    if (p.scoring === 'sigmoid') {
      for (let e = 0; e < E; e++) prob[e] = 1 / (1 + Math.exp(-prob[e]));
    } else {
      let m = -Infinity;
      for (let e = 0; e < E; e++) m = Math.max(m, prob[e]);
      let sum = 0;
      for (let e = 0; e < E; e++) sum += prob[e] = Math.exp(prob[e] - m);
      for (let e = 0; e < E; e++) prob[e] /= sum;
    }
    for (let e = 0; e < E; e++) sel[e] = prob[e] + (p.hasBias ? bias![e] : 0);
    probs.set(prob, t * E);
    scores.set(sel, t * E);

    let candidates = Array.from({ length: E }, (_, e) => e);
    if (G > 1) {
      const gs = new Float64Array(G);
      for (let g = 0; g < G; g++) {
        const vals = Array.from(sel.subarray(g * per, (g + 1) * per)).sort((a, b) => b - a);
        gs[g] = p.hasBias ? vals[0] + vals[1] : vals[0];
      }
      groupScores.set(gs, t * G);
      const kept = new Set(
        Array.from({ length: G }, (_, g) => g)
          .sort(byScore(gs))
          .slice(0, topkGroup),
      );
      candidates = candidates.filter((e) => kept.has(Math.floor(e / per)));
    }
    const chosen = candidates.sort(byScore(sel)).slice(0, K);
    let den = 0;
    if (p.normTopkProb) {
      for (const e of chosen) den += prob[e];
      if (p.scoring === 'sigmoid') den += 1e-20;
    }
    chosen.forEach((e, k) => {
      idx[t * K + k] = e;
      weight[t * K + k] = (p.normTopkProb ? prob[e] / den : prob[e]) * p.routedScalingFactor;
    });
  }
  return { idx, weight, scores, probs, groupScores };
}

/**
 * How close token t's routing decision is to flipping, from the reference: the smallest
 * non-zero gap between adjacent selection scores that decide its slots (the K chosen and
 * the best one left out) and, when grouped, between the last kept and first dropped group.
 * Exactly equal scores are true ties (duplicate router rows) that both sides break the
 * same way, so they do not count. Infinity when nothing can flip.
 */
export function routingMargin(p: RouterParams, ref: RouterReference, t: number): number {
  const { experts: E, topK: K, nGroup: G, topkGroup } = p;
  const per = E / G;
  let margin = Infinity;
  const gap = (a: number, b: number) => {
    const d = Math.abs(a - b);
    if (d > 0) margin = Math.min(margin, d);
  };
  let candidates = Array.from({ length: E }, (_, e) => e);
  if (G > 1) {
    const gs = ref.groupScores.subarray(t * G, (t + 1) * G);
    const order = Array.from({ length: G }, (_, g) => g).sort(byScore(gs));
    if (topkGroup < G) gap(gs[order[topkGroup - 1]], gs[order[topkGroup]]);
    const kept = new Set(order.slice(0, topkGroup));
    candidates = candidates.filter((e) => kept.has(Math.floor(e / per)));
  }
  const s = ref.scores.subarray(t * E, (t + 1) * E);
  const order = candidates.sort(byScore(s));
  for (let k = 0; k < Math.min(K, order.length - 1); k++) gap(s[order[k]], s[order[k + 1]]);
  return margin;
}
