// bench:kernels --cpu-seconds, its pure parts: the rounds' interleaving order, the samples
// each entry gets (fake clock and runs), median and min, and the ratio table (share of the
// FMA loop and of f32's rate) against independent float64 arithmetic; the --variants parser.
import { describe, expect, it } from 'vitest';
import { measureRounds, ratioTable, roundOrder, spread, type CpuMeasured } from '../bench/cpu-rounds.ts';
import { cpuTableText, parseVariantsArg } from '../bench/kernels-cpu.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const at = `(seed ${seed}; TEST_SEED=${seed} reruns)`;

/** Independent median: sort a copy, middle element or mean of the two middle ones. */
function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

describe('CPU-second rounds', () => {
  it(`interleave the entries forward on even rounds and backward on odd ones ${at}`, () => {
    const n = 2 + rng.int(8);
    const items = [...Array(n).keys()].map((i) => `e${i}`);
    for (let r = 0; r < 6; r++) {
      const o = roundOrder(items, r);
      expect(o).toHaveLength(n);
      for (let i = 0; i < n; i++) expect(o[i]).toBe(items[r % 2 === 0 ? i : n - 1 - i]);
    }
    expect(items).toEqual([...Array(n).keys()].map((i) => `e${i}`)); // not reordered in place
    expect(() => roundOrder(items, -1)).toThrow(/round must be an integer ≥ 0 \(got -1\)/);
  });

  it(`give each entry one sample per round: its clock seconds per run, drift included ${at}`, async () => {
    const n = 2 + rng.int(5);
    const rounds = 1 + rng.int(6);
    const perRound = 1 + rng.int(3);
    const cost = [...Array(n)].map(() => rng.uniform(0.1, 2)); // seconds per run
    const drift = [...Array(rounds)].map(() => rng.uniform(0, 0.5)); // the machine's load per round
    let now = rng.uniform(0, 100);
    let round = 0;
    const log: string[] = [];
    const entries = cost.map((c, i) => ({
      id: `v${i}`,
      run: async () => {
        log.push(`v${i}`);
        now += c + drift[round];
      },
    }));
    const done: number[] = [];
    const samples = await measureRounds(
      entries,
      rounds,
      perRound,
      () => now,
      (r) => {
        done.push(r);
        round = r + 1;
      },
    );
    expect(done).toEqual([...Array(rounds).keys()]);
    const want: string[] = [];
    for (let r = 0; r < rounds; r++)
      for (const e of r % 2 === 0 ? entries : [...entries].reverse())
        for (let k = 0; k < perRound; k++) want.push(e.id);
    expect(log).toEqual(want);
    for (let i = 0; i < n; i++) {
      const s = samples.get(`v${i}`)!;
      expect(s).toHaveLength(rounds);
      for (let r = 0; r < rounds; r++)
        expect(Math.abs(s[r] - (cost[i] + drift[r])), at).toBeLessThan(1e-12 * (1 + now)); // a few ulps of the clock
    }
  });

  it('refuse bad rounds, bad runs per round and a repeated entry, naming them', async () => {
    const e = { id: 'a', run: async () => {} };
    await expect(measureRounds([e], 0, 1, () => 0)).rejects.toThrow(/rounds must be an integer ≥ 1 \(got 0\)/);
    await expect(measureRounds([e], 2, 1.5, () => 0)).rejects.toThrow(
      /runs per round must be an integer ≥ 1 \(got 1.5\)/,
    );
    await expect(measureRounds([e, { ...e }], 1, 1, () => 0)).rejects.toThrow(/entry 'a' given twice/);
  });

  it(`median and min over rounds ${at}`, () => {
    for (const n of [1, 2, 5, 6]) {
      const xs = [...Array(n)].map(() => rng.uniform(0.2, 3));
      const s = spread(xs);
      expect(s.median).toBe(med(xs));
      expect(s.min).toBe([...xs].sort((a, b) => a - b)[0]);
    }
    expect(spread([]).median).toBeNaN();
    expect(spread([]).min).toBeNaN();
  });
});

describe('CPU-second ratio table', () => {
  const draw = (k: number) => [...Array(k)].map(() => rng.uniform(0.3, 1.2));

  it(`rates, shares of the FMA loop and of f32's rate, median and min ${at}`, () => {
    const rounds = 3 + rng.int(4);
    const flops = rng.uniform(1e8, 1e9);
    const fma = { flops: rng.uniform(5e8, 2e9), samplesS: draw(rounds) };
    const rows: CpuMeasured[] = [
      { id: 'f32 a', format: 'f32', variant: 'sx4:8x4:2x2', role: 'default', flops, samplesS: draw(rounds) },
      { id: 'fp8 a', format: 'fp8', variant: 'sx4:8x4:2x2', role: 'default', flops, samplesS: draw(rounds) },
      { id: 'f32 wg', format: 'f32', variant: 'wg:8x4:4x8', role: 'kind', flops, samplesS: draw(rounds) },
      { id: 'nvfp4 wg', format: 'nvfp4', variant: 'wg:8x4:4x8', role: 'kind', flops, samplesS: draw(rounds) },
    ];
    const t = ratioTable(rows, fma);
    expect(t.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    const min = (xs: number[]) => Math.min(...xs);
    const fmaRate = fma.flops / med(fma.samplesS);
    const fmaBest = fma.flops / min(fma.samplesS);
    const close = (a: number | undefined, b: number) => expect(Math.abs(a! - b)).toBeLessThan(1e-12 * Math.abs(b));
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      close(t[i].medianS, med(r.samplesS));
      close(t[i].minS, min(r.samplesS));
      close(t[i].gflopsPerCpuS, flops / med(r.samplesS) / 1e9);
      close(t[i].ofFma, flops / med(r.samplesS) / fmaRate);
      close(t[i].ofFmaBest, flops / min(r.samplesS) / fmaBest);
      // Same FLOPs: the share of f32's rate is f32's CPU time over the row's.
      close(t[i].ofF32, med(rows[0].samplesS) / med(r.samplesS));
      close(t[i].ofF32Best, min(rows[0].samplesS) / min(r.samplesS));
      close(t[i].ofF32Paired, med(r.samplesS.map((x, k) => rows[0].samplesS[k] / x)));
    }
    expect(t[0].ofF32).toBe(1);
    expect(t[0].ofF32Paired).toBe(1);
    expect(t[0].ofF32SameVariant).toBeUndefined(); // the reference itself
    expect(t[1].ofF32SameVariant).toBeUndefined(); // its f32 twin is the reference: the plain share says it
    expect(t[2].ofF32SameVariant).toBeUndefined(); // not against itself
    close(t[3].ofF32SameVariant, med(rows[2].samplesS) / med(rows[3].samplesS));
  });

  it(`paired share: a drift common to both entries cancels round by round ${at}`, () => {
    // The row costs exactly 1.25 × f32 in every round; the rounds' load multiplies both.
    const load = [...Array(5)].map(() => rng.uniform(1, 3));
    const f32 = load.map((l) => 0.6 * l);
    const rows: CpuMeasured[] = [
      { id: 'f32', format: 'f32', variant: 'sx4:8x4:2x2', role: 'default', flops: 1e9, samplesS: f32 },
      {
        id: 'fp8',
        format: 'fp8',
        variant: 'sx4:8x4:2x2',
        role: 'default',
        flops: 1e9,
        samplesS: f32.map((x) => 1.25 * x),
      },
    ];
    // Shifted by one round, the unpaired median could say anything between 1/(1.25·3) and 3/1.25.
    const t = ratioTable(rows, { flops: 1e9, samplesS: [0.3] });
    expect(Math.abs(t[1].ofF32Paired! - 0.8)).toBeLessThan(1e-12);
    const uneven = ratioTable([rows[0], { ...rows[1], samplesS: rows[1].samplesS.slice(1) }], {
      flops: 1e9,
      samplesS: [0.3],
    });
    expect(uneven[1].ofF32Paired).toBeUndefined(); // rounds that do not pair are not paired
  });

  it('without an f32 default row, no share of f32; printed as "-"', () => {
    const rows: CpuMeasured[] = [
      { id: 'fp8', format: 'fp8', variant: 'sx4:8x4:2x2', role: 'default', flops: 1e9, samplesS: [0.5, 0.4, 0.6] },
    ];
    const t = ratioTable(rows, { flops: 2e9, samplesS: [0.5, 0.5, 0.5] });
    expect(t[0].ofF32).toBeUndefined();
    expect(t[0].ofFma).toBeCloseTo(0.5, 12); // 1e9 / 0.5 over 2e9 / 0.5
    expect(t[0].ofFmaBest).toBeCloseTo(0.625, 12); // 1e9 / 0.4 over 2e9 / 0.5
    const line = cpuTableText(t, { flops: 2e9, samplesS: [0.5, 0.5, 0.5] }).split('\n')[2];
    expect(line).toMatch(/^fp8 +sx4:8x4:2x2 +default +500\.0 \(400\.0\) +2\.000 +50\.0% \(62\.5%\) +- +- +-$/);
  });

  it('prints each share as median (min), f32 at 100 % and the FMA loop last', () => {
    const rows: CpuMeasured[] = [
      { id: 'f32', format: 'f32', variant: 'sx4:8x4:2x2', role: 'default', flops: 1e9, samplesS: [0.8, 0.6, 0.7] },
      { id: 'fp8', format: 'fp8', variant: 'sx4:8x4:2x2', role: 'default', flops: 1e9, samplesS: [0.875, 0.8, 1] },
    ];
    const text = cpuTableText(ratioTable(rows, { flops: 1e9, samplesS: [0.35, 0.3] }), {
      flops: 1e9,
      samplesS: [0.35, 0.3],
    });
    const lines = text.split('\n');
    expect(lines[2]).toMatch(/^f32 .* 700\.0 \(600\.0\) .* 100\.0% \(100\.0%\) +100\.0% +-$/);
    // fp8: 0.7 / 0.875 = 80 %, 0.6 / 0.8 = 75 %; of the FMA loop 0.325 / 0.875, 0.3 / 0.8;
    // paired: median of 0.8 / 0.875, 0.6 / 0.8, 0.7 / 1 = 75 %.
    expect(lines[3]).toMatch(/^fp8 .* 875\.0 \(800\.0\) +1\.143 +37\.1% \(37\.5%\) +80\.0% \(75\.0%\) +75\.0% +-$/);
    expect(lines[4]).toMatch(/^FMA loop +- +- +325\.0 \(300\.0\) +3\.077 +100%/);
  });
});

describe('bench:kernels --variants', () => {
  it("takes 'all' (also absent), 'default' or a list of variants, each checked against the grammar", () => {
    expect(parseVariantsArg(undefined)).toBe('all');
    expect(parseVariantsArg('all')).toBe('all');
    expect(parseVariantsArg('default')).toBe('default');
    expect(parseVariantsArg('sx4:8x4:2x2, sw4:4x8:2x2:loop')).toEqual(['sx4:8x4:2x2', 'sw4:4x8:2x2:loop']);
    expect(() => parseVariantsArg('sx4:8x4:2x2,sx4:7x4:2x2')).toThrow(
      /^--variants: bad GEMM variant sx4:7x4:2x2: sx4 rows must be a multiple of 4/,
    );
    expect(() => parseVariantsArg('bogus')).toThrow(/^--variants: bad GEMM variant 'bogus' \(expected /);
    expect(() => parseVariantsArg('sx4:8x4:2x2,')).toThrow(/--variants: .* mixes a list with '\(empty\)'/);
    expect(() => parseVariantsArg('default,sx4:8x4:2x2')).toThrow(/mixes a list with 'default'/);
  });
});
