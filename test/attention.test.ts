// Attention stand-in vs its float64 reference on fresh random inputs (seed printed on failure).
import { describe, expect, it } from 'vitest';
import { createBuffer, createBufferWith, readF32, type Gpu } from '../src/gpu/index.ts';
import {
  AttentionKernel,
  attentionFlops,
  attentionReference,
  packOffsets,
  type AttentionParams,
} from '../src/kernels/attention.ts';
import { Rng } from '../src/util/random.ts';
import { relativeError } from '../src/util/numeric.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const why = (name: string) => `${name} (seed ${seed})`;

interface Case {
  lengths: number[];
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  out: GPUBuffer;
}

function makeCase(gpu: Gpu, p: AttentionParams, lengths: number[], r: Rng, std = 1): Case {
  const n = lengths.reduce((a, b) => a + b, 0) * p.heads * p.headDim;
  return {
    lengths,
    q: r.normals(n, std),
    k: r.normals(n, std),
    v: r.normals(n),
    out: createBufferWith(gpu, new Float32Array(Math.max(n, 1)).fill(NaN), 'o'),
  };
}

function encodeCase(gpu: Gpu, kernel: AttentionKernel, enc: GPUCommandEncoder, c: Case): void {
  kernel.encode(enc, {
    q: createBufferWith(gpu, c.q, 'q'),
    k: createBufferWith(gpu, c.k, 'k'),
    v: createBufferWith(gpu, c.v, 'v'),
    out: c.out,
    seqOffsets: createBufferWith(gpu, packOffsets(c.lengths), 'offsets'),
    tokens: c.lengths.reduce((a, b) => a + b, 0),
    requests: c.lengths.length,
  });
}

async function verify(gpu: Gpu, p: AttentionParams, c: Case, name: string): Promise<void> {
  const S = c.lengths.reduce((a, b) => a + b, 0);
  const got = await readF32(gpu, c.out, S * p.heads * p.headDim);
  const want = attentionReference(p, packOffsets(c.lengths), c.q, c.k, c.v);
  expect(relativeError(got, want), why(`${name} lengths=${c.lengths}`)).toBeLessThan(1e-4);
}

async function check(p: AttentionParams, lengths: number[], std = 1, blockK?: number): Promise<void> {
  const gpu = await testGpu();
  const kernel = await AttentionKernel.create(gpu, p, { blockK });
  const c = makeCase(gpu, p, lengths, rng.fork(`${p.heads}x${p.headDim}:${lengths}`), std);
  const enc = gpu.device.createCommandEncoder();
  encodeCase(gpu, kernel, enc, c);
  gpu.device.queue.submit([enc.finish()]);
  await verify(gpu, p, c, `${p.heads}x${p.headDim}`);
  kernel.destroy();
}

describe('attention stand-in', () => {
  it('a batch of requests with their own lengths (tiles straddle requests; empty requests)', async () => {
    await check({ heads: 3, headDim: 16 }, [1, 37, 100, 0, 64, 5]);
  });

  it('one request, random lengths, several head sizes', async () => {
    const r = rng.fork('lens');
    await check({ heads: 2, headDim: 64 }, [1 + r.int(100)]);
    await check({ heads: 1, headDim: 128 }, [70, 1]);
    await check({ heads: 5, headDim: 7 }, Array.from({ length: 4 }, () => r.int(60)).concat([1]));
  });

  it('odd key-tile sizes (1 and 3 keys per tile)', async () => {
    await check({ heads: 2, headDim: 8 }, [45, 20, 1], 1, 1);
    await check({ heads: 2, headDim: 8 }, [45, 20, 1], 1, 3);
  });

  it('large scores stay finite (online softmax rescaling)', async () => {
    await check({ heads: 2, headDim: 32 }, [90, 33], 4); // scores ~ ±20 after 1/√d
  });

  it('a request only sees itself: changing another request leaves its output alone', async () => {
    const gpu = await testGpu();
    const p = { heads: 2, headDim: 8 };
    const kernel = await AttentionKernel.create(gpu, p);
    const a = makeCase(gpu, p, [30, 50], rng.fork('iso'));
    const b = { ...a, k: a.k.slice(), v: a.v.slice(), out: createBuffer(gpu, a.q.length * 4, 'o2') };
    b.k.fill(3, 30 * 16); // second request's keys and values changed
    b.v.fill(-2, 30 * 16);
    const enc = gpu.device.createCommandEncoder();
    encodeCase(gpu, kernel, enc, a);
    encodeCase(gpu, kernel, enc, b);
    gpu.device.queue.submit([enc.finish()]);
    const oa = await readF32(gpu, a.out, a.q.length);
    const ob = await readF32(gpu, b.out, b.q.length);
    expect(Array.from(ob.subarray(0, 30 * 16)), why('first request unchanged')).toEqual(
      Array.from(oa.subarray(0, 30 * 16)),
    );
    await verify(gpu, p, b, 'isolation');
  });

  it('encodes several batches into one command encoder', async () => {
    const gpu = await testGpu();
    const p = { heads: 4, headDim: 12 };
    const kernel = await AttentionKernel.create(gpu, p);
    const cases = [[5], [64, 65], [1, 1, 1]].map((lengths, i) => makeCase(gpu, p, lengths, rng.fork(`multi${i}`)));
    const enc = gpu.device.createCommandEncoder();
    for (const c of cases) encodeCase(gpu, kernel, enc, c);
    gpu.device.queue.submit([enc.finish()]);
    for (const c of cases) await verify(gpu, p, c, 'multi');
  });

  it('counts FLOPs as 2·Σ len(len+1)·d and rejects bad parameters', async () => {
    expect(attentionFlops([3, 0, 1], 10)).toBe(2 * (3 * 4 + 0 + 1 * 2) * 10);
    expect(Array.from(packOffsets([2, 0, 5]))).toEqual([0, 2, 2, 7]);
    const gpu = await testGpu();
    await expect(AttentionKernel.create(gpu, { heads: 0, headDim: 8 })).rejects.toThrow(/heads/);
    await expect(AttentionKernel.create(gpu, { heads: 2, headDim: 1000 })).rejects.toThrow(/headDim/);
    await expect(AttentionKernel.create(gpu, { heads: 2, headDim: 8 }, { blockK: 0 })).rejects.toThrow(/blockK/);
  });
});
