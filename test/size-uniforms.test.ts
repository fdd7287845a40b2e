// SizeUniforms, the per-call size uniforms every kernel module shares: it keeps at most its
// capacity of buffers alive, destroying the least recently used one it evicts (checked
// against a reference LRU over random requests, through a device whose buffers report their
// destroy); and an evicted, destroyed buffer never reaches a later dispatch through
// ComputeProgram's cached bind groups (the values asked for again get a new buffer and a new
// group, and the dispatch reads them), while the old group, were it reused, fails at submit.
import { describe, expect, it } from 'vitest';
import { ComputeProgram, composeWgsl, createBuffer, readU32, type Gpu } from '../src/gpu/index.ts';
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

/** Writes the 4 u32 of its uniform to `out`. */
const ECHO = `
@group(0) @binding(0) var<uniform> s: vec4<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main() { for (var i = 0u; i < 4u; i++) { out[i] = s[i]; } }`;

describe(`SizeUniforms (seed ${seed})`, () => {
  it('keeps at most its capacity alive, destroying the least recently used it evicts, and the rest on destroy', async () => {
    const gpu = await testGpu();
    await tracking(gpu, async (live) => {
      const capacity = 2 + rng.int(7);
      const sizes = new SizeUniforms(gpu.device, 'size uniforms test', capacity);
      const order: string[] = []; // the reference LRU: least recently used first
      const held = new Map<string, GPUBuffer>();
      const evicted: GPUBuffer[] = [];
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
          if (order.length === capacity) {
            const oldest = order.shift()!;
            evicted.push(held.get(oldest)!);
            held.delete(oldest);
          }
          held.set(key, b);
        }
        order.push(key);
        expect(live.size, what).toBe(order.length);
        for (const e of evicted) expect(live.has(e), `${what}: an evicted buffer is destroyed`).toBe(false);
      }
      expect(evicted.length, because('the requests overflowed the capacity')).toBeGreaterThan(0);
      sizes.destroy();
      expect(live.size, because('after destroy')).toBe(0);
    });
  });

  it('an evicted buffer reaches no later dispatch: its values get a new buffer and bind group, and the old group fails', async () => {
    const gpu = await testGpu();
    const device = gpu.device;
    const program = await ComputeProgram.create(gpu, `size uniforms echo`, async () => ({
      program: composeWgsl([{ file: '<size uniforms test>', code: ECHO }]),
    }));
    const out = createBuffer(gpu, 16, 'size uniforms test out');
    /** Dispatches `group` and submits; the validation error, if any, and what `out` then holds. */
    const run = async (group: GPUBindGroup) => {
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      program.dispatch(pass, group, [1]);
      pass.end();
      device.queue.submit([enc.finish()]);
      const error = await device.popErrorScope();
      return { error, out: Array.from(await readU32(gpu, out, 4)) };
    };
    try {
      await tracking(gpu, async (live) => {
        const capacity = 1 + rng.int(4);
        const sizes = new SizeUniforms(device, 'size uniforms test', capacity);
        const values = [...Array(4)].map(() => rng.int(2 ** 32));
        const first = sizes.get(...values);
        const firstGroup = program.bindGroup([first, out]);
        expect((await run(firstGroup)).out, because('the first dispatch')).toEqual(values);
        // `capacity` other sets, each bound and dispatched as a kernel would: the first is evicted.
        for (let i = 0; i < capacity; i++) {
          const other = [(values[0] ^ (i + 1)) >>> 0, ...values.slice(1)];
          expect((await run(program.bindGroup([sizes.get(...other), out]))).out).toEqual(other);
        }
        expect(live.has(first), because(`evicted after ${capacity} other sets: destroyed`)).toBe(false);

        const again = sizes.get(...values);
        expect(again, because('the same values again')).not.toBe(first);
        const group = program.bindGroup([again, out]);
        expect(group, because('the cached group on the destroyed buffer is not returned')).not.toBe(firstGroup);
        const later = await run(group);
        expect(later.error, because('the later dispatch')).toBeNull();
        expect(later.out, because('the later dispatch reads the values')).toEqual(values);
        // The hazard guarded: the old group, were it returned, would fail at submit.
        expect((await run(firstGroup)).error, because('the group on the destroyed buffer')).not.toBeNull();
        sizes.destroy();
      });
    } finally {
      out.destroy();
    }
  });

  it(`CopyKernel refuses more than ${MAX_SIZE_UNIFORMS} copies in one pass, before encoding anything`, async () => {
    const gpu = await testGpu();
    const k = await CopyKernel.create(gpu);
    const [src, dst] = ['src', 'dst'].map((n) => createBuffer(gpu, 16 * (MAX_SIZE_UNIFORMS + 2), `copy refusal ${n}`));
    const copies = [...Array(MAX_SIZE_UNIFORMS + 1).keys()].map((i) => ({
      src,
      srcOffset: 16 * i,
      dst,
      dstOffset: 16 * (i + 1),
      bytes: 16,
    }));
    const enc = gpu.device.createCommandEncoder();
    let passes = 0;
    const begin = enc.beginComputePass.bind(enc);
    enc.beginComputePass = (d?: GPUComputePassDescriptor) => (passes++, begin(d));
    try {
      expect(() => k.encode(enc, copies, 'merge')).toThrow(
        new RegExp(`copy: ${MAX_SIZE_UNIFORMS + 1} copies in one pass, above ${MAX_SIZE_UNIFORMS}`),
      );
      expect(passes).toBe(0);
      // At the bound (and empty copies not counted), it encodes.
      k.encode(enc, [...copies.slice(0, MAX_SIZE_UNIFORMS), { ...copies[0], bytes: 0 }], 'merge');
      expect(passes).toBe(1);
    } finally {
      k.destroy();
      src.destroy();
      dst.destroy();
    }
  });
});
