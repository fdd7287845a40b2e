// The end-to-end deployment model: the Pareto frontier and band choice against brute force on
// random point sets, the closed-loop operating point's invariants on random stations, the
// decode step's arithmetic against independent float64 formulas, the KV transfer, and the
// scenario's parsing and result shape on a small search.
import { describe, expect, it } from 'vitest';
import { CostModel } from '../src/sim/cost-model.ts';
import { contextStepMs, uniformLengths, type ContextCurve } from '../src/sim/e2e/context.ts';
import {
  DEFAULT_GENERATION_PARAMS,
  acceptedTokens,
  busiestContext,
  decodeAttentionCore,
  decodeContextLengths,
  decodeStep,
  draftHeadTp,
  expectedMaxNormal,
  generationMemoryBytes,
  kvBytesPerToken,
  routingSkewImbalance,
  samplingImbalance,
} from '../src/sim/e2e/generation.ts';
import { popularityOrder } from '../src/workload/skew.ts';
import { kvTransfer } from '../src/sim/e2e/kv-transfer.ts';
import { acceptedTokenMoments } from '../src/sim/e2e/ttft-queue.ts';
import { bestInBand, paretoFrontier, type ParetoPoint } from '../src/sim/e2e/pareto.ts';
import { ctxThroughput, genThroughput, operatingPoint, type LoopInput } from '../src/sim/e2e/rate-match.ts';
import {
  DEFAULT_E2E_PARAMS,
  E2E_SCENARIOS,
  e2eEvaluator,
  e2eValidation,
  publishedSettingDifferences,
  parseE2eScenario,
  REPRO_MATRIX,
  runE2e,
} from '../src/sim/e2e/scenario.ts';
import { deepseekR1 } from '../src/sim/experiment.ts';
import { GB200_NVL72 } from '../src/hardware/profiles.ts';
import { DEFAULT_EFFICIENCY } from '../src/hardware/efficiency.ts';
import { layerMiscWork } from '../src/sim/cost-model.ts';
import { E2E_PARAM, E2E_PARAMS } from '../src/options/e2e.ts';
import { formatE2e } from '../src/sim/e2e/format.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;
const r1 = deepseekR1();
const cost = new CostModel({ model: r1, profile: GB200_NVL72 });

/**
 * Reference LM head on one GPU in attention DP: the t positions of each of tp GPUs gathered, this
 * GPU's V/tp logits computed for all tp·t of them (2·H·V/tp FLOPs each), its H·V/tp BF16 weights
 * read once, each position's hidden row (BF16) read and its V/tp logits (f32) written; then the
 * sampler reads those logits once. The main model's head runs at tp = 1, the draft head at
 * TensorRT-LLM's split (draftHeadTp).
 */
function lmHeadMs(t: number, tp: number): number {
  const H = r1.hidden;
  const V = r1.vocabSize;
  const head = cost.ms({
    flops: 2 * t * H * V,
    bytes: (H * V * 2) / tp + t * tp * (H * 2 + (V / tp) * 4),
    precision: 'bf16',
    kind: 'gemm',
    kernels: 2,
  });
  return head + cost.ms({ flops: 0, bytes: t * V * 4, precision: 'bf16', kind: 'memory', kernels: 1 });
}

describe('Pareto frontier and bands', () => {
  // Points on a coarse grid so that ties and duplicates occur often.
  const randomPoints = (n: number): (ParetoPoint & { id: number })[] =>
    Array.from({ length: n }, (_, id) => ({ id, tpsPerUser: rng.int(20) * 10, tpsPerGpu: rng.int(20) * 100 }));
  const dominated = (p: ParetoPoint, q: ParetoPoint) =>
    q.tpsPerUser >= p.tpsPerUser &&
    q.tpsPerGpu >= p.tpsPerGpu &&
    (q.tpsPerUser > p.tpsPerUser || q.tpsPerGpu > p.tpsPerGpu);

  it('holds exactly the non-dominated points (one per distinct value pair), against an O(n²) reference', () => {
    for (let trial = 0; trial < 200; trial++) {
      const pts = randomPoints(1 + rng.int(60));
      const fr = paretoFrontier(pts);
      const ref = pts.filter((p) => !pts.some((q) => dominated(p, q)));
      const key = (p: ParetoPoint) => `${p.tpsPerUser}/${p.tpsPerGpu}`;
      expect(fr.map(key).sort(), tag('frontier values')).toEqual([...new Set(ref.map(key))].sort());
      // Ascending TPS/user, strictly descending TPS/GPU along it.
      for (let i = 1; i < fr.length; i++) {
        expect(fr[i].tpsPerUser).toBeGreaterThan(fr[i - 1].tpsPerUser);
        expect(fr[i].tpsPerGpu).toBeLessThan(fr[i - 1].tpsPerGpu);
      }
    }
  });

  it('picks the highest TPS/GPU among all points inside the band, or none', () => {
    for (let trial = 0; trial < 200; trial++) {
      const pts = randomPoints(rng.int(40));
      const lo = rng.int(15) * 10;
      const band: [number, number] = [lo, lo + 10 + rng.int(5) * 10];
      const best = bestInBand(pts, band);
      const inBand = pts.filter((p) => p.tpsPerUser >= band[0] && p.tpsPerUser <= band[1]);
      if (inBand.length === 0) expect(best, tag('empty band')).toBeNull();
      else expect(best!.tpsPerGpu, tag('band best')).toBe(Math.max(...inBand.map((p) => p.tpsPerGpu)));
    }
  });
});

describe('closed-loop rate matching', () => {
  // Random stations: context step t0 + c·b (b ≤ bMax), decode step τ0 + d·b.
  const randomLoop = (): LoopInput => {
    const t0 = rng.uniform(100, 600);
    const c = rng.uniform(50, 400);
    const tau0 = rng.uniform(5, 20);
    const d = rng.uniform(0.01, 0.3);
    const genGpus = [4, 8, 16, 32][rng.int(4)];
    const genBatch = 1 + rng.int(256);
    return {
      concurrency: genBatch * genGpus,
      ctxGpus: 4 * (1 + rng.int(16)),
      ctxStepMs: (b) => t0 + c * Math.max(1, b),
      ctxBMax: 1 + rng.int(4),
      genGpus,
      genBatch,
      genStepMs: (b) => tau0 + d * Math.max(1, b),
      tokensPerStep: 1 + rng.next() * 2,
      osl: 2 + rng.int(2000),
      kvTransferMs: rng.uniform(0, 5),
    };
  };

  it('finds the throughput at which both stations agree and the populations add up to the concurrency', () => {
    for (let trial = 0; trial < 300; trial++) {
      const x = randomLoop();
      const op = operatingPoint(x);
      const capCtx = ctxThroughput(x, x.ctxBMax);
      const X = op.requestsPerS;
      expect(X, tag('throughput > 0')).toBeGreaterThan(0);
      expect(X, tag('within the context capacity')).toBeLessThanOrEqual(capCtx * (1 + 1e-9));
      expect(op.genBatch, tag('generation batch within the limit')).toBeLessThanOrEqual(x.genBatch);
      // The generation pool emits exactly X at its occupancy.
      expect(genThroughput(x, op.genBatch) / X, tag('generation agrees')).toBeCloseTo(1, 6);
      // Population: context (by Little's law from TTFT) + transfer + generation = C.
      const nCtx = ((op.ttftMs - x.kvTransferMs) / 1000) * X;
      const total = nCtx + (X * x.kvTransferMs) / 1000 + op.genBatch * x.genGpus;
      expect(total / x.concurrency, tag('population')).toBeCloseTo(1, 5);
      if (op.bottleneck === 'context') {
        expect(X / capCtx, tag('saturated context')).toBeCloseTo(1, 9);
        expect(op.ctxQueue, tag('queue')).toBeGreaterThanOrEqual(0);
      } else {
        // The context serves X with its batch below the limit, no queue.
        expect(ctxThroughput(x, op.ctxBatch) / X, tag('context agrees')).toBeCloseTo(1, 6);
        expect(op.ctxQueue).toBe(0);
      }
      // Output TPS/GPU over all GPUs; the decode rate from the step.
      expect(op.tpsPerGpu).toBeCloseTo((X * x.osl) / (x.ctxGpus + x.genGpus), 6);
      const decode = (x.tokensPerStep * 1000) / x.genStepMs(op.genBatch);
      expect(op.decodeTpsPerUser).toBeCloseTo(decode, 9);
      // The benchmark's TPS/user (the default metric): OSL ÷ (TTFT + the decode of OSL − 1 tokens),
      // the end-to-end latency of a request at the operating point, summed station by station.
      const e2elMs = op.ttftMs + ((x.osl - 1) / x.tokensPerStep) * x.genStepMs(op.genBatch);
      expect(op.benchmarkTpsPerUser / ((x.osl * 1000) / e2elMs), tag('OSL ÷ end-to-end latency')).toBeCloseTo(1, 5);
      expect(op.tpsPerUser).toBe(op.benchmarkTpsPerUser);
      expect(op.benchmarkTpsPerUser, tag('TTFT only lowers it')).toBeLessThan(decode);
      expect(operatingPoint({ ...x, tpsPerUserMetric: 'decode' }).tpsPerUser).toBe(op.decodeTpsPerUser);
    }
  });

  it('never loses throughput when context GPUs are added', () => {
    for (let trial = 0; trial < 100; trial++) {
      const x = randomLoop();
      const a = operatingPoint(x).requestsPerS;
      const b = operatingPoint({ ...x, ctxGpus: x.ctxGpus + 4 }).requestsPerS;
      expect(b, tag('more context GPUs')).toBeGreaterThanOrEqual(a * (1 - 1e-9));
    }
  });
});

describe('decode step', () => {
  it('accepts 1 + α₁ + α₁α₂ + … tokens per step and spreads the expected maximum of a Poisson count', () => {
    for (let trial = 0; trial < 50; trial++) {
      const a = rng.next() * 0.99;
      const m = rng.int(5);
      expect(acceptedTokens(m, [a]), tag('one entry: geometric sum')).toBeCloseTo(
        (1 - Math.pow(a, m + 1)) / (1 - a),
        12,
      );
    }
    // Per draft position: the expected accepted tokens of a chain whose draft i survives with α_i
    // (later drafts take the last entry), against an enumeration of every outcome of the chain.
    for (let trial = 0; trial < 50; trial++) {
      const alpha = Array.from({ length: 1 + rng.int(4) }, () => rng.next());
      const m = rng.int(7);
      let want = 0;
      for (let k = 0; k <= m; k++) {
        // P(exactly k drafts accepted): drafts 1…k survive, draft k + 1 (if any) does not.
        let p = 1;
        for (let i = 1; i <= k; i++) p *= alpha[Math.min(i, alpha.length) - 1];
        if (k < m) p *= 1 - alpha[Math.min(k + 1, alpha.length) - 1];
        want += p * (1 + k);
      }
      expect(acceptedTokens(m, alpha), tag(`alpha ${alpha.join(', ')}, m ${m}`)).toBeCloseTo(want, 12);
    }
    // The default reproduces the measured accepted tokens it is read from (TensorRT-LLM tech blog 1).
    const measured = [1, 1.92, 2.58, 2.82];
    for (let m = 0; m <= 3; m++)
      expect(acceptedTokens(m, DEFAULT_GENERATION_PARAMS.mtpAcceptance), `MTP ${m}`).toBeCloseTo(measured[m], 12);
    expect(acceptedTokens(0, [0.85])).toBe(1);
    expect(() => acceptedTokens(2, [])).toThrow(/generation\.mtpAcceptance/);
    expect(samplingImbalance(100, 1)).toBe(1);
    expect(samplingImbalance(100, 16)).toBeCloseTo(1 + Math.sqrt((2 * Math.log(16)) / 100), 12);
  });

  it('reads the MLA latent + RoPE key of every cached token once per request and layer (FP8)', () => {
    expect(kvBytesPerToken(r1, 1)).toBe((512 + 64) * 61);
    for (let trial = 0; trial < 20; trial++) {
      const b = 1 + rng.int(256);
      const S = 1 + rng.int(20000);
      const T = b * (1 + rng.int(4));
      const w = decodeAttentionCore(r1, T, b, S, DEFAULT_GENERATION_PARAMS);
      // KV read + the query/output latent rows (T·heads·kvLora, bf16, in and out)
      expect(w.bytes, tag('KV bytes')).toBe(b * S * 576 + T * 128 * 512 * 4);
      expect(w.flops, tag('absorbed MLA FLOPs')).toBe(T * 128 * 2 * S * (2 * 512 + 64));
    }
  });

  it('adds up its breakdown, gets slower with batch and faster per user with MTP tokens', () => {
    for (let trial = 0; trial < 20; trial++) {
      const cfg = { ep: [4, 8, 16, 32][rng.int(4)], batch: 256, mtp: rng.int(4), eplb: rng.next() < 0.5 };
      const b = 1 + rng.int(200);
      const s = decodeStep(cost, cfg, b, 8000);
      const sum = Object.values(s.breakdown).reduce((x, y) => x + y, 0);
      expect(sum / s.stepMs, tag('breakdown')).toBeCloseTo(1, 12);
      expect(s.tpsPerUser).toBeCloseTo((s.tokensPerStep / s.stepMs) * 1000, 9);
      // Strictly slower with batch unless every layer sits on the per-layer floor at both batches.
      const next = decodeStep(cost, cfg, b + 8, 8000);
      expect(next.stepMs, tag('monotone in batch')).toBeGreaterThanOrEqual(s.stepMs);
      if (next.breakdown.floor === 0) expect(next.stepMs, tag('monotone in batch')).toBeGreaterThan(s.stepMs);
      if (!cfg.eplb) {
        const balanced = decodeStep(cost, { ...cfg, eplb: true }, b, 8000);
        expect(s.stepMs, tag('EPLB helps')).toBeGreaterThanOrEqual(balanced.stepMs);
        if (s.breakdown.floor === 0) expect(s.stepMs, tag('EPLB helps')).toBeGreaterThan(balanced.stepMs);
      }
    }
  });

  it('derives the no-EPLB imbalance from the rack model’s routing skew (Zipf hot experts, DEP owners)', () => {
    for (let trial = 0; trial < 20; trial++) {
      const G = [2, 4, 8, 16, 32, 64][rng.int(6)];
      const s = rng.uniform(0, 2);
      const sd = rng.int(1e6);
      // Reference: p_k ∝ 1/k^s over the seed's popularity order; expert e gets p_e + (1 − p_e)·(K − 1)/(E − 1)
      // slots per token; rank j owns ⌊e·G/E⌋ = j; imbalance = max over ranks ÷ (K/G).
      const E = r1.experts;
      const K = r1.topK;
      const w = Array.from({ length: E }, (_, k) => 1 / Math.pow(k + 1, s));
      const sum = w.reduce((a, b) => a + b, 0);
      const order = popularityOrder(E, sd);
      const load = new Array<number>(G).fill(0);
      order.forEach((e, k) => {
        const pe = w[k] / sum;
        load[Math.floor((e * G) / E)] += pe + ((1 - pe) * (K - 1)) / (E - 1);
      });
      const want = Math.max(...load) / (K / G);
      const got = routingSkewImbalance(r1, G, s, sd);
      expect(got, tag(`G ${G} s ${s}`)).toBeCloseTo(want, 10);
      expect(got).toBeGreaterThanOrEqual(1 - 1e-12);
      expect(routingSkewImbalance(r1, G, 0, sd), tag('uniform routing')).toBeCloseTo(1, 12);
    }
    // In a scenario, routingSkew replaces noEplbSkew for the deployments without EPLB only.
    const base = {
      mode: 'e2e',
      e2e: { genEp: [16], genBatch: [64], mtp: [1], eplb: [false, true], bands: [[1, 1000]] },
    };
    const point = (e2e: object, eplb: boolean) =>
      e2eEvaluator(parseE2eScenario({ ...base, e2e: { ...base.e2e, ...e2e } })).evaluate('dep', 4, {
        ep: 16,
        batch: 64,
        mtp: 1,
        eplb,
      })!.tpsPerUser;
    const skew = routingSkewImbalance(r1, 16, 1.2, 1);
    expect(point({ routingSkew: 1.2 }, false)).toBeCloseTo(point({ generation: { noEplbSkew: skew } }, false), 9);
    expect(point({ routingSkew: 1.2 }, true)).toBe(point({}, true));
  });

  it('takes the expected maximum of G standard normals: closed forms at G ≤ 3, sampling beyond', () => {
    expect(expectedMaxNormal(1)).toBe(0);
    // E[max] of 2 and 3 standard normals: 1/√π and 3/(2√π) (order statistics of the normal).
    expect(expectedMaxNormal(2)).toBeCloseTo(1 / Math.sqrt(Math.PI), 6);
    expect(expectedMaxNormal(3)).toBeCloseTo(3 / (2 * Math.sqrt(Math.PI)), 6);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    for (let trial = 0; trial < 3; trial++) {
      const G = 4 + rng.int(69);
      const N = 20000;
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < N; i++) {
        let mx = -Infinity;
        for (let j = 0; j < G; j++) mx = Math.max(mx, normal());
        sum += mx;
        sq += mx * mx;
      }
      const mean = sum / N;
      const se = Math.sqrt((sq / N - mean * mean) / N);
      // Six standard errors of the sample mean (and the quadrature's 1e-6).
      expect(Math.abs(expectedMaxNormal(G) - mean), tag(`G ${G}`)).toBeLessThan(6 * se + 1e-6);
      expect(expectedMaxNormal(G)).toBeGreaterThan(expectedMaxNormal(G - 1));
    }
  });

  it('spreads a request’s cached context as its input length plus its place in the decode (sampled)', () => {
    for (let trial = 0; trial < 3; trial++) {
      const hi = 1000 + rng.int(16000);
      const lo = hi * rng.uniform(0.1, 1);
      const osl = 2 + rng.int(4000);
      const c = decodeContextLengths(lo, hi, osl);
      // Exactly, from the raw moments of a uniform law on [a, b]: E = (a + b)/2, E[X²] = (a² + ab + b²)/3;
      // the two parts are independent, so their means and variances add. The cancellation in
      // E[X²] − E² costs at most a few ulps of (hi + osl)².
      const m1 = (a: number, b: number) => (a + b) / 2;
      const m2 = (a: number, b: number) => (a * a + a * b + b * b) / 3;
      const variance = m2(lo, hi) - m1(lo, hi) ** 2 + m2(0, osl) - m1(0, osl) ** 2;
      expect(Math.abs(c.mean - (m1(lo, hi) + m1(0, osl))), tag('mean, exact')).toBeLessThan(1e-12 * (hi + osl));
      expect(Math.abs(c.sd ** 2 - variance), tag('variance, exact')).toBeLessThan(1e-14 * (hi + osl) ** 2);
      const N = 40000;
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < N; i++) {
        const x = lo + (hi - lo) * rng.next() + osl * rng.next();
        sum += x;
        sq += x * x;
      }
      const mean = sum / N;
      const sd = Math.sqrt(sq / N - mean * mean);
      // Mean within 6 standard errors; the standard deviation within 3 % (N = 40,000 draws of a bounded law).
      expect(Math.abs(c.mean - mean), tag('mean')).toBeLessThan((6 * sd) / Math.sqrt(N));
      expect(c.sd / sd, tag('sd')).toBeGreaterThan(0.97);
      expect(c.sd / sd, tag('sd')).toBeLessThan(1.03);
    }
  });

  it('times the attention core of the busiest attention-DP GPU: its cached tokens, the rest of the step unchanged', () => {
    for (let trial = 0; trial < 20; trial++) {
      const G = 2 + rng.int(2); // 2 or 3 GPUs: E[max] in closed form
      const cfg = { ep: G, batch: 256, mtp: rng.int(4), eplb: rng.next() < 0.5 };
      const b = rng.uniform(0.2, 200);
      const ctx = { mean: rng.uniform(100, 16000), sd: rng.uniform(0, 3000) };
      const eMax = G === 2 ? 1 / Math.sqrt(Math.PI) : 3 / (2 * Math.sqrt(Math.PI));
      const busiest = ctx.mean + (ctx.sd * eMax) / Math.sqrt(Math.max(1, b));
      // The quadrature's error on E[max] is below 1e-6.
      expect(Math.abs(busiestContext(ctx, b, G) - busiest), tag('busiest context')).toBeLessThanOrEqual(ctx.sd * 1e-6);
      const spread = decodeStep(cost, cfg, b, ctx);
      const flat = decodeStep(cost, cfg, b, busiest);
      expect(spread.stepMs / flat.stepMs, tag(`G ${G} b ${b}`)).toBeCloseTo(1, 6);
      // Only the attention (main model and MTP layers) grows with the spread.
      const none = decodeStep(cost, cfg, b, ctx.mean);
      expect(spread.breakdown.moe).toBe(none.breakdown.moe);
      expect(spread.breakdown.communication).toBe(none.breakdown.communication);
      expect(spread.breakdown.attention, tag('attention')).toBeGreaterThanOrEqual(none.breakdown.attention);
      // One GPU: nobody to wait for.
      expect(decodeStep(cost, { ...cfg, ep: 1 }, b, ctx).stepMs).toBe(
        decodeStep(cost, { ...cfg, ep: 1 }, b, ctx.mean).stepMs,
      );
    }
  });

  it('runs the others at the cost model’s calibrated passes and the attention core at decodeAttentionEfficiency', () => {
    for (let trial = 0; trial < 20; trial++) {
      const cfg = { ep: [4, 8, 16, 32][rng.int(4)], batch: 256, mtp: 0, eplb: true };
      const b = 64 + rng.int(192);
      const S = rng.uniform(4000, 16000);
      const p1 = rng.uniform(1, 40);
      const p2 = rng.uniform(1, 40);
      const at = (othersPasses: number) =>
        new CostModel({ model: r1, profile: GB200_NVL72, efficiency: { othersPasses } });
      const s1 = decodeStep(at(p1), cfg, b, S);
      const s2 = decodeStep(at(p2), cfg, b, S);
      expect(s1.breakdown.floor + s2.breakdown.floor, 'large batch: no floor').toBe(0);
      // Reference: the others are memory-bound, 2·passes·T·H·2 bytes at HBM × efficiency.memory, in all 61 layers.
      const bytes = (passes: number) => 2 * passes * b * r1.hidden * 2;
      const want = (r1.layers.total * (bytes(p2) - bytes(p1))) / (8000e6 * DEFAULT_EFFICIENCY.memory);
      expect((s2.breakdown.dense - s1.breakdown.dense) / want, tag(`passes ${p1} → ${p2}`)).toBeCloseTo(1, 9);
      expect(layerMiscWork(r1, b, p1).kind).toBe('memory');
      // The core: FLOPs ÷ (FP8 peak × efficiency) or its KV + latent bytes ÷ (HBM × memory), the larger,
      // in all 61 layers (MTP 1–3: compute-bound at long contexts, so the efficiency shows).
      const mtp = 1 + rng.int(3);
      const T = b * (1 + mtp);
      const e1 = rng.uniform(0.3, 1);
      const e2 = rng.uniform(0.3, 1);
      const atEff = (decodeAttentionEfficiency: number) =>
        decodeStep(cost, { ...cfg, mtp }, b, S, { ...DEFAULT_GENERATION_PARAMS, decodeAttentionEfficiency }).breakdown
          .attention;
      const flops = T * 128 * 2 * S * (2 * 512 + 64);
      const coreBytes = b * S * 576 + T * 128 * 512 * 4;
      const core = (e: number) => Math.max(flops / (5000e9 * e), coreBytes / (8000e6 * DEFAULT_EFFICIENCY.memory));
      const wantAttn = r1.layers.total * (core(e2) - core(e1));
      expect(atEff(e2) - atEff(e1), tag(`efficiency ${e1} → ${e2}`)).toBeCloseTo(wantAttn, 9);
    }
  });

  it('runs the main LM head whole on every GPU over its own T positions, and samples from its logits', () => {
    for (let trial = 0; trial < 20; trial++) {
      const G = [1, 2, 4, 8, 16, 32][rng.int(6)];
      const cfg = { ep: G, batch: 256, mtp: rng.int(4), eplb: true };
      const b = 64 + rng.int(192);
      const T = b * (1 + cfg.mtp);
      const s = decodeStep(cost, cfg, b, 8000);
      expect(s.breakdown.floor, 'large batch: no floor').toBe(0);
      // Reference: dense = 61 layers' others + 3 dense MLPs + the LM head on this GPU's T
      // positions with the whole vocabulary (TensorRT-LLM splits only the draft head).
      const want = 61 * cost.layerMiscMs(T) + 3 * cost.denseMlpMs(T) + lmHeadMs(T, 1);
      expect(s.breakdown.dense / want, tag(`G ${G} b ${b}`)).toBeCloseTo(1, 12);
      // Its whole BF16 weights are read whatever G is: in the reference, and in what the step charges
      // beyond the others and the dense MLPs (margin: the T positions' activations and logits, ≥ 1 %).
      const weightsMs = (r1.hidden * r1.vocabSize * 2) / (8000e6 * cost.efficiency.memory);
      expect(lmHeadMs(T, 1)).toBeGreaterThanOrEqual(weightsMs);
      const charged = s.breakdown.dense - 61 * cost.layerMiscMs(T) - 3 * cost.denseMlpMs(T);
      expect(charged, tag(`G ${G} b ${b}: LM head`)).toBeGreaterThanOrEqual(weightsMs);
    }
  });

  it("splits the draft head as TensorRT-LLM's create_lm_head_tp_mapping does: 256 / b rounded up to a power of 2, within [1, gpus_per_node]", () => {
    // Exhaustive over b ≤ 512 and the EP sizes, against the rule written out with integer powers.
    for (const G of [1, 2, 4, 8, 16, 32, 64])
      for (const cap of [1, 2, 4, 8])
        for (let b = 1; b <= 512; b++) {
          const raw = Math.floor(256 / b);
          let want = raw <= 1 ? 1 : 2 ** Math.ceil(Math.log2(raw));
          want = Math.min(want, cap);
          while (G % want !== 0) want /= 2;
          expect(draftHeadTp(b, G, cap), `b ${b} G ${G} cap ${cap}`).toBe(want);
        }
    for (const bad of [0, 2.5, NaN, -4])
      expect(() => draftHeadTp(32, 8, bad), String(bad)).toThrow(
        /^generation\.lmHeadTpGpus must be an integer ≥ 1 .*got /,
      );
    // The published deployments: b 256 → 1, 128 → 2, 64 → 4, 32 → 4 (8 capped at a GB200 tray's 4), 2 → 4.
    expect([256, 128, 64, 32, 2].map((b) => draftHeadTp(b, 8, 4))).toEqual([1, 2, 4, 4, 4]);
  });

  it('holds the KV cache of a full batch within kvMemoryFraction of the memory the weights leave', () => {
    for (let trial = 0; trial < 20; trial++) {
      const cfg = { ep: [4, 8, 16, 32][rng.int(4)], batch: 1 + rng.int(512), mtp: 1, eplb: true };
      const maxContext = 1 + rng.int(20000);
      const kvMemoryFraction = rng.uniform(0.05, 1);
      const mem = generationMemoryBytes(cost, cfg, maxContext, { ...DEFAULT_GENERATION_PARAMS, kvMemoryFraction });
      const experts = Math.ceil(256 / cfg.ep) * cost.expertBytes * 58;
      expect(mem.weights).toBe(experts + cost.denseWeightBytes());
      expect(mem.kv).toBe(cfg.batch * maxContext * 576 * 61);
      expect(mem.fits, tag('fits')).toBe(mem.kv <= kvMemoryFraction * (186e9 - mem.weights));
    }
    // EP4 at batch 256 and ISL + OSL = 9216 does not fit whatever the fraction: its 64 experts × 58
    // layers of NVFP4 weights plus the rest leave less than the 82.9 GB its KV cache needs.
    const ep4 = generationMemoryBytes(cost, { ep: 4, batch: 256, mtp: 1, eplb: true }, 9216, {
      ...DEFAULT_GENERATION_PARAMS,
      kvMemoryFraction: 1,
    });
    expect(ep4.kv).toBeGreaterThan(186e9 - ep4.weights);
    expect(ep4.fits).toBe(false);
    // The search skips what does not fit: EP4 at batch 256 always, EP8 at batch 256 once the KV budget
    // (fraction × the 124 GB its weights leave) falls below its 82.9 GB.
    const gen = (ep: number) => ({ ep, batch: 256, mtp: 1, eplb: true });
    const evaluator = (generation: object) =>
      e2eEvaluator(
        parseE2eScenario({
          mode: 'e2e',
          e2e: { genEp: [4, 8], genBatch: [256], mtp: [1], eplb: [true], bands: [[1, 1000]], generation },
        }),
      );
    const ev = evaluator({});
    expect(ev.evaluate('dep', 4, gen(4))).toBeNull();
    expect(ev.evaluate('dep', 4, gen(8))).not.toBeNull();
    expect(evaluator({ kvMemoryFraction: rng.uniform(0.05, 0.6) }).evaluate('dwdp', 4, gen(8))).toBeNull();
  });

  it('runs the first MTP draft pass on every token the step verified and the later passes on one per request', () => {
    const free = { ...DEFAULT_GENERATION_PARAMS, minLayerUs: 0, mtpPassUs: 0 };
    const H = r1.hidden;
    for (let trial = 0; trial < 20; trial++) {
      const G = [4, 8, 16, 32][rng.int(4)];
      const m = 1 + rng.int(3);
      const cfg = { ep: G, batch: 256, mtp: m, eplb: rng.next() < 0.5 };
      const b = 1 + rng.int(256);
      const T = b * (1 + m);
      const ctx = { mean: rng.uniform(1000, 16000), sd: rng.uniform(0, 2000) };
      // One MoE decoder layer at t tokens, read off the main model's own accounting at that
      // token count (its attention, MoE compute and all-to-all per layer, plus the others).
      const layerAt = (mtp: number) => {
        const bd = decodeStep(cost, { ...cfg, mtp }, b, ctx, free).breakdown;
        const t = b * (1 + mtp);
        return bd.attention / r1.layers.total + (bd.moe + bd.communication) / r1.layers.moe + cost.layerMiscMs(t);
      };
      // eh_proj: one [2H → H] FP8 GEMM, its weights read once, 2H in and H out per token (BF16).
      const proj = (t: number) =>
        cost.ms({ flops: 4 * t * H * H, bytes: 2 * H * H + t * 3 * H * 2, precision: 'fp8', kind: 'gemm', kernels: 1 });
      // The draft head gives one draft per request: b positions per GPU, split as TensorRT-LLM does
      // within a GB200 compute tray's 4 GPUs.
      const head = lmHeadMs(b, draftHeadTp(b, G, 4));
      const want = layerAt(m) + proj(T) + head + (m - 1) * (layerAt(0) + proj(b) + head);
      const got = decodeStep(cost, cfg, b, ctx, free).breakdown.mtp;
      expect(got / want, tag(`G ${G}, MTP ${m}, b ${b}`)).toBeCloseTo(1, 12);
    }
  });

  it('never runs a layer below minLayerUs nor an MTP pass below one layer + mtpPassUs', () => {
    for (let trial = 0; trial < 20; trial++) {
      const cfg = { ep: [4, 8, 16, 32][rng.int(4)], batch: 256, mtp: rng.int(4), eplb: rng.next() < 0.5 };
      const b = 1 + rng.int(64);
      const layers = r1.layers.total;
      // Floors far above any roofline here (≥ 100 ms a layer): every layer and pass sits on them,
      // so the step grows by exactly (layers + m) per µs of minLayerUs and m per µs of mtpPassUs.
      const M = 1e5 * (1 + rng.next());
      const P = 1e5 * (1 + rng.next());
      const dM = 1e4 * rng.next();
      const dP = 1e4 * rng.next();
      const at = (minLayerUs: number, mtpPassUs: number) =>
        decodeStep(cost, cfg, b, 8000, { ...DEFAULT_GENERATION_PARAMS, minLayerUs, mtpPassUs }).stepMs;
      const base = at(M, P);
      expect(at(M + dM, P) - base, tag('per µs of minLayerUs')).toBeCloseTo(((layers + cfg.mtp) * dM) / 1000, 6);
      expect(at(M, P + dP) - base, tag('per µs of mtpPassUs')).toBeCloseTo((cfg.mtp * dP) / 1000, 6);
      expect(base, tag('at least the floors')).toBeGreaterThanOrEqual(((layers + cfg.mtp) * M + cfg.mtp * P) / 1000);
      // With both floors at 0 the step is its rooflines: no floor time, and no faster than with them.
      const free = decodeStep(cost, cfg, b, 8000, { ...DEFAULT_GENERATION_PARAMS, minLayerUs: 0, mtpPassUs: 0 });
      expect(free.breakdown.floor).toBe(0);
      expect(decodeStep(cost, cfg, b, 8000).stepMs, tag('defaults add time')).toBeGreaterThanOrEqual(free.stepMs);
    }
  });

  it('moves its all-to-all bytes at the link × efficiency.allToAll, plus dispatchUs + combineUs, whatever efficiency.link and collectiveUs are', () => {
    for (let trial = 0; trial < 20; trial++) {
      const G = [2, 4, 8, 16, 32, 64][rng.int(6)];
      const cfg = { ep: G, batch: 256, mtp: rng.int(4), eplb: true };
      const b = 1 + rng.int(200);
      const allToAll = rng.uniform(0.05, 1);
      const collectiveUs = rng.uniform(0, 100);
      const link = rng.uniform(0.05, 1);
      const g = { ...DEFAULT_GENERATION_PARAMS, dispatchUs: rng.uniform(0, 100), combineUs: rng.uniform(0, 100) };
      const at = (e: object) =>
        new CostModel({ model: r1, profile: GB200_NVL72, efficiency: { allToAll, collectiveUs, ...e } });
      const s = decodeStep(at({}), cfg, b, 8000, g);
      // Reference: T = b·(1 + m) tokens; each reaches a given peer's E/G experts with probability
      // 1 − Π (E − E/G − i)/(E − i) over its K picks; the busiest rank carries 1 + √(2 ln G / (T·K)) × the mean
      // (EPLB); FP8 dispatch + BF16 combine = 3 bytes per value; each MoE layer a dispatch and a combine.
      const T = b * (1 + cfg.mtp);
      let miss = 1;
      for (let i = 0; i < r1.topK; i++) miss *= (r1.experts - r1.experts / G - i) / (r1.experts - i);
      const imb = 1 + Math.sqrt((2 * Math.log(G)) / (T * r1.topK));
      const bytes = T * (G - 1) * (1 - miss) * r1.hidden * imb * 3;
      const want = r1.layers.moe * (bytes / (900e9 * allToAll) / 1e-3 + (g.dispatchUs + g.combineUs) / 1000);
      expect(s.breakdown.communication / want, tag(`G ${G} b ${b} allToAll ${allToAll}`)).toBeCloseTo(1, 9);
      // The one-sided copies' efficiency is not the all-to-all's, and the prefill's fixed cost per phase is not the decode's.
      expect(decodeStep(at({ link }), cfg, b, 8000, g).breakdown.communication).toBe(s.breakdown.communication);
      expect(decodeStep(at({ collectiveUs: collectiveUs + 50 }), cfg, b, 8000, g).breakdown.communication).toBe(
        s.breakdown.communication,
      );
    }
  });

  it('is memory-bound on expert weights at batch 1: every touched expert is read once per MoE layer', () => {
    const G = 32;
    const s = decodeStep(cost, { ep: G, batch: 1, mtp: 0, eplb: true }, 1, 8000);
    // 1 token per GPU, 32 GPUs → 32·8 picks over 8 local experts; touched ≥ 7 of 8.
    const touched = 8 * (1 - Math.pow(1 - 8 / 256, 32 * (1 + Math.sqrt((2 * Math.log(G)) / 8))));
    const weightMs = (58 * touched * cost.expertBytes) / (8000e6 * 0.8);
    expect(s.breakdown.moe, 'grouped GEMM at least its weight reads').toBeGreaterThan(weightMs);
  });
});

describe('KV transfer and context curves', () => {
  it('moves ISL × 35,136 bytes over one NVLink direction at the link efficiency', () => {
    const isl = 1 + rng.int(32768);
    const kv = kvTransfer(cost, r1, isl, 1);
    expect(kv.bytesPerRequest).toBe(isl * 35136);
    // At the profile's link efficiency (gb200-nvl72: its Table 3 calibration).
    const link = GB200_NVL72.calibration!.efficiency.link!;
    expect(kv.ms, tag('transfer time')).toBeCloseTo((isl * 35136) / (900e9 * link) / 1e-3 + 0.002, 9);
  });

  it('uses the uniform distribution’s mean and CV and interpolates step times between batch sizes', () => {
    const u = uniformLengths(8192, 0.8);
    expect(u.mean).toBe(7372.8);
    expect(u.cv).toBeCloseTo((0.2 * 8192) / Math.sqrt(12) / 7372.8, 12);
    const c: ContextCurve = {
      strategy: 'dep',
      groupSize: 4,
      bMax: 3,
      stepMs: [10, 30, 40],
      meanIsl: 1,
      dwdpLocal: 0,
      dwdpPull: 0,
      fits: true,
    };
    expect(contextStepMs(c, 0.3)).toBe(10);
    expect(contextStepMs(c, 1.5)).toBe(20);
    expect(contextStepMs(c, 2.25)).toBe(32.5);
    expect(contextStepMs(c, 9)).toBe(40);
  });
});

describe('e2e scenarios', () => {
  it('refuses bad keys and values naming them', () => {
    const bad: [unknown, RegExp][] = [
      [{ mode: 'e2e', e2e: { genEp: [0] } }, /scenario\.e2e\.genEp/],
      [{ mode: 'e2e', e2e: { bands: [[30, 20]] } }, /scenario\.e2e\.bands/],
      [{ mode: 'e2e', e2e: { inputRatio: 1.5 } }, /scenario\.e2e\.inputRatio/],
      [
        { mode: 'e2e', e2e: { generation: { mtpAcceptance: [2] } } },
        new RegExp(
          '^scenario\\.e2e\\.generation\\.mtpAcceptance \\[2\\]: must be between 0 and 1 \\(one acceptance for every ' +
            'draft position, the geometric law\\) or a list of 1 to 16 values, each between 0 and 1; 2 is not$',
        ),
      ],
      [
        { mode: 'e2e', e2e: { generation: { mtpAcceptance: 1.5 } } },
        /^scenario\.e2e\.generation\.mtpAcceptance 1\.5: must be between 0 and 1 \(.*\) or a list of 1 to 16 values, .*; 1\.5 is not$/,
      ],
      [{ mode: 'e2e', e2e: { generation: { mtpAcceptance: -0.1 } } }, /mtpAcceptance -0\.1: .*; -0\.1 is not$/],
      [
        { mode: 'e2e', e2e: { generation: { mtpAcceptance: '0.85' } } },
        /mtpAcceptance "0\.85": must be between 0 and 1/,
      ],
      [
        { mode: 'e2e', e2e: { generation: { mtpAcceptance: [] } } },
        /mtpAcceptance \[\]: must be between 0 and 1 .* or a list/,
      ],
      [{ mode: 'e2e', e2e: { generation: { mtpAcceptance: null } } }, /mtpAcceptance null: must be between 0 and 1/],
      [{ mode: 'e2e', e2e: { tpsPerUserMetric: 'tpot' } }, /scenario\.e2e\.tpsPerUserMetric/],
      [{ mode: 'e2e', e2e: { generation: { nope: 1 } } }, /scenario\.e2e\.generation\.nope/],
      [{ mode: 'e2e', e2e: { isl: 8192.5 } }, /scenario\.e2e\.isl/],
      [{ mode: 'e2e', e2e: { foo: 1 } }, /scenario\.e2e\.foo/],
      [{ mode: 'e2e', model: 'no-such-model' }, /scenario\.model/],
      [{ mode: 'e2e', rows: [] }, /scenario\.rows/],
      [{ mode: 'step' }, /scenario\.mode/],
      [
        { mode: 'e2e', e2e: { genBatch: [5000] } },
        /^scenario\.e2e\.genBatch \[5000\]: must be a list of 1 to 64 values, each an integer from 1 to 4096; 5000 is not$/,
      ],
      [
        { mode: 'e2e', e2e: { maxGpus: 5000 } },
        /^scenario\.e2e\.maxGpus 5000: must be an integer from 1 to 1024; try scenario\.e2e\.maxGpus 1024$/,
      ],
      [{ mode: 'e2e', e2e: { generation: { minLayerUs: -1 } } }, /^scenario\.e2e\.generation\.minLayerUs -1: /],
      [{ mode: 'e2e', e2e: { efficiency: { gemm: 2 } } }, /^scenario\.e2e\.efficiency\.gemm 2: /],
      [
        { mode: 'e2e', e2e: { eplb: [1] } },
        /^scenario\.e2e\.eplb \[1\]: must be a list of 1 to 2 values, each true or false/,
      ],
      [{ mode: 'e2e', e2e: { mtp: [9] } }, /scenario\.e2e\.mtp/],
    ];
    for (const [json, re] of bad) expect(() => parseE2eScenario(json), JSON.stringify(json)).toThrow(re);
  });

  it('searches the generation batches a deployment runs as modeled: the captured CUDA-graph sizes up to the reproduction’s largest', () => {
    // reproduce.py's list for a max_num_tokens of 256, written out: 1, 2, 4, then every multiple of 8.
    const captured = [1, 2, 4, ...Array.from({ length: 32 }, (_, i) => 8 * (i + 1))];
    expect(DEFAULT_E2E_PARAMS.genBatch).toEqual(captured);
    for (const r of REPRO_MATRIX) expect(captured, r.experiment).toContain(r.batch);
    expect(Math.max(...REPRO_MATRIX.map((r) => r.batch))).toBe(captured[captured.length - 1]);
  });

  it('reads generation.mtpAcceptance as one number (the earlier format: one α for every draft, the geometric law) or a list per draft position', () => {
    // Independent float64 references: P(exactly k drafts accepted) enumerated over the chain's
    // outcomes (draft i survives with α_i, drafts past the list with its last entry), and the
    // earlier format's own formula, Σ_{i ≤ m} αⁱ accepted tokens and K's law P(K = k) = αᵏ(1 − α), k < m.
    const chain = (m: number, alpha: number[]) => {
      const at = (i: number) => alpha[Math.min(i, alpha.length) - 1];
      let mean = 0;
      for (let k = 0; k <= m; k++) {
        let p = 1;
        for (let i = 1; i <= k; i++) p *= at(i);
        if (k < m) p *= 1 - at(k + 1);
        mean += p * (1 + k);
      }
      return mean;
    };
    const geometric = (m: number, a: number) => {
      let mean = 0;
      let second = 0;
      for (let k = 0; k <= m; k++) {
        const p = k < m ? Math.pow(a, k) * (1 - a) : Math.pow(a, m);
        mean += p * (1 + k);
        second += p * (1 + k) * (1 + k);
      }
      let sum = 0;
      for (let i = 0; i <= m; i++) sum += Math.pow(a, i);
      return { sum, mean, variance: second - mean * mean };
    };
    const parsed = (v: unknown) =>
      parseE2eScenario({ mode: 'e2e', e2e: { generation: { mtpAcceptance: v } } }).e2e.generation!.mtpAcceptance!;
    for (let trial = 0; trial < 40; trial++) {
      const a = rng.next();
      const list = Array.from({ length: 1 + rng.int(6) }, () => rng.next());
      const scalar = parsed(a);
      expect(scalar, tag('a number is the one-entry list')).toEqual([a]);
      expect(parsed(list), tag('a list is kept as it is')).toEqual(list);
      const m = rng.int(9);
      const cfg = { ep: 8 << rng.int(3), batch: 1 + rng.int(64), mtp: m, eplb: rng.next() < 0.5 };
      const step = (alpha: readonly number[]) =>
        decodeStep(cost, cfg, cfg.batch, 8000, { ...DEFAULT_GENERATION_PARAMS, mtpAcceptance: alpha });
      const old = geometric(m, a);
      const at = tag(`α ${a}, MTP ${m}`);
      expect(step(scalar).tokensPerStep, at).toBeCloseTo(old.sum, 12);
      expect(step(scalar).tokensPerStep, at).toBeCloseTo(old.mean, 12);
      const tok = acceptedTokenMoments(m, scalar);
      expect(tok.mean, at).toBeCloseTo(old.mean, 12);
      expect(tok.variance, at).toBeCloseTo(old.variance, 12);
      expect(step(parsed(list)).tokensPerStep, tag(`α ${list.join(', ')}, MTP ${m}`)).toBeCloseTo(chain(m, list), 12);
    }
    // The earlier format's numbers: α = 0.85 accepted 1.85, 2.5725 and 3.186625 tokens a step at MTP 1, 2, 3.
    const old = parsed(0.85);
    [1.85, 2.5725, 3.186625].forEach((want, i) =>
      expect(acceptedTokens(i + 1, old), `MTP ${i + 1}`).toBeCloseTo(want, 12),
    );
    // And the whole model: a scenario with the number is the scenario with its one-entry list.
    const ev = (v: unknown) =>
      e2eEvaluator(parseE2eScenario({ mode: 'e2e', e2e: { generation: { mtpAcceptance: v } } }));
    const [byNumber, byList] = [ev(0.85), ev([0.85])];
    const gen = { ep: 16, batch: 32, mtp: 3, eplb: true };
    const pt = byNumber.evaluate('dwdp', 4, gen)!;
    expect(pt).toEqual(byList.evaluate('dwdp', 4, gen));
    expect(byNumber.queuedTtft(pt)).toEqual(byList.queuedTtft(pt));
  });

  it('declares every e2e key once, with the model’s own defaults, and names the key of any bad value', () => {
    const keys = new Set(E2E_PARAMS.map((p) => p.key));
    expect(keys.size, 'one declaration per key').toBe(E2E_PARAMS.length);
    for (const k of Object.keys(DEFAULT_E2E_PARAMS).filter((k) => !['generation', 'efficiency'].includes(k)))
      expect(keys.has(k), k).toBe(true);
    for (const k of ['local', 'pull', 'maxGpus']) expect(keys.has(k), k).toBe(true);
    for (const [k, v] of Object.entries(DEFAULT_GENERATION_PARAMS)) {
      const decl = E2E_PARAM[`generation.${k}`];
      // A list's default is the model's own, stated in its help (as the search space's are).
      if (Array.isArray(v))
        expect(decl?.list && decl.help.includes(v.map((a) => a.toFixed(3)).join(', ')), k).toBe(true);
      else expect(decl?.default, k).toBe(v);
    }
    for (const [k, v] of Object.entries(DEFAULT_EFFICIENCY)) expect(E2E_PARAM[`efficiency.${k}`]?.default, k).toBe(v);
    for (const p of E2E_PARAMS)
      if (!p.list && !p.key.includes('.') && p.default !== undefined)
        expect(p.default, p.key).toBe(DEFAULT_E2E_PARAMS[p.key as keyof typeof DEFAULT_E2E_PARAMS]);
    // Random out-of-range values of random numeric keys: one message, naming that key's path.
    const numeric = E2E_PARAMS.filter((p) => (p.kind === 'int' || p.kind === 'number') && p.max !== undefined);
    for (let trial = 0; trial < 40; trial++) {
      const p = numeric[rng.int(numeric.length)];
      const v = p.max! * (1 + rng.next()) + 1;
      const el = p.list?.pairs ? [[0, v]] : p.list ? [v] : v;
      const [obj, key] = p.key.includes('.') ? p.key.split('.') : [null, p.key];
      const e2e = obj ? { [obj]: { [key]: el } } : { [key]: el };
      expect(() => parseE2eScenario({ mode: 'e2e', e2e }), tag(p.key)).toThrow(
        new RegExp(`^scenario\\.e2e\\.${p.key.replace('.', '\\.')} \\S+: must be `),
      );
    }
    // A search too large is refused before any work, with its size.
    const huge = parseE2eScenario({
      mode: 'e2e',
      e2e: {
        maxGpus: 1024,
        genEp: [4, 8, 16, 32],
        genBatch: Array.from({ length: 64 }, (_, i) => i + 1),
        mtp: [0, 1, 2, 3],
      },
    });
    expect(() => runE2e(huge)).toThrow(/scenario\.e2e\.genBatch: the search would evaluate up to 1048576 deployments/);
  });

  it('reports bands and frontiers consistent with its own points on a small search', () => {
    const spec = parseE2eScenario({
      mode: 'e2e',
      e2e: {
        genEp: [8, 16],
        genBatch: [16, 64, 256],
        mtp: [1, 3],
        eplb: [true],
        bands: [
          [20, 60],
          [60, 200],
        ],
        steps: 2,
      },
    });
    const res = runE2e(spec);
    for (const s of ['dep', 'dwdp'] as const) {
      const fr = res.frontier[s];
      expect(fr.length).toBeGreaterThan(0);
      for (const p of fr) {
        expect(p.ctxGpus % 4).toBe(0);
        expect(p.ctxGpus + p.genGpus).toBeLessThanOrEqual(72);
        expect(p.ctxGpus / 4).toBe(p.config.ctxUnits);
      }
    }
    for (const b of res.bands) {
      for (const s of ['dep', 'dwdp'] as const) {
        const p = b[s];
        if (!p) continue;
        expect(p.tpsPerUser).toBeGreaterThanOrEqual(b.tpsPerUser[0]);
        expect(p.tpsPerUser).toBeLessThanOrEqual(b.tpsPerUser[1]);
        // No frontier point inside the band beats the band's choice.
        for (const q of res.frontier[s])
          if (q.tpsPerUser >= b.tpsPerUser[0] && q.tpsPerUser <= b.tpsPerUser[1])
            expect(q.tpsPerGpu).toBeLessThanOrEqual(p.tpsPerGpu);
      }
      if (b.dep && b.dwdp) expect(b.speedupTpsPerGpu).toBeCloseTo(b.dwdp.tpsPerGpu / b.dep.tpsPerGpu, 12);
    }
    // Every reported point carries its simulated run's median TTFT, and its fluid TTFT from the operating point.
    const ev = e2eEvaluator(spec);
    const reported = [...res.frontier.dep, ...res.frontier.dwdp, ...res.bands.flatMap((b) => [b.dep, b.dwdp])];
    for (const p of reported) {
      if (!p) continue;
      const fresh = ev.evaluate(p.strategy, p.config.ctxUnits, p.config.gen)!;
      expect(p.ttftFluidMs).toBe(fresh.ttftMedianMs);
      const sim = ev.queuedTtft(fresh);
      expect([p.ttftMedianMs, p.ttftP90Ms, p.tpsPerUserRun]).toEqual([sim.medianMs, sim.p90Ms, sim.userTps]);
      expect(p.tpsPerUser, 'the bands hold points by the fluid TPS/user').toBe(fresh.tpsPerUser);
      // The benchmark's C × max(1, ⌊num_prompts / C⌋) requests: whole rounds of the C clients.
      const C = fresh.config.concurrency;
      expect(sim.requests).toBe(C * Math.max(1, Math.floor(DEFAULT_E2E_PARAMS.ttftRequests / C)));
      expect(sim.requests).toBeLessThanOrEqual(Math.max(C, DEFAULT_E2E_PARAMS.ttftRequests));
    }
    // Validation rows only where the scenario has the published bands: none here.
    expect(e2eValidation(res)).toEqual([]);
  });

  it('r1-e2e-pareto validates against every published band and never calls it calibration', () => {
    const res = runE2e(E2E_SCENARIOS['r1-e2e-pareto']);
    const rows = e2eValidation(res);
    expect(rows.length).toBe(5 * 3 + 1);
    for (const r of rows) {
      expect(r.kind).toBe('validation');
      if (r.modeled !== null) expect(r.error).toBeCloseTo(r.modeled / r.published - 1, 12);
    }
    // Only at the published setting: another profile, ISL or group size gets no validation rows.
    expect(e2eValidation({ ...res, profile: { ...res.profile, id: 'h200-hgx' } })).toEqual([]);
    expect(e2eValidation({ ...res, params: { ...res.params, isl: 4096 } })).toEqual([]);
    expect(e2eValidation({ ...res, params: { ...res.params, contentionFix: true } })).toEqual([]);
    // Another closed-loop concurrency is another setting (every TPS/user, TPS/GPU and TTFT moves):
    // no rows, no reproduction matrix, and the text says which setting differs.
    expect(publishedSettingDifferences(res)).toEqual([]);
    expect(formatE2e(res, rows)).not.toMatch(/not compared with the published/);
    const other = { ...res, params: { ...res.params, concurrencyFactor: 2 } };
    expect(e2eValidation(other)).toEqual([]);
    expect(publishedSettingDifferences(other)).toEqual(['concurrencyFactor 2 (published: 1)']);
    expect(formatE2e(other, [])).toMatch(
      /not compared with the published end-to-end results: .*concurrencyFactor 2 \(published: 1\)/,
    );
    const spec = E2E_SCENARIOS['r1-e2e-pareto'];
    const small = { ...spec.e2e, genEp: [16], genBatch: [64], mtp: [1], eplb: [false], ttftRequests: 200 };
    expect(runE2e({ ...spec, e2e: { ...small, concurrencyFactor: 2 } }).reproduction).toEqual([]);
    expect(runE2e({ ...spec, e2e: small }).reproduction.length).toBe(19);
    // The reproduction matrix's 19 end-to-end deployments, each modeled at its own configuration.
    expect(res.reproduction.length).toBe(19);
    for (const r of res.reproduction) {
      expect(r.modeled, r.experiment).not.toBeNull();
      expect(r.modeled!.ctxGpus).toBe(r.ctxGpus);
      expect(r.modeled!.config.gen).toEqual({ ep: r.genEp, batch: r.batch, mtp: r.mtp, eplb: r.eplb });
    }
    expect(res.bands.map((b) => b.tpsPerUser)).toEqual([
      [20, 30],
      [40, 50],
      [60, 70],
      [80, 90],
      [170, 180],
    ]);
  });
});
