// The target's side of a scale model (src/similarity/scale-model.ts has the maths): what the
// rack model says of the target an emulated run stands for, as plain data. The shells (CLI,
// page, benches) build it and hand it to runGroup in the options; the emulation itself never
// reaches the rack model.
//
//   tokens      T_t = T_e · (K_e/E_e) / (K_t/E_t): the same tokens per expert (DESIGN §2), in the
//               same number of requests (ISL = T_t / requests); the lengths are drawn by the one
//               generator (the run's law, same seed, one step) and divided by s = T_t/T_e.
//   per layer   the cost model's ms of each dilated category at each rank's target lengths:
//               attention = attention + norms (+ the shared expert when the emulated model has
//               none: it precedes the pull wait in both schedules), shared expert, router, combine, the grouped GEMM of a DP/DWDP rank (T_r·K slots over
//               all E experts) and of a DEP rank (ΣT·K/N over E/N), DEP's two fixed all-to-all
//               costs, the split-off merge (an HBM copy of the pulled experts).
//   interference the cost model's copy interference s (the profile's calibrated efficiency.interference),
//               which the virtual clock schedules the emulated programs with, as the rack model does.
//   routed      with the routing a run had (withRoutedTarget): the grouped GEMM per strategy, rank
//               and layer as the counterpart counts it, each expert's rows in padded tiles.
import { makePlacement } from '../dwdp/placement.ts';
import { calibrationText } from '../hardware/efficiency.ts';
import { getProfile } from '../hardware/profiles.ts';
import type { MoeConfig } from '../model/config.ts';
import { expertLayout, type WeightFormat } from '../model/formats.ts';
import { loadPreset } from '../model/presets.ts';
import { CostModel, expectedExpertsTouched, tokenReachesRankProbability } from '../sim/cost-model.ts';
import { depLoadsLayer, layerLoads } from '../sim/routing.ts';
import { depOwnerGemmMs, loadedGemmMs } from '../sim/programs.ts';
import { withRoutedLoads } from './counterpart.ts';
import { stepBatches } from '../sim/experiment.ts';
import { lengthKeys, lengthsWithMean, type LengthLaw } from '../workload/lengths.ts';
import type { GroupRunOptions } from '../options/group.ts';
import { DEFAULT_TARGET_MODEL, type ScaleTarget, type TargetSpec, type TargetWorkload } from './scale-model.ts';

/** The emulated run's shape (what the target needs of GroupRunOptions). */
export interface EmulatedShape {
  cfg: MoeConfig;
  format: WeightFormat;
  ranks: number;
  layers: number;
  tokensPerRank: number;
  requestsPerRank: number;
  lengthCv: number;
  lengthLaw: LengthLaw;
  /** Zipf exponent of hot experts (0 or absent: the router's own preferences; the model routes uniformly). */
  routingSkew?: number;
  seed: number;
  prefetch: boolean;
  prefetchDepth: number;
  splitWeights: boolean;
  contentionFix: boolean;
  /** DWDP L/P of the emulation (default: minimal memory). */
  local?: number;
  pull?: number;
}

/** The target workload of an emulated shape, and the emulated lengths that stand for it. */
export function targetWorkload(
  cfg: MoeConfig,
  e: Pick<EmulatedShape, 'cfg' | 'ranks' | 'tokensPerRank' | 'requestsPerRank' | 'lengthCv' | 'lengthLaw' | 'seed'>,
): { tokens: number; tokenScale: number; workload: TargetWorkload; emulatedLengths: number[][] } {
  const Tt = (e.tokensPerRank * (e.cfg.topK / e.cfg.experts)) / (cfg.topK / cfg.experts);
  const tokenScale = Tt / e.tokensPerRank;
  const isl = Math.max(1, Math.round(Tt / e.requestsPerRank));
  const law = lengthKeys(lengthsWithMean(e.lengthLaw, isl, e.lengthCv));
  const lengths = stepBatches({
    ...law,
    batch: e.requestsPerRank,
    groupSize: e.ranks,
    steps: 1,
    seed: e.seed,
  }).map((steps) => [...steps[0].lengths]);
  return {
    tokens: Tt,
    tokenScale,
    workload: { isl, cv: e.lengthCv, law, batch: e.requestsPerRank, groupSize: e.ranks, seed: e.seed, lengths },
    emulatedLengths: lengths.map((ls) => ls.map((x) => Math.max(1, Math.round(x / tokenScale)))),
  };
}

/** The target `spec` of emulated shape `e`, modeled. Throws naming the culprit when it cannot stand for it. */
export function scaleTarget(spec: TargetSpec, e: EmulatedShape): ScaleTarget {
  const cfg = loadPreset(spec.model);
  const cost = new CostModel({ model: cfg, profile: getProfile(spec.profile), format: e.format });
  const ce = e.cfg;
  const N = e.ranks;
  if (N > cfg.experts) throw new Error(`scale model: ${N} ranks exceed the target's ${cfg.experts} experts`);
  const { tokens: Tt, tokenScale, workload, emulatedLengths } = targetWorkload(cfg, e);
  const K = cfg.topK;
  const E = cfg.experts;

  const pe = makePlacement(ce.experts, N, e.local, e.pull);
  const pt = makePlacement(E, N);
  const reach = (m: MoeConfig) => (N > 1 ? tokenReachesRankProbability(m.experts, m.topK, N) : 0);
  const tokensOf = (ls: number[]) => ls.reduce((a, b) => a + b, 0);
  const all = tokensOf(workload.lengths.flat());
  const depGemm = cost.expertGemmMs((all * K) / N, expectedExpertsTouched(E, K, all, E / N));
  const extendable = !(e.prefetch && e.layers <= e.prefetchDepth);
  const scheduledAs = extendable ? Math.max(e.layers, cfg.layers.moe) : e.layers;
  return {
    spec,
    modelName: cfg.name,
    moeLayers: cfg.layers.moe,
    denseLayers: cfg.layers.dense,
    workload,
    tokenScale,
    emulatedLengths,
    emulatedGemmFlops: 2 * e.tokensPerRank * ce.topK * 3 * ce.hidden * ce.expertHidden,
    targetGemmMs: cost.expertGemmMs(Tt * K, expectedExpertsTouched(E, K, Tt)),
    targetTokens: Tt,
    pulledBytes: {
      emulated: (N - 1) * pe.pull * expertLayout(e.format, ce.hidden, ce.expertHidden).bytes,
      target: (N - 1) * pt.pull * cost.expertBytes,
    },
    linkEfficiency: cost.efficiency.link,
    allToAllEfficiency: cost.efficiency.allToAll,
    activationValues: {
      // The emulated DEP sends one row per routed slot (src/strategies/dep.ts: its T·K expert-sorted
      // rows, each owner its block), the target one per token and owner it reaches.
      emulated: ((N - 1) / N) * e.tokensPerRank * ce.topK * ce.hidden,
      target: (N - 1) * Tt * reach(cfg) * cfg.hidden,
    },
    perLayerMs: {
      attention: workload.lengths.map((S) => cost.attentionMs(S) + cost.layerMiscMs(tokensOf(S))),
      shared: workload.lengths.map((S) => cost.sharedExpertMs(tokensOf(S))),
      router: workload.lengths.map((S) => cost.routerMs(tokensOf(S))),
      combine: workload.lengths.map((S) => cost.combineMs(tokensOf(S))),
      gemm: {
        dp: workload.lengths.map((S) => cost.expertGemmMs(tokensOf(S) * K, expectedExpertsTouched(E, K, tokensOf(S)))),
        dwdp: workload.lengths.map((S) =>
          cost.expertGemmMs(tokensOf(S) * K, expectedExpertsTouched(E, K, tokensOf(S))),
        ),
        dep: workload.lengths.map(() => depGemm),
      },
      collective: (2 * cost.efficiency.collectiveUs) / 1000,
      merge: cost.copyMs((N - 1) * pt.pull * cost.expertBytes),
    },
    denseHeadMs: workload.lengths.map(
      (S) => cfg.layers.dense * (cost.attentionMs(S) + cost.layerMiscMs(tokensOf(S)) + cost.denseMlpMs(tokensOf(S))),
    ),
    tailMs: workload.lengths.map((S) => cost.lmHeadMs(tokensOf(S), S.length)),
    layers: {
      measured: e.layers,
      scheduledAs,
      why: !extendable
        ? `not extended: with ${e.layers} layers no layer re-issues a prefetch (needs more than ${e.prefetchDepth})`
        : cfg.layers.moe > e.layers
          ? `pipeline start-up: the ${e.layers} measured layers scheduled as ${cfg.name}'s ${cfg.layers.moe} MoE layers ` +
            `(prefetch fills ${e.prefetchDepth} slots once per step)`
          : 'the measured layers already cover the target',
    },
    copyInterference: { value: cost.schedulerOptions().copyInterference, source: calibrationText(cost.profile) },
    shapes: { emulated: { F: ce.expertHidden, K: ce.topK }, target: { F: cfg.expertHidden, K } },
    params: {
      ...workload.law,
      batch: workload.batch,
      groupSize: N,
      steps: 1,
      seed: workload.seed,
      format: e.format,
      contentionFix: e.contentionFix,
      splitWeights: e.splitWeights,
      prefetchDepth: e.prefetchDepth,
      // The emulation's hot-expert skew, which the rack model draws the same way (src/sim/routing.ts).
      ...(e.routingSkew ? { routingSkew: e.routingSkew } : {}),
    },
  };
}

/**
 * `t` for the routing its run had: `routedSlots[l][e]`, the group's slots of emulated expert e in
 * measured layer l (a DEP run's recorded counts; every strategy of one seed routes alike), carried
 * to the target's experts as the counterpart carries them (withRoutedLoads: its `expertLoads`),
 * and the target's grouped GEMM per strategy, rank and layer of those loads as the counterpart
 * counts it (src/sim/programs.ts): each expert's slots c_e = f_e·T·K in whole tiles of
 * GROUPED_GEMM_TILE_M rows, the last one padded (FLOPs on Σ⌈c_e/M⌉·M slots), the touched
 * experts' weights read once —
 *   DP, DWDP   rank r's own T_r·K slots over all E experts;
 *   DEP        owner j's experts' slots from the whole group's ΣT (depLoadsLayer).
 * Padded against padded: the emulated kernel runs its own rows in whole tiles too, so the
 * dilation maps the emulation's padded GEMM onto the target's padded one.
 */
export function withRoutedTarget(t: ScaleTarget, routedSlots: readonly (readonly number[])[]): ScaleTarget {
  if (routedSlots.length !== t.layers.measured)
    throw new Error(
      `scale model: routed slots give ${routedSlots.length} layers, the run measured ${t.layers.measured} (pass one row per measured layer)`,
    );
  const cfg = loadPreset(t.spec.model);
  const cost = new CostModel({ model: cfg, profile: getProfile(t.spec.profile), format: t.params.format });
  const params = withRoutedLoads(t.params, routedSlots, t.spec.model);
  const loads = params.expertLoads!;
  const Ts = t.workload.lengths.map((S) => S.reduce((a, b) => a + b, 0));
  // The rack model's own per-rank GEMM costs (src/sim/programs.ts), so both sides price a routing alike.
  const own = Ts.map((T) => loads.map((_, k) => loadedGemmMs(cost, layerLoads(loads, k), T)));
  const dep = loads.map((_, k) => depOwnerGemmMs(cost, depLoadsLayer(cfg, layerLoads(loads, k), Ts)));
  return {
    ...t,
    params,
    gemmByLayer: { dp: own, dwdp: own.map((r) => [...r]), dep: Ts.map((_, j) => dep.map((layer) => layer[j])) },
  };
}

/**
 * `o` with its scale target filled in: a time-dilated run stands for DeepSeek-R1 on the dilation
 * profile unless its timeDilation.target says another preset, or null (link-only dilation).
 * Runs without time dilation, or already carrying a target, come back unchanged.
 */
export function withScaleTarget(o: GroupRunOptions, cfg: MoeConfig): GroupRunOptions {
  const td = o.timeDilation;
  if (!td || td.target === null || typeof td.target === 'object') return o;
  const spec = { model: td.target ?? DEFAULT_TARGET_MODEL, profile: td.profile };
  const target = scaleTarget(spec, {
    cfg,
    format: o.format,
    ranks: o.ranks,
    layers: o.layers,
    tokensPerRank: o.tokensPerRank,
    requestsPerRank: o.requestsPerRank,
    lengthCv: o.lengthCv,
    lengthLaw: o.lengthLaw,
    routingSkew: o.routingSkew,
    seed: o.seed,
    prefetch: o.dwdp.prefetch,
    prefetchDepth: o.dwdp.prefetchDepth,
    splitWeights: o.dwdp.splitWeights,
    contentionFix: o.link.contentionFix,
    local: o.strategy === 'dwdp' ? o.dwdp.local : undefined,
    pull: o.strategy === 'dwdp' ? o.dwdp.pull : undefined,
  });
  return { ...o, timeDilation: { ...td, target } };
}
