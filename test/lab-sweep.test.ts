// Sweeps pick a valid configuration: one the kernel accepts, that passed the reference
// check, and the fastest measured among those tried; rejected candidates (invalid names,
// wrong results) are reported, never chosen; the winner is recorded per shape class.
import { describe, expect, it } from 'vitest';
import { GroupedExpertGemm, hasSubgroupsOf4, variantProblem } from '../src/kernels/expert-gemm.ts';
import { QUAD_SWEEP_CANDIDATES } from '../src/kernels/gemm-tuning.ts';
import { parseVariant, tileShape, type TileVariant } from '../src/kernels/gemm-variant.ts';
import type { Gpu } from '../src/gpu/index.ts';
import { copyLab } from '../src/lab/kernels/copy.ts';
import { expertGemmLab } from '../src/lab/kernels/expert-gemm.ts';
import { routerLab } from '../src/lab/kernels/router.ts';
import { sweepLab, type SweepReport } from '../src/lab/sweep.ts';
import { TuningCache, adapterKey, memoryStore } from '../src/tuning/tuning-cache.ts';
import { DEFAULT_SHAPE, type LabKernel, type LabProblem, type LabShape } from '../src/lab/types.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;
const SHAPE: LabShape = {
  ...DEFAULT_SHAPE,
  tokens: 19,
  hidden: 40,
  expertHidden: 24,
  experts: 6,
  topK: 3,
  mib: 1 / 16,
};

function expectFastestOk(r: SweepReport): void {
  const ok = r.rows.filter((x) => x.ok);
  expect(ok.length, at).toBeGreaterThan(0);
  expect(r.best, at).toBeDefined();
  expect(r.best!.ok).toBe(true);
  expect(r.best!.medianMs).toBe(Math.min(...ok.map((x) => x.medianMs)));
}

describe('lab sweep', () => {
  it('expert-gemm: the best is a variant the GEMM accepts, the fastest correct one; invalid ones are rejected', async () => {
    const gpu = await testGpu();
    const cache = new TuningCache(memoryStore(), { warn: (m) => expect.unreachable(m) });
    const valid = ['tile:2x2:2x2', 'tile:2x4:4x2', 'naive', ...(hasSubgroupsOf4(gpu) ? ['sx4:4x1:1x1'] : [])];
    const candidates = [...valid, 'tile:0x2:2x2', 'warp:1x1:1x1'];
    const shape: LabShape = { ...SHAPE, format: 'int8' };
    const report = await sweepLab(gpu, expertGemmLab as LabKernel<never>, shape, {
      seed,
      runs: 1,
      warmup: 0,
      candidates,
      cache,
    });
    expect(report.rows.map((r) => r.variant)).toEqual(candidates);
    expect(report.rows.filter((r) => r.ok).map((r) => r.variant)).toEqual(valid);
    for (const r of report.rows.slice(valid.length)) expect(r.error).toMatch(/variant/);
    expectFastestOk(report);
    expect(valid).toContain(report.best!.variant);
    expect(variantProblem(gpu, report.best!.variant)).toBeUndefined();
    const gemm = await GroupedExpertGemm.create(gpu, {
      hidden: shape.hidden,
      expertHidden: shape.expertHidden,
      experts: shape.experts,
      format: 'int8',
      variant: report.best!.variant,
    });
    gemm.destroy();
    // Recorded under this adapter and the shape's class; the GEMM's lookup finds it.
    expect(report.shapeClass).toEqual({ kernel: 'expert-gemm', base: 'int8 H32 F32', rows: 8 });
    const found = await cache.lookup(adapterKey(gpu.info), report.shapeClass!, (v) => variantProblem(gpu, v));
    expect(found).toMatchObject({ variant: report.best!.variant, tried: valid.length });
  });

  it("expert-gemm candidates follow the adapter's subgroups: sx4/sw4 at 4 lanes, whole-subgroup quads at 32 or 64; refusals name the reason", () => {
    // Fake adapters: only what the candidate list reads (the subgroups feature and sizes, f16, configs, a limit).
    const fake = (minSize?: number, maxSize?: number) =>
      ({
        subgroups: minSize !== undefined,
        f16: false,
        subgroupMatrixConfigs: [],
        adapter: { info: { subgroupMinSize: minSize, subgroupMaxSize: maxSize } },
        device: { limits: { maxComputeWorkgroupStorageSize: 16384 } },
      }) as unknown as Gpu;
    const list = (gpu: Gpu) => expertGemmLab.sweepCandidates!(gpu, { ...SHAPE, format: 'nvfp4' });
    const quads = (l: string[]) => l.filter((v) => v.endsWith(':quad'));
    const threads = (v: string) => tileShape(parseVariant(v) as TileVariant).threads;
    const at4 = list(fake(4, 4));
    expect(at4).toContain('sx4:8x4:2x2');
    expect(quads(at4)).toEqual([]); // the broadcast code, measured there
    for (const [min, max] of [
      [32, 32],
      [64, 64],
      [32, 64],
    ]) {
      const l = list(fake(min, max));
      expect(quads(l), `${min}–${max} lanes`).toEqual(QUAD_SWEEP_CANDIDATES.filter((v) => threads(v) % max === 0));
      expect(quads(l).length).toBeGreaterThan(2);
      expect(l.filter((v) => /^s[xw]4:/.test(v) && !v.endsWith(':quad'))).toEqual([]);
    }
    // Subgroups of 2 to 64 lanes (a size not a multiple of 4), or none: no quads.
    expect(quads(list(fake(2, 64)))).toEqual([]);
    expect(quads(list(fake()))).toEqual([]);
    // The GEMM's refusals on the same fake adapters name what is missing and what would run.
    expect(variantProblem(fake(32, 32), 'sx4:8x4:2x2')).toMatch(/exactly 4 lanes; this adapter has none \(add ':quad'/);
    expect(variantProblem(fake(32, 32), 'sx4:8x4:2x2:quad')).toMatch(
      /16 invocations .* subgroupMaxSize 32, .* sx4:8x4:2x4:quad/,
    );
    expect(variantProblem(fake(32, 32), 'sx4:8x4:2x4:quad')).toBeUndefined();
    expect(variantProblem(fake(4, 4), 'sx4:8x4:2x2:quad')).toBeUndefined();
    expect(variantProblem(fake(2, 64), 'sx4:8x4:4x4:quad')).toMatch(/subgroups are 2 to 64 lanes/);
    expect(variantProblem(fake(), 'sw4:4x8:4x4:quad')).toMatch(/needs the subgroups feature/);
  });

  it('a candidate with a wrong result is rejected even when it is the fastest', async () => {
    const gpu = await testGpu();
    // The copy kernel, configured to copy 1× or 3× (same result, 3× the work), or to skip the copy.
    const configurable: LabKernel<never> = {
      ...(copyLab as LabKernel<never>),
      async prepare(g, s, opts) {
        const inner = (await copyLab.prepare(g, s, { seed: opts.seed })) as LabProblem<never>;
        let times = 1;
        const p: LabProblem<never> = {
          ...inner,
          variant: opts.variant ?? 'once',
          passes: 3,
          async encode(enc, timer) {
            for (let i = 0; i < times; i++) await inner.encode(enc, timer);
          },
          async setVariant(v) {
            times = { once: 1, thrice: 3, skip: 0 }[v] ?? NaN;
            if (Number.isNaN(times)) throw new Error(`no variant ${v}`);
            p.variant = v;
          },
        };
        await p.setVariant!(opts.variant ?? 'once');
        return p;
      },
    };
    const report = await sweepLab(gpu, configurable, SHAPE, {
      seed,
      runs: 2,
      warmup: 0,
      candidates: ['thrice', 'skip', 'once', 'never'],
    });
    const row = (v: string) => report.rows.find((r) => r.variant === v)!;
    expect(row('skip').ok).toBe(false);
    expect(row('skip').error).toMatch(/wrong result/);
    expect(row('never').error).toMatch(/no variant never/);
    expect([row('thrice').ok, row('once').ok]).toEqual([true, true]);
    expectFastestOk(report);
    expect(report.recordedIn).toBeUndefined();
  });

  it('router: logits-form and tokens-per-workgroup candidates, out-of-range ones rejected', async () => {
    const gpu = await testGpu();
    const report = await sweepLab(gpu, routerLab as LabKernel<never>, SHAPE, {
      seed,
      runs: 1,
      warmup: 0,
      candidates: ['tb:1', 'tb:3', 'fused:tb:2', 'tb:17', 'tb:x'],
    });
    expect(report.rows.map((r) => [r.variant, r.ok])).toEqual([
      ['tb:1', true],
      ['tb:3', true],
      ['fused:tb:2', true],
      ['tb:17', false],
      ['tb:x', false],
    ]);
    expectFastestOk(report);
    expect(report.shapeClass?.kernel).toBe('router');
  });
});
