// Permute kernel vs its CPU reference (exact equality) on fresh random routings.
import { describe, expect, it } from 'vitest';
import {
  LimitExceededError,
  ScratchBuffer,
  createBuffer,
  createBufferWith,
  readU32,
  type Gpu,
} from '../src/gpu/index.ts';
import { PermuteKernel, permuteReference, type PermuteParams } from '../src/kernels/permute.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const why = (name: string) => `${name} (seed ${seed})`;

/** K distinct experts per token, as the router produces, optionally skewed toward a few. */
function routing(p: PermuteParams, T: number, r: Rng, hot: number[] = []): Int32Array {
  const idx = new Int32Array(T * p.topK);
  for (let t = 0; t < T; t++) {
    const taken = new Set<number>();
    for (let k = 0; k < p.topK; k++) {
      let e: number;
      do e = hot.length && r.next() < 0.7 ? hot[r.int(hot.length)] : r.int(p.experts);
      while (taken.has(e));
      taken.add(e);
      idx[t * p.topK + k] = e;
    }
  }
  return idx;
}

interface Outputs {
  counts: GPUBuffer;
  offsets: GPUBuffer;
  perm: GPUBuffer;
  inv: GPUBuffer;
}

/** Output buffers pre-filled with garbage, so an entry the kernel forgets cannot pass. */
function outputs(gpu: Gpu, p: PermuteParams, T: number): Outputs {
  const junk = (n: number, label: string) =>
    createBufferWith(gpu, new Uint32Array(Math.max(n, 1)).fill(0xdeadbeef), label);
  return {
    counts: junk(p.experts, 'counts'),
    offsets: junk(p.experts + 1, 'offsets'),
    perm: junk(T * p.topK, 'perm'),
    inv: junk(T * p.topK, 'inv'),
  };
}

async function readOutputs(gpu: Gpu, p: PermuteParams, T: number, o: Outputs) {
  const n = T * p.topK;
  return {
    counts: Array.from(await readU32(gpu, o.counts, p.experts)),
    offsets: Array.from(await readU32(gpu, o.offsets, p.experts + 1)),
    perm: Array.from(await readU32(gpu, o.perm, n)),
    inv: Array.from(await readU32(gpu, o.inv, n)),
  };
}

async function check(name: string, p: PermuteParams, T: number, idx: Int32Array) {
  const gpu = await testGpu();
  const kernel = await PermuteKernel.create(gpu, p);
  const o = outputs(gpu, p, T);
  const enc = gpu.device.createCommandEncoder();
  kernel.encode(enc, { topkIdx: createBufferWith(gpu, idx, 'topkIdx'), ...o, tokens: T });
  gpu.device.queue.submit([enc.finish()]);
  const got = await readOutputs(gpu, p, T, o);
  const ref = permuteReference(p, T, idx);
  expect(got.counts, why(`${name}: counts`)).toEqual(Array.from(ref.counts));
  expect(got.offsets, why(`${name}: offsets`)).toEqual(Array.from(ref.offsets));
  expect(got.perm, why(`${name}: perm`)).toEqual(Array.from(ref.perm));
  expect(got.inv, why(`${name}: inv`)).toEqual(Array.from(ref.inv));
  kernel.destroy();
  return got;
}

describe('permute kernel', () => {
  it('T=1 and T=1000 (many chunks), E=60, K=8', async () => {
    const p = { experts: 60, topK: 8 };
    await check('T=1', p, 1, routing(p, 1, rng.fork('t1')));
    await check('T=1000', p, 1000, routing(p, 1000, rng.fork('t1000')));
  });

  it('E=512 with K=16, mostly empty experts, and E=300 (more experts than one scan block)', async () => {
    const big = { experts: 512, topK: 16 };
    const got = await check('E512', big, 77, routing(big, 77, rng.fork('512')));
    expect(got.counts.filter((c) => c === 0).length, why('some experts empty')).toBeGreaterThan(0);
    const sparse = { experts: 512, topK: 2 };
    const g2 = await check('sparse', sparse, 3, routing(sparse, 3, rng.fork('sparse')));
    expect(g2.counts.filter((c) => c === 0).length).toBeGreaterThanOrEqual(506);
    const odd = { experts: 300, topK: 6 };
    await check('E300', odd, 131, routing(odd, 131, rng.fork('300'), [7, 299]));
  });

  it('K=1 with every token on one expert, and E=1', async () => {
    const p = { experts: 37, topK: 1 };
    const T = 613;
    const hot = rng.int(37);
    const got = await check('one expert', p, T, new Int32Array(T).fill(hot));
    expect(got.perm, why('identity order')).toEqual(Array.from({ length: T }, (_, i) => i));
    expect(got.offsets[hot + 1] - got.offsets[hot]).toBe(T);
    await check('E=1', { experts: 1, topK: 1 }, 300, new Int32Array(300));
  });

  it('skewed routing and repeated experts within a token stay stable', async () => {
    const p = { experts: 37, topK: 5 };
    await check('skewed', p, 211, routing(p, 211, rng.fork('skew'), [3, 4]));
    const r = rng.fork('rep');
    const idx = Int32Array.from({ length: 97 * 5 }, () => r.int(6)); // with replacement: repeats
    await check('repeats', p, 97, idx);
  });

  it('T=0 gives zero counts and offsets', async () => {
    const p = { experts: 45, topK: 3 };
    const got = await check('T=0', p, 0, new Int32Array(0));
    expect(got.offsets.every((o) => o === 0)).toBe(true);
  });

  it('encodes several token counts into one command encoder (scratch grows between them)', async () => {
    const gpu = await testGpu();
    const p = { experts: 41, topK: 4 };
    const kernel = await PermuteKernel.create(gpu, p);
    const runs = [3, 900, 70].map((T, i) => ({ T, idx: routing(p, T, rng.fork(`multi${i}`)), o: outputs(gpu, p, T) }));
    const enc = gpu.device.createCommandEncoder();
    for (const r of runs) kernel.encode(enc, { topkIdx: createBufferWith(gpu, r.idx, 'idx'), ...r.o, tokens: r.T });
    gpu.device.queue.submit([enc.finish()]);
    for (const r of runs) {
      const got = await readOutputs(gpu, p, r.T, r.o);
      const ref = permuteReference(p, r.T, r.idx);
      expect(got.perm, why(`multi T=${r.T}`)).toEqual(Array.from(ref.perm));
      expect(got.inv, why(`multi T=${r.T}`)).toEqual(Array.from(ref.inv));
      expect(got.offsets, why(`multi T=${r.T}`)).toEqual(Array.from(ref.offsets));
    }
    kernel.destroy();
  });

  it('rejects bad parameters and short buffers', async () => {
    const gpu = await testGpu();
    await expect(PermuteKernel.create(gpu, { experts: 0, topK: 2 })).rejects.toThrow(/experts/);
    await expect(PermuteKernel.create(gpu, { experts: 8, topK: 1.5 })).rejects.toThrow(/topK/);
    await expect(PermuteKernel.create(gpu, { experts: 100_000, topK: 2 })).rejects.toThrow(/experts/);
    const k = await PermuteKernel.create(gpu, { experts: 8, topK: 2 });
    const small = createBuffer(gpu, 16, 'small');
    expect(() =>
      k.encode(gpu.device.createCommandEncoder(), {
        topkIdx: small,
        counts: small,
        offsets: small,
        perm: small,
        inv: small,
        tokens: 100,
      }),
    ).toThrow(/topkIdx/);
  });
});

describe('ScratchBuffer (the permute and router scratch)', () => {
  it('holds every request, reuses a buffer that fits, and grows by doubling within the binding limit', async () => {
    await testGpu(); // the WebGPU globals (GPUBufferUsage); the device itself is a fake below
    const made: number[] = [];
    const limit = 4096;
    const device = {
      limits: { maxStorageBufferBindingSize: limit },
      createBuffer: ({ size }: GPUBufferDescriptor) => (made.push(size), { size, destroy() {} }),
    } as unknown as GPUDevice;
    const scratch = new ScratchBuffer(device, 'test scratch');
    const r = rng.fork('scratch');
    let bytes = 0;
    for (let i = 0; i < 500; i++) {
      // Requests rising a few bytes at a time, as a token count does step by step.
      bytes += 4 * r.int(3);
      const before = made.length;
      const buf = scratch.get(bytes);
      expect(buf.size, why(`request ${bytes}`)).toBeGreaterThanOrEqual(bytes);
      if (made.length > before) {
        expect(buf.size, why(`new buffer for ${bytes}`)).toBe(
          Math.max(16, bytes, Math.min(2 * (made[before - 1] ?? 0), limit)),
        );
      } else {
        expect(buf.size, why(`reused for ${bytes}`)).toBe(made[made.length - 1]);
      }
    }
    // Doubling from 16: a logarithmic number of buffers, not one per growth.
    expect(made.length, why(`buffers for requests up to ${bytes}`)).toBeLessThanOrEqual(
      Math.ceil(Math.log2(Math.max(bytes, 16) / 16)) + 1,
    );
    // Up to the binding limit a request is held (the doubling clamped to it); past it, refused.
    // The refusal's text, given as a function, is built only when refusing.
    let built = 0;
    const lazy = () => (built++, 'the test request');
    expect(scratch.get(limit, lazy).size, why('a request of the whole limit')).toBe(limit);
    expect(built, 'no text built for a request held').toBe(0);
    const err = (() => {
      try {
        scratch.get(limit + 4, lazy);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as Error).message).toBe(
      `the test request needs maxStorageBufferBindingSize = ${limit + 4}, but this adapter allows at most ${limit}`,
    );
    expect(built, 'the text built once, for the refusal').toBe(1);
    scratch.destroy();
  });
});
