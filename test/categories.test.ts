// The one table of span categories: the legend lists each exactly once, the breakdown files
// every millisecond of stream time exactly once, and the emulation and the model file DEP's
// all-to-all kernels in the same column.
import { describe, expect, it } from 'vitest';
import {
  BREAKDOWN_COLUMNS,
  CATEGORIES,
  COMPUTE_CATEGORIES,
  SPAN_CATEGORIES,
  breakdownOf,
  type ComputeCategory,
} from '../src/timeline/categories.ts';
import { SPAN_CLASSES, classify } from '../src/ui/timeline.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;

describe('span categories', () => {
  it('the legend shows every category once, in the table’s order and words', () => {
    expect(SPAN_CLASSES.map((c) => c.cls)).toEqual([...SPAN_CATEGORIES]);
    for (const c of SPAN_CLASSES) expect(c.label).toBe(CATEGORIES[c.cls].label);
    expect(new Set(SPAN_CLASSES.map((c) => c.color)).size).toBe(SPAN_CLASSES.length);
    // Every compute category is its own class on the page (none falls back to 'other').
    for (const c of COMPUTE_CATEGORIES)
      expect(classify({ rank: 0, lane: 'compute', label: c, category: c, startMs: 0, endMs: 1 })).toBe(c);
  });

  it('the breakdown files every millisecond of stream time in exactly one column', () => {
    for (let trial = 0; trial < 50; trial++) {
      const byCat: Partial<Record<ComputeCategory, number>> = {};
      for (const c of COMPUTE_CATEGORIES) if (rng.next() < 0.7) byCat[c] = rng.next() * 100;
      const m = {
        computeByCategory: byCat,
        waitMs: rng.next() * 10,
        syncMs: rng.next() * 10,
        commMs: rng.next() * 10,
        pullMs: rng.next() * 10,
      };
      const b = breakdownOf(m);
      const total = Object.values(byCat).reduce((a, x) => a + x, 0) + m.waitMs + m.syncMs + m.commMs;
      // The seven summed columns hold the stream time; p2pBusy (copy stream) is outside the sum.
      const filed = BREAKDOWN_COLUMNS.filter((c) => c.inSum).reduce((a, c) => a + b[c.key], 0);
      expect(b.p2pBusy).toBe(m.pullMs);
      expect(Math.abs(filed - total), tag('conservation')).toBeLessThanOrEqual(1e-9 * total);
      // Column by column, against the table read independently.
      for (const col of BREAKDOWN_COLUMNS) {
        let want = 0;
        for (const [c, v] of Object.entries(byCat))
          if (CATEGORIES[c as ComputeCategory].breakdown === col.key) want += v;
        if (col.key === 'p2pExposed') want += m.waitMs;
        if (col.key === 'p2pBusy') want += m.pullMs;
        if (col.key === 'synchronization') want += m.syncMs;
        if (col.key === 'communication') want += m.commMs;
        expect(b[col.key], tag(col.key)).toBeCloseTo(want, 9);
      }
    }
  });

  it('DEP’s all-to-all kernels are communication, wherever they were timed', () => {
    expect(CATEGORIES.collective.breakdown).toBe('communication');
    expect(breakdownOf({ computeByCategory: { collective: 3 }, waitMs: 0, syncMs: 0, commMs: 2 }).communication).toBe(
      5,
    );
  });
});

// Colour-vision deficiency: Machado, Oliveira & Fernandes (2009), full severity, applied in
// linear sRGB; distances are CIE76 ΔE in CIELAB (D65). Written here from the published
// matrices, independently of the palette's choice.
const CVD: Record<string, number[][]> = {
  normal: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
  tritanopia: [
    [1.255528, -0.076749, -0.178779],
    [-0.078411, 0.930809, 0.147602],
    [0.004733, 0.691367, 0.3039],
  ],
};

function labOf(hex: string, cvd: number[][]): number[] {
  const lin = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const [r, g, b] = cvd.map((row) => Math.min(1, Math.max(0, row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2])));
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  const fx = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
  const fy = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
  const fz = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

describe('the palette', () => {
  it('keeps what a reader must tell apart apart under protanopia, deuteranopia and tritanopia', () => {
    expect(
      SPAN_CATEGORIES.every((c) => /^#[0-9a-f]{6}$/.test(CATEGORIES[c].color)),
      'colours are #rrggbb',
    ).toBe(true);
    const blocked = new Set(['wait', 'sync', 'comm', 'idle']);
    const onComputeRow = (c: string) => CATEGORIES[c as keyof typeof CATEGORIES].lane !== 'copy';
    const close: string[] = [];
    for (const [vision, m] of Object.entries(CVD))
      for (let i = 0; i < SPAN_CATEGORIES.length; i++)
        for (let j = i + 1; j < SPAN_CATEGORIES.length; j++) {
          const a = SPAN_CATEGORIES[i];
          const b = SPAN_CATEGORIES[j];
          const la = labOf(CATEGORIES[a].color, m);
          const lb = labOf(CATEGORIES[b].color, m);
          const dE = Math.hypot(la[0] - lb[0], la[1] - lb[1], la[2] - lb[2]);
          const key =
            (onComputeRow(a) && onComputeRow(b) && (blocked.has(a) || blocked.has(b))) ||
            (a === 'pull' && b === 'send');
          if (dE < (key ? 15 : 10)) close.push(`${a}/${b} ΔE ${dE.toFixed(1)} (${vision})`);
        }
    expect(close).toEqual([]);
  });
});
