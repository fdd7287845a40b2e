// bench:kernels --cpu-seconds, its pure parts: the rounds' interleaving order, the samples
// each entry gets (fake clock and runs), median and min, and the ratio table (share of the
// FMA loop and of f32's rate) against independent float64 arithmetic; the identical-kernel
// control's noise floor (per-round ratios, the band mirrored around 1) against logs, and each
// row's rank test against the control (within noise or beyond, on constructed rounds whose
// decision is known); the control kernel itself on the test device (its own pipelines, the
// same output bit for bit); the --variants parser.
import { describe, expect, it } from 'vitest';
import {
  controlFloor,
  measureRounds,
  noiseFloor,
  pairedRatios,
  ratioTable,
  roundOrder,
  spread,
  NOISE_ALPHA,
  type CpuMeasured,
} from '../bench/cpu-rounds.ts';
import {
  cpuTableText,
  createControlGemm,
  noiseFloorText,
  parseVariantsArg,
  sampledError,
} from '../bench/kernels-cpu.ts';
import type { GroupedExpertGemm } from '../src/kernels/expert-gemm.ts';
import { buildGemmProblem, createShapeGemm, encodeProblem, readY, type GemmShape } from '../src/kernels/gemm-tuning.ts';
import { mannWhitney, smallestP } from '../src/util/rank-test.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';
import { UsageError } from '../src/cli/args.ts';
import { referenceMedian as med } from './median-reference.ts';

const seed = testSeed();
const rng = new Rng(seed);
const at = `(seed ${seed}; TEST_SEED=${seed} reruns)`;

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

describe('the identical-kernel control: the noise floor', () => {
  const close = (a: number | undefined, b: number) => expect(Math.abs(a! - b), at).toBeLessThan(1e-12 * Math.abs(b));
  /** Control ratios with ln c in [-0.1, 0.1], one of them at least 0.02 away from 0 (so the band has width). */
  const drawRatios = (n: number) => {
    const logs = [...Array(n)].map(() => rng.uniform(-0.1, 0.1));
    logs[rng.int(n)] = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.02, 0.1);
    return logs.map(Math.exp);
  };

  it(`per-round ratios: the row's rate over the reference's in the same round ${at}`, () => {
    const n = 1 + rng.int(9);
    const row = { flops: rng.uniform(1e8, 1e9), samplesS: [...Array(n)].map(() => rng.uniform(0.2, 2)) };
    const ref = { flops: rng.uniform(1e8, 1e9), samplesS: [...Array(n)].map(() => rng.uniform(0.2, 2)) };
    const r = pairedRatios(row, ref)!;
    expect(r).toHaveLength(n);
    for (let i = 0; i < n; i++) close(r[i], (row.flops * ref.samplesS[i]) / (ref.flops * row.samplesS[i]));
    expect(pairedRatios(row, { ...ref, samplesS: ref.samplesS.slice(1) })).toBeUndefined();
  });

  it(`floor: median, min, max and the band mirrored around 1, every ratio and its inverse inside ${at}`, () => {
    for (const n of [1, 2, 5, 9]) {
      const c = drawRatios(n);
      const f = noiseFloor(c);
      expect(f.ratios).toEqual(c);
      expect(f.median).toBe(med(c));
      expect(f.min).toBe([...c].sort((a, b) => a - b)[0]);
      expect(f.max).toBe([...c].sort((a, b) => b - a)[0]);
      // Independent: in logs the band is |ln x| ≤ max |ln c|.
      const s = Math.max(...c.map((x) => Math.abs(Math.log(x))));
      close(f.low, Math.exp(-s));
      close(f.high, Math.exp(s));
      const inBand = (x: number) => x >= f.low && x <= f.high;
      for (const x of c) {
        expect(inBand(x), at).toBe(true);
        expect(inBand(1 / x), at).toBe(true); // the other kernel called the control
      }
    }
  });

  it('refuses an empty control or a ratio that is not a finite number > 0, naming the round', () => {
    expect(() => noiseFloor([])).toThrow(/no per-round ratio/);
    expect(() => noiseFloor([1, 0])).toThrow(/round 1's ratio is 0 \(must be a finite number > 0\)/);
    expect(() => noiseFloor([1.02, NaN])).toThrow(/round 1's ratio is NaN/);
    expect(() => noiseFloor([-1])).toThrow(/round 0's ratio is -1/);
  });

  /** Rows of `rounds` rounds at the same FLOPs: a row costing f32 · k(i) in round i has the paired ratio 1 / k(i). */
  const table = (rounds: number, c: number[], others: [string, (i: number) => number][]) => {
    const flops = rng.uniform(1e8, 1e9);
    const f32 = [...Array(rounds)].map(() => rng.uniform(0.3, 1.2));
    const row = (id: string, format: string, role: CpuMeasured['role'], k: (i: number) => number): CpuMeasured => ({
      id,
      format,
      variant: 'sx4:8x4:2x2',
      role,
      flops,
      samplesS: f32.map((x, i) => x * k(i)),
    });
    const rows = [
      row('f32', 'f32', 'default', () => 1),
      ...others.map(([format, k]) => row(format, format, 'default', k)),
      row('f32 (control)', 'f32', 'control', (i) => 1 / c[i]),
    ];
    return { rows, fma: { flops, samplesS: f32 }, t: ratioTable(rows, { flops, samplesS: f32 }) };
  };

  it(`in the ratio table: each row's rank test against the control; beyond noise at p < ${NOISE_ALPHA} ${at}`, () => {
    const rounds = 4 + rng.int(6); // 4 … 9: the smallest attainable p, 2 / C(2R, R), is below 0.05
    const c = drawRatios(rounds);
    const perm = [...Array(rounds).keys()].sort(() => rng.next() - 0.5);
    const above = [...Array(rounds)].map(() => Math.max(...c) * rng.uniform(1.01, 1.5));
    const below = [...Array(rounds)].map(() => Math.min(...c) / rng.uniform(1.01, 1.5));
    const { rows, fma, t } = table(rounds, c, [
      ['fp8', (i) => 1 / c[perm[i]]], // the control's ratios in another order: the same sample
      ['nvfp4', (i) => 1 / above[i]], // above every control round
      ['int8', (i) => 1 / below[i]], // below every control round
    ]);
    const floor = controlFloor(rows)!;
    for (let i = 0; i < rounds; i++) close(floor.ratios[i], c[i]);
    for (const i of [1, 2, 3]) {
      const want = mannWhitney(pairedRatios(rows[i], rows[0])!, floor.ratios);
      expect(t[i].test).toBe(want.test);
      expect(t[i].p).toBe(want.p);
      expect(t[i].minP).toBe(smallestP(rounds, rounds));
    }
    // fp8: the same values up to rounding, so U ≤ R(R+1)/2 (each value against its own twin
    // either way): p ≥ 0.68 for R = 4 … 9. nvfp4 and int8: full separation, the smallest p.
    expect(t[1].p!, at).toBeGreaterThan(0.6);
    expect(Math.abs(t[2].p! - smallestP(rounds, rounds))).toBeLessThan(1e-15);
    expect(Math.abs(t[3].p! - smallestP(rounds, rounds))).toBeLessThan(1e-15);
    expect(t.map((r) => r.withinNoise)).toEqual([undefined, true, false, false, undefined]);
    expect([t[0].p, t[4].p]).toEqual([undefined, undefined]); // neither the reference nor the control is tested
    close(t[4].ofF32Paired, med(c));
    // The control is not fp8's "f32 with the same variant": that is the reference, the plain share.
    expect(t[1].ofF32SameVariant).toBeUndefined();
    expect(controlFloor(rows.slice(0, 4))).toBeUndefined();
    expect(controlFloor([rows[1], rows[4]])).toBeUndefined(); // no reference
    expect(() => controlFloor([...rows, { ...rows[4], id: 'again' }])).toThrow(/2 control rows .*one at most/);
    const lines = cpuTableText(t, fma).split('\n');
    expect(lines[0]).toMatch(/ +paired vs noise$/);
    expect(lines[2]).toMatch(/^f32 .* reference$/);
    expect(lines[3]).toMatch(/^fp8 .* p [01]\.\d\d, within noise$/);
    expect(lines[4]).toMatch(/^nvfp4 .* p 0\.0\d+, beyond noise$/);
    expect(lines[5]).toMatch(/^int8 .* p 0\.0\d+, beyond noise$/);
    expect(lines[6]).toMatch(/^f32 +sx4:8x4:2x2 +control .* control$/);
    expect(lines[7]).toMatch(/^FMA loop .* -$/);
  });

  it(`a row above every control round is beyond noise though its median lies in the mirrored band ${at}`, () => {
    // One control round far low mirrors the band up to e^0.35; the others stay within ±5 %.
    // The row is 10 … 30 % above f32 in every round: inside the band, above every control round.
    const rounds = 5 + rng.int(5);
    const logs = [...Array(rounds)].map(() => rng.uniform(-0.05, 0.05));
    logs[rng.int(rounds)] = -0.35;
    const c = logs.map(Math.exp);
    const x = [...Array(rounds)].map(() => Math.exp(rng.uniform(0.1, 0.3)));
    const { rows, t } = table(rounds, c, [['int8', (i) => 1 / x[i]]]);
    const floor = controlFloor(rows)!;
    expect(t[1].ofF32Paired! < floor.high && t[1].ofF32Paired! > floor.low, at).toBe(true); // the old rule: within
    expect(t[1].withinNoise, at).toBe(false);
    expect(t[1].p!, at).toBeLessThan(NOISE_ALPHA);
  });

  it(`three rounds can never reach p < ${NOISE_ALPHA}: the row is not marked, the table says why ${at}`, () => {
    const c = drawRatios(3);
    const { t, fma } = table(3, c, [['fp8', () => 1 / (2 * Math.max(...c))]]);
    expect(t[1].minP).toBeCloseTo(0.1, 15);
    expect(t[1].p).toBeCloseTo(0.1, 15); // full separation, yet not below the threshold
    expect(t[1].withinNoise).toBeUndefined();
    expect(cpuTableText(t, fma).split('\n')[3]).toMatch(/^fp8 .* p 0\.10, too few rounds \(min p 0\.10\)$/);
  });

  it('prints what identical kernels differed by, the band, the test and its threshold', () => {
    const f = noiseFloor([0.96, 1.03, 1.01, 0.99, 1.0]);
    expect(noiseFloorText(f)).toBe(
      'noise floor measured in this run: identical kernels differ by +0.0 % (control over f32 default, median of 5 rounds; ' +
        'per round −4.0 % … +3.0 %); that spread mirrored around 100 %: 96.0 % … 104.2 %. ' +
        'Each row: Mann–Whitney U (Wilcoxon rank-sum), two-sided, exact test of its per-round paired shares against the ' +
        'control\'s, "beyond noise" at p < 0.05 (identical kernels in at most 5 % of runs, per row), "within noise" otherwise; ' +
        '5 rounds reach p ≥ 0.00794',
    );
    expect(noiseFloorText(noiseFloor([0.9, 1.1, 1]))).toMatch(/3 rounds reach p ≥ 0\.10: too few to mark a row$/);
  });
});

describe('the control kernel (on the test device)', () => {
  /** The compute pipelines a GroupedExpertGemm dispatches (private: read here to show they are not shared). */
  const pipelines = (g: GroupedExpertGemm) => {
    const p = g as unknown as { gateUp: { pipeline: GPUComputePipeline }; down: { pipeline: GPUComputePipeline } };
    return [p.gateUp.pipeline, p.down.pipeline];
  };

  it(`is the f32 default in pipelines of its own, the same output bit for bit; the cache is left as it was ${at}`, async () => {
    const gpu = await testGpu();
    const shape: GemmShape = { tokens: 8 * (1 + rng.int(6)), hidden: 64, expertHidden: 32, experts: 4, topK: 2 };
    const ref = await createShapeGemm(gpu, shape, 'f32');
    const control = await createControlGemm(gpu, shape, undefined);
    const again = await createShapeGemm(gpu, shape, 'f32');
    try {
      expect(control.variant).toEqual(ref.variant);
      const [refGateUp, refDown] = pipelines(ref);
      const [gateUp, down] = pipelines(control);
      expect(gateUp).not.toBe(refGateUp);
      expect(down).not.toBe(refDown);
      expect(gateUp.label.startsWith(`${refGateUp.label} #edited `)).toBe(true); // the same key, compiled apart
      expect(pipelines(again)).toEqual([refGateUp, refDown]); // overrides cleared: the cache hands back the reference's
      const ys: Float32Array[] = [];
      for (const g of [ref, control]) {
        const p = buildGemmProblem(gpu, shape, 'f32', { seed: seed ^ 0x5eed, skew: 0.5 });
        try {
          const enc = gpu.device.createCommandEncoder();
          encodeProblem(g, p, enc);
          gpu.device.queue.submit([enc.finish()]);
          const y = await readY(gpu, p);
          sampledError(p, y, g.variant, shape.tokens * shape.topK); // every row against the float64 reference
          ys.push(y);
        } finally {
          p.destroy();
        }
      }
      expect(new Uint32Array(ys[1].buffer)).toEqual(new Uint32Array(ys[0].buffer));
    } finally {
      for (const g of [ref, control, again]) g.destroy();
    }
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
    // Usage errors (exit 2 in the bench), both kinds.
    for (const bad of ['bogus', 'all,sx4:8x4:2x2']) expect(() => parseVariantsArg(bad)).toThrow(UsageError);
  });
});
