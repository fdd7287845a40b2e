// The Mann–Whitney U test (Wilcoxon rank-sum), two-sided, with its exact null distribution.
//
// Two samples x (n values) and y (m values). Under the null hypothesis all N = n + m values
// are exchangeable: every one of the C(N, n) ways to pick which ranks belong to x is equally
// likely. The statistic, with the N values ranked together (ties get mid-ranks: the mean of
// the positions they span):
//
//   W = Σ rank(x_i)                     (x's rank sum)
//   U = W − n(n+1)/2                    (without ties: the pairs (i, j) with x_i > y_j)
//   E[W] = n(N+1)/2,  E[U] = nm/2       (the same with ties: the mid-ranks sum to N(N+1)/2)
//   p = P(|W − E[W]| ≥ |w − E[W]|)      (two-sided, over the C(N, n) equally likely assignments)
//
// Without ties, U's distribution is the DP over (n, m) on the largest of the N values: it is
// x's (it exceeds all m y's, U gains m) or y's (U gains nothing):
//
//   c(n, m, u) = c(n−1, m, u−m) + c(n, m−1, u),   c(0, m, 0) = c(n, 0, 0) = 1
//
// counting assignments (Σ_u c(n, m, u) = C(N, n)). With ties it is the exact permutation
// distribution of the mid-ranks: the sums of all n-element subsets of the N mid-ranks, by a
// subset-sum DP over the doubled (integer) mid-ranks. Without ties that DP gives the same
// distribution as the one over (n, m), symmetric around its mean. With ties it need not be
// (mid-ranks 1.5, 1.5, 3 and n = 1: W is 1.5 twice as often as 3, around E[W] = 2), which is
// why p is defined by the distance from E[W] rather than as twice one tail. Either way p for
// (x, y) equals p for (y, x): y's rank sum is N(N+1)/2 − W, as far from its mean as W is.
//
// Counts are float64: exact integers while C(N, n) ≤ 2^53 (N ≤ 56 with n = m); beyond, each
// count carries a relative rounding of about 1e-16, far below any threshold read from p.
//
// The smallest p any (n, m) can reach is that of full separation (every x above every y, or
// below), 2 / C(N, n) without ties; ties can only raise it. So with n = m = 3, p ≥ 0.1: three
// rounds can never reach p < 0.05.
//
// Pure.

/** The test's name, as reports and JSON name it. */
export const MANN_WHITNEY = 'Mann–Whitney U (Wilcoxon rank-sum), two-sided, exact';

/**
 * The most values either sample may hold. The DP over (n, m) costs n·m·(n·m) additions, and the
 * tied case a table of (n + 1) × (N·(N + 1) + 1) float64 with N = n + m (measured here with tsx:
 * 0.64 s a row at 100 × 100 tied; at 200 × 200 about 10 s and 258 MB a row, estimated from it).
 */
export const MAX_SAMPLE = 100;

function checkSizes(fn: string, n: number, m: number): void {
  for (const [k, v] of [
    ['n', n],
    ['m', m],
  ] as const)
    if (!(Number.isInteger(v) && v >= 1 && v <= MAX_SAMPLE))
      throw new Error(`${fn}: ${k} must be an integer in [1, ${MAX_SAMPLE}] (got ${v})`);
}

/**
 * c[u] for u = 0 … n·m: how many of the C(n+m, n) assignments of the ranks 1 … n+m (no ties)
 * to x give U = u (the header's DP over (n, m)).
 */
export function mannWhitneyCounts(n: number, m: number): Float64Array {
  checkSizes('mannWhitneyCounts', n, m);
  // prev[j]: the counts of (i − 1, j); cur[j]: of (i, j). c(0, j) = [1].
  let prev: Float64Array[] = [...Array(m + 1)].map(() => Float64Array.of(1));
  for (let i = 1; i <= n; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)]; // c(i, 0) = [1]
    for (let j = 1; j <= m; j++) {
      const c = new Float64Array(i * j + 1);
      const xTop = prev[j]; // c(i−1, j, u − j): the largest value is x's
      for (let u = 0; u < xTop.length; u++) c[u + j] += xTop[u];
      const yTop = cur[j - 1]; // c(i, j−1, u): the largest value is y's
      for (let u = 0; u < yTop.length; u++) c[u] += yTop[u];
      cur.push(c);
    }
    prev = cur;
  }
  return prev[m];
}

/**
 * Mid-ranks of `values`, doubled so they are integers: 2 · (the mean of the 1-based positions
 * a run of equal values spans in sorted order). Without ties: 2, 4, …, 2N in value order.
 */
export function doubledMidRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Array<number>(values.length);
  for (let lo = 0; lo < order.length;) {
    let hi = lo;
    while (hi + 1 < order.length && values[order[hi + 1]] === values[order[lo]]) hi++;
    for (let k = lo; k <= hi; k++) out[order[k]] = lo + 1 + (hi + 1); // first + last position
    lo = hi + 1;
  }
  return out;
}

/**
 * s[t] for t = 0 … Σ ranks2: how many n-element subsets of `ranks2` (doubled mid-ranks, any
 * multiset of non-negative integers) sum to t. The permutation distribution of 2W.
 */
export function subsetSumCounts(ranks2: readonly number[], n: number): Float64Array {
  if (!(Number.isInteger(n) && n >= 1 && n <= ranks2.length && ranks2.length <= 2 * MAX_SAMPLE))
    throw new Error(
      `subsetSumCounts: n must be an integer in [1, ${ranks2.length}] and at most ${2 * MAX_SAMPLE} ranks (got n = ${n}, ${ranks2.length} ranks)`,
    );
  const bad = ranks2.findIndex((v) => !(Number.isInteger(v) && v >= 0));
  if (bad >= 0) throw new Error(`subsetSumCounts: rank ${bad} is ${ranks2[bad]} (must be an integer ≥ 0)`);
  const total = ranks2.reduce((a, b) => a + b, 0);
  const dp = [...Array(n + 1)].map(() => new Float64Array(total + 1));
  dp[0][0] = 1;
  let reach = 0; // the largest sum reachable so far
  ranks2.forEach((v, i) => {
    reach += v;
    for (let k = Math.min(i + 1, n); k >= 1; k--) {
      const from = dp[k - 1];
      const to = dp[k];
      for (let t = reach; t >= v; t--) to[t] += from[t - v];
    }
  });
  return dp[n];
}

/** One test's result. */
export interface RankTest {
  /** MANN_WHITNEY. */
  test: string;
  n: number;
  m: number;
  /** U = W − n(n+1)/2 (with ties: mid-ranks, so a multiple of 1/2). */
  u: number;
  /** Two-sided exact p (the header's). */
  p: number;
  /** Whether some values were equal (then p is the mid-ranks' permutation distribution). */
  ties: boolean;
  /** The smallest p these n, m can reach (untied values, full separation): smallestP(n, m). */
  minP: number;
}

/** 2 / C(n+m, n), capped at 1: the smallest two-sided p of n and m untied values (full separation). */
export function smallestP(n: number, m: number): number {
  checkSizes('smallestP', n, m);
  let c = 1;
  for (let k = 1; k <= n; k++) c = (c * (m + k)) / k; // C(m + k, k), built up
  return Math.min(1, 2 / c);
}

/** The two-sided Mann–Whitney U test of x against y (finite values, at least one in each). */
export function mannWhitney(x: readonly number[], y: readonly number[]): RankTest {
  const n = x.length;
  const m = y.length;
  checkSizes('mannWhitney', n, m);
  for (const [name, s] of [
    ['x', x],
    ['y', y],
  ] as const) {
    const bad = s.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`mannWhitney: ${name}[${bad}] is ${s[bad]} (must be a finite number)`);
  }
  const ranks2 = doubledMidRanks([...x, ...y]);
  const w2 = ranks2.slice(0, n).reduce((a, b) => a + b, 0);
  const u2 = w2 - n * (n + 1); // 2U
  const ties = new Set([...x, ...y]).size < n + m;
  let tail = 0;
  let all = 0;
  if (!ties) {
    const c = mannWhitneyCounts(n, m);
    const d = Math.abs(u2 - n * m); // |2U − nm|
    c.forEach((k, u) => {
      all += k;
      if (Math.abs(2 * u - n * m) >= d) tail += k;
    });
  } else {
    const s = subsetSumCounts(ranks2, n);
    const mean2 = n * (n + m + 1); // 2 E[W]
    const d = Math.abs(w2 - mean2);
    s.forEach((k, t) => {
      all += k;
      if (Math.abs(t - mean2) >= d) tail += k;
    });
  }
  return { test: MANN_WHITNEY, n, m, u: u2 / 2, p: Math.min(1, tail / all), ties, minP: smallestP(n, m) };
}
