// Bench scenarios and the baseline check: every shipped scenario is a valid page form; bad
// scenario files are refused naming the problem; --check flags exactly the ratios that moved
// beyond their tolerance (or went missing) on fresh random ratios.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRatios, parseScenario, updatedBaseline, validateScenario, type Baseline } from '../src/ui/scenario.ts';
import { comparisonRatios, type Ratio } from '../src/ui/compare.ts';
import type { GroupRunResult } from '../src/strategies/types.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (msg: string) => `${msg} (seed ${seed})`;
const dir = new URL('../bench/scenarios/', import.meta.url);

describe('bench scenarios', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('ship the documented ones', () => {
    for (const name of ['default', 'imbalance', 'link-bandwidth', 'split-weights', 'contention', 'rank-modes'])
      expect(files).toContain(`${name}.json`);
  });

  for (const f of files) {
    it(`${f} is a valid page configuration named after its file`, () => {
      const s = validateScenario(JSON.parse(readFileSync(new URL(f, dir), 'utf8')), f);
      expect(s.name).toBe(f.replace(/\.json$/, ''));
      const p = parseScenario(s);
      expect(p.errors, f).toEqual({});
      expect(p.config).not.toBeNull();
    });
  }

  it('have in bench/baseline.json exactly the ratios a run of them produces (none missing, none stale)', () => {
    const baseline = JSON.parse(readFileSync(new URL('../bench/baseline.json', import.meta.url), 'utf8')) as Baseline;
    for (const [name, entry] of Object.entries(baseline.scenarios)) {
      expect(files, `baseline scenario '${name}' has a scenario file`).toContain(`${name}.json`);
      const c = parseScenario(
        validateScenario(JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')), name),
      ).config!;
      // Ratio names depend only on the strategies and the sweep, not on the numbers.
      const run = { tpsPerGpu: 1, tpsPerUser: 1 } as GroupRunResult;
      const points = (c.sweep ? c.sweep.values : [null]).map((value) => ({
        value,
        results: c.strategies.map(() => run),
      }));
      const axis = c.sweep ? { field: c.sweep.field, label: c.sweep.field, log: false, values: c.sweep.values } : null;
      const names = comparisonRatios(c.strategies, points, axis).map((r) => r.name);
      expect(Object.keys(entry.ratios).sort(), name).toEqual(names.sort());
    }
  });

  it('refuses malformed scenario files, naming the problem', () => {
    expect(() => validateScenario([], 'x.json')).toThrow(
      'x.json: a scenario is a JSON object with name, description and fields',
    );
    expect(() => validateScenario({ name: 'a', description: '', fields: { tokenz: 3 } }, 'x.json')).toThrow(
      "x.json: unknown field 'tokenz'",
    );
    expect(() => validateScenario({ name: 'a', description: '', fields: { tokens: [3] } }, 'x.json')).toThrow(
      "x.json: field 'tokens' must be a string, number or boolean",
    );
    expect(() => validateScenario({ name: 'a', description: '', fields: {}, sweep: 1 }, 'x.json')).toThrow(
      "x.json: unknown key 'sweep'",
    );
    // Parsing reports a bad value with the panel's message.
    expect(parseScenario({ name: 'a', description: '', fields: { tokens: 0 } }).errors.tokens).toBe(
      "Tokens per rank must be an integer from 1 to 1048576 (got '0'); try Tokens per rank = 1",
    );
  });
});

describe('baseline check', () => {
  it('flags exactly the ratios beyond tolerance, and missing ones', () => {
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + rng.int(8);
      const tol = 0.05 + rng.next() * 0.3;
      const baseline: Baseline = { defaultTolerance: tol, scenarios: { s: { ratios: {} } } };
      const ratios: Ratio[] = [];
      const want: Record<string, string> = {};
      for (let i = 0; i < n; i++) {
        const name = `r${i}`;
        const value = 0.2 + rng.next() * 2;
        const own = rng.next() < 0.3 ? 0.02 + rng.next() * 0.2 : undefined;
        baseline.scenarios.s.ratios[name] = { value, ...(own !== undefined ? { tolerance: own } : {}) };
        const t = own ?? tol;
        const kind = rng.int(3);
        if (kind === 2) {
          want[name] = 'missing';
          continue;
        }
        // Inside: up to 90% of the tolerance; outside: 110% or more.
        const change = (kind === 0 ? rng.next() * 0.9 : 1.1 + rng.next()) * t * (rng.next() < 0.5 ? -1 : 1);
        ratios.push({ name, value: value * (1 + change), numerator: 1, denominator: 1 });
        want[name] = kind === 0 ? 'ok' : 'moved';
      }
      ratios.push({ name: 'new one', value: 1, numerator: 1, denominator: 1 });
      const res = checkRatios('s', ratios, baseline);
      expect(Object.fromEntries(res.rows.map((r) => [r.ratio, r.status])), withSeed(`trial ${trial}`)).toEqual(want);
      expect(res.ok).toBe(Object.values(want).every((s) => s === 'ok'));
      expect(res.unchecked).toEqual(['new one']);
    }
  });

  it('uses a scenario-wide tolerance when given, and says when a scenario has no baseline', () => {
    const b: Baseline = { defaultTolerance: 0.5, scenarios: { m: { tolerance: 0.001, ratios: { x: { value: 1 } } } } };
    expect(checkRatios('m', [{ name: 'x', value: 1.01, numerator: 1, denominator: 1 }], b).rows[0]).toMatchObject({
      status: 'moved',
      tolerance: 0.001,
    });
    expect(() => checkRatios('other', [], b)).toThrow(
      "bench/baseline.json has no ratios for scenario 'other' (it has: m); record them with --update-baseline",
    );
  });

  it('updates one scenario, keeping stated tolerances', () => {
    const b: Baseline = {
      defaultTolerance: 0.2,
      scenarios: {
        a: { tolerance: 0.01, ratios: { x: { value: 1, tolerance: 0.05 }, gone: { value: 2 } } },
        b: { ratios: { y: { value: 3 } } },
      },
    };
    const next = updatedBaseline(
      b,
      'a',
      [
        { name: 'x', value: 1.23456789, numerator: 1, denominator: 1 },
        { name: 'z', value: 0.5, numerator: 1, denominator: 1 },
      ],
      { date: 'today' },
    );
    expect(next.scenarios.a).toEqual({
      tolerance: 0.01,
      ratios: { x: { value: 1.23457, tolerance: 0.05 }, z: { value: 0.5 } },
    });
    expect(next.scenarios.b).toEqual(b.scenarios.b);
    expect(next.recorded).toEqual({ a: { date: 'today' } });
  });
});
