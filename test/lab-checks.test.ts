// Every lab kernel's correctness check passes on the kernel's own result and FAILS on a
// deliberately wrong one: a perturbed value (10× the tolerance, or one unit / one ulp for
// exact checks), swapped rows, a NaN (or the never-written pattern for integers), and an
// output the kernel never wrote.
import { describe, expect, it } from 'vitest';
import { LAB_REGISTRY } from '../src/lab/registry.ts';
import { checkProblem, poison } from '../src/lab/measure.ts';
import type { RouterOut } from '../src/lab/kernels/router.ts';
import type { PermuteOut } from '../src/lab/kernels/permute.ts';
import { DEFAULT_SHAPE, type LabKernelName, type LabProblem, type LabShape } from '../src/lab/types.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;

/** Tiny, awkward shapes: nothing a power of two or a multiple of a tile. */
const SHAPE: LabShape = {
  ...DEFAULT_SHAPE,
  tokens: 13,
  hidden: 36,
  expertHidden: 20,
  experts: 5,
  topK: 2,
  heads: 2,
  headDim: 12,
  lengths: [7, 0, 19],
  mib: 1 / 64,
};

const ROUTER_K = 4;

type Mutation = [name: string, mutate: (out: never) => unknown];

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

/** Index of a row (width w) that differs from row 0, for a swap that changes something. */
function otherRow(a: ArrayLike<number>, w: number): number {
  for (let r = 1; r < a.length / w; r++) for (let j = 0; j < w; j++) if (a[r * w + j] !== a[j]) return r;
  throw new Error('all rows equal: no swap can change the result');
}

function swapRows<T extends Float32Array | Uint32Array | Int32Array>(a: T, w: number): T {
  const b = a.slice() as T;
  const r = otherRow(a, w);
  for (let j = 0; j < w; j++) [b[j], b[r * w + j]] = [b[r * w + j], b[j]];
  return b;
}

/** Float outputs checked to a tolerance: one value 10× the tolerance off, swapped rows, a NaN. */
function floatMutations(width: number, tolerance: number, swaps = true): Mutation[] {
  const m: Mutation[] = [
    [
      'perturbed',
      (out: Float32Array) => {
        const b = out.slice();
        b[b.length >> 1] += 10 * tolerance * norm(out);
        return b;
      },
    ],
    [
      'NaN',
      (out: Float32Array) => {
        const b = out.slice();
        b[b.length - 1] = NaN;
        return b;
      },
    ],
  ];
  if (swaps) m.push(['swapped rows', (out: Float32Array) => swapRows(out, width)]);
  return m;
}

/** Exact f32 outputs: one ulp is already wrong. */
const ulp = (out: Float32Array) => {
  const b = out.slice();
  const bits = new Uint32Array(b.buffer);
  bits[bits.length >> 1] ^= 1;
  return b;
};

const MUTATIONS: Record<LabKernelName, Mutation[]> = {
  'expert-gemm': floatMutations(SHAPE.hidden, 1e-4),
  combine: floatMutations(SHAPE.hidden, 1e-5),
  attention: floatMutations(SHAPE.heads * SHAPE.headDim, 1e-4),
  // Every invocation computes nearly the same value by design (seed · 1e-7): a swap of two
  // results changes nothing measurable, so the peak check is tested on values and NaN only.
  peak: floatMutations(1, 1e-3, false),
  decode: [['one ulp', ulp], ...floatMutations(SHAPE.expertHidden, 0).filter(([n]) => n !== 'perturbed')],
  copy: [
    ['one unit', (out: Uint32Array) => Object.assign(out.slice(), { [3]: (out[3] + 1) >>> 0 })],
    ['swapped words', (out: Uint32Array) => swapRows(out, 1)],
    ['never written', (out: Uint32Array) => Object.assign(out.slice(), { [out.length - 1]: 0xffffffff })],
  ],
  // The lab draws every token clear of f32 rounding and bounds each weight's error (≈1e-5 relative
  // at this shape, from the inputs), so a 1e-3 relative change is far outside it.
  router: [
    [
      'weights perturbed',
      (o: RouterOut) => ({ idx: o.idx, weight: o.weight.map((w, i) => (i % ROUTER_K === 0 ? w * (1 + 1e-3) : w)) }),
    ],
    ['swapped token rows', (o: RouterOut) => ({ idx: swapRows(o.idx, ROUTER_K), weight: o.weight })],
    ['slots swapped within tokens', (o: RouterOut) => ({ idx: o.idx.map((_, i) => o.idx[i ^ 1]), weight: o.weight })],
    ['NaN weights', (o: RouterOut) => ({ idx: o.idx, weight: o.weight.map((w, i) => (i % ROUTER_K === 1 ? NaN : w)) })],
  ],
  permute: [
    [
      'count off by one',
      (o: PermuteOut) => ({ ...o, counts: Object.assign(o.counts.slice(), { [0]: o.counts[0] + 1 }) }),
    ],
    ['swapped perm rows', (o: PermuteOut) => ({ ...o, perm: swapRows(o.perm, 1) })],
    ['inv never written', (o: PermuteOut) => ({ ...o, inv: Object.assign(o.inv.slice(), { [2]: 0xffffffff }) })],
  ],
};

/** Per kernel: the shape it runs here (decode and router exercise a compressed format / DeepSeek scoring). */
const SHAPES: Partial<Record<LabKernelName, Partial<LabShape>>> = {
  decode: { format: 'nvfp4', hidden: 48, expertHidden: 32, experts: 3 },
  router: { scoring: 'sigmoid', experts: 16, topK: ROUTER_K },
  combine: { shared: 'gated' },
};

async function prepared(
  name: LabKernelName,
  extra: Partial<LabShape> = {},
  variant?: string,
): Promise<LabProblem<never>> {
  const gpu = await testGpu();
  return LAB_REGISTRY[name].prepare(gpu, { ...SHAPE, ...SHAPES[name], ...extra }, { seed, variant });
}

describe('lab checks', () => {
  for (const name of Object.keys(MUTATIONS) as LabKernelName[]) {
    it(`${name}: passes its own result, fails wrong ones and unwritten output`, async () => {
      const gpu = await testGpu();
      const p = await prepared(name, {}, name === 'expert-gemm' ? 'tile:2x2:2x2' : undefined);
      try {
        const right = await checkProblem(gpu, p);
        expect(right.ok, `${name} right result: ${right.detail} ${at}`).toBe(true);
        const out = await p.read();
        for (const [what, mutate] of MUTATIONS[name]) {
          const wrong = p.check(mutate(out as never) as never);
          expect(wrong.ok, `${name} ${what} must fail: ${wrong.detail} ${at}`).toBe(false);
        }
        // A kernel that writes nothing leaves the poison pattern behind.
        poison(gpu, p.outputs);
        const none = p.check(await p.read());
        expect(none.ok, `${name} unwritten output must fail: ${none.detail} ${at}`).toBe(false);
      } finally {
        p.destroy();
      }
    });
  }

  it('expert-gemm stages gate-up and down check their own outputs', async () => {
    const gpu = await testGpu();
    for (const stage of ['gate-up', 'down'] as const) {
      const p = await prepared('expert-gemm', { stage, format: 'int8' }, 'tile:2x2:2x2');
      try {
        const right = await checkProblem(gpu, p);
        expect(right.ok, `${stage}: ${right.detail} ${at}`).toBe(true);
        const out = (await p.read()) as Float32Array;
        const width = stage === 'gate-up' ? SHAPE.expertHidden : SHAPE.hidden;
        expect(out.length).toBe(SHAPE.tokens * SHAPE.topK * width);
        for (const [what, mutate] of floatMutations(width, 1e-4)) {
          expect(p.check(mutate(out as never) as never).ok, `${stage} ${what} ${at}`).toBe(false);
        }
      } finally {
        p.destroy();
      }
    }
  });
});
