// A comparison: the chosen strategies run on the same configuration and the same link (and,
// with a sweep, once per swept value), then the ratios a reader looks for — DWDP over DEP, DP over DEP, and for
// a sweep each point over its first (the ablations: contention fix off ÷ on, …).
//
// The runner is injected: the page passes runGroup in a worker, the tests a fake, the modeled
// source the rack model. Pure module (Node and browser).
import { withScaleTarget } from '../similarity/target.ts';
import { resolveConfig } from '../strategies/run.ts';
import type { GroupRunOptions, GroupRunResult, RunProgress, StrategyName } from '../strategies/types.ts';
import { parseForm, runOptions, sweepPointForm, type PageConfig, type Source } from './config.ts';
import { FIELD, SWEEPABLE, type FieldKey, type FormState } from './fields.ts';
import { formToQuery } from './url.ts';
import { counterpartScenario, modeledRates, type CounterpartScenario } from '../similarity/counterpart.ts';

export interface RunHooks {
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
}

/** runGroup's shape (src/strategies/run.ts). */
export type RunGroupFn = (options: GroupRunOptions, hooks: RunHooks) => Promise<GroupRunResult>;

/** Runs one strategy of a parsed config: runGroup for the measured source, the model otherwise. */
export type StrategyRunner = (config: PageConfig, strategy: StrategyName, hooks: RunHooks) => Promise<GroupRunResult>;

export function measuredRunner(runGroup: RunGroupFn): StrategyRunner {
  // A time-dilated run stands for its target as a scale model (src/similarity).
  return (c, s, hooks) => {
    const o = runOptions(c, s);
    return runGroup(withScaleTarget(o, resolveConfig(o.model)), hooks);
  };
}

export interface ComparisonPoint {
  /** The swept field's value at this point (null without a sweep). */
  value: string | null;
  /** One per strategy, in the comparison's strategy order. */
  results: GroupRunResult[];
}

export interface Ratio {
  /** Stable name, e.g. 'dwdp/dep TPS/GPU' or 'dwdp/dep TPS/GPU @ cv=0.4' or 'dwdp TPS/GPU fix=off ÷ fix=on'. */
  name: string;
  value: number;
  numerator: number;
  denominator: number;
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
 * Run every point and strategy of `form` in order. Throws the form's first error when it does
 * not parse; an abort rejects with the signal's reason after the run in flight stops.
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
  const runs = configs.length * base.strategies.length;
  const points: ComparisonPoint[] = [];
  let done = 0;
  for (const [i, config] of configs.entries()) {
    const results: GroupRunResult[] = [];
    let dilation: Dilation | undefined;
    for (const strategy of base.strategies) {
      opts.signal?.throwIfAborted();
      const value = values[i];
      const report = (fraction: number, message: string) =>
        opts.onProgress?.({ fraction: (done + fraction) / runs, run: done + 1, runs, strategy, value, message });
      report(0, `${strategy}${value !== null ? ` at ${FIELD[sweep!.field].label} = ${value}` : ''}: starting`);
      const result = await runner(dilation ? withDilation(config, dilation) : config, strategy, {
        signal: opts.signal,
        onProgress: (p) => report(runFraction(p, config.run.ranks, config.run.layers), `${strategy}: ${p.message}`),
      });
      const kept = stripForTransfer(result);
      // The first run of a point measures the dilation; the others are given its GEMM rate.
      dilation ??= kept.link.dilation;
      results.push(kept);
      report(1, `${strategy}: finished`);
      done++;
    }
    points.push({ value: values[i], results });
  }
  const axis: SweepAxis | null = sweep
    ? {
        field: sweep.field,
        label: SWEEPABLE[sweep.field]!.label,
        unit: SWEEPABLE[sweep.field]!.unit,
        log: SWEEPABLE[sweep.field]!.log ?? false,
        values: sweep.values,
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
    points,
    ratios: comparisonRatios(base.strategies, points, axis),
    ...optional('counterpart', counterpartOf(base.strategies, points, axis)),
    startedAt: new Date(started).toISOString(),
    elapsedMs: Date.now() - started,
  };
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
  const scaled = sims as NonNullable<(typeof sims)[number]>[];
  const scenario = counterpartScenario(
    scaled.map((s) => s.params),
    scaled[0].target,
  );
  const modeled = points.map((p, i) => {
    const m = modeledRates(scaled[i].params, scaled[i].target.profile);
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
