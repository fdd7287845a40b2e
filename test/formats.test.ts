import { describe, expect, it } from 'vitest';
import {
  E8M0_MIN_PACKED,
  WEIGHT_FORMATS,
  decodeE2M1,
  decodeE4M3,
  decodeE8M0,
  decodeExpert,
  encodeE2M1,
  encodeE4M3,
  expertLayout,
  mxfp4ScaleCode,
  packExpert,
  packRandomExpert,
  parseWeightFormat,
  type WeightFormat,
} from '../src/model/formats.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

// Fresh inputs every run; TEST_SEED=<n> replays one.
const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;

/** Independent E4M3FN decoder: the code's bits placed in an f32's exponent/mantissa fields. */
function e4m3ViaF32Bits(code: number): number {
  if ((code & 0x7f) === 0x7f) return NaN;
  const bits = new Uint32Array([((code & 0x7f) << 20) | ((code & 0x80) << 24)]);
  return new Float32Array(bits.buffer)[0] * 2 ** 120;
}

describe('e4m3 / e2m1 codes', () => {
  it('decodes every e4m3 code exactly (NaN only for S.1111.111)', () => {
    for (let c = 0; c < 256; c++) {
      const want = e4m3ViaF32Bits(c);
      const got = decodeE4M3(c);
      if (Number.isNaN(want)) expect(got, `code ${c}`).toBeNaN();
      else expect(Object.is(got, want) || got === want, `code ${c}: ${got} vs ${want}`).toBe(true);
    }
    expect(decodeE4M3(0x7e)).toBe(448);
    expect(decodeE4M3(0x01)).toBe(2 ** -9);
    expect(decodeE4M3(0x08)).toBe(2 ** -6);
    expect(decodeE4M3(0x38)).toBe(1);
    expect(decodeE4M3(0xfe)).toBe(-448);
    expect([...Array(256).keys()].filter((c) => Number.isNaN(decodeE4M3(c)))).toEqual([0x7f, 0xff]);
  });

  it('decodes every e2m1 code exactly', () => {
    const mags = [0, 0.5, 1, 1.5, 2, 3, 4, 6];
    for (let c = 0; c < 16; c++) expect(decodeE2M1(c), `code ${c}`).toBe((c & 8 ? -1 : 1) * mags[c & 7]);
  });

  for (const [name, decode, encode, codes, max] of [
    ['e4m3', decodeE4M3, encodeE4M3, 256, 448],
    ['e2m1', decodeE2M1, encodeE2M1, 16, 6],
  ] as const) {
    const finite = [...Array(codes).keys()].filter((c) => !Number.isNaN(decode(c)));
    const positives = finite
      .filter((c) => decode(c) >= 0 && !Object.is(decode(c), -0))
      .sort((a, b) => decode(a) - decode(b));

    it(`${name}: encode(decode(c)) = c for every finite code`, () => {
      for (const c of finite) expect(encode(decode(c)), `code ${c}`).toBe(c);
    });

    it(`${name}: midpoints round to the even code, saturation at ±${max}, never NaN`, () => {
      for (let i = 0; i + 1 < positives.length; i++) {
        const a = positives[i],
          b = positives[i + 1];
        const mid = (decode(a) + decode(b)) / 2;
        const even = a % 2 === 0 ? a : b;
        expect(encode(mid), `midpoint of ${a},${b}`).toBe(even);
        expect(encode(-mid), `-midpoint of ${a},${b}`).toBe(even | (codes === 256 ? 0x80 : 8));
        const eps = (decode(b) - decode(a)) / 1024;
        expect(encode(mid - eps)).toBe(a);
        expect(encode(mid + eps)).toBe(b);
      }
      for (const big of [max * 1.0001, max * 1.07, max * 2, 1e30, Infinity]) {
        expect(decode(encode(big))).toBe(max);
        expect(decode(encode(-big))).toBe(-max);
      }
      expect(() => encode(NaN)).toThrow(/NaN/);
    });

    it(`${name}: random values encode to the nearest value`, () => {
      const rng = new Rng(seed).fork(name);
      for (let i = 0; i < 2000; i++) {
        const x = (rng.next() - 0.5) * 2 * max * 1.2 * rng.next() ** 4;
        const got = decode(encode(x));
        const best = Math.min(...finite.map((c) => Math.abs(decode(c) - Math.max(-max, Math.min(max, x)))));
        expect(Math.abs(got - Math.max(-max, Math.min(max, x))), `x = ${x} ${at}`).toBe(best);
      }
    });
  }
});

describe('expert layout', () => {
  it('parses formats and names the valid ones on error', () => {
    for (const f of WEIGHT_FORMATS) expect(parseWeightFormat(f.toUpperCase())).toBe(f);
    expect(() => parseWeightFormat('bf16')).toThrow(/f32, int8, fp8, nvfp4/);
  });

  it('has the real compressed size (DeepSeek-R1 expert)', () => {
    const H = 7168,
      F = 2048,
      params = 3 * H * F;
    const nv = expertLayout('nvfp4', H, F);
    // mxfp4: 4.25 bits per value (e2m1 + one byte per 32); gpt-oss-120b's expert (H = F = 2880) ≈ 13.2 MB.
    expect(expertLayout('mxfp4', H, F).bytesPerParam).toBeCloseTo(0.53125, 5);
    expect(expertLayout('mxfp4', 2880, 2880).bytes).toBe(3 * (2880 * 1440 + 2880 * 92));
    expect(nv.bytesPerParam).toBeCloseTo(0.5625, 5);
    expect(nv.bytes / 1e6).toBeCloseTo(24.77, 1);
    expect(expertLayout('f32', H, F).bytes).toBe(4 * params);
    expect(expertLayout('int8', H, F).bytes).toBe(params + 4 * (2 * F + H));
    // 128×128 blocks: gate/up 16×56 blocks, down 56×16.
    expect(expertLayout('fp8', H, F).bytes).toBe(params + 4 * 3 * 16 * 56);
    expect(nv.words % 4).toBe(0);
  });

  it('rejects shapes a format cannot hold', () => {
    expect(() => expertLayout('nvfp4', 100, 64)).toThrow(/hidden.*multiple of 16/);
    expect(() => expertLayout('fp8', 64, 64, { block: [16, 6] })).toThrow(/fp8 block/);
    expect(() => expertLayout('f32', 0, 64)).toThrow(/hidden/);
  });
});

describe('pack / decode', () => {
  const shapes: [WeightFormat, number, number, [number, number]?][] = [
    ['f32', 100, 37],
    ['int8', 72, 45],
    ['fp8', 100, 72, [16, 24]],
    ['fp8', 40, 24],
    ['nvfp4', 48, 80],
    ['mxfp4', 64, 96],
  ];
  for (const [format, H, F, block] of shapes) {
    it(`${format} H=${H} F=${F}: decoded values are within the format's rounding of the originals`, () => {
      const rng = new Rng(seed).fork(`${format}${H}${F}`);
      const l = expertLayout(format, H, F, block ? { block } : {});
      // Realistic spread: per-row magnitudes vary, a few outliers, some exact zeros.
      const gen = (n: number, cols: number) => {
        const m = rng.normals(n, 0.02);
        for (let i = 0; i < n; i++) {
          m[i] *= 1 + (Math.floor(i / cols) % 3);
          if (rng.next() < 0.01) m[i] *= 20;
          if (rng.next() < 0.02) m[i] = 0;
        }
        return m;
      };
      const gate = gen(F * H, H),
        up = gen(F * H, H),
        down = gen(H * F, F);
      const at0 = 8; // not at word 0, and surrounded by sentinels that must survive
      const out = new Uint32Array(at0 + l.words + 8).fill(0xdeadbeef);
      packExpert(l, gate, up, down, out, at0);
      expect(out.slice(0, at0).every((w) => w === 0xdeadbeef)).toBe(true);
      expect(out.slice(at0 + l.words).every((w) => w === 0xdeadbeef)).toBe(true);
      const dec = decodeExpert(l, out, at0);
      for (const [name, orig, got] of [
        ['gate', gate, dec.gate],
        ['up', up, dec.up],
        ['down', down, dec.down],
      ] as const) {
        const cols = name === 'down' ? F : H;
        let amax = 0;
        for (const v of orig) amax = Math.max(amax, Math.abs(v));
        for (let i = 0; i < orig.length; i++) {
          const v = orig[i],
            d = got[i];
          const r = Math.floor(i / cols);
          let rowMax = 0;
          for (let c = 0; c < cols; c++) rowMax = Math.max(rowMax, Math.abs(orig[r * cols + c]));
          let bound: number;
          if (format === 'f32') bound = 0;
          else if (format === 'int8') bound = (rowMax / 127) * 0.5 * 1.0001;
          else if (format === 'fp8') bound = Math.abs(v) * 2 ** -4 + (amax * 2 ** -10) / 448;
          else bound = Math.abs(v) * 0.25 + (amax / 6) * 0.5;
          expect(Math.abs(d - v) <= bound, `${name}[${i}] ${v} → ${d} (bound ${bound}) ${at}`).toBe(true);
          if (v === 0) expect(d).toBe(0);
        }
      }
    });
  }

  it('nvfp4 decoded values are e2m1 × group scale, fp8 values e4m3 × block scale', () => {
    const rng = new Rng(seed).fork('grid');
    const H = 32,
      F = 16;
    for (const format of ['nvfp4', 'fp8'] as const) {
      const l = expertLayout(format, H, F, { block: [8, 16] });
      const w = new Uint32Array(l.words);
      const g = rng.normals(F * H, 0.05);
      packExpert(l, g, g, rng.normals(H * F, 0.05), w, 0);
      const d = decodeExpert(l, w, 0).gate;
      const grid = format === 'nvfp4' ? [...Array(16).keys()].map(decodeE2M1) : [...Array(256).keys()].map(decodeE4M3);
      // Every group must be expressible as one scale times grid values.
      const group = format === 'nvfp4' ? 16 : 8 * 16;
      const members = (k: number) =>
        format === 'nvfp4'
          ? [...Array(16).keys()].map((j) => k * 16 + j)
          : [...Array(128).keys()].map((j) => (Math.floor(k / 2) * 8 + (j >> 4)) * H + (k % 2) * 16 + (j & 15));
      for (let k = 0; k < (F * H) / group; k++) {
        const vals = members(k)
          .map((i) => d[i])
          .filter((v) => v !== 0);
        if (vals.length === 0) continue;
        const amax = Math.max(...vals.map(Math.abs));
        const scale = amax / (format === 'nvfp4' ? 6 : 448);
        for (const v of vals) {
          const q = v / scale;
          expect(
            grid.some((gv) => Math.abs(gv - q) <= 1e-5 * Math.abs(q)),
            `${format} group ${k}: ${q}`,
          ).toBe(true);
        }
      }
    }
  });

  it('mxfp4: each 32-value group is e2m1 × its e8m0 scale, the smallest power of two that holds the group', () => {
    const rng = new Rng(seed).fork('mxfp4');
    const H = 64,
      F = 96;
    const l = expertLayout('mxfp4', H, F);
    // Groups of very different magnitudes (2^-20 .. 2^20), some all zero.
    const gen = (n: number) => {
      const m = rng.normals(n, 1);
      for (let g = 0; g < n / 32; g++) {
        const mag = rng.next() < 0.1 ? 0 : 2 ** (40 * rng.next() - 20);
        for (let j = 0; j < 32; j++) m[g * 32 + j] *= mag;
      }
      return m;
    };
    const gate = gen(F * H);
    const w = new Uint32Array(l.words);
    packExpert(l, gate, gen(F * H), gen(H * F), w, 0);
    const d = decodeExpert(l, w, 0).gate;
    const e2m1 = [...Array(16).keys()].map(decodeE2M1);
    for (let r = 0; r < F; r++) {
      for (let g = 0; g < H / 32; g++) {
        const code = (w[l.gate.scales + r * l.gate.scaleRowWords + (g >> 2)] >>> (8 * (g & 3))) & 0xff;
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(gate[r * H + g * 32 + j]));
        // Float64 brute force over every code packExpert may write.
        let want = 127;
        if (amax > 0) {
          want = 254;
          for (let c = 254; c >= E8M0_MIN_PACKED; c--) if (6 * 2 ** (c - 127) >= amax) want = c;
        }
        expect(code, `row ${r} group ${g}: amax ${amax} ${at}`).toBe(want);
        expect(mxfp4ScaleCode(amax)).toBe(want);
        for (let j = 0; j < 32; j++) {
          const q = d[r * H + g * 32 + j] / decodeE8M0(code);
          expect(e2m1.includes(q), `row ${r} value ${g * 32 + j}: ${q} is not an e2m1 value ${at}`).toBe(true);
        }
      }
    }
    expect(decodeE8M0(255)).toBeNaN();
    expect(decodeE8M0(127)).toBe(1);
    expect(() => expertLayout('mxfp4', 48, 64)).toThrow(/hidden.*multiple of 32.*e8m0/);
  });

  it('packRandomExpert draws gate, up [F,H] at std 1/√H and down [H,F] at 1/√F, in that order, and returns the decode', () => {
    const H = 24,
      F = 40,
      atWord = 4;
    const fill = 0xdeadbeef;
    for (const format of ['f32', 'int8'] as const) {
      const l = expertLayout(format, H, F);
      const words = new Uint32Array(atWord + l.words + 4).fill(fill);
      const got = packRandomExpert(l, new Rng(seed).fork(format), words, atWord);
      // The block, and only the block, is written; what comes back is its decode.
      expect(
        [...words.subarray(0, atWord), ...words.subarray(atWord + l.words)].every((w) => w === fill),
        at,
      ).toBe(true);
      expect(got, at).toEqual(decodeExpert(l, words, atWord));
      if (format === 'f32') {
        // f32 keeps every draw: the decode is the normals themselves, one after another.
        const twin = new Rng(seed).fork(format);
        const draws = (n: number, fanIn: number) =>
          Float32Array.from({ length: n }, () => twin.normal() * (1 / Math.sqrt(fanIn)));
        const want = { gate: draws(F * H, H), up: draws(F * H, H), down: draws(H * F, F) };
        expect(got, at).toEqual(want);
      }
    }
  });

  it('refuses NaN and blocks that do not fit', () => {
    const l = expertLayout('int8', 8, 4);
    const ok = new Float32Array(32);
    const bad = new Float32Array(32);
    bad[5] = NaN;
    expect(() => packExpert(l, bad, ok, ok, new Uint32Array(l.words), 0)).toThrow(/gate\[0, 5\]/);
    expect(() => packExpert(l, ok, ok, ok, new Uint32Array(l.words), 1)).toThrow(/does not fit/);
  });
});
