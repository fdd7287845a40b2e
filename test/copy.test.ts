import { describe, expect, it } from 'vitest';
import { createBufferWith, readU32 } from '../src/gpu/index.ts';
import { CopyKernel } from '../src/kernels/copy.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();

describe(`word copy kernel (seed ${SEED})`, () => {
  it('copies several ranges exactly and leaves the rest untouched', async () => {
    const gpu = await testGpu();
    const rng = new Rng(SEED);
    const words = 4 * (600 + rng.int(300));
    const src = Uint32Array.from({ length: words }, () => rng.int(2 ** 32));
    const dst0 = Uint32Array.from({ length: words }, () => rng.int(2 ** 32));
    const copies = [
      [0, 4 * rng.int(20), 4 * (1 + rng.int(40))],
      [4 * (100 + rng.int(50)), 4 * (150 + rng.int(50)), 4 * (260 + rng.int(3))], // 260–262 vec4s: crosses a 256-thread workgroup
      [4, 8, 0],
    ].map(([s, d, n]) => ({ s, d, n }));
    const srcBuf = createBufferWith(gpu, src, 'src');
    const dstBuf = createBufferWith(gpu, dst0, 'dst');
    const k = await CopyKernel.create(gpu);
    const enc = gpu.device.createCommandEncoder();
    // Counts what the pass records: the pipeline set once for all its dispatches.
    const calls = { setPipeline: 0, dispatchWorkgroups: 0 };
    const begin = enc.beginComputePass.bind(enc);
    enc.beginComputePass = (d?: GPUComputePassDescriptor) => {
      const pass = begin(d);
      for (const m of ['setPipeline', 'dispatchWorkgroups'] as const) {
        const real = pass[m].bind(pass) as (...a: unknown[]) => void;
        (pass as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
          calls[m]++;
          real(...a);
        };
      }
      return pass;
    };
    k.encode(
      enc,
      copies.map((c) => ({ src: srcBuf, srcOffset: 4 * c.s, dst: dstBuf, dstOffset: 4 * c.d, bytes: 4 * c.n })),
      'merge',
    );
    gpu.device.queue.submit([enc.finish()]);
    expect(calls, 'one dispatch per non-empty copy, one pipeline for the pass').toEqual({
      setPipeline: 1,
      dispatchWorkgroups: copies.filter((c) => c.n > 0).length,
    });
    expect(copies[1].n / 4, 'the second copy spans more than one workgroup').toBeGreaterThan(256);
    const want = dst0.slice();
    for (const c of copies) want.set(src.subarray(c.s, c.s + c.n), c.d);
    expect(Array.from(await readU32(gpu, dstBuf, words))).toEqual(Array.from(want));
  });

  it('refuses a misaligned or overrunning copy before the pass is begun, naming the copy', async () => {
    const gpu = await testGpu();
    const rng = new Rng(SEED);
    const words = 4 * (8 + rng.int(8));
    const srcBuf = createBufferWith(gpu, new Uint32Array(words), 'src');
    const dstBuf = createBufferWith(gpu, new Uint32Array(words), 'dst');
    const k = await CopyKernel.create(gpu);
    const ok = { src: srcBuf, srcOffset: 0, dst: dstBuf, dstOffset: 0, bytes: 16 };
    const odd = 16 * rng.int(words / 4) + 4 * (1 + rng.int(3)); // not a multiple of 16
    const n = 16 * (2 + rng.int(4)); // from the last 16 bytes of dst on, n bytes overrun it
    for (const [bad, message] of [
      [
        { ...ok, dstOffset: odd },
        `copy 1: offsets and sizes must be multiples of 16 bytes (got srcOffset 0, dstOffset ${odd}, bytes 16)`,
      ],
      [
        { ...ok, dstOffset: 4 * words - 16, bytes: n },
        `copy 1: ${n} bytes overrun a buffer (src ${4 * words} bytes from 0, dst ${4 * words} bytes from ${4 * words - 16})`,
      ],
    ] as const) {
      const enc = gpu.device.createCommandEncoder();
      let passes = 0;
      const begin = enc.beginComputePass.bind(enc);
      enc.beginComputePass = (d?: GPUComputePassDescriptor) => (passes++, begin(d));
      expect(() => k.encode(enc, [ok, bad], 'merge'), `seed ${SEED}`).toThrow(message);
      expect(passes, `seed ${SEED}: no pass begun`).toBe(0);
      enc.finish();
    }
    srcBuf.destroy();
    dstBuf.destroy();
    k.destroy();
  });
});
