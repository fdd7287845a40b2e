// The modeled source: the same comparison as the emulation, computed by the rack-scale model
// (src/sim: roofline cost model on a hardware profile + the virtual-time scheduler) instead
// of kernels measured here. Needs no GPU, so the page still works without WebGPU.
//
// The result has the shape of a measured group run (GroupRunResult), so every view and
// exporter serves both; timeSource and adapter say plainly that it is modeled.
//
// Differences from the emulation, said in the page's warnings: the model runs the model's
// full depth (not the `layers` field), a skewed token's hot expert is counted as one of its K
// (the emulation only pushes its router logits toward it), and DP is DWDP's program
// with a full replica (P = 0, no pulls). Both follow the same step plans (src/timeline/plan.ts).
import { makePlacement } from '../dwdp/placement.ts';
import { runStepRow, stepBatches, type StepParams } from '../sim/experiment.ts';
import { getProfile } from '../hardware/profiles.ts';
import { calibrationText } from '../hardware/efficiency.ts';
import type { LinkEngineClass, Schedule } from '../timeline/scheduler.ts';
import { adapterText, timeSourceText, type Provenance } from '../timeline/provenance.ts';
import type { GroupRunResult, RankReport, StrategyName } from '../strategies/types.ts';
import { groupRates } from '../strategies/metrics.ts';
import { lengthKeys, lengthsWithMean } from '../workload/lengths.ts';
import type { PageConfig } from './config.ts';

/**
 * Memory of one GPU against its HBM, as the rack model computes it (src/sim/experiment.ts):
 * routed experts as placed (with DWDP's prefetch buffers), everything else replicated, and
 * the KV cache of the step's longest batch. DP is DWDP's program with every expert local.
 */
export interface Capacity {
  neededBytes: number;
  capacityBytes: number;
  fits: boolean;
  /** The profile's name. */
  profile: string;
  what: string;
}

/** What the modeled source ignores or simplifies in this config, in words. */
export function modeledCaveats(c: PageConfig): string[] {
  const out = [
    `modeled over ${c.model.name}'s full depth (${c.model.layers.total} layers, ${c.model.layers.moe} MoE), not the Layers field`,
  ];
  if (c.run.routingSkew > 0)
    out.push(
      "the model counts each token's hot expert (the emulation's draw) as one of its K and its others as uniform; " +
        'the emulation only pushes the router toward it',
    );
  return out;
}

/** The step parameters of a config (one forward step, as the emulation runs). */
export function stepParams(c: PageConfig, strategy: StrategyName): StepParams {
  if (!c.profile) throw new Error('the modeled source needs a hardware profile');
  const E = c.model.experts;
  const N = c.run.ranks;
  // DP: a full replica on every rank is the DWDP program with nothing to pull.
  const dp = strategy === 'dp';
  return {
    profile: getProfile(c.profile),
    model: c.model,
    format: c.run.format,
    // The run's law, as the emulation draws it, so both sources of the page serve the same requests for a seed.
    ...lengthKeys(lengthsWithMean(c.run.lengthLaw, c.run.tokensPerRank / c.run.requestsPerRank, c.run.lengthCv)),
    batch: c.run.requestsPerRank,
    groupSize: N,
    steps: 1,
    seed: c.run.seed,
    contentionFix: c.run.link.contentionFix,
    splitWeights: c.run.dwdp.splitWeights,
    prefetchDepth: c.run.dwdp.prefetchDepth,
    prefetch: c.run.dwdp.prefetch,
    linkGBps: c.run.link.gbps,
    local: dp ? E : c.run.dwdp.local,
    pull: dp ? 0 : c.run.dwdp.pull,
    routingSkew: c.run.routingSkew,
  };
}

/** How the page's modeled runs are computed: the link engine (default the scheduler's; a benchmark times the previous one). */
export interface ModeledRunOptions {
  linkEngine?: LinkEngineClass;
}

// runStepRow models DEP and DWDP together: keep the last few so a comparison computes each once.
const recent = new Map<string, ReturnType<typeof runStepRow>>();
const runKey = (p: StepParams, o: ModeledRunOptions) =>
  JSON.stringify({ ...p, profile: p.profile.id, model: p.model.raw, engine: o.linkEngine?.name });
/**
 * The row of `p`, from the recent runs or modeled now; `depOf`, where given, supplies its DEP
 * schedule already modeled, and is called only when the row is modeled now (a recent row needs none).
 */
function stepRun(p: StepParams, o: ModeledRunOptions, depOf?: () => Schedule): ReturnType<typeof runStepRow> {
  const key = runKey(p, o);
  let run = recent.get(key);
  if (!run) {
    const dep = depOf?.();
    // One copy span per transfer: the page draws no finer (compact.ts), and a 64-rank step's
    // pieces would not fit in memory.
    run = runStepRow(p, { intervals: true, copySpans: 'transfers', linkEngine: o.linkEngine, dep });
    recent.set(key, run);
    if (recent.size > 4) recent.delete(recent.keys().next().value!);
  }
  return run;
}

/** Forget the recent runs (a benchmark times each comparison from scratch, as a fresh page computes it). */
export function forgetModeledRuns(): void {
  recent.clear();
}

/** One strategy of the comparison, modeled. */
export function modeledRun(
  c: PageConfig,
  strategy: StrategyName,
  o: ModeledRunOptions = {},
): GroupRunResult & { capacity: Capacity } {
  const p = stepParams(c, strategy);
  // DP is DWDP's program with a full replica: its row differs from DEP's and DWDP's (one row,
  // the same parameters) only in L and P, which DEP does not read. When the comparison models
  // DEP or DWDP too, that row is modeled (or recent) anyway: DP's row reuses its DEP schedule.
  const comparedDep =
    strategy === 'dp' && c.strategies.some((s) => s !== 'dp') ? () => stepRun(stepParams(c, 'dwdp'), o).dep : undefined;
  const run = stepRun(p, o, comparedDep);
  const s: Schedule = strategy === 'dep' ? run.dep : run.dwdp;
  const batches = stepBatches({ ...p, experts: p.model.experts });
  const N = p.groupSize;
  const E = c.model.experts;
  const moeLayers = c.model.layers.moe;
  const bytes = run.cost.expertBytes;
  const placement = strategy === 'dwdp' ? run.placement : strategy === 'dp' ? makePlacement(E, N, E, 0) : undefined;
  const mem = placement?.memory(bytes, moeLayers, p.prefetchDepth);
  const ranks: RankReport[] = s.ranks.map((m) => {
    const lengths = batches[m.rank].flatMap((st) => [...st.lengths]);
    return {
      ...m,
      tokens: lengths.reduce((a, b) => a + b, 0),
      requestLengths: lengths,
      // DEP holds E/N experts per rank and no prefetch buffers.
      residentWeightBytes: mem ? mem.residentBytes : (E / N) * bytes * moeLayers,
      prefetchBufferBytes: mem && strategy === 'dwdp' ? mem.prefetchBytes : 0,
    };
  });
  const profile = p.profile;
  const provenance: Provenance = {
    kind: 'modeled',
    profile: profile.id,
    profileName: profile.name,
    calibration: calibrationText(profile),
  };
  return {
    strategy,
    clock: 'virtual',
    rankMode: c.run.rankMode,
    ranks,
    makespanMs: s.makespanMs,
    ...groupRates(ranks, s.makespanMs),
    hiddenPullFraction: s.hiddenPullFraction,
    intervals: s.intervals,
    replicaWeightBytes: E * bytes * moeLayers,
    bytesPerExpert: bytes,
    placement: placement && { local: placement.local, pull: placement.pull },
    link: {
      // What the run's transfers reach: DEP's all-to-all, the others' one-sided pulls.
      gbps: run.cost.linkGBps * run.cost.efficiency[strategy === 'dep' ? 'allToAll' : 'link'],
      latencyUs: profile.linkLatencyUs,
      contentionFix: p.contentionFix,
    },
    provenance,
    timeSource: timeSourceText(provenance),
    adapter: adapterText(provenance),
    capacity: {
      neededBytes: (strategy === 'dep' ? run.row.memoryGB.dep : run.row.memoryGB.dwdp) * 1e9,
      capacityBytes: profile.hbmCapacityGB * 1e9,
      fits: strategy === 'dep' ? run.row.fits.dep : run.row.fits.dwdp,
      profile: profile.name,
      what: 'weights + KV cache',
    },
  };
}
