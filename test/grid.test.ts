// Workgroup grids sized against a device limit (a small fake one: no GPU), checked against
// integer references (BigInt ceiling division and square roots), refusals included.
import { describe, expect, it } from 'vitest';
import { LimitExceededError, gridDimension, workgroupGrid, type Gpu, type GridLimits } from '../src/gpu/index.ts';
import { AttentionKernel } from '../src/kernels/attention.ts';
import { tiledGrid } from '../src/kernels/expert-gemm.ts';
import { parseVariant, tileShape, type TileVariant } from '../src/kernels/gemm-variant.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (msg: string) => `${msg} (seed ${seed})`;
const LIMIT = 'maxComputeWorkgroupsPerDimension';

const limitsOf = (max: number): GridLimits => ({ maxComputeWorkgroupsPerDimension: max });

/** What fn throws (undefined when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** ⌈a / b⌉ in integers. */
const ceilDiv = (a: number, b: number): number => Number((BigInt(a) + BigInt(b) - 1n) / BigInt(b));

/** Checks workgroupGrid(count) against the definition: [count, 1] up to L, else y = ⌈count/L⌉, x = ⌈count/y⌉; refused past L². */
function checkGrid(count: number, max: number): void {
  const what = withSeed(`count ${count}, limit ${max}`);
  const fits = BigInt(count) <= BigInt(max) * BigInt(max);
  if (!fits) {
    const err = thrown(() => workgroupGrid(count, limitsOf(max), 'the test dispatch'));
    expect(err, what).toBeInstanceOf(LimitExceededError);
    const e = err as LimitExceededError;
    expect([e.limit, e.allowed], what).toEqual([LIMIT, max]);
    // needed: the smallest per-dimension limit s that would fit, s² ≥ count > (s − 1)².
    const s = BigInt(e.needed);
    expect(Number.isInteger(e.needed) && s * s >= BigInt(count) && (s - 1n) * (s - 1n) < BigInt(count), what).toBe(
      true,
    );
    expect(e.needed, what).toBeGreaterThan(max);
    expect(e.message, what).toContain('the test dispatch');
    expect(e.message, what).toContain(`${LIMIT} = ${e.needed}`);
    expect(e.message, what).toContain(`at most ${max}`);
    return;
  }
  const [x, y] = workgroupGrid(count, limitsOf(max));
  const wantY = count <= max ? 1 : ceilDiv(count, max);
  const wantX = count <= max ? count : ceilDiv(count, wantY);
  expect([x, y], what).toEqual([wantX, wantY]);
  expect(x <= max && y <= max, what).toBe(true);
  // Every id is covered, with fewer than y spare ids (so the last row is needed).
  expect(x * y >= count && x * y - count < y, what).toBe(true);
}

describe('workgroupGrid', () => {
  it('folds random counts into x·y within a small fake limit, and refuses past limit²', () => {
    for (let i = 0; i < 2000; i++) {
      const max = 1 + rng.int(40);
      // Up to about twice the capacity max², both sides of it.
      checkGrid(rng.int(2 * max * max + 2), max);
    }
  });

  it('at the edges: 0, the limit, limit², limit² + 1; and huge counts on the real minimum limit', () => {
    for (const max of [1, 2, 7, 65535]) {
      for (const count of [0, 1, max - 1, max, max + 1, max * max - 1, max * max, max * max + 1]) {
        checkGrid(count, max);
      }
    }
    // 2^20 to 2^44 workgroups: both sides of 65535² ≈ 2^32.
    for (let i = 0; i < 500; i++) checkGrid(Math.floor(rng.next() * 2 ** (20 + rng.int(25))), 65535);
  });

  it('refuses a count that is not a non-negative integer', () => {
    for (const bad of [-1, 1.5, NaN, Infinity]) expect(() => workgroupGrid(bad, limitsOf(8))).toThrow(/count/);
  });
});

describe('gridDimension', () => {
  it('passes counts up to the limit and refuses the rest, naming the limit, the count and the device value', () => {
    for (let i = 0; i < 500; i++) {
      const max = 1 + rng.int(100);
      const n = rng.int(2 * max + 2);
      const what = withSeed(`n ${n}, limit ${max}`);
      if (n <= max) {
        expect(gridDimension(n, limitsOf(max), 'x'), what).toBe(n);
        continue;
      }
      const err = thrown(() => gridDimension(n, limitsOf(max), 'the test rows'));
      expect(err, what).toBeInstanceOf(LimitExceededError);
      const e = err as LimitExceededError;
      expect([e.limit, e.needed, e.allowed], what).toEqual([LIMIT, n, max]);
      expect(e.message, what).toMatch(/^the test rows needs/);
    }
  });
});

describe('a grid refusal message built only when refusing', () => {
  it('a function `why` is never called within the limit, and called once for the refusal it names', () => {
    for (let i = 0; i < 1000; i++) {
      const max = 1 + rng.int(40);
      const square = rng.int(2) === 0; // workgroupGrid (limit²) or gridDimension (limit)
      const count = rng.int(square ? 2 * max * max + 2 : 2 * max + 2);
      const what = withSeed(`${square ? 'workgroupGrid' : 'gridDimension'} of ${count}, limit ${max}`);
      let calls = 0;
      const why = () => {
        calls++;
        return `the lazy dispatch ${i}`;
      };
      const err = thrown(() => (square ? workgroupGrid : gridDimension)(count, limitsOf(max), why));
      const refused = count > (square ? max * max : max);
      expect(err instanceof LimitExceededError, what).toBe(refused);
      expect(calls, what).toBe(refused ? 1 : 0);
      if (refused) expect((err as Error).message, what).toContain(`the lazy dispatch ${i}`);
    }
  });
});

describe('tiledGrid (the grouped and dense GEMM grids)', () => {
  const variants = ['tile:4x4:8x8', 'sx4:8x4:2x2', 'sw4:4x8:2x2', 'tile:2x4:4x4'].map(
    (v) => parseVariant(v) as TileVariant,
  );

  it('covers every column tile and every row-tile slot of random shapes within a small fake limit', () => {
    for (let i = 0; i < 2000; i++) {
      const variant = variants[rng.int(variants.length)];
      const { tileRows, tileCols } = tileShape(variant);
      const max = 1 + rng.int(30);
      const outputs = 1 + rng.int(tileCols * (max + 2));
      const experts = 1 + rng.int(8);
      const rows = rng.int(tileRows * (max * max + 4));
      const what = withSeed(
        `${JSON.stringify(variant)}, outputs ${outputs}, rows ${rows}, experts ${experts}, limit ${max}`,
      );
      const columns = ceilDiv(outputs, tileCols);
      const slots = Math.floor(rows / tileRows) + experts;
      if (columns > max || slots > max * max) {
        expect(() => tiledGrid(variant, outputs, rows, experts, limitsOf(max)), what).toThrow(LimitExceededError);
        continue;
      }
      const [x, y, z] = tiledGrid(variant, outputs, rows, experts, limitsOf(max));
      expect(x, what).toBe(columns);
      expect([y, z], what).toEqual(workgroupGrid(slots, limitsOf(max)));
      expect(y * z >= slots && y <= max && z <= max, what).toBe(true);
    }
  });
});

describe('kernels refuse a grid past the device limit before building anything', () => {
  it('attention: more heads than workgroups per dimension', async () => {
    const max = 2 + rng.int(30);
    const heads = max + 1 + rng.int(10);
    // No GPU: the refusal comes before any pipeline is made.
    const gpu = { device: { limits: { maxComputeWorkgroupsPerDimension: max } } } as unknown as Gpu;
    const err = await AttentionKernel.create(gpu, { heads, headDim: 8 }).catch((e: unknown) => e);
    expect(err, withSeed(`heads ${heads}, limit ${max}`)).toBeInstanceOf(LimitExceededError);
    expect(err as LimitExceededError).toMatchObject({ limit: LIMIT, needed: heads, allowed: max });
  });
});
