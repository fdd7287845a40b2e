// Per-rank programs (src/timeline/scheduler.ts) for prefill forward steps of an MoE transformer
// under the two strategies compared, with op durations from the cost model.
//
// Layer l of a step, on a rank with batch lengths S (T = ΣS tokens): a dense layer is
//   attention(S) → norms/RoPE/residual → dense MLP; an MoE layer follows its strategy's step
//   plan (src/timeline/plan.ts, shared with the emulated ranks, which says why this order):
// DEP (attention data-parallel + expert-parallel MoE): attention → router → dispatch (the
//   group's barrier, the all-to-all's launch, FP8 rows to the ranks owning each token's
//   experts) → wait → grouped GEMM on what it received (E/N experts) → return (BF16) → shared
//   expert while the return is in flight → wait → combine. The slowest rank sets every
//   layer's end.
// DWDP: each rank runs its own MoE for its own tokens with all E experts: L resident, the
//   (N−1)·P others pulled from peers into ping-pong prefetch slots (PrefetchRing). At the start
//   of a step the first `prefetchDepth` MoE layers' pulls are issued; attention → router →
//   shared expert → wait for this layer's pull → (splitWeights off: the merge, an HBM copy of
//   the local shard into a full-size buffer or of the pulled experts, `splitMerge`) → grouped GEMM → issue the pull of MoE layer k + depth
//   into the slot the GEMM released → combine. No barrier anywhere. Prefetch off: after the
//   router, pull the routed remote experts (their expected number) and wait.
//
// DEP's exchange is an all-to-all (TensorRT-LLM) or an allgather + reduce-scatter (SGLang's
// DP-attention EP baseline): `depDispatch`, bytes from cost-model.ts (depPhaseBytes).
//
// Every layer's attention is its projections (dense GEMMs) then its kernel, whose work follows
// that layer's window (the model's config.json: gpt-oss alternates sliding and full layers).
//
// Ranks are global indices; a group is a list of them. Routing is uniform unless a step carries
// hot-expert counts (`hot`: skewed routing, src/sim/routing.ts) or given per-layer expert loads
// (`loads`: the routing a run had, as data), which load DEP's owners unevenly and tile every
// grouped GEMM per expert; given loads differ per MoE layer.

import { pullIssueOrder } from '../timeline/link.ts';
import type { Placement } from '../dwdp/placement.ts';
import {
  depPhaseBytes,
  expectedExpertsTouched,
  tokenReachesRankProbability,
  type CostModel,
  type DepDispatch,
} from './cost-model.ts';
import {
  GROUPED_GEMM_TILE_M,
  depLoadsLayer,
  depSkewLoad,
  expertSlots,
  expertsTouched,
  layerLoads,
  loadSlots,
  loadTouched,
  type DepSkewLoad,
  type ExpertLoads,
} from './routing.ts';
import type { Op } from '../timeline/ops.ts';
import type { ComputeCategory } from '../timeline/categories.ts';
import { PrefetchRing, layerPlan, type PlanStep } from '../timeline/plan.ts';

/** One forward step of one rank. */
export interface RankStep {
  /** Input lengths of the requests in this rank's batch (may be empty: an idle DEP rank). */
  lengths: readonly number[];
  /** The step cannot start before this time (its last request's arrival). */
  notBeforeMs?: number;
  /** Key under which the scheduler reports the step's end (Schedule.marks). */
  mark?: string;
  /**
   * Skewed routing: hot[e] = tokens of this batch whose hot expert is e (src/sim/routing.ts).
   * Absent: uniform routing. A DEP group's steps carry it on every rank or on none.
   */
  hot?: Float64Array;
  /**
   * Given routing: per MoE layer, per expert, fractions of the layer's slots (src/sim/routing.ts,
   * the `expertLoads` scenario key). Absent: `hot` or uniform. Not together with `hot`; a DEP
   * group's steps carry the same loads on every rank or none.
   */
  loads?: ExpertLoads;
}

/** Which experts the merge copies when split weights are off (DWDP). */
export type SplitMerge = 'pulled' | 'local';
export const SPLIT_MERGES: readonly SplitMerge[] = ['pulled', 'local'];

/**
 * Bytes one merge copies: 'local' — the rank's L resident experts into their places in a
 * full-size [E, …] buffer the pulls land in (TensorRT-LLM's pre-split-weight baseline, see
 * docs/trtllm-dwdp-reference.md §5); 'pulled' — the pulled experts next to the resident ones.
 */
export function mergeBytes(how: SplitMerge, localExperts: number, pulledBytes: number, expertBytes: number): number {
  return how === 'local' ? localExperts * expertBytes : pulledBytes;
}

/**
 * Per-expert slots of one grouped GEMM, E entries, for the tiled GEMM to read at once: one
 * array reused by every call (a rack run sizes a GEMM per layer, step and rank).
 */
let slotScratch = new Float64Array(0);
const slotsOfLength = (E: number): Float64Array =>
  slotScratch.length === E ? slotScratch : (slotScratch = new Float64Array(E));

/** A rank's grouped GEMM over its own T·K slots, all E experts, under one layer's given loads f (padded tiles). */
export function loadedGemmMs(cost: CostModel, f: readonly number[], T: number): number {
  const m = cost.model;
  const slots = loadSlots(f, T, m.topK, slotsOfLength(f.length));
  return cost.expertGemmTiledMs(slots, loadTouched(f, T, m.topK), GROUPED_GEMM_TILE_M);
}

/** Each DEP owner's grouped GEMM of one layer under given loads (depLoadsLayer), padded tiles. */
export function depOwnerGemmMs(cost: CostModel, load: Pick<DepSkewLoad, 'slots' | 'touched'>): number[] {
  return load.slots.map((sl, j) => cost.expertGemmTiledMs(sl, load.touched[j], GROUPED_GEMM_TILE_M));
}

/**
 * DWDP's grouped GEMM of each of `layers` MoE layers over a rank's own T·K slots (all E
 * experts): uniform, skewed or given loads. Each distinct GEMM is sized once: uniform and
 * skewed routing give every MoE layer of a step the same one, given loads repeat with their
 * period (layer k reads loads[k mod L]).
 */
function dwdpGemmsMs(cost: CostModel, T: number, step: RankStep, layers: number): number[] {
  const m = cost.model;
  if (step.loads && step.hot) throw new Error('programs: a step carries both hot-expert counts and given expert loads');
  const out = new Array<number>(layers);
  if (step.loads) {
    const L = step.loads.length;
    for (let k = 0; k < layers; k++) out[k] = k < L ? loadedGemmMs(cost, layerLoads(step.loads, k), T) : out[k - L];
    return out;
  }
  const one = step.hot
    ? cost.expertGemmTiledMs(
        expertSlots(m, step.hot, T, slotsOfLength(m.experts)),
        expertsTouched(m, step.hot, T),
        GROUPED_GEMM_TILE_M,
      )
    : cost.expertGemmMs(T * m.topK, expectedExpertsTouched(m.experts, m.topK, T));
  return out.fill(one);
}

export interface DwdpOptions {
  /** Who holds what (only the group size, E and P are read; P = 0 is DP: nothing to pull). */
  placement: Pick<Placement, 'groupSize' | 'experts' | 'pull'>;
  contentionFix: boolean;
  /** Grouped GEMM reads the resident shard and each peer's buffer in place (default true). */
  splitWeights?: boolean;
  /** Prefetch slots (ping-pong = 2). */
  prefetchDepth?: number;
  /** Prefetch every remote expert into the slots (default, the paper), or pull the routed ones after routing. */
  prefetch?: boolean;
  /** Split weights off: what the merge copies (default 'local', TensorRT-LLM's baseline). */
  splitMerge?: SplitMerge;
}

/** DWDP's program options from a run's knobs (one mapping for the step experiment and the serving run). */
export function dwdpOptions(
  placement: DwdpOptions['placement'],
  k: Pick<DwdpOptions, 'contentionFix' | 'splitWeights' | 'prefetchDepth' | 'prefetch' | 'splitMerge'>,
): DwdpOptions {
  const { contentionFix, splitWeights, prefetchDepth, prefetch, splitMerge } = k;
  return { placement, contentionFix, splitWeights, prefetchDepth, prefetch, splitMerge };
}

export interface DepOptions {
  /** How the group exchanges activations (default 'all-to-all'). */
  dispatch?: DepDispatch;
}

/** Durations of one step's ops on one rank (the same for every layer of a kind). */
interface StepCosts {
  T: number;
  /** Attention projections (dense GEMMs), the same on every layer. */
  attentionProjections: number;
  /** The attention kernel of each layer (its sliding window). */
  attentionCore: number[];
  misc: number;
  dense: number;
  /** The router's logits GEMM (dense) and its top-k selection (others). */
  routerLogits: number;
  routerSelect: number;
  shared: number;
  combine: number;
  lmHead: number;
}

function stepCosts(cost: CostModel, lengths: readonly number[]): StepCosts {
  const T = lengths.reduce((s, x) => s + x, 0);
  // One kernel time per distinct window (gpt-oss: sliding 128 and full).
  const byWindow = new Map<number | null, number>();
  const attentionCore = cost.model.attention.windows.map((w) => {
    if (!byWindow.has(w)) byWindow.set(w, cost.attentionCoreMs(lengths, w));
    return byWindow.get(w)!;
  });
  return {
    T,
    attentionProjections: cost.attentionProjectionsMs(T),
    attentionCore,
    misc: cost.layerMiscMs(T),
    dense: cost.denseMlpMs(T),
    routerLogits: cost.routerLogitsMs(T),
    routerSelect: cost.routerSelectMs(T),
    shared: cost.sharedExpertMs(T),
    combine: cost.combineMs(T),
    lmHead: cost.lmHeadMs(T, lengths.length),
  };
}

const compute = (ops: Op[], label: string, category: ComputeCategory, durationMs: number, layer?: number) => {
  if (durationMs > 0) ops.push({ kind: 'compute', label, category, durationMs, layer });
};

/** Attention (projections are dense GEMMs, the kernel is attention) and the per-layer elementwise work, plus the dense MLP on dense layers. */
function layerHead(ops: Op[], c: StepCosts, l: number, dense: boolean): void {
  compute(ops, 'attention projections', 'dense', c.attentionProjections, l);
  compute(ops, 'attention', 'attention', c.attentionCore[l], l);
  compute(ops, 'norms', 'other', c.misc, l);
  if (dense) compute(ops, 'dense MLP', 'dense', c.dense, l);
}

/**
 * The steps every strategy models alike on its own rank: attention and norms, routing, the
 * shared expert, the grouped GEMM (`gemmMs`, which each strategy sizes itself) and the combine
 * of layer l. Returns false for any other step, which the caller models itself.
 */
function localStep(ops: Op[], c: StepCosts, st: PlanStep, l: number, gemmMs: number): boolean {
  switch (st) {
    case 'attention':
      layerHead(ops, c, l, false);
      return true;
    case 'router':
      compute(ops, 'router logits', 'dense', c.routerLogits, l);
      compute(ops, 'router top-k', 'router', c.routerSelect, l);
      return true;
    case 'sharedExpert':
      compute(ops, 'shared expert', 'dense', c.shared, l);
      return true;
    case 'groupedGemm':
      compute(ops, 'grouped GEMM', 'gemm', gemmMs, l);
      return true;
    case 'combine':
      compute(ops, 'combine', 'combine', c.combine, l);
      return true;
    default:
      return false;
  }
}

function stepTail(ops: Op[], c: StepCosts, step: RankStep): void {
  compute(ops, 'embed + LM head', 'other', c.lmHead);
  // A zero-length marker so the step's end is reported even when the tail costs nothing.
  ops.push({ kind: 'compute', label: 'end of step', category: 'other', durationMs: 0, mark: step.mark });
}

/** DWDP programs for one group: `steps[i]` are the forward steps of rank `group[i]`. */
export function dwdpPrograms(
  cost: CostModel,
  group: readonly number[],
  steps: readonly (readonly RankStep[])[],
  o: DwdpOptions,
): Op[][] {
  const m = cost.model;
  const N = group.length;
  if (o.placement.groupSize !== N)
    throw new Error(`dwdp programs: placement is for ${o.placement.groupSize} ranks, group has ${N}`);
  if (o.placement.experts !== m.experts)
    throw new Error(`dwdp programs: placement has E=${o.placement.experts}, model has ${m.experts}`);
  const depth = o.prefetchDepth ?? 2;
  if (!(Number.isInteger(depth) && depth >= 1))
    throw new Error(`dwdp programs: prefetch depth must be a positive integer, got ${depth}`);
  const split = o.splitWeights ?? true;
  const moe = m.layers.moeLayerIndices;
  const isMoe = new Set(moe);
  const perPeer = o.placement.pull * cost.expertBytes;
  const remoteBytes = (N - 1) * perPeer;
  const localExperts = m.experts - (N - 1) * o.placement.pull;

  const prefetch = o.prefetch ?? true;
  const plan = layerPlan('dwdp', { prefetch, splitWeights: split, pulls: perPeer > 0, exchange: false });

  return group.map((rank, i) => {
    const ops: Op[] = [];
    const peers = pullIssueOrder(rank, group, o.contentionFix);
    // Integer pull ids (step, layer, peer) and plain loops: a rack's programs hold ~10⁶ ops.
    const pullId = (s: number, l: number, p: number) => (s * m.layers.total + l) * MAX_RANKS + p;
    const ids = (s: number, l: number): number[] => {
      const out: number[] = [];
      for (const p of peers) out.push(pullId(s, l, p));
      return out;
    };
    const pull = (s: number, k: number, bytes: number) => {
      const l = moe[k];
      for (const p of peers) ops.push({ kind: 'pull', id: pullId(s, l, p), from: p, bytes, layer: l });
    };
    steps[i].forEach((step, s) => {
      if (step.notBeforeMs !== undefined) ops.push({ kind: 'notBefore', atMs: step.notBeforeMs });
      const c = stepCosts(cost, step.lengths);
      // Every rank computes the routed experts of its own T·K token slots over all E experts.
      const gemms = dwdpGemmsMs(cost, c.T, step, moe.length);
      // Without prefetch a peer sends only the routed ones among its P experts (expected count).
      const routedPerPeer = expectedExpertsTouched(m.experts, m.topK, c.T, o.placement.pull) * cost.expertBytes;
      const pulled = prefetch ? remoteBytes : (N - 1) * routedPerPeer;
      const merge = split
        ? 0
        : cost.copyMs(mergeBytes(o.splitMerge ?? 'local', localExperts, pulled, cost.expertBytes));
      const ring = prefetch ? new PrefetchRing(moe.length, depth) : null;
      const issue = (k: number) => {
        ring!.issue(k);
        pull(s, k, perPeer);
      };
      if (ring && perPeer > 0) for (const k of ring.prologue()) issue(k);
      let k = 0;
      for (let l = 0; l < m.layers.total; l++) {
        if (!isMoe.has(l)) {
          layerHead(ops, c, l, true);
          continue;
        }
        for (const st of plan) {
          switch (st) {
            case 'pullRouted':
              pull(s, k, routedPerPeer);
              break;
            case 'waitPull':
              ops.push({ kind: 'waitPull', ids: ids(s, l), layer: l });
              ring?.read(k); // read-after-write: the GEMM reads the slot only after its pull landed
              break;
            case 'merge':
              compute(ops, 'merge weights', 'merge', merge, l);
              break;
            case 'issuePull': {
              // write-after-read: MoE layer k's GEMM is done with its slot; its next tenant is issued.
              const next = ring!.release(k);
              if (next !== null) issue(next);
              break;
            }
            default:
              if (!localStep(ops, c, st, l, gemms[k]))
                throw new Error(`dwdp programs: step '${st}' is not a DWDP step`);
          }
        }
        k++;
      }
      stepTail(ops, c, step);
    });
    return ops;
  });
}

/** DP: every rank holds all E experts; DWDP's layer with nothing to pull, wait for or merge. */
export function dpPrograms(cost: CostModel, group: readonly number[], steps: readonly (readonly RankStep[])[]): Op[][] {
  const placement = { groupSize: group.length, experts: cost.model.experts, pull: 0 };
  return dwdpPrograms(cost, group, steps, { placement, contentionFix: false, splitWeights: true });
}

/** Hands out blocks of integer ids for sends and barriers, unique across every group built with it. */
export class IdSpace {
  private next = 0;
  take(n: number): number {
    const base = this.next;
    this.next += n;
    return base;
  }
}

/** Ranks are below this (pull ids pack a peer rank into their low digits). */
export const MAX_RANKS = 1024;

/**
 * DEP programs for one group; every rank must have the same number of steps (empty batches
 * allowed). Build all groups of one simulation with the same `ids`.
 */
export function depPrograms(
  cost: CostModel,
  group: readonly number[],
  steps: readonly (readonly RankStep[])[],
  ids = new IdSpace(),
  o: DepOptions = {},
): Op[][] {
  const m = cost.model;
  const N = group.length;
  const nSteps = steps[0]?.length ?? 0;
  if (steps.some((st) => st.length !== nSteps))
    throw new Error('dep programs: every rank of a DEP group runs the same number of steps');
  const moe = new Set(m.layers.moeLayerIndices);
  const reach = N > 1 ? tokenReachesRankProbability(m.experts, m.topK, N) : 0;
  const p = cost.precision;
  // Per (step, layer): one barrier id, then N·N dispatch and N·N combine ids (a → b at a·N + b).
  const blocks = Array.from({ length: nSteps }, () => m.layers.moeLayerIndices.map(() => ids.take(1 + 2 * N * N)));
  const collective = cost.efficiency.collectiveUs / 1000;
  const costs = steps.map((st) => st.map((step) => stepCosts(cost, step.lengths)));
  // Each step's token counts, by group index.
  const stepTs = Array.from({ length: nSteps }, (_, s) => costs.map((cs) => cs[s].T));
  const plan = layerPlan('dep', { prefetch: false, splitWeights: true, pulls: false, exchange: N > 1 });
  const dispatch = o.dispatch ?? 'all-to-all';
  // Per step and MoE layer: each rank's grouped GEMM and the rows each pair exchanges (rows[a][b]: a → b).
  const layerLoad = (s: number): ((k: number) => { gemm: number[]; rows: number[][] }) => {
    const given = steps.map((st) => st[s].loads);
    if (given[0] !== undefined) {
      if (given.some((g) => g !== given[0]) || steps.some((st) => st[s].hot))
        throw new Error(
          `dep programs: step ${s} must carry the same expert loads on every rank, and no hot-expert counts`,
        );
      const Ts = stepTs[s];
      // One load per period of the given loads (MoE layer k reads loads[k mod L]), read by every layer with it.
      const L = given[0]!.length;
      const perPeriod = Array.from({ length: Math.min(L, m.layers.moeLayerIndices.length) }, (_, k) => {
        const load = depLoadsLayer(m, layerLoads(given[0]!, k), Ts);
        return {
          gemm: depOwnerGemmMs(cost, load),
          rows: load.rows,
        };
      });
      return (k) => perPeriod[k % L];
    }
    if (given.some((g) => g !== undefined))
      throw new Error(`dep programs: step ${s} carries expert loads on some ranks only`);
    const one = stepLoad(s);
    return () => one;
  };
  const stepLoad = (s: number) => {
    const Ts = stepTs[s];
    const hot = steps.map((st) => st[s].hot);
    if (hot.every((h) => h !== undefined)) {
      const load = depSkewLoad(m, hot as Float64Array[], Ts);
      return {
        gemm: depOwnerGemmMs(cost, load),
        rows: load.rows,
      };
    }
    if (hot.some((h) => h !== undefined))
      throw new Error(`dep programs: step ${s} carries hot-expert counts on some ranks only`);
    // Uniform routing: tokens routed to each rank's E/N experts from every rank.
    const totalT = Ts.reduce((a, b) => a + b, 0);
    const g = cost.expertGemmMs(
      (totalT * m.topK) / N,
      expectedExpertsTouched(m.experts, m.topK, totalT, m.experts / N),
    );
    return { gemm: Ts.map(() => g), rows: Ts.map((T) => Ts.map(() => T * reach)) };
  };
  const loads = Array.from({ length: nSteps }, (_, s) => layerLoad(s));
  // Per (step, MoE layer): the mean straggler delay, from each rank's nominal compute of the layer
  // (attention, norms, router, grouped GEMM, shared expert, combine: the work since the previous dispatch).
  const straggle = costs[0].map((_, s) =>
    m.layers.moeLayerIndices.map((l, k) => {
      const gemms = loads[s](k).gemm;
      return cost.straggleMs(
        costs.map((cs, i) => {
          const c = cs[s];
          return (
            c.attentionProjections +
            c.attentionCore[l] +
            c.misc +
            c.routerLogits +
            c.routerSelect +
            c.shared +
            c.combine +
            gemms[i]
          );
        }),
      );
    }),
  );

  return group.map((rank, i) => {
    const ops: Op[] = [];
    const peers = group.filter((q) => q !== rank);
    const local = peers.map((q) => group.indexOf(q));
    // One phase of the all-to-all: a send to each peer (group index j), id first + i·N + j, with the
    // bytes of the rows that go from their origin rank to their owner (rows[origin][owner], origin's
    // T): i's rows for j on the dispatch, j's rows coming back from i on the return.
    const sends = (phase: 'dispatch' | 'return', first: number, l: number, rows: number[][], Ts: number[]) => {
      for (let x = 0; x < peers.length; x++) {
        const j = local[x];
        const origin = phase === 'dispatch' ? i : j;
        const owner = phase === 'dispatch' ? j : i;
        ops.push({
          kind: 'send',
          id: first + i * N + j,
          to: peers[x],
          bytes: depPhaseBytes(dispatch, phase, rows[origin][owner], Ts[origin], m.hidden, p),
          layer: l,
        });
      }
    };
    for (let s = 0; s < nSteps; s++) {
      const step = steps[i][s];
      if (step.notBeforeMs !== undefined) ops.push({ kind: 'notBefore', atMs: step.notBeforeMs });
      const c = costs[i][s];
      const Ts = stepTs[s];
      let k = 0;
      for (let l = 0; l < m.layers.total; l++) {
        if (!moe.has(l)) {
          layerHead(ops, c, l, true);
          continue;
        }
        // Ids: barrier = base, dispatch a → b = d0 + a·N + b, combine a → b = c0 + a·N + b.
        const base = blocks[s][k];
        const d0 = base + 1;
        const c0 = base + 1 + N * N;
        const { gemm: gemms, rows } = loads[s](k);
        const gemm = gemms[i];
        for (const st of plan) {
          switch (st) {
            case 'dispatch':
              // Stragglers: each rank's layer takes a random extra time; the dispatch waits for the slowest.
              ops.push(
                straggle[s][k] > 0
                  ? { kind: 'barrier', id: base, layer: l, straggleMs: straggle[s][k] }
                  : { kind: 'barrier', id: base, layer: l },
              );
              compute(ops, 'dispatch', 'collective', collective, l);
              sends('dispatch', d0, l, rows, Ts);
              break;
            case 'waitDispatch':
              ops.push({ kind: 'waitRecv', ids: recvIds(d0, local, N, i), layer: l });
              break;
            case 'return':
              compute(ops, 'combine-send', 'collective', collective, l);
              sends('return', c0, l, rows, Ts);
              break;
            case 'waitReturn':
              ops.push({ kind: 'waitRecv', ids: recvIds(c0, local, N, i), layer: l });
              break;
            default:
              if (!localStep(ops, c, st, l, gemm)) throw new Error(`dep programs: step '${st}' is not a DEP step`);
          }
        }
        k++;
      }
      stepTail(ops, c, step);
    }
    return ops;
  });
}

/** Ids of the sends rank i of a group of N receives from its peers (group indices `from`), a → b at base + a·N + b. */
function recvIds(base: number, from: readonly number[], N: number, i: number): number[] {
  // (A loop, not a map: this runs twice per rank and MoE layer, ~10⁵ times for a rack.)
  const ids = new Array<number>(from.length);
  for (let x = 0; x < from.length; x++) ids[x] = base + from[x] * N + i;
  return ids;
}

/** One step's pulls alone (no compute): what the link needs to move a step's remote experts. */
export function prefetchOnlyPrograms(cost: CostModel, group: readonly number[], o: DwdpOptions): Op[][] {
  const moe = cost.model.layers.moeLayerIndices;
  const perPeer = o.placement.pull * cost.expertBytes;
  return group.map((rank) => {
    const peers = pullIssueOrder(rank, group, o.contentionFix);
    const ops: Op[] = [];
    if (perPeer === 0) return ops;
    const ids: number[] = [];
    for (const l of moe) {
      for (const p of peers) {
        ids.push(l * MAX_RANKS + p);
        ops.push({ kind: 'pull', id: l * MAX_RANKS + p, from: p, bytes: perPeer, layer: l });
      }
    }
    ops.push({ kind: 'waitPull', ids });
    return ops;
  });
}
