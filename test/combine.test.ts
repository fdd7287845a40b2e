// Combine kernel vs its float64 reference on fresh random inputs (seed printed on failure).
import { describe, expect, it } from 'vitest';
import { createBuffer, createBufferWith, readF32, type Gpu } from '../src/gpu/index.ts';
import {
  CombineKernel,
  combineReference,
  type CombineInputs,
  type CombineParams,
  type SharedMode,
} from '../src/kernels/combine.ts';
import { permuteReference } from '../src/kernels/permute.ts';
import { Rng } from '../src/util/random.ts';
import { relativeError } from '../src/util/numeric.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const why = (name: string) => `${name} (seed ${seed})`;

/** A real routing's inverse map (K distinct experts of E per token) and random tensors. */
function inputs(p: CombineParams, T: number, r: Rng, experts = 23): CombineInputs {
  const K = p.topK;
  const idx = new Int32Array(T * K);
  for (let t = 0; t < T; t++) {
    const picked = new Set<number>();
    while (picked.size < K) picked.add(r.int(Math.max(experts, K)));
    idx.set([...picked], t * K);
  }
  const { inv } = permuteReference({ experts: Math.max(experts, K), topK: K }, T, idx);
  return {
    y: r.normals(T * K * p.hidden),
    inv,
    topkWeight: Float32Array.from({ length: T * K }, () => r.uniform(0, 1)),
    shared: p.shared !== 'none' ? r.normals(T * p.hidden) : undefined,
    x: p.shared === 'gated' ? r.normals(T * p.hidden) : undefined,
    sharedGateW: p.shared === 'gated' ? r.normals(p.hidden, 1 / Math.sqrt(p.hidden)) : undefined,
  };
}

function upload(gpu: Gpu, inp: CombineInputs) {
  const opt = (a: Float32Array | undefined, l: string) => (a ? createBufferWith(gpu, a, l) : undefined);
  return {
    y: createBufferWith(gpu, inp.y, 'y'),
    inv: createBufferWith(gpu, inp.inv, 'inv'),
    topkWeight: createBufferWith(gpu, inp.topkWeight, 'w'),
    shared: opt(inp.shared, 's'),
    x: opt(inp.x, 'x'),
    sharedGateW: opt(inp.sharedGateW, 'gate'),
  };
}

async function check(p: CombineParams, T: number) {
  const gpu = await testGpu();
  const name = `H=${p.hidden} K=${p.topK} T=${T} shared=${p.shared}`;
  const inp = inputs(p, T, rng.fork(name));
  const kernel = await CombineKernel.create(gpu, p);
  const out = createBufferWith(gpu, new Float32Array(T * p.hidden).fill(NaN), 'out');
  const enc = gpu.device.createCommandEncoder();
  kernel.encode(enc, { ...upload(gpu, inp), out, tokens: T });
  gpu.device.queue.submit([enc.finish()]);
  const got = await readF32(gpu, out, T * p.hidden);
  const want = combineReference(p, T, inp);
  expect(relativeError(got, want), why(name)).toBeLessThan(1e-5);
  kernel.destroy();
}

describe('combine kernel', () => {
  for (const shared of ['none', 'plain', 'gated'] as SharedMode[]) {
    it(`vec4 and scalar rows, shared = ${shared}`, async () => {
      await check({ hidden: 96, topK: 8, shared }, 37); // vec4 path
      await check({ hidden: 61, topK: 8, shared }, 37); // scalar path
      await check({ hidden: 2, topK: 3, shared }, 5); // row shorter than the workgroup
    });
  }

  it('T=1, K=1 and K=16', async () => {
    await check({ hidden: 44, topK: 1, shared: 'gated' }, 1);
    await check({ hidden: 45, topK: 16, shared: 'plain' }, 19);
  });

  it('DeepSeek-sized rows (H=7168, K=8)', async () => {
    await check({ hidden: 7168, topK: 8, shared: 'plain' }, 3);
  });

  it('the gate is sigmoid(x·gateW): saturated gates drop or keep the shared output', async () => {
    const gpu = await testGpu();
    const p: CombineParams = { hidden: 32, topK: 2, shared: 'gated' };
    const T = 2;
    const inp = inputs(p, T, rng.fork('sat'));
    inp.x!.fill(1);
    inp.sharedGateW!.fill(0);
    inp.sharedGateW![0] = 100; // x·w = 100: gate ≈ 1 for both tokens
    inp.x![p.hidden] = -1; // token 1: x·w = -100 + 0 → gate ≈ 0
    const kernel = await CombineKernel.create(gpu, p);
    const out = createBuffer(gpu, T * p.hidden * 4, 'out');
    const enc = gpu.device.createCommandEncoder();
    kernel.encode(enc, { ...upload(gpu, inp), out, tokens: T });
    gpu.device.queue.submit([enc.finish()]);
    const got = await readF32(gpu, out, T * p.hidden);
    const routed = combineReference({ ...p, shared: 'none' }, T, inp);
    for (let h = 0; h < p.hidden; h++) {
      expect(got[h]).toBeCloseTo(routed[h] + inp.shared![h], 5);
      expect(got[p.hidden + h]).toBeCloseTo(routed[p.hidden + h], 5);
    }
  });

  it('encodes several token counts into one command encoder', async () => {
    const gpu = await testGpu();
    const p: CombineParams = { hidden: 40, topK: 6, shared: 'gated' };
    const kernel = await CombineKernel.create(gpu, p);
    const runs = [7, 1, 30].map((T, i) => ({
      T,
      inp: inputs(p, T, rng.fork(`multi${i}`)),
      out: createBuffer(gpu, T * p.hidden * 4, 'out'),
    }));
    const enc = gpu.device.createCommandEncoder();
    for (const r of runs) kernel.encode(enc, { ...upload(gpu, r.inp), out: r.out, tokens: r.T });
    gpu.device.queue.submit([enc.finish()]);
    for (const r of runs) {
      const got = await readF32(gpu, r.out, r.T * p.hidden);
      expect(relativeError(got, combineReference(p, r.T, r.inp)), why(`multi T=${r.T}`)).toBeLessThan(1e-5);
    }
  });

  it('rejects bad parameters and missing shared inputs', async () => {
    const gpu = await testGpu();
    await expect(CombineKernel.create(gpu, { hidden: 0, topK: 2, shared: 'none' })).rejects.toThrow(/hidden/);
    await expect(CombineKernel.create(gpu, { hidden: 8, topK: 0, shared: 'none' })).rejects.toThrow(/topK/);
    await expect(CombineKernel.create(gpu, { hidden: 8, topK: 2, shared: 'both' as SharedMode })).rejects.toThrow(
      /shared/,
    );
    const k = await CombineKernel.create(gpu, { hidden: 8, topK: 2, shared: 'gated' });
    const buf = createBuffer(gpu, 1024, 'b');
    expect(() =>
      k.encode(gpu.device.createCommandEncoder(), {
        y: buf,
        inv: buf,
        topkWeight: buf,
        out: buf,
        shared: buf,
        tokens: 4,
      }),
    ).toThrow(/x/);
  });
});
