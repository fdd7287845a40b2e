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

function comparison(): Comparison {
  const result = { strategy: 'dwdp', tpsPerGpu: tps, makespanMs: 2 * tps, ranks: [{ rank: 0 }], intervals: [] };
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
});
