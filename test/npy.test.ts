import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, type NpyArray } from '../src/report/npy.ts';
import { readNpy, writeNpy } from '../src/report/npy-node.ts';
import { writeLayerDump } from '../src/report/layer-dump.ts';
import { expertMaster, loadPreset, routerWeights, sharedMaster, tokenInputs } from '../src/model/index.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();
beforeEach((ctx) => ctx.onTestFailed(() => console.error(`npy.test: rerun with TEST_SEED=${SEED}`)));

const bytesOf = (a: NpyArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const ascii = (b: Uint8Array) => String.fromCharCode(...b);

type Kind = 'f4' | 'i4' | 'u4' | 'u1';
const KINDS: Kind[] = ['f4', 'i4', 'u4', 'u1'];

/** A random array of `kind` with `n` elements; floats include NaN, ±Inf, −0 and subnormals. */
function randomArray(rng: Rng, kind: Kind, n: number): NpyArray {
  const words = new Uint32Array(n);
  for (let i = 0; i < n; i++) words[i] = Math.floor(rng.next() * 2 ** 32);
  if (kind === 'u1') return Uint8Array.from(words, (w) => w & 0xff);
  if (kind === 'i4') return new Int32Array(words.buffer);
  if (kind === 'u4') return words;
  const f = Float32Array.from(words, () => rng.normal() * 10 ** rng.int(6));
  const specials = [NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38];
  for (let i = 0; i < Math.min(n, 3); i++) f[rng.int(n)] = specials[rng.int(specials.length)];
  return f;
}

function randomShape(rng: Rng): number[] {
  const nd = rng.int(5); // 0-d … 4-d
  const shape = Array.from({ length: nd }, () => 1 + rng.int(nd <= 1 ? 300 : 9));
  if (nd > 0 && rng.next() < 0.15) shape[rng.int(nd)] = 0; // empty
  return shape;
}

/** The header text numpy.save writes (numpy/lib/format.py: dict repr, spare room, 64-alignment). */
function expectedHeader(descr: string, shape: number[]): string {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  if (shape.length > 0) h += ' '.repeat(21 - String(shape[0]).length);
  const total = 10 + h.length + 1;
  return h + ' '.repeat(64 - (total % 64)) + '\n';
}

describe('.npy encoding per the NumPy format spec', () => {
  it('a [2,3] float32 file byte by byte', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, -0.5]);
    const b = encodeNpy(data, [2, 3]);
    expect(Array.from(b.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0
    const hlen = b[8] | (b[9] << 8);
    expect(hlen).toBe(118); // 10 + 118 = 128, a multiple of 64 (numpy.save writes the same)
    const header = ascii(b.subarray(10, 10 + hlen));
    expect(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")).toBe(true);
    expect(header.endsWith(' \n')).toBe(true);
    expect(b.length).toBe(128 + 24);
    const dv = new DataView(b.buffer, b.byteOffset + 128);
    expect([0, 1, 2, 3, 4, 5].map((i) => dv.getFloat32(4 * i, true))).toEqual([1, 2, 3, 4, 5, -0.5]);
  });

  it('random dtypes and shapes: header text, 64-byte alignment, little-endian C-order data, exact round trip', () => {
    const rng = new Rng(SEED).fork('roundtrip');
    const descr: Record<Kind, string> = { f4: '<f4', i4: '<i4', u4: '<u4', u1: '|u1' };
    const shapes = [[], [0], [1], [5, 0, 3], ...Array.from({ length: 40 }, () => randomShape(rng))];
    for (const [i, shape] of shapes.entries()) {
      const kind = KINDS[i % KINDS.length];
      const n = shape.reduce((a, d) => a * d, 1);
      const arr = randomArray(rng, kind, n);
      const b = encodeNpy(arr, shape);
      const hlen = b[8] | (b[9] << 8);
      expect((10 + hlen) % 64, `shape ${shape}`).toBe(0);
      expect(ascii(b.subarray(10, 10 + hlen))).toBe(expectedHeader(descr[kind], shape));
      expect(Array.from(b.subarray(10 + hlen))).toEqual(Array.from(bytesOf(arr))); // host is little-endian
      const back = decodeNpy(b);
      expect(back.dtype).toBe(descr[kind]);
      expect(back.shape).toEqual(shape);
      expect(back.data.constructor).toBe(arr.constructor);
      expect(Array.from(bytesOf(back.data))).toEqual(Array.from(bytesOf(arr))); // bit-exact, NaN included
    }
  });

  it('decodes from an unaligned view and reads version 2.0 headers and float64', () => {
    const arr = Float32Array.from([1.5, -2, 3.25]);
    const enc = encodeNpy(arr, [3]);
    const shifted = new Uint8Array(enc.length + 3);
    shifted.set(enc, 3);
    expect(Array.from(decodeNpy(shifted.subarray(3)).data)).toEqual([1.5, -2, 3.25]);

    // Hand-built v2.0 file: uint32 header length, f8 data.
    const text = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
    const hlen = 64 * Math.ceil((12 + text.length + 1) / 64) - 12; // data 64-aligned
    const header = text + ' '.repeat(hlen - text.length - 1) + '\n';
    const v2 = new Uint8Array(12 + hlen + 16);
    v2.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
    new DataView(v2.buffer).setUint32(8, hlen, true);
    for (let i = 0; i < header.length; i++) v2[12 + i] = header.charCodeAt(i);
    new DataView(v2.buffer).setFloat64(12 + hlen, Math.PI, true);
    new DataView(v2.buffer).setFloat64(12 + hlen + 8, -1 / 3, true);
    const d = decodeNpy(v2);
    expect(d.dtype).toBe('<f8');
    expect(Array.from(d.data)).toEqual([Math.PI, -1 / 3]);
  });

  it('rejects bad input with a clear message', () => {
    expect(() => encodeNpy(new Float32Array(6), [4, 2])).toThrow(/holds 8 elements, the array has 6/);
    expect(() => encodeNpy(new Float32Array(0), [-1])).toThrow(/bad dimension/);
    expect(() => decodeNpy(new Uint8Array(20))).toThrow(/bad magic/);
    const good = encodeNpy(new Int32Array([1, 2, 3, 4]), [4]);
    expect(() => decodeNpy(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    const patch = (from: string, to: string) => {
      const b = good.slice();
      const at = ascii(b).indexOf(from);
      for (let i = 0; i < to.length; i++) b[at + i] = to.charCodeAt(i);
      return b;
    };
    expect(() => decodeNpy(patch("'fortran_order': False", "'fortran_order': True,"))).toThrow(/fortran_order/);
    expect(() => decodeNpy(patch("'<i4'", "'>i4'"))).toThrow(/unsupported dtype '>i4'/);
  });
});

describe('Node helpers', () => {
  it('writeNpy / readNpy round trip', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dwdp-npy-'));
    try {
      const rng = new Rng(SEED).fork('files');
      const x = randomArray(rng, 'f4', 6 * 7) as Float32Array;
      const path = await writeNpy(join(dir, 'nested'), 'x', x, [6, 7]);
      expect(path.endsWith(join('nested', 'x.npy'))).toBe(true);
      const back = await readNpy(path);
      expect(back.shape).toEqual([6, 7]);
      expect(Array.from(bytesOf(back.data))).toEqual(Array.from(bytesOf(x)));
      expect(await writeNpy(dir, 'y.npy', new Uint8Array(0), [0])).toBe(join(dir, 'y.npy'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('--dump layer files (README "Dump format")', () => {
  it('writes exactly the documented files, dtypes and shapes, with the tensors unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dwdp-dump-'));
    try {
      const cases = [
        // bias (noaux_tc) and a plain shared expert
        {
          preset: 'tiny-deepseek',
          overrides: { n_routed_experts: 8, n_group: 4, topk_group: 2, num_experts_per_tok: 2 },
          extra: ['bias', 'shared_gate', 'shared_up', 'shared_down'],
        },
        // no bias, gated shared expert
        {
          preset: 'tiny-qwen2',
          overrides: { num_experts: 6 },
          extra: ['shared_gate', 'shared_up', 'shared_down', 'shared_expert_gate'],
        },
        // neither
        { preset: 'tiny-mixtral', overrides: {}, extra: [] },
      ];
      const rng = new Rng(SEED).fork('dump');
      for (const { preset, overrides, extra } of cases) {
        const cfg = loadPreset(preset, overrides);
        const { hidden: H, expertHidden: F, experts: E, topK: K, sharedHidden: Fs } = cfg;
        const T = 1 + rng.int(5);
        const experts = Array.from({ length: E }, (_, e) => expertMaster(cfg, SEED, 0, e));
        const router = routerWeights(cfg, SEED, 0);
        const shared = sharedMaster(cfg, SEED, 0);
        const topkIdx = Int32Array.from({ length: T * K }, () => rng.int(E));
        const topkWeight = randomArray(rng, 'f4', T * K) as Float32Array;
        const out = randomArray(rng, 'f4', T * H) as Float32Array;
        const x = tokenInputs(cfg, SEED, T);
        const sub = join(dir, preset);
        const files = await writeLayerDump(sub, {
          cfg,
          tokens: T,
          weights: {
            router: router.weight,
            bias: router.bias,
            gate: experts.map((w) => w.gate),
            up: experts.map((w) => w.up),
            down: experts.map((w) => w.down),
            shared,
          },
          x,
          topkIdx,
          topkWeight,
          out,
        });
        const shapes: Record<string, [string, number[]]> = {
          x: ['<f4', [T, H]],
          router: ['<f4', [E, H]],
          bias: ['<f4', [E]],
          w_gate: ['<f4', [E, F, H]],
          w_up: ['<f4', [E, F, H]],
          w_down: ['<f4', [E, H, F]],
          shared_gate: ['<f4', [Fs, H]],
          shared_up: ['<f4', [Fs, H]],
          shared_down: ['<f4', [H, Fs]],
          shared_expert_gate: ['<f4', [H]],
          topk_idx: ['<i4', [T, K]],
          topk_weight: ['<f4', [T, K]],
          out: ['<f4', [T, H]],
        };
        const expected = ['x', 'router', 'w_gate', 'w_up', 'w_down', 'topk_idx', 'topk_weight', 'out', ...extra]
          .map((n) => `${n}.npy`)
          .sort();
        expect([...files].sort(), preset).toEqual(expected);
        expect((await readdir(sub)).sort(), preset).toEqual(expected);
        for (const f of files) {
          const name = f.slice(0, -4);
          const a = await readNpy(join(sub, f));
          expect([a.dtype, a.shape], `${preset} ${name}`).toEqual(shapes[name]);
        }
        const bitEqual = (a: NpyArray, b: NpyArray) => Buffer.compare(bytesOf(a), bytesOf(b)) === 0;
        const same = async (name: string, want: NpyArray) =>
          expect(bitEqual((await readNpy(join(sub, `${name}.npy`))).data, want), `${preset} ${name}`).toBe(true);
        await same('x', x);
        await same('router', router.weight);
        await same('topk_idx', topkIdx);
        await same('topk_weight', topkWeight);
        await same('out', out);
        // Expert e's [F,H] / [H,F] block sits at index e of the stacked tensor.
        const e = rng.int(E);
        const wDown = (await readNpy(join(sub, 'w_down.npy'))).data;
        expect(bitEqual(wDown.subarray(e * H * F, (e + 1) * H * F), experts[e].down), `${preset} w_down[${e}]`).toBe(
          true,
        );
        const wGate = (await readNpy(join(sub, 'w_gate.npy'))).data;
        expect(bitEqual(wGate.subarray(e * F * H, (e + 1) * F * H), experts[e].gate), `${preset} w_gate[${e}]`).toBe(
          true,
        );
        if (router.bias) await same('bias', router.bias);
        if (shared) await same('shared_down', shared.down);
        if (shared?.expertGate) await same('shared_expert_gate', shared.expertGate);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Cross-check with NumPy itself where python3 + numpy are installed (skipped otherwise; the
// spec tests above still pin the header bytes).
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasNumpy)('NumPy agrees', () => {
  it('numpy loads our files and re-saves them byte-identically; we read numpy-written files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dwdp-npy-numpy-'));
    try {
      const rng = new Rng(SEED).fork('numpy');
      const cases = [[], [0], [3, 0], ...Array.from({ length: 12 }, () => randomShape(rng))].map((shape, i) => {
        const kind = KINDS[i % KINDS.length];
        return {
          name: `a${i}`,
          shape,
          arr: randomArray(
            rng,
            kind,
            shape.reduce((a, d) => a * d, 1),
          ),
        };
      });
      for (const c of cases) await writeFile(join(dir, `${c.name}.npy`), encodeNpy(c.arr, c.shape));
      const script = `
import numpy as np, sys, os, json
d = sys.argv[1]
out = {}
for f in sorted(os.listdir(d)):
    if not f.endswith('.npy') or f.startswith('re_'): continue
    a = np.load(os.path.join(d, f))
    np.save(os.path.join(d, 're_' + f), a)
    out[f[:-4]] = [a.dtype.str, list(a.shape), a.flags.c_contiguous]
# numpy-written arrays of known contents for the other direction
np.save(os.path.join(d, 'np_f4.npy'), (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8 - 1))
np.save(os.path.join(d, 'np_i4.npy'), np.array([[-5, 7], [2**31 - 1, -2**31]], dtype=np.int32))
np.save(os.path.join(d, 'np_scalar.npy'), np.float32(2.5))
print(json.dumps(out))
`;
      const run = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const seen = JSON.parse(run.stdout) as Record<string, [string, number[], boolean]>;
      for (const c of cases) {
        expect(seen[c.name][1], c.name).toEqual(c.shape);
        expect(seen[c.name][2]).toBe(true);
        const ours = await readFile(join(dir, `${c.name}.npy`));
        const theirs = await readFile(join(dir, `re_${c.name}.npy`));
        expect(Buffer.compare(ours, theirs), `${c.name} shape [${c.shape}]`).toBe(0);
      }
      const f4 = await readNpy(join(dir, 'np_f4.npy'));
      expect(f4.shape).toEqual([2, 3, 4]);
      expect(Array.from(f4.data)).toEqual(Array.from({ length: 24 }, (_, i) => i / 8 - 1));
      const i4 = await readNpy(join(dir, 'np_i4.npy'));
      expect([i4.dtype, i4.shape, Array.from(i4.data)]).toEqual(['<i4', [2, 2], [-5, 7, 2 ** 31 - 1, -(2 ** 31)]]);
      const s = await readNpy(join(dir, 'np_scalar.npy'));
      expect([s.shape, Array.from(s.data)]).toEqual([[], [2.5]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
