// The modeled counterpart of a scaled emulated run: the target workload as a rack-model
// scenario (`npm run sim -- --scenario FILE` accepts it) and what the rack model says of it, in
// the emulation's own metrics, so the two can be read side by side.
//
//   TPS/GPU   Σ tokens ÷ (makespan × N), the group's step as one batch (src/strategies/metrics.ts)
//   TPS/user  mean over requests of length ÷ its rank's end of step
//
// The rack model's own rows (npm run sim) report TPS/GPU over each rank's own end instead of the
// makespan; with one step and ranks that end together the two agree, otherwise the emulation's
// definition is the one used here, since its names are what results.json compares. Every strategy
// is scheduled with the cost model's scheduler options, as the rack model's step runs are: copy
// interference (the profile's calibrated s) slows compute while a pull moves bytes.
import { makePlacement } from '../dwdp/placement.ts';
import { loadPreset } from '../model/presets.ts';
import { CostModel } from '../sim/cost-model.ts';
import { stepBatches } from '../sim/experiment.ts';
import { getProfile } from '../hardware/profiles.ts';
import { depPrograms, dpPrograms, dwdpPrograms } from '../sim/programs.ts';
import { loadsFromCounts } from '../sim/routing.ts';
import { simulate, type RankMetrics, type Schedule } from '../timeline/scheduler.ts';
import type { CounterpartParams } from './scale-model.ts';

export type ModeledStrategy = 'dp' | 'dep' | 'dwdp';

/** A rack-model scenario file's content (src/sim/scenarios.ts parseScenario accepts it). */
export interface CounterpartScenario {
  name: string;
  description: string;
  mode: 'step';
  profile: string;
  base: CounterpartParams;
  rows?: Partial<CounterpartParams>[];
}

export interface ModeledRates {
  tpsPerGpu: number;
  tpsPerUser: number;
  hiddenPullFraction: number;
  makespanMs: number;
  /** Each rank's time accounting (compute per category, exposed pull, barrier, all-to-all), ms of the target. */
  ranks: RankMetrics[];
}

/**
 * The scenario for one or more points (rows when they differ). `target` names the model for the
 * description (the rack model always runs its own: DeepSeek-R1).
 */
export function counterpartScenario(
  points: readonly CounterpartParams[],
  target: { model: string; profile: string },
  name = 'counterpart',
): CounterpartScenario {
  if (points.length === 0) throw new Error('counterpart: no scaled point to stand for');
  const base = points[0];
  const differ = points.some((p) => JSON.stringify(p) !== JSON.stringify(base));
  const w = (p: CounterpartParams) => `ISL ${p.isl} × ${p.batch} per rank, CV ${p.cv}, N ${p.groupSize}`;
  return {
    name,
    description:
      `Modeled counterpart of a scaled emulated run: ${target.model} on ${target.profile}, ` +
      `${differ ? points.map(w).join('; ') : w(base)}, one step (seed ${base.seed}: the requests the emulation ran, in target tokens)`,
    mode: 'step',
    profile: target.profile,
    base,
    ...(differ ? { rows: points.map((p) => ({ ...p })) } : {}),
  };
}

/** The rack model's model: counterparts always run DeepSeek-R1 (see counterpartScenario). */
export const COUNTERPART_MODEL = 'deepseek-r1';

/**
 * `p` routed as the emulated run was: its router's per-layer per-expert slot counts carried to the
 * counterpart model's experts as fractions (loadsFromCounts: every DEP owner keeps its share when
 * the group size divides both expert counts), replacing routingSkew, whose draws they contain.
 * Fractions need no token scaling: the target's tokens are spread as the emulated ones were.
 */
export function withRoutedLoads(
  p: CounterpartParams,
  routedSlots: readonly (readonly number[])[],
  model = COUNTERPART_MODEL,
): CounterpartParams {
  const { routingSkew: _, ...rest } = p;
  return { ...rest, expertLoads: loadsFromCounts(routedSlots, loadPreset(model).experts) };
}

/** Rates of each strategy for one point, modeled on the profile (DeepSeek-R1, the rack model's model). */
export function modeledRates(
  p: CounterpartParams,
  profileId: string,
  model = COUNTERPART_MODEL,
): Record<ModeledStrategy, ModeledRates> {
  const cfg = loadPreset(model);
  const cost = new CostModel({ model: cfg, profile: getProfile(profileId), format: p.format });
  const group = Array.from({ length: p.groupSize }, (_, r) => r);
  const batches = stepBatches({ ...p, experts: cfg.experts, moeLayers: cfg.layers.moe });
  const placement = makePlacement(cfg.experts, p.groupSize);
  const link = cost.link(p.contentionFix);
  const opts = {
    placement,
    contentionFix: p.contentionFix,
    splitWeights: p.splitWeights,
    prefetchDepth: p.prefetchDepth,
  };
  const run = (s: Schedule): ModeledRates => {
    const makespanMs = Math.max(...s.ranks.map((m) => m.endMs));
    let tokens = 0;
    const perRequest: number[] = [];
    s.ranks.forEach((m, r) => {
      for (const st of batches[r])
        for (const len of st.lengths) {
          tokens += len;
          perRequest.push(len / (m.endMs / 1000));
        }
    });
    return {
      tpsPerGpu: tokens / (makespanMs / 1000) / p.groupSize,
      tpsPerUser: perRequest.reduce((a, b) => a + b, 0) / perRequest.length,
      hiddenPullFraction: s.hiddenPullFraction,
      makespanMs,
      ranks: s.ranks,
    };
  };
  // The rack model's scheduler options (copy interference: the profile's calibrated s), as `npm run sim` runs them.
  const sched = { intervals: false, ...cost.schedulerOptions() };
  const sim = (programs: ReturnType<typeof dpPrograms>) => simulate(programs, link, sched);
  return {
    dp: run(sim(dpPrograms(cost, group, batches))),
    dep: run(simulate(depPrograms(cost, group, batches), cost.link(p.contentionFix, 'all-to-all'), sched)),
    dwdp: run(sim(dwdpPrograms(cost, group, batches, opts))),
  };
}
