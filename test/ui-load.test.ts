// Results JSON read back (src/ui/export.ts parseComparisonJson): an export round-trips, and a
// file of another format, version or shape is refused with a message naming the file and the
// problem. Random numbers, seeded (printed on failure; TEST_SEED reruns).
import { describe, expect, it } from 'vitest';
import type { Comparison } from '../src/ui/compare.ts';
import { EXPORT_VERSION, comparisonJson, parseComparisonJson } from '../src/ui/export.ts';
import { defaultForm } from '../src/ui/fields.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const tps = 1 + (seed % 1000) / 7;

/** One rank's report with random times (the fields the page reads). */
function rank(k: number) {
  const t = (i: number) => ((seed * (k + 3) * (i + 7)) % 997) / 13;
  return {
    rank: k,
    computeMs: t(0) + t(1),
    computeByCategory: { attention: t(0), gemm: t(1) },
    pullMs: t(2),
    waitMs: t(3),
    syncMs: 0,
    commMs: t(4),
    idleMs: t(5),
    endMs: t(0) + t(1) + t(3) + t(5),
  };
}

function comparison(): Comparison {
  const result = { strategy: 'dwdp', tpsPerGpu: tps, makespanMs: 2 * tps, ranks: [rank(0), rank(1)], intervals: [] };
  return {
    source: 'modeled',
    provenance: 'modeled: test',
    form: defaultForm(),
    query: '',
    modelName: 'tiny-mixtral',
    strategies: ['dwdp'],
    sweep: null,
    points: [{ value: null, results: [result] }],
    ratios: [],
    startedAt: '2026-01-01T00:00:00.000Z',
    elapsedMs: 1,
  } as unknown as Comparison;
}

describe('results JSON read back', () => {
  it(`round-trips an export (TEST_SEED=${seed})`, () => {
    const c = comparison();
    expect(parseComparisonJson(comparisonJson(c, { browser: 'x' }))).toEqual({ ...c, browser: 'x' });
  });

  it('refuses another format, another version, or a point without its results', () => {
    expect(() => parseComparisonJson('{', 'a.json')).toThrow(/^a\.json is not JSON/);
    expect(() => parseComparisonJson(JSON.stringify({ format: 'x' }), 'b.json')).toThrow(
      'b.json is not a webgpu-dwdp results JSON (its "format" is "x")',
    );
    const c = JSON.parse(comparisonJson(comparison())) as Record<string, unknown>;
    expect(() => parseComparisonJson(JSON.stringify({ ...c, version: EXPORT_VERSION + 1 }), 'c.json')).toThrow(
      `c.json has results format version ${EXPORT_VERSION + 1}; this page reads version ${EXPORT_VERSION}`,
    );
    expect(() => parseComparisonJson(JSON.stringify({ ...c, strategies: ['dep', 'dwdp'] }), 'd.json')).toThrow(
      'd.json: point 0 has 1 results for 2 strategies',
    );
  });

  it('refuses a rank without the times the page reads, naming the point, strategy, rank and field', () => {
    const withRank = (edit: (r: Record<string, unknown>) => void) => {
      const c = JSON.parse(comparisonJson(comparison())) as {
        points: { results: { ranks: Record<string, unknown>[] }[] }[];
      };
      edit(c.points[0].results[0].ranks[1]);
      return JSON.stringify(c);
    };
    expect(() =>
      parseComparisonJson(
        withRank((r) => delete r.computeByCategory),
        'e.json',
      ),
    ).toThrow(
      'e.json: point 0, dwdp, rank 1: "computeByCategory" is undefined, not an object of compute times by category',
    );
    expect(() =>
      parseComparisonJson(
        withRank((r) => (r.waitMs = -1)),
        'f.json',
      ),
    ).toThrow('f.json: point 0, dwdp, rank 1: "waitMs" is -1, not a time ≥ 0');
    expect(() =>
      parseComparisonJson(
        withRank((r) => (r.computeByCategory = { gemm: 1, pull: 2 })),
        'g.json',
      ),
    ).toThrow(/^g\.json: point 0, dwdp, rank 1: "computeByCategory" has "pull", not a compute category \(attention, /);
    expect(() =>
      parseComparisonJson(
        withRank((r) => (r.computeByCategory = { gemm: 'x' })),
        'h.json',
      ),
    ).toThrow('h.json: point 0, dwdp, rank 1: "computeByCategory.gemm" is "x", not a time ≥ 0');
  });
});
