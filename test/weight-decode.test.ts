import { describe, expect, it } from 'vitest';
import { createBufferWith } from '../src/gpu/index.ts';
import {
  E8M0_MIN_PACKED,
  decodeE2M1,
  decodeE4M3,
  decodeE8M0,
  decodeExpert,
  expertLayout,
  packExpert,
  type WeightFormat,
} from '../src/model/formats.ts';
import { unpackExpertGpu } from '../src/kernels/weight-decode.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;

const bitsOf = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];

/** Bit-exact equality (NaN matches any NaN; -0 must stay -0). */
function expectSameF32(got: Float32Array, want: Float32Array, what: string) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(want[i])) expect(got[i], `${what}[${i}]`).toBeNaN();
    else expect(bitsOf(got[i]), `${what}[${i}]: ${got[i]} vs ${want[i]} ${at}`).toBe(bitsOf(want[i]));
  }
}

describe('GPU weight decoders', () => {
  it('decode all 256 e4m3 codes exactly (fp8 block with scale 1)', async () => {
    const gpu = await testGpu();
    // gate rows 0..3 × 64 columns = 256 codes in order, block scale 1.0 everywhere.
    const l = expertLayout('fp8', 64, 4, { block: [4, 64] });
    const w = new Uint32Array(l.words);
    for (let c = 0; c < 256; c++) {
      const r = c >> 6,
        col = c & 63;
      w[l.gate.codes + r * l.gate.rowWords + (col >> 2)] |= c << (8 * (col & 3));
    }
    for (const m of [l.gate, l.up, l.down])
      for (let s = 0; s < Math.ceil(m.rows / 4) * m.blocksPerRow; s++) w[m.scales + s] = bitsOf(1);
    const got = await unpackExpertGpu(gpu, l, { buffer: createBufferWith(gpu, w, 'codes') });
    const want = Float32Array.from({ length: 256 }, (_, c) => decodeE4M3(c));
    expectSameF32(got.gate, want, 'e4m3');
  });

  it('decode all 16 e2m1 codes and all 127 positive e4m3 group scales exactly (nvfp4)', async () => {
    const gpu = await testGpu();
    const l = expertLayout('nvfp4', 16, 128); // gate [128,16]: one group per row
    const w = new Uint32Array(l.words);
    for (let r = 0; r < 128; r++) {
      // row r: codes 0..15 in order; group scale code r (0x7f = NaN scale)
      w[l.gate.codes + r * l.gate.rowWords] = 0x76543210;
      w[l.gate.codes + r * l.gate.rowWords + 1] = 0xfedcba98;
      w[l.gate.scales + r * l.gate.scaleRowWords] = r;
    }
    w[l.gate.tensorScale] = bitsOf(1);
    const got = await unpackExpertGpu(gpu, l, { buffer: createBufferWith(gpu, w, 'codes') });
    const want = Float32Array.from({ length: 128 * 16 }, (_, i) =>
      Math.fround(decodeE2M1(i & 15) * decodeE4M3(i >> 4)),
    );
    expectSameF32(got.gate, want, 'e2m1 × e4m3');
    expectSameF32(got.gate, decodeExpert(l, w, 0).gate, 'CPU decodeExpert');
  });

  it('decode all 16 e2m1 codes at every e8m0 scale packExpert writes, and the NaN scale (mxfp4)', async () => {
    const gpu = await testGpu();
    const l = expertLayout('mxfp4', 32, 256); // gate [256,32]: one group per row
    const w = new Uint32Array(l.words);
    for (let r = 0; r < 256; r++) {
      // row r: codes 0..15 twice; scale code r (255 = NaN; 0 and 1 are never packed: see decodeE8M0)
      for (let q = 0; q < 4; q++) w[l.gate.codes + r * l.gate.rowWords + q] = q % 2 ? 0xfedcba98 : 0x76543210;
      w[l.gate.scales + r * l.gate.scaleRowWords] = r;
    }
    const got = await unpackExpertGpu(gpu, l, { buffer: createBufferWith(gpu, w, 'codes') });
    const from = E8M0_MIN_PACKED * 32;
    const want = Float32Array.from({ length: 256 * 32 }, (_, i) =>
      Math.fround(decodeE2M1(i & 15) * decodeE8M0(i >> 5)),
    );
    expectSameF32(got.gate.subarray(from), want.subarray(from), 'e2m1 × e8m0');
    expectSameF32(got.gate.subarray(from), decodeExpert(l, w, 0).gate.subarray(from), 'CPU decodeExpert');
  });

  it('decode int8 codes −128..127 exactly', async () => {
    const gpu = await testGpu();
    const l = expertLayout('int8', 64, 4);
    const w = new Uint32Array(l.words);
    for (let c = 0; c < 256; c++) w[l.gate.codes + (c >> 6) * l.gate.rowWords + ((c & 63) >> 2)] |= c << (8 * (c & 3));
    for (let r = 0; r < 4; r++) w[l.gate.scales + r] = bitsOf(1);
    const got = await unpackExpertGpu(gpu, l, { buffer: createBufferWith(gpu, w, 'codes') });
    expectSameF32(
      got.gate,
      Float32Array.from({ length: 256 }, (_, c) => (c << 24) >> 24),
      'int8',
    );
  });

  const cases: [WeightFormat, number, number, [number, number]?][] = [
    ['f32', 36, 13],
    ['int8', 100, 27],
    ['fp8', 72, 40, [16, 24]],
    ['nvfp4', 64, 48],
    ['mxfp4', 64, 96],
  ];
  for (const [format, H, F, block] of cases) {
    it(`${format} H=${H} F=${F}: GPU unpack equals CPU decodeExpert bit for bit, at a binding offset`, async () => {
      const gpu = await testGpu();
      const rng = new Rng(seed).fork(format);
      const l = expertLayout(format, H, F, block ? { block } : {});
      const at0 = 64; // 256 bytes = minStorageBufferOffsetAlignment
      const w = new Uint32Array(at0 + l.words);
      packExpert(l, rng.normals(F * H, 0.03), rng.normals(F * H, 0.1), rng.normals(H * F, 0.01), w, at0);
      const got = await unpackExpertGpu(gpu, l, { buffer: createBufferWith(gpu, w, 'expert'), offset: at0 * 4 });
      const want = decodeExpert(l, w, at0);
      for (const m of ['gate', 'up', 'down'] as const) expectSameF32(got[m], want[m], `${format} ${m}`);
    });
  }
});
