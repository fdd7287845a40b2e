// The invariant's estimators: each step's minimum over runs, summed by category, per rank; and
// paired steps (the same step of several runs back to back) with their ratios' median and quartiles.
import { describe, expect, it } from 'vitest';
import {
  medianInterval,
  pairedRatiosByCategory,
  stepMinimaByCategory,
  withinBound,
} from '../src/strategies/metrics.ts';
import { PairedSteps, type PairedStep } from '../src/strategies/paired-steps.ts';
import { exclusiveGpuWork } from '../src/strategies/runtime.ts';
import { median, quantile } from '../src/util/stats.ts';
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

/** 0..n−1 in a random order. */
function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('quantile', () => {
  it('interpolates between order statistics: a shuffled arithmetic progression a + d·i has q-quantile a + d·q·(n − 1)', () => {
    const n = 1 + rng.int(40);
    const a = rng.uniform(-5, 5);
    const d = rng.uniform(0.01, 3);
    const values = shuffled(n).map((i) => a + d * i);
    for (const q of [0, 0.25, 0.5, 0.75, 1, rng.next()])
      expect(quantile(values, q), `q ${q} n ${n} ${at}`).toBeCloseTo(a + d * q * (n - 1), 9);
  });

  it('is the median at q = 0.5 on random values, NaN when empty, and refuses q outside [0, 1]', () => {
    const values = Array.from({ length: 1 + rng.int(30) }, () => rng.uniform(0, 100));
    expect(quantile(values, 0.5), at).toBe(median(values));
    expect(quantile([], 0.5)).toBeNaN();
    expect(() => quantile(values, 1.5)).toThrow(/q must lie in \[0, 1\]/);
  });
});

describe('pairedRatiosByCategory', () => {
  it('gives the median and quartiles of the per-round ratios per category (constructed ratios, closed form)', () => {
    // Per category, the ratios side ÷ reference are a shuffled progression r0 + d·i over every
    // (step, round); the reference's ms are random, so only the ratios carry the answer.
    const sides = 2 + rng.int(3);
    const side = 1 + rng.int(sides - 1);
    const rounds = 1 + rng.int(6);
    const nSteps = 2 + rng.int(8);
    const cats = ['attention', 'gemm'];
    const prog = Object.fromEntries(
      cats.map((c) => [
        c,
        { r0: rng.uniform(0.5, 1.5), d: rng.uniform(0.001, 0.05), order: shuffled(nSteps * rounds) },
      ]),
    );
    const steps: PairedStep[] = Array.from({ length: nSteps }, (_, j) => ({
      rank: rng.int(4),
      label: `step ${j}`,
      occurrence: 0,
      samples: Array.from({ length: sides }, () =>
        Array.from({ length: rounds }, () => Object.fromEntries(cats.map((c) => [c, rng.uniform(0.1, 20)]))),
      ),
    }));
    for (const st of steps)
      for (let round = 0; round < rounds; round++)
        for (const c of cats) {
          const { r0, d, order } = prog[c];
          const i = order[steps.indexOf(st) * rounds + round];
          st.samples[side][round][c] = st.samples[0][round][c] * (r0 + d * i);
        }
    const got = pairedRatiosByCategory(steps, side, 0);
    const n = nSteps * rounds;
    for (const c of cats) {
      const { r0, d } = prog[c];
      expect(got[c].pairs, at).toBe(n);
      expect(got[c].median, `${c} ${at}`).toBeCloseTo(r0 + d * 0.5 * (n - 1), 9);
      expect(got[c].q1, `${c} ${at}`).toBeCloseTo(r0 + d * 0.25 * (n - 1), 9);
      expect(got[c].q3, `${c} ${at}`).toBeCloseTo(r0 + d * 0.75 * (n - 1), 9);
    }
  });

  it('skips categories the reference has no time in, and refuses steps whose sides have different rounds', () => {
    const steps: PairedStep[] = [
      { rank: 0, label: 'a', occurrence: 0, samples: [[{ gemm: 2 }], [{ gemm: 3, merge: 1 }]] },
    ];
    expect(pairedRatiosByCategory(steps, 1, 0)).toEqual({ gemm: { median: 1.5, q1: 1.5, q3: 1.5, pairs: 1 } });
    steps[0].samples[1].push({ gemm: 1 });
    expect(() => pairedRatiosByCategory(steps, 1, 0)).toThrow(/2 rounds on side 1, 1 on side 0/);
    expect(() => pairedRatiosByCategory(steps, 3, 0)).toThrow(/no side 3/);
  });
});

describe('PairedSteps', () => {
  it('submits each step of every side back to back, the order rotated each round, nothing else in between', async () => {
    const sides = 2 + rng.int(3);
    const rounds = 1 + rng.int(5);
    const paired = new PairedSteps(sides, rounds, new Set(['gemm']));
    const log: string[] = [];
    const labels = ['experts L0', 'experts L1', 'experts L2'];
    const waits: Promise<unknown>[] = [];
    // The sides arrive at the steps in a random order (each side's own order kept), with other
    // GPU work queued between the arrivals.
    const next = Array.from({ length: sides }, () => 0);
    while (next.some((k) => k < labels.length)) {
      const s = rng.int(sides);
      if (next[s] >= labels.length) continue;
      const label = labels[next[s]++];
      let n = 0;
      waits.push(
        paired.arrive(s, { rank: 0, label, occurrence: 0 }, async () => {
          log.push(`${label}|${s}`);
          return { gemm: 1 + s + 10 * n++ };
        }),
      );
      waits.push(exclusiveGpuWork(async () => void log.push('other')));
    }
    const results = await Promise.all(waits);
    expect(paired.steps.length, at).toBe(labels.length);
    for (const label of labels) {
      const first = log.findIndex((x) => x.startsWith(`${label}|`));
      const block = log.slice(first, first + rounds * sides);
      const want = Array.from({ length: rounds }, (_, r) =>
        Array.from({ length: sides }, (_, j) => `${label}|${(j + r) % sides}`),
      ).flat();
      expect(block, `${label} (sides ${sides}, rounds ${rounds}) ${at}`).toEqual(want);
    }
    // Every side gets its own samples, one per round, in round order.
    const step = paired.steps[0];
    step.samples.forEach((ss, s) =>
      expect(ss.map((x) => x.gemm)).toEqual(Array.from({ length: rounds }, (_, n) => 1 + s + 10 * n)),
    );
    expect(results.filter(Array.isArray).length, at).toBe(sides * labels.length);
  });

  it('releases a step when a side closes, records it only when every side took part, and checks its inputs', async () => {
    const paired = new PairedSteps(3, 2, new Set(['attention']));
    const got = paired.arrive(0, { rank: 1, label: 'attention L0', occurrence: 0 }, async () => ({ attention: 4 }));
    paired.arrive(2, { rank: 1, label: 'attention L0', occurrence: 0 }, async () => ({ attention: 5 }));
    paired.close(1);
    expect(await got).toEqual([{ attention: 4 }, { attention: 4 }]);
    expect(paired.steps).toEqual([]);
    expect(paired.pairs('attention')).toBe(true);
    expect(paired.pairs('gemm')).toBe(false);
    expect(() => paired.arrive(1, { rank: 0, label: 'x', occurrence: 0 }, async () => ({}))).toThrow(/after it closed/);
    expect(() => new PairedSteps(1, 3, new Set())).toThrow(/sides must be an integer ≥ 2/);
    expect(() => new PairedSteps(2, 0, new Set())).toThrow(/rounds must be an integer from 1 to 64/);
  });
});

describe('withinBound', () => {
  it('says within, outside or unresolved from the median ± 1.58·IQR/√pairs', () => {
    const pairs = 1 + rng.int(200);
    const iqr = rng.uniform(0, 0.2);
    const bound = rng.uniform(0.01, 0.1);
    const at1 = (median: number) => ({ median, q1: median - iqr / 2, q3: median + iqr / 2, pairs });
    const half = (1.58 * (at1(1).q3 - at1(1).q1)) / Math.sqrt(pairs);
    const [lo, hi] = medianInterval(at1(1));
    expect(lo, at).toBeCloseTo(1 - half, 12);
    expect(hi, at).toBeCloseTo(1 + half, 12);
    // Centred at 1: within exactly when the half-width fits the bound.
    expect(withinBound(at1(1), bound), at).toBe(half <= bound ? 'within' : 'unresolved');
    // Centred beyond the bound by more than the half-width: outside, on either side.
    expect(withinBound(at1(1 + bound + half + 1e-6), bound), at).toBe('outside');
    expect(withinBound(at1(1 - bound - half - 1e-6), bound), at).toBe('outside');
    // Straddling the bound: unresolved (when the interval has width).
    if (half > 1e-9) expect(withinBound(at1(1 + bound), bound), at).toBe('unresolved');
    expect(() => withinBound(at1(1), 0)).toThrow(/bound must be > 0/);
    expect(() => medianInterval({ median: 1, q1: 1, q3: 1, pairs: 0 })).toThrow(/at least one pair/);
  });
});
