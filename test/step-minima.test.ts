// The invariant's estimator: each step's minimum over runs, summed by category, per rank.
import { describe, expect, it } from 'vitest';
import { stepMinimaByCategory } from '../src/strategies/metrics.ts';
import { COMPUTE_CATEGORIES } from '../src/timeline/categories.ts';
import type { Interval } from '../src/timeline/scheduler.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;
const rng = new Rng(seed);

/** A random step list per rank: labels repeat (the n-th occurrence is its own step), categories random. */
function randomSteps(ranks: number, perRank: number) {
  const labels = ['attention L0', 'router L0', 'gate_up L0', 'combine L0'];
  return Array.from({ length: ranks }, () =>
    Array.from({ length: perRank }, () => ({
      label: labels[rng.int(labels.length)],
      category: COMPUTE_CATEGORIES[rng.int(COMPUTE_CATEGORIES.length)],
    })),
  );
}

/** One run: every step with a fresh duration, plus waits and copies the estimator must ignore, ranks interleaved at random. */
function randomRun(steps: ReturnType<typeof randomSteps>): { intervals: Interval[]; ms: number[][] } {
  const ms = steps.map((s) => s.map(() => rng.uniform(0.1, 50)));
  const perRank: Interval[][] = steps.map((s, r) => {
    let t = 0;
    const out: Interval[] = [];
    s.forEach((step, k) => {
      out.push({
        rank: r,
        lane: 'compute',
        label: step.label,
        category: step.category,
        startMs: t,
        endMs: t + ms[r][k],
      });
      t += ms[r][k];
      if (rng.next() < 0.3)
        out.push({ rank: r, lane: 'compute', label: 'wait', category: 'wait', startMs: t, endMs: (t += 5) });
      if (rng.next() < 0.3)
        out.push({ rank: r, lane: 'copy', label: 'pull', category: 'pull', startMs: t, endMs: t + 9 });
    });
    return out;
  });
  // Interleave the ranks' lists, each rank's own order kept (it defines the occurrences).
  const intervals: Interval[] = [];
  const next = perRank.map(() => 0);
  while (intervals.length < perRank.reduce((a, l) => a + l.length, 0)) {
    const r = rng.int(perRank.length);
    if (next[r] < perRank[r].length) intervals.push(perRank[r][next[r]++]);
  }
  return { intervals, ms };
}

describe('stepMinimaByCategory', () => {
  it('sums each step’s minimum over the runs by category, mean over ranks (float64 reference)', () => {
    const ranks = 1 + rng.int(4);
    const steps = randomSteps(ranks, 3 + rng.int(12));
    const runs = Array.from({ length: 1 + rng.int(4) }, () => randomRun(steps));
    const want: Record<string, number> = {};
    steps.forEach((s, r) =>
      s.forEach((step, k) => {
        const m = Math.min(...runs.map((run) => run.ms[r][k]));
        want[step.category] = (want[step.category] ?? 0) + m / ranks;
      }),
    );
    const got = stepMinimaByCategory(runs);
    expect(Object.keys(got).sort(), at).toEqual(Object.keys(want).sort());
    for (const [c, v] of Object.entries(want)) expect(got[c], `${c} ${at}`).toBeCloseTo(v, 9);
  });

  it('is not the minimum of the runs’ sums when steps’ minima fall in different runs', () => {
    // Two steps, two runs: each run is slow in the other's fast step.
    const steps = [
      [
        { label: 'a', category: 'attention' as const },
        { label: 'a', category: 'attention' as const },
      ],
    ];
    const fast = rng.uniform(1, 10);
    const slow = fast + rng.uniform(1, 10);
    const run = (d: number[]) => ({
      intervals: steps[0].map((s, k) => ({
        rank: 0,
        lane: 'compute' as const,
        ...s,
        startMs: 100 * k,
        endMs: 100 * k + d[k],
      })),
    });
    expect(stepMinimaByCategory([run([fast, slow]), run([slow, fast])]).attention, at).toBeCloseTo(2 * fast, 9);
  });

  it('refuses runs that do not share their steps, naming the run and the step', () => {
    const steps = randomSteps(2, 4);
    const a = randomRun(steps);
    const b = randomRun(steps);
    const dropped = b.intervals.findIndex((i) => i.lane === 'compute' && i.category !== 'wait');
    const lacking = { intervals: b.intervals.filter((_, j) => j !== dropped) };
    expect(() => stepMinimaByCategory([a, lacking])).toThrow(/run 2/);
    expect(() => stepMinimaByCategory([lacking, a])).toThrow(/run 2 has \d+ steps, run 1 has/);
    expect(() => stepMinimaByCategory([])).toThrow(/no runs/);
  });
});
