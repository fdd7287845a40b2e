// One decode step of one generation GPU — DeepSeek-R1 NVFP4 on gb200-nvl72, attention DP, wide EP,
// MTP — written out term by term in float64 from R1's config.json, the profile's published peaks
// and the calibrated efficiencies, without the cost model's helpers: the independent reference
// the tests hold src/sim/e2e/generation.ts `decodeStep` to. Every op is
//   t = max(FLOPs ÷ (peak × efficiency), bytes ÷ (HBM × efficiency.memory)) + kernels × launchUs,
// the same roofline law; what is checked is the accounting: which ops run, on how many tokens,
// with how many bytes, in which precision.

import type { Efficiency } from '../src/hardware/efficiency.ts';

// gb200-nvl72 per GPU (NVIDIA's GB200 NVL72 page: rack figures ÷ 72, dense = sparse ÷ 2).
const PEAK = { fp4: 10e15, fp8: 5e15, bf16: 2.5e15 }; // FLOP/s
const HBM = 8e12; // B/s
const LINK = 900e9; // B/s per direction
// DeepSeek-R1 config.json.
const H = 7168;
const HEADS = 128;
const Q_LORA = 1536;
const KV_LORA = 512;
const NOPE = 128;
const ROPE = 64;
const VH = 128; // v_head_dim
const F = 2048; // moe_intermediate_size (routed and shared expert)
const FD = 18432; // intermediate_size (the 3 dense layers)
const E = 256;
const K = 8;
const VOCAB = 129280;
const LAYERS = 61;
const MOE_LAYERS = 58;
const DENSE_LAYERS = 3;
// One NVFP4 expert: three H×F matrices of 4-bit codes, one e4m3 scale per 16 values, and a
// 4-byte tensor scale padded to 16 bytes.
const EXPERT_BYTES = 3 * ((H * F) / 2 + (H * F) / 16 + 16);
const FP4_BYTES = 0.5625; // NVFP4 weight: 4-bit code + e4m3 scale per 16
const ACT = 2; // BF16 activations

type P = keyof typeof PEAK;

/**
 * The decode attention core's default fraction on gb200-nvl72, from the published measurement
 * itself: TensorRT-LLM's FP8 MLA decode kernel (trtllm-gen) at 128 heads, 8192 cached tokens a
 * request, batch 256 (flashinfer-ai/flashinfer commit 31b63bc3, "FP8 fixed-len" table): 0.2825 ms
 * with one query token a request, 0.9927 ms with four. Each run's rate is its FLOPs (query tokens ×
 * heads × keys × (2·576 for QKᵀ + 2·512 for PV)) over its time; the default is their mean ÷ the
 * FP8 peak.
 */
export const HAND_DECODE_ATTENTION_EFFICIENCY = (() => {
  const rate = (q: number, ms: number) => (256 * q * HEADS * 8192 * (2 * (KV_LORA + ROPE) + 2 * KV_LORA)) / (ms / 1e3);
  return (rate(1, 0.2825) + rate(4, 0.9927)) / 2 / PEAK.fp8;
})();

/** What the reference needs besides the deployment: the calibrated efficiencies and the generation parameters. */
export interface HandInputs {
  eff: Pick<Efficiency, 'gemm' | 'groupedGemm' | 'memory' | 'allToAll' | 'launchUs' | 'othersPasses'>;
  decodeAttentionEfficiency: number;
  minLayerUs: number;
  mtpPassUs: number;
  dispatchUs: number;
  combineUs: number;
  noEplbSkew: number;
  /** GPUs the MTP draft head's vocabulary may be split over (TensorRT-LLM: gpus_per_node). */
  lmHeadTpGpus: number;
}

/** The step's terms, ms, named as decodeStep's breakdown, with the ops inside them for the docs' table. */
export interface HandStep {
  attention: number;
  moe: number;
  communication: number;
  dense: number;
  floor: number;
  mtp: number;
  stepMs: number;
  /** Per-op detail (per layer where the name says so), ms. */
  ops: Record<string, number>;
}

/**
 * One decode step: G GPUs (EP size, attention DP), b requests on this GPU, m MTP drafts, EPLB or
 * not, the busiest GPU's mean cached context `sBusy` (tokens).
 */
export function handDecodeStep(G: number, b: number, m: number, eplb: boolean, sBusy: number, x: HandInputs): HandStep {
  const launch = x.eff.launchUs / 1000; // ms per kernel
  const op = (flops: number, bytes: number, p: P, eff: number, kernels: number) =>
    Math.max(flops / (PEAK[p] * eff), bytes / (HBM * x.eff.memory)) * 1e3 + kernels * launch;
  const mem = (bytes: number, kernels: number) => (bytes / (HBM * x.eff.memory)) * 1e3 + kernels * launch;

  // --- attention of one layer on t query tokens of b requests
  const projIn = [
    [H, Q_LORA], // q_a
    [Q_LORA, HEADS * (NOPE + ROPE)], // q_b
    [H, KV_LORA + ROPE], // kv_a with the RoPE key
    [KV_LORA, HEADS * (NOPE + VH)], // kv_b: absorbed into the query and output per head, same FLOPs a token
  ];
  const projParams = projIn.reduce((s, [i, o]) => s + i * o, 0);
  const projIo = projIn.reduce((s, [i, o]) => s + i + o, 0);
  const oParams = HEADS * VH * H;
  const attnLayer = (t: number) => {
    const proj = op(2 * t * projParams, projParams * 1 + t * projIo * ACT, 'fp8', x.eff.gemm, 4);
    const out = op(2 * t * oParams, oParams * FP4_BYTES + t * (HEADS * VH + H) * ACT, 'fp4', x.eff.gemm, 1);
    // MLA absorbed (MQA over the 576-wide latent + RoPE key, 512-wide values): per (query, key, head)
    // 2·576 FLOPs for QKᵀ and 2·512 for PV; the FP8 cache (576 B per token and layer) read once per
    // request; the BF16 latent query in and output out, 512 wide per head.
    const core = op(
      t * HEADS * sBusy * 2 * (KV_LORA + ROPE + KV_LORA),
      b * sBusy * (KV_LORA + ROPE) + t * HEADS * KV_LORA * ACT * 2,
      'fp8',
      x.decodeAttentionEfficiency,
      2,
    );
    return { proj, out, core, total: proj + out + core };
  };
  const others = (t: number) => mem(2 * x.eff.othersPasses * t * H * ACT, 3); // memory-bound passes over t·H
  // --- one MoE layer on t tokens per GPU
  const moeLayer = (t: number) => {
    const mean = t * K;
    const imb = G > 1 ? (eplb ? 1 : x.noEplbSkew) * (1 + Math.sqrt((2 * Math.log(G)) / mean)) : 1;
    const slots = mean * imb;
    const touched = (E / G) * (1 - (1 - K / E) ** (t * G * imb));
    const router = op(2 * t * H * E, H * E * 2 + t * (H * ACT + E * 4), 'bf16', x.eff.gemm, 2);
    const sharedParams = 3 * H * F;
    const shared = op(2 * t * sharedParams, sharedParams + t * (2 * H + 2 * F) * ACT, 'fp8', x.eff.gemm, 2);
    const gemm = op(
      2 * slots * 3 * H * F,
      touched * EXPERT_BYTES + slots * (2 * H + 2 * F) * ACT,
      'fp4',
      x.eff.groupedGemm,
      3,
    );
    const combine = mem(t * (K + 2) * H * ACT, 1);
    let comm = 0;
    if (G > 1) {
      // P(a token has an expert on a given peer) = 1 − C(E − E/G, K)/C(E, K).
      let none = 1;
      for (let i = 0; i < K; i++) none *= (E - E / G - i) / (E - i);
      const rows = t * (G - 1) * (1 - none) * imb; // rows the busiest GPU sends (and gets back)
      comm = ((rows * H * (1 + 2)) / (LINK * x.eff.allToAll)) * 1e3 + (x.dispatchUs + x.combineUs) / 1000; // FP8 out, BF16 back
    }
    return { router, shared, gemm, combine, compute: router + shared + gemm + combine, comm };
  };
  const T = b * (1 + m);
  const a = attnLayer(T);
  const mo = moeLayer(T);
  const misc = others(T);
  const denseParams = 3 * H * FD;
  const denseMlp = op(2 * T * denseParams, denseParams + T * (2 * H + 2 * FD) * ACT, 'fp8', x.eff.gemm, 2);
  // An LM head on t positions of each of tp GPUs, gathered: this GPU computes a 1/tp of the
  // vocabulary (its BF16 weights, read once) for all tp·t of them, then the sampler reads this
  // GPU's FP32 logits (tp·t rows of VOCAB/tp) once.
  const head = (t: number, tp: number) =>
    op(
      2 * tp * t * H * (VOCAB / tp),
      (H * VOCAB * 2) / tp + tp * t * (H * ACT + (VOCAB / tp) * 4),
      'bf16',
      x.eff.gemm,
      2,
    ) + mem(t * VOCAB * 4, 1);
  // The main model's LM head under attention DP: every GPU its own T positions over the whole
  // vocabulary, its whole head read (TensorRT-LLM splits only the draft head); the sampler
  // (verification) reads the logits.
  const lmHead = head(T, 1);
  // The draft head (MTP's shared head): the b draft positions of tp GPUs gathered, each GPU a 1/tp
  // of the vocabulary, the draft's argmax reading the logits;
  // tp = 256 ÷ b tokens rounded up to a power of 2, within [1, lmHeadTpGpus] and dividing G.
  let tp = 1;
  const raw = Math.floor(256 / b);
  while (tp < raw) tp *= 2;
  tp = Math.max(1, Math.min(tp, x.lmHeadTpGpus));
  while (G % tp !== 0) tp /= 2;
  const draftHead = head(b, tp);
  const minLayer = x.minLayerUs / 1000;
  const attention = LAYERS * a.total;
  const moe = MOE_LAYERS * mo.compute;
  const communication = MOE_LAYERS * mo.comm;
  const dense = LAYERS * misc + DENSE_LAYERS * denseMlp + lmHead;
  const floor =
    DENSE_LAYERS * Math.max(0, minLayer - (a.total + misc + denseMlp)) +
    MOE_LAYERS * Math.max(0, minLayer - (a.total + misc + mo.compute + mo.comm));
  // MTP: the first pass on the step's T tokens, the others on b; each its decoder layer (MoE) with
  // the 2H → H eh_proj GEMM (FP8: one kernel) and the draft head, at least minLayer + mtpPassUs.
  const pass = (t: number) => {
    const d = moeLayer(t);
    const eh = op(2 * t * 2 * H * H, 2 * H * H + t * (2 * H + H) * ACT, 'fp8', x.eff.gemm, 1);
    const layer = attnLayer(t).total + d.compute + d.comm + others(t);
    return Math.max(layer, minLayer) + Math.max(eh + draftHead, x.mtpPassUs / 1000);
  };
  const mtp = m > 0 ? pass(T) + (m - 1) * pass(b) : 0;
  return {
    attention,
    moe,
    communication,
    dense,
    floor,
    mtp,
    stepMs: attention + moe + communication + dense + floor + mtp,
    ops: {
      'attention projections (layer)': a.proj + a.out,
      'attention core (layer)': a.core,
      'router (MoE layer)': mo.router,
      'shared expert (MoE layer)': mo.shared,
      'grouped GEMM (MoE layer)': mo.gemm,
      'local combine (MoE layer)': mo.combine,
      'all-to-all (MoE layer)': mo.comm,
      'others (layer)': misc,
      'dense MLP (dense layer)': denseMlp,
      'LM head (step)': lmHead,
      'draft head (pass)': draftHead,
      'draft head TP': tp,
    },
  };
}
