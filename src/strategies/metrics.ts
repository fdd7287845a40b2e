// Throughput of a group step, the same way for measured and modeled runs.
import type { RankReport } from './types.ts';
import type { Interval } from '../timeline/scheduler.ts';
import { CATEGORIES } from '../timeline/categories.ts';

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
