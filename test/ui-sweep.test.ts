// The sweep's numbers and verdict (src/ui/sweep-summary.ts) on random comparisons, seeded (the
// seed is printed on failure; TEST_SEED reruns it): every row is its point's DWDP ÷ DEP and
// breakdown; a categorical sweep whose ratio straddles 1 names where DWDP is ahead and behind
// (never "level throughout"); a numeric one names each crossing, between the points that
// bracket it.
import { describe, expect, it } from 'vitest';
import type { Comparison } from '../src/ui/compare.ts';
import type { GroupRunResult, StrategyName } from '../src/strategies/types.ts';
import { sweepSummary } from '../src/ui/sweep-summary.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const withSeed = (what: string) => `${what} (TEST_SEED=${seed})`;
let x = seed >>> 0 || 1;
const rand = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 0) / 2 ** 32;
};

function run(strategy: StrategyName, tps: number): GroupRunResult {
  const ranks = [0, 1].map((rank) => ({
    rank,
    computeMs: 1 + rand(),
    waitMs: rand(),
    syncMs: rand(),
  })) as unknown as GroupRunResult['ranks'];
  return {
    strategy,
    tpsPerGpu: tps,
    tpsPerUser: tps * (0.5 + rand()),
    makespanMs: 1000 / tps,
    ranks,
    hiddenPullFraction: rand(),
  } as GroupRunResult;
}

function comparison(field: 'tokens' | 'fix', values: string[], ratios: number[]): Comparison {
  return {
    strategies: ['dep', 'dwdp'],
    sweep: { field, label: field === 'tokens' ? 'input length' : 'contention fix', log: field === 'tokens', values },
    points: values.map((value, i) => {
      const dep = 100 + 1000 * rand();
      return { value, results: [run('dep', dep), run('dwdp', dep * ratios[i])] };
    }),
  } as unknown as Comparison;
}

describe('sweep summary', () => {
  it('a categorical sweep that straddles 1 says where DWDP is ahead and behind', () => {
    const below = 0.2 + 0.7 * rand();
    const above = 1.01 + rand();
    const c = comparison('fix', ['off', 'on'], [below, above]);
    const s = sweepSummary(c)!;
    expect(s.numeric).toBe(false);
    expect(s.crossovers).toEqual([]);
    for (const [i, r] of s.rows.entries()) {
      const [dep, dwdp] = c.points[i].results;
      expect(r.gpuRatio, withSeed('ratio')).toBeCloseTo(dwdp.tpsPerGpu / dep.tpsPerGpu, 12);
      expect(r.userRatio).toBeCloseTo(dwdp.tpsPerUser / dep.tpsPerUser, 12);
      expect(r.depBarrierMs).toBeCloseTo((dep.ranks[0].syncMs + dep.ranks[1].syncMs) / 2, 12);
      expect(r.dwdpPullWaitMs).toBeCloseTo((dwdp.ranks[0].waitMs + dwdp.ranks[1].waitMs) / 2, 12);
    }
    expect(s.verdict, withSeed('verdict')).toContain(`runs ${below.toFixed(3)}× → ${above.toFixed(3)}×`);
    expect(s.verdict).toContain('ahead at on; behind at off');
    expect(s.verdict).not.toMatch(/level|throughout/);
  });

  it('a numeric sweep names each crossing between the points that bracket it', () => {
    const values = [1024, 2048, 4096, 8192, 16384];
    // Down through 1 between points 1 and 2, up again between 3 and 4.
    const ratios = [1.2 + rand(), 1.01 + rand() * 0.2, 0.5 + rand() * 0.4, 0.6 + rand() * 0.3, 1.05 + rand()];
    const s = sweepSummary(comparison('tokens', values.map(String), ratios))!;
    expect(s.numeric).toBe(true);
    expect(s.crossovers.length, withSeed('crossings')).toBe(2);
    expect(s.crossovers[0]).toBeGreaterThan(2048);
    expect(s.crossovers[0]).toBeLessThan(4096);
    expect(s.crossovers[1]).toBeGreaterThan(8192);
    expect(s.crossovers[1]).toBeLessThan(16384);
    expect(s.verdict).toMatch(/crosses 1 at input length ≈ [\d,]+, [\d,]+/);
  });

  it('all above 1: ahead at every point', () => {
    const s = sweepSummary(comparison('tokens', ['1', '2', '3'], [1 + rand(), 1.01 + rand(), 1.5]))!;
    expect(s.verdict).toMatch(/DWDP ahead at every point$/);
  });
});
