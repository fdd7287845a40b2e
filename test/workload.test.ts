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

  it('CV c: lengths have the requested mean and coefficient of variation, and the seed fixes them', () => {
    const cv = 0.2 + new Rng(seed).next() * 0.4;
    const spec = { ranks: 400, tokensPerRank: 4000, requestsPerRank: 4, lengthCv: cv, seed };
    const lengths = makeWorkload(spec).flatMap((r) => r.lengths);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    const sd = Math.sqrt(lengths.reduce((a, b) => a + (b - mean) ** 2, 0) / (lengths.length - 1));
    expect(mean / 1000, at).toBeCloseTo(1, 1);
    expect(sd / mean / cv, at).toBeGreaterThan(0.9);
    expect(sd / mean / cv, at).toBeLessThan(1.1);
    expect(makeWorkload(spec)).toEqual(makeWorkload(spec));
    expect(makeWorkload({ ...spec, seed: seed + 1 })).not.toEqual(makeWorkload(spec));
  });

  it('the gamma sampler has mean k and variance k (shape below and above 1)', () => {
    for (const k of [0.3, 4]) {
      const rng = new Rng(seed).fork(`gamma${k}`);
      const xs = Array.from({ length: 20000 }, () => gamma(rng, k));
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
      expect(m / k, at).toBeGreaterThan(0.95);
      expect(m / k, at).toBeLessThan(1.05);
      expect(v / k, at).toBeGreaterThan(0.85);
      expect(v / k, at).toBeLessThan(1.15);
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
