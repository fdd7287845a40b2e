// Stragglers at a collective: when each participant reaches it late by an independent random
// delay, the collective proceeds when the LAST one is there, so the group pays the maximum of
// the delays, not their mean (system noise amplified by synchronization: Petrini, Kerbyson &
// Pakin, "The Case of the Missing Supercomputer Performance", SC 2003; Hoefler, Schneider &
// Lumsdaine, "Characterizing the Influence of System Noise on Large-Scale Applications by
// Simulation", SC 2010 — a collective over N processes waits for the slowest of N delays).
//
// Law: participant r arrives (in the timeline, without delay) at a_r and is ready at a_r + d_r,
// d_r ~ Exponential(mean θ), independent across participants and collectives (the memoryless
// law of host-side interruptions: scheduler preemption, interpreter pauses, a late launch after
// a host round trip). The collective is released at X = max_r (a_r + d_r). Its expectation, with
// A = max_r a_r and c_r = exp(−(A − a_r)/θ) ∈ (0, 1]:
//
//   P(X ≤ t) = Π_r (1 − e^{−(t − a_r)/θ})             for t ≥ A (0 below)
//   E[X] = A + ∫_A^∞ P(X > t) dt
//        = A + θ · ∫_0^1 [1 − Π_r (1 − c_r·x)] / x dx   (x = e^{−(t − A)/θ})
//
// The integrand is a polynomial of degree N − 1 in x, so Gauss–Legendre quadrature with
// ⌈N/2⌉ nodes on [0, 1] is exact (up to rounding); no alternating sums, so no cancellation at
// N = 64. Two closed forms it reduces to:
//   every a_r equal (c_r = 1):  ∫_0^1 (1 − (1 − x)^N)/x dx = H_N = 1 + 1/2 + … + 1/N,
//                               so E[X] = A + θ·H_N   (Rényi: the maximum of N iid
//                               exponentials is a sum of independent Exp(θ/k), k = 1 … N);
//   one participant far behind (c_r → 0 for the others):  E[X] → A + θ.
// A timeline whose op durations already include each participant's MEAN delay (a cost model
// calibrated on measured kernel times: the mean slowdown is in its efficiencies, for every
// strategy alike) must add only what the collective adds beyond that mean:
//
//   release = E[max_r (a_r + d_r)] − θ                 (`stragglerRelease`; ≥ A, since E[X] ≥ A + θ)
//
// θ·(H_N − 1) after the common arrival in a balanced group (N = 2: 0.5·θ; N = 4: 1.083·θ;
// N = 8: 1.718·θ; N = 72: 3.86·θ), nothing for N = 1, and → 0 where one participant is late by
// much more than θ anyway: jitter costs where the ranks are otherwise in step.
//
// Pure functions; the scheduler (scheduler.ts) calls stragglerRelease at a barrier whose op
// carries a mean delay (BarrierOp.straggleMs); nothing here knows what causes the delay.

/** H_N = Σ_{k=1..N} 1/k. */
export function harmonic(n: number): number {
  let h = 0;
  for (let k = n; k >= 1; k--) h += 1 / k;
  return h;
}

/** Gauss–Legendre nodes and weights on [0, 1] with m points (exact for polynomials of degree ≤ 2m − 1), cached. */
const RULES = new Map<number, { x: Float64Array; w: Float64Array }>();
export function gaussLegendre01(m: number): { x: Float64Array; w: Float64Array } {
  if (!(Number.isInteger(m) && m >= 1)) throw new Error(`straggle: quadrature needs an integer ≥ 1 points, got ${m}`);
  const cached = RULES.get(m);
  if (cached) return cached;
  const x = new Float64Array(m);
  const w = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    // Newton on P_m from Tricomi's initial guess for the i-th root in (−1, 1).
    let z = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let dp = 1;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= m; k++) {
        const p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      const pm = m === 1 ? z : p1;
      const pPrev = m === 1 ? 1 : p0;
      dp = (m * (z * pm - pPrev)) / (z * z - 1);
      const dz = pm / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    // Map (−1, 1) → (0, 1): x = (1 − z)/2, weight halves.
    x[i] = (1 - z) / 2;
    w[i] = 1 / ((1 - z * z) * dp * dp);
  }
  const rule = { x, w };
  RULES.set(m, rule);
  return rule;
}

/**
 * Expected release time of a collective whose participants arrive at `arrivals` (ms) and are
 * each ready an independent Exponential(mean `meanDelayMs`) later: E[max_r (a_r + d_r)].
 * meanDelayMs = 0: max_r a_r.
 */
export function expectedRelease(arrivals: readonly number[], meanDelayMs: number): number {
  if (arrivals.length === 0) throw new Error('straggle: a collective needs at least one participant');
  if (!(meanDelayMs >= 0) || !Number.isFinite(meanDelayMs))
    throw new Error(`straggle: the mean delay must be a finite number ≥ 0 ms, got ${meanDelayMs}`);
  let A = -Infinity;
  for (const a of arrivals) {
    if (!Number.isFinite(a)) throw new Error(`straggle: arrival times must be finite, got ${a}`);
    if (a > A) A = a;
  }
  if (meanDelayMs === 0) return A;
  const c = arrivals.map((a) => Math.exp(-(A - a) / meanDelayMs));
  const { x, w } = gaussLegendre01(Math.ceil(arrivals.length / 2));
  let integral = 0;
  for (let i = 0; i < x.length; i++) {
    let prod = 1;
    for (const cr of c) prod *= 1 - cr * x[i];
    integral += (w[i] * (1 - prod)) / x[i];
  }
  return A + meanDelayMs * integral;
}

/**
 * When a collective releases in a timeline whose arrivals already include each participant's mean
 * delay θ: E[max_r (a_r + d_r)] − θ, never before the last arrival.
 */
export function stragglerRelease(arrivals: readonly number[], meanDelayMs: number): number {
  const A = Math.max(...arrivals);
  return Math.max(A, expectedRelease(arrivals, meanDelayMs) - meanDelayMs);
}
