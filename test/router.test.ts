// Router kernel vs its float64 reference on fresh random inputs (seed printed on failure).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBuffer, createBufferWith, readF32, readI32, type Gpu } from '../src/gpu/index.ts';
import {
  PER_TOKEN_SCALAR_VARS,
  RouterKernel,
  perTokenBytes,
  routerReference,
  type RouterParams,
  type RouterReference,
} from '../src/kernels/router.ts';
import {
  MAX_PER_TOKEN_WORKGROUP,
  MAX_TOKENS_PER_WORKGROUP,
  ROUTER_VARIANT_FORMS,
  parseRouterVariant,
  routerVariantForms,
  routerVariantName,
  routerVariantProblem,
} from '../src/kernels/routing-params.ts';
import { TuningCache, adapterKey, memoryStore } from '../src/tuning/tuning-cache.ts';
import { setDefaultTuningCache } from '../src/tuning/tuning-store.ts';
import { routerShapeClass } from '../src/tuning/shape-class.ts';
import { routerLab } from '../src/lab/kernels/router.ts';
import { LimitExceededError } from '../src/gpu/errors.ts';
import {
  clearOfRounding,
  clearRouterInputs,
  routerWeightBounds,
  type RouterInputs,
} from '../src/kernels/router-bounds.ts';
import { Rng } from '../src/util/random.ts';
import { documentedRouterDefault, testGpu } from './gpu-fixture.ts';
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

type Inputs = RouterInputs;

function randomInputs(p: RouterParams, T: number, r: Rng): Inputs {
  return {
    x: r.normals(T * p.hidden),
    // logits ~ N(0, 1.5²): spread enough that most tokens have a clear top-k
    w: r.normals(p.experts * p.hidden, 1.5 / Math.sqrt(p.hidden)),
    bias: p.hasBias ? Float32Array.from({ length: p.experts }, () => r.uniform(-0.3, 0.3)) : undefined,
  };
}

/**
 * Redraws (with `draw`) the activations of every token whose routing is not clear of f32
 * rounding (router-bounds.ts), or that `accept` refuses, so the kernel can be held to the
 * reference on every token. Exact ties have their own test.
 */
function clearInputs(
  p: RouterParams,
  T: number,
  inp: Inputs,
  r: Rng,
  { accept = (_ref: RouterReference): boolean => true, draw = (): Float32Array => r.normals(p.hidden) } = {},
): Inputs {
  try {
    return clearRouterInputs(p, T, inp, draw, { accept });
  } catch (e) {
    throw new Error(`test inputs: ${(e as Error).message} (seed ${seed})`, { cause: e });
  }
}

/** Random inputs whose every token's routing is clear of f32 rounding. */
function clearRandomInputs(p: RouterParams, T: number, r: Rng): Inputs {
  return clearInputs(p, T, randomInputs(p, T, r), r);
}

/** How a test asks for the kernel: RouterKernel.create's options. */
type RunOpts = { fused?: boolean; selection?: 'tb' | 'pt'; tokensPerWorkgroup?: number };

async function runRouter(gpu: Gpu, p: RouterParams, T: number, inp: Inputs, opts: RunOpts = {}) {
  const kernel = await RouterKernel.create(gpu, p, opts);
  if (opts.selection) expect(kernel.selection, why('selection')).toBe(opts.selection);
  if (opts.tokensPerWorkgroup)
    expect(kernel.tokensPerWorkgroup, why('tokens per workgroup')).toBe(opts.tokensPerWorkgroup);
  // H % 4 == 0 runs the logits GEMM pass, unless the one-pass form is asked for.
  expect(kernel.passes, why('passes')).toBe(p.hidden % 4 === 0 && !opts.fused ? 2 : 1);
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
 * Every token's experts exactly equal to the reference's (the inputs are clear of rounding:
 * see clearInputs) and every weight within its error bound; returns the reference.
 */
async function checkAgainstReference(name: string, p: RouterParams, T: number, inp: Inputs, opts: RunOpts = {}) {
  const gpu = await testGpu();
  const got = await runRouter(gpu, p, T, inp, opts);
  const ref = routerReference(p, T, inp.x, inp.w, inp.bias);
  checkTokens(name, p, T, inp, ref, got.idx, got.weight);
  return { got, ref };
}

function checkTokens(
  name: string,
  p: RouterParams,
  T: number,
  inp: Inputs,
  ref: RouterReference,
  idx: Int32Array,
  weight: Float32Array,
): void {
  const K = p.topK;
  for (let t = 0; t < T; t++) {
    expect(clearOfRounding(p, inp, ref, t), why(`${name}: token ${t} is clear of rounding (test inputs)`)).toBe(true);
    expect(Array.from(idx.subarray(t * K, (t + 1) * K)), why(`${name}: token ${t} experts`)).toEqual(
      Array.from(ref.idx.subarray(t * K, (t + 1) * K)),
    );
    const bound = routerWeightBounds(p, inp, ref, t);
    for (let k = 0; k < K; k++) {
      const err = Math.abs(weight[t * K + k] - ref.weight[t * K + k]);
      expect(err, why(`${name}: token ${t} weight ${k} (reference ${ref.weight[t * K + k]})`)).toBeLessThanOrEqual(
        bound[k],
      );
    }
  }
}

/**
 * Rows 2, 5, 11 and 30 of the router weights identical and, through a shared feature, the top
 * four of every token (a token where another row comes near them is redrawn): their scores
 * tie exactly, so every token's slots must be the first `topK` of [2, 5, 11, 30] with equal
 * weights. With topK < 4 the tie straddles the K-th slot: the higher tied indices must be
 * left out (a kernel admitting an equal score into a full list would keep 30).
 */
async function duplicateRowTies(name: string, hidden: number, opts: RunOpts, topK = 4): Promise<void> {
  const p = softmax({ experts: 37, topK, normTopkProb: true, hidden });
  const T = 17;
  const r = rng.fork(`ties ${name}`);
  const inp = randomInputs(p, T, r);
  const feature = (v: Float32Array) => ((v[0] = 6), v);
  for (let t = 0; t < T; t++) feature(inp.x.subarray(t * p.hidden));
  const dup = [30, 2, 11, 5];
  const row = inp.w.slice(dup[0] * p.hidden, (dup[0] + 1) * p.hidden);
  row[0] = 2;
  for (const e of dup) inp.w.set(row, e * p.hidden);
  // The four rows score highest (from the reference's scores, so it also holds when topK < 4).
  const topFour = (ref: RouterReference) =>
    Array.from(ref.scores.subarray(0, p.experts))
      .map((s, e) => [s, e])
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, 4)
      .map(([, e]) => e)
      .sort((a, b) => a - b)
      .join() === '2,5,11,30';
  clearInputs(p, T, inp, r, { accept: topFour, draw: () => feature(r.normals(p.hidden)) });
  const { got } = await checkAgainstReference(name, p, T, inp, opts);
  const want = [2, 5, 11, 30].slice(0, topK);
  for (let t = 0; t < T; t++) {
    expect(Array.from(got.idx.subarray(t * topK, (t + 1) * topK)), why(`${name}: tie order`)).toEqual(want);
    got.weight
      .subarray(t * topK, (t + 1) * topK)
      .forEach((w) => expect(w, why(`${name}: tied weights`)).toBeCloseTo(1 / topK, 6));
  }
}

// The workgroup selection (router.wgsl) asked for by name: the default differs per adapter.
const TB: RunOpts = { selection: 'tb' };

describe("router kernel, workgroup selection ('tb:N', and 'fused:tb:N' in one pass)", () => {
  it('DeepSeek-V3 grouped noaux_tc (E=64, n_group=8, topk_group=4, K=8, bias, norm, ×2.5)', async () => {
    const p = deepseek();
    await checkAgainstReference('deepseek', p, 37, clearRandomInputs(p, 37, rng.fork('ds')), TB);
  });

  it('logits by the GEMM pass and by the one-pass kernel both match the reference (H = 96, T = 45)', async () => {
    const p = deepseek();
    const inp = clearRandomInputs(p, 45, rng.fork('two-pass'));
    for (const fused of [false, true]) await checkAgainstReference(`fused ${fused}`, p, 45, inp, { ...TB, fused });
  });

  it('grouped without bias uses the group max (sigmoid and softmax), E=60 in 6 groups', async () => {
    for (const scoring of ['sigmoid', 'softmax'] as const) {
      const p = deepseek({ experts: 60, nGroup: 6, topkGroup: 3, topK: 5, hasBias: false, scoring, hidden: 45 });
      await checkAgainstReference(
        `group max ${scoring}`,
        p,
        29,
        clearRandomInputs(p, 29, rng.fork(`gm-${scoring}`)),
        TB,
      );
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
    await checkAgainstReference('sigmoid scale', p, 23, clearRandomInputs(p, 23, rng.fork('sig')), TB);
  });

  it('gpt-oss routing: top-k over the logits, then softmax over the K selected (GEMM pass and one pass)', async () => {
    const gptOss = softmax({ experts: 128, topK: 4, hidden: 96, normTopkProb: true, routing: 'topk-softmax' });
    const inp = clearRandomInputs(gptOss, 41, rng.fork('oss'));
    for (const fused of [false, true]) {
      const { got } = await checkAgainstReference(`gpt-oss fused ${fused}`, gptOss, 41, inp, { ...TB, fused });
      for (let t = 0; t < 41; t++) {
        const sum = Array.from(got.weight.subarray(t * 4, t * 4 + 4)).reduce((a, b) => a + b, 0);
        expect(sum, why(`gpt-oss token ${t}: the K weights are a softmax`)).toBeCloseTo(1, 5);
      }
    }
    // H not a multiple of 4 (one-pass kernel only), E not a power of two.
    const odd = softmax({ experts: 37, topK: 3, hidden: 45, normTopkProb: true, routing: 'topk-softmax' });
    await checkAgainstReference('gpt-oss odd', odd, 17, clearRandomInputs(odd, 17, rng.fork('oss-odd')), TB);
  });

  it("gpt-oss's top-k-then-softmax equals softmax, top-k, renormalize (float64 references)", () => {
    const a = softmax({ experts: 64, topK: 4, hidden: 32, normTopkProb: true, routing: 'topk-softmax' });
    const b = { ...a, routing: 'score-topk' as const };
    const inp = randomInputs(a, 50, rng.fork('oss-eq'));
    const ra = routerReference(a, 50, inp.x, inp.w);
    const rb = routerReference(b, 50, inp.x, inp.w);
    expect(Array.from(ra.idx)).toEqual(Array.from(rb.idx));
    ra.weight.forEach((w, i) => expect(Math.abs(w - rb.weight[i]), why(`weight ${i}`)).toBeLessThan(1e-12));
  });

  it("routing 'topk-softmax' refuses what it does not take", () => {
    const base = softmax({ normTopkProb: true, routing: 'topk-softmax' });
    expect(() => routerReference({ ...base, scoring: 'sigmoid' }, 0, new Float32Array(), new Float32Array())).toThrow(
      /topk-softmax.*scoring 'sigmoid'/,
    );
    expect(() => routerReference({ ...base, normTopkProb: false }, 0, new Float32Array(), new Float32Array())).toThrow(
      /normTopkProb false/,
    );
    expect(() =>
      routerReference({ ...base, nGroup: 4, topkGroup: 2 }, 0, new Float32Array(), new Float32Array()),
    ).toThrow(/nGroup = 4/);
  });

  it('softmax without norm_topk_prob (Qwen2-MoE style), T=1', async () => {
    const p = softmax();
    await checkAgainstReference('qwen2 T=1', p, 1, clearRandomInputs(p, 1, rng.fork('q2')), TB);
  });

  it('softmax with norm_topk_prob (Mixtral style, E=8, K=2), T=53', async () => {
    const p = softmax({ experts: 8, topK: 2, normTopkProb: true, hidden: 40 });
    await checkAgainstReference('mixtral', p, 53, clearRandomInputs(p, 53, rng.fork('mx')), TB);
  });

  it('E=512 with K=16 and K=1 on E=37', async () => {
    const big = softmax({ experts: 512, topK: 16, normTopkProb: true, hidden: 64 });
    await checkAgainstReference('E512 K16', big, 11, clearRandomInputs(big, 11, rng.fork('512')), TB);
    const big2 = deepseek({ experts: 512, topK: 16, nGroup: 8, topkGroup: 4, hidden: 64 });
    await checkAgainstReference('E512 K16 grouped', big2, 7, clearRandomInputs(big2, 7, rng.fork('512g')), TB);
    const one = softmax({ experts: 37, topK: 1, normTopkProb: true });
    const { got } = await checkAgainstReference('K=1', one, 19, clearRandomInputs(one, 19, rng.fork('k1')), TB);
    // a single normalized weight is exactly 1
    got.weight.forEach((w) => expect(w, why('K=1 weight')).toBeCloseTo(1, 6));
  });

  it('a huge bias sends every token to one expert (selection only: its weight stays unbiased)', async () => {
    const p = deepseek();
    const r = rng.fork('hot');
    const inp = randomInputs(p, 31, r);
    const hot = r.int(p.experts);
    inp.bias![hot] = 100;
    clearInputs(p, 31, inp, r);
    const { got, ref } = await checkAgainstReference('hot bias', p, 31, inp, TB);
    for (let t = 0; t < 31; t++) {
      expect(got.idx[t * p.topK], why(`hot expert first for token ${t}`)).toBe(hot);
      // normalized unbiased sigmoid weights: the hot expert's weight is an ordinary share, not ~1
      expect(got.weight[t * p.topK], why('hot weight unbiased')).toBeLessThan(2.5 * 0.5);
      expect(ref.weight[t * p.topK], why('reference hot weight')).toBeLessThan(2.5 * 0.5);
    }
  });

  it('exact ties (duplicate router rows) go to the lower expert index (one pass, and GEMM pass + tb)', async () => {
    await duplicateRowTies('ties one pass', 33, {});
    await duplicateRowTies('ties tb', 36, { selection: 'tb' });
    // Four tied rows for three slots: the lowest three indices.
    await duplicateRowTies('ties one pass K=3', 33, {}, 3);
    await duplicateRowTies('ties tb K=3', 36, { selection: 'tb' }, 3);
  });

  it('encodes several token counts into one command encoder', async () => {
    const gpu = await testGpu();
    const p = deepseek({ experts: 48, nGroup: 4, topkGroup: 2, topK: 6 });
    const kernel = await RouterKernel.create(gpu, p);
    const sizes = [5, 1, 22];
    const r = rng.fork('multi');
    const { w: W, bias } = randomInputs(p, 0, r); // one router, three batches
    const runs = sizes.map((T) => ({
      T,
      inp: clearInputs(p, T, { x: r.normals(T * p.hidden), w: W, bias }, r),
      idx: createBuffer(gpu, T * p.topK * 4, 'idx'),
      w: createBuffer(gpu, T * p.topK * 4, 'w'),
    }));
    const enc = gpu.device.createCommandEncoder();
    const wBuf = createBufferWith(gpu, W, 'W');
    const bBuf = createBufferWith(gpu, bias!, 'bias');
    for (const run of runs) {
      kernel.encode(enc, {
        x: createBufferWith(gpu, run.inp.x, 'x'),
        weight: wBuf,
        bias: bBuf,
        topkIdx: run.idx,
        topkWeight: run.w,
        tokens: run.T,
      });
    }
    gpu.device.queue.submit([enc.finish()]);
    for (const run of runs) {
      const ref = routerReference(p, run.T, run.inp.x, W, bias);
      const idx = await readI32(gpu, run.idx, run.T * p.topK);
      const wt = await readF32(gpu, run.w, run.T * p.topK);
      checkTokens(`multi T=${run.T}`, p, run.T, run.inp, ref, idx, wt);
    }
  });

  it('1, 4 or 8 tokens per workgroup give bit-identical results (T=13, not a multiple)', async () => {
    const gpu = await testGpu();
    const p = deepseek({ experts: 40, nGroup: 4, topkGroup: 2, topK: 5, hidden: 70 });
    const T = 13;
    const inp = randomInputs(p, T, rng.fork('tb'));
    const results = [];
    for (const tb of [1, 4, 8]) {
      // runRouter checks the kernel took the selection and tokens per workgroup asked for.
      const got = await runRouter(gpu, p, T, inp, { selection: 'tb', tokensPerWorkgroup: tb });
      results.push({ idx: Array.from(got.idx), w: Array.from(got.weight) });
    }
    for (const r of results.slice(1)) expect(r, why('same bits for every TB')).toEqual(results[0]);
    await expect(RouterKernel.create(gpu, p, { selection: 'tb', tokensPerWorkgroup: 0 })).rejects.toThrow(
      /tokensPerWorkgroup/,
    );
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

// One invocation per token (router_per_token.wgsl after the logits GEMM pass): the same
// contract, so the same references, bounds and ties; H % 4 == 0 throughout (the GEMM pass).
describe("router kernel, per-token selection ('pt:N')", () => {
  const pt = (n: number): RunOpts => ({ selection: 'pt', tokensPerWorkgroup: n });

  it('every scoring mode matches the reference, T not a multiple of the workgroup', async () => {
    const cases: [string, RouterParams, number, number][] = [
      ['DeepSeek-V3: sigmoid, 8 groups, bias, norm, ×2.5', deepseek(), 37, 8],
      [
        'group max, sigmoid, E=60 in 6 groups',
        deepseek({ experts: 60, nGroup: 6, topkGroup: 3, topK: 5, hasBias: false, hidden: 48 }),
        29,
        16,
      ],
      [
        'group max, softmax',
        deepseek({ experts: 60, nGroup: 6, topkGroup: 3, topK: 5, hasBias: false, scoring: 'softmax', hidden: 48 }),
        29,
        16,
      ],
      [
        'sigmoid without norm ×1.7, E=37',
        deepseek({ normTopkProb: false, routedScalingFactor: 1.7, nGroup: 1, topkGroup: 1, experts: 37, topK: 3 }),
        23,
        64,
      ],
      ['softmax without norm (Qwen2-MoE), E=60', softmax({ hidden: 64 }), 45, 4],
      [
        'softmax with norm (Mixtral), E=8, K=2',
        softmax({ experts: 8, topK: 2, normTopkProb: true, hidden: 40 }),
        53,
        32,
      ],
      ['softmax, E=512, K=16', softmax({ experts: 512, topK: 16, normTopkProb: true, hidden: 64 }), 11, 64],
      [
        'sigmoid, E=512, K=16, 8 groups',
        deepseek({ experts: 512, topK: 16, nGroup: 8, topkGroup: 4, hidden: 64 }),
        7,
        4,
      ],
    ];
    for (const [name, p, T, n] of cases) {
      await checkAgainstReference(`pt:${n} ${name}`, p, T, clearRandomInputs(p, T, rng.fork(`pt ${name}`)), pt(n));
    }
  });

  it('gpt-oss routing (softmax over the K selected logits) and K=1 on E=37', async () => {
    const gptOss = softmax({ experts: 128, topK: 4, hidden: 96, normTopkProb: true, routing: 'topk-softmax' });
    const { got } = await checkAgainstReference(
      'pt gpt-oss',
      gptOss,
      41,
      clearRandomInputs(gptOss, 41, rng.fork('pt oss')),
      pt(16),
    );
    for (let t = 0; t < 41; t++) {
      const sum = Array.from(got.weight.subarray(t * 4, t * 4 + 4)).reduce((a, b) => a + b, 0);
      expect(sum, why(`pt gpt-oss token ${t}: the K weights are a softmax`)).toBeCloseTo(1, 5);
    }
    const one = softmax({ experts: 37, topK: 1, normTopkProb: true, hidden: 64 });
    const k1 = await checkAgainstReference('pt K=1', one, 19, clearRandomInputs(one, 19, rng.fork('pt k1')), pt(8));
    k1.got.weight.forEach((w) => expect(w, why('pt K=1 weight')).toBeCloseTo(1, 6));
  });

  it('exact ties (duplicate router rows) go to the lower expert index', async () => {
    await duplicateRowTies('pt ties', 36, pt(8));
    // Four tied rows for three slots: the lowest three indices.
    await duplicateRowTies('pt ties K=3', 36, pt(8), 3);
  });

  it('exact ties between groups keep the lower group, and within a group the lower expert (pt and tb)', async () => {
    // E=64 in 8 groups, one kept, K=4. Group 5 (experts 40..47) is a copy of group 2 (16..23):
    // same router rows, same biases, so the two group scores tie exactly. Rows 17 and 20 are
    // identical too, with a bias of 1.5: their selection scores (> 1.5) beat every other
    // expert's (< 1 + 0.5), so groups 2 and 5 (scores > 3) beat every other group (< 2 · 1.3).
    // Group 2's other experts have biases in [-1, -0.6) (scores < 0.4); group 5's copy of 23,
    // expert 47, then gets a bias of 0.5 (score in (0.5, 1.5): still below 41 and 44, so the
    // group scores still tie), which beats every other expert of group 2: a kernel keeping
    // both tied groups (or every group) would put 47 in slot 2.
    // Group 2 must be kept, slots 0 and 1 must be 17 then 20, slots 2 and 3 from group 2.
    const p = deepseek({ experts: 64, nGroup: 8, topkGroup: 1, topK: 4 });
    const T = 27;
    const r = rng.fork('pt group ties');
    const inp = randomInputs(p, T, r);
    const H = p.hidden;
    const bias = inp.bias!;
    for (let e = 16; e < 24; e++) bias[e] = r.uniform(-1, -0.6);
    inp.w.copyWithin(20 * H, 17 * H, 18 * H);
    bias[17] = bias[20] = 1.5;
    inp.w.copyWithin(40 * H, 16 * H, 24 * H);
    bias.copyWithin(40, 16, 24);
    bias[47] = 0.5;
    clearInputs(p, T, inp, r);
    for (const [name, opts] of [
      ['pt group ties', pt(16)],
      ['tb group ties', TB],
    ] as const) {
      const { got, ref } = await checkAgainstReference(name, p, T, inp, opts);
      for (let t = 0; t < T; t++) {
        expect(ref.groupScores[t * 8 + 2], why(`${name}: token ${t}: groups 2 and 5 tie exactly`)).toBe(
          ref.groupScores[t * 8 + 5],
        );
        expect(
          ref.scores[t * 64 + 47],
          why(`${name}: token ${t}: expert 47 of the dropped tied group would take slot 2`),
        ).toBeGreaterThan(ref.scores[t * 64 + ref.idx[t * 4 + 2]]);
        const slots = Array.from(got.idx.subarray(t * 4, t * 4 + 4));
        expect(slots.slice(0, 2), why(`${name}: token ${t}: tied experts in index order`)).toEqual([17, 20]);
        for (const e of slots)
          expect(Math.floor(e / 8), why(`${name}: token ${t}: expert ${e} from the lower tied group`)).toBe(2);
      }
    }
  });

  it('1, 5 or 64 tokens per workgroup give bit-identical results (T=13)', async () => {
    const gpu = await testGpu();
    const p = deepseek({ experts: 40, nGroup: 4, topkGroup: 2, topK: 5, hidden: 72 });
    const T = 13;
    const inp = randomInputs(p, T, rng.fork('pt n'));
    const results = [];
    results.push((await checkAgainstReference('pt:1', p, T, inp, pt(1))).got); // right, not only the same for every N
    for (const n of [5, 64]) results.push(await runRouter(gpu, p, T, inp, pt(n)));
    for (const r of results.slice(1)) expect(r, why('same bits for every N')).toEqual(results[0]);
  });

  it("is a variant name the lab sweeps, and this adapter's default where the GEMM pass runs", async () => {
    const gpu = await testGpu();
    expect(parseRouterVariant('pt:64')).toEqual({ selection: 'pt', fused: false, tokensPerWorkgroup: 64 });
    expect(parseRouterVariant('fused:pt:4')).toMatch(/takes its logits from the GEMM pass.*'pt:4'/);
    expect(parseRouterVariant('pt:257')).toMatch(/above 256 \(use 'pt:256'\)/);
    expect(parseRouterVariant('pt:0')).toMatch(/'pt:N'/);
    expect(routerLab.sweepCandidates!(gpu, { tokens: 256, hidden: 512, experts: 32, topK: 4 } as never)).toEqual(
      expect.arrayContaining(['tb:4', 'pt:64']),
    );
    const p = deepseek();
    const k = await RouterKernel.create(gpu, p);
    // The rule, read off the adapter (not through defaultSelection): 'pt:64' on subgroups of 4 lanes, else 'tb:N'.
    const want = documentedRouterDefault(gpu);
    expect(k.selection, why(`adapter default ${want}`)).toBe(want.startsWith('pt') ? 'pt' : 'tb');
    if (want === 'pt:64') expect(k.variantName).toBe('pt:64');
    else expect(k.variantName).toMatch(/^tb:\d+$/);
    k.destroy();
    const odd = await RouterKernel.create(gpu, deepseek({ hidden: 45 }));
    expect(odd.variantName, why('H % 4 != 0: one pass, workgroup selection')).toBe('fused:tb:4');
    odd.destroy();
  });

  it('every declared form parses at a random N to its row, is written back by name, and is named in the refusal', () => {
    const refusal = parseRouterVariant('xx:4') as string;
    for (const f of ROUTER_VARIANT_FORMS) {
      const max = f.selection === 'pt' ? MAX_PER_TOKEN_WORKGROUP : MAX_TOKENS_PER_WORKGROUP;
      const v = { selection: f.selection, fused: f.fused, tokensPerWorkgroup: 1 + rng.int(max) };
      const name = routerVariantName(v);
      expect(parseRouterVariant(name), why(name)).toEqual(v);
      const form = `'${name.replace(/\d+$/, 'N')}'`;
      expect(refusal, why(form)).toContain(form);
      expect(routerVariantForms(' | ', true), why(form)).toContain(f.note ? `${form} (${f.note})` : form);
      expect(parseRouterVariant(name.replace(/\d+$/, String(max + 1))), why(name)).toContain(
        `(use '${name.replace(/\d+$/, String(max))}')`,
      );
    }
    expect(refusal).toBe("expected 'tb:N', 'fused:tb:N' or 'pt:N' with N a positive integer, got 'xx:4'");
  });

  it("'fused:pt:N' is refused proposing a 'pt:N' the parser accepts, for any N (0 and past the limit included)", () => {
    for (const n of [
      0,
      1,
      MAX_PER_TOKEN_WORKGROUP,
      MAX_PER_TOKEN_WORKGROUP + 1,
      rng.int(4 * MAX_PER_TOKEN_WORKGROUP),
    ]) {
      const refusal = parseRouterVariant(`fused:pt:${n}`);
      const what = why(`fused:pt:${n}`);
      expect(refusal, what).toMatch(/takes its logits from the GEMM pass \(use 'pt:\d+', or 'fused:tb:N'\)$/);
      const proposed = /use '(pt:\d+)'/.exec(refusal as string)![1];
      expect(parseRouterVariant(proposed), `${what}: proposes ${proposed}`).toEqual({
        selection: 'pt',
        fused: false,
        tokensPerWorkgroup: Math.min(Math.max(n, 1), MAX_PER_TOKEN_WORKGROUP),
      });
    }
  });

  it("perTokenBytes counts every function-scope variable the shader's main declares (WGSL's limit counts them all)", () => {
    // Read off the shader text: each `var` in main (comments stripped), an array of CAP
    // elements or one scalar, every element 4 bytes (f32, u32, i32, bool; anything else fails).
    const text = readFileSync(new URL('../shaders/router_per_token.wgsl', import.meta.url), 'utf8');
    const main = text.slice(text.indexOf('fn main(')).replace(/\/\/.*$/gm, '');
    const decls = [...main.matchAll(/\bvar\s+(\w+)\s*(?::\s*([^=;]+?))?\s*[=;]/g)];
    const count = { nGroup: 0, topK: 0, scalars: 0 };
    for (const [, name, type] of decls) {
      const array = type?.match(/^array<(\w+),\s*(\w+)>$/);
      if (array) {
        expect(['f32', 'u32', 'i32', 'bool'], `${name}'s element`).toContain(array[1]);
        expect(['GROUP_CAP', 'TOPK_CAP'], `${name}'s length`).toContain(array[2]);
        count[array[2] === 'GROUP_CAP' ? 'nGroup' : 'topK']++;
      } else {
        if (type !== undefined) expect(['f32', 'u32', 'i32', 'bool'], `${name}'s type`).toContain(type.trim());
        count.scalars++;
      }
    }
    expect(count, 'arrays per nGroup and per topK, and scalars').toEqual({
      nGroup: 2,
      topK: 2,
      scalars: PER_TOKEN_SCALAR_VARS,
    });
    for (let i = 0; i < 20; i++) {
      const p = softmax({ nGroup: 1 + rng.int(64), topK: 1 + rng.int(16) });
      const bytes = 4 * (count.nGroup * p.nGroup + count.topK * p.topK + count.scalars);
      expect(perTokenBytes(p), why(`nGroup ${p.nGroup}, topK ${p.topK}`)).toBe(bytes);
    }
  });

  it('refuses what it cannot run at create, naming the limit and a valid variant', async () => {
    const gpu = await testGpu();
    await expect(RouterKernel.create(gpu, deepseek({ hidden: 45 }), pt(8))).rejects.toThrow(
      /hidden % 4 == 0 \(hidden = 45; use 'fused:tb:N'\)/,
    );
    await expect(RouterKernel.create(gpu, deepseek(), { ...pt(8), fused: true })).rejects.toThrow(/use 'fused:tb:N'/);
    await expect(RouterKernel.create(gpu, deepseek(), pt(0))).rejects.toThrow(/'pt:N'.*\[1, 256\]/);
    await expect(RouterKernel.create(gpu, deepseek(), pt(257))).rejects.toThrow(/'pt:N'.*\[1, 256\]/);
    // 2048 groups: 16 KiB of per-invocation group scores and flags, past WGSL's 8192 bytes. The
    // count is every function-scope variable of main (WGSL's limit counts them all): 4 bytes ×
    // (2 × 2048 group scores and flags + 2 × 4 top-k values and ids + 20 scalars) = 16496.
    const many = softmax({ experts: 4096, nGroup: 2048, topkGroup: 2, topK: 4, hidden: 8 });
    const err = await RouterKernel.create(gpu, many, pt(8)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as Error).message).toMatch(
      /'pt:8'.*nGroup = 2048.*20 scalars.*function-address-space bytes = 16496, but WGSL allows at most 8192/,
    );
    expect((err as LimitExceededError).setBy).toBe('wgsl');
  });

  it("a tuned 'pt:N' is not used where H % 4 != 0 (warned and ignored), and is used where it runs", async () => {
    const gpu = await testGpu();
    expect(routerVariantProblem('pt:64', { hidden: 45 })).toMatch(/hidden % 4 == 0 \(hidden = 45/);
    expect(routerVariantProblem('pt:64', { hidden: 48 })).toBeUndefined();
    const warnings: string[] = [];
    const cache = new TuningCache(memoryStore(), { warn: (m) => warnings.push(m) });
    // H = 50 and 48 share a shape class (H bucketed to a power of two): one entry serves both.
    const odd = deepseek({ hidden: 50 });
    const even = deepseek({ hidden: 48 });
    const c = routerShapeClass({ ...odd, tokens: 32 });
    expect(routerShapeClass({ ...even, tokens: 32 })).toEqual(c);
    const entry = {
      ...c,
      variant: 'pt:16',
      medianMs: 1,
      shape: 'test',
      tried: 1,
      measuredAt: new Date(0).toISOString(),
    };
    await cache.record(adapterKey(gpu.info), 'test', entry);
    setDefaultTuningCache(cache);
    try {
      const a = await RouterKernel.create(gpu, odd, { tuned: true, expectedTokens: 32 });
      expect([a.variantName, a.origin.source], why('H = 50: the tuned pt:16 is ignored')).toEqual([
        'fused:tb:4',
        'default',
      ]);
      expect(warnings.join('\n')).toMatch(/'pt:16'.*hidden % 4 == 0/);
      a.destroy();
      const b = await RouterKernel.create(gpu, even, { tuned: true, expectedTokens: 32 });
      expect([b.variantName, b.origin.source], why('H = 48: the tuned pt:16 runs')).toEqual(['pt:16', 'tuned']);
      b.destroy();
    } finally {
      setDefaultTuningCache(null);
    }
  });
});
