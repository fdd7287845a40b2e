// Roofline cost model for one forward (prefill) step of an MoE transformer on one GPU.
//
// Every op is reduced to work — FLOPs, bytes of HBM traffic, the precision its math runs in,
// and how many kernels it launches — and timed as
//     t = max(FLOPs ÷ (peak[precision] × efficiency[kind]), bytes ÷ (HBM × efficiency.memory))
//         + kernels × efficiency.launchUs
// Efficiency factors are named parameters (DEFAULT_EFFICIENCY, documented in
// src/hardware/efficiency.ts) so anyone can vary them; nothing else is tuned. Precisions
// (which math runs in which format, what the wire carries) are in src/hardware/precision.ts.
// Roofline mode (`roofline`) times the same work with ROOFLINE_EFFICIENCY: efficiency 1, no
// launch or collective costs, no interference or stragglers, no link latency.
//
// Shapes come from the model's config.json (src/model/config.ts): MLA attention (DeepSeek-V3/R1,
// Kimi-K2) or GQA (Qwen-MoE, Mixtral, gpt-oss, GLM-4.5) with per-layer sliding windows, dense
// layers, shared and routed experts, vocabulary; bytes per routed expert from the weight format
// (src/model/formats.ts: what a DWDP pull really moves).
//
// Attention is two ops: the projections (dense GEMMs, `attentionProjectionShape`) and the core
// (QKᵀ, softmax, PV: the attention kernel). The core's work counts (query, key) pairs: causal
// prefill of S tokens has S(S+1)/2; a sliding window W caps each query at W keys (itself and the
// W − 1 before it), Σᵢ min(i+1, W) = `attentionPairs`. Attention sinks (gpt-oss: one learned logit
// per head in the softmax) add no GEMM work and are not counted.

import { expertLayout, type WeightFormat } from '../model/formats.ts';
import type { MoeConfig } from '../model/config.ts';
import { linkSpec, type LinkSpec } from '../timeline/link.ts';
import type { HardwareProfile, Precision } from '../hardware/profiles.ts';
import { ROOFLINE_EFFICIENCY, profileEfficiency, type Efficiency } from '../hardware/efficiency.ts';
import {
  DEFAULT_PRECISION,
  WEIGHT_BYTES,
  checkpointPrecision,
  expertMathPrecision,
  type ModelPrecision,
} from '../hardware/precision.ts';

export type EfficiencyKind = 'gemm' | 'groupedGemm' | 'attention' | 'memory';

/** The work of one op. */
export interface OpWork {
  flops: number;
  bytes: number;
  precision: Precision;
  kind: EfficiencyKind;
  kernels: number;
}

/** Roofline time of `w` in ms. */
export function rooflineMs(w: OpWork, profile: HardwareProfile, eff: Efficiency): number {
  const peak = profile.peakTflops[w.precision] ?? profile.peakTflops.fp8 ?? profile.peakTflops.bf16;
  if (peak === null || !(peak > 0)) throw new Error(`cost model: profile ${profile.id} has no ${w.precision} rate`);
  const computeEff = w.kind === 'memory' ? 1 : eff[w.kind];
  const tCompute = w.flops > 0 ? w.flops / (peak * 1e9 * computeEff) : 0; // TFLOP/s → FLOP/ms = ×1e9
  const tMemory = w.bytes > 0 ? w.bytes / (profile.hbmGBps * 1e6 * eff.memory) : 0; // GB/s → B/ms = ×1e6
  return Math.max(tCompute, tMemory) + (w.kernels * eff.launchUs) / 1000;
}

/** Expected number of distinct experts among `held` that `tokens` tokens touch, each picking K of E uniformly. */
export function expectedExpertsTouched(experts: number, topK: number, tokens: number, held = experts): number {
  if (tokens <= 0) return 0;
  return held * (1 - Math.pow(1 - topK / experts, tokens));
}

/** Probability that a token's K distinct experts include at least one of a peer's E/N experts. */
export function tokenReachesRankProbability(experts: number, topK: number, ranks: number): number {
  const perRank = experts / ranks;
  let none = 1; // C(E − E/N, K) / C(E, K)
  for (let i = 0; i < topK; i++) none *= (experts - perRank - i) / (experts - i);
  return 1 - Math.max(0, none);
}

// ---------------------------------------------------------------------------------------
// Work of the model's ops for a batch on one rank

export interface AttentionWork {
  /** Every projection but the output one (MLA: q LoRA + up, kv LoRA + up; GQA: Q, K, V). */
  projections: OpWork;
  /** The output projection (o_proj), in its own precision. */
  output: OpWork;
  core: OpWork;
}

/** The output projection's shape: heads × value width → hidden. */
function outputProjection(m: MoeConfig): { params: number; ioWidth: number } {
  const a = m.attention;
  const inWidth = a.heads * (a.mla ? a.mla.vHeadDim : a.headDim);
  return { params: inWidth * m.hidden, ioWidth: inWidth + m.hidden };
}

/** Attention projection parameters of one layer, and the sum of their input+output widths. */
export function attentionProjectionShape(m: MoeConfig): { params: number; ioWidth: number; kernels: number } {
  const H = m.hidden;
  const a = m.attention;
  if (a.mla) {
    const { qLoraRank: qr, kvLoraRank: kr, qkNopeHeadDim: nope, qkRopeHeadDim: rope, vHeadDim: v } = a.mla;
    const qk = nope + rope;
    const mats: [number, number][] = [
      ...(qr > 0
        ? ([
            [H, qr],
            [qr, a.heads * qk],
          ] as [number, number][])
        : ([[H, a.heads * qk]] as [number, number][])),
      [H, kr + rope], // kv_a_proj_with_mqa
      [kr, a.heads * (nope + v)], // kv_b_proj
      [a.heads * v, H], // o_proj
    ];
    return {
      params: mats.reduce((s, [i, o]) => s + i * o, 0),
      ioWidth: mats.reduce((s, [i, o]) => s + i + o, 0),
      kernels: mats.length,
    };
  }
  const d = a.headDim;
  const mats: [number, number][] = [
    [H, a.heads * d],
    [H, a.kvHeads * d],
    [H, a.kvHeads * d],
    [a.heads * d, H],
  ];
  return {
    params: mats.reduce((s, [i, o]) => s + i * o, 0),
    ioWidth: mats.reduce((s, [i, o]) => s + i + o, 0),
    kernels: mats.length,
  };
}

/**
 * The model's weights as the layer program runs them, in parameters, by part: attention
 * projections (`attentionProjectionShape`) on every layer, the dense MLP (gate, up, down: 3·H·Fd)
 * on the dense layers, the shared expert (3·H·Fs), router (H·E) and E routed experts (3·H·F each)
 * on the MoE layers, and the input embedding and LM head (2·V·H, untied). Norm weights, q/k/v
 * biases and MTP draft layers are not in the program and not counted. `total` sums the parts;
 * `active` is what one token's forward multiplies by: the same with K of the E routed experts.
 */
export interface ParameterCounts {
  attention: number;
  denseMlp: number;
  sharedExperts: number;
  router: number;
  routedExperts: number;
  embeddings: number;
  total: number;
  active: number;
}

export function parameterCounts(m: MoeConfig): ParameterCounts {
  const H = m.hidden;
  const attention = attentionProjectionShape(m).params * m.layers.total;
  const denseMlp = 3 * H * m.denseIntermediate * m.layers.dense;
  const sharedExperts = 3 * H * m.sharedHidden * m.layers.moe;
  const router = H * m.experts * m.layers.moe;
  const perExpert = 3 * H * m.expertHidden;
  const routedExperts = m.experts * perExpert * m.layers.moe;
  const embeddings = 2 * m.vocabSize * H;
  const common = attention + denseMlp + sharedExperts + router + embeddings;
  return {
    attention,
    denseMlp,
    sharedExperts,
    router,
    routedExperts,
    embeddings,
    total: common + routedExperts,
    active: common + m.topK * perExpert * m.layers.moe,
  };
}

/**
 * (query, key) pairs of causal attention over S tokens: query i (0-based) sees keys 0..i, or,
 * with a sliding window W (null: none), the last min(i + 1, W) of them.
 * Σᵢ min(i+1, W) = S(S+1)/2 when S ≤ W, else W(W+1)/2 + (S − W)·W.
 */
export function attentionPairs(S: number, window: number | null = null): number {
  if (window === null || S <= window) return (S * (S + 1)) / 2;
  return (window * (window + 1)) / 2 + (S - window) * window;
}

/**
 * MLA/MHA/GQA attention of one layer for requests of these lengths (prefill, causal, no prefix
 * cache), with that layer's sliding window (null: full causal).
 */
export function attentionWork(
  m: MoeConfig,
  lengths: readonly number[],
  p: ModelPrecision = DEFAULT_PRECISION,
  window: number | null = null,
): AttentionWork {
  const T = lengths.reduce((s, x) => s + x, 0);
  const proj = attentionProjectionShape(m);
  const out = outputProjection(m);
  const qk = m.attention.headDim;
  const v = m.attention.mla ? m.attention.mla.vHeadDim : m.attention.headDim;
  const heads = m.attention.heads;
  // MLA prefill expands K and V per head; GQA reads kvHeads of each.
  const kvHeads = m.attention.mla ? heads : m.attention.kvHeads;
  // 2 FLOPs per MAC over qk (QKᵀ) and v (PV), per (query, key) pair and head.
  let coreFlops = 0;
  for (const S of lengths) coreFlops += 2 * heads * (qk + v) * attentionPairs(S, window);
  return {
    projections: {
      flops: 2 * T * (proj.params - out.params),
      bytes:
        (proj.params - out.params) * WEIGHT_BYTES[p.attentionProjections] +
        T * (proj.ioWidth - out.ioWidth) * p.activationBytes,
      precision: p.attentionProjections,
      kind: 'gemm',
      kernels: proj.kernels - 1,
    },
    output: {
      flops: 2 * T * out.params,
      bytes: out.params * WEIGHT_BYTES[p.attentionOutput] + T * out.ioWidth * p.activationBytes,
      precision: p.attentionOutput,
      kind: 'gemm',
      kernels: 1,
    },
    core: {
      flops: coreFlops,
      // Q, K, V read and O written once (fused kernel; K/V are re-read from cache, not HBM).
      bytes: T * (heads * (qk + v) + kvHeads * (qk + v)) * p.activationBytes,
      precision: p.attentionCore,
      kind: 'attention',
      kernels: lengths.length > 0 ? 1 : 0,
    },
  };
}

/** SwiGLU MLP with intermediate size F on T tokens: gate and up fused with SwiGLU, then down. */
export function mlpWork(H: number, F: number, T: number, precision: Precision, activationBytes = 2): OpWork {
  const params = 3 * H * F;
  return {
    flops: 2 * T * params,
    bytes: params * WEIGHT_BYTES[precision] + T * (2 * H + 2 * F) * activationBytes,
    precision,
    kind: 'gemm',
    kernels: 2, // gate+up fused, down
  };
}

/**
 * The whole router as one roofline op (logits GEMM + the selection's launch), where a model prices
 * it in one piece (the decode step, src/sim/e2e). The prefill layer programs run its two parts:
 * routerLogitsWork (a dense GEMM) and routerSelectWork (top-k, a small memory-bound kernel).
 */
export function routerWork(m: MoeConfig, T: number, p: ModelPrecision = DEFAULT_PRECISION): OpWork {
  return { ...routerLogitsWork(m, T, p), kernels: 2 }; // logits, top-k
}

/** The router's logits: [T, H] · [H, E] in the router's precision (BF16), FP32 logits written. A dense GEMM. */
export function routerLogitsWork(m: MoeConfig, T: number, p: ModelPrecision = DEFAULT_PRECISION): OpWork {
  return {
    flops: 2 * T * m.hidden * m.experts,
    bytes: m.hidden * m.experts * WEIGHT_BYTES[p.router] + T * (m.hidden * p.activationBytes + m.experts * 4),
    precision: p.router,
    kind: 'gemm',
    kernels: 1,
  };
}

/**
 * The router's selection: read the FP32 logits, score (sigmoid/softmax, bias), pick the top K and
 * normalize their weights, write K (index, weight) pairs per token: ~E comparisons per token.
 */
export function routerSelectWork(m: MoeConfig, T: number): OpWork {
  return {
    flops: 4 * T * m.experts,
    bytes: T * (m.experts * 4 + m.topK * 8),
    precision: 'bf16',
    kind: 'memory',
    kernels: 1,
  };
}

/**
 * The grouped routed-expert GEMM: `slots` (token, expert) pairs over `touched` distinct experts
 * whose weights are read once each, `expertBytes` per expert in the weight format.
 */
export function expertGemmWork(
  m: MoeConfig,
  slots: number,
  touched: number,
  expertBytes: number,
  precision: Precision,
  activationBytes = 2,
): OpWork {
  const H = m.hidden;
  const F = m.expertHidden;
  return {
    flops: 2 * slots * 3 * H * F,
    // weights + per slot: input row read, SwiGLU product written and read back, output row written
    bytes: touched * expertBytes + slots * (2 * H + 2 * F) * activationBytes,
    precision,
    kind: 'groupedGemm',
    kernels: slots > 0 ? 3 : 0, // permute, gate+up+SwiGLU, down
  };
}

/**
 * The grouped GEMM tiled per expert: `slots[e]` (token, expert) pairs of expert e, each expert's
 * rows run in whole tiles of `tileM` (FLOPs on the padded slots Σ⌈slots_e/tileM⌉·tileM,
 * activation bytes on the real ones), `touched` distinct experts' weights read once each.
 */
export function tiledExpertGemmWork(
  m: MoeConfig,
  slots: ArrayLike<number>,
  touched: number,
  expertBytes: number,
  precision: Precision,
  tileM: number,
  activationBytes = 2,
): OpWork {
  let real = 0;
  let padded = 0;
  for (let e = 0; e < slots.length; e++) {
    if (!(slots[e] > 0)) continue;
    real += slots[e];
    padded += Math.ceil(slots[e] / tileM - 1e-9) * tileM;
  }
  const w = expertGemmWork(m, real, touched, expertBytes, precision, activationBytes);
  return { ...w, flops: 2 * padded * 3 * m.hidden * m.expertHidden };
}

/** How a DEP group exchanges activations around its grouped GEMM (src/sim/programs.ts). */
export type DepDispatch = 'all-to-all' | 'allgather';
export const DEP_DISPATCHES: readonly DepDispatch[] = ['all-to-all', 'allgather'];
/** What a simulation's link carries: one-sided pulls (DWDP, DP) or DEP's all-to-all sends. */
export type LinkTraffic = 'pulls' | 'all-to-all';

/**
 * Bytes rank a sends rank b in one phase of DEP's exchange, H = hidden size:
 *   all-to-all (TensorRT-LLM)  dispatch: rows = a's tokens with an expert on b, × H × dispatchBytes (FP8);
 *                              return: rows = b's tokens with an expert on a, × H × combineBytes (BF16).
 *   allgather (SGLang's DP-attention EP baseline)  dispatch: every token of a to every peer,
 *                              T_a × H × activationBytes (BF16 hidden states, allgather);
 *                              return: reduce-scatter of the partial outputs, b's T_b rows × H × combineBytes.
 * `rows` is the all-to-all's row count for the pair, `T` the sending (dispatch) or receiving
 * (return) rank's tokens.
 */
export function depPhaseBytes(
  dispatch: DepDispatch,
  phase: 'dispatch' | 'return',
  rows: number,
  T: number,
  hidden: number,
  p: ModelPrecision,
): number {
  if (dispatch === 'allgather') return T * hidden * (phase === 'dispatch' ? p.activationBytes : p.combineBytes);
  return rows * hidden * (phase === 'dispatch' ? p.dispatchBytes : p.combineBytes);
}

/** Weighted sum of K expert outputs (+ shared) per token. */
export function combineWork(m: MoeConfig, T: number, activationBytes = 2): OpWork {
  return {
    flops: 2 * T * (m.topK + 1) * m.hidden,
    bytes: T * (m.topK + 2) * m.hidden * activationBytes,
    precision: 'bf16',
    kind: 'memory',
    kernels: 1,
  };
}

/** RMSNorms, RoPE and residual adds of one layer: ~8 passes over the hidden state. */
export function layerMiscWork(m: MoeConfig, T: number, passes: number, activationBytes = 2): OpWork {
  return {
    flops: 2.5 * passes * T * m.hidden,
    bytes: 2 * passes * T * m.hidden * activationBytes,
    precision: 'bf16',
    kind: 'memory',
    kernels: 3,
  };
}

/** Embedding lookup for all tokens, final norm and LM head for the last token of each request. */
export function lmHeadWork(m: MoeConfig, T: number, requests: number, p: ModelPrecision = DEFAULT_PRECISION): OpWork {
  const params = m.hidden * m.vocabSize;
  return {
    flops: 2 * requests * params,
    bytes: (requests > 0 ? params * WEIGHT_BYTES[p.lmHead] : 0) + 2 * T * m.hidden * p.activationBytes,
    precision: p.lmHead,
    kind: 'gemm',
    kernels: 3,
  };
}

/** A device-memory copy of `bytes` (read + write). */
export function copyWork(bytes: number): OpWork {
  return { flops: 0, bytes: 2 * bytes, precision: 'bf16', kind: 'memory', kernels: 1 };
}

// ---------------------------------------------------------------------------------------
// The cost model bound to a model, a profile and a weight format

export interface CostModelOptions {
  model: MoeConfig;
  profile: HardwareProfile;
  /** Routed experts' weight format (default nvfp4). */
  format?: WeightFormat;
  efficiency?: Partial<Efficiency>;
  precision?: Partial<ModelPrecision>;
  /** Override the link bandwidth per direction (GB/s, before efficiency) — for sweeps. */
  linkGBps?: number;
  /** Copy interference on (default: efficiency.interference applies) or off (compute never slows). */
  interference?: boolean;
  /** Stragglers at DEP's dispatch on (default: efficiency.straggle applies) or off (ranks arrive when their work ends). */
  straggle?: boolean;
  /**
   * Roofline mode: every efficiency is ROOFLINE_EFFICIENCY's (peaks, no fixed costs, no
   * interference, no stragglers) and the link has no latency; `efficiency` overrides are refused.
   */
  roofline?: boolean;
}

export class CostModel {
  readonly model: MoeConfig;
  readonly profile: HardwareProfile;
  readonly format: WeightFormat;
  readonly efficiency: Efficiency;
  readonly precision: ModelPrecision;
  /** Bytes of one routed expert in the weight format (what a pull moves per expert). */
  readonly expertBytes: number;
  readonly expertPrecision: Precision;
  readonly linkGBps: number;
  /** Compute runs 1 / (1 + this) as fast while a pull into or out of its rank moves bytes (0 when switched off). */
  readonly interference: number;
  /**
   * Stragglers: a rank's MoE layer takes an extra Exponential time of mean this × the layer's
   * compute, independent per rank and layer (0 when switched off). See `straggleMs`.
   */
  readonly straggle: number;
  /** Roofline mode (CostModelOptions.roofline): op times are FLOPs and bytes over the profile's peaks. */
  readonly roofline: boolean;

  constructor(o: CostModelOptions) {
    this.model = o.model;
    this.profile = o.profile;
    this.format = o.format ?? 'nvfp4';
    this.roofline = o.roofline ?? false;
    const overrides = Object.keys(o.efficiency ?? {}).filter((k) => o.efficiency![k as keyof Efficiency] !== undefined);
    if (this.roofline && overrides.length > 0)
      throw new Error(
        `cost model: roofline mode runs every op at the profile's peaks, and efficiency.${overrides[0]} = ` +
          `${o.efficiency![overrides[0] as keyof Efficiency]} would change that: drop the efficiency or turn roofline off`,
      );
    this.efficiency = this.roofline ? { ...ROOFLINE_EFFICIENCY } : { ...profileEfficiency(o.profile), ...o.efficiency };
    this.precision = { ...checkpointPrecision(this.format), ...o.precision };
    this.expertBytes = expertLayout(this.format, o.model.hidden, o.model.expertHidden).bytes;
    this.expertPrecision = expertMathPrecision(this.format, o.profile);
    this.linkGBps = o.linkGBps ?? o.profile.linkGBpsPerDirection;
    for (const [k, v] of Object.entries(this.efficiency)) {
      if (!(v >= 0) || !Number.isFinite(v))
        throw new Error(`cost model: efficiency.${k} must be a finite number ≥ 0, got ${v}`);
    }
    this.interference = (o.interference ?? true) ? this.efficiency.interference : 0;
    this.straggle = (o.straggle ?? true) ? this.efficiency.straggle : 0;
  }

  /**
   * The mean straggler delay θ (ms) at a DEP dispatch after layers whose compute on the group's
   * ranks is `layerMs` (nominal ms per rank): `straggle` × their mean. The scheduler releases the
   * dispatch at E[max_r (a_r + d_r)] − θ, d_r ~ Exp(θ) (src/timeline/straggle.ts).
   */
  straggleMs(layerMs: readonly number[]): number {
    if (this.straggle === 0 || layerMs.length === 0) return 0;
    return (this.straggle * layerMs.reduce((a, b) => a + b, 0)) / layerMs.length;
  }

  /** What the scheduler needs of the hardware beyond op durations and the link. */
  schedulerOptions(): { copyInterference: number } {
    return { copyInterference: this.interference };
  }

  ms(w: OpWork): number {
    return rooflineMs(w, this.profile, this.efficiency);
  }

  /** The attention projections of one layer (dense GEMMs) on T tokens. */
  attentionProjectionsMs(T: number): number {
    if (!(T > 0)) return 0;
    const a = attentionWork(this.model, [T], this.precision);
    return this.ms(a.projections) + this.ms(a.output);
  }

  /** The attention kernel of one layer with sliding window `window` (null: full causal). */
  attentionCoreMs(lengths: readonly number[], window: number | null): number {
    if (lengths.length === 0) return 0;
    return this.ms(attentionWork(this.model, lengths, this.precision, window).core);
  }

  /**
   * Projections + kernel of layer `layer` (its window), or, without a layer, the mean over the
   * model's layers (so layers.total × attentionMs is the model's whole attention).
   */
  attentionMs(lengths: readonly number[], layer?: number): number {
    if (lengths.length === 0) return 0;
    const T = lengths.reduce((s, x) => s + x, 0);
    const windows = this.model.attention.windows;
    if (layer !== undefined)
      return this.attentionProjectionsMs(T) + this.attentionCoreMs(lengths, windows[layer] ?? null);
    const byWindow = new Map<number | null, number>();
    let core = 0;
    for (const w of windows) {
      if (!byWindow.has(w)) byWindow.set(w, this.attentionCoreMs(lengths, w));
      core += byWindow.get(w)!;
    }
    return (
      this.attentionProjectionsMs(T) +
      (windows.length > 0 ? core / windows.length : this.attentionCoreMs(lengths, null))
    );
  }

  denseMlpMs(T: number): number {
    return T > 0
      ? this.ms(
          mlpWork(
            this.model.hidden,
            this.model.denseIntermediate,
            T,
            this.precision.denseMlp,
            this.precision.activationBytes,
          ),
        )
      : 0;
  }

  sharedExpertMs(T: number): number {
    return T > 0 && this.model.sharedHidden > 0
      ? this.ms(
          mlpWork(
            this.model.hidden,
            this.model.sharedHidden,
            T,
            this.precision.denseMlp,
            this.precision.activationBytes,
          ),
        )
      : 0;
  }

  /** The whole router on T tokens: its logits GEMM and its selection. */
  routerMs(T: number): number {
    return this.routerLogitsMs(T) + this.routerSelectMs(T);
  }

  /** The router's logits GEMM (a dense GEMM: the paper's denseGemm column). */
  routerLogitsMs(T: number): number {
    return T > 0 ? this.ms(routerLogitsWork(this.model, T, this.precision)) : 0;
  }

  /** The router's top-k selection (a small kernel: the paper's others). */
  routerSelectMs(T: number): number {
    return T > 0 ? this.ms(routerSelectWork(this.model, T)) : 0;
  }

  /** Grouped expert GEMM over `slots` token-expert pairs touching `touched` experts. */
  expertGemmMs(slots: number, touched: number): number {
    return slots > 0
      ? this.ms(
          expertGemmWork(
            this.model,
            slots,
            touched,
            this.expertBytes,
            this.expertPrecision,
            this.precision.activationBytes,
          ),
        )
      : 0;
  }

  /** Grouped expert GEMM tiled per expert (tiledExpertGemmWork): `slots[e]` pairs of expert e. */
  expertGemmTiledMs(slots: ArrayLike<number>, touched: number, tileM: number): number {
    let any = false;
    for (let e = 0; e < slots.length && !any; e++) any = slots[e] > 0;
    return any
      ? this.ms(
          tiledExpertGemmWork(
            this.model,
            slots,
            touched,
            this.expertBytes,
            this.expertPrecision,
            tileM,
            this.precision.activationBytes,
          ),
        )
      : 0;
  }

  combineMs(T: number): number {
    return T > 0 ? this.ms(combineWork(this.model, T, this.precision.activationBytes)) : 0;
  }

  layerMiscMs(T: number): number {
    return T > 0
      ? this.ms(layerMiscWork(this.model, T, this.efficiency.othersPasses, this.precision.activationBytes))
      : 0;
  }

  lmHeadMs(T: number, requests: number): number {
    return T > 0 ? this.ms(lmHeadWork(this.model, T, requests, this.precision)) : 0;
  }

  copyMs(bytes: number): number {
    return bytes > 0 ? this.ms(copyWork(bytes)) : 0;
  }

  /**
   * The rank-to-rank link as the scheduler sees it: achieved bandwidth = peak × efficiency.link for
   * one-sided pulls, peak × efficiency.allToAll for DEP's dispatch/combine (a DEP run moves nothing else).
   */
  link(contentionFix: boolean, traffic: LinkTraffic = 'pulls'): LinkSpec {
    const gbps = this.linkGBps * (traffic === 'all-to-all' ? this.efficiency.allToAll : this.efficiency.link);
    return linkSpec({
      egressGBps: gbps,
      ingressGBps: gbps,
      latencyUs: this.roofline ? 0 : this.profile.linkLatencyUs,
      contentionFix,
      copyEngines: this.profile.copyEngines,
    });
  }

  /** Non-routed-expert weights of one rank (attention, dense MLPs, shared experts, router, embeddings, LM head), bytes. */
  denseWeightBytes(): number {
    const m = this.model;
    const p = this.precision;
    const n = parameterCounts(m);
    const out = outputProjection(m).params * m.layers.total;
    const attn = (n.attention - out) * WEIGHT_BYTES[p.attentionProjections] + out * WEIGHT_BYTES[p.attentionOutput];
    const dense = (n.denseMlp + n.sharedExperts) * WEIGHT_BYTES[p.denseMlp];
    return attn + dense + n.router * WEIGHT_BYTES[p.router] + n.embeddings * WEIGHT_BYTES[p.lmHead];
  }

  /**
   * KV cache bytes of a batch of requests of these lengths (MLA: compressed latent + RoPE key;
   * GQA: K and V of the KV heads; in the activation format). A layer with a sliding window W keeps
   * only each request's last min(S, W) tokens (gpt-oss: every other layer at W = 128), a full
   * layer all S: Σ_layers Σ_requests min(S, W_l) · (bytes per token and layer).
   */
  kvCacheBytes(lengths: readonly number[]): number {
    const a = this.model.attention;
    const perLayer = a.mla ? a.mla.kvLoraRank + a.mla.qkRopeHeadDim : 2 * a.kvHeads * a.headDim;
    const total = lengths.reduce((s, x) => s + x, 0);
    let tokens = 0;
    for (let l = 0; l < this.model.layers.total; l++) {
      const w = a.windows[l] ?? null;
      if (w === null) tokens += total;
      else for (const S of lengths) tokens += Math.min(S, w);
    }
    return tokens * perLayer * this.precision.activationBytes;
  }
}
