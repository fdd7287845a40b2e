// Seeded f32 master weights and token inputs for one MoE layer.
//
// Reproducibility: every tensor comes from its own RNG stream, forked by name from the seed
// (`layer3/expert17/gate`, `layer3/router`, `inputs/rank2` …). A DWDP rank can therefore
// generate only the experts it holds, in any order, and get bit-identical values to a rank
// that generated all of them. Seeds are any non-negative safe integer (e.g. Date.now()).
//
// Scales (chosen so activations look like a trained model's, and every kernel sees O(1) values):
// - Inputs x [T,H] stand in for post-RMSNorm hidden states: each token row has RMS exactly 1.
//   Before normalization ordinary channels are N(0,1) and a few outlier channels
//   (min(4, max(1, ⌊H/64⌋)), fixed per seed) carry ±4 with a fixed sign plus N(0,1) noise,
//   like the "massive activation" channels of real LLMs; after normalization ordinary channels
//   have std ≈ 0.85–1 and the outliers |x| ≈ 3–4.
// - Linear weights are N(0, 1/fan_in) with a per-output-row scale exp(0.2·z − 0.04)
//   (E[scale²] = 1), so per-channel quantization has rows of unequal range to deal with.
//   gate·x and up·x then have unit variance, and an expert's output
//   y = down(silu(gate·x) ⊙ up·x) has std ≈ 0.6 per element.
// - Router W [E,H]: N(0, 1/H), rows scaled by exp(0.1·z − 0.01), except on the outlier
//   channels, which act as a near-constant input direction: there the weights are set so each
//   expert gets a logit offset ("popularity") of N(0, 0.2²) whatever H is. Logits then have
//   std ≈ 0.8–1: routing is decisive but not one-hot, and uneven but not degenerate — over
//   1024 tokens (top-k by logit) the coefficient of variation of per-expert load is ≈ 0.1–0.5
//   for E=8, K=2 and ≈ 0.45–0.65 for E=128, K=8, the busiest expert gets up to ≈ 4.7× the
//   mean, and at most one expert in a hundred is left without a token (seen over 260 seeds of
//   the tiny presets; test/weights.test.ts checks wider bounds on a fresh seed each run).
// - DeepSeek e_score_correction_bias [E]: N(0, 0.02²), small next to the sigmoid scores'
//   spread (≈0.2) but enough to change which expert wins a close call.
// - Qwen2-MoE shared_expert_gate [H]: N(0, 1/H), so sigmoid(x·g) spreads around 0.5.

import { Rng } from '../util/random.ts';
import type { MoeConfig } from './config.ts';

/** The documented generation constants (tests check the statistics against these). */
export const WEIGHT_SCALES = {
  /** std of a router logit x·W[e] for a unit-RMS x, averaged over experts. */
  routerLogitStd: 1,
  /** log-normal spread of router row norms. */
  routerRowSpread: 0.1,
  /** std of the per-expert logit offset (expert popularity) set through the outlier channels. */
  routerPopularityStd: 0.2,
  biasStd: 0.02,
  /** log-normal spread of the row scales of expert and shared weights. */
  weightRowSpread: 0.2,
  /** pre-normalization mean magnitude of the outlier input channels. */
  inputOutlierMean: 4,
  maxInputOutliers: 4,
} as const;

export interface RouterWeights {
  weight: Float32Array; // [E,H]
  bias?: Float32Array; // [E], only when cfg.correctionBias (noaux_tc)
}

export interface ExpertWeights {
  gate: Float32Array; // [F,H]
  up: Float32Array; // [F,H]
  down: Float32Array; // [H,F]
}

export interface SharedWeights extends ExpertWeights {
  expertGate?: Float32Array; // [H], Qwen2-MoE's sigmoid shared_expert_gate
}

export function routerWeights(cfg: MoeConfig, seed: number, layer: number): RouterWeights {
  checkIndex('layer', layer);
  const root = rootRng(seed);
  const H = cfg.hidden;
  const weight = gaussianMatrix(
    root.fork(`layer${layer}/router`),
    cfg.experts,
    H,
    WEIGHT_SCALES.routerLogitStd / Math.sqrt(H),
    WEIGHT_SCALES.routerRowSpread,
  );
  // Popularity: the inputs' outlier channels are a near-constant direction, so the router's
  // weights on them act as a per-expert logit offset. Set them so the offset is
  // N(0, routerPopularityStd²) whatever H is (else it would shrink as 1/√H).
  const outliers = outlierChannels(root.fork('inputs/channels'), H);
  const popularity = root.fork(`layer${layer}/router-popularity`);
  for (let e = 0; e < cfg.experts; e++) {
    const offset = popularity.normal() * WEIGHT_SCALES.routerPopularityStd;
    for (const [h, mean] of outliers) weight[e * H + h] = offset / (outliers.length * mean);
  }
  if (!cfg.correctionBias) return { weight };
  const bias = new Float32Array(cfg.experts);
  fillNormals(root.fork(`layer${layer}/router-bias`), bias, 0, bias.length, WEIGHT_SCALES.biasStd);
  return { weight, bias };
}

/** One routed expert's weights; independent of every other tensor's generation. */
export function expertMaster(cfg: MoeConfig, seed: number, layer: number, expert: number): ExpertWeights {
  checkIndex('layer', layer);
  checkIndex('expert', expert);
  if (expert >= cfg.experts) throw new RangeError(`expert ${expert} is out of range for ${cfg.experts} experts`);
  return mlp(rootRng(seed).fork(`layer${layer}/expert${expert}`), cfg.hidden, cfg.expertHidden);
}

/** The shared expert (undefined when the model has none), with Qwen2-MoE's gate vector. */
export function sharedMaster(cfg: MoeConfig, seed: number, layer: number): SharedWeights | undefined {
  checkIndex('layer', layer);
  if (cfg.sharedHidden === 0) return undefined;
  const rng = rootRng(seed).fork(`layer${layer}/shared`);
  const weights: SharedWeights = mlp(rng, cfg.hidden, cfg.sharedHidden);
  if (cfg.sharedExpertGate) {
    weights.expertGate = new Float32Array(cfg.hidden);
    fillNormals(rng.fork('expert-gate'), weights.expertGate, 0, cfg.hidden, 1 / Math.sqrt(cfg.hidden));
  }
  return weights;
}

/**
 * T tokens of layer input [T,H], each row with RMS 1. `stream` names an independent token
 * stream (one per rank, say); the outlier channels belong to the seed, shared by all streams.
 * Rows are generated in order, so the first t rows do not depend on T.
 */
export function tokenInputs(cfg: MoeConfig, seed: number, tokens: number, stream = 'tokens'): Float32Array {
  checkIndex('tokens', tokens);
  const H = cfg.hidden;
  const root = rootRng(seed);
  const outliers = outlierChannels(root.fork('inputs/channels'), H);
  const rng = root.fork(`inputs/${stream}`);
  const x = new Float32Array(tokens * H);
  const row = new Float64Array(H);
  for (let t = 0; t < tokens; t++) {
    fillNormals(rng, row, 0, H, 1);
    let sumSq = 0;
    for (const [h, mean] of outliers) row[h] += mean;
    for (let h = 0; h < H; h++) sumSq += row[h] * row[h];
    const inv = 1 / Math.sqrt(sumSq / H);
    for (let h = 0; h < H; h++) x[t * H + h] = row[h] * inv;
  }
  return x;
}

/** The outlier channels of a seed's inputs: [channel, signed pre-normalization mean]. */
export function inputOutlierChannels(cfg: MoeConfig, seed: number): Array<[number, number]> {
  return outlierChannels(rootRng(seed).fork('inputs/channels'), cfg.hidden);
}

function outlierChannels(rng: Rng, H: number): Array<[number, number]> {
  const count = Math.min(WEIGHT_SCALES.maxInputOutliers, Math.max(1, Math.floor(H / 64)), H);
  const chosen = new Map<number, number>();
  while (chosen.size < count) {
    const h = rng.int(H);
    if (!chosen.has(h)) chosen.set(h, (rng.next() < 0.5 ? -1 : 1) * WEIGHT_SCALES.inputOutlierMean);
  }
  return [...chosen];
}

/** SwiGLU MLP weights: gate, up [F,H] with fan-in H; down [H,F] with fan-in F. */
function mlp(rng: Rng, H: number, F: number): ExpertWeights {
  const spread = WEIGHT_SCALES.weightRowSpread;
  return {
    gate: gaussianMatrix(rng.fork('gate'), F, H, 1 / Math.sqrt(H), spread),
    up: gaussianMatrix(rng.fork('up'), F, H, 1 / Math.sqrt(H), spread),
    down: gaussianMatrix(rng.fork('down'), H, F, 1 / Math.sqrt(F), spread),
  };
}

/** rows×cols normals of std `std`, each row scaled by exp(spread·z − spread²) (mean square 1). */
function gaussianMatrix(rng: Rng, rows: number, cols: number, std: number, spread: number): Float32Array {
  const out = new Float32Array(rows * cols);
  fillNormals(rng.fork('values'), out, 0, out.length, std);
  const scales = rng.fork('row-scales');
  for (let r = 0; r < rows; r++) {
    const s = Math.exp(spread * scales.normal() - spread * spread);
    for (let i = r * cols, end = i + cols; i < end; i++) out[i] *= s;
  }
  return out;
}

/** Box–Muller using both outputs of each pair (twice as fast as Rng.normal for big tensors). */
function fillNormals(rng: Rng, out: Float32Array | Float64Array, start: number, end: number, std: number): void {
  for (let i = start; i < end; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - rng.next())) * std;
    const angle = 2 * Math.PI * rng.next();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < end) out[i + 1] = radius * Math.sin(angle);
  }
}

/** Seeds below 2³² are used as they are; larger ones (Date.now()) fold their high bits in. */
function rootRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  const high = Math.floor(seed / 2 ** 32);
  const rng = new Rng(seed >>> 0);
  return high === 0 ? rng : rng.fork(`seed-high-${high}`);
}

function checkIndex(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer, got ${v}`);
}
