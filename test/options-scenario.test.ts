// The rack model's scenario parameters, declared once (src/options/scenario.ts): every key's
// range edges accepted and refused by name, unknown keys refused, the rules between keys
// (whole groups in a serving rack, a valid placement, keys the mode does not read) and the
// work limit, all before any row runs.
import { describe, expect, it } from 'vitest';
import { MAX_RANK_STEPS, SCENARIO_PARAMS, rowRankSteps } from '../src/options/scenario.ts';
import { DEFAULT_EFFICIENCY } from '../src/hardware/efficiency.ts';
import { DEFAULT_STEP_PARAMS } from '../src/sim/experiment.ts';
import { DEFAULT_SCENARIO_PARAMS, SCENARIOS, checkScenario, parseScenario, runScenario } from '../src/sim/scenarios.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';
import { errorOf } from './option-error.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (m: string) => `${m} (seed ${seed})`;
const R1_EXPERTS = 256;

/** The parameter object that sets `key` (efficiency keys nest). */
const setting = (key: string, v: unknown) =>
  key.startsWith('efficiency.') ? { efficiency: { [key.slice(11)]: v } } : { [key]: v };

describe('scenario parameters', () => {
  it('take their defaults from the model, once', () => {
    for (const [k, v] of Object.entries(DEFAULT_STEP_PARAMS))
      expect((DEFAULT_SCENARIO_PARAMS as unknown as Record<string, unknown>)[k], k).toBe(v);
    for (const [k, v] of Object.entries(DEFAULT_EFFICIENCY))
      expect(SCENARIO_PARAMS.find((p) => p.key === `efficiency.${k}`)!.default, k).toBe(v);
  });

  it('accept every numeric key at its range edges and refuse just past them, naming the key', () => {
    for (const p of SCENARIO_PARAMS) {
      if (p.kind !== 'int' && p.kind !== 'number') continue;
      const path = `scenario.base.${p.key}`;
      const lo = p.min!;
      const hi = p.max!;
      const inside = p.kind === 'int' ? lo + rng.int(Math.min(hi - lo, 1000) + 1) : lo + rng.next() * (hi - lo);
      const ok = [p.minExclusive ? lo + (hi - lo) * 1e-9 : lo, hi, p.minExclusive && inside === lo ? hi : inside];
      for (const v of ok)
        expect(() => parseScenario({ base: setting(p.key, v) }), withSeed(`${p.key} = ${v}`)).not.toThrow();
      const step = p.kind === 'int' ? 1 : Math.max(1e-9, Math.abs(hi) * 1e-6);
      const bad = [p.minExclusive ? lo : lo - step, hi + step, 'x', null];
      if (p.kind === 'int') bad.push(lo + 0.5);
      for (const v of bad) {
        const e = errorOf(() => parseScenario({ base: setting(p.key, v) }));
        expect(e.option, `${p.key} = ${v}`).toBe(path);
        expect(e.message, `${p.key} = ${v}`).toMatch(new RegExp(`^${path.replace(/[.[\]]/g, '\\$&')} `));
      }
    }
  });

  it('refuse unknown keys and values of the wrong kind', () => {
    expect(errorOf(() => parseScenario({ base: { isll: 1 } })).option).toBe('scenario.base.isll');
    expect(errorOf(() => parseScenario({ rows: [{}, { efficiency: { magic: 1 } }] })).option).toBe(
      'scenario.rows[1].efficiency.magic',
    );
    expect(errorOf(() => parseScenario({ rows: [{ interference: 1 }] })).message).toBe(
      'scenario.rows[0].interference 1: must be true or false',
    );
    expect(() =>
      parseScenario({ rows: [{ interference: false }, { efficiency: { interference: 0.3 } }] }),
    ).not.toThrow();
    expect(errorOf(() => parseScenario({ base: { contentionFix: 'on' } })).message).toBe(
      'scenario.base.contentionFix "on": must be true or false',
    );
    expect(errorOf(() => parseScenario({ base: { format: 'bf16' } })).message).toBe(
      'scenario.base.format bf16: must be one of f32, int8, fp8, nvfp4, mxfp4',
    );
  });

  it('name efficiency.gemm and linkGBps when they are 0 (not a scheduler error)', () => {
    expect(errorOf(() => parseScenario({ base: { efficiency: { gemm: 0 } } })).option).toBe(
      'scenario.base.efficiency.gemm',
    );
    expect(errorOf(() => parseScenario({ rows: [{ linkGBps: 0 }] })).option).toBe('scenario.rows[0].linkGBps');
  });

  it('refuse a serving rack that is not whole groups, suggesting the nearest that is', () => {
    for (let trial = 0; trial < 20; trial++) {
      const G = 2 + rng.int(7);
      const groups = 1 + rng.int(20);
      const off = 1 + rng.int(G - 1);
      const ranks = groups * G + off;
      const spec = parseScenario({ mode: 'serving', base: { groupSize: G, ranks, requests: 50 } });
      const e = errorOf(() => checkScenario(spec, R1_EXPERTS));
      expect(e.option, withSeed(`G=${G} ranks=${ranks}`)).toBe('scenario.base.ranks');
      const suggested = e.suggestion[0].value as number;
      expect(suggested % G).toBe(0);
      expect(Math.abs(suggested - ranks)).toBeLessThanOrEqual(G / 2);
      expect(() => checkScenario({ ...spec, base: { ...spec.base, ranks: suggested } }, R1_EXPERTS)).not.toThrow();
    }
  });

  it('refuse keys the mode does not read', () => {
    const step = parseScenario({ base: { requests: 10 } });
    expect(errorOf(() => checkScenario(step, R1_EXPERTS)).message).toContain('is read only by serving scenarios');
    const serving = parseScenario({ mode: 'serving', base: { steps: 3 } });
    expect(errorOf(() => checkScenario(serving, R1_EXPERTS)).option).toBe('scenario.base.steps');
    const swept = parseScenario({ sweep: { param: 'osl', values: [1, 2] } });
    expect(errorOf(() => checkScenario(swept, R1_EXPERTS)).option).toBe('scenario.sweep.values[0].osl');
  });

  it('refuse a DWDP placement that does not exist, with a valid one', () => {
    const e = errorOf(() => checkScenario(parseScenario({ base: { groupSize: 4, local: 65 } }), R1_EXPERTS));
    expect(e.option).toBe('scenario.base.local');
    const [l, p] = e.suggestion.map((s) => s.value as number);
    expect(l + 3 * p).toBe(R1_EXPERTS);
    expect(errorOf(() => checkScenario(parseScenario({ base: { groupSize: 257 } }), R1_EXPERTS)).option).toBe(
      'scenario.base.groupSize',
    );
  });

  it('estimate the work of every row and refuse it before any runs, with the size and the limit', () => {
    // Random sizes on both sides of the limit: refused exactly when the estimate exceeds it.
    for (let trial = 0; trial < 30; trial++) {
      const G = 1 + rng.int(256);
      const steps = 1 + rng.int(64);
      const spec = parseScenario({ base: { groupSize: G, steps } });
      const work = rowRankSteps('step', { groupSize: G, steps });
      expect(work).toBe(2 * G * steps);
      if (work > MAX_RANK_STEPS.step) {
        const e = errorOf(() => checkScenario(spec, R1_EXPERTS));
        expect(e.message, withSeed(`G=${G} steps=${steps}`)).toContain(`= ${work} rank-steps`);
        expect(e.message).toContain(`limit of ${MAX_RANK_STEPS.step}`);
      } else expect(() => checkScenario(spec, R1_EXPERTS), withSeed(`G=${G} steps=${steps}`)).not.toThrow();
    }
    // A huge serving run is refused by runScenario itself before its first row runs.
    let rowsRun = 0;
    const huge = parseScenario({ mode: 'serving', rows: [{ requests: 10 }, { requests: 1000000 }] });
    expect(errorOf(() => runScenario(huge, { onRow: () => rowsRun++ })).option).toBe('scenario.rows[1].requests');
    expect(rowsRun).toBe(0);
  });

  it('accept every built-in scenario', () => {
    for (const s of Object.values(SCENARIOS)) expect(() => checkScenario(s, R1_EXPERTS), s.name).not.toThrow();
  });
});
