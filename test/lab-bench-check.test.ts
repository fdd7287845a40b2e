// bench:kernels --check: ratios against the baseline with the stated floors and the
// peer targets; failures name the shape, format and ratio that fell.
import { describe, expect, it } from 'vitest';
import { FLOORS, baselineFrom, checkAgainstBaseline, type RatioRow } from '../bench/kernels-check.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const ADAPTER = 'SwiftShader (CPU-emulated) via Dawn/Node';

function rows(): RatioRow[] {
  return ['f32', 'int8', 'fp8', 'nvfp4'].map((format) => ({
    shape: 'T=256 H=512 F=256 E=32 K=4',
    format,
    variant: 'sx4:8x4:2x2',
    vsNaive: rng.uniform(3, 10),
    vsPeerLoop: rng.uniform(5, 11),
    vsPeerDense: rng.uniform(4, 8),
    fractionOfCeiling: rng.uniform(0.15, 0.35),
  }));
}

describe('bench:kernels --check', () => {
  it('passes an unchanged run and one moved within the floors', () => {
    const r = rows();
    const base = baselineFrom(r, ADAPTER);
    expect(checkAgainstBaseline(r, base, ADAPTER).failures).toEqual([]);
    const moved = r.map((x) => ({ ...x, vsNaive: x.vsNaive! * 0.4, fractionOfCeiling: x.fractionOfCeiling * 0.6 }));
    const c = checkAgainstBaseline(moved, base, ADAPTER);
    expect(c.failures, `seed ${seed}`).toEqual([]);
    expect(c.rows.length).toBe(16);
  });

  it('fails naming the ratio that fell below its floor', () => {
    const r = rows();
    const base = baselineFrom(r, ADAPTER);
    const now = r.map((x) =>
      x.format === 'fp8' ? { ...x, fractionOfCeiling: x.fractionOfCeiling * FLOORS.fractionOfCeiling * 0.9 } : x,
    );
    const c = checkAgainstBaseline(now, base, ADAPTER);
    expect(c.failures).toHaveLength(1);
    expect(c.failures[0]).toMatch(/fp8 fractionOfCeiling fell to/);
  });

  it('holds the peer targets even when the baseline allows less', () => {
    const r = rows().map((x) => ({ ...x, vsPeerDense: 2 }));
    const now = r.map((x) => ({ ...x, vsPeerDense: 1.4 })); // above 2 / 3, below the 1.5 target
    const c = checkAgainstBaseline(now, baselineFrom(r, ADAPTER), ADAPTER);
    expect(c.failures).toHaveLength(4);
    expect(c.failures.every((f) => /vsPeerDense .*peer target/.test(f))).toBe(true);
  });

  it('refuses a baseline from another adapter; notes rises, missing rows and variant changes', () => {
    const r = rows();
    expect(checkAgainstBaseline(r, baselineFrom(r, 'NVIDIA H200 via Dawn/Node'), ADAPTER).failures[0]).toMatch(
      /not comparable/,
    );
    const now = r.slice(1).map((x) => ({ ...x, variant: 'tile:4x4:8x8', vsNaive: x.vsNaive! * 2 }));
    const c = checkAgainstBaseline(now, baselineFrom(r, ADAPTER), ADAPTER);
    expect(c.failures).toEqual([]);
    expect(c.notes.some((n) => /f32: not measured/.test(n))).toBe(true);
    expect(c.notes.some((n) => /int8 vsNaive rose/.test(n))).toBe(true);
    expect(c.notes.some((n) => /variant tile:4x4:8x8, baseline ran sx4:8x4:2x2/.test(n))).toBe(true);
  });
});
