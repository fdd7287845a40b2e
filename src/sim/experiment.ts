// One row of a rack-model sweep: a DWDP group and a DEP group of the same size run the same
// per-rank batches (same seed) for a few forward steps; the scheduler gives every rank's
// timeline, and the row reports per-step times of one rank (averaged over ranks and steps).
//
//   tCompute    DWDP compute per step (everything but waiting)
//   tPrefetch   the time the link needs to pull one step's remote experts with nothing else
//               running (the same group, contention setting and link model)
//   tDep/tDwdp  wall time per step; depOverDwdp > 1 means DWDP is faster
//   breakdown   where a step's time goes, adding up to tDep / tDwdp:
//               attention (the attention kernel), groupedGemm, denseGemm (attention projections,
//               dense MLPs, shared expert, router logits), others (router top-k, norms, RoPE, quantize,
//               permute, combine, weight merge, embed/LM head), communication (DEP
//               all-to-all transfer + its fixed cost), synchronization (waiting for slower
//               peers), p2pExposed (DWDP stream blocked on pulls: the exposed part of the
//               prefetch); plus p2pBusy (the copy stream's busy time, outside the sum)

import { makePlacement, type Placement } from '../dwdp/placement.ts';
import type { MoeConfig } from '../model/config.ts';
import type { WeightFormat } from '../model/formats.ts';
import { loadPreset } from '../model/presets.ts';
import { CostModel } from './cost-model.ts';
import type { Efficiency } from '../hardware/efficiency.ts';
import type { HardwareProfile } from '../hardware/profiles.ts';
import { depPrograms, dwdpOptions, dwdpPrograms, prefetchOnlyPrograms, type RankStep } from './programs.ts';
import { simulate, type RankMetrics, type Schedule, type SimulateOptions } from '../timeline/scheduler.ts';
import { breakdownOf, zeroBreakdown, type Breakdown } from '../timeline/categories.ts';
import { drawBatches, fillBatches, type LengthDist, type LengthLaw } from '../workload/lengths.ts';
import { HotExperts } from '../workload/skew.ts';
import type { DepDispatch } from './cost-model.ts';
import type { SplitMerge } from './programs.ts';
import { expertLoadsProblem, isSkewed, type ExpertLoads } from './routing.ts';

/** The DWDP and link knobs every modeled experiment takes (steps, scenarios, serving). */
export interface DwdpKnobs {
  groupSize: number;
  seed: number;
  contentionFix: boolean;
  splitWeights: boolean;
  prefetchDepth: number;
  /** DWDP prefetches every remote expert into the slots (default, the paper) or pulls the routed ones after routing. */
  prefetch?: boolean;
  /** Link bandwidth per direction (GB/s, before efficiency); default: the profile's. */
  linkGBps?: number;
  /** DWDP L and P; default the minimal-memory choice. */
  local?: number;
  pull?: number;
  efficiency?: Partial<Efficiency>;
  /** Split weights off: what the merge copies (default 'local', TensorRT-LLM's baseline). */
  splitMerge?: SplitMerge;
  /** DEP's exchange: 'all-to-all' (TensorRT-LLM, the default) or 'allgather' (SGLang's DP-attention EP). */
  depDispatch?: DepDispatch;
  /** Zipf exponent of hot experts (src/sim/routing.ts); 0 or absent: uniform routing. */
  routingSkew?: number;
  /**
   * Given routing (src/sim/routing.ts): per MoE layer, per expert, fractions of the layer's slots,
   * cycled over the model's MoE layers; replaces uniform and skewed routing (not with routingSkew).
   */
  expertLoads?: ExpertLoads;
  /** Copy interference (efficiency.interference) on (default) or off. */
  interference?: boolean;
  /** Stragglers at DEP's dispatch (efficiency.straggle) on (default) or off. */
  straggle?: boolean;
  /** Roofline mode (src/hardware/efficiency.ts ROOFLINE_EFFICIENCY): the work over the profile's peaks, nothing calibrated. */
  roofline?: boolean;
}

/** The cost model a run's knobs ask for (one mapping for the step experiment and the serving run). */
export function knobsCostModel(p: DwdpKnobs & Pick<StepParams, 'profile' | 'model' | 'format'>): CostModel {
  return new CostModel({
    model: p.model,
    profile: p.profile,
    format: p.format,
    efficiency: p.efficiency,
    linkGBps: p.linkGBps,
    interference: p.interference,
    straggle: p.straggle,
    roofline: p.roofline,
  });
}

export interface StepParams extends DwdpKnobs {
  profile: HardwareProfile;
  model: MoeConfig;
  format: WeightFormat;
  /**
   * Input lengths (src/workload/lengths.ts): `lengthLaw` 'lognormal' (the default) or 'gamma'
   * with mean `isl` and CV `cv` across requests (and so across ranks), or 'uniform-ratio'
   * (TensorRT-LLM's convention: uniform in [islRatio·isl, isl], `isl` the longest; `cv` unused).
   */
  isl: number;
  cv: number;
  lengthLaw?: LengthLaw;
  islRatio?: number;
  /** Requests per rank per step (when neither cap below is given). */
  batch: number;
  steps: number;
  /**
   * Batches filled from one request queue up to these caps (src/workload/lengths.ts, fillBatches)
   * instead of `batch` requests each: ranks then carry different request counts and tokens.
   */
  maxTokensPerBatch?: number;
  maxBatchRequests?: number;
}

export interface StepRow {
  isl: number;
  batch: number;
  groupSize: number;
  tCompute: number;
  tPrefetch: number;
  computeOverPrefetch: number;
  tDep: number;
  tDwdp: number;
  depOverDwdp: number;
  breakdown: { dep: Breakdown; dwdp: Breakdown };
  // Beyond the fields the step row's JSON contract names: what the row varied, and what else is worth seeing.
  cv: number;
  format: WeightFormat;
  /** Roofline mode: the row's times are its work over the profile's peaks, nothing calibrated. */
  roofline: boolean;
  contentionFix: boolean;
  linkGBps: number;
  dwdpLocal: number;
  dwdpPull: number;
  tpsPerGpu: { dep: number; dwdp: number };
  hiddenPullFraction: number;
  /** Weights + KV cache of one rank, GB, and whether that fits the profile's HBM. */
  memoryGB: { dep: number; dwdp: number };
  fits: { dep: boolean; dwdp: boolean };
}

export const DEFAULT_STEP_PARAMS = {
  format: 'nvfp4' as WeightFormat,
  isl: 8192,
  cv: 0,
  batch: 1,
  groupSize: 4,
  steps: 4,
  seed: 1,
  contentionFix: true,
  splitWeights: true,
  prefetchDepth: 2,
};

let r1: MoeConfig | undefined;
/** DeepSeek-R1's published shape (src/model/hf/deepseek_v3.json). */
export function deepseekR1(): MoeConfig {
  r1 ??= loadPreset('deepseek-r1');
  return r1;
}

/** The law of a step's request lengths. */
export function stepLengths(p: Pick<StepParams, 'isl' | 'cv' | 'lengthLaw' | 'islRatio'>): LengthDist {
  const law = p.lengthLaw ?? 'lognormal';
  return law === 'uniform-ratio' ? { law, isl: p.isl, islRatio: p.islRatio ?? 1 } : { law, mean: p.isl, cv: p.cv };
}

/**
 * Per-rank batches: `steps` steps of `batch` requests each, drawn by the generator the emulation
 * uses (same seed and law, same requests: rank r's first step is the emulated rank r's batch);
 * or, when `maxTokensPerBatch` or `maxBatchRequests` is given, filled from one request queue up
 * to both caps (fillBatches). With routing skew, each step carries its hot-expert counts: the
 * seed's hot-expert draws (the emulation's, src/workload/skew.ts), step by step and rank by rank
 * over the tokens in order, so step 0 sees the emulated group's stacked tokens.
 */
export function stepBatches(
  p: Pick<StepParams, 'isl' | 'cv' | 'lengthLaw' | 'islRatio' | 'batch' | 'groupSize' | 'steps' | 'seed'> &
    Partial<Pick<StepParams, 'maxTokensPerBatch' | 'maxBatchRequests' | 'routingSkew' | 'expertLoads'>> & {
      experts?: number;
      moeLayers?: number;
    },
): RankStep[][] {
  const queued = p.maxTokensPerBatch !== undefined || p.maxBatchRequests !== undefined;
  const spec = { seed: p.seed, ranks: p.groupSize, steps: p.steps, lengths: stepLengths(p) };
  const lengths = queued
    ? fillBatches({ ...spec, maxTokens: p.maxTokensPerBatch, maxRequests: p.maxBatchRequests })
    : drawBatches({ ...spec, batch: p.batch });
  const steps: RankStep[][] = lengths.map((rank) => rank.map((l) => ({ lengths: l })));
  if (p.expertLoads !== undefined) {
    if (isSkewed(p.routingSkew))
      throw new Error('step batches: expertLoads and routingSkew both set the routing: give one');
    if (p.experts === undefined) throw new Error('step batches: expert loads need the model’s expert count');
    const problem = expertLoadsProblem(p.expertLoads, p.experts, p.moeLayers ?? Infinity);
    if (problem) throw new Error(`expertLoads ${problem}`);
    for (const rank of steps) for (const st of rank) st.loads = p.expertLoads;
  } else if (isSkewed(p.routingSkew)) {
    if (p.experts === undefined) throw new Error('step batches: routing skew needs the model’s expert count');
    const hot = new HotExperts(p.experts, p.routingSkew!, p.seed);
    for (let s = 0; s < p.steps; s++)
      for (const rank of steps) rank[s].hot = hot.counts(rank[s].lengths.reduce((a, b) => a + b, 0));
  }
  return steps;
}

/** Mean over ranks of each category divided by `per` (steps). */
export function meanBreakdown(ms: readonly RankMetrics[], per: number): Breakdown {
  const out = zeroBreakdown();
  for (const m of ms) {
    const b = breakdownOf(m);
    for (const k of Object.keys(out) as (keyof Breakdown)[]) out[k] += b[k] / (ms.length * per);
  }
  return out;
}

export interface StepRun {
  row: StepRow;
  dep: Schedule;
  dwdp: Schedule;
  cost: CostModel;
  placement: Placement;
}

/** Run one row: DEP and DWDP over the same batches. */
export function runStepRow(
  p: StepParams,
  opts: Pick<SimulateOptions, 'intervals' | 'copySpans' | 'linkEngine'> & {
    /**
     * DEP's schedule of this same step, where the caller has it: DEP's programs read the cost
     * model, the group, the batches and the link, never DWDP's placement, so two rows that
     * differ only in `local`/`pull` (the page's DWDP and DP) share one DEP run.
     */
    dep?: Schedule;
  } = {},
): StepRun {
  const cost = knobsCostModel(p);
  const placement = makePlacement(p.model.experts, p.groupSize, p.local, p.pull);
  const group = Array.from({ length: p.groupSize }, (_, r) => r);
  const batches = stepBatches({ ...p, experts: p.model.experts, moeLayers: p.model.layers.moe });
  const dwdpOpts = dwdpOptions(placement, p);
  const sim = {
    intervals: opts.intervals ?? false,
    copySpans: opts.copySpans,
    linkEngine: opts.linkEngine,
    ...cost.schedulerOptions(),
  };
  const dwdp = simulate(dwdpPrograms(cost, group, batches, dwdpOpts), cost.link(p.contentionFix), sim);
  const dep =
    opts.dep ??
    simulate(
      depPrograms(cost, group, batches, undefined, { dispatch: p.depDispatch }),
      cost.link(p.contentionFix, 'all-to-all'),
      sim,
    );
  const prefetch = simulate(prefetchOnlyPrograms(cost, group, dwdpOpts), cost.link(p.contentionFix), {
    intervals: false,
    linkEngine: opts.linkEngine,
  });

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const S = p.steps;
  const tDwdp = mean(dwdp.ranks.map((m) => m.endMs)) / S;
  const tDep = mean(dep.ranks.map((m) => m.endMs)) / S;
  const tCompute = mean(dwdp.ranks.map((m) => m.computeMs)) / S;
  const tPrefetch = mean(prefetch.ranks.map((m) => m.endMs));
  const tokens = batches.flat().reduce((a, st) => a + st.lengths.reduce((x, y) => x + y, 0), 0);
  const gpuMs = (s: Schedule) => s.ranks.reduce((a, m) => a + m.endMs, 0);

  // Memory of one rank: routed experts as placed, everything else replicated, KV cache of the largest step.
  const maxKv = Math.max(...batches.flat().map((st) => cost.kvCacheBytes(st.lengths)));
  const moeLayers = p.model.layers.moe;
  const common = cost.denseWeightBytes() + maxKv;
  const dwdpBytes = placement.memory(cost.expertBytes, moeLayers, p.prefetchDepth).totalBytes + common;
  const depBytes = (p.model.experts / p.groupSize) * cost.expertBytes * moeLayers + common;
  const cap = p.profile.hbmCapacityGB * 1e9;

  const row: StepRow = {
    isl: p.isl,
    // Queue-filled batches: the mean requests per rank-step.
    batch: batches.flat().reduce((a, st) => a + st.lengths.length, 0) / (p.groupSize * S),
    groupSize: p.groupSize,
    tCompute,
    tPrefetch,
    computeOverPrefetch: tPrefetch > 0 ? tCompute / tPrefetch : Infinity,
    tDep,
    tDwdp,
    depOverDwdp: tDep / tDwdp,
    breakdown: { dep: meanBreakdown(dep.ranks, S), dwdp: meanBreakdown(dwdp.ranks, S) },
    cv: p.cv,
    format: p.format,
    roofline: cost.roofline,
    contentionFix: p.contentionFix,
    linkGBps: cost.linkGBps,
    dwdpLocal: placement.local,
    dwdpPull: placement.pull,
    tpsPerGpu: { dep: (tokens / gpuMs(dep)) * 1000, dwdp: (tokens / gpuMs(dwdp)) * 1000 },
    hiddenPullFraction: dwdp.hiddenPullFraction,
    memoryGB: { dep: depBytes / 1e9, dwdp: dwdpBytes / 1e9 },
    fits: { dep: depBytes <= cap, dwdp: dwdpBytes <= cap },
  };
  return { row, dep, dwdp, cost, placement };
}

/**
 * One MoE layer of a step run, per rank, in steady state: the layer-wise quantities of a
 * roofline analysis such as the DWDP paper's Table 1 (docs/validation-sources.md):
 *   tCompute   DWDP's compute of the layer: its attention block and MoE block, the window that hides the pull
 *   tPrefetch  the layer's pulls alone on the link: the prefetch-only run's time ÷ MoE layers
 *   tDwdp      DWDP's wall time of the layer: its compute and its exposed wait for the pull
 *   tDep       DEP's wall time of the layer: its compute, all-to-all and synchronization
 * Each is the median over the step's MoE layers of the layer's time on a rank's compute stream
 * (mean over steps), averaged over ranks. The median is the steady state: the first MoE layers'
 * pulls also overlap the dense layers before them. The run must have recorded intervals.
 */
export interface MoeLayerTimes {
  tCompute: number;
  tPrefetch: number;
  tDwdp: number;
  tDep: number;
}

export function moeLayerTimes(run: StepRun, steps: number): MoeLayerTimes {
  const moe = run.cost.model.layers.moeLayerIndices;
  const index = new Map(moe.map((l, k) => [l, k]));
  const per = (s: Schedule, computeOnly: boolean): number => {
    if (s.intervals.length === 0)
      throw new Error('moeLayerTimes: the run recorded no intervals (run it with intervals on)');
    const byRank = new Map<number, Float64Array>();
    for (const iv of s.intervals) {
      if (iv.lane !== 'compute' || iv.layer === undefined || iv.category === 'idle') continue;
      const k = index.get(iv.layer);
      if (k === undefined) continue;
      if (computeOnly && (iv.category === 'wait' || iv.category === 'sync' || iv.category === 'comm')) continue;
      if (!byRank.has(iv.rank)) byRank.set(iv.rank, new Float64Array(moe.length));
      byRank.get(iv.rank)![k] += (iv.endMs - iv.startMs) / steps;
    }
    const medians = [...byRank.values()].map((v) => {
      v.sort(); // a Float64Array sorts numerically
      const h = v.length >> 1;
      return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
    });
    return medians.reduce((a, b) => a + b, 0) / medians.length;
  };
  return {
    tCompute: per(run.dwdp, true),
    tPrefetch: run.row.tPrefetch / moe.length,
    tDwdp: per(run.dwdp, false),
    tDep: per(run.dep, false),
  };
}
