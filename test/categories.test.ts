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
