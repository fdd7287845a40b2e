// The measured-beside-modeled rows of a scaled comparison (the page's counterpart table and
// the bench's): exactly the ratios the counterpart models, in the comparison's order, with
// the difference computed in float64. Random names and values, seeded (TEST_SEED reruns).
import { describe, expect, it } from 'vitest';
import { counterpartRows, type Counterpart, type Ratio } from '../src/ui/compare.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();

function ratio(name: string, value: number): Ratio {
  return { name, value, numerator: value, denominator: 1 };
}

describe(`counterpart rows (TEST_SEED=${seed})`, () => {
  it('pairs each modeled ratio with the measured one of the same name', () => {
    const rng = new Rng(seed);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + rng.int(8);
      const ratios = Array.from({ length: n }, (_, i) => ratio(`r${i} @ ${rng.int(1000)}`, rng.uniform(0.05, 5)));
      // The counterpart models a random subset, listed in another order, plus a name the run lacks.
      const modeledSet = ratios.filter(() => rng.next() < 0.6);
      const modeled = [...modeledSet]
        .reverse()
        .map((r) => ({ name: r.name, value: rng.uniform(0.05, 5) }))
        .concat([{ name: 'not measured', value: 1 }]);
      const counterpart = { scenario: {}, ratios: modeled } as unknown as Counterpart;
      const rows = counterpartRows({ ratios, counterpart });
      expect(rows.map((r) => r.name)).toEqual(modeledSet.map((r) => r.name));
      for (const row of rows) {
        const m = modeled.find((x) => x.name === row.name)!.value;
        const got = ratios.find((x) => x.name === row.name)!.value;
        expect(row.measured).toBe(got);
        expect(row.modeled).toBe(m);
        expect(row.difference).toBe(got / m - 1);
      }
    }
  });

  it('has no rows without a counterpart (an unscaled or modeled run)', () => {
    expect(counterpartRows({ ratios: [ratio('dwdp/dep TPS/GPU', 1.2)] })).toEqual([]);
  });
});
