// Workloads: request lengths with the requested mean and CV, reproducible from the seed;
// routing skew that really concentrates the router's choices on a few hot experts.
import { describe, expect, it } from 'vitest';
import { routerReference } from '../src/kernels/router.ts';
import { routerParams } from '../src/layer/params.ts';
import { loadPreset, routerWeights, tokenInputs } from '../src/model/index.ts';
import { Rng } from '../src/util/random.ts';
import { applyRoutingSkew, popularityOrder } from '../src/workload/skew.ts';
import { gamma, makeWorkload, totalTokens } from '../src/workload/workload.ts';
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
    const { weight } = routerWeights(cfg, seed, 0);
    const hot = popularityOrder(cfg.experts, seed)[0];
    // Share of tokens whose top-k includes the hottest expert.
    const hotShare = (x: Float32Array) => {
      const ref = routerReference(routerParams(cfg), T, x, weight);
      return ref.idx.filter((e) => e === hot).length / T;
    };
    const plain = tokenInputs(cfg, seed, T);
    const skewed = plain.slice();
    applyRoutingSkew(cfg, skewed, T, weight, 1.5, seed);
    // Zipf 1.5 over 128 experts pushes ~41% of tokens toward it by +2 logit std: expect ~+26%
    // of tokens (min +20% over 59 seeds), against a binomial noise of ~2%.
    expect(hotShare(skewed) - hotShare(plain), at).toBeGreaterThan(0.12);
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
