// Stragglers at a collective: the expected maximum of shifted exponential delays against an
// independent float64 reference (inclusion–exclusion over subsets), its closed forms, the
// scheduler's barrier releasing at it, and DEP's programs carrying it while DWDP's never wait.
import { describe, expect, it } from 'vitest';
import { expectedRelease, gaussLegendre01, harmonic, stragglerRelease } from '../src/timeline/straggle.ts';
import { simulate } from '../src/timeline/scheduler.ts';
import { linkSpec } from '../src/timeline/link.ts';
import type { Op } from '../src/timeline/ops.ts';
import { loadPreset } from '../src/model/presets.ts';
import { GB200_NVL72 } from '../src/hardware/profiles.ts';
import { CostModel } from '../src/sim/cost-model.ts';
import { depPrograms, dwdpPrograms } from '../src/sim/programs.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;

/**
 * E[max_r (a_r + d_r)], d_r ~ Exp(θ), by inclusion–exclusion: P(X > t) = 1 − Π(1 − c_r e^{−u}),
 * ∫_0^∞ e^{−k·u} du = 1/k, so E[X] = A + θ·Σ_{S ≠ ∅} (−1)^{|S|+1} Π_{r∈S} c_r / |S|. Exact for small N.
 */
function referenceRelease(a: number[], theta: number): number {
  const A = Math.max(...a);
  const c = a.map((x) => Math.exp(-(A - x) / theta));
  let sum = 0;
  for (let mask = 1; mask < 1 << a.length; mask++) {
    let prod = 1;
    let k = 0;
    for (let r = 0; r < a.length; r++)
      if (mask & (1 << r)) {
        prod *= c[r];
        k++;
      }
    sum += ((k % 2 === 1 ? 1 : -1) * prod) / k;
  }
  return A + theta * sum;
}

describe('expected release of a collective with exponential stragglers', () => {
  it('matches inclusion–exclusion for random arrivals and scales', () => {
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(10);
      const theta = rng.uniform(0.01, 5);
      const a = Array.from({ length: n }, () => rng.uniform(-3 * theta, 3 * theta));
      const got = expectedRelease(a, theta);
      const want = referenceRelease(a, theta);
      expect(Math.abs(got - want), tag(`n ${n} θ ${theta}`)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
      // Never before the last arrival plus one mean delay (the latest participant alone), never after A + θ·H_N.
      const A = Math.max(...a);
      expect(got, tag('≥ A + θ')).toBeGreaterThanOrEqual(A + theta - 1e-9);
      expect(got, tag('≤ A + θ·H_N')).toBeLessThanOrEqual(A + theta * harmonic(n) + 1e-9);
      expect(stragglerRelease(a, theta)).toBeCloseTo(got - theta, 9);
    }
  });

  it('balanced group: θ·H_N (the maximum of N exponentials); one rank far behind: θ', () => {
    for (const n of [1, 2, 3, 4, 8, 16, 64, 72]) {
      const theta = rng.uniform(0.1, 3);
      const t0 = rng.uniform(0, 100);
      expect(expectedRelease(Array(n).fill(t0), theta) - t0, tag(`n ${n}`)).toBeCloseTo(theta * harmonic(n), 9);
      // Beyond the mean delay: θ·(H_N − 1), nothing for a single rank.
      expect(stragglerRelease(Array(n).fill(t0), theta) - t0, tag(`n ${n}`)).toBeCloseTo(theta * (harmonic(n) - 1), 9);
      // The others 60 θ earlier: e^{−60} of them is left.
      const apart = [t0, ...Array(n - 1).fill(t0 - 60 * theta)];
      expect(expectedRelease(apart, theta) - t0, tag(`apart n ${n}`)).toBeCloseTo(theta, 9);
    }
    expect(harmonic(4)).toBeCloseTo(25 / 12, 15);
  });

  it('the quadrature integrates polynomials of degree 2m − 1 exactly', () => {
    for (const m of [1, 2, 5, 36]) {
      const { x, w } = gaussLegendre01(m);
      const deg = 2 * m - 1;
      let s = 0;
      for (let i = 0; i < m; i++) s += w[i] * Math.pow(x[i], deg);
      expect(s, `m ${m}`).toBeCloseTo(1 / (deg + 1), 12);
    }
    expect(() => expectedRelease([0, 1], -1)).toThrow(/mean delay must be a finite number ≥ 0 ms, got -1/);
    expect(() => expectedRelease([], 1)).toThrow(/at least one participant/);
  });
});

describe('the scheduler’s barrier with stragglers', () => {
  const link = linkSpec({ egressGBps: 100, ingressGBps: 100, latencyUs: 1, contentionFix: false });
  it('releases at the expected slowest ready time beyond the mean, and files the wait as synchronization', () => {
    const n = 2 + rng.int(6);
    const theta = rng.uniform(0.2, 2);
    const work = Array.from({ length: n }, () => rng.uniform(1, 4));
    const programs: Op[][] = work.map((d) => [
      { kind: 'compute', label: 'layer', category: 'gemm', durationMs: d },
      { kind: 'barrier', id: 'dispatch', straggleMs: theta },
      { kind: 'compute', label: 'after', category: 'gemm', durationMs: 1 },
    ]);
    const s = simulate(programs, link);
    const release = stragglerRelease(work, theta);
    expect(s.barrierRelease.get('dispatch'), tag('release')).toBeCloseTo(release, 9);
    expect(release, tag('later than the last arrival')).toBeGreaterThan(Math.max(...work));
    for (let r = 0; r < n; r++) {
      expect(s.ranks[r].syncMs, tag(`rank ${r} sync`)).toBeCloseTo(release - work[r], 9);
      expect(s.ranks[r].endMs, tag(`rank ${r} end`)).toBeCloseTo(release + 1, 9);
    }
    // Without the delay: the last arrival.
    const plain = simulate(
      programs.map((p) => p.map((op) => (op.kind === 'barrier' ? { kind: 'barrier', id: op.id } : op))),
      link,
    );
    expect(plain.barrierRelease.get('dispatch')).toBeCloseTo(Math.max(...work), 12);
  });

  it('refuses a negative delay and participants that disagree on it', () => {
    const b = (straggleMs: number): Op[] => [{ kind: 'barrier', id: 'x', straggleMs }];
    expect(() => simulate([b(-1), b(-1)], link)).toThrow(/straggleMs -1/);
    expect(() => simulate([b(1), b(2)], link)).toThrow(/barrier 'x' has straggleMs 2, another participant 1/);
  });
});

describe('DEP programs carry stragglers; DWDP never waits for them', () => {
  const r1 = loadPreset('deepseek-r1');
  const group = [0, 1, 2, 3];
  const lengths = group.map(() => [Math.round(rng.uniform(2000, 8192))]);
  const steps = lengths.map((l) => [{ lengths: l }]);
  const straggle = rng.uniform(0.05, 0.3);
  const on = new CostModel({ model: r1, profile: GB200_NVL72, efficiency: { straggle } });
  const off = new CostModel({ model: r1, profile: GB200_NVL72, efficiency: { straggle }, straggle: false });

  it('each dispatch carries straggle × the mean of the ranks’ layer compute; off: none', () => {
    const progs = depPrograms(on, group, steps);
    const barriers = progs[0].filter((op) => op.kind === 'barrier');
    expect(barriers.length).toBe(r1.layers.moe);
    // Independent: each rank's compute from the first op of MoE layer l up to its dispatch, plus
    // what follows the dispatch in that layer (its grouped GEMM, shared expert, combine).
    const l = r1.layers.moeLayerIndices[1];
    const layerCompute = progs.map((p) =>
      p.reduce(
        (s, op) => s + (op.kind === 'compute' && op.layer === l && op.category !== 'collective' ? op.durationMs : 0),
        0,
      ),
    );
    const want = (straggle * layerCompute.reduce((a, b) => a + b, 0)) / group.length;
    const got = progs[0].find((op) => op.kind === 'barrier' && op.layer === l);
    expect(got && got.kind === 'barrier' ? got.straggleMs : NaN, tag('θ of a layer')).toBeCloseTo(want, 9);
    expect(depPrograms(off, group, steps)[0].some((op) => op.kind === 'barrier' && op.straggleMs !== undefined)).toBe(
      false,
    );
    // More synchronization with stragglers, by at least the balanced share of the smallest θ … at most the largest θ·(H_N − 1) per dispatch.
    const sOn = simulate(progs, on.link(false, 'all-to-all'));
    const sOff = simulate(depPrograms(off, group, steps), off.link(false, 'all-to-all'));
    const extra = sOn.makespanMs - sOff.makespanMs;
    const thetas = barriers.map((b) => (b.kind === 'barrier' ? b.straggleMs! : 0));
    expect(extra, tag('extra time')).toBeGreaterThan(0);
    expect(extra, tag('extra time')).toBeLessThanOrEqual(thetas.reduce((a, b) => a + b, 0) * (harmonic(4) - 1) + 1e-6);
  });

  it('DWDP’s programs have no barrier: its timeline is the same with stragglers on or off', () => {
    const placement = makePlacement(r1.experts, 4);
    const o = { placement, contentionFix: false };
    const a = simulate(dwdpPrograms(on, group, steps, o), on.link(false), {
      ...on.schedulerOptions(),
      intervals: false,
    });
    const b = simulate(dwdpPrograms(off, group, steps, o), off.link(false), {
      ...off.schedulerOptions(),
      intervals: false,
    });
    expect(a.makespanMs).toBe(b.makespanMs);
    expect(a.ranks.map((m) => m.syncMs)).toEqual([0, 0, 0, 0]);
  });
});
