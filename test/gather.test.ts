import { describe, expect, it } from 'vitest';
import { createBuffer, createBufferWith, readF32 } from '../src/gpu/index.ts';
import { GatherKernel, gatherReference } from '../src/kernels/gather.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();

describe(`row gather (seed ${SEED})`, () => {
  for (const [columns, divisor, srcRows, rows] of [
    [96, 4, 37, 148],
    [7, 1, 10, 25],
    [4, 2, 1, 2],
    [64, 1, 5, 0],
  ]) {
    it(`H=${columns} div=${divisor} rows=${rows}`, async () => {
      const gpu = await testGpu();
      const rng = new Rng(SEED).fork(`${columns}/${divisor}/${rows}`);
      const src = rng.normals(srcRows * columns);
      const idx = Uint32Array.from({ length: rows }, () => rng.int(srcRows * divisor));
      const k = await GatherKernel.create(gpu, { columns, divisor });
      const out = createBuffer(gpu, Math.max(1, rows) * columns * 4, 'out');
      const enc = gpu.device.createCommandEncoder();
      k.encode(enc, { idx: createBufferWith(gpu, idx, 'idx'), src: createBufferWith(gpu, src, 'src'), out, rows });
      gpu.device.queue.submit([enc.finish()]);
      const got = await readF32(gpu, out, rows * columns);
      // A gather moves bits: exact equality.
      expect(Array.from(got)).toEqual(Array.from(gatherReference({ columns, divisor }, rows, idx, src)));
    });
  }
});
