// A pinned baseline against the current run (src/ui/baseline.ts), on fresh random run results
// (seeded; the seed is printed in the test names; TEST_SEED reruns): every rate ratio, ratio of
// ratios and breakdown delta against an independent float64 computation from the ranks' raw
// numbers (the category → column mapping written out here, not read from the table), the
// configuration diff, the provenance differences, the within-spread verdict of repeated runs,
// and the stored form round-tripping.
import { describe, expect, it } from 'vitest';
import type { Comparison, ComparisonPoint } from '../src/ui/compare.ts';
import {
  baselineJson,
  baselinePointFor,
  diffRuns,
  parseBaselineJson,
  pinnable,
  provenanceDifferences,
  spreadVerdict,
  withoutTimelines,
  type PinnedBaseline,
} from '../src/ui/baseline.ts';
import { defaultForm, type FormState } from '../src/ui/fields.ts';
import type { GroupRunResult, StrategyName } from '../src/strategies/types.ts';
import type { Provenance } from '../src/timeline/provenance.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';
import { PAPER_COLUMNS, PAPER_COLUMN_OF } from './paper-columns.ts';

const seed = testSeed();
const withSeed = (what: string) => `${what} (TEST_SEED=${seed})`;
const rng = new Rng(seed);

const COLUMN_OF = PAPER_COLUMN_OF;

function randomRun(strategy: StrategyName, provenance: Provenance, ranks: number): GroupRunResult {
  const rs = Array.from({ length: ranks }, (_, rank) => {
    const computeByCategory: Record<string, number> = {};
    for (const c of Object.keys(COLUMN_OF)) if (rng.next() < 0.8) computeByCategory[c] = rng.uniform(0, 5);
    return {
      rank,
      computeMs: 0,
      computeByCategory,
      pullMs: rng.next() < 0.3 ? 0 : rng.uniform(0, 3),
      waitMs: strategy === 'dwdp' ? rng.uniform(0, 2) : 0,
      syncMs: strategy === 'dep' ? rng.uniform(0, 2) : 0,
      commMs: strategy === 'dep' ? rng.uniform(0, 2) : 0,
      idleMs: 0,
      endMs: 1,
      bytesPulled: 0,
      bytesSent: 0,
      tokens: 1,
      requestLengths: [1],
      residentWeightBytes: 1,
      prefetchBufferBytes: 0,
    };
  });
  return {
    strategy,
    tpsPerGpu: rng.uniform(10, 1000),
    tpsPerUser: rng.uniform(1, 100),
    makespanMs: rng.uniform(1, 50),
    ranks: rs,
    intervals: [{ rank: 0, lane: 'compute', label: 'x', category: 'gemm', startMs: 0, endMs: 1 }],
    provenance,
  } as unknown as GroupRunResult;
}

const rates = (r: GroupRunResult) => ({
  strategy: r.strategy,
  tpsPerGpu: r.tpsPerGpu,
  tpsPerUser: r.tpsPerUser,
  makespanMs: r.makespanMs,
});

function randomComparison(
  strategies: StrategyName[],
  provenance: Provenance,
  form: FormState,
  opts: { reps?: number; values?: string[] } = {},
): Comparison {
  const ranks = 2 + rng.int(6);
  const values = opts.values ?? [null];
  const points: ComparisonPoint[] = values.map((value) => {
    const runs = Array.from({ length: opts.reps ?? 1 }, () => strategies.map((s) => randomRun(s, provenance, ranks)));
    if (!opts.reps) return { value, results: runs[0] };
    const shown = rng.int(runs.length);
    return { value, results: runs[shown], repeats: runs.map((rs) => rs.map(rates)), shownRepetition: shown };
  });
  return {
    source: provenance.kind,
    provenance: 'test',
    form,
    query: '',
    modelName: 'tiny',
    strategies,
    sweep: null,
    points,
    ratios: [],
    startedAt: new Date(Date.UTC(2026, 0, 1 + rng.int(300))).toISOString(),
    elapsedMs: 1,
  } as Comparison;
}

/** Mean over ranks of one column, summed straight from the raw numbers. */
function column(r: GroupRunResult, key: string): number {
  let sum = 0;
  for (const k of r.ranks) {
    if (key === 'p2pExposed') sum += k.waitMs;
    else if (key === 'p2pBusy') sum += k.pullMs;
    else if (key === 'synchronization') sum += k.syncMs;
    else {
      if (key === 'communication') sum += k.commMs;
      for (const [c, v] of Object.entries(k.computeByCategory)) if (COLUMN_OF[c] === key) sum += v!;
    }
  }
  return sum / r.ranks.length;
}

const measured = (adapter: string): Extract<Provenance, { kind: 'measured' }> => ({
  kind: 'measured',
  adapter,
  timer: 'timestamp-query',
  clock: 'virtual',
});
const modeled = (profile: string): Provenance => ({
  kind: 'modeled',
  profile,
  profileName: profile,
  calibration: 'defaults',
});

describe('a pinned baseline against the current run', () => {
  it(withSeed('rates, ratios of ratios and breakdown deltas match an independent computation'), () => {
    for (let trial = 0; trial < 20; trial++) {
      const all: StrategyName[] = ['dp', 'dep', 'dwdp'];
      const bs = rng.next() < 0.5 ? all : (['dep', 'dwdp'] as StrategyName[]);
      const cs = rng.next() < 0.5 ? all : (['dep', 'dwdp'] as StrategyName[]);
      const form = defaultForm();
      const changed: FormState = { ...form, tokens: String(16 + rng.int(1000)), seed: String(rng.int(99)) };
      const base = randomComparison(bs, modeled('gb200-nvl72'), form);
      const cur = randomComparison(cs, modeled('gb200-nvl72'), changed);
      const d = diffRuns(base, 0, cur, 0);
      expect(d.strategies.map((s) => s.strategy)).toEqual(cs.filter((s) => bs.includes(s)));
      expect(d.onlyBaseline).toEqual(bs.filter((s) => !cs.includes(s)));
      expect(d.onlyCurrent).toEqual(cs.filter((s) => !bs.includes(s)));
      const keys = PAPER_COLUMNS;
      for (const s of d.strategies) {
        const b = base.points[0].results[bs.indexOf(s.strategy)];
        const c = cur.points[0].results[cs.indexOf(s.strategy)];
        expect(s.tpsPerGpu.ratio).toBeCloseTo(c.tpsPerGpu / b.tpsPerGpu, 12);
        expect(s.tpsPerUser.ratio).toBeCloseTo(c.tpsPerUser / b.tpsPerUser, 12);
        expect(s.makespanMs.ratio).toBeCloseTo(c.makespanMs / b.makespanMs, 12);
        expect(s.tpsPerGpu.spread).toBeUndefined();
        expect(s.breakdown.map((x) => x.key)).toEqual(keys);
        for (const x of s.breakdown) {
          const want = column(c, x.key) - column(b, x.key);
          expect(x.baseline).toBeCloseTo(column(b, x.key), 12);
          expect(x.delta).toBeCloseTo(want, 12);
          const rel = column(b, x.key) === 0 ? null : want / column(b, x.key);
          if (rel === null) expect(x.relative).toBeNull();
          else expect(x.relative!).toBeCloseTo(rel, 9);
        }
        // The seven summed columns add up to each side's mean stream time.
        const summed = s.breakdown.filter((x) => x.inSum).reduce((a, x) => a + x.current, 0);
        const stream = c.ranks.reduce(
          (a, k) => a + Object.values(k.computeByCategory).reduce((p, v) => p + v!, 0) + k.waitMs + k.syncMs + k.commMs,
          0,
        );
        expect(summed).toBeCloseTo(stream / c.ranks.length, 9);
      }
      // DWDP/DEP and DP/DEP on both sides, current ÷ baseline.
      const pairs = [
        ['dwdp', 'dep'],
        ['dp', 'dep'],
      ] as const;
      const want: { name: string; ratio: number }[] = [];
      for (const [a, bn] of pairs) {
        if (!bs.includes(a) || !cs.includes(a)) continue;
        const rb = (s: StrategyName, m: 'tpsPerGpu' | 'tpsPerUser') => base.points[0].results[bs.indexOf(s)][m];
        const rc = (s: StrategyName, m: 'tpsPerGpu' | 'tpsPerUser') => cur.points[0].results[cs.indexOf(s)][m];
        want.push({
          name: `${a}/${bn} TPS/GPU`,
          ratio: rc(a, 'tpsPerGpu') / rc(bn, 'tpsPerGpu') / (rb(a, 'tpsPerGpu') / rb(bn, 'tpsPerGpu')),
        });
        want.push({
          name: `${a}/${bn} TPS/user`,
          ratio: rc(a, 'tpsPerUser') / rc(bn, 'tpsPerUser') / (rb(a, 'tpsPerUser') / rb(bn, 'tpsPerUser')),
        });
      }
      expect(d.ratios.map((r) => r.name)).toEqual(want.map((w) => w.name));
      d.ratios.forEach((r, i) => expect(r.ratio).toBeCloseTo(want[i].ratio, 12));
      // The configuration diff is the stale banner's.
      expect(d.changes.map((c) => c.key).sort()).toEqual(
        (['tokens', 'seed'] as const).filter((k) => form[k] !== changed[k]).sort(),
      );
      expect(d.provenance).toEqual([]);
    }
  });

  it('says where the sources differ: measured vs modeled, adapters, profiles', () => {
    expect(provenanceDifferences(measured('a'), modeled('gb200-nvl72'))).toEqual([
      { field: 'source', baseline: 'measured here', current: 'modeled' },
    ]);
    expect(provenanceDifferences(measured('a'), measured('b'))).toEqual([
      { field: 'adapter', baseline: 'a', current: 'b' },
    ]);
    expect(provenanceDifferences(measured('a'), { ...measured('a'), clock: 'wall' })).toEqual([
      { field: 'clock', baseline: 'virtual', current: 'wall' },
    ]);
    expect(provenanceDifferences(modeled('h100-hgx'), modeled('gb200-nvl72'))).toEqual([
      { field: 'profile', baseline: 'h100-hgx', current: 'gb200-nvl72' },
    ]);
    expect(provenanceDifferences(modeled('x'), modeled('x'))).toEqual([]);
    const d = diffRuns(
      randomComparison(['dep', 'dwdp'], measured('swiftshader'), defaultForm()),
      0,
      randomComparison(['dep', 'dwdp'], modeled('gb200-nvl72'), defaultForm()),
      0,
    );
    expect(d.provenance.map((p) => p.field)).toEqual(['source']);
  });

  it(withSeed('repeated runs: within the spread exactly when the two ranges overlap'), () => {
    for (let trial = 0; trial < 50; trial++) {
      const a = Array.from({ length: 2 + rng.int(4) }, () => rng.uniform(0, 10));
      const b = Array.from({ length: 2 + rng.int(4) }, () => rng.uniform(0, 10));
      // Independent: some value of one side inside the other's range, or the ranges nest.
      const inside = (x: number, ys: number[]) => Math.min(...ys) <= x && x <= Math.max(...ys);
      const overlap = a.some((x) => inside(x, b)) || b.some((x) => inside(x, a));
      expect(spreadVerdict(a, b)!.withinSpread).toBe(overlap);
      // Shifted past the other's maximum: never within.
      const shift = Math.max(...b) - Math.min(...a) + 1;
      expect(
        spreadVerdict(
          a.map((x) => x + shift),
          b,
        )!.withinSpread,
      ).toBe(false);
    }
    expect(spreadVerdict([1], [1, 2])).toBeUndefined();
    expect(spreadVerdict(undefined, [1, 2])).toBeUndefined();
    // Through diffRuns: each strategy's repetitions and each ratio's.
    const reps = 2 + rng.int(3);
    const base = randomComparison(['dep', 'dwdp'], measured('a'), defaultForm(), { reps });
    const cur = randomComparison(['dep', 'dwdp'], measured('a'), defaultForm(), { reps: reps + 1 });
    const d = diffRuns(base, 0, cur, 0);
    for (const [j, s] of d.strategies.entries()) {
      const bv = base.points[0].repeats!.map((r) => r[j].tpsPerGpu);
      const cv = cur.points[0].repeats!.map((r) => r[j].tpsPerGpu);
      expect(s.tpsPerGpu.spread).toEqual({
        baseline: { min: Math.min(...bv), max: Math.max(...bv), n: reps },
        current: { min: Math.min(...cv), max: Math.max(...cv), n: reps + 1 },
        withinSpread: Math.min(...bv) <= Math.max(...cv) && Math.min(...cv) <= Math.max(...bv),
      });
    }
    const ratioValues = (c: Comparison) => c.points[0].repeats!.map((r) => r[1].tpsPerGpu / r[0].tpsPerGpu);
    const r = d.ratios.find((x) => x.name === 'dwdp/dep TPS/GPU')!;
    expect(r.spread!.baseline.min).toBeCloseTo(Math.min(...ratioValues(base)), 12);
    expect(r.spread!.current.max).toBeCloseTo(Math.max(...ratioValues(cur)), 12);
  });

  it(withSeed('the baseline point follows the swept value; the stored form round-trips'), () => {
    const values = ['1', '2', '4'];
    const base = randomComparison(['dep', 'dwdp'], modeled('x'), defaultForm(), { values });
    const b: PinnedBaseline = { comparison: base, point: rng.int(3), pinnedAt: '2026-02-03T04:05:06.000Z' };
    const cur = randomComparison(['dep', 'dwdp'], modeled('x'), defaultForm(), { values: ['4', '8'] });
    expect(baselinePointFor(b, cur, 0)).toBe(2);
    expect(baselinePointFor(b, cur, 1)).toBe(b.point);
    expect(parseBaselineJson(baselineJson(b))).toEqual(b);
    const slim = withoutTimelines(b);
    expect(slim.comparison.points.every((p) => p.results.every((r) => r.intervals.length === 0))).toBe(true);
    expect(parseBaselineJson(baselineJson(slim))).toEqual(slim);
    // An export's extra keys do not travel into a pinned baseline.
    const loaded = { ...base, baseline: {}, changedSince: [] } as unknown as Comparison;
    expect(pinnable(loaded)).toEqual(base);
    expect(() => parseBaselineJson(baselineJson({ ...b, point: 7 }))).toThrow(
      /pinnedPoint 7 is not one of its points \(0 to 2\)/,
    );
    expect(() => diffRuns(base, 3, cur, 0)).toThrow('baseline point 3 does not exist: the baseline has points 0 to 2');
  });
});
