// The generation (decode) pool of a disaggregated deployment: one decode step of one GPU.
//
// A generation server of G GPUs runs attention data-parallel and the routed experts
// expert-parallel over all G (wide EP; TensorRT-LLM's `enable_attention_dp` with
// `moe_expert_parallel_size = G`). Each GPU carries b requests. With MTP (multi-token
// prediction, m draft layers) a step verifies 1 + m tokens per request in the main model and
// then drafts m tokens with the MTP module, run m times on one token per request. Per step of
// one GPU, with T = b·(1 + m) main-model tokens, S = the requests' mean context length:
//
//   attention   projections as in prefill on T tokens (weights read once, FP8);
//               core (MLA absorbed): per query token and head 2·S·(2·kvLora + rope) FLOPs,
//               per request and layer S·(kvLora + rope) KV-cache bytes (FP8) read once —
//               GQA: 4·S·headDim FLOPs per query token and head, S·2·kvHeads·headDim bytes
//   MoE layer   router, shared expert, dispatch (FP8) and combine (BF16) all-to-all to the
//               peers holding the token's experts (bytes at linkGBps × efficiency.allToAll, plus
//               the measured fixed latency of each phase, dispatchUs and combineUs), the grouped GEMM over the GPU's E/G experts
//               (weights of every touched expert read once: at small batch this is the cost),
//               the local combine; the slowest GPU sets the step (all-to-all synchronizes):
//               its expert load is `imbalance` × the mean
//   dense       dense-layer MLPs, norms, the LM head on the GPU's own T positions over the whole
//               vocabulary (its BF16 weights read in full) and the sampler's read of those logits
//   MTP         m passes of (one decoder layer with its MoE + the 2H→H projection + the draft head):
//               the first on the step's T tokens (MTP Eagle drafts from every accepted token), the
//               others on b; the draft head's b positions of tp GPUs are gathered and each GPU
//               computes a 1/tp of the vocabulary, tp = 256/b rounded up to a power of 2 within
//               [1, lmHeadTpGpus] (TensorRT-LLM's LM-head TP in attention DP, which splits only
//               the draft head), and the draft's argmax reads those logits
//
// Every op is timed by the cost model's one roofline (src/sim/cost-model.ts `rooflineMs`). The
// per-layer "others" (norms, RoPE, residual adds, quantize, permute, finalize) are the cost
// model's own, `efficiency.othersPasses` passes over T·H (the Table 3 calibration's), as in
// prefill. The attention core runs at `decodeAttentionEfficiency` of peak (a decode MLA kernel's
// measured fraction: TensorRT-LLM's FP8 kernel on Blackwell, FlashMLA on Hopper), not the prefill
// kernel's `efficiency.attention`.
//
// Attention data parallelism: every GPU decodes its own requests, and the all-to-all makes the
// step wait for the slowest. Request contexts differ (lengths uniform in [ratio·ISL, ISL], and
// each request somewhere in its decode: + U[0, OSL]), so the b requests of a GPU hold
// b·S ± sd·√b cached tokens and the busiest of G GPUs holds the expected maximum,
//   b·S_busy = b·S + sd·√b·e(G),   e(G) = E[max of G standard normals]
// (the sum of b lengths taken as normal, the G GPUs independent). The attention core — FLOPs
// and KV bytes both linear in the cached tokens — is timed at S_busy, of the main model's layers
// and of the MTP layers alike; everything else runs on equal token counts per GPU.
//
// The per-step floor: a decode step at small batch is not its rooflines. Each decoder layer is
// a chain of a dozen or more kernels and a collective that cannot finish faster than
// `minLayerUs` whatever the batch (launch gaps under CUDA graphs, ramp-up and tail of tiny
// grids, the collective's handshake), and each MTP draft pass adds the work of a small forward
// of its own (embedding, the 2H→H projection, LM head, sampling and the acceptance
// bookkeeping) that costs at least `mtpPassUs` beyond its decoder layer. So
//   layer time      = max(roofline of the layer, minLayerUs)           (every layer, MTP's too)
//   MTP pass extra  = max(roofline of projection + LM head, mtpPassUs)
// Both are read off a published min-latency measurement (GenerationParams below), not fitted
// to any end-to-end result.
//
// Accepted tokens per step and request with draft i accepted (given the drafts before it) with
// probability α_i: 1 + α_1 + α_1·α_2 + … + α_1·…·α_m (`mtpAcceptance`, measured per position);
// TPS/user = accepted tokens ÷ step time (decode tokens per second of one request).
//
// Imbalance: with EPLB the experts are placed so that each GPU's expected load is the mean and
// only the sampling noise of routing remains: the expected maximum over G ranks of a count
// with mean μ = T·K slots is ≈ μ + √μ·√(2 ln G) (a Poisson count's standard deviation, the
// Gaussian tail of the maximum of G). Without EPLB, routing skew multiplies that by
// `noEplbSkew`.

import type { MoeConfig } from '../../model/config.ts';
import {
  CostModel,
  attentionWork,
  combineWork,
  expectedExpertsTouched,
  expertGemmWork,
  mlpWork,
  rooflineMs,
  routerWork,
  tokenReachesRankProbability,
  type OpWork,
} from '../cost-model.ts';
import type { HardwareProfile, Precision } from '../../hardware/profiles.ts';
import { WEIGHT_BYTES } from '../../hardware/precision.ts';
import { popularityOrder, zipf } from '../../workload/skew.ts';
import { depOwner, expertSlots } from '../routing.ts';

/** Named, defaulted parameters of the decode step. */
export interface GenerationParams {
  /**
   * Acceptance of each MTP draft position: entry i is the probability that draft i + 1 is
   * accepted given that every draft before it was (chain drafting: a rejected draft ends the
   * step's run); drafts beyond the list take its last entry, so one entry is a geometric
   * acceptance. Default [0.92, 0.66/0.92, 0.24/0.66]: TensorRT-LLM tech blog 1 ("Pushing Latency
   * Boundaries: Optimizing DeepSeek-R1 Performance on NVIDIA B200 GPUs", table "Autoregressive MTP
   * Layers") measures DeepSeek-R1's accepted tokens per step with its autoregressive MTP (the
   * MTP Eagle path, the default for DeepSeek-R1 and the one the reproduction's
   * `speculative_config: MTP` runs) at 1.92, 2.58 and 2.82 for 1, 2 and 3 drafts (strict
   * acceptance; ISL 1K / OSL 2K, batch 1, its own dataset): P(draft 1) = 0.92, P(drafts 1–2) =
   * 0.66, P(drafts 1–3) = 0.24. Later drafts are accepted far less often than the first — the
   * one MTP module is reused for every draft. DeepSeek-V3's report (arXiv:2412.19437 §5.4.3)
   * gives 85–90 % for the first draft alone; `[0.85]` is the geometric reading this replaced.
   * That the benchmark's dataset accepts as this one did is an assumption.
   */
  mtpAcceptance: readonly number[];
  /** Bytes per KV-cache value (FP8, `kv_cache_config.dtype: fp8` in the reproduction config). */
  kvBytes: number;
  /** Math precision of the decode attention core (FP8 KV read by FP8 generation kernels on Blackwell). */
  attentionPrecision: Precision;
  /**
   * Max/mean expert load across EP ranks from routing skew when EPLB is off. Default 1.25: an
   * assumption — no published per-rank max/mean for DeepSeek-R1 decode was found; DeepSeek's
   * EPLB README and the V3 report only say loads vary. Sweep it (`efficiency`-style override).
   */
  noEplbSkew: number;
  /** Fixed host-side cost per decode iteration (scheduler, sampling, MTP bookkeeping), µs. 0 by
   *  default: CUDA graphs (the reproduction enables them) hide it; only kernels' launchUs count. */
  stepOverheadUs: number;
  /**
   * The shortest a decoder layer's forward takes in a decode step, µs, whatever the batch (its
   * kernel chain and collective under CUDA graphs). Default 148: TensorRT-LLM tech blog 1
   * ("Pushing Latency Boundaries: Optimizing DeepSeek-R1 Performance on NVIDIA B200 GPUs",
   * MTP table) measures DeepSeek-R1 at batch 1 on 8×B200 without MTP at 111 TPS/user: a step
   * of 1/111 s = 9.01 ms over 61 layers = 148 µs per layer, at a batch where the layers' bytes
   * and FLOPs take a few µs — so nearly all of it is the floor (it holds the step's LM head
   * and sampling too: an upper bound). That run is attention TP8, MoE TP4×EP2 with all-reduces;
   * that the floor carries over to attention DP with an all-to-all on GB200 is an assumption.
   */
  minLayerUs: number;
  /**
   * What one MTP draft pass costs beyond its decoder layer, at least, µs: embedding, the 2H→H
   * projection, LM head, sampling and the acceptance bookkeeping. Default 565: the same blog's
   * MTP table, MTP 3 at 253 TPS/user with 2.82 accepted tokens per step = 11.15 ms per step
   * against 9.01 ms without MTP: (11.15 − 9.01) / 3 = 712 µs per pass, less one layer's 148 µs
   * (the main model's 4 tokens instead of 1 at batch 1 are in it: an upper bound).
   */
  mtpPassUs: number;
  /**
   * Fraction of the attention math's FP8 peak the decode attention core reaches (MLA absorbed, 128
   * query heads per KV head). Absent: the profile's `decodeAttentionEfficiency` — on the Blackwell
   * profiles TensorRT-LLM's FP8 MLA decode kernel measured at DeepSeek's shape (2211 TFLOP/s at
   * batch 256, 8192 cached tokens: 0.442 of GB200's 5 PFLOP/s; src/hardware/profiles.ts
   * `TRTLLM_GEN_MLA_DECODE_FP8_TFLOPS`) — else `FLASHMLA_DECODE_EFFICIENCY` (Hopper). The prefill
   * attention kernel's fraction (`efficiency.attention`, fitted on Table 3) is a different kernel.
   */
  decodeAttentionEfficiency?: number;
  /**
   * Fraction of the memory left after the weights that the KV cache may take. Default 0.75: the
   * reproduction's generation server (`kv_cache_config.free_gpu_memory_fraction: 0.75`,
   * examples/dwdp/reproduce.py; docs/trtllm-dwdp-reference.md §6). A configuration whose `batch`
   * requests at ISL + OSL do not fit is not searched.
   */
  kvMemoryFraction: number;
  /**
   * Fixed latency of the decode all-to-all's dispatch and of its combine, µs: what one phase
   * takes at batch 1, where its bytes are nothing. Defaults 18.9 and 31.0: TensorRT-LLM's
   * NVLinkOneSided all-to-all measured on GB200 NVL72 with DeepSeek-V3's shapes at EP 8, batch 1
   * (tech blog 18, "Optimizing MoE Communication with One-Sided AlltoAll Over NVLink", Scaling
   * With Batch Size and EP Size; EP 16 and 32 measure within 1 µs of these, EP 64 27.8 / 32.6).
   * They replace the rack model's `efficiency.collectiveUs` (15 µs, a prefill-scale assumption)
   * in the decode step; the bytes still move at linkGBps × efficiency.allToAll (fitted on
   * Table 3: 0.684, against the same blog's 0.68–0.73 of 900 GB/s at 2048 tokens, local share
   * taken out).
   */
  dispatchUs: number;
  combineUs: number;
  /**
   * The most GPUs the MTP draft head's vocabulary is split over; absent: the profile's
   * `gpusPerNode` (4 on GB200 NVL72). TensorRT-LLM's LM-head TP in attention DP
   * (`enable_lm_head_tp_in_adp`, on in the reproduction's generation servers) splits the draft
   * head only (`LMHead.forward`, `is_spec_decoding_head`; `DeepseekV3MTPHead`), over
   * `create_lm_head_tp_mapping`'s tp = 256 ÷ tokens rounded up to a power of 2 and clamped to
   * [1, gpus_per_node] (tensorrt_llm/_torch/utils.py `nearest_in_buckets`); the reproduction runs
   * 4 GPUs a node (a GB200 compute tray, `hardware.gpus_per_node: 4`). The main model's LM head
   * stays whole on every GPU.
   */
  lmHeadTpGpus?: number;
}

/**
 * Draft positions per GPU at which TensorRT-LLM's draft head stops splitting its vocabulary
 * ("token_count=256 will hit the boundary of math-bound problem", `create_lm_head_tp_mapping`).
 */
export const LM_HEAD_TP_TOKENS = 256;

/**
 * GPUs the draft head's vocabulary is split over with b draft positions per GPU on G GPUs:
 * ⌊256 / b⌋ rounded up to a power of 2, clamped to [1, maxGpus], halved until it divides G
 * (TensorRT-LLM asserts it divides the TP size).
 */
export function draftHeadTp(b: number, G: number, maxGpus: number): number {
  if (!(Number.isInteger(maxGpus) && maxGpus >= 1))
    throw new Error(
      `generation.lmHeadTpGpus must be an integer ≥ 1 (GPUs a node: 4 on GB200 NVL72, 8 on HGX), got ${maxGpus}`,
    );
  const raw = Math.floor(LM_HEAD_TP_TOKENS / b);
  let tp = 1;
  while (tp < raw) tp *= 2;
  tp = Math.min(tp, maxGpus);
  while (tp > 1 && G % tp !== 0) tp /= 2;
  return tp;
}

/**
 * The decode attention core's fraction of peak on a profile that names none (the Hopper profiles):
 * FlashMLA, DeepSeek's decode MLA kernel, reaches 660 TFLOPS on an H800 SXM5 of its 990 TFLOPS BF16
 * peak ("A Deep-Dive Into the New Flash MLA Kernel", deepseek-ai/FlashMLA
 * docs/20250422-new-kernel-deep-dive.md: "up to 80% Tensor Core utilization (of the throttled
 * theoretical peak)", ~865 TFLOPS when throttled).
 */
export const FLASHMLA_DECODE_EFFICIENCY = 660 / 990;

/**
 * The decode attention core's fraction of peak: `generation.decodeAttentionEfficiency` if set, else
 * the profile's, else FlashMLA's. A set value outside (0, 1] stops with the key.
 */
export function decodeAttentionEfficiencyOf(g: GenerationParams, profile: HardwareProfile): number {
  const e = g.decodeAttentionEfficiency;
  if (e === undefined) return profile.decodeAttentionEfficiency ?? FLASHMLA_DECODE_EFFICIENCY;
  if (!(e > 0 && e <= 1))
    throw new Error(
      `generation.decodeAttentionEfficiency must be in (0, 1] (a fraction of peak; ${profile.id}'s default ` +
        `${(profile.decodeAttentionEfficiency ?? FLASHMLA_DECODE_EFFICIENCY).toFixed(3)}), got ${e}`,
    );
  return e;
}

export const DEFAULT_GENERATION_PARAMS: Readonly<GenerationParams> = {
  mtpAcceptance: [0.92, 0.66 / 0.92, 0.24 / 0.66],
  kvBytes: 1,
  attentionPrecision: 'fp8',
  noEplbSkew: 1.25,
  stepOverheadUs: 0,
  minLayerUs: 148,
  mtpPassUs: 565,
  kvMemoryFraction: 0.75,
  dispatchUs: 18.9,
  combineUs: 31.0,
};

/** The cached context lengths of a generation GPU's requests: mean, and standard deviation across requests. */
export interface ContextLengths {
  mean: number;
  sd: number;
}

/**
 * Per-request context spread over the decode: input lengths uniform in [lo, hi] plus the
 * request's position in its decode, uniform in [0, osl] (every position is visited once):
 * mean (lo + hi)/2 + osl/2, variance ((hi − lo)² + osl²)/12.
 */
export function decodeContextLengths(lo: number, hi: number, osl: number): ContextLengths {
  return { mean: (lo + hi) / 2 + osl / 2, sd: Math.sqrt(((hi - lo) ** 2 + osl ** 2) / 12) };
}

const maxNormalCache = new Map<number, number>();

/** x to the non-negative integer power n by squaring: IEEE products only, the same bits in every engine. */
function powInt(x: number, n: number): number {
  let r = 1;
  let b = x;
  for (let k = n; k > 0; k >>= 1) {
    if (k & 1) r *= b;
    b *= b;
  }
  return r;
}

/**
 * E[max of n independent standard normals] (n rounded to an integer), by quadrature:
 * E = ∫ x d(Φ(x)ⁿ) on [−10, 10] with step 1e-3, Φ by the trapezoid rule on φ (error ≪ 1e-6).
 * 0 for n ≤ 1; 1/√π at n = 2. Rounded to 1e-9 so that the last-bit differences of Math.exp between JavaScript engines (Node against the
 * page's browser) cannot reach the results.
 */
export function expectedMaxNormal(n: number): number {
  if (!(n > 1)) return 0;
  const k = Math.round(n);
  let e = maxNormalCache.get(k);
  if (e !== undefined) return e;
  const h = 1e-3;
  const steps = 20000;
  const phi = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  let cdf = 0;
  let prevF = 0;
  let prevPhi = phi(-10);
  let sum = 0;
  for (let i = 1; i <= steps; i++) {
    const x = -10 + i * h;
    const p = phi(x);
    cdf += ((prevPhi + p) * h) / 2;
    const F = powInt(Math.min(1, cdf), k);
    sum += (x - h / 2) * (F - prevF);
    prevF = F;
    prevPhi = p;
  }
  e = Math.round(sum * 1e9) / 1e9;
  maxNormalCache.set(k, e);
  return e;
}

/** Mean context of the busiest of G attention-DP GPUs holding b requests each (see the header). */
export function busiestContext(ctx: ContextLengths, b: number, G: number): number {
  return ctx.mean + (ctx.sd * expectedMaxNormal(G)) / Math.sqrt(Math.max(1, b));
}

/** One generation server: G GPUs, max requests per GPU, MTP draft layers, EPLB. */
export interface GenerationConfig {
  /** GPUs of the server = expert-parallel size (attention data-parallel). */
  ep: number;
  /** Max requests per GPU (`max_batch_size` with attention DP). */
  batch: number;
  /** MTP draft layers (`num_nextn_predict_layers`); 0 = no speculative decoding. */
  mtp: number;
  eplb: boolean;
}

export interface DecodeStep {
  /** Step time of the slowest GPU, ms. */
  stepMs: number;
  /** Where it goes, ms (adds up to stepMs). */
  breakdown: {
    attention: number;
    moe: number;
    communication: number;
    dense: number;
    mtp: number;
    overhead: number;
    /** Time the per-layer floor (minLayerUs) adds to the main model's layers above their rooflines. */
    floor: number;
  };
  /** Accepted (emitted) tokens per request and step. */
  tokensPerStep: number;
  /** Decode tokens per second of one request. */
  tpsPerUser: number;
}

/** Conditional acceptance of draft i (1-based): the list's entry i − 1, or its last entry beyond it. */
export function draftAcceptance(alpha: readonly number[], i: number): number {
  if (alpha.length === 0) throw new Error('generation.mtpAcceptance: the list needs at least one entry');
  return alpha[Math.min(i, alpha.length) - 1];
}

/**
 * Expected accepted tokens per step and request with m drafts: Σ_{i=0..m} P(drafts 1…i all
 * accepted) = Σ_{i=0..m} Π_{j=1..i} α_j (the main model's own token always counts).
 */
export function acceptedTokens(mtp: number, alpha: readonly number[]): number {
  let s = 1;
  let run = 1;
  for (let i = 1; i <= mtp; i++) {
    run *= draftAcceptance(alpha, i);
    s += run;
  }
  return s;
}

/** Expected maximum over `ranks` of a per-rank count with mean `mean` (Poisson noise, Gaussian tail), ÷ mean. */
export function samplingImbalance(mean: number, ranks: number): number {
  if (ranks <= 1 || mean <= 0) return 1;
  return 1 + Math.sqrt((2 * Math.log(ranks)) / mean);
}

/**
 * Max/mean expected expert load over G expert-parallel ranks under the rack model's routing
 * skew (src/sim/routing.ts): each token's hot expert drawn from Zipf(s) over the seed's
 * popularity order (src/workload/skew.ts), its K − 1 others uniform; rank j owns the experts
 * {e : ⌊e·G/E⌋ = j} (no EPLB). Per token, expert e gets c_e = p_e + (1 − p_e)·q slots,
 * q = (K − 1)/(E − 1); rank j's load is Σ over its experts. 1 at s = 0 (uniform routing).
 */
export function routingSkewImbalance(
  m: Pick<MoeConfig, 'experts' | 'topK'>,
  G: number,
  s: number,
  seed: number,
): number {
  if (G <= 1) return 1;
  const p = zipf(m.experts, s);
  const order = popularityOrder(m.experts, seed);
  const hot = new Float64Array(m.experts);
  order.forEach((e, k) => (hot[e] = p[k]));
  const c = expertSlots(m, hot, 1);
  const load = new Float64Array(G);
  for (let e = 0; e < m.experts; e++) load[depOwner(e, m.experts, G)] += c[e];
  let max = 0;
  for (const x of load) max = Math.max(max, x);
  return (max * G) / m.topK;
}

/** KV-cache bytes of one token across all layers (MLA latent + RoPE key, or GQA K and V). */
export function kvBytesPerToken(m: MoeConfig, kvBytes: number): number {
  const a = m.attention;
  const perLayer = a.mla ? a.mla.kvLoraRank + a.mla.qkRopeHeadDim : 2 * a.kvHeads * a.headDim;
  return perLayer * kvBytes * m.layers.total;
}

/** The decode attention core of one layer: T query tokens over b requests of mean context S. */
export function decodeAttentionCore(m: MoeConfig, T: number, b: number, S: number, g: GenerationParams): OpWork {
  const a = m.attention;
  const perTokenHead = a.mla ? 2 * S * (2 * a.mla.kvLoraRank + a.mla.qkRopeHeadDim) : 4 * S * a.headDim;
  const kvPerLayer = kvBytesPerToken(m, g.kvBytes) / m.layers.total;
  return {
    flops: T * a.heads * perTokenHead,
    bytes: b * S * kvPerLayer + T * a.heads * (a.mla ? a.mla.kvLoraRank : a.headDim) * 2 * 2,
    precision: g.attentionPrecision,
    kind: 'attention',
    kernels: b > 0 ? 2 : 0,
  };
}

/**
 * One decode step of one GPU of a generation server with `b` requests (fractional b is the
 * mean occupancy; the roofline is continuous in it) of context lengths `context` (a number: the
 * mean, every request alike; else mean and spread, the busiest GPU's attention timed).
 */
export function decodeStep(
  cost: CostModel,
  cfg: GenerationConfig,
  b: number,
  context: number | ContextLengths,
  g: GenerationParams = DEFAULT_GENERATION_PARAMS,
): DecodeStep {
  const ctx = typeof context === 'number' ? { mean: context, sd: 0 } : context;
  const S = busiestContext(ctx, b, cfg.ep);
  const attentionEff = { ...cost.efficiency, attention: decodeAttentionEfficiencyOf(g, cost.profile) };
  const m = cost.model;
  const p = cost.precision;
  const G = cfg.ep;
  const tokensPerStep = acceptedTokens(cfg.mtp, g.mtpAcceptance);
  if (!(b > 0)) {
    const z = { attention: 0, moe: 0, communication: 0, dense: 0, mtp: 0, overhead: 0, floor: 0 };
    return { stepMs: 0, breakdown: z, tokensPerStep, tpsPerUser: 0 };
  }
  const act = p.activationBytes;
  // Attention of one layer on T tokens of b requests.
  const attention = (T: number) => {
    const w = attentionWork(m, [T], p); // projections only depend on T
    const core = rooflineMs(decodeAttentionCore(m, T, b, S, g), cost.profile, attentionEff);
    return cost.ms(w.projections) + cost.ms(w.output) + core;
  };
  // One MoE layer on T tokens per GPU: its compute part and its all-to-all part.
  const moeLayer = (T: number) => {
    const mean = T * m.topK; // slots per GPU on average
    const skew = cfg.eplb ? 1 : g.noEplbSkew;
    const imb = G > 1 ? skew * samplingImbalance(mean, G) : 1;
    const touched = expectedExpertsTouched(m.experts, m.topK, T * G * imb, m.experts / G);
    const gemm = cost.ms(expertGemmWork(m, mean * imb, touched, cost.expertBytes, cost.expertPrecision, act));
    const compute =
      cost.ms(routerWork(m, T, p)) +
      (m.sharedHidden > 0 ? cost.ms(mlpWork(m.hidden, m.sharedHidden, T, p.denseMlp, act)) : 0) +
      gemm +
      cost.ms(combineWork(m, T, act));
    let comm = 0;
    if (G > 1) {
      // Tokens leaving the GPU: each reaches a given peer with probability p; the busiest rank receives imb × that.
      const reach = tokenReachesRankProbability(m.experts, m.topK, G);
      const sent = T * (G - 1) * reach * m.hidden * imb;
      const gbps = cost.linkGBps * cost.efficiency.allToAll * 1e6; // bytes per ms, at the all-to-all's achieved fraction
      comm = (sent * (p.dispatchBytes + p.combineBytes)) / gbps + (g.dispatchUs + g.combineUs) / 1000;
    }
    return { compute, comm };
  };
  const T = b * (1 + cfg.mtp);
  const misc = cost.layerMiscMs(T);
  const moe = moeLayer(T);
  // An LM head over `tokens` positions of each of `tp` GPUs, each computing a 1/tp of the
  // vocabulary (its weights, read once) for all tp·tokens gathered positions: the FLOPs of the
  // unsplit head on this GPU's tokens; then the sampler (main model: verification; draft: argmax)
  // reads the logits it wrote once.
  const lmHead = (tokens: number, tp: number) =>
    cost.ms({
      flops: 2 * tokens * tp * m.hidden * (m.vocabSize / tp),
      bytes:
        (m.hidden * m.vocabSize * WEIGHT_BYTES[p.lmHead]) / tp +
        tokens * tp * (m.hidden * act + (m.vocabSize / tp) * 4),
      precision: p.lmHead,
      kind: 'gemm',
      kernels: 2,
    }) +
    cost.ms({ flops: 0, bytes: tokens * tp * (m.vocabSize / tp) * 4, precision: 'bf16', kind: 'memory', kernels: 1 });
  // The main model's head stays whole on every GPU (TensorRT-LLM splits only the draft head).
  const mainHead = lmHead(T, 1);
  const attnLayer = attention(T);
  const denseMlp = cost.denseMlpMs(T);
  const attn = m.layers.total * attnLayer;
  const moeCompute = m.layers.moe * moe.compute;
  const communication = m.layers.moe * moe.comm;
  const dense = m.layers.total * misc + m.layers.dense * denseMlp + mainHead;
  // The per-layer floor: what a layer's roofline falls short of minLayerUs (dense and MoE layers).
  const minLayer = g.minLayerUs / 1000;
  const floor =
    m.layers.dense * Math.max(0, minLayer - (attnLayer + misc + denseMlp)) +
    m.layers.moe * Math.max(0, minLayer - (attnLayer + misc + moe.compute + moe.comm));
  // MTP module: eh_proj (2H → H), one decoder layer (MoE), LM head, m times; each pass at least
  // one layer's floor plus mtpPassUs for its projection, LM head and sampling. The first pass
  // takes every token the step verified (T = b·(1 + m): MTP Eagle feeds it all the accepted
  // tokens with their hidden states, TensorRT-LLM tech blog 2, "MTP Eagle"; at a fixed CUDA-graph
  // shape, the step's T), the later ones one token per request; each pass's LM head gives one
  // draft per request (b tokens).
  let mtp = 0;
  if (cfg.mtp > 0) {
    const draftHead = lmHead(b, draftHeadTp(b, G, g.lmHeadTpGpus ?? cost.profile.gpusPerNode));
    const pass = (tokens: number) => {
      const d = moeLayer(tokens);
      // eh_proj: one [2H → H] GEMM in the dense layers' precision.
      const proj = cost.ms({
        flops: 2 * tokens * 2 * m.hidden * m.hidden,
        bytes: 2 * m.hidden * m.hidden * WEIGHT_BYTES[p.denseMlp] + tokens * 3 * m.hidden * act,
        precision: p.denseMlp,
        kind: 'gemm',
        kernels: 1,
      });
      const layer = attention(tokens) + d.compute + d.comm + cost.layerMiscMs(tokens);
      return Math.max(layer, minLayer) + Math.max(proj + draftHead, g.mtpPassUs / 1000);
    };
    mtp = pass(T) + (cfg.mtp - 1) * pass(b);
  }
  const overhead = g.stepOverheadUs / 1000;
  const stepMs = attn + moeCompute + communication + dense + floor + mtp + overhead;
  return {
    stepMs,
    breakdown: { attention: attn, moe: moeCompute, communication, dense, mtp, overhead, floor },
    tokensPerStep,
    tpsPerUser: (tokensPerStep / stepMs) * 1000,
  };
}

/**
 * Bytes one generation GPU holds: its E/G experts of every MoE layer, everything else, and the
 * KV cache of `batch` requests at `maxContext`; it fits when that KV cache is within
 * `kvMemoryFraction` of the HBM the weights leave (the KV cache manager's budget).
 */
export function generationMemoryBytes(
  cost: CostModel,
  cfg: GenerationConfig,
  maxContext: number,
  g = DEFAULT_GENERATION_PARAMS,
) {
  const m = cost.model;
  const experts = Math.ceil(m.experts / cfg.ep) * cost.expertBytes * m.layers.moe;
  const weights = experts + cost.denseWeightBytes();
  const kv = cfg.batch * maxContext * kvBytesPerToken(m, g.kvBytes);
  const kvBudget = g.kvMemoryFraction * Math.max(0, cost.profile.hbmCapacityGB * 1e9 - weights);
  return { weights, kv, total: weights + kv, kvBudget, fits: kv <= kvBudget };
}
