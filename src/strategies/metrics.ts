// Throughput of a group step, the same way for measured and modeled runs.
import type { RankReport } from './types.ts';
import type { Interval } from '../timeline/scheduler.ts';
import { CATEGORIES } from '../timeline/categories.ts';
import { quantile } from '../util/stats.ts';
import type { PairedStep } from './paired-steps.ts';

/**
 * TPS/GPU: every rank's tokens over the step's makespan, per rank. TPS/user: the mean over
 * requests of its input length over the time its rank finished the step (prefill speed
 * as a user sees it: tokens in until the first token can come out).
 */
export function groupRates(
  ranks: readonly RankReport[],
  makespanMs: number,
): { tpsPerGpu: number; tpsPerUser: number } {
  const tokens = ranks.reduce((a, r) => a + r.tokens, 0);
  const perRequest = ranks.flatMap((r) => r.requestLengths.map((len) => len / (r.endMs / 1000)));
  return {
    tpsPerGpu: tokens / (makespanMs / 1000) / ranks.length,
    tpsPerUser: perRequest.reduce((a, b) => a + b, 0) / perRequest.length,
  };
}

/**
 * Compute time per rank by category, from several runs of one configuration, taking each
 * step's minimum over the runs before summing: a step is one compute interval, matched
 * across runs by its rank, label and occurrence (the n-th interval so named on that rank).
 * On a loaded CPU-emulated adapter each step's sample carries whatever else held the cores
 * meanwhile; the minimum per step keeps the least-contended sample of every step, where the
 * minimum of whole-run sums keeps one run's noise in all its steps. The runs must have the
 * same steps (one configuration, same shape): a step missing from a run is an error.
 * Returns the mean over ranks of each category's summed minima, ms.
 */
export function stepMinimaByCategory(runs: readonly { intervals: readonly Interval[] }[]): Record<string, number> {
  if (runs.length === 0) throw new Error('stepMinimaByCategory: no runs given (pass at least one run)');
  const steps = (run: { intervals: readonly Interval[] }) => {
    const seen = new Map<string, number>();
    const out = new Map<string, { category: string; rank: number; ms: number }>();
    for (const i of run.intervals) {
      if (i.lane !== 'compute' || CATEGORIES[i.category].lane !== 'compute') continue;
      const base = `${i.rank}\u0000${i.label}`;
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.set(`${base}\u0000${n}`, { category: i.category, rank: i.rank, ms: i.endMs - i.startMs });
    }
    return out;
  };
  const [first, ...rest] = runs.map(steps);
  const ranks = new Set([...first.values()].map((s) => s.rank)).size;
  const out: Record<string, number> = {};
  for (const [key, s] of first) {
    let ms = s.ms;
    for (const [j, other] of rest.entries()) {
      const o = other.get(key);
      if (!o)
        throw new Error(
          `stepMinimaByCategory: run ${j + 2} lacks step '${key.replaceAll('\u0000', ' ')}' of run 1 (runs must share one configuration)`,
        );
      ms = Math.min(ms, o.ms);
    }
    out[s.category] = (out[s.category] ?? 0) + ms / ranks;
  }
  for (const [j, other] of rest.entries())
    if (other.size !== first.size)
      throw new Error(
        `stepMinimaByCategory: run ${j + 2} has ${other.size} steps, run 1 has ${first.size} (runs must share one configuration)`,
      );
  return out;
}

/** A category's paired ratios: their median, quartiles and count. */
export interface PairedRatio {
  median: number;
  q1: number;
  q3: number;
  pairs: number;
}

/**
 * Side `side` against side `reference` per category, from paired steps
 * (src/strategies/paired-steps.ts): every step and round where both sides have time in the
 * category gives one ratio, side's ms ÷ reference's ms of the same round (two submissions
 * back to back); each category's ratios summarized by their median and quartiles (linear
 * between order statistics). A step's passes of one category are summed within a submission.
 */
export function pairedRatiosByCategory(
  steps: readonly PairedStep[],
  side: number,
  reference: number,
): Record<string, PairedRatio> {
  const ratios = new Map<string, number[]>();
  for (const [j, st] of steps.entries()) {
    const a = st.samples[side];
    const b = st.samples[reference];
    if (!a || !b)
      throw new Error(`pairedRatiosByCategory: step ${j} ('${st.label}') has no side ${!a ? side : reference}`);
    if (a.length !== b.length)
      throw new Error(
        `pairedRatiosByCategory: step ${j} ('${st.label}') has ${a.length} rounds on side ${side}, ${b.length} on side ${reference}`,
      );
    a.forEach((sa, round) => {
      for (const [c, ms] of Object.entries(sa)) {
        const ref = b[round][c];
        if (ref > 0 && ms >= 0) (ratios.get(c) ?? ratios.set(c, []).get(c)!).push(ms / ref);
      }
    });
  }
  const out: Record<string, PairedRatio> = {};
  for (const [c, r] of ratios) out[c] = pairedRatio(r);
  return out;
}

/** One set of paired ratios summarized: median, quartiles and the number of pairs. */
export function pairedRatio(r: readonly number[]): PairedRatio {
  return { median: quantile(r, 0.5), q1: quantile(r, 0.25), q3: quantile(r, 0.75), pairs: r.length };
}

/**
 * The approximate 95% interval of a ratio's median from its quartiles (McGill, Tukey and
 * Larsen's notch, 1978): median ± 1.58·(q3 − q1)/√pairs.
 */
export function medianInterval(r: PairedRatio): [number, number] {
  if (!(r.pairs >= 1)) throw new Error(`medianInterval: needs at least one pair (got ${r.pairs})`);
  const half = (1.58 * (r.q3 - r.q1)) / Math.sqrt(r.pairs);
  return [r.median - half, r.median + half];
}

/**
 * Whether a ratio's median is within `bound` of 1 (|ratio − 1| ≤ bound): 'within' when its whole
 * interval (medianInterval) is, 'outside' when none of it is, else 'unresolved'.
 */
export function withinBound(r: PairedRatio, bound: number): 'within' | 'outside' | 'unresolved' {
  if (!(bound > 0)) throw new Error(`withinBound: bound must be > 0 (got ${bound})`);
  const [lo, hi] = medianInterval(r);
  if (lo >= 1 - bound && hi <= 1 + bound) return 'within';
  if (hi < 1 - bound || lo > 1 + bound) return 'outside';
  return 'unresolved';
}
