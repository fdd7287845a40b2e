// The Mann–Whitney U test's exact null distribution and p-values against brute force: every
// one of the C(n+m, n) assignments of the pooled values to x enumerated, U counted pair by
// pair (x_i > y_j counts 1, x_i = y_j counts 1/2), on fresh random inputs with and without ties.
import { describe, expect, it } from 'vitest';
import {
  doubledMidRanks,
  mannWhitney,
  mannWhitneyCounts,
  MAX_SAMPLE,
  smallestP,
  subsetSumCounts,
} from '../src/util/rank-test.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const at = `(seed ${seed}; TEST_SEED=${seed} reruns)`;

/** U of x against y by pairs: 1 per x_i > y_j, 1/2 per tie. */
function pairU(x: readonly number[], y: readonly number[]): number {
  let u = 0;
  for (const a of x) for (const b of y) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u;
}

/** Every way to split `pool` into x (n values) and the rest: each split's x and y. */
function* splits(pool: readonly number[], n: number): Generator<[number[], number[]]> {
  const N = pool.length;
  for (let mask = 0; mask < 1 << N; mask++) {
    let bits = 0;
    for (let k = mask; k; k &= k - 1) bits++;
    if (bits !== n) continue;
    const x: number[] = [];
    const y: number[] = [];
    pool.forEach((v, i) => ((mask >> i) & 1 ? x : y).push(v));
    yield [x, y];
  }
}

/** Brute-force two-sided p: the share of splits whose U is at least as far from nm/2 as the observed one. */
function bruteP(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const m = y.length;
  const d = Math.abs(pairU(x, y) - (n * m) / 2);
  let hit = 0;
  let all = 0;
  for (const [a, b] of splits([...x, ...y], n)) {
    all++;
    if (Math.abs(pairU(a, b) - (n * m) / 2) >= d - 1e-9) hit++; // U is a multiple of 1/2: exact
  }
  return hit / all;
}

function binom(N: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (N - k + i)) / i;
  return Math.round(c);
}

const size = () => 1 + rng.int(8);
/** n distinct values (continuous draws; a repeat is redrawn so "no ties" holds by construction). */
function distinct(n: number, taken = new Set<number>()): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const v = rng.uniform(0.5, 1.5);
    if (!taken.has(v)) {
      taken.add(v);
      out.push(v);
    }
  }
  return out;
}

describe('Mann–Whitney U: the exact null distribution', () => {
  it(`the DP over (n, m) counts every assignment of the ranks 1 … n+m, as enumeration does ${at}`, () => {
    for (let trial = 0; trial < 6; trial++) {
      const n = size();
      const m = size();
      const c = mannWhitneyCounts(n, m);
      const want = new Array<number>(n * m + 1).fill(0);
      for (const [x, y] of splits(
        [...Array(n + m).keys()].map((i) => i + 1),
        n,
      ))
        want[pairU(x, y)]++;
      expect([...c], `n ${n}, m ${m} ${at}`).toEqual(want);
      expect(c.reduce((a, b) => a + b, 0)).toBe(binom(n + m, n));
      for (let u = 0; u <= n * m; u++) expect(c[u]).toBe(c[n * m - u]); // symmetric around nm/2
    }
    // Exact integers at a size enumeration cannot reach: C(40, 20) = 137846528820 < 2^53.
    const big = mannWhitneyCounts(20, 20);
    expect(big.reduce((a, b) => a + b, 0)).toBe(137846528820);
  });

  it(`without ties, the mid-ranks' subset-sum DP gives the same distribution (2W = 2U + n(n+1)) ${at}`, () => {
    for (let trial = 0; trial < 6; trial++) {
      const n = size();
      const m = size();
      const c = mannWhitneyCounts(n, m);
      const s = subsetSumCounts(doubledMidRanks(distinct(n + m)), n);
      for (let t = 0; t < s.length; t++) {
        const u2 = t - n * (n + 1);
        const want = u2 >= 0 && u2 % 2 === 0 && u2 / 2 <= n * m ? c[u2 / 2] : 0;
        expect(s[t], `n ${n}, m ${m}, 2W ${t} ${at}`).toBe(want);
      }
    }
  });

  it('mid-ranks: ties share the mean of the positions they span (doubled)', () => {
    expect(doubledMidRanks([3, 1, 2])).toEqual([6, 2, 4]);
    expect(doubledMidRanks([0.5, 0.7, 0.5, 0.7, 0.7, 0.1])).toEqual([5, 10, 5, 10, 10, 2]); // (2+3), (4+5+6)·2/3
  });
});

describe('Mann–Whitney U: p-values', () => {
  it(`untied values: p equals the enumeration's, U counts the pairs ${at}`, () => {
    for (let trial = 0; trial < 12; trial++) {
      const taken = new Set<number>();
      const x = distinct(size(), taken);
      const y = distinct(size(), taken);
      // Shift x by a random amount so separated and mixed samples both occur.
      const shift = rng.uniform(-1, 1);
      const xs = x.map((v) => v + shift);
      if (new Set([...xs, ...y]).size < xs.length + y.length) continue; // a shift that made a tie: untied case only
      const t = mannWhitney(xs, y);
      expect(t.ties).toBe(false);
      expect(t.u).toBe(pairU(xs, y));
      expect(Math.abs(t.p - bruteP(xs, y)), `x ${xs}, y ${y} ${at}`).toBeLessThan(1e-12);
    }
  });

  it(`tied values: p is the exact permutation p of the mid-ranks, as enumeration gives ${at}`, () => {
    for (let trial = 0; trial < 12; trial++) {
      const n = size();
      const m = size();
      const levels = 1 + rng.int(4); // few levels: ties by construction once n + m > levels
      const draw = (k: number) => [...Array(k)].map(() => 1 + 0.1 * rng.int(levels));
      const x = draw(n);
      const y = draw(m);
      const t = mannWhitney(x, y);
      expect(t.ties).toBe(new Set([...x, ...y]).size < n + m);
      expect(t.u).toBe(pairU(x, y)); // mid-ranks: a tie counts 1/2
      expect(Math.abs(t.p - bruteP(x, y)), `x ${x}, y ${y} ${at}`).toBeLessThan(1e-12);
    }
    expect(mannWhitney([1, 1, 1], [1, 1]).p).toBe(1); // all tied: nothing to tell apart
    // Ties make the distribution lopsided: mid-ranks 1.5, 1.5, 3, x one value. x = 3 is 1.5 from
    // E[W] = 2, only itself as far: p = 1/3 (twice its one tail would be 2/3); x = 1.5: p = 1.
    expect(mannWhitney([2], [1, 1]).p).toBeCloseTo(1 / 3, 15);
    expect(mannWhitney([1], [1, 2]).p).toBe(1);
  });

  it(`p is symmetric: the same for (y, x) and for the mirrored values (1/x, 1/y) ${at}`, () => {
    for (let trial = 0; trial < 12; trial++) {
      const tied = trial % 2 === 1;
      const draw = (k: number) => [...Array(k)].map(() => (tied ? 1 + 0.1 * rng.int(3) : rng.uniform(0.5, 1.5)));
      const x = draw(size());
      const y = draw(size());
      const p = mannWhitney(x, y).p;
      expect(mannWhitney(y, x).p, at).toBe(p);
      const inv = (v: number[]) => v.map((a) => 1 / a);
      expect(Math.abs(mannWhitney(inv(x), inv(y)).p - p), at).toBeLessThan(1e-12);
    }
  });

  it(`the smallest attainable p is 2 / C(n+m, n), reached exactly by full separation, and no split goes below it ${at}`, () => {
    expect(smallestP(3, 3)).toBeCloseTo(0.1, 15); // 3 rounds can never reach p < 0.05
    expect(smallestP(4, 4)).toBeCloseTo(2 / 70, 15);
    expect(smallestP(1, 1)).toBe(1);
    for (let trial = 0; trial < 6; trial++) {
      const n = size();
      const m = size();
      expect(Math.abs(smallestP(n, m) - 2 / binom(n + m, n))).toBeLessThan(1e-15);
      const taken = new Set<number>();
      const y = distinct(m, taken);
      // Every x above every y, then every x below: both extremes reach the minimum.
      const above = distinct(n, taken).map((v) => v + 2);
      const below = above.map((v) => v - 10);
      for (const x of [above, below]) {
        const t = mannWhitney(x, y);
        expect(t.minP).toBe(smallestP(n, m));
        expect(Math.abs(t.p - t.minP), at).toBeLessThan(1e-15);
      }
      const pool = [...above, ...y];
      let least = 1;
      for (const [a, b] of splits(pool, n)) least = Math.min(least, mannWhitney(a, b).p);
      expect(Math.abs(least - smallestP(n, m)), at).toBeLessThan(1e-15);
    }
  });

  it('refuses empty, oversized or non-finite samples, naming them', () => {
    expect(() => mannWhitney([], [1])).toThrow(/mannWhitney: n must be an integer in \[1, 100\] \(got 0\)/);
    expect(() => mannWhitney([1], [1, NaN])).toThrow(/mannWhitney: y\[1\] is NaN \(must be a finite number\)/);
    expect(() => mannWhitneyCounts(2, MAX_SAMPLE + 1)).toThrow(/m must be an integer in \[1, 100\] \(got 101\)/);
    expect(() => subsetSumCounts([2, 4], 3)).toThrow(/n must be an integer in \[1, 2\]/);
  });
});
