// SizeUniforms, the per-call size uniforms every kernel module shares: it keeps at most its
// capacity of buffers (checked against a reference LRU over random requests, through a device
// whose buffers report their destroy), drops the least recently used one WITHOUT destroying it
// (work recorded but not yet submitted may still bind it: an encoder that binds a buffer, then
// asks for more sets than the capacity, then submits, runs without a validation error and
// reads every value), and destroys exactly the buffers it still keeps on destroy(). A copy pass
// of more copies than the capacity, one size set each, copies every word.
import { describe, expect, it } from 'vitest';
import { ComputeProgram, composeWgsl, createBuffer, createBufferWith, readU32, type Gpu } from '../src/gpu/index.ts';
import { CopyKernel } from '../src/kernels/copy.ts';
import { MAX_SIZE_UNIFORMS, SizeUniforms } from '../src/kernels/routing-params.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const because = (what: string) => `${what} (seed ${seed})`;

/** Runs fn with gpu.device.createBuffer wrapped: every buffer it makes is in `live` until destroyed. */
async function tracking<T>(gpu: Gpu, fn: (live: Set<GPUBuffer>) => Promise<T>): Promise<T> {
  const device = gpu.device;
  const create = device.createBuffer.bind(device);
  const live = new Set<GPUBuffer>();
  device.createBuffer = (d: GPUBufferDescriptor) => {
    const b = create(d);
    live.add(b);
    const destroy = b.destroy.bind(b);
    b.destroy = () => {
      live.delete(b);
      destroy();
    };
    return b;
  };
  try {
    return await fn(live);
  } finally {
    delete (device as { createBuffer?: unknown }).createBuffer;
  }
}

/** Writes the 4 u32 of its uniform to out[4 · slot …]. */
const ECHO = `
struct Echo { values: vec4<u32>, slot: vec4<u32> }
@group(0) @binding(0) var<uniform> s: Echo;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main() { for (var i = 0u; i < 4u; i++) { out[4u * s.slot.x + i] = s.values[i]; } }`;

describe(`SizeUniforms (seed ${seed})`, () => {
  it('keeps at most its capacity, drops the least recently used without destroying it, destroys what it keeps on destroy', async () => {
    const gpu = await testGpu();
    await tracking(gpu, async (live) => {
      const capacity = 2 + rng.int(7);
      const sizes = new SizeUniforms(gpu.device, 'size uniforms test', capacity);
      const order: string[] = []; // the reference LRU: least recently used first
      const held = new Map<string, GPUBuffer>();
      const dropped: GPUBuffer[] = [];
      for (let i = 0; i < 30 * capacity; i++) {
        const values = [rng.int(2 * capacity), rng.int(2)];
        const key = values.join(',');
        const what = because(`request ${i} (${key}), capacity ${capacity}`);
        const b = sizes.get(...values);
        if (held.has(key)) {
          expect(b, what).toBe(held.get(key));
          order.splice(order.indexOf(key), 1);
        } else {
          expect(live.has(b), what).toBe(true);
          for (const d of dropped) expect(b, `${what}: a dropped buffer is never handed out again`).not.toBe(d);
          if (order.length === capacity) {
            const oldest = order.shift()!;
            dropped.push(held.get(oldest)!);
            held.delete(oldest);
          }
          held.set(key, b);
        }
        order.push(key);
        // Nothing it made is destroyed while it runs: the kept and the dropped are all alive.
        expect(live.size, what).toBe(order.length + dropped.length);
      }
      expect(dropped.length, because('the requests overflowed the capacity')).toBeGreaterThan(0);
      sizes.destroy();
      expect(live.size, because('after destroy: only the dropped ones, left to the garbage collector')).toBe(
        dropped.length,
      );
      for (const b of held.values()) expect(live.has(b), because('a kept buffer after destroy')).toBe(false);
    });
  });

  it('a buffer dropped while unsubmitted work binds it: the whole encoder submits cleanly and reads every value', async () => {
    const gpu = await testGpu();
    const device = gpu.device;
    const program = await ComputeProgram.create(gpu, `size uniforms echo`, async () => ({
      program: composeWgsl([{ file: '<size uniforms test>', code: ECHO }]),
    }));
    const capacity = 1 + rng.int(4);
    const sets = capacity + 1 + rng.int(3 * capacity); // more than the cache keeps, all in one encoder
    const out = createBuffer(gpu, 16 * sets, 'size uniforms test out');
    const sizes = new SizeUniforms(device, 'size uniforms test', capacity);
    try {
      const want: number[][] = [];
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (let slot = 0; slot < sets; slot++) {
        const values = [...Array(4)].map(() => rng.int(2 ** 32));
        want.push(values);
        program.dispatch(pass, program.bindGroup([sizes.get(...values, slot, 0, 0, 0), out]), [1]);
      }
      pass.end();
      device.pushErrorScope('validation');
      device.queue.submit([enc.finish()]);
      expect(
        await device.popErrorScope(),
        because(`${sets} sets through a cache of ${capacity}, one submit`),
      ).toBeNull();
      const got = Array.from(await readU32(gpu, out, 4 * sets));
      expect(got, because('every dispatch read its own values')).toEqual(want.flat());
    } finally {
      sizes.destroy();
      out.destroy();
    }
  });

  it(`CopyKernel: one pass of more than ${MAX_SIZE_UNIFORMS} copies (one size set each) copies every word`, async () => {
    const gpu = await testGpu();
    const k = await CopyKernel.create(gpu);
    const n = MAX_SIZE_UNIFORMS + 1 + rng.int(64);
    const words = Uint32Array.from({ length: 4 * n }, () => rng.int(2 ** 32));
    const src = createBufferWith(gpu, words, 'copy src');
    const dst = createBuffer(gpu, 16 * n, 'copy dst');
    // Copy i moves the 16 bytes at i to n − 1 − i: every copy has its own offsets, so its own size set.
    const copies = [...Array(n).keys()].map((i) => ({
      src,
      srcOffset: 16 * i,
      dst,
      dstOffset: 16 * (n - 1 - i),
      bytes: 16,
    }));
    try {
      const enc = gpu.device.createCommandEncoder();
      k.encode(enc, copies, 'merge');
      gpu.device.pushErrorScope('validation');
      gpu.device.queue.submit([enc.finish()]);
      expect(await gpu.device.popErrorScope(), because(`${n} copies in one pass`)).toBeNull();
      const got = await readU32(gpu, dst, 4 * n);
      for (let i = 0; i < n; i++)
        expect(Array.from(got.subarray(4 * (n - 1 - i), 4 * (n - i))), because(`copy ${i} of ${n}`)).toEqual(
          Array.from(words.subarray(4 * i, 4 * i + 4)),
        );
    } finally {
      k.destroy();
      src.destroy();
      dst.destroy();
    }
  });
});
