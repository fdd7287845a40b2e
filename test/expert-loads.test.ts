// Given routing in the rack model (the `expertLoads` scenario key, src/sim/routing.ts): per-layer,
// per-expert fractions drive DEP owners' grouped GEMMs and all-to-all rows and DWDP's per-expert
// GEMM tiles, each against an independent float64 reference; bad values are refused by name;
// and emulated counts carried to a target keep every DEP owner's share.
import { describe, expect, it } from 'vitest';
import { loadPreset } from '../src/model/presets.ts';
import { GB200_NVL72 } from '../src/hardware/profiles.ts';
import { DEFAULT_PRECISION } from '../src/hardware/precision.ts';
import { CostModel, tokenReachesRankProbability } from '../src/sim/cost-model.ts';
import { DEFAULT_STEP_PARAMS, runStepRow } from '../src/sim/experiment.ts';
import { depPrograms, dwdpPrograms, type RankStep } from '../src/sim/programs.ts';
import {
  depLoadsLayer,
  expertsTouched,
  loadTouched,
  loadsFromCounts,
  shareReachProbability,
} from '../src/sim/routing.ts';
import { checkScenario, parseScenario, runScenario } from '../src/sim/scenarios.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import type { Op } from '../src/timeline/ops.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';
import { errorOf } from './option-error.ts';
import { tiledGemmMs } from './tiled-gemm-reference.ts';

const seed = testSeed();
const rng = new Rng(seed);
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;
const r1 = loadPreset('deepseek-r1');
const near = (a: number, b: number, what: string) =>
  expect(Math.abs(a - b), `${what}: ${a} vs ${b} ${at}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

/** Number of k-subsets of n, in float64 (exact for the sizes used). */
function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
}

/** Random fractions over `experts` (some zero), summing to 1. */
function randomLoads(experts: number): number[] {
  const w = Array.from({ length: experts }, () => (rng.next() < 0.2 ? 0 : rng.next() ** 3));
  w[rng.int(experts)] += 0.1;
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/** Loads whose owner shares are whole experts' worth (n_j/E), spread unevenly inside each owner. */
function ownerIntegralLoads(E: number, N: number): { f: number[]; n: number[] } {
  const n = new Array<number>(N).fill(0);
  for (let e = 0; e < E; e++) n[rng.int(N)]++;
  const f = new Array<number>(E).fill(0);
  const per = E / N;
  for (let j = 0; j < N; j++) {
    const w = Array.from({ length: per }, () => 0.05 + rng.next());
    const s = w.reduce((a, b) => a + b, 0);
    for (let x = 0; x < per; x++) f[j * per + x] = ((n[j] / E) * w[x]) / s;
  }
  return { f, n };
}

const computes = (ops: Op[], category: string) =>
  ops.filter((o): o is Extract<Op, { kind: 'compute' }> => o.kind === 'compute' && o.category === category);

describe(`given expert loads ${at}`, () => {
  it('reach an owner with the hypergeometric law when its share is whole experts’ worth, and stay within its bounds otherwise', () => {
    for (let trial = 0; trial < 8; trial++) {
      const N = [1, 2, 4, 8][rng.int(4)];
      const E = N * (1 + rng.int(6));
      const K = 1 + rng.int(Math.min(6, E));
      const { f, n } = ownerIntegralLoads(E, N);
      const T = Array.from({ length: N }, () => 1 + rng.int(5000));
      const load = depLoadsLayer({ experts: E, topK: K }, f, T);
      const total = T.reduce((a, b) => a + b, 0);
      for (let j = 0; j < N; j++) {
        // Reference: 1 − C(E − n_j, K)/C(E, K), tokens reaching an owner of n_j experts.
        const rho = 1 - choose(E - n[j], K) / choose(E, K);
        for (let i = 0; i < N; i++) near(load.rows[i][j], T[i] * rho, `E ${E} K ${K} rows ${i} → ${j}`);
        for (let e = 0; e < E; e++)
          near(load.slots[j][e], Math.floor((e * N) / E) === j ? f[e] * total * K : 0, `slots of expert ${e} on ${j}`);
      }
    }
    for (let trial = 0; trial < 200; trial++) {
      const E = 2 + rng.int(300);
      const K = 1 + rng.int(Math.min(8, E));
      const F = rng.next();
      const rho = shareReachProbability(E, K, F);
      let union = 0;
      for (let k = 0; k < K; k++) union += (F * E) / (E - k);
      expect(rho, `E ${E} K ${K} F ${F}`).toBeGreaterThanOrEqual(1 - (1 - F) ** K - 1e-12);
      expect(rho, `E ${E} K ${K} F ${F}`).toBeLessThanOrEqual(Math.min(1, union) + 1e-12);
    }
  });

  it('uniform loads give the uniform law’s rows', () => {
    for (const N of [2, 4, 8]) {
      const f = new Array<number>(r1.experts).fill(1 / r1.experts);
      const T = Array.from({ length: N }, () => 1 + rng.int(9000));
      const load = depLoadsLayer(r1, f, T);
      const reach = tokenReachesRankProbability(r1.experts, r1.topK, N);
      for (let i = 0; i < N; i++)
        for (let j = 0; j < N; j++) near(load.rows[i][j], T[i] * reach, `N ${N} rows ${i} → ${j}`);
    }
  });

  it('drive every MoE layer’s DEP grouped GEMM and dispatch rows, and DWDP’s per-expert tiles', () => {
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    const N = 4;
    const group = [0, 1, 2, 3];
    const layers = 1 + rng.int(5);
    const loads = Array.from({ length: layers }, () => randomLoads(r1.experts));
    const T = Array.from({ length: N }, () => 500 + rng.int(8000));
    const steps: RankStep[][] = T.map((t) => [{ lengths: [t], loads }]);
    const total = T.reduce((a, b) => a + b, 0);
    const moe = r1.layers.moeLayerIndices;
    const owner = (e: number) => Math.floor((e * N) / r1.experts);
    depPrograms(cost, group, steps).forEach((ops, j) => {
      const gemms = computes(ops, 'gemm');
      expect(gemms.length).toBe(moe.length);
      gemms.forEach((g, k) => {
        const f = loads[k % layers];
        const slots = f.map((x, e) => (owner(e) === j ? x * total * r1.topK : 0));
        let touched = 0;
        f.forEach((x, e) => {
          if (owner(e) === j && x > 0) touched += 1 - (1 - x) ** (total * r1.topK);
        });
        near(g.durationMs, tiledGemmMs(cost, slots, touched), `owner ${j} layer ${k} grouped GEMM`);
        const sends = ops.filter((o): o is Extract<Op, { kind: 'send' }> => o.kind === 'send' && o.layer === g.layer);
        for (const s of sends.slice(0, N - 1)) {
          let dst = 0;
          f.forEach((x, e) => {
            if (owner(e) === s.to) dst += x;
          });
          let none = 1;
          for (let q = 0; q < r1.topK; q++) none *= Math.max(0, 1 - (dst * r1.experts) / (r1.experts - q));
          near(s.bytes, T[j] * (1 - none) * r1.hidden * DEFAULT_PRECISION.dispatchBytes, `layer ${k} ${j} → ${s.to}`);
        }
      });
    });
    const placement = makePlacement(r1.experts, N);
    dwdpPrograms(cost, group, steps, { placement, contentionFix: true, splitWeights: true }).forEach((ops, i) => {
      computes(ops, 'gemm').forEach((g, k) => {
        const f = loads[k % layers];
        const touched = f.reduce((u, x) => u + (x > 0 ? 1 - (1 - x) ** (T[i] * r1.topK) : 0), 0);
        near(
          g.durationMs,
          tiledGemmMs(
            cost,
            f.map((x) => x * T[i] * r1.topK),
            touched,
          ),
          `rank ${i} layer ${k} GEMM`,
        );
      });
    });
  });

  it('touched experts over all E (no index list given) equal the float64 sum over 0 … E − 1', () => {
    const E = 1 + rng.int(300);
    const T = 1 + rng.int(4096);
    const topK = 1 + rng.int(Math.min(8, E));
    const f = Array.from({ length: E }, () => (rng.next() < 0.3 ? 0 : rng.next() / E));
    const hot = Array.from({ length: E }, () => (rng.next() < 0.5 ? 0 : 1 + rng.int(T)));
    // Independent references: the closed forms summed in index order.
    let loadRef = 0;
    for (let e = 0; e < E; e++) loadRef += f[e] > 0 ? 1 - (1 - f[e]) ** (T * topK) : 0;
    const cold = 1 - (1 - (topK - 1) / (E - 1 || 1)) ** T;
    const m = { experts: E, topK };
    expect(Math.abs(loadTouched(f, T, topK) - loadRef), `E ${E} T ${T} K ${topK} ${at}`).toBeLessThanOrEqual(1e-12 * E);
    expect(loadTouched(f, T, topK)).toBe(
      loadTouched(
        f,
        T,
        topK,
        Array.from({ length: E }, (_, e) => e),
      ),
    );
    expect(expertsTouched(m, hot, T)).toBe(
      expertsTouched(
        m,
        hot,
        T,
        Array.from({ length: E }, (_, e) => e),
      ),
    );
    const hotCount = hot.filter((h) => h > 0).length;
    expect(Math.abs(expertsTouched(m, hot, T) - (hotCount + (E - hotCount) * cold)), at).toBeLessThanOrEqual(1e-12 * E);
  });

  it('an owner holding every slot makes the other DEP ranks wait for it', () => {
    const E = r1.experts;
    const hot = new Array<number>(E).fill(0);
    const mine = E / 4;
    for (let e = 0; e < mine; e++) hot[e] = 1 / mine; // owner 0 of 4 receives every routed slot
    const base = { ...DEFAULT_STEP_PARAMS, profile: GB200_NVL72, model: r1, seed: rng.int(1e9), steps: 1 };
    const uniform = runStepRow({ ...base, expertLoads: [new Array<number>(E).fill(1 / E)] }).row;
    const skewed = runStepRow({ ...base, expertLoads: [hot] }).row;
    expect(skewed.tDep).toBeGreaterThan(uniform.tDep);
    // The other owners wait at the barrier for owner 0's GEMM of all the group's slots.
    expect(skewed.breakdown.dep.synchronization).toBeGreaterThan(uniform.breakdown.dep.synchronization);
  });

  it('carried from counts of a smaller model keep every DEP owner’s share and sum to 1 per layer', () => {
    for (let trial = 0; trial < 10; trial++) {
      const Es = [4, 8, 16][rng.int(3)];
      const Et = Es * (1 + rng.int(40));
      const counts = Array.from({ length: 1 + rng.int(4) }, () => Array.from({ length: Es }, () => rng.int(300)));
      counts.forEach((c) => (c[rng.int(Es)] += 1));
      const loads = loadsFromCounts(counts, Et);
      loads.forEach((f, k) => {
        expect(f.length).toBe(Et);
        near(
          f.reduce((a, b) => a + b, 0),
          1,
          `layer ${k} sum`,
        );
        const total = counts[k].reduce((a, b) => a + b, 0);
        for (const N of [1, 2, 4].filter((n) => Es % n === 0)) {
          for (let j = 0; j < N; j++) {
            let target = 0;
            for (let e = 0; e < Et; e++) if (Math.floor((e * N) / Et) === j) target += f[e];
            let source = 0;
            for (let x = 0; x < Es; x++) if (Math.floor((x * N) / Es) === j) source += counts[k][x];
            near(target, source / total, `Es ${Es} Et ${Et} N ${N} owner ${j}`);
          }
        }
      });
    }
  });

  it('refuse bad values with one message naming the key', () => {
    const E = r1.experts;
    const ok = new Array<number>(E).fill(1 / E);
    const cases: [unknown, string, RegExp][] = [
      [
        { base: { expertLoads: [[0.5, 0.5], [1]] } },
        'scenario.base.expertLoads',
        /layer 1 must give one fraction per expert \(2\)/,
      ],
      [
        { base: { expertLoads: [[1.5, -0.5]] } },
        'scenario.base.expertLoads',
        /expert 1: -0.5 is not a non-negative number/,
      ],
      [{ rows: [{}, { expertLoads: [[0.5, 0.4]] }] }, 'scenario.rows[1].expertLoads', /sums to 0.9.*must sum to 1/],
      [{ base: { expertLoads: [] } }, 'scenario.base.expertLoads', /non-empty array/],
    ];
    for (const [json, option, detail] of cases) {
      const e = errorOf(() => parseScenario(json));
      expect(e.option).toBe(option);
      expect(e.message).toMatch(detail);
    }
    const width = errorOf(() => checkScenario(parseScenario({ base: { expertLoads: [[0.5, 0.5]] } }), E));
    expect(width.option).toBe('scenario.base.expertLoads');
    expect(width.message).toMatch(new RegExp(`one fraction per expert \\(${E}\\).*model has ${E} experts`));
    const both = errorOf(() => checkScenario(parseScenario({ base: { expertLoads: [ok], routingSkew: 1 } }), E));
    expect(both.option).toBe('scenario.base.routingSkew');
    const serving = errorOf(() => checkScenario(parseScenario({ mode: 'serving', base: { expertLoads: [ok] } }), E));
    expect(serving.option).toBe('scenario.base.expertLoads');
    expect(serving.message).toMatch(/only by step scenarios/);
    // Not a sweep's parameter (rows give loads one by one).
    const sweep = errorOf(() => parseScenario({ sweep: { param: 'expertLoads', values: [[ok]] } }));
    expect(sweep.option).toBe('scenario.sweep.param');
    expect(sweep.message).not.toMatch(/expertLoads,/);
    // A valid row passes, and rows that vary them show a label, not the arrays.
    checkScenario(parseScenario({ base: { expertLoads: [ok, ok] } }), E);
    const hot = ok.map((_, e) => (e < E / 2 ? 2 / E : 0));
    const res = runScenario(
      parseScenario({ base: { steps: 1, isl: 1024 }, rows: [{ expertLoads: [ok] }, { expertLoads: [ok, hot] }] }),
    );
    expect(res.rows.map((r) => (r as unknown as Record<string, unknown>).expertLoads)).toEqual([
      '1 layer, hottest expert 1.00× mean',
      '2 layers, hottest expert 2.00× mean',
    ]);
  });
});
