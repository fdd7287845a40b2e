// The simulated benchmark run behind the reported median TTFT (src/sim/e2e/ttft-queue.ts),
// on random stations against closed forms: one client waits only its own step; a first burst
// on round-robin workers queues in whole steps, batch after batch; the per-step token law of
// MTP against its enumeration; and the run is a pure function of its input and seed.
import { describe, expect, it } from 'vitest';
import { acceptedTokens } from '../src/sim/e2e/generation.ts';
import { acceptedTokenMoments, nthSmallest, simulateTtft, type TtftSimInput } from '../src/sim/e2e/ttft-queue.ts';
import { bisect } from '../src/sim/e2e/rate-match.ts';
import { benchmarkRequests } from '../src/sim/e2e/scenario.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';
import { referenceMedian } from './median-reference.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;

/** Random stations: a context curve increasing in b, a decode step increasing in b. */
function stations(): Omit<TtftSimInput, 'concurrency' | 'requests' | 'seed'> {
  const t1 = rng.uniform(50, 500);
  const slope = rng.uniform(0.3, 1);
  const g1 = rng.uniform(5, 50);
  const len = rng.uniform(1000, 16000);
  return {
    workers: 1 + rng.int(8),
    gpusPerWorker: 1 + rng.int(4),
    capPerGpu: 1 + rng.int(4),
    ctxStepMs: (b) => t1 * (1 + slope * (b - 1)),
    lengthLo: len,
    lengthHi: len,
    kvTransferMs: rng.uniform(0, 2),
    genGpus: 1 + rng.int(16),
    genSlots: 1 << 20,
    genStepMs: (b) => g1 * (1 + 0.01 * b),
    mtp: rng.int(4),
    mtpAcceptance: Array.from({ length: 1 + rng.int(3) }, () => rng.uniform(0.3, 0.95)),
    osl: 2 + rng.int(2000),
  };
}

describe('simulated TTFT', () => {
  it('sends whole rounds of the C clients, as the benchmark’s multi_round = max(1, ⌊num_prompts / C⌋) does', () => {
    for (let trial = 0; trial < 200; trial++) {
      const C = 1 + rng.int(4096);
      const prompts = 1 + rng.int(50000);
      const n = benchmarkRequests(C, prompts);
      // Reference: the largest multiple of C not above the prompts, and at least one round.
      let rounds = 0;
      while ((rounds + 1) * C <= prompts) rounds++;
      expect(n, tag(`C ${C}, ${prompts} prompts`)).toBe(C * Math.max(1, rounds));
      if (C <= prompts) expect(prompts - n, tag('under one round short')).toBeLessThan(C);
    }
    // The reproduction's: 2048 clients send 9 rounds (18,432), 64 clients 312 rounds (19,968).
    expect(benchmarkRequests(2048, 20000)).toBe(18432);
    expect(benchmarkRequests(64, 20000)).toBe(19968);
  });

  it('one client: every request finds the context idle and waits exactly its own one-request step', () => {
    for (let trial = 0; trial < 20; trial++) {
      const st = stations();
      const requests = 1 + rng.int(50);
      const r = simulateTtft({ ...st, concurrency: 1, requests, seed: rng.int(1e9) });
      const want = st.ctxStepMs(1) + st.kvTransferMs;
      expect(r.requests).toBe(requests);
      expect(r.medianMs, tag('median')).toBeCloseTo(want, 9);
      expect(r.meanMs, tag('mean')).toBeCloseTo(want, 9);
      expect(r.p90Ms, tag('p90')).toBeCloseTo(want, 9);
    }
  });

  it("reports the benchmark's TPS/user: OSL ÷ (context step + KV transfer + decode) for one client", () => {
    for (let trial = 0; trial < 20; trial++) {
      const st = stations();
      const requests = 1 + rng.int(50);
      // Without MTP every request decodes OSL − 1 steps alone in the pool: one end-to-end latency for all.
      const r0 = simulateTtft({ ...st, mtp: 0, concurrency: 1, requests, seed: rng.int(1e9) });
      const tau = st.genStepMs(1 / st.genGpus);
      const e2el = st.ctxStepMs(1) + st.kvTransferMs + (st.osl - 1) * tau;
      expect(r0.userTps / ((st.osl * 1000) / e2el), tag('OSL ÷ end-to-end latency')).toBeCloseTo(1, 9);
      // With MTP a request takes at least one step and at most the normal law's mean + 6.7 sd
      // (a Box–Muller draw from 32-bit uniforms never exceeds |z| = √(2·32·ln 2) = 6.66): its
      // TPS/user lies between the two.
      const r = simulateTtft({ ...st, concurrency: 1, requests, seed: rng.int(1e9) });
      const at = (steps: number) => (st.osl * 1000) / (st.ctxStepMs(1) + st.kvTransferMs + steps * tau);
      const tok = acceptedTokenMoments(st.mtp, st.mtpAcceptance);
      const need = st.osl - 1;
      const most = Math.round(need / tok.mean + 6.7 * Math.sqrt((need * tok.variance) / tok.mean ** 3));
      expect(r.userTps, tag('at most one decode step')).toBeLessThanOrEqual(at(1) * (1 + 1e-12));
      expect(r.userTps, tag('at least the most decode steps')).toBeGreaterThanOrEqual(at(most) * (1 - 1e-12));
    }
  });

  it('the first burst queues in whole steps per round-robin worker, batch after batch', () => {
    for (let trial = 0; trial < 20; trial++) {
      const st = stations();
      const cap = st.capPerGpu * st.gpusPerWorker;
      const steps = 1 + rng.int(6);
      // Every client sends at t = 0 and no one sends again (the run is exactly the burst): each
      // worker gets `steps` full batches, whose requests wait for all batches before theirs.
      const requests = st.workers * cap * steps;
      const r = simulateTtft({ ...st, concurrency: requests, requests, seed: rng.int(1e9) });
      const tFull = st.ctxStepMs(st.capPerGpu); // ⌈cap / gpusPerWorker⌉ = capPerGpu requests on the busiest GPU
      const ttfts = Array.from({ length: steps }, (_, j) => (j + 1) * tFull + st.kvTransferMs).flatMap((t) =>
        Array<number>(st.workers * cap).fill(t),
      );
      expect(r.medianMs, tag('median')).toBeCloseTo(referenceMedian(ttfts), 6);
      expect(r.meanMs, tag('mean')).toBeCloseTo(ttfts.reduce((a, b) => a + b, 0) / ttfts.length, 6);
      expect(r.ctxRequestsPerS, tag('throughput of the burst')).toBeCloseTo((requests / (steps * tFull)) * 1000, 6);
    }
  });

  it('scales a step by its batch’s mean length and holds the context waits below one step per queued batch', () => {
    for (let trial = 0; trial < 10; trial++) {
      const st = { ...stations(), lengthLo: rng.uniform(1000, 4000) };
      st.lengthHi = st.lengthLo * rng.uniform(1, 2);
      const mean = (st.lengthLo + st.lengthHi) / 2;
      const C = 1 + rng.int(200);
      const r = simulateTtft({ ...st, concurrency: C, requests: C + rng.int(500), seed: rng.int(1e9) });
      // Shortest possible TTFT: a one-request step of the shortest length. Longest: the step in
      // flight when it arrives, then every other request in the system (at most C − 1, all at
      // its worker) ahead of it in full steps of the longest length, its own step among them.
      const shortest = st.ctxStepMs(1) * (st.lengthLo / mean) + st.kvTransferMs;
      const batchesAhead = Math.ceil(C / (st.capPerGpu * st.gpusPerWorker));
      const longest = (batchesAhead + 1) * st.ctxStepMs(st.capPerGpu) * (st.lengthHi / mean) + st.kvTransferMs;
      expect(r.medianMs, tag('median ≥ the shortest step')).toBeGreaterThanOrEqual(shortest - 1e-9);
      expect(r.p90Ms, tag('p90 ≥ median')).toBeGreaterThanOrEqual(r.medianMs);
      expect(r.p90Ms, tag('no wait beyond the burst’s queue')).toBeLessThanOrEqual(longest + 1e-9);
    }
  });

  it('is a pure function of its input and seed', () => {
    const st = stations();
    const x = { ...st, lengthHi: st.lengthLo * 1.5, concurrency: 64, requests: 1000, seed: rng.int(1e9) };
    expect(simulateTtft(x)).toEqual(simulateTtft(x));
  });

  it('accepts 1 + K tokens a step, P(K ≥ i) = αⁱ up to m drafts: mean and variance by enumeration', () => {
    for (let trial = 0; trial < 50; trial++) {
      const m = rng.int(9);
      const a = Array.from({ length: 1 + rng.int(4) }, () => rng.next());
      // E[K] = Σ_{i=1..m} P(K ≥ i) and E[K²] = Σ_{i=1..m} (2i − 1)·P(K ≥ i), with
      // P(K ≥ i) = α_1·…·α_i (drafts beyond the list take its last entry).
      let ek = 0;
      let ek2 = 0;
      let atLeast = 1;
      for (let i = 1; i <= m; i++) {
        atLeast *= a[Math.min(i, a.length) - 1];
        ek += atLeast;
        ek2 += (2 * i - 1) * atLeast;
      }
      const got = acceptedTokenMoments(m, a);
      expect(got.mean, tag('mean')).toBeCloseTo(1 + ek, 12);
      expect(got.mean, tag('the decode model’s tokens per step')).toBeCloseTo(acceptedTokens(m, a), 12);
      expect(got.variance, tag('variance')).toBeCloseTo(ek2 - ek * ek, 12);
    }
  });

  it('refuses a run it cannot simulate, naming the culprit', () => {
    const st = stations();
    expect(() => simulateTtft({ ...st, concurrency: 1, requests: 0, seed: 1 })).toThrow(/requests must be a positive/);
    expect(() => simulateTtft({ ...st, concurrency: 1, requests: 1, seed: 1, osl: 1 })).toThrow(/OSL must be ≥ 2/);
    expect(() => simulateTtft({ ...st, concurrency: 1, requests: 1, seed: 1, workers: 0 })).toThrow(/workers/);
  });
});

describe('the run’s order statistics and the operating point’s bisection', () => {
  it('selects the value a full sort puts at each rank, on random arrays full of ties', () => {
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(300);
      const levels = 1 + rng.int(n); // few levels: many equal values
      const a = Float64Array.from(
        { length: n },
        () => rng.int(levels) * rng.uniform(0.5, 2) * (rng.next() < 0.1 ? 0 : 1),
      );
      const sorted = Float64Array.from(a).sort();
      const k = rng.int(n);
      const work = Float64Array.from(a);
      expect(nthSmallest(work, k), tag(`n ${n}, rank ${k}`)).toBe(sorted[k]);
      expect(Float64Array.from(work).sort(), tag('a permutation of the input')).toEqual(sorted);
    }
    expect(() => nthSmallest(new Float64Array(3), 3)).toThrow(/rank 3 outside 0 … 2/);
  });

  it('leaves the bracket a fixed 100 halvings leave, stopping once a halving changes nothing', () => {
    const reference = (f: (b: number) => number, target: number, hi: number) => {
      let lo = 0;
      for (let i = 0; i < 100; i++) {
        const mid = (lo + hi) / 2;
        if (f(mid) < target) lo = mid;
        else hi = mid;
      }
      return [lo, hi];
    };
    for (let trial = 0; trial < 300; trial++) {
      // Increasing functions with plateaus, kinks and a root anywhere in [0, hi] (or outside it).
      const hi = rng.uniform(1e-3, 4096);
      const a = rng.uniform(0.1, 10);
      const step = rng.uniform(0.01, 1);
      const forms = [
        (b: number) => a * b,
        (b: number) => a * b + Math.floor(b / step) * step,
        (b: number) => Math.floor(b / step),
        (b: number) => Math.sqrt(b) + a * b * b,
      ];
      const f = forms[rng.int(forms.length)];
      const target = rng.uniform(-0.2, 1.2) * f(hi);
      expect(bisect(f, target, hi), tag(`hi ${hi}, target ${target}`)).toEqual(reference(f, target, hi));
    }
  });
});
