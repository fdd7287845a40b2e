// Router kernel vs its float64 reference on fresh random inputs (seed printed on failure).
import { describe, expect, it } from 'vitest';
import { createBuffer, createBufferWith, readF32, readI32, type Gpu } from '../src/gpu/index.ts';
import { RouterKernel, routerReference, routingMargin, type RouterParams } from '../src/kernels/router.ts';
import { Rng } from '../src/util/random.ts';
import { relativeError } from '../src/util/numeric.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const why = (name: string) => `${name} (seed ${seed})`;

const deepseek = (o: Partial<RouterParams> = {}): RouterParams => ({
  hidden: 96,
  experts: 64,
  topK: 8,
  scoring: 'sigmoid',
  nGroup: 8,
  topkGroup: 4,
  hasBias: true,
  normTopkProb: true,
  routedScalingFactor: 2.5,
  ...o,
});

const softmax = (o: Partial<RouterParams> = {}): RouterParams => ({
  hidden: 61,
  experts: 60,
  topK: 4,
  scoring: 'softmax',
  nGroup: 1,
  topkGroup: 1,
  hasBias: false,
  normTopkProb: false,
  routedScalingFactor: 1,
  ...o,
});

interface Inputs {
  x: Float32Array;
  w: Float32Array;
  bias?: Float32Array;
}

function randomInputs(p: RouterParams, T: number, r: Rng): Inputs {
  return {
    x: r.normals(T * p.hidden),
    // logits ~ N(0, 1.5²): spread enough that most tokens have a clear top-k
    w: r.normals(p.experts * p.hidden, 1.5 / Math.sqrt(p.hidden)),
    bias: p.hasBias ? Float32Array.from({ length: p.experts }, () => r.uniform(-0.3, 0.3)) : undefined,
  };
}

async function runRouter(gpu: Gpu, p: RouterParams, T: number, inp: Inputs) {
  const kernel = await RouterKernel.create(gpu, p);
  const idxBuf = createBuffer(gpu, T * p.topK * 4, 'idx');
  const wBuf = createBuffer(gpu, T * p.topK * 4, 'w');
  const enc = gpu.device.createCommandEncoder();
  kernel.encode(enc, {
    x: createBufferWith(gpu, inp.x, 'x'),
    weight: createBufferWith(gpu, inp.w, 'W'),
    bias: inp.bias ? createBufferWith(gpu, inp.bias, 'bias') : undefined,
    topkIdx: idxBuf,
    topkWeight: wBuf,
    tokens: T,
  });
  gpu.device.queue.submit([enc.finish()]);
  return { idx: await readI32(gpu, idxBuf, T * p.topK), weight: await readF32(gpu, wBuf, T * p.topK) };
}

/**
 * Exact index equality on every token whose reference margin is clear of f32 rounding,
 * weights to 1e-5 on those tokens; returns the reference for further checks.
 */
async function checkAgainstReference(name: string, p: RouterParams, T: number, inp: Inputs, minCompared = 0.8) {
  const gpu = await testGpu();
  const got = await runRouter(gpu, p, T, inp);
  const ref = routerReference(p, T, inp.x, inp.w, inp.bias);
  const K = p.topK;
  const gotW: number[] = [];
  const refW: number[] = [];
  let compared = 0;
  for (let t = 0; t < T; t++) {
    const s = ref.scores.subarray(t * p.experts, (t + 1) * p.experts);
    const scale = Math.max(...Array.from(s, Math.abs), 1e-30);
    if (routingMargin(p, ref, t) < 1e-5 * scale) continue;
    compared++;
    expect(Array.from(got.idx.subarray(t * K, (t + 1) * K)), why(`${name}: token ${t} experts`)).toEqual(
      Array.from(ref.idx.subarray(t * K, (t + 1) * K)),
    );
    gotW.push(...got.weight.subarray(t * K, (t + 1) * K));
    refW.push(...ref.weight.subarray(t * K, (t + 1) * K));
  }
  expect(compared, why(`${name}: tokens with a clear margin`)).toBeGreaterThanOrEqual(Math.ceil(minCompared * T));
  expect(relativeError(gotW, refW), why(`${name}: weights`)).toBeLessThan(1e-5);
  return { got, ref };
}

describe('router kernel', () => {
  it('DeepSeek-V3 grouped noaux_tc (E=64, n_group=8, topk_group=4, K=8, bias, norm, ×2.5)', async () => {
    const p = deepseek();
    await checkAgainstReference('deepseek', p, 37, randomInputs(p, 37, rng.fork('ds')));
  });

  it('grouped without bias uses the group max (sigmoid and softmax), E=60 in 6 groups', async () => {
    for (const scoring of ['sigmoid', 'softmax'] as const) {
      const p = deepseek({ experts: 60, nGroup: 6, topkGroup: 3, topK: 5, hasBias: false, scoring, hidden: 45 });
      await checkAgainstReference(`group max ${scoring}`, p, 29, randomInputs(p, 29, rng.fork(`gm-${scoring}`)));
    }
  });

  it('sigmoid without norm keeps the raw scores times the scale factor', async () => {
    const p = deepseek({
      normTopkProb: false,
      routedScalingFactor: 1.7,
      nGroup: 1,
      topkGroup: 1,
      experts: 37,
      topK: 3,
    });
    await checkAgainstReference('sigmoid scale', p, 23, randomInputs(p, 23, rng.fork('sig')));
  });

  it('softmax without norm_topk_prob (Qwen2-MoE style), T=1', async () => {
    const p = softmax();
    await checkAgainstReference('qwen2 T=1', p, 1, randomInputs(p, 1, rng.fork('q2')), 1);
  });

  it('softmax with norm_topk_prob (Mixtral style, E=8, K=2), T=53', async () => {
    const p = softmax({ experts: 8, topK: 2, normTopkProb: true, hidden: 40 });
    await checkAgainstReference('mixtral', p, 53, randomInputs(p, 53, rng.fork('mx')));
  });

  it('E=512 with K=16 and K=1 on E=37', async () => {
    const big = softmax({ experts: 512, topK: 16, normTopkProb: true, hidden: 64 });
    await checkAgainstReference('E512 K16', big, 11, randomInputs(big, 11, rng.fork('512')));
    const big2 = deepseek({ experts: 512, topK: 16, nGroup: 8, topkGroup: 4, hidden: 64 });
    await checkAgainstReference('E512 K16 grouped', big2, 7, randomInputs(big2, 7, rng.fork('512g')));
    const one = softmax({ experts: 37, topK: 1, normTopkProb: true });
    const { got } = await checkAgainstReference('K=1', one, 19, randomInputs(one, 19, rng.fork('k1')));
    // a single normalized weight is exactly 1
    got.weight.forEach((w) => expect(w, why('K=1 weight')).toBeCloseTo(1, 6));
  });

  it('a huge bias sends every token to one expert (selection only: its weight stays unbiased)', async () => {
    const p = deepseek();
    const inp = randomInputs(p, 31, rng.fork('hot'));
    const hot = rng.int(p.experts);
    inp.bias![hot] = 100;
    const { got, ref } = await checkAgainstReference('hot bias', p, 31, inp);
    for (let t = 0; t < 31; t++) {
      expect(got.idx[t * p.topK], why(`hot expert first for token ${t}`)).toBe(hot);
      // normalized unbiased sigmoid weights: the hot expert's weight is an ordinary share, not ~1
      expect(got.weight[t * p.topK], why('hot weight unbiased')).toBeLessThan(2.5 * 0.5);
      expect(Math.abs(got.weight[t * p.topK] - ref.weight[t * p.topK])).toBeLessThan(1e-5);
    }
  });

  it('exact ties (duplicate router rows) go to the lower expert index', async () => {
    const p = softmax({ experts: 37, topK: 4, normTopkProb: true, hidden: 33 });
    const T = 17;
    const inp = randomInputs(p, T, rng.fork('ties'));
    // A shared feature makes rows 2, 5, 11 and 30 (identical) the top four for every token.
    for (let t = 0; t < T; t++) inp.x[t * p.hidden] = 6;
    const dup = [30, 2, 11, 5];
    const row = inp.w.slice(dup[0] * p.hidden, (dup[0] + 1) * p.hidden);
    row[0] = 2;
    for (const e of dup) inp.w.set(row, e * p.hidden);
    const { got } = await checkAgainstReference('ties', p, T, inp, 1);
    for (let t = 0; t < T; t++) {
      expect(Array.from(got.idx.subarray(t * 4, t * 4 + 4)), why('tie order')).toEqual([2, 5, 11, 30]);
      got.weight.subarray(t * 4, t * 4 + 4).forEach((w) => expect(w).toBeCloseTo(0.25, 6));
    }
  });

  it('encodes several token counts into one command encoder', async () => {
    const gpu = await testGpu();
    const p = deepseek({ experts: 48, nGroup: 4, topkGroup: 2, topK: 6 });
    const kernel = await RouterKernel.create(gpu, p);
    const sizes = [5, 1, 22];
    const runs = sizes.map((T, i) => {
      const inp = randomInputs(p, T, rng.fork(`multi${i}`));
      return {
        T,
        inp,
        idx: createBuffer(gpu, T * p.topK * 4, 'idx'),
        w: createBuffer(gpu, T * p.topK * 4, 'w'),
      };
    });
    const W = runs[0].inp.w; // one router, three batches
    const bias = runs[0].inp.bias!;
    const enc = gpu.device.createCommandEncoder();
    const wBuf = createBufferWith(gpu, W, 'W');
    const bBuf = createBufferWith(gpu, bias, 'bias');
    for (const r of runs) {
      kernel.encode(enc, {
        x: createBufferWith(gpu, r.inp.x, 'x'),
        weight: wBuf,
        bias: bBuf,
        topkIdx: r.idx,
        topkWeight: r.w,
        tokens: r.T,
      });
    }
    gpu.device.queue.submit([enc.finish()]);
    let compared = 0;
    for (const r of runs) {
      const ref = routerReference(p, r.T, r.inp.x, W, bias);
      const idx = await readI32(gpu, r.idx, r.T * p.topK);
      const wt = await readF32(gpu, r.w, r.T * p.topK);
      for (let t = 0; t < r.T; t++) {
        if (routingMargin(p, ref, t) < 1e-5) continue;
        compared++;
        expect(Array.from(idx.subarray(t * 6, t * 6 + 6)), why(`multi T=${r.T}`)).toEqual(
          Array.from(ref.idx.subarray(t * 6, t * 6 + 6)),
        );
        expect(relativeError(wt.subarray(t * 6, t * 6 + 6), ref.weight.subarray(t * 6, t * 6 + 6))).toBeLessThan(1e-5);
      }
    }
    // Skipped near-ties are rare: the comparison must have covered most tokens.
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(compared, why('multi: tokens with a clear margin')).toBeGreaterThanOrEqual(Math.ceil(0.8 * total));
  });

  it('1, 4 or 8 tokens per workgroup give bit-identical results (T=13, not a multiple)', async () => {
    const gpu = await testGpu();
    const p = deepseek({ experts: 40, nGroup: 4, topkGroup: 2, topK: 5, hidden: 70 });
    const T = 13;
    const inp = randomInputs(p, T, rng.fork('tb'));
    const results = [];
    for (const tb of [1, 4, 8]) {
      const kernel = await RouterKernel.create(gpu, p, { tokensPerWorkgroup: tb });
      expect(kernel.tokensPerWorkgroup).toBe(tb);
      const idx = createBuffer(gpu, T * p.topK * 4, 'idx');
      const w = createBuffer(gpu, T * p.topK * 4, 'w');
      const enc = gpu.device.createCommandEncoder();
      kernel.encode(enc, {
        x: createBufferWith(gpu, inp.x, 'x'),
        weight: createBufferWith(gpu, inp.w, 'W'),
        bias: createBufferWith(gpu, inp.bias!, 'bias'),
        topkIdx: idx,
        topkWeight: w,
        tokens: T,
      });
      gpu.device.queue.submit([enc.finish()]);
      results.push({
        idx: Array.from(await readI32(gpu, idx, T * p.topK)),
        w: Array.from(await readF32(gpu, w, T * p.topK)),
      });
    }
    for (const r of results.slice(1)) expect(r, why('same bits for every TB')).toEqual(results[0]);
    await expect(RouterKernel.create(gpu, p, { tokensPerWorkgroup: 0 })).rejects.toThrow(/tokensPerWorkgroup/);
  });

  it('rejects unsupported parameters at create, naming them', async () => {
    const gpu = await testGpu();
    await expect(RouterKernel.create(gpu, deepseek({ nGroup: 7 }))).rejects.toThrow(/nGroup/);
    await expect(RouterKernel.create(gpu, deepseek({ topkGroup: 9 }))).rejects.toThrow(/topkGroup/);
    await expect(RouterKernel.create(gpu, deepseek({ topK: 40 }))).rejects.toThrow(/topK/);
    await expect(RouterKernel.create(gpu, softmax({ topK: 65, experts: 100 }))).rejects.toThrow(/topK/);
    await expect(RouterKernel.create(gpu, softmax({ scoring: 'relu' as 'softmax' }))).rejects.toThrow(/scoring/);
    await expect(RouterKernel.create(gpu, softmax({ experts: 100_000 }))).rejects.toThrow(/experts/);
    await expect(RouterKernel.create(gpu, softmax({ hidden: 0 }))).rejects.toThrow(/hidden/);
  });
});
