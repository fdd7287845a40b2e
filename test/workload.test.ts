// Workloads: request lengths with the requested mean and CV, reproducible from the seed;
// routing skew that really concentrates the router's choices on a few hot experts.
import { describe, expect, it } from 'vitest';
import { routerReference } from '../src/kernels/router.ts';
import { routerParams } from '../src/layer/params.ts';
import { loadPreset, routerWeights, tokenInputs } from '../src/model/index.ts';
import { Rng } from '../src/util/random.ts';
import { applyRoutingSkew, popularityOrder } from '../src/workload/skew.ts';
import { makeWorkload, totalTokens, workloadLengths } from '../src/workload/workload.ts';
import {
  LENGTH_LAWS,
  UNIFORM_RATIO_MAX_CV,
  drawBatches,
  gamma,
  islRatioForCv,
  lengthKeys,
  lengthsWithMean,
  meanLength,
} from '../src/workload/lengths.ts';
import { stepBatches } from '../src/sim/experiment.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;

describe(`workload ${at}`, () => {
  it('CV 0: every rank gets exactly its tokens, split as evenly as whole tokens allow', () => {
    const rng = new Rng(seed);
    const tokensPerRank = 1 + rng.int(500);
    const requestsPerRank = 1 + rng.int(Math.min(7, tokensPerRank));
    const w = makeWorkload({ ranks: 3, tokensPerRank, requestsPerRank, lengthCv: 0, seed });
    for (const r of w) {
      expect(r.tokens).toBe(tokensPerRank);
      expect(Math.max(...r.lengths) - Math.min(...r.lengths)).toBeLessThanOrEqual(1);
    }
    expect(w.map((r) => r.firstToken)).toEqual([0, tokensPerRank, 2 * tokensPerRank]);
    expect(totalTokens(w)).toBe(3 * tokensPerRank);
  });

  // The statistical checks below allow six standard errors of their estimate, computed from
  // the sample size and the gamma distribution's moments: a false alarm is a 1e-9 event.
  const Z = 6;

  it('CV c: lengths have the requested mean and coefficient of variation, and the seed fixes them', () => {
    const cv = 0.2 + new Rng(seed).next() * 0.4;
    const spec = { ranks: 5000, tokensPerRank: 4000, requestsPerRank: 4, lengthCv: cv, seed };
    const lengths = makeWorkload(spec).flatMap((r) => r.lengths);
    const n = lengths.length;
    const mean = lengths.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(lengths.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    // Lengths ~ 1000·Gamma(k)/k with k = 1/cv²: the mean's relative standard error is cv/√n;
    // the sample SD's is √((κ − 1)/4n) with kurtosis κ = 3 + 6cv², and dividing by the mean adds
    // the mean's. (Rounding to whole tokens adds a variance of 1/12: negligible.)
    const meanTol = (Z * cv) / Math.sqrt(n);
    const cvTol = Z * (Math.sqrt((2 + 6 * cv * cv) / (4 * n)) + cv / Math.sqrt(n));
    expect(Math.abs(mean / 1000 - 1), `mean ${mean} ${at}`).toBeLessThan(meanTol);
    expect(Math.abs(sd / mean / cv - 1), `CV ${sd / mean} for ${cv} ${at}`).toBeLessThan(cvTol);
    expect(makeWorkload(spec)).toEqual(makeWorkload(spec));
    expect(makeWorkload({ ...spec, seed: seed + 1 })).not.toEqual(makeWorkload(spec));
  });

  it('the gamma sampler has mean k and variance k (shape below and above 1)', () => {
    const n = 200_000;
    for (const k of [0.3, 4]) {
      const rng = new Rng(seed).fork(`gamma${k}`);
      const xs = Array.from({ length: n }, () => gamma(rng, k));
      const m = xs.reduce((a, b) => a + b, 0) / n;
      const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / n;
      // Standard errors: √(k/n) for the mean; √((μ₄ − k²)/n) for the variance, with the
      // gamma's fourth central moment μ₄ = 3k² + 6k.
      expect(Math.abs(m / k - 1), `mean ${m} for shape ${k} ${at}`).toBeLessThan((Z * Math.sqrt(k / n)) / k);
      expect(Math.abs(v / k - 1), `variance ${v} for shape ${k} ${at}`).toBeLessThan(
        (Z * Math.sqrt((2 * k * k + 6 * k) / n)) / k,
      );
    }
  });

  it('rejects bad specs naming the value', () => {
    expect(() => makeWorkload({ ranks: 2, tokensPerRank: 4, requestsPerRank: 5, lengthCv: 0, seed })).toThrow(
      /requests per rank \(5\)/,
    );
    expect(() => makeWorkload({ ranks: 2, tokensPerRank: 4, requestsPerRank: 1, lengthCv: -1, seed })).toThrow(
      /length CV/,
    );
  });
});

describe(`routing skew ${at}`, () => {
  it('a Zipf skew sends many more tokens to the hottest expert, keeps rows at RMS 1, and is reproducible', () => {
    const cfg = loadPreset('tiny-qwen3');
    const T = 512;
    const hot = popularityOrder(cfg.experts, seed)[0];
    // Share of tokens whose top-k includes the hottest expert, before and after the skew,
    // averaged over four routers (layers) so one router's row for the hot expert cannot decide it.
    let gain = 0;
    let skewed: Float32Array = new Float32Array(0);
    let weight: Float32Array = new Float32Array(0);
    const plain = tokenInputs(cfg, seed, T);
    for (let layer = 0; layer < 4; layer++) {
      weight = routerWeights(cfg, seed, layer).weight;
      const hotShare = (x: Float32Array) => {
        const ref = routerReference(routerParams(cfg), T, x, weight);
        return ref.idx.filter((e) => e === hot).length / T;
      };
      skewed = plain.slice();
      applyRoutingSkew(cfg, skewed, T, weight, 1.5, seed);
      gain += (hotShare(skewed) - hotShare(plain)) / 4;
    }
    // Zipf 1.5 over 128 experts pushes ~41% of tokens toward it by +2 logit std: the gain is
    // +27% of tokens with a standard deviation of 2.0% over seeds (the lowest of 80 seeds:
    // +22.5%), so +12% is over seven standard deviations below it. (One router alone: a
    // standard deviation of 3.3%, and +16% in 300 seeds.)
    expect(gain, at).toBeGreaterThan(0.12);
    for (let t = 0; t < T; t += 97) {
      let sq = 0;
      for (let h = 0; h < cfg.hidden; h++) sq += skewed[t * cfg.hidden + h] ** 2;
      expect(Math.sqrt(sq / cfg.hidden)).toBeCloseTo(1, 5);
    }
    const again = plain.slice();
    applyRoutingSkew(cfg, again, T, weight, 1.5, seed);
    expect(Array.from(again)).toEqual(Array.from(skewed));
    expect(() => applyRoutingSkew(cfg, again, T, weight, -1, seed)).toThrow(/Zipf exponent/);
  });
});

describe(`one length generator for the emulation and the model ${at}`, () => {
  const rng = new Rng(seed).fork('one-generator');

  it('the same seed and law give the same requests on both sides, for every law', () => {
    for (const law of LENGTH_LAWS) {
      for (let trial = 0; trial < 4; trial++) {
        const ranks = 1 + rng.int(6);
        const requestsPerRank = 1 + rng.int(5);
        const tokensPerRank = requestsPerRank * (1 + rng.int(3000));
        const spec = {
          ranks,
          tokensPerRank,
          requestsPerRank,
          lengthCv: trial === 0 ? 0 : rng.next(),
          lengthLaw: law,
          islRatio: trial === 0 ? 1 : 0.05 + 0.9 * rng.next(),
          seed: rng.int(1e9),
        };
        const emulated = makeWorkload(spec).map((w) => w.lengths);
        const d = workloadLengths(spec);
        const modeled = stepBatches({
          isl: d.law === 'uniform-ratio' ? d.isl : tokensPerRank / requestsPerRank,
          cv: spec.lengthCv,
          lengthLaw: law,
          islRatio: spec.islRatio,
          batch: requestsPerRank,
          groupSize: ranks,
          steps: 1,
          seed: spec.seed,
        }).map((steps) => steps[0].lengths);
        expect(modeled, `${law} ${JSON.stringify(spec)} ${at}`).toEqual(emulated);
      }
    }
  });

  it('with server-style caps both sides fill the same batches from the same queue, for every law', () => {
    for (const law of LENGTH_LAWS) {
      for (let trial = 0; trial < 3; trial++) {
        const requestsPerRank = 1 + rng.int(5);
        const mean = 1 + rng.int(3000);
        const spec = {
          ranks: 1 + rng.int(6),
          tokensPerRank: requestsPerRank * mean,
          requestsPerRank,
          lengthCv: rng.next(),
          lengthLaw: law,
          islRatio: 0.05 + 0.9 * rng.next(),
          maxTokensPerBatch: trial === 2 ? undefined : Math.round(mean * (0.5 + 4 * rng.next())),
          maxBatchRequests: trial === 1 ? undefined : 1 + rng.int(6),
          seed: rng.int(1e9),
        };
        const emulated = makeWorkload(spec).map((w) => w.lengths);
        const d = workloadLengths(spec);
        const modeled = stepBatches({
          isl: d.law === 'uniform-ratio' ? d.isl : mean,
          cv: spec.lengthCv,
          lengthLaw: law,
          islRatio: spec.islRatio,
          batch: requestsPerRank,
          groupSize: spec.ranks,
          steps: 1,
          seed: spec.seed,
          maxTokensPerBatch: spec.maxTokensPerBatch,
          maxBatchRequests: spec.maxBatchRequests,
        }).map((steps) => steps[0].lengths);
        expect(modeled, `${law} ${JSON.stringify(spec)} ${at}`).toEqual(emulated);
        for (const b of emulated) {
          if (spec.maxBatchRequests !== undefined) expect(b.length).toBeLessThanOrEqual(spec.maxBatchRequests);
          if (spec.maxTokensPerBatch !== undefined && b.length > 1)
            expect(b.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(spec.maxTokensPerBatch);
        }
      }
    }
  });

  it('one CV sets every law: uniform-ratio takes the islRatio whose CV it is, at the same mean', () => {
    for (let trial = 0; trial < 20; trial++) {
      const cv = rng.next() * UNIFORM_RATIO_MAX_CV * 0.999;
      const mean = 16 + rng.int(8000);
      const r = islRatioForCv(cv);
      expect(r > 0 && r <= 1, `cv ${cv} ${at}`).toBe(true);
      expect((1 - r) / ((1 + r) * Math.sqrt(3)), `cv ${cv} ${at}`).toBeCloseTo(cv, 12);
      const d = lengthsWithMean('uniform-ratio', mean, cv);
      // isl (the longest) is rounded to whole tokens: the mean moves by at most (1 + r)/4.
      expect(Math.abs(meanLength(d) - mean), `cv ${cv} mean ${mean} ${at}`).toBeLessThanOrEqual((1 + r) / 4 + 1e-9);
      expect(lengthKeys(d).cv, at).toBeCloseTo(cv, 12);
      for (const law of ['gamma', 'lognormal'] as const)
        expect(lengthsWithMean(law, mean, cv)).toEqual({ law, mean, cv });
    }
    expect(() => islRatioForCv(UNIFORM_RATIO_MAX_CV)).toThrow(/below 0\.577/);
    expect(() =>
      makeWorkload({
        ranks: 1,
        tokensPerRank: 64,
        requestsPerRank: 2,
        lengthCv: 0.6,
        lengthLaw: 'uniform-ratio',
        seed,
      }),
    ).toThrow(/length CV 0\.6 is out of reach of the uniform-ratio law/);
  });

  it('a different law or seed gives different requests', () => {
    const spec = { ranks: 4, tokensPerRank: 4096, requestsPerRank: 4, lengthCv: 0.5, islRatio: 0.5, seed };
    const by = (o: Partial<Parameters<typeof makeWorkload>[0]>) =>
      makeWorkload({ ...spec, ...o }).map((w) => w.lengths);
    expect(by({ lengthLaw: 'gamma' })).not.toEqual(by({ lengthLaw: 'lognormal' }));
    expect(by({ lengthLaw: 'gamma' })).not.toEqual(by({ lengthLaw: 'gamma', seed: seed + 1 }));
  });

  it("TRT-LLM's uniform ratio: whole lengths in [⌈r·isl⌉, isl], uniform", () => {
    const isl = 50 + rng.int(2000);
    const islRatio = 0.05 + 0.9 * rng.next();
    const lo = Math.ceil(islRatio * isl);
    const n = 20000;
    const [[xs]] = drawBatches({
      seed,
      ranks: 1,
      steps: 1,
      batch: n,
      lengths: { law: 'uniform-ratio', isl, islRatio },
    });
    for (const x of xs) {
      expect(Number.isInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(lo);
      expect(x).toBeLessThanOrEqual(isl);
    }
    // The mean of n uniform integers on [lo, isl]: within 6 standard errors (a 1e-9 chance to fail).
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(((isl - lo + 1) ** 2 - 1) / 12);
    expect(Math.abs(mean - (lo + isl) / 2), at).toBeLessThanOrEqual((6 * sd) / Math.sqrt(n));
    expect(meanLength({ law: 'uniform-ratio', isl, islRatio })).toBeCloseTo((isl * (1 + islRatio)) / 2, 9);
  });

  it('a constant law splits a batch as evenly as whole tokens allow, and bad laws are named', () => {
    const [[xs]] = drawBatches({
      seed,
      ranks: 1,
      steps: 1,
      batch: 3,
      lengths: { law: 'lognormal', mean: 100.5, cv: 0 },
    });
    expect(xs).toEqual([101, 101, 100]);
    expect(() =>
      drawBatches({ seed, ranks: 1, steps: 1, batch: 3, lengths: { law: 'uniform-ratio', isl: 10, islRatio: 0 } }),
    ).toThrow(/islRatio must be in \(0, 1\]/);
    expect(() =>
      drawBatches({ seed, ranks: 1, steps: 1, batch: 3, lengths: { law: 'poisson' as 'gamma', mean: 10, cv: 0 } }),
    ).toThrow(/length law must be one of gamma, lognormal, uniform-ratio, got 'poisson'/);
  });
});
