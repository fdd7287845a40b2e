// The rack model's workload and baseline knobs: server-style batching (maxTokensPerBatch,
// maxBatchRequests), routing skew drawn by the emulation's own generator, DEP's dispatch
// variants and the split-weight merge variants — each against an independent float64 reference,
// and each scenario key refused by name when its value is bad.
import { describe, expect, it } from 'vitest';
import { loadPreset } from '../src/model/presets.ts';
import { GB200_NVL72 } from '../src/hardware/profiles.ts';
import { profileEfficiency } from '../src/hardware/efficiency.ts';
import { DEFAULT_PRECISION } from '../src/hardware/precision.ts';
import { CostModel } from '../src/sim/cost-model.ts';
import { DEFAULT_STEP_PARAMS, runStepRow, stepBatches } from '../src/sim/experiment.ts';
import { depPrograms, dwdpPrograms, type RankStep } from '../src/sim/programs.ts';
import { depSkewLoad, expertSlots } from '../src/sim/routing.ts';
import { DEFAULT_SERVING_MAX_TOKENS, runServing, type ServingParams } from '../src/sim/serving.ts';
import { MAX_STEP_REQUESTS, rowRankSteps, stepRowRequests } from '../src/options/scenario.ts';
import { parseScenario, checkScenario, runScenario } from '../src/sim/scenarios.ts';
import { formatScenario } from '../src/sim/format.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import type { Op } from '../src/timeline/ops.ts';
import { fillBatches, type LengthDist } from '../src/workload/lengths.ts';
import { makeWorkload } from '../src/workload/workload.ts';
import { HotExperts, SKEW_STREAM, applyRoutingSkew, popularityOrder } from '../src/workload/skew.ts';
import type { MoeConfig } from '../src/model/config.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';
import { errorOf } from './option-error.ts';
import { tiledGemmMs } from './tiled-gemm-reference.ts';

const seed = testSeed();
const rng = new Rng(seed);
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;
const r1 = loadPreset('deepseek-r1');
/** a equals b to float64 rounding of a few operations. */
const near = (a: number, b: number, what: string) =>
  expect(Math.abs(a - b), `${what}: ${a} vs ${b} ${at}`).toBeLessThanOrEqual(1e-12 * Math.abs(b));

/** Every k-subset of 0..n−1. */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  const rec = (start: number, acc: number[]) => {
    if (acc.length === k) return void out.push([...acc]);
    for (let i = start; i < n; i++) rec(i + 1, [...acc, i]);
  };
  rec(0, []);
  return out;
}

describe(`server-style batching ${at}`, () => {
  it('fills batches from one queue up to both caps, and the queue is the emulation’s request stream', () => {
    for (let trial = 0; trial < 6; trial++) {
      const law: LengthDist =
        trial % 2 === 0
          ? { law: 'uniform-ratio', isl: 64 + rng.int(4000), islRatio: 0.1 + 0.8 * rng.next() }
          : { law: trial % 4 === 1 ? 'gamma' : 'lognormal', mean: 50 + rng.int(3000), cv: 0.05 + rng.next() };
      const ranks = 1 + rng.int(5);
      const steps = 1 + rng.int(4);
      const mean = law.law === 'uniform-ratio' ? (law.isl * (1 + law.islRatio)) / 2 : law.mean;
      const maxTokens = trial === 5 ? undefined : Math.round(mean * (0.5 + 4 * rng.next()));
      const maxRequests = trial === 4 ? undefined : 1 + rng.int(5);
      const s = rng.int(1e9);
      const b = fillBatches({ seed: s, ranks, steps, lengths: law, maxTokens, maxRequests });
      // The queue in the order batches took it: step by step, rank by rank.
      const order: number[][] = [];
      for (let st = 0; st < steps; st++) for (let r = 0; r < ranks; r++) order.push(b[r][st]);
      const queue = order.flat();
      // A varying gamma or log-normal law: the emulation's requests for one rank of as many
      // requests at the same mean are this queue, draw for draw.
      if (law.law !== 'uniform-ratio') {
        const emulated = makeWorkload({
          ranks: 1,
          tokensPerRank: law.mean * queue.length,
          requestsPerRank: queue.length,
          lengthCv: law.cv,
          lengthLaw: law.law,
          seed: s,
        });
        expect(emulated[0].lengths, at).toEqual(queue);
      }
      // Every law: an independent float64 rewrite of the draws.
      const ref = new Rng(s).fork('workload/lengths');
      const refQueue = queue.map(() => refLength(ref, law));
      expect(queue, at).toEqual(refQueue);
      order.forEach((batch, i) => {
        const tokens = batch.reduce((a, x) => a + x, 0);
        expect(batch.length).toBeGreaterThanOrEqual(1);
        if (maxRequests !== undefined) expect(batch.length).toBeLessThanOrEqual(maxRequests);
        if (maxTokens !== undefined && batch.length > 1) expect(tokens).toBeLessThanOrEqual(maxTokens);
        // Closed only because the next request would break a cap.
        const next = order[i + 1]?.[0];
        if (next !== undefined) {
          const full = maxRequests !== undefined && batch.length === maxRequests;
          const over = maxTokens !== undefined && tokens + next > maxTokens;
          expect(full || over, `batch ${i} ${at}`).toBe(true);
        }
      });
    }
  });

  it('the step model’s queue-filled batches are the shared generator’s, and ranks carry different counts', () => {
    const p = {
      ...DEFAULT_STEP_PARAMS,
      seed: rng.int(1e9),
      isl: 8192,
      lengthLaw: 'uniform-ratio' as const,
      islRatio: 0.2 + 0.6 * rng.next(),
      maxTokensPerBatch: 16384 + rng.int(16384),
      steps: 4,
    };
    const fromModel = stepBatches(p).map((rank) => rank.map((s) => s.lengths));
    const shared = fillBatches({
      seed: p.seed,
      ranks: p.groupSize,
      steps: p.steps,
      lengths: { law: 'uniform-ratio', isl: 8192, islRatio: p.islRatio },
      maxTokens: p.maxTokensPerBatch,
    });
    expect(fromModel).toEqual(shared);
    const row = runStepRow({ ...p, profile: GB200_NVL72, model: r1 }).row;
    const counts = fromModel.flat().map((b) => b.length);
    expect(row.batch).toBeCloseTo(counts.reduce((a, x) => a + x, 0) / counts.length, 12);
  });

  it('serving honours maxBatchRequests', () => {
    const base: ServingParams = {
      ...DEFAULT_STEP_PARAMS,
      profile: GB200_NVL72,
      model: r1,
      ranks: 4,
      requests: 12,
      isl: { law: 'uniform-ratio', isl: 2048, islRatio: 0.5 },
      osl: { mean: 1, cv: 0 },
      maxTokensPerBatch: 1 << 20,
      seed: rng.int(1e9),
    };
    for (const cap of [1, 2]) {
      const r = runServing({ ...base, maxBatchRequests: cap }, 'dwdp');
      // A backlog of 12 and no binding token cap: every batch holds exactly `cap` requests.
      expect(r.meanBatchRequests).toBe(cap);
    }
  });
});

/** The lengths law's draw, written out independently of src/workload (float64). */
function refLength(r: Rng, d: LengthDist): number {
  if (d.law === 'uniform-ratio') {
    const lo = Math.max(1, Math.ceil(d.islRatio * d.isl));
    return lo + Math.floor(r.next() * (d.isl - lo + 1));
  }
  if (d.law === 'lognormal') {
    const s2 = Math.log(1 + d.cv * d.cv);
    return Math.max(1, Math.round(Math.exp(Math.log(d.mean) - s2 / 2 + Math.sqrt(s2) * r.normal())));
  }
  // Gamma: Marsaglia–Tsang, with the boost Gamma(a+1)·U^(1/a) below shape 1.
  const gammaDraw = (shape: number): number => {
    if (shape < 1) return gammaDraw(shape + 1) * Math.pow(1 - r.next(), 1 / shape);
    const dd = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * dd);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = r.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - r.next();
      if (Math.log(u) < 0.5 * x * x + dd - dd * v + dd * Math.log(v)) return dd * v;
    }
  };
  return Math.max(1, Math.round(gammaDraw(1 / d.cv ** 2) * d.mean * d.cv ** 2));
}

describe(`routing skew: one generator for the emulation and the model ${at}`, () => {
  it('the model’s hot experts are the experts the emulation pushes each token toward, in token order', () => {
    const E = 4 + rng.int(29);
    const cfg = { ...loadPreset('tiny-qwen3'), experts: E, hidden: E } as MoeConfig;
    const T = 200 + rng.int(300);
    const s = rng.next() * 2.5;
    const sd = rng.int(1e9);
    // Router rows = the unit basis: a zero token pushed toward e becomes ±e_e, so e can be read back.
    const router = new Float32Array(E * E);
    for (let e = 0; e < E; e++) router[e * E + e] = 1;
    const x = new Float32Array(T * E);
    applyRoutingSkew(cfg, x, T, router, s, sd);
    const pushed = Array.from({ length: T }, (_, t) => {
      let best = 0;
      for (let e = 1; e < E; e++) if (Math.abs(x[t * E + e]) > Math.abs(x[t * E + best])) best = e;
      return best;
    });
    const hot = new HotExperts(E, s, sd);
    expect(
      Array.from({ length: T }, () => hot.next()),
      at,
    ).toEqual(pushed);
    // Independent float64 reference of the draws: Zipf CDF over the popularity order, linear search.
    const r = new Rng(sd).fork(SKEW_STREAM);
    const order = popularityOrder(E, sd);
    const w = Array.from({ length: E }, (_, k) => 1 / (k + 1) ** s);
    const cdf = w.map((_, k) => w.slice(0, k + 1).reduce((a, b) => a + b, 0));
    const ref = Array.from({ length: T }, () => {
      const u = r.next() * cdf[E - 1];
      let k = 0;
      while (k < E - 1 && cdf[k] < u) k++;
      return order[k];
    });
    expect(ref).toEqual(pushed);
  });

  it('the draws at R1’s 256 experts are the linear search of the Zipf CDF, draw for draw (float64 reference)', () => {
    for (const s of [0, 0.3 + 2 * rng.next(), 4]) {
      const sd = rng.int(1e9);
      const hot = new HotExperts(256, s, sd);
      const r = new Rng(sd).fork(SKEW_STREAM);
      const order = popularityOrder(256, sd);
      const cdf: number[] = [];
      for (let k = 0, acc = 0; k < 256; k++) cdf.push((acc += 1 / (k + 1) ** s));
      for (let t = 0; t < 20000; t++) {
        const u = r.next() * cdf[255];
        let k = 0;
        while (k < 255 && cdf[k] < u) k++;
        const got = hot.next();
        if (got !== order[k]) expect(got, `draw ${t}, exponent ${s} ${at}`).toBe(order[k]);
      }
    }
  });

  it('step batches carry the counts of the same draws, step by step and rank by rank', () => {
    const p = {
      ...DEFAULT_STEP_PARAMS,
      seed: rng.int(1e9),
      isl: 500 + rng.int(3000),
      cv: 0.3,
      batch: 1 + rng.int(3),
      steps: 2,
      groupSize: 2 + rng.int(3),
      routingSkew: 0.5 + rng.next(),
    };
    const steps = stepBatches({ ...p, experts: r1.experts });
    const draws = new HotExperts(r1.experts, p.routingSkew, p.seed);
    for (let s = 0; s < p.steps; s++)
      for (const rank of steps) {
        const T = rank[s].lengths.reduce((a, b) => a + b, 0);
        const ref = new Array<number>(r1.experts).fill(0);
        for (let t = 0; t < T; t++) ref[draws.next()]++;
        expect(Array.from(rank[s].hot!)).toEqual(ref);
      }
  });

  it('per-expert slots, per-owner GEMM and per-pair rows match an exact enumeration (float64)', () => {
    for (let trial = 0; trial < 5; trial++) {
      const N = 2 + rng.int(3);
      const E = N * (1 + rng.int(3)) + rng.int(2); // N need not divide E
      const K = 1 + rng.int(Math.min(3, E - 1));
      const m = { experts: E, topK: K };
      const T = Array.from({ length: N }, () => rng.int(60));
      const hot = T.map((Ti) => {
        const h = new Float64Array(E);
        for (let t = 0; t < Ti; t++) h[rng.int(E)]++;
        return h;
      });
      const owner = (e: number) => Math.floor((e * N) / E);
      // Enumerate: a token with hot expert h has its K − 1 others uniform over the (K−1)-subsets of the rest.
      const slotsRef = T.map(() => new Array<number>(E).fill(0));
      const rowsRef = T.map(() => new Array<number>(N).fill(0));
      hot.forEach((hv, i) => {
        for (let h = 0; h < E; h++) {
          if (hv[h] === 0) continue;
          const rest = Array.from({ length: E }, (_, e) => e).filter((e) => e !== h);
          const sets = subsets(E - 1, K - 1).map((sub) => [h, ...sub.map((j) => rest[j])]);
          for (const set of sets) {
            for (const e of set) slotsRef[i][e] += hv[h] / sets.length;
            for (let j = 0; j < N; j++) if (set.some((e) => owner(e) === j)) rowsRef[i][j] += hv[h] / sets.length;
          }
        }
      });
      hot.forEach((hv, i) => {
        const c = expertSlots(m, hv, T[i]);
        for (let e = 0; e < E; e++) expect(c[e]).toBeCloseTo(slotsRef[i][e], 9);
      });
      const load = depSkewLoad(m, hot, T);
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) expect(load.rows[i][j]).toBeCloseTo(rowsRef[i][j], 9);
      for (let j = 0; j < N; j++)
        for (let e = 0; e < E; e++)
          expect(load.slots[j][e]).toBeCloseTo(owner(e) === j ? slotsRef.reduce((a, s) => a + s[e], 0) : 0, 9);
    }
  });

  it('DEP owners run the grouped GEMM of their own experts’ load and send the rows their peers’ experts need', () => {
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    const N = 4;
    const T = Array.from({ length: N }, () => 2000 + rng.int(6000));
    const draws = new HotExperts(r1.experts, 1.2 + rng.next(), rng.int(1e9));
    const steps: RankStep[][] = T.map((t) => [{ lengths: [t], hot: draws.counts(t) }]);
    const progs = depPrograms(cost, [0, 1, 2, 3], steps);
    const load = depSkewLoad(
      r1,
      steps.map((s) => s[0].hot!),
      T,
    );
    progs.forEach((ops, j) => {
      const gemm = ops.find(
        (o): o is Extract<Op, { kind: 'compute' }> => o.kind === 'compute' && o.category === 'gemm',
      )!;
      near(gemm.durationMs, tiledGemmMs(cost, load.slots[j], load.touched[j]), `rank ${j} grouped GEMM`);
      const sends = ops.filter((o): o is Extract<Op, { kind: 'send' }> => o.kind === 'send' && o.layer === gemm.layer);
      // The dispatch then the return, each one send to every peer: j's rows for the peer's experts
      // out, the peer's rows for j's experts back (in BF16).
      expect(sends.length, at).toBe(2 * (N - 1));
      const peers = [0, 1, 2, 3].filter((q) => q !== j);
      const dispatch = sends.slice(0, N - 1);
      expect(dispatch.map((s) => s.to).sort(), at).toEqual(peers);
      for (const s of dispatch)
        near(s.bytes, load.rows[j][s.to] * r1.hidden * DEFAULT_PRECISION.dispatchBytes, `rank ${j} → ${s.to}`);
      const back = sends.slice(N - 1);
      expect(back.map((s) => s.to).sort(), at).toEqual(peers);
      for (const s of back)
        near(s.bytes, load.rows[s.to][j] * r1.hidden * DEFAULT_PRECISION.combineBytes, `rank ${j} → ${s.to} (return)`);
    });
  });
});

describe(`DWDP under routing skew ${at}`, () => {
  it('every MoE layer of a step runs the tiled grouped GEMM of the rank’s own slots, step after step and rank after rank', () => {
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    const N = 2 + rng.int(3);
    const group = Array.from({ length: N }, (_, i) => i);
    const draws = new HotExperts(r1.experts, 0.5 + 1.5 * rng.next(), rng.int(1e9));
    // Each rank several steps of different sizes (one a few tokens: most experts cold).
    const steps: RankStep[][] = group.map(() =>
      Array.from({ length: 2 + rng.int(3) }, () => {
        const t = rng.next() < 0.3 ? 1 + rng.int(20) : 500 + rng.int(8000);
        return { lengths: [t], hot: draws.counts(t) };
      }),
    );
    const q = (r1.topK - 1) / (r1.experts - 1);
    const progs = dwdpPrograms(cost, group, steps, {
      placement: makePlacement(r1.experts, N),
      contentionFix: true,
      splitWeights: true,
    });
    progs.forEach((ops, i) => {
      const gemms = ops.filter(
        (o): o is Extract<Op, { kind: 'compute' }> => o.kind === 'compute' && o.category === 'gemm',
      );
      const moe = r1.layers.moeLayerIndices.length;
      expect(gemms.length, at).toBe(moe * steps[i].length);
      steps[i].forEach((st, s) => {
        const T = st.lengths[0];
        // Reference: c_e = h_e + (T − h_e)·q, touched 1 for a hot expert, 1 − (1 − q)^T for a cold one.
        const h = st.hot!;
        const slots = Array.from(h, (x) => x + (T - x) * q);
        const touched = Array.from(h).reduce((u, x) => u + (x > 0 ? 1 : 1 - (1 - q) ** T), 0);
        const want = tiledGemmMs(cost, slots, touched);
        for (let k = 0; k < moe; k++)
          near(gemms[s * moe + k].durationMs, want, `rank ${i} step ${s} MoE layer ${k} (T ${T})`);
      });
    });
  });
});

describe(`DEP dispatch variants ${at}`, () => {
  it('all-to-all and allgather move the bytes written out by hand', () => {
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    const N = 2 + rng.int(4);
    const T = Array.from({ length: N }, () => 100 + rng.int(9000));
    const steps: RankStep[][] = T.map((t) => [{ lengths: [t] }]);
    const group = Array.from({ length: N }, (_, i) => i);
    // C(E − E/N, K)/C(E, K) by hand, E = 256, K = 8.
    const per = 256 / N;
    let none = 1;
    for (let i = 0; i < 8; i++) none *= (256 - per - i) / (256 - i);
    const reach = 1 - none;
    const H = 7168;
    for (const dispatch of ['all-to-all', 'allgather'] as const) {
      const progs = depPrograms(cost, group, steps, undefined, { dispatch });
      progs.forEach((ops, i) => {
        const l = r1.layers.moeLayerIndices[rng.int(r1.layers.moe)];
        const sends = ops.filter((o): o is Extract<Op, { kind: 'send' }> => o.kind === 'send' && o.layer === l);
        expect(sends.length).toBe(2 * (N - 1));
        for (const [k, s] of sends.entries()) {
          const isDispatch = k < N - 1;
          const want =
            dispatch === 'all-to-all'
              ? isDispatch
                ? T[i] * reach * H * 1 // FP8 rows of i's tokens with an expert on the peer
                : T[s.to] * reach * H * 2 // BF16 rows back to the peer's tokens
              : isDispatch
                ? T[i] * H * 2 // allgather: every BF16 row of i to every peer
                : T[s.to] * H * 2; // reduce-scatter: the peer's rows of partial sums
          near(s.bytes, want, `${dispatch} rank ${i} send ${k}`);
        }
      });
    }
    // The allgather moves more, so a DEP step with it is never faster.
    const p = { ...DEFAULT_STEP_PARAMS, profile: GB200_NVL72, model: r1, seed: rng.int(1e9), isl: 4096, steps: 1 };
    const a = runStepRow({ ...p, depDispatch: 'all-to-all' }).row;
    const g = runStepRow({ ...p, depDispatch: 'allgather' }).row;
    expect(g.breakdown.dep.communication).toBeGreaterThan(a.breakdown.dep.communication);
    expect(g.tDwdp).toBe(a.tDwdp);
  });
});

describe(`split-weight merge variants ${at}`, () => {
  it('local copies the L resident experts, pulled the (N−1)·P pulled ones, timed as an HBM copy', () => {
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    const N = [2, 3, 4, 8][rng.int(4)];
    const placement = makePlacement(256, N);
    const steps: RankStep[][] = Array.from({ length: N }, () => [{ lengths: [1 + rng.int(9000)] }]);
    const group = Array.from({ length: N }, (_, i) => i);
    const eff = profileEfficiency(GB200_NVL72);
    for (const splitMerge of ['local', 'pulled'] as const) {
      const progs = dwdpPrograms(cost, group, steps, {
        placement,
        contentionFix: true,
        splitWeights: false,
        splitMerge,
      });
      const experts = splitMerge === 'local' ? 256 - (N - 1) * placement.pull : (N - 1) * placement.pull;
      const ms = (2 * experts * cost.expertBytes) / (GB200_NVL72.hbmGBps * 1e6 * eff.memory) + eff.launchUs / 1000;
      for (const ops of progs) {
        const merges = ops.filter((o) => o.kind === 'compute' && o.category === 'merge');
        expect(merges.length).toBe(r1.layers.moe);
        for (const o of merges) expect(o.kind === 'compute' && o.durationMs).toBeCloseTo(ms, 9);
      }
    }
  });
});

describe('scenario keys', () => {
  it('accept every new key in base, rows and sweep', () => {
    const spec = parseScenario({
      base: { routingSkew: 1, depDispatch: 'allgather', splitMerge: 'pulled', maxBatchRequests: 4 },
      rows: [{ splitMerge: 'local', maxTokensPerBatch: 20000 }, { depDispatch: 'all-to-all' }],
    });
    expect(() => checkScenario(spec, 256)).not.toThrow();
    for (const [param, values] of [
      ['depDispatch', ['all-to-all', 'allgather']],
      ['splitMerge', ['local', 'pulled']],
      ['routingSkew', [0, 1.5]],
      ['maxBatchRequests', [1, 8]],
      ['maxTokensPerBatch', [8192, 32768]],
    ] as const)
      expect(() => checkScenario(parseScenario({ sweep: { param, values } }), 256)).not.toThrow();
  });

  it('rows report the knobs they vary', () => {
    const r = runScenario({
      name: 'knobs',
      base: { groupSize: 2, steps: 1, isl: 1024, splitWeights: false },
      rows: [
        { depDispatch: 'allgather', splitMerge: 'pulled' },
        { depDispatch: 'all-to-all', splitMerge: 'local' },
      ],
    });
    const rows = r.rows as unknown as Record<string, unknown>[];
    expect(rows.map((x) => [x.depDispatch, x.splitMerge])).toEqual([
      ['allgather', 'pulled'],
      ['all-to-all', 'local'],
    ]);
    // The table shows each varied knob; a key without a default that the rows leave unset reads "—", never "undefined".
    const table = formatScenario({ ...r, varying: [...r.varying, 'maxBatchRequests'] });
    expect(table).toMatch(/depDispatch +splitMerge +maxBatchRequests/);
    expect(table).toMatch(/allgather +pulled +— /);
    expect(table).not.toMatch(/undefined/);
  });

  it('size a serving row’s work by both caps', () => {
    const G = 1 + rng.int(8);
    const requests = 1 + rng.int(5000);
    const row = { groupSize: G, ranks: 8 * G, requests, isl: 1000, maxTokensPerBatch: 1000 * (1 + rng.int(20)) };
    const perBatch = row.maxTokensPerBatch / 1000;
    expect(rowRankSteps('serving', row)).toBe(2 * G * Math.ceil(requests / perBatch) + 8 * G);
    expect(rowRankSteps('serving', { ...row, maxBatchRequests: 1 })).toBe(2 * G * requests + 8 * G);
    // No token cap given: the serving default.
    const { maxTokensPerBatch: _, ...uncapped } = row;
    expect(rowRankSteps('serving', uncapped)).toBe(
      2 * G * Math.ceil(requests / Math.floor(DEFAULT_SERVING_MAX_TOKENS / 1000)) + 8 * G,
    );
  });

  it('refuse bad values with one message naming the key', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ rows: [{}, { depDispatch: 'alltoall' }] }, 'scenario.rows[1].depDispatch', /one of all-to-all, allgather/],
      [{ base: { splitMerge: 'all' } }, 'scenario.base.splitMerge', /one of pulled, local/],
      [{ base: { routingSkew: -0.5 } }, 'scenario.base.routingSkew', /between 0 and 4/],
      [
        { sweep: { param: 'maxBatchRequests', values: [2, 0] } },
        'scenario.sweep.values[1].maxBatchRequests',
        /integer/,
      ],
      [{ base: { maxTokensPerBatch: 1.5 } }, 'scenario.base.maxTokensPerBatch', /integer/],
    ];
    for (const [json, option, detail] of cases) {
      const e = errorOf(() => parseScenario(json));
      expect(e.option).toBe(option);
      expect(e.message).toMatch(detail);
    }
    // A queue-filled step row that would draw more requests than the limit: named by its cap.
    const big = errorOf(() =>
      checkScenario(parseScenario({ base: { isl: 1, groupSize: 64, steps: 64, maxTokensPerBatch: 1 << 10 } }), 256),
    );
    expect(big.option).toBe('scenario.base.maxTokensPerBatch');
    expect(big.message).toMatch(new RegExp(`${64 * 64 * 1024}.*${MAX_STEP_REQUESTS}`));
    expect(stepRowRequests({ isl: 1000, groupSize: 4, steps: 2, maxTokensPerBatch: 3500, maxBatchRequests: 2 })).toBe(
      16,
    );
    expect(
      stepRowRequests({
        isl: 1000,
        lengthLaw: 'uniform-ratio',
        islRatio: 0.5,
        groupSize: 4,
        steps: 2,
        maxTokensPerBatch: 3500,
      }),
    ).toBe(4 * 2 * 4);
    // A step row that fixes `batch` and gives a cap: one message, naming batch and the cap.
    const e = errorOf(() => checkScenario(parseScenario({ base: { batch: 2, maxBatchRequests: 3 } }), 256));
    expect(e.option).toBe('scenario.base.batch');
    expect(e.message).toMatch(/maxBatchRequests/);
    // A token cap below the mean request (most requests would be batches of their own, over the cap):
    // refused, proposing the mean; at the mean it runs. Random lengths and laws, both modes.
    for (let trial = 0; trial < 20; trial++) {
      const isl = 64 + rng.int(16384);
      const law = rng.int(2) === 0 ? { lengthLaw: 'uniform-ratio', islRatio: 0.05 + 0.95 * rng.next() } : {};
      const mean = Math.ceil(law.islRatio === undefined ? isl : (isl * (1 + law.islRatio)) / 2);
      const mode = rng.int(2) === 0 ? 'step' : 'serving';
      const base = { isl, ...law, ...(mode === 'serving' ? { requests: 8, ranks: 4 } : {}) };
      const what = `isl ${isl} ${JSON.stringify(law)} ${mode} (seed ${seed})`;
      const low = errorOf(() =>
        checkScenario(parseScenario({ mode, base: { ...base, maxTokensPerBatch: mean - 1 } }), 256),
      );
      expect(low.option, what).toBe('scenario.base.maxTokensPerBatch');
      expect(low.message, what).toMatch(new RegExp(`below the mean request of ${mean} tokens`));
      expect(low.suggestion, what).toEqual([{ option: 'scenario.base.maxTokensPerBatch', value: mean }]);
      expect(
        () => checkScenario(parseScenario({ mode, base: { ...base, maxTokensPerBatch: mean } }), 256),
        what,
      ).not.toThrow();
    }
    // islRatio beside a law that does not read it: named, with the law that does.
    for (const lengthLaw of [undefined, 'lognormal', 'gamma']) {
      const base = { islRatio: 0.5, ...(lengthLaw ? { lengthLaw } : {}) };
      const r = errorOf(() => checkScenario(parseScenario({ base }), 256));
      expect(r.option, String(lengthLaw)).toBe('scenario.base.islRatio');
      expect(r.suggestion).toEqual([{ option: 'scenario.base.lengthLaw', value: 'uniform-ratio' }]);
    }
    expect(() =>
      checkScenario(
        parseScenario({ base: { islRatio: 0.5, lengthLaw: 'uniform-ratio', maxTokensPerBatch: 32768 } }),
        256,
      ),
    ).not.toThrow();
  });
});
