import { describe, expect, it } from 'vitest';
import { LimitExceededError, createBuffer, createBufferWith, readF32, type Gpu } from '../src/gpu/index.ts';
import { decodeExpert, expertLayout, packExpert, type WeightFormat } from '../src/model/formats.ts';
import {
  GroupedExpertGemm,
  createExpertTable,
  expertGemmReference,
  hasSubgroupQuads,
  hasSubgroupsOf4,
  QUAD_REFUSAL,
  subgroupQuadProblem,
  type DecodedExpert,
} from '../src/kernels/expert-gemm.ts';
import { permuteReference } from '../src/kernels/permute.ts';
import { compileWgsl, wgslProgram } from '../src/gpu/index.ts';
import { subgroupMatrixProgramPart, tiledProgramPart } from '../src/kernels/expert-gemm-codegen.ts';
import { parseVariant, tileShape, type TileVariant } from '../src/kernels/gemm-variant.ts';
import { variantProblem } from '../src/kernels/expert-gemm.ts';
import { GEMM_F16_TOLERANCE } from '../src/lab/kernels/expert-gemm.ts';
import { relativeError, roundToF16 } from '../src/util/numeric.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;
const TOL = 1e-4;

type Routing = 'random' | 'one-expert' | 'sparse';

interface Case {
  format: WeightFormat;
  tokens: number;
  topK: number;
  experts: number;
  hidden: number;
  expertHidden: number;
  routing?: Routing;
  variant?: string;
  block?: [number, number];
  /** Shared-expert mode: no perm, no offsets (experts must be 1). */
  identity?: boolean;
  /** fp8: zero every scale block (r, c) with (r + c) % 3 == 0, so those blocks get scale 0 (the first one included). */
  zeroBlocks?: boolean;
  /** ':f16' variants: the reference multiplies f16-rounded inputs and weights, within GEMM_F16_TOLERANCE. */
  f16?: boolean;
  /** 'sgm' variants: subgroup matrices emulated in plain WGSL (exact f32: held to TOL). */
  emulate?: boolean;
}

/** A random [rows, cols] matrix, with the blocks zeroBlocks names set to 0. */
function matrix(rng: Rng, c: Case, rows: number, cols: number): Float32Array {
  const m = rng.normals(rows * cols, 1 / Math.sqrt(cols));
  if (c.zeroBlocks) {
    const [br, bc] = c.block ?? [128, 128];
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < cols; k++) if ((Math.floor(r / br) + Math.floor(k / bc)) % 3 === 0) m[r * cols + k] = 0;
  }
  return m;
}

/** Expert choices per token (distinct when possible), then a stable counting sort: perm and offsets. */
function route(rng: Rng, c: Case): { perm: Uint32Array; offsets: Uint32Array } {
  const { tokens: T, topK: K, experts: E } = c;
  const allowed =
    c.routing === 'one-expert'
      ? [rng.int(E)]
      : c.routing === 'sparse'
        ? [...Array(E).keys()].filter(() => rng.next() < 0.3).concat([E - 1])
        : [...Array(E).keys()];
  const choice = new Uint32Array(T * K);
  for (let t = 0; t < T; t++) {
    const pool = [...allowed];
    for (let k = 0; k < K; k++) {
      const idx = rng.int(pool.length);
      choice[t * K + k] = pool[idx];
      if (pool.length > 1) pool.splice(idx, 1);
    }
  }
  return permuteReference({ experts: E, topK: K }, T, new Int32Array(choice));
}

interface Problem {
  x: Float32Array;
  perm?: Uint32Array;
  offsets?: Uint32Array;
  decoded: DecodedExpert[];
  weights: GPUBufferBinding;
  table: GPUBuffer;
}

/**
 * Random experts packed into one buffer in shuffled order with gaps between blocks, the
 * binding at a non-zero offset: each expert found only through its table entry, as a DWDP
 * rank's resident and pulled experts are (src/dwdp/store-layout.ts).
 */
function buildProblem(gpu: Gpu, rng: Rng, c: Case): Problem {
  const { hidden: H, expertHidden: F, experts: E } = c;
  const layout = expertLayout(c.format, H, F, c.block ? { block: c.block } : {});
  const order = [...Array(E).keys()].sort(() => rng.next() - 0.5);
  const atWords: number[] = new Array(E);
  const decoded: DecodedExpert[] = new Array(E);
  const lead = 64 * (1 + rng.int(3)); // binding offset in words: 256 B steps (minStorageBufferOffsetAlignment)
  const gaps = order.map(() => 4 * rng.int(3)); // blocks need not be packed back to back
  const words = new Uint32Array(lead + E * layout.words + gaps.reduce((a, g) => a + g, 0) + 4);
  words.fill(0x7fc00000); // NaN everywhere a kernel has no business reading
  let atWord = 0;
  order.forEach((e, i) => {
    atWord += gaps[i];
    packExpert(layout, matrix(rng, c, F, H), matrix(rng, c, F, H), matrix(rng, c, H, F), words, lead + atWord);
    decoded[e] = decodeExpert(layout, words, lead + atWord);
    atWords[e] = atWord;
    atWord += layout.words;
  });
  const weights = {
    buffer: createBufferWith(gpu, words, 'weights'),
    offset: lead * 4,
    size: (words.length - lead) * 4,
  };
  const x = rng.normals(c.tokens * H, 1);
  const routed = c.identity ? {} : route(rng, c);
  return { x, ...routed, decoded, weights, table: createExpertTable(gpu, atWords) };
}

async function runCase(c: Case) {
  const gpu = await testGpu();
  const rng = new Rng(seed).fork(JSON.stringify(c));
  const p = buildProblem(gpu, rng, c);
  const gemm = await GroupedExpertGemm.create(gpu, {
    hidden: c.hidden,
    expertHidden: c.expertHidden,
    experts: c.experts,
    format: c.format,
    variant: c.variant,
    block: c.block,
    emulateSubgroupMatrix: c.emulate,
  });
  const rows = c.tokens * c.topK;
  const x = createBufferWith(gpu, p.x, 'x');
  const perm = p.perm && createBufferWith(gpu, p.perm, 'perm');
  const offsets = p.offsets && createBufferWith(gpu, p.offsets, 'offsets');
  const nan = (n: number) => createBufferWith(gpu, new Float32Array(n).fill(NaN), 'out'); // unwritten rows show
  const h = nan(rows * c.expertHidden);
  const y = nan(rows * c.hidden);
  const enc = gpu.device.createCommandEncoder();
  const common = { topK: c.topK, tokens: c.tokens, weights: p.weights, expertTable: p.table, offsets };
  gemm.encodeMlp(enc, { ...common, x, perm, h, y });
  gpu.device.queue.submit([enc.finish()]);
  const gotH = await readF32(gpu, h, rows * c.expertHidden);
  const gotY = await readF32(gpu, y, rows * c.hidden);
  // f16 operands: the reference multiplies the same operands rounded to f16.
  const r16 = (a: Float32Array) => (c.f16 ? a.map(roundToF16) : a);
  const ref = {
    tokens: c.tokens,
    topK: c.topK,
    hidden: c.hidden,
    expertHidden: c.expertHidden,
    experts: p.decoded.map((d) => ({ gate: r16(d.gate), up: r16(d.up), down: r16(d.down) })),
    perm: p.perm,
    offsets: p.offsets,
  };
  const errH = relativeError(gotH, expertGemmReference({ ...ref, x: r16(p.x) }, 'gate_up'));
  const errY = relativeError(gotY, expertGemmReference({ ...ref, h: r16(gotH) }, 'down'));
  const what = `${JSON.stringify(c)} variant ${gemm.variant.kind} ${at}`;
  // Hardware subgroup matrices: precision unspecified by the extension (gemmTolerance).
  const tol = c.emulate ? TOL : c.f16 || gemm.variant.kind === 'sgm' ? GEMM_F16_TOLERANCE : TOL;
  expect(errH, `gate_up ${what}`).toBeLessThan(tol);
  expect(errY, `down ${what}`).toBeLessThan(tol);
  gemm.destroy();
  return { errH, errY };
}

const formats: WeightFormat[] = ['f32', 'int8', 'fp8', 'nvfp4', 'mxfp4'];

// Awkward shapes per format: H, F not multiples of any tile (nvfp4 needs multiples of 16,
// fp8 gets partial 16×24 blocks), E = 7. Cases below reuse them, so pipelines are shared.
const awkward: Record<WeightFormat, { hidden: number; expertHidden: number; block?: [number, number] }> = {
  f32: { hidden: 72, expertHidden: 100 },
  int8: { hidden: 72, expertHidden: 100 },
  fp8: { hidden: 100, expertHidden: 72, block: [16, 24] },
  nvfp4: { hidden: 48, expertHidden: 80 },
  mxfp4: { hidden: 96, expertHidden: 160 }, // 3 and 5 scales per row: a partly filled scale word
};

describe('grouped expert GEMM vs float64 reference on decoded weights', () => {
  it('checks itself: a wrong weight or a NaN fails the comparison', () => {
    const want = [1, 2, 3, 4];
    expect(relativeError([1, 2, 3, 4.01], want)).toBeGreaterThan(TOL);
    expect(relativeError([1, 2, NaN, 4], want)).toBe(Infinity);
  });

  for (const format of formats) {
    const { hidden: H, expertHidden: F } = awkward[format];
    for (const variant of [undefined, 'tile:3x2:4x5:loop', 'wg:3x2:2x5', 'naive']) {
      it(`${format} H=${H} F=${F} E=7 T=23 K=3, variant ${variant ?? 'default'}`, async () => {
        await runCase({
          format,
          tokens: 23,
          topK: 3,
          experts: 7,
          ...awkward[format],
          variant,
        });
      });
    }
  }

  it('mxfp4 with unrolled (not looped) steps: the portable tile variant', async () => {
    await runCase({ format: 'mxfp4', tokens: 23, topK: 3, experts: 7, ...awkward.mxfp4, variant: 'tile:4x4:8x8' });
  });

  it('reduction lengths that are not multiples of 4 (scalar input path), f32, int8, fp8', async () => {
    await runCase({ format: 'f32', tokens: 9, topK: 2, experts: 3, hidden: 50, expertHidden: 30 });
    await runCase({
      format: 'int8',
      tokens: 9,
      topK: 2,
      experts: 3,
      hidden: 30,
      expertHidden: 50,
      variant: 'tile:2x2:2x2',
    });
    await runCase({
      format: 'fp8',
      tokens: 5,
      topK: 2,
      experts: 3,
      hidden: 30,
      expertHidden: 18,
      block: [8, 8],
      variant: 'tile:2x2:2x2',
    });
    // Workgroup-memory tiles: chunks of 16 values over reductions of 50, 30 and 18.
    await runCase({
      format: 'f32',
      tokens: 9,
      topK: 2,
      experts: 3,
      hidden: 50,
      expertHidden: 30,
      variant: 'wg:2x3:3x2',
    });
    await runCase({
      format: 'fp8',
      tokens: 5,
      topK: 2,
      experts: 3,
      hidden: 30,
      expertHidden: 18,
      block: [8, 8],
      variant: 'wg:2x2:2x2',
    });
  });

  it('fp8 blocks with scale 0 (first, middle and last block columns) contribute 0, every tile kind', async () => {
    const gpu = await testGpu();
    const base = {
      format: 'fp8',
      tokens: 11,
      topK: 2,
      experts: 3,
      hidden: 96,
      expertHidden: 64,
      zeroBlocks: true,
    } as const;
    for (const variant of [
      'tile:2x2:2x4',
      'tile:2x2:2x4:loop',
      'wg:2x2:2x4',
      ...(hasSubgroupsOf4(gpu) ? ['sx4:4x2:1x2', 'sw4:2x4:1x2'] : []),
    ]) {
      await runCase({ ...base, block: [16, 32], variant }); // wide steps (16 values)
      await runCase({ ...base, block: [8, 12], variant }); // one code word per step
    }
  });

  it('T = 1, K = 1', async () => {
    for (const format of formats) await runCase({ format, tokens: 1, topK: 1, experts: 7, ...awkward[format] });
  });

  it('all rows on one expert, and sparse routing with empty experts', async () => {
    await runCase({ format: 'int8', tokens: 40, topK: 1, experts: 7, ...awkward.int8, routing: 'one-expert' });
    await runCase({ format: 'nvfp4', tokens: 17, topK: 2, experts: 7, ...awkward.nvfp4, routing: 'sparse' });
    await runCase({
      format: 'fp8',
      tokens: 3,
      topK: 2,
      experts: 33,
      hidden: 64,
      expertHidden: 32,
      routing: 'sparse',
      variant: 'tile:2x2:2x2',
    });
  });

  it('workgroup-memory tiles (wg): sparse routing over many experts, tiles taller than the rows, shuffled blocks', async () => {
    await runCase({
      format: 'nvfp4',
      tokens: 13,
      topK: 2,
      experts: 33,
      hidden: 64,
      expertHidden: 48,
      routing: 'sparse',
      variant: 'wg:4x2:4x4',
    });
    await runCase({
      format: 'int8',
      tokens: 40,
      topK: 1,
      experts: 7,
      ...awkward.int8,
      routing: 'one-expert',
      variant: 'wg:8x1:2x8',
    });
    await runCase({
      format: 'fp8',
      tokens: 21,
      topK: 4,
      experts: 9,
      hidden: 96,
      expertHidden: 40,
      variant: 'wg:1x4:8x2',
    });
  });

  it('experts in shuffled order with gaps, at a binding offset: an sx4 and a tile variant', async () => {
    await runCase({
      format: 'nvfp4',
      tokens: 21,
      topK: 4,
      experts: 9,
      hidden: 64,
      expertHidden: 48,
      variant: hasSubgroupsOf4(await testGpu()) ? 'sx4:4x2:1x2:loop' : undefined,
    });
    await runCase({
      format: 'f32',
      tokens: 21,
      topK: 4,
      experts: 9,
      hidden: 36,
      expertHidden: 20,
      variant: 'tile:4x4:4x4',
    });
  });

  it('shared-expert mode: one expert, no perm, no offsets', async () => {
    await runCase({ format: 'fp8', tokens: 19, topK: 1, experts: 1, ...awkward.fp8, identity: true });
    await runCase({ format: 'f32', tokens: 1, topK: 1, experts: 1, hidden: 16, expertHidden: 16, identity: true });
  });

  it('one object encodes several token counts into one encoder', async () => {
    const gpu = await testGpu();
    const rng = new Rng(seed).fork('multi');
    const H = 32,
      F = 48;
    const c: Case = { format: 'int8', tokens: 1, topK: 1, experts: 1, hidden: H, expertHidden: F, identity: true };
    const p = buildProblem(gpu, rng, c);
    const gemm = await GroupedExpertGemm.create(gpu, {
      hidden: H,
      expertHidden: F,
      experts: 1,
      format: 'int8',
    });
    const counts = [5, 1, 13];
    const xs = counts.map((T) => rng.normals(T * H, 1));
    const hs = counts.map((T) => createBuffer(gpu, T * F * 4, 'h'));
    const ys = counts.map((T) => createBuffer(gpu, T * H * 4, 'y'));
    const enc = gpu.device.createCommandEncoder();
    counts.forEach((T, i) => {
      const common = { topK: 1, tokens: T, weights: p.weights, expertTable: p.table };
      gemm.encodeGateUp(enc, { ...common, x: createBufferWith(gpu, xs[i], 'x'), h: hs[i] });
      gemm.encodeDown(enc, { ...common, h: hs[i], y: ys[i] });
    });
    gpu.device.queue.submit([enc.finish()]);
    for (let i = 0; i < counts.length; i++) {
      const want = expertGemmReference({
        tokens: counts[i],
        topK: 1,
        hidden: H,
        expertHidden: F,
        experts: p.decoded,
        x: xs[i],
      });
      expect(relativeError(await readF32(gpu, ys[i], counts[i] * H), want), `T=${counts[i]} ${at}`).toBeLessThan(TOL);
    }
  });

  it('subgroup variants (sx4, sw4) run exactly where subgroups have 4 lanes', async () => {
    const gpu = await testGpu();
    const make = () =>
      GroupedExpertGemm.create(gpu, {
        hidden: 16,
        expertHidden: 16,
        experts: 2,
        format: 'f32',
        variant: 'sx4:4x1:1x1',
      });
    if (hasSubgroupsOf4(gpu)) {
      await runCase({
        format: 'f32',
        tokens: 7,
        topK: 2,
        experts: 3,
        hidden: 16,
        expertHidden: 20,
        variant: 'sx4:4x1:1x1',
      });
      await runCase({
        format: 'nvfp4',
        tokens: 7,
        topK: 2,
        experts: 3,
        hidden: 16,
        expertHidden: 32,
        variant: 'sx4:8x1:1x1',
      });
      await runCase({
        format: 'int8',
        tokens: 9,
        topK: 3,
        experts: 4,
        hidden: 40,
        expertHidden: 24,
        variant: 'sw4:2x3:2x1',
      });
      await runCase({
        format: 'fp8',
        tokens: 9,
        topK: 3,
        experts: 4,
        hidden: 40,
        expertHidden: 24,
        variant: 'sw4:2x3:1x2',
        block: [8, 16],
      });
      await runCase({
        format: 'nvfp4',
        tokens: 30,
        topK: 1,
        experts: 2,
        hidden: 48,
        expertHidden: 16,
        variant: 'sw4:2x2:1x1',
      });
      // Code words walked in a run-time loop.
      await runCase({
        format: 'nvfp4',
        tokens: 11,
        topK: 2,
        experts: 3,
        hidden: 80,
        expertHidden: 48,
        variant: 'sx4:8x1:1x2:loop',
      });
      await runCase({
        format: 'fp8',
        tokens: 11,
        topK: 2,
        experts: 3,
        hidden: 40,
        expertHidden: 36,
        variant: 'sw4:2x3:1x1:loop',
        block: [8, 16],
      });
      await runCase({
        format: 'int8',
        tokens: 11,
        topK: 2,
        experts: 3,
        hidden: 40,
        expertHidden: 36,
        variant: 'tile:2x2:2x2:loop',
      });
    } else await expect(make()).rejects.toThrow(/subgroups/);
  });
});

// Quads (':quad'): sx4/sw4 tiles on groups of 4 lanes inside subgroups of any multiple of 4
// lanes, values exchanged by subgroupShuffle. On a 4-lane adapter (SwiftShader) a quad is the
// whole subgroup, so the shuffle code runs here on the same lanes as the broadcast code.
const quadsHere = hasSubgroupQuads(await testGpu());
/** `gpu` with its device's maxComputeWorkgroupsPerDimension read as `max` (everything else the real device). */
function withGridLimit(gpu: Gpu, max: number): Gpu {
  const limits = new Proxy(gpu.device.limits, {
    get: (t, k) => (k === 'maxComputeWorkgroupsPerDimension' ? max : Reflect.get(t, k, t)),
  });
  const device = new Proxy(gpu.device, {
    get: (t, k) => {
      if (k === 'limits') return limits;
      const v: unknown = Reflect.get(t, k, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { ...gpu, device };
}

describe('gate_up then down (encodeMlp): both grids sized before either pass is encoded', () => {
  it("down's grid past a small fake limit refuses the pair with nothing encoded (gate_up's would fit)", async () => {
    const real = await testGpu();
    const rng = new Rng(seed).fork('mlp refusal');
    for (const variant of ['tile:4x4:8x8', 'naive']) {
      const experts = 1 + rng.int(3);
      const tokens = 1 + rng.int(4);
      const topK = 1;
      const rows = tokens * topK;
      // Down's outputs H span more column tiles (or, naive, more workgroups) than gate_up's F:
      // max is sized so that gate_up's grid fits and down's does not.
      let max: number;
      let hidden: number;
      const expertHidden = 8 * (1 + rng.int(4));
      if (variant === 'naive') {
        const gateUp = Math.ceil((rows * expertHidden) / 64); // workgroups of 64 outputs, folded into max²
        max = Math.ceil(Math.sqrt(gateUp)) + rng.int(2);
        hidden = 8 * Math.ceil(((max * max + 1) * 64) / rows / 8); // rows·H/64 > max²
      } else {
        const { tileRows, tileCols } = tileShape(parseVariant(variant) as TileVariant);
        max = Math.max(Math.ceil(expertHidden / tileCols), Math.ceil(Math.sqrt(Math.floor(rows / tileRows) + experts)));
        hidden = tileCols * (max + 1 + rng.int(3)); // more column tiles than max
      }
      const what = `${variant}, H ${hidden}, F ${expertHidden}, E ${experts}, rows ${rows}, limit ${max} ${at}`;
      const gpu = withGridLimit(real, max);
      const gemm = await GroupedExpertGemm.create(gpu, { hidden, expertHidden, experts, format: 'f32', variant });
      expect(() => gemm.grid('gate_up', rows), what).not.toThrow();
      expect(() => gemm.grid('down', rows), what).toThrow(LimitExceededError);
      let passes = 0;
      const enc = {
        beginComputePass: () => {
          passes++;
          throw new Error('a pass was begun');
        },
      } as unknown as GPUCommandEncoder;
      const buffer = createBuffer(real, 16, 'unused');
      const b = { x: buffer, h: buffer, y: buffer, topK, tokens, weights: { buffer }, expertTable: buffer };
      const err = (() => {
        try {
          gemm.encodeMlp(enc, b);
        } catch (e) {
          return e;
        }
      })();
      expect(err, what).toBeInstanceOf(LimitExceededError);
      expect((err as Error).message, what).toMatch(/down/);
      expect(passes, what).toBe(0);
      buffer.destroy();
      gemm.destroy();
    }
  });
});

describe("quads (sx4/sw4 ':quad'): subgroupShuffle within groups of 4 lanes of any multiple-of-4 subgroup", () => {
  // Several quads per workgroup (the role counter), partial tiles, awkward H and F per format.
  const quadVariants = ['sx4:4x2:2x2:quad', 'sw4:2x3:2x2:quad', 'sx4:8x1:1x2:loop:quad', 'sw4:2x3:1x2:loop:quad'];
  for (const format of formats)
    it(`${format}: ${quadVariants.join(', ')} vs the float64 reference${quadsHere ? '' : ' (refused here, naming the reason)'}`, async () => {
      const gpu = await testGpu();
      for (const variant of quadVariants) {
        const c: Case = { format, tokens: 23, topK: 3, experts: 7, ...awkward[format], variant };
        if (quadsHere) await runCase(c);
        else await expect(runCase(c)).rejects.toThrow(QUAD_REFUSAL);
      }
      expect(variantProblem(gpu, 'sx4:4x2:2x2:quad') === undefined).toBe(quadsHere);
    });

  it('generated WGSL: shuffles within the quad (no broadcasts), roles from the workgroup counter; without :quad, broadcasts only', () => {
    const problem = { layout: expertLayout('nvfp4', 48, 80), experts: 3 };
    for (const [name, quad] of [
      ['sw4:2x3:2x2:quad', true],
      ['sx4:8x2:2x2:quad', true],
      ['sw4:2x3:2x2', false],
      ['sx4:8x2:2x2', false],
    ] as const) {
      const { code } = tiledProgramPart(problem, parseVariant(name) as TileVariant, 'gate_up');
      expect(code.includes('subgroupBroadcast('), name).toBe(!quad);
      expect(code.includes('subgroupShuffle('), name).toBe(quad);
      expect(code.includes('atomicAdd(&quads_taken, 1u)'), name).toBe(quad);
      if (!quad) continue;
      expect(code.match(/subgroupShuffle\([^;]*, quad0 \+ [0-3]u\)/g)?.length ?? 0, name).toBeGreaterThan(0);
      // Subgroup-uniform control flow around the shuffles: the early return and the row-group skips are votes.
      expect(code, name).toContain('if (subgroupAll(row0 >= tile.end)) {');
      expect(code.match(/if \(live_rows/g), name).toBeNull();
      // Each row group's vote is taken once per tile, before its k loop (no vote runs in the loop), and skips it.
      const votes = [...code.matchAll(/let (any_live_\d+) = subgroupAny\(live_rows > \d+u\);/g)];
      expect(votes.length, name).toBeGreaterThan(0);
      const tileFn = code.slice(code.indexOf('_tile('), code.indexOf('fn main('));
      const firstLoop = tileFn.indexOf('for (');
      expect(tileFn.lastIndexOf('subgroupAny('), name).toBeLessThan(firstLoop);
      for (const [, vote] of votes) expect(tileFn.slice(firstLoop), name).toContain(`if (${vote}) {`);
      // The lane index reaches the tile only as its place in the quad (lane & 3) and the quad's first lane.
      const main = code.slice(code.indexOf('fn main('));
      const uses = main.match(/[^\n]*\blane\b[^\n]*/g) ?? [];
      expect(uses.slice(1), name).toEqual([
        '  let quad0 = lane & ~3u;',
        '  if (lane == quad0) {',
        '  let qlane = lane & 3u;',
      ]);
    }
  });

  it('the support predicate on fake adapter limits: 4, 32 and 64 lanes, partial subgroups, sizes not a multiple of 4', () => {
    const sizes = (minSize?: number, maxSize?: number, subgroups = true) => ({ subgroups, minSize, maxSize });
    expect(subgroupQuadProblem(sizes(4, 4), 4)).toBeUndefined(); // SwiftShader: one quad per subgroup
    expect(subgroupQuadProblem(sizes(4, 4), 16)).toBeUndefined();
    expect(subgroupQuadProblem(sizes(32, 32), 32)).toBeUndefined(); // NVIDIA
    expect(subgroupQuadProblem(sizes(32, 32), 64)).toBeUndefined();
    expect(subgroupQuadProblem(sizes(32, 64), 64)).toBeUndefined(); // AMD (wave32 or wave64)
    expect(subgroupQuadProblem(sizes(32, 64), 128)).toBeUndefined();
    expect(subgroupQuadProblem(sizes(32, 32), 16, 'sx4:8x4:2x2:quad')).toMatch(
      /^sx4:8x4:2x2:quad runs on quads of subgroup lanes: its 16 invocations .* subgroupMaxSize 32, .* multiple of 8, e\.g\. sx4:8x4:2x4:quad/,
    );
    expect(subgroupQuadProblem(sizes(32, 64), 32)).toMatch(
      /not a multiple of the adapter's subgroupMaxSize 64, .* e\.g\. sx4:8x4:4x4:quad/,
    );
    expect(subgroupQuadProblem(sizes(2, 8), 64)).toMatch(
      /subgroups are 2 to 8 lanes.*subgroupMinSize must be a multiple of 4/,
    );
    expect(subgroupQuadProblem(sizes(6, 6), 48)).toMatch(/subgroups are 6 to 6 lanes.*not a multiple of 4/);
    expect(subgroupQuadProblem(sizes(undefined, undefined), 64)).toMatch(/reports no subgroupMinSize/);
    expect(subgroupQuadProblem(sizes(32, 32, false), 64)).toMatch(
      /needs the subgroups feature, which this adapter lacks/,
    );
  });
});

// f16 operands (':f16', wg tiles): need the adapter's shader-f16 feature.
const gpuForSkips = await testGpu();
const noF16 = gpuForSkips.f16 ? '' : ' — SKIPPED: this adapter lacks the shader-f16 feature';

describe('f16 operands (wg:…:f16): f16 staged in workgroup memory, f32 products and sums', () => {
  it('the reference rounding: every f16 value rounds to itself, midpoints to even, just above a midpoint up', () => {
    const dec = (h: number) => {
      const s = h >> 15 ? -1 : 1;
      const e = (h >> 10) & 31;
      const m = h & 1023;
      return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
    };
    const wrong: string[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const v = dec(h);
      const next = dec(h + 1);
      const mid = (v + next) / 2;
      const cases: [number, number][] = [
        [v, v],
        [-v, -v],
        [mid, h % 2 === 0 ? v : next],
        [mid * (1 + 2 ** -40), next],
      ];
      for (const [x, want] of cases) if (roundToF16(x) !== want) wrong.push(`${x} → ${roundToF16(x)}, want ${want}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(roundToF16(65519)).toBe(65504);
    expect(roundToF16(65520)).toBe(Infinity);
  });

  it.skipIf(!gpuForSkips.f16)(
    `every format against the float64 reference on f16-rounded operands${noF16}`,
    async () => {
      for (const format of formats)
        await runCase({
          format,
          tokens: 23,
          topK: 3,
          experts: 7,
          ...awkward[format],
          variant: 'wg:3x2:2x5:f16',
          f16: true,
        });
      await runCase({
        format: 'f32',
        tokens: 9,
        topK: 2,
        experts: 3,
        hidden: 50,
        expertHidden: 30,
        variant: 'wg:2x3:3x2:f16',
        f16: true,
      });
    },
  );

  it(`are refused exactly where the adapter lacks shader-f16, naming the feature`, () => {
    const why = variantProblem(gpuForSkips, 'wg:4x4:8x8:f16');
    if (gpuForSkips.f16) expect(why).toBeUndefined();
    else expect(why).toMatch(/needs the shader-f16 feature, which this adapter lacks/);
  });

  it('generated WGSL enables f16, stages vec4<f16>, and with f16 mapped to f32 compiles on this adapter', async () => {
    const gpu = gpuForSkips;
    const v = parseVariant('wg:3x2:2x5:f16') as TileVariant;
    for (const format of formats) {
      const { hidden, expertHidden, block } = awkward[format];
      const layout = expertLayout(format, hidden, expertHidden, block ? { block } : {});
      for (const proj of ['gate_up', 'down'] as const) {
        const part = tiledProgramPart({ layout, experts: 7 }, v, proj);
        expect(part.code.split('\n')[0]).toBe('enable f16;');
        expect(part.code).toMatch(/var<workgroup> ws: array<vec4<f16>, \d+>;/);
        expect(part.code).toMatch(/var<workgroup> xs: array<vec4<f16>, \d+>;/);
        // Products and sums in f32: every staged operand is widened before dot().
        expect(part.code).not.toMatch(/dot\([^)]*vec4<f16>/);
        const mapped = { ...part, code: part.code.replace('enable f16;', '').replaceAll('vec4<f16>', 'vec4f') };
        const program = await wgslProgram(gpu.f16 ? part : mapped, 'weight_decode.wgsl', 'expert_gemm.wgsl');
        await expect(compileWgsl(gpu, program, `${format} ${proj} f16`)).resolves.toBeDefined();
      }
    }
  });
});

// Subgroup-matrix tiles ('sgm'): need chromium-experimental-subgroup-matrix (Dawn exposes it
// with allow_unsafe_apis where the driver has cooperative matrices; SwiftShader has none).
const sgmConfigs = gpuForSkips.subgroupMatrixConfigs.filter((c) => c.resultComponentType === 'f32');
const noSgm = sgmConfigs.length
  ? ''
  : ' — SKIPPED: this adapter lacks chromium-experimental-subgroup-matrix (subgroupMatrixConfigs is empty)';

describe('subgroup-matrix tiles (sgm): hardware matrix multiply-accumulate, f32 results', () => {
  it.skipIf(!sgmConfigs.length)(`every format, on every f32-result config of this adapter${noSgm}`, async () => {
    for (const cfg of sgmConfigs) {
      const f16 = cfg.componentType === 'f16';
      if (f16 && !gpuForSkips.f16) continue; // f16 operands need shader-f16 as well
      if (cfg.componentType !== 'f32' && !f16) continue;
      const variant = `sgm:2x1:${cfg.m}x${cfg.n}x${cfg.k}${f16 ? ':f16' : ''}`;
      for (const format of formats)
        await runCase({ format, tokens: 23, topK: 3, experts: 7, ...awkward[format], variant, f16 });
    }
  });

  it('are refused exactly where the adapter lacks the feature, naming it', () => {
    const why = variantProblem(gpuForSkips, 'sgm:2x2');
    if (sgmConfigs.some((c) => c.componentType === 'f32')) expect(why).toBeUndefined();
    else if (!sgmConfigs.length)
      expect(why).toMatch(/needs the chromium-experimental-subgroup-matrix feature, which this adapter lacks/);
    else expect(why).toMatch(/no f32→f32 subgroup-matrix config \(it has: /);
  });

  // The generator's staging, fragment offsets, layouts (left row-major, right column-major,
  // results row-major) and epilogue, run on this adapter with the subgroup-matrix operations
  // replaced by plain WGSL that holds whole matrices per invocation. Non-square M×N×K catches
  // a swapped dimension or stride; awkward shapes, scalar inputs and shuffled blocks the edges.
  for (const format of formats)
    it(`emulated: ${format}, non-square 8×4×16 matrices, shuffled blocks, against the float64 reference`, async () => {
      await runCase({
        format,
        tokens: 23,
        topK: 3,
        experts: 7,
        ...awkward[format],
        variant: 'sgm:2x1:8x4x16',
        emulate: true,
      });
    });

  it('emulated: 4×8×8 matrices, scalar inputs (H, F not multiples of 4), sparse routing', async () => {
    await runCase({
      format: 'fp8',
      tokens: 11,
      topK: 2,
      experts: 5,
      ...awkward.fp8,
      variant: 'sgm:1x2:4x8x8',
      emulate: true,
    });
    await runCase({
      format: 'f32',
      tokens: 9,
      topK: 2,
      experts: 9,
      hidden: 50,
      expertHidden: 30,
      routing: 'sparse',
      variant: 'sgm:1x2:4x8x8',
      emulate: true,
    });
  });

  it('generated WGSL: the extension, the matrix types in (columns, rows) order, the layouts and strides', () => {
    const layout = expertLayout('nvfp4', 64, 48);
    const v = { ...(parseVariant('sgm:2x3:16x8x32:f16') as TileVariant), lanes: 32 };
    const code = subgroupMatrixProgramPart({ layout, experts: 4 }, v, 'gate_up').code;
    expect(code.split('\n').slice(0, 2)).toEqual(['enable f16;', 'enable chromium_experimental_subgroup_matrix;']);
    expect(code).toContain('@compute @workgroup_size(32)');
    // left M×K = subgroup_matrix_left<T, K, M>, right K×N = <T, N, K>, result M×N = <f32, N, M>.
    expect(code).toContain('subgroupMatrixLoad<subgroup_matrix_left<f16, 32, 16>, row_major>(&xs, ');
    expect(code).toContain('subgroupMatrixLoad<subgroup_matrix_right<f16, 8, 32>, col_major>(&ws, ');
    expect(code).toContain('subgroup_matrix_result<f32, 8, 16>()');
    // 2 rows × 3 columns × 2 matrices = 12 accumulators, stored to rs with stride 3·8·2 = 48.
    expect(code.match(/subgroupMatrixMultiplyAccumulate\(/g)?.length).toBe(12);
    expect(code.match(/subgroupMatrixStore<row_major>\(&rs, \d+u, acc\d_\d_\d, 48u\);/g)?.length).toBe(12);
    // Chunk of 32 values (K): loads step K within it, stride 32; 2nd left matrix starts 16 rows down.
    expect(code).toContain('(&xs, 512u, 32u)');
    expect(code).toContain(`(&ws, ${(1 * 24 + 2 * 8) * 32}u, 32u)`); // up matrix, 3rd column block
    expect(() => subgroupMatrixProgramPart({ layout, experts: 4 }, v, 'down', true)).toThrow(/f32 operands only/);
  });
});
