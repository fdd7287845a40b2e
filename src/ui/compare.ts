// A comparison: the chosen strategies run on the same configuration and the same link (and,
// with a sweep, once per swept value), then the ratios a reader looks for — DWDP over DEP, DP over DEP, and for
// a sweep each point over its first (the ablations: contention fix off ÷ on, …).
//
// The runner is injected: the page passes runGroup in a worker, the tests a fake, the modeled
// source the rack model. Pure module (Node and browser).
import { withScaleTarget } from '../similarity/target.ts';
import { runUnderOneRouting, type RoutedSlots, type RoutingHand } from '../similarity/routed-runs.ts';
import { resolveConfig } from '../strategies/run.ts';
import type { GroupRunOptions, GroupRunResult, RunProgress, StrategyName } from '../strategies/types.ts';
import { parseForm, runOptions, sweepPointForm, type PageConfig, type Source } from './config.ts';
import { FIELD, SWEEPABLE, type FieldKey, type FormState } from './fields.ts';
import { formToQuery } from './url.ts';
import {
  counterpartScenario,
  modeledRates,
  withRoutedLoads,
  type CounterpartScenario,
} from '../similarity/counterpart.ts';

export interface RunHooks {
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /**
   * A scaled measured run that records no router counts (DP, DWDP): the counts its point's DEP
   * run recorded, which it ran under too (same seed), for its target's padded GEMM
   * (src/similarity/routed-runs.ts). Data, so it travels to the worker.
   */
  routedSlots?: RoutedSlots;
}

/** runGroup's shape (src/strategies/run.ts). */
export type RunGroupFn = (options: GroupRunOptions, hooks: RunHooks) => Promise<GroupRunResult>;

/** Runs one strategy of a parsed config: runGroup for the measured source, the model otherwise. */
export type StrategyRunner = (config: PageConfig, strategy: StrategyName, hooks: RunHooks) => Promise<GroupRunResult>;

export function measuredRunner(runGroup: RunGroupFn): StrategyRunner {
  // A time-dilated run stands for its target as a scale model (src/similarity).
  // The hooks carry the point's DEP counts (routedSlots) for a run that records none.
  return (c, s, hooks) => {
    const o = runOptions(c, s);
    return runGroup(withScaleTarget(o, resolveConfig(o.model)), hooks);
  };
}

export interface ComparisonPoint {
  /** The swept field's value at this point (null without a sweep). */
  value: string | null;
  /**
   * One per strategy, in the comparison's strategy order. With repeated runs: the repetition
   * whose first ratio (DWDP/DEP TPS/GPU where both ran) is the median one (`shownRepetition`).
   */
  results: GroupRunResult[];
  /** Repeated measured runs: every repetition's rates, per strategy (absent when each ran once). */
  repeats?: RepeatedRates[][];
  /** Which repetition `results` holds (0-based; absent when each ran once). */
  shownRepetition?: number;
}

/** What a repetition keeps of a run: the rates the ratios read. */
export type RepeatedRates = Pick<GroupRunResult, 'strategy' | 'tpsPerGpu' | 'tpsPerUser' | 'makespanMs'>;

export interface Ratio {
  /** Stable name, e.g. 'dwdp/dep TPS/GPU' or 'dwdp/dep TPS/GPU @ cv=0.4' or 'dwdp TPS/GPU fix=off ÷ fix=on'. */
  name: string;
  /** With repeated runs: the median over repetitions (the lower middle one for an even count, so one repetition's ratio). */
  value: number;
  numerator: number;
  denominator: number;
  /** Repeated runs: the ratio of every repetition, with their range. */
  spread?: RatioSpread;
}

/**
 * A ratio over repeated runs. `withinNoise`: the repetitions' range holds 1 — some repetition
 * has the numerator ahead and another behind (or level), so the runs do not tell them apart.
 */
export interface RatioSpread {
  n: number;
  min: number;
  max: number;
  values: number[];
  withinNoise: boolean;
}

export interface SweepAxis {
  field: FieldKey;
  label: string;
  unit?: string;
  log: boolean;
  values: string[];
}

export interface Comparison {
  source: Source;
  /** Who produced the numbers, e.g. 'measured here on google swiftshader (CPU-emulated) via browser'. */
  provenance: string;
  form: FormState;
  /** The page URL's query for this form (share link). */
  query: string;
  modelName: string;
  strategies: StrategyName[];
  sweep: SweepAxis | null;
  points: ComparisonPoint[];
  ratios: Ratio[];
  /**
   * The scaled runs' target as a rack-model scenario and the model's ratios under the same names
   * as `ratios` (modeled); absent when the runs were not scaled (no time dilation, or modeled).
   */
  counterpart?: Counterpart;
  startedAt: string;
  elapsedMs: number;
  /** A sweep cancelled part-way: the points that finished, of how many asked (absent when complete). */
  partial?: { done: number; of: number };
}

/**
 * A comparison cancelled after at least one sweep point finished: its message is the cancel's,
 * its name 'AbortError', and `partial` holds the finished points as a comparison of its own.
 */
export class ComparisonCancelled extends Error {
  override name = 'AbortError';
  constructor(
    message: string,
    readonly partial: Comparison,
  ) {
    super(message);
  }
}

/** The modeled counterpart of a comparison (results.json's "counterpart"; its format is relied on). */
export interface Counterpart {
  /** A scenario `npm run sim -- --scenario FILE` accepts. */
  scenario: CounterpartScenario;
  /** The rack model's values of the comparison's ratios, same names. */
  ratios: { name: string; value: number }[];
}

export interface ComparisonProgress {
  /** Runs finished + the current one's share, over all runs: 0 … 1. */
  fraction: number;
  run: number;
  runs: number;
  strategy: StrategyName;
  value: string | null;
  message: string;
}

/**
 * The run bar's clock: elapsed seconds, and once a run has finished (so the rate means
 * something) the time left at the pace so far, elapsed × (1 − f) ÷ f. "12 s", "12 s · about 30 s left".
 */
export function etaText(elapsedMs: number, fraction: number, runsDone: number): string {
  const s = (ms: number) => (ms >= 90_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);
  const elapsed = s(elapsedMs);
  if (runsDone < 1 || !(fraction > 0) || fraction >= 1) return elapsed;
  return `${elapsed} · about ${s((elapsedMs * (1 - fraction)) / fraction)} left`;
}

/** How far a run is, from its progress events: setup 0–10%, layers 10–90%, scheduling 95%. */
export function runFraction(p: RunProgress, ranks: number, layers: number): number {
  switch (p.phase) {
    case 'setup':
      return 0.05;
    case 'run':
      if (p.layer === undefined) return 0.1;
      return 0.1 + 0.8 * Math.min(1, (p.layer + (p.rank ?? 0) / Math.max(1, ranks)) / Math.max(1, layers));
    case 'schedule':
      return 0.95;
    case 'done':
      return 1;
  }
}

/**
 * Run every point and strategy of `form`, point by point (measured: each point's DEP run first,
 * its router counts handed to the others; the results always in the form's strategy order).
 * Throws the form's first error when it does
 * not parse; an abort rejects with the signal's reason after the run in flight stops — or, when
 * some sweep points had finished, with a ComparisonCancelled holding them.
 */
export async function runComparison(
  form: FormState,
  runner: StrategyRunner,
  opts: { signal?: AbortSignal; onProgress?: (p: ComparisonProgress) => void; provenance: string },
): Promise<Comparison> {
  const started = Date.now();
  const parsed = parseForm(form);
  if (!parsed.config)
    throw new Error(
      Object.entries(parsed.errors)
        .map(([k, v]) => `${FIELD[k as FieldKey].label}: ${v}`)
        .join('; '),
    );
  const base = parsed.config;
  const sweep = base.sweep;
  const values: (string | null)[] = sweep ? sweep.values : [null];
  const configs = values.map((v) => (v === null ? base : parseForm(sweepPointForm(form, sweep!, v)).config!));
  const R = base.repeat;
  const runs = configs.length * base.strategies.length * R;
  const points: ComparisonPoint[] = [];
  let done = 0;
  const cancelled = (e: unknown) => {
    if (!opts.signal?.aborted || points.length === 0) return e;
    return new ComparisonCancelled((e as Error)?.message ?? String(e), build(points));
  };
  for (const [i, config] of configs.entries()) {
    // Repetitions interleave the strategies (measured: DEP, DP, DWDP, DEP, DP, DWDP, …): a drift of
    // the device's speed then reaches every strategy alike instead of one block of runs.
    const reps: GroupRunResult[][] = [];
    let dilation: Dilation | undefined;
    for (let rep = 0; rep < R; rep++) {
      const one = async (strategy: StrategyName, hand: RoutingHand = {}): Promise<GroupRunResult> => {
        const value = values[i];
        const report = (fraction: number, message: string) =>
          opts.onProgress?.({ fraction: (done + fraction) / runs, run: done + 1, runs, strategy, value, message });
        const at = `${value !== null ? ` at ${FIELD[sweep!.field].label} = ${value}` : ''}${R > 1 ? ` (repetition ${rep + 1}/${R})` : ''}`;
        report(0, `${strategy}${at}: starting`);
        let result: GroupRunResult;
        try {
          opts.signal?.throwIfAborted();
          const routedSlots = await hand.slots;
          result = await runner(dilation ? withDilation(config, dilation) : config, strategy, {
            signal: opts.signal,
            onProgress: (p) => report(runFraction(p, config.run.ranks, config.run.layers), `${strategy}: ${p.message}`),
            ...(routedSlots ? { routedSlots } : {}),
          });
        } catch (e) {
          throw cancelled(e);
        }
        const kept = stripForTransfer(result);
        // The first run of a point measures the dilation; the others are given its GEMM rate.
        dilation ??= kept.link.dilation;
        report(1, `${strategy}: finished`);
        done++;
        return kept;
      };
      // Measured: DEP first, its router's counts handed to the others, so every strategy of the
      // point is dilated under the routing the counterpart models; results in the strategies'
      // order. The modeled source has no routing to hand on and runs in the given order.
      let results: GroupRunResult[] = [];
      if (base.source === 'measured')
        results = await runUnderOneRouting(base.strategies, (s, _j, hand) => one(s, hand), 'in-turn');
      else for (const s of base.strategies) results.push(await one(s));
      reps.push(results);
    }
    points.push(R === 1 ? { value: values[i], results: reps[0] } : repeatedPoint(values[i], base.strategies, reps));
  }
  return build(points);

  function build(done: ComparisonPoint[]): Comparison {
    const axis: SweepAxis | null = sweep
      ? {
          field: sweep.field,
          label: SWEEPABLE[sweep.field]!.label,
          unit: SWEEPABLE[sweep.field]!.unit,
          log: SWEEPABLE[sweep.field]!.log ?? false,
          values: done.map((p) => p.value!),
        }
      : null;
    return {
      source: base.source,
      provenance: opts.provenance,
      form,
      query: formToQuery(form),
      modelName: base.modelName,
      strategies: base.strategies,
      sweep: axis,
      points: [...done],
      ratios: repeatedRatios(base.strategies, done, axis),
      ...optional('counterpart', counterpartOf(base.strategies, done, axis)),
      startedAt: new Date(started).toISOString(),
      elapsedMs: Date.now() - started,
      ...(done.length < values.length ? { partial: { done: done.length, of: values.length } } : {}),
    };
  }
}

type Dilation = NonNullable<GroupRunResult['link']['dilation']>;

const optional = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));

/**
 * The counterpart of a comparison whose every point ran scaled (each point's target from its
 * first scaled run): one scenario (rows when the points differ), and the modeled ratios under
 * the names comparisonRatios gives the measured ones.
 */
export function counterpartOf(
  strategies: readonly StrategyName[],
  points: readonly ComparisonPoint[],
  sweep: SweepAxis | null,
): Counterpart | undefined {
  const sims = points.map((p) => p.results.find((r) => r.similarity)?.similarity);
  if (sims.length === 0 || sims.some((s) => !s)) return undefined;
  // Routed as the emulation was where a DEP run recorded its router's counts (same seed, same routing for every strategy).
  const params = points.map((p, i) => {
    const routed = p.results.find((r) => r.routedSlots)?.routedSlots;
    return routed ? withRoutedLoads(sims[i]!.params, routed) : sims[i]!.params;
  });
  const scenario = counterpartScenario(params, sims[0]!.target);
  const modeled = points.map((p, i) => {
    const m = modeledRates(params[i], sims[i]!.target.profile);
    return { value: p.value, results: strategies.map((s) => m[s]) };
  });
  return {
    scenario,
    ratios: comparisonRatios(strategies, modeled, sweep).map((r) => ({ name: r.name, value: r.value })),
  };
}

/** One ratio measured here beside the counterpart's modeled value of the same name. */
export interface CounterpartRow {
  name: string;
  measured: number;
  modeled: number;
  /** measured / modeled − 1. */
  difference: number;
}

/** The comparison's ratios that its counterpart models, measured beside modeled (none when unscaled). */
export function counterpartRows(c: Pick<Comparison, 'ratios' | 'counterpart'>): CounterpartRow[] {
  if (!c.counterpart) return [];
  const modeled = new Map(c.counterpart.ratios.map((r) => [r.name, r.value]));
  return c.ratios
    .filter((r) => modeled.has(r.name))
    .map((r) => {
      const m = modeled.get(r.name)!;
      return { name: r.name, measured: r.value, modeled: m, difference: r.value / m - 1 };
    });
}

/**
 * Every strategy of a point must see the same link. Time dilation scales it by a GEMM rate,
 * which on a loaded CPU-emulated adapter varies several-fold from run to run; so the first run
 * of a point measures the rate and the others are given it (their results say so:
 * link.dilation.measuredInRun is false).
 */
export function withDilation(c: PageConfig, d: Dilation): PageConfig {
  if (!c.run.timeDilation) return c;
  return { ...c, run: { ...c.run, timeDilation: { ...c.run.timeDilation, deviceGflops: d.deviceGflops } } };
}

/** Keep only the plain GroupRunResult fields (runGroup adds outputs and the parsed config). */
function stripForTransfer(r: GroupRunResult): GroupRunResult {
  const { outputs: _o, config: _c, ...rest } = r as GroupRunResult & { outputs?: unknown; config?: unknown };
  return rest;
}

type Rates = Pick<GroupRunResult, 'tpsPerGpu' | 'tpsPerUser'>;
const METRICS = [
  ['TPS/GPU', (r: Rates) => r.tpsPerGpu],
  ['TPS/user', (r: Rates) => r.tpsPerUser],
] as const;

/** Strategy pairs worth a ratio, numerator first. */
const PAIRS: readonly [StrategyName, StrategyName][] = [
  ['dwdp', 'dep'],
  ['dp', 'dep'],
];

const lowerMedianIndex = (xs: readonly number[]) => {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  return order[(xs.length - 1) >> 1];
};

/**
 * A point of repeated runs: every repetition's rates, and the full results of the repetition
 * whose first ratio is the median one, for the views (their timelines are one run's).
 */
export function repeatedPoint(
  value: string | null,
  strategies: readonly StrategyName[],
  reps: readonly GroupRunResult[][],
): ComparisonPoint {
  const repeats = reps.map((rs) =>
    rs.map((r) => ({
      strategy: r.strategy,
      tpsPerGpu: r.tpsPerGpu,
      tpsPerUser: r.tpsPerUser,
      makespanMs: r.makespanMs,
    })),
  );
  const first = reps.map((rs) => comparisonRatios(strategies, [{ value, results: rs }], null)[0]?.value ?? 0);
  const shown = lowerMedianIndex(first);
  return { value, results: reps[shown], repeats, shownRepetition: shown };
}

/**
 * The ratios of a comparison whose points may hold repeated runs: each ratio per repetition,
 * then its median (the lower middle one, so numerator ÷ denominator is one repetition's) with
 * every repetition's value and their range. Without repeats, comparisonRatios as is.
 */
export function repeatedRatios(
  strategies: readonly StrategyName[],
  points: readonly Pick<ComparisonPoint, 'value' | 'results' | 'repeats'>[],
  sweep: SweepAxis | null,
): Ratio[] {
  const n = points[0]?.repeats?.length ?? 0;
  if (n === 0 || points.some((p) => p.repeats?.length !== n)) return comparisonRatios(strategies, points, sweep);
  const per = Array.from({ length: n }, (_, r) =>
    comparisonRatios(
      strategies,
      points.map((p) => ({ value: p.value, results: p.repeats![r] })),
      sweep,
    ),
  );
  return per[0].map((r0, k) => {
    const values = per.map((rs) => rs[k].value);
    const m = per[lowerMedianIndex(values)][k];
    const min = Math.min(...values);
    const max = Math.max(...values);
    return { ...m, name: r0.name, spread: { n, min, max, values, withinNoise: min <= 1 && 1 <= max } };
  });
}

/** A ratio as the tables print it: "0.7800", or over repeated runs "0.7800 (0.7400–0.8100, 5 runs, within noise)". */
export function ratioText(r: Ratio): string {
  const s = r.spread;
  if (!s) return r.value.toFixed(4);
  return `${r.value.toFixed(4)} (${s.min.toFixed(4)}–${s.max.toFixed(4)}, ${s.n} runs${s.withinNoise ? ', within noise' : ''})`;
}

/** Every ratio of a comparison, by stable name. */
export function comparisonRatios(
  strategies: readonly StrategyName[],
  points: readonly { value: string | null; results: readonly Pick<GroupRunResult, 'tpsPerGpu' | 'tpsPerUser'>[] }[],
  sweep: SweepAxis | null,
): Ratio[] {
  const out: Ratio[] = [];
  const at = (p: { value: string | null }) => (sweep && p.value !== null ? ` @ ${sweep.field}=${p.value}` : '');
  const ratio = (name: string, numerator: number, denominator: number) =>
    out.push({ name, value: numerator / denominator, numerator, denominator });
  for (const p of points) {
    const by = (s: StrategyName) => p.results[strategies.indexOf(s)];
    for (const [a, b] of PAIRS) {
      if (!strategies.includes(a) || !strategies.includes(b)) continue;
      for (const [metric, get] of METRICS) ratio(`${a}/${b} ${metric}${at(p)}`, get(by(a)), get(by(b)));
    }
  }
  // Along a categorical sweep (an ablation: fix on/off, split on/off, rank mode): every later
  // point over the first, per strategy. Numeric sweeps are read through the DWDP/DEP ratios.
  const numeric = points.every((p) => p.value !== null && p.value.trim() !== '' && Number.isFinite(Number(p.value)));
  if (sweep && points.length > 1 && !numeric) {
    const first = points[0];
    for (const p of points.slice(1)) {
      strategies.forEach((s, j) =>
        ratio(
          `${s} TPS/GPU ${sweep.field}=${p.value} ÷ ${sweep.field}=${first.value}`,
          p.results[j].tpsPerGpu,
          first.results[j].tpsPerGpu,
        ),
      );
    }
  }
  return out;
}

/**
 * Where DWDP/DEP TPS/GPU crosses 1 along a numeric sweep: linear interpolation between the
 * two points that bracket it (in log x for log axes). Empty when it never crosses.
 */
export function crossovers(xs: readonly number[], ratios: readonly number[], log = false): number[] {
  const t = (x: number) => (log ? Math.log(x) : x);
  const out: number[] = [];
  ratios.forEach((r, i) => {
    if (r === 1) out.push(xs[i]);
  });
  for (let i = 1; i < xs.length; i++) {
    const a = ratios[i - 1] - 1;
    const b = ratios[i] - 1;
    if (!(a * b < 0)) continue; // same side, touching 1 (counted above), or not finite
    const u = t(xs[i - 1]) + ((t(xs[i]) - t(xs[i - 1])) * a) / (a - b);
    out.push(log ? Math.exp(u) : u);
  }
  return out.sort((a, b) => a - b);
}
