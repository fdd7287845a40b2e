// Routing in the rack model: which experts a rank's tokens go to, and what that costs the grouped
// GEMM and DEP's exchange. Two laws:
//
//   uniform (routingSkew 0, the default)  every token picks K distinct experts uniformly; the
//       programs use expectations (cost-model.ts: expectedExpertsTouched,
//       tokenReachesRankProbability) and one grouped GEMM over all slots, no tile padding.
//   skewed (routingSkew s > 0: hot experts, no EPLB)  token t has a hot expert h_t, the t-th
//       draw of the generator the emulation uses (src/workload/skew.ts, HotExperts: Zipf(s)
//       over the seed's popularity order), and K − 1 other experts uniform among the other
//       E − 1 (the emulation pushes the token's router logits toward h_t; its other K − 1 come
//       from the router). With h_e = tokens of a batch of T whose hot expert is e and
//       q = (K − 1)/(E − 1), per expert, in expectation:
//           slots  c_e = h_e + (T − h_e)·q                       (Σ_e c_e = T·K)
//           touched  u_e = 1 if h_e > 0, else 1 − (1 − q)^T
//       The same hot experts serve every MoE layer of the step (the emulation skews the
//       layer-0 input); experts stay on their DEP owner (no expert-parallel load balancer).
//
// Skewed routing is where per-expert counts are known, so there the grouped GEMM is tiled per
// expert: each expert's slots run in tiles of GROUPED_GEMM_TILE_M rows, the last one padded,
//     padded slots = Σ_e ⌈c_e / M⌉·M        (FLOPs on padded slots, activation bytes on real ones)
// DEP: rank j owns experts {e : ⌊e·N/E⌋ = j} (E/N each when N divides E). Rank j's GEMM runs the
// slots of its experts from every rank: c^j_e = Σ_i c^i_e, touched from the group's Σ h and ΣT.
// Rows rank i sends rank j (dispatch; the return carries as many back): a token whose hot expert
// j owns always goes; another goes when one of its K − 1 others is among j's n_j experts:
//     rows_ij = H_ij + (T_i − H_ij)·ρ_j,   ρ_j = 1 − C(E − 1 − n_j, K − 1) / C(E − 1, K − 1)
// with H_ij = Σ_{e owned by j} h^i_e. Uneven owners make the others wait at the next barrier.

import type { MoeConfig } from '../model/config.ts';

/**
 * Rows per tile of the routed-expert grouped GEMM: 128, the smallest M of the MMA tiles
 * TensorRT-LLM's Blackwell NVFP4 CuTeDSL GEMMs choose from (`mma_tiler_mn` candidates
 * (128 | 256, N) in tensorrt_llm/_torch/custom_ops/cute_dsl_custom_ops.py). That each expert's
 * rows fill whole tiles (its last tile padded) is the model's assumption. Used where per-expert
 * counts are known (skewed routing).
 */
export const GROUPED_GEMM_TILE_M = 128;

/** The routing law of a run: uniform (s = 0) or skewed hot experts (s > 0). */
export const isSkewed = (routingSkew: number | undefined): boolean => (routingSkew ?? 0) > 0;

/** q = (K − 1)/(E − 1): probability that a given non-hot expert is among a token's other K − 1. */
function otherPick(m: Pick<MoeConfig, 'experts' | 'topK'>): number {
  return m.experts > 1 ? (m.topK - 1) / (m.experts - 1) : 0;
}

/**
 * Expected slots per expert c_e = h_e + (T − h_e)·q of T tokens with hot counts `hot`: into
 * `out` (E entries, e.g. a caller's reused scratch: a rack run asks per step and rank) or a new array.
 */
export function expertSlots(
  m: Pick<MoeConfig, 'experts' | 'topK'>,
  hot: ArrayLike<number>,
  T: number,
  out: Float64Array = new Float64Array(m.experts),
): Float64Array {
  const q = otherPick(m);
  for (let e = 0; e < m.experts; e++) out[e] = hot[e] + (T - hot[e]) * q;
  return out;
}

/** Expected distinct experts touched among `experts` (indices; all E when absent) by T tokens with hot counts `hot`. */
export function expertsTouched(
  m: Pick<MoeConfig, 'experts' | 'topK'>,
  hot: ArrayLike<number>,
  T: number,
  experts?: Iterable<number>,
): number {
  if (T <= 0) return 0;
  const cold = 1 - Math.pow(1 - otherPick(m), T);
  const touched = (e: number): number => (hot[e] > 0 ? 1 : cold);
  let u = 0;
  if (experts === undefined) for (let e = 0; e < m.experts; e++) u += touched(e);
  else for (const e of experts) u += touched(e);
  return u;
}

/** DEP owner of expert e in a group of N: ⌊e·N/E⌋. */
export const depOwner = (e: number, experts: number, N: number): number => Math.floor((e * N) / experts);

/** The experts DEP rank j owns in a group of N. */
export function ownedExperts(j: number, experts: number, N: number): number[] {
  const out: number[] = [];
  for (let e = 0; e < experts; e++) if (depOwner(e, experts, N) === j) out.push(e);
  return out;
}

/** ρ_j = 1 − C(E − 1 − n, K − 1)/C(E − 1, K − 1): a token's K − 1 others reach an owner of n experts (none hot). */
export function othersReachProbability(experts: number, topK: number, n: number): number {
  let none = 1;
  for (let i = 0; i < topK - 1; i++) none *= (experts - 1 - n - i) / (experts - 1 - i);
  return 1 - Math.max(0, none);
}

/** What one DEP step of a group moves and computes under skewed routing. */
export interface DepSkewLoad {
  /** rows[i][j]: rows rank i sends rank j (expected; rows[i][i] is the local part). */
  rows: number[][];
  /** slots[j][e]: slots of expert e (owned by j) that rank j's GEMM runs; 0 for experts j does not own. */
  slots: Float64Array[];
  /** Expected experts rank j's GEMM touches. */
  touched: number[];
}

/** DEP's per-owner load from each rank's hot counts `hot[i]` and tokens `T[i]` (local indices). */
export function depSkewLoad(
  m: Pick<MoeConfig, 'experts' | 'topK'>,
  hot: readonly ArrayLike<number>[],
  T: readonly number[],
): DepSkewLoad {
  const N = T.length;
  const E = m.experts;
  const owned = Array.from({ length: N }, (_, j) => ownedExperts(j, E, N));
  const rho = owned.map((o) => othersReachProbability(E, m.topK, o.length));
  const rows = hot.map((h, i) =>
    owned.map((o, j) => {
      let H = 0;
      for (const e of o) H += h[e];
      return H + (T[i] - H) * rho[j];
    }),
  );
  const totalHot = new Float64Array(E);
  let totalT = 0;
  const slots = owned.map(() => new Float64Array(E));
  hot.forEach((h, i) => {
    const c = expertSlots(m, h, T[i]);
    for (let e = 0; e < E; e++) {
      slots[depOwner(e, E, N)][e] += c[e];
      totalHot[e] += h[e];
    }
    totalT += T[i];
  });
  const touched = owned.map((o) => expertsTouched(m, totalHot, totalT, o));
  return { rows, slots, touched };
}

// ---------------------------------------------------------------------------------------
// Given loads (the `expertLoads` scenario key): the routing a run actually had, as data.
//
// loads[k][e] = f^k_e, the fraction of MoE layer k's routed slots that expert e receives
// (Σ_e f^k_e = 1; the group's T·K slots, every rank routing by the same fractions). A model
// with more MoE layers than the loads give cycles them (layer k uses loads[k mod L]), as the
// scale model repeats its measured layers. Per layer, for a rank of T tokens:
//     slots  c_e = f_e·T·K        touched  u_e = 1 − (1 − f_e)^{T·K}     (tiled per expert)
// DEP owner j of experts O_j, share F_j = Σ_{e∈O_j} f_e: its GEMM runs c^j_e = f_e·ΣT·K; rank i
// sends it the tokens with at least one of their K distinct experts in O_j,
//     rows_ij = T_i·ρ_j,   ρ_j = 1 − Π_{k<K} max(0, 1 − F_j·E/(E − k))
// (the uniform law's hypergeometric with n_j = F_j·E: uniform loads give exactly
// tokenReachesRankProbability). The busiest owner sets every layer's barrier.

/** Per MoE layer, per expert: fractions of the layer's routed slots (each layer sums to 1). */
export type ExpertLoads = readonly (readonly number[])[];

/** How far a layer's fractions may sum from 1 (rounding of counts written as JSON). */
export const EXPERT_LOADS_SUM_TOLERANCE = 1e-6;

/**
 * Problems with `loads` for a model of `experts` experts and `moeLayers` MoE layers: the first
 * one as a sentence naming the layer and expert, or undefined when valid.
 */
export function expertLoadsProblem(loads: unknown, experts: number, moeLayers: number): string | undefined {
  if (!Array.isArray(loads) || loads.length === 0)
    return 'must be a non-empty array of MoE layers, each an array of per-expert fractions';
  if (loads.length > moeLayers) return `gives ${loads.length} layers, and the model has ${moeLayers} MoE layers`;
  for (let k = 0; k < loads.length; k++) {
    const f: unknown = loads[k];
    if (!Array.isArray(f) || f.length !== experts)
      return `layer ${k} must give one fraction per expert (${experts}), it gives ${Array.isArray(f) ? f.length : typeof f}`;
    let sum = 0;
    for (let e = 0; e < experts; e++) {
      const x: unknown = f[e];
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0)
        return `layer ${k}, expert ${e}: ${JSON.stringify(x)} is not a non-negative number`;
      sum += x;
    }
    if (Math.abs(sum - 1) > EXPERT_LOADS_SUM_TOLERANCE)
      return `layer ${k} sums to ${sum}, must sum to 1 (fractions of its slots)`;
  }
  return undefined;
}

/** The loads of MoE layer k (cycled). */
export const layerLoads = (loads: ExpertLoads, k: number): readonly number[] => loads[k % loads.length];

/** Slots c_e = f_e·T·K of a rank of T tokens: into `out` (f.length entries, e.g. a caller's reused scratch) or a new array. */
export function loadSlots(
  f: readonly number[],
  T: number,
  topK: number,
  out: Float64Array = new Float64Array(f.length),
): Float64Array {
  for (let e = 0; e < f.length; e++) out[e] = f[e] * T * topK;
  return out;
}

/** Expected experts touched among `experts` (all of f's when absent) by T·K slots drawn by fractions f: Σ 1 − (1 − f_e)^{T·K}. */
export function loadTouched(f: readonly number[], T: number, topK: number, experts?: Iterable<number>): number {
  const touched = (e: number): number => (f[e] > 0 ? 1 - Math.pow(1 - f[e], T * topK) : 0);
  let u = 0;
  if (experts === undefined) for (let e = 0; e < f.length; e++) u += touched(e);
  else for (const e of experts) u += touched(e);
  return u;
}

/** ρ = 1 − Π_{k<K} max(0, 1 − F·E/(E − k)): a token's K distinct experts reach an owner of slot share F. */
export function shareReachProbability(experts: number, topK: number, share: number): number {
  let none = 1;
  for (let k = 0; k < topK; k++) none *= Math.max(0, 1 - (share * experts) / (experts - k));
  return 1 - none;
}

/** DEP's per-owner load of one MoE layer under fractions f, ranks of T[i] tokens (local indices). */
export function depLoadsLayer(
  m: Pick<MoeConfig, 'experts' | 'topK'>,
  f: readonly number[],
  T: readonly number[],
): DepSkewLoad {
  const N = T.length;
  const E = m.experts;
  const owned = Array.from({ length: N }, (_, j) => ownedExperts(j, E, N));
  const rho = owned.map((o) =>
    shareReachProbability(
      E,
      m.topK,
      o.reduce((s, e) => s + f[e], 0),
    ),
  );
  const totalT = T.reduce((a, b) => a + b, 0);
  const all = loadSlots(f, totalT, m.topK);
  const slots = owned.map((o) => {
    const s = new Float64Array(E);
    for (const e of o) s[e] = all[e];
    return s;
  });
  return {
    rows: T.map((Ti) => rho.map((r) => Ti * r)),
    slots,
    touched: owned.map((o) => loadTouched(f, totalT, m.topK, o)),
  };
}

/**
 * Loads of a model of `targetExperts` from per-layer per-expert routed counts of a model of
 * counts[k].length experts: target expert e stands for source expert x = ⌊e·E_s/E_t⌋ and takes
 * an equal part of x's fraction. When the group size divides both expert counts, every DEP owner
 * keeps exactly its share (owner j's experts map onto owner j's).
 */
export function loadsFromCounts(counts: readonly (readonly number[])[], targetExperts: number): number[][] {
  return counts.map((c, k) => {
    const Es = c.length;
    if (targetExperts < Es) throw new Error(`expert loads: ${Es} experts cannot stand for ${targetExperts}`);
    const total = c.reduce((a, b) => a + b, 0);
    if (Es === 0 || total <= 0) throw new Error(`expert loads: layer ${k} routed no slots`);
    const src = (e: number) => Math.floor((e * Es) / targetExperts);
    const parts = new Array<number>(Es).fill(0);
    for (let e = 0; e < targetExperts; e++) parts[src(e)]++;
    return Array.from({ length: targetExperts }, (_, e) => {
      const x = src(e);
      return c[x] / total / parts[x];
    });
  });
}

/** A short label of given loads for tables: layers, and the hottest expert's share over the mean (max_k,e f^k_e·E). */
export function expertLoadsLabel(loads: ExpertLoads): string {
  let hot = 0;
  for (const f of loads) for (const x of f) hot = Math.max(hot, x * f.length);
  return `${loads.length} layer${loads.length === 1 ? '' : 's'}, hottest expert ${hot.toFixed(2)}× mean`;
}
