// A pinned baseline against the current run: one comparison point of each, strategy by
// strategy.
//
//   rate ratio         current ÷ baseline, for TPS/GPU, TPS/user and makespan
//   ratio of ratios    (DWDP/DEP)current ÷ (DWDP/DEP)baseline, and DP/DEP the same
//   breakdown delta    Δ_k = mean_r b_k(current, r) − mean_r b_k(baseline, r), and Δ_k ÷ baseline_k,
//                      for every column k of the breakdown (src/timeline/categories.ts: breakdownOf
//                      of each rank, the mean over ranks as the summary table's per-rank columns)
//   configuration      the fields that differ (formChanges: the stale banner's diff)
//   provenance         what differs in where the numbers come from (measured vs modeled, adapter,
//                      timer, clock, profile, calibration): any difference means a ratio across
//                      the two runs mixes provenance, and the page says so
//   spread             both sides repeated (measured, Repeat > 1): each side's min–max over its
//                      repetitions; the difference is within the runs' spread when the two ranges
//                      overlap (some repetition of one side lies within the other's range)
//
// The baseline is a whole Comparison (its form, provenance and timelines, as the results JSON
// holds it), so it survives a reload as that JSON and reads back through parseComparisonJson.
//
// Pure module (Node and browser).
import type { GroupRunResult, StrategyName } from '../strategies/types.ts';
import {
  BREAKDOWN_COLUMNS,
  breakdownOf,
  zeroBreakdown,
  type Breakdown,
  type BreakdownKey,
} from '../timeline/categories.ts';
import type { Provenance } from '../timeline/provenance.ts';
import { comparisonJson, parseComparisonJson } from './export.ts';
import { repeatedRatios, type Comparison, type ComparisonPoint } from './compare.ts';
import { formChanges, type FieldChange } from './stale.ts';

/** A run pinned as the baseline: the comparison, the point that was shown, and when. */
export interface PinnedBaseline {
  comparison: Comparison;
  /** Index into comparison.points: the point shown when it was pinned. */
  point: number;
  pinnedAt: string;
  /** Stored without its timelines (they did not fit the browser's storage): no baseline Gantt. */
  timelinesDropped?: boolean;
}

/** A min–max range over repetitions, per side, and whether the two overlap. */
export interface SpreadVerdict {
  baseline: { min: number; max: number; n: number };
  current: { min: number; max: number; n: number };
  /** The ranges overlap: the difference is within the runs' spread. */
  withinSpread: boolean;
}

/** One number on both sides. `ratio` = current ÷ baseline. */
export interface Paired {
  baseline: number;
  current: number;
  ratio: number;
  /** Both sides repeated: their ranges (absent otherwise). */
  spread?: SpreadVerdict;
}

export interface BreakdownDelta {
  key: BreakdownKey;
  label: string;
  /** Adds up to the step's time (false: the copy stream's busy time, outside the sum). */
  inSum: boolean;
  /** Means over ranks, ms. */
  baseline: number;
  current: number;
  /** current − baseline (ms). */
  delta: number;
  /** delta ÷ baseline; null when the baseline is 0. */
  relative: number | null;
}

export interface StrategyDelta {
  strategy: StrategyName;
  tpsPerGpu: Paired;
  tpsPerUser: Paired;
  makespanMs: Paired;
  breakdown: BreakdownDelta[];
}

/** A strategy ratio (DWDP/DEP, DP/DEP) on both sides. */
export interface RatioDelta extends Paired {
  name: string;
}

export type ProvenanceField = 'source' | 'adapter' | 'timer' | 'clock' | 'profile' | 'calibration';

export interface ProvenanceDifference {
  field: ProvenanceField;
  baseline: string;
  current: string;
}

export interface RunDiff {
  /** The swept values of the two points compared (null without a sweep). */
  baselineValue: string | null;
  currentValue: string | null;
  /** Strategies both ran, in the current run's order. */
  strategies: StrategyDelta[];
  /** Strategies only one side ran (no delta for them). */
  onlyBaseline: StrategyName[];
  onlyCurrent: StrategyName[];
  ratios: RatioDelta[];
  /** Configuration fields that differ, baseline → current. */
  changes: FieldChange[];
  /** Where the numbers come from, where it differs; non-empty: the ratios mix provenance. */
  provenance: ProvenanceDifference[];
}

/** Mean over ranks of each rank's breakdown (ms). */
export function meanBreakdown(r: Pick<GroupRunResult, 'ranks'>): Breakdown {
  const out = zeroBreakdown();
  if (r.ranks.length === 0) return out;
  for (const k of r.ranks) {
    const b = breakdownOf(k);
    for (const c of BREAKDOWN_COLUMNS) out[c.key] += b[c.key];
  }
  for (const c of BREAKDOWN_COLUMNS) out[c.key] /= r.ranks.length;
  return out;
}

/** Provenance as its fields, in a fixed order, for comparing two runs' sources. */
function provenanceFields(p: Provenance): [ProvenanceField, string][] {
  return p.kind === 'measured'
    ? [
        ['source', 'measured here'],
        ['adapter', p.adapter],
        ['timer', p.timer],
        ['clock', p.clock],
      ]
    : [
        ['source', 'modeled'],
        ['profile', p.profile],
        ['calibration', p.calibration],
      ];
}

/**
 * What differs between two runs' provenance: the source first; then, for two measured runs,
 * adapter, timer and clock; for two modeled ones, profile and calibration. Every result of a
 * point shares its provenance (one source, one adapter or profile per comparison), so each
 * side's first result speaks for it.
 */
export function provenanceDifferences(baseline: Provenance, current: Provenance): ProvenanceDifference[] {
  const a = provenanceFields(baseline);
  const b = new Map(provenanceFields(current));
  if (baseline.kind !== current.kind) return [{ field: 'source', baseline: a[0][1], current: b.get('source')! }];
  return a.filter(([k, v]) => b.get(k) !== v).map(([k, v]) => ({ field: k, baseline: v, current: b.get(k)! }));
}

const range = (xs: readonly number[]) => ({ min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

/** Both sides' ranges over repetitions and whether they overlap; undefined unless both have ≥ 2 values. */
export function spreadVerdict(
  baseline: readonly number[] | undefined,
  current: readonly number[] | undefined,
): SpreadVerdict | undefined {
  if (!baseline || !current || baseline.length < 2 || current.length < 2) return undefined;
  const a = range(baseline);
  const b = range(current);
  return { baseline: a, current: b, withinSpread: a.min <= b.max && b.min <= a.max };
}

const paired = (baseline: number, current: number, spread?: SpreadVerdict): Paired => ({
  baseline,
  current,
  ratio: current / baseline,
  ...(spread ? { spread } : {}),
});

/** Every repetition's value of one strategy's metric at a point (undefined when it ran once). */
function repeated(
  p: ComparisonPoint,
  j: number,
  get: (r: Pick<GroupRunResult, 'tpsPerGpu' | 'tpsPerUser' | 'makespanMs'>) => number,
) {
  return p.repeats?.map((rep) => get(rep[j]));
}

/**
 * The baseline's point `bi` against the current run's point `ci`: see the header for every
 * quantity. Throws when a point index is out of range (naming it and the valid range).
 */
export function diffRuns(baseline: Comparison, bi: number, current: Comparison, ci: number): RunDiff {
  const bp = baseline.points[bi];
  const cp = current.points[ci];
  if (!bp)
    throw new Error(`baseline point ${bi} does not exist: the baseline has points 0 to ${baseline.points.length - 1}`);
  if (!cp)
    throw new Error(`current point ${ci} does not exist: the current run has points 0 to ${current.points.length - 1}`);
  const both = current.strategies.filter((s) => baseline.strategies.includes(s));
  const strategies = both.map((s): StrategyDelta => {
    const jb = baseline.strategies.indexOf(s);
    const jc = current.strategies.indexOf(s);
    const b = bp.results[jb];
    const c = cp.results[jc];
    const bb = meanBreakdown(b);
    const cb = meanBreakdown(c);
    const metric = (get: (r: Pick<GroupRunResult, 'tpsPerGpu' | 'tpsPerUser' | 'makespanMs'>) => number) =>
      paired(get(b), get(c), spreadVerdict(repeated(bp, jb, get), repeated(cp, jc, get)));
    return {
      strategy: s,
      tpsPerGpu: metric((r) => r.tpsPerGpu),
      tpsPerUser: metric((r) => r.tpsPerUser),
      makespanMs: metric((r) => r.makespanMs),
      breakdown: BREAKDOWN_COLUMNS.map((col) => {
        const delta = cb[col.key] - bb[col.key];
        return {
          key: col.key,
          label: col.label,
          inSum: col.inSum,
          baseline: bb[col.key],
          current: cb[col.key],
          delta,
          relative: bb[col.key] === 0 ? null : delta / bb[col.key],
        };
      }),
    };
  });
  // The point's strategy ratios on each side (median over repetitions where repeated), by name.
  const bRatios = repeatedRatios(baseline.strategies, [bp], null);
  const cRatios = new Map(repeatedRatios(current.strategies, [cp], null).map((r) => [r.name, r]));
  const ratios = bRatios
    .filter((r) => cRatios.has(r.name))
    .map((r): RatioDelta => {
      const c = cRatios.get(r.name)!;
      return { name: r.name, ...paired(r.value, c.value, spreadVerdict(r.spread?.values, c.spread?.values)) };
    });
  return {
    baselineValue: bp.value,
    currentValue: cp.value,
    strategies,
    onlyBaseline: baseline.strategies.filter((s) => !current.strategies.includes(s)),
    onlyCurrent: current.strategies.filter((s) => !baseline.strategies.includes(s)),
    ratios,
    changes: formChanges(baseline.form, current.form),
    provenance: provenanceDifferences(bp.results[0].provenance, cp.results[0].provenance),
  };
}

/**
 * The baseline's point to set beside the current run's point `ci`: the one with the same swept
 * value where the baseline has it, else the point that was shown when it was pinned.
 */
export function baselinePointFor(b: PinnedBaseline, current: Comparison, ci: number): number {
  const v = current.points[ci]?.value ?? null;
  const same = v === null ? -1 : b.comparison.points.findIndex((p) => p.value === v);
  return same >= 0 ? same : b.point;
}

/** Extra keys a results JSON may carry that are not part of the comparison itself. */
const EXPORT_EXTRAS = ['baseline', 'changedSince'] as const;

/** The comparison to pin: without the keys an export added (a loaded file's own baseline, its stale note). */
export function pinnable(c: Comparison): Comparison {
  const out = { ...c } as Comparison & Partial<Record<(typeof EXPORT_EXTRAS)[number], unknown>>;
  for (const k of EXPORT_EXTRAS) delete out[k];
  return out;
}

/** A baseline as stored (browser storage) and exported (results JSON's `baseline`): a results JSON of its own. */
export function baselineJson(b: PinnedBaseline): string {
  return comparisonJson(b.comparison, {
    pinnedAt: b.pinnedAt,
    pinnedPoint: b.point,
    ...(b.timelinesDropped ? { timelinesDropped: true } : {}),
  });
}

/** A stored baseline read back; throws (naming what is wrong) as parseComparisonJson does. */
export function parseBaselineJson(text: string, name = 'the stored baseline'): PinnedBaseline {
  const raw = parseComparisonJson(text, name) as Comparison & {
    pinnedAt?: unknown;
    pinnedPoint?: unknown;
    timelinesDropped?: unknown;
  };
  const { pinnedAt, pinnedPoint, timelinesDropped, ...comparison } = raw;
  const point = typeof pinnedPoint === 'number' && Number.isInteger(pinnedPoint) ? pinnedPoint : 0;
  if (point < 0 || point >= comparison.points.length)
    throw new Error(`${name}: pinnedPoint ${point} is not one of its points (0 to ${comparison.points.length - 1})`);
  return {
    comparison,
    point,
    pinnedAt: typeof pinnedAt === 'string' ? pinnedAt : comparison.startedAt,
    ...(timelinesDropped === true ? { timelinesDropped: true } : {}),
  };
}

/** The baseline without its timelines (every result's intervals emptied): what fits a small store. */
export function withoutTimelines(b: PinnedBaseline): PinnedBaseline {
  return {
    ...b,
    timelinesDropped: true,
    comparison: {
      ...b.comparison,
      points: b.comparison.points.map((p) => ({ ...p, results: p.results.map((r) => ({ ...r, intervals: [] })) })),
    },
  };
}
