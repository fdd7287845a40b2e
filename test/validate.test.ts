// `sim --validate`: every published number declared once appears once with its source; roles
// (Table 3 = calibration, everything else = validation); errors against an independent float64
// computation (declared-row arithmetic on random inputs, and two rows rerun through the serving
// model directly); the JSON shape.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { getProfile } from '../src/hardware/profiles.ts';
import { loadPreset } from '../src/model/presets.ts';
import {
  E2E_SCENARIOS,
  PUBLISHED_E2E,
  PUBLISHED_HEADLINE,
  REPRO_MATRIX,
  e2eEvaluator,
  e2eValidation,
  reproductionFor,
  runE2e,
  stationLoad,
} from '../src/sim/e2e/scenario.ts';
import { deepseekR1 } from '../src/sim/experiment.ts';
import { DEFAULT_SCENARIO_PARAMS } from '../src/sim/scenarios.ts';
import { runServing } from '../src/sim/serving.ts';
import {
  MEASUREMENTS,
  RUNS,
  TABLE3,
  TOLERANCE,
  BAR,
  allMeasurements,
  barRegimeSummary,
  formatValidationReport,
  measurementRow,
  runValidation,
  settingLetter,
  table3Measurements,
  withinTolerance,
  type RunOutput,
  type ValidationReport,
} from '../src/sim/validate.ts';
import { zeroBreakdown } from '../src/timeline/categories.ts';
import { Rng } from '../src/util/random.ts';
import { handLayer } from './roofline-hand.ts';
import { testSeed } from './seed.ts';
import { referenceMedian } from './median-reference.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;

let rep: ValidationReport;
beforeAll(() => {
  rep = runValidation();
}, 120_000);

describe('declarations → rows', () => {
  it('every declared measurement appears exactly once, with its published value and source', () => {
    const decl = allMeasurements();
    expect(new Set(decl.map((m) => m.id)).size).toBe(decl.length);
    for (const m of decl) {
      const rows = rep.rows.filter((r) => r.id === m.id);
      expect(rows, m.id).toHaveLength(1);
      expect(rows[0].published).toBe(m.published);
      expect(rows[0].source).toBe(m.source);
      expect(rows[0].source.length).toBeGreaterThan(0);
    }
    // The end-to-end rows: three per published band (speedup, TTFT DEP, TTFT DWDP) and the headline.
    const e2e = rep.rows.filter((r) => r.id.startsWith('e2e.'));
    expect(e2e).toHaveLength(PUBLISHED_E2E.length * 3 + 1);
    for (const p of PUBLISHED_E2E)
      for (const v of [p.speedup, p.ttftDep, p.ttftDwdp]) expect(e2e.some((r) => r.published === v)).toBe(true);
    expect(e2e.filter((r) => r.published === PUBLISHED_HEADLINE)).toHaveLength(1);
    expect(rep.rows).toHaveLength(decl.length + e2e.length);
  });

  it('Table 3 gives one calibration row per published cell; every other row is validation', () => {
    const cells = Object.values(TABLE3).reduce((a, c) => a + Object.keys(c).length, 0);
    expect(table3Measurements()).toHaveLength(cells);
    for (const r of rep.rows) expect(r.role, r.id).toBe(r.id.startsWith('table3.') ? 'calibration' : 'validation');
    expect(MEASUREMENTS.every((m) => m.role === 'validation')).toBe(true);
    expect(rep.summary.calibration.of).toBe(cells);
  });

  it('a row the model cannot compute names the missing mechanism and has no value', () => {
    const m = { ...MEASUREMENTS[0], model: { notModeled: 'the mechanism this row would need, in words' } };
    const r = measurementRow(m, {});
    expect(r.modeled).toBeNull();
    expect(r.error).toBeNull();
    expect(r.notModeled).toBe(m.model.notModeled);
    expect(rep.summary.validation.notModeled).toBe(rep.rows.filter((x) => x.notModeled !== null).length);
  });

  it("SGLang's gpt-oss-120b rows are modeled from its config on b200-hgx, DEP by allgather, DWDP ÷ DEP TPS/GPU", () => {
    const profile = getProfile('b200-hgx');
    const model = loadPreset('gpt-oss-120b');
    for (const [isl, run] of [
      [4096, 'sglang4k'],
      [8192, 'sglang8k'],
      [16384, 'sglang16k'],
    ] as const) {
      const row = rep.rows.find((r) => r.id === `sglang.gpt-oss-120b.${isl}`)!;
      expect(row.runs).toEqual([run]);
      expect(RUNS[run]).toMatchObject({ profile: 'b200-hgx', model: 'gpt-oss-120b' });
      expect(RUNS[run].params).toMatchObject({ isl, format: 'mxfp4', maxTokensPerBatch: 16384, groupSize: 4 });
      expect(rep.runs[run]?.model).toBe('gpt-oss-120b');
      // SGLang's DEP baseline: EP with allgather (DP attention).
      expect(RUNS[run].params).toMatchObject({ depDispatch: 'allgather' });
      expect(row.differs.join(' ')).toMatch(/request lengths not published/);
      const p = { ...DEFAULT_SCENARIO_PARAMS, ...RUNS[run].params };
      const sp = {
        ...p,
        profile,
        model,
        isl: { law: 'lognormal' as const, mean: isl, cv: 0 },
        osl: { mean: p.osl, cv: 0 },
      };
      const want = runServing(sp, 'dwdp').tpsPerGpu / runServing(sp, 'dep').tpsPerGpu;
      expect(row.modeled).toBeCloseTo(want, 12);
    }
  });

  it("the authors' roofline rows (Table 1) compare with the model in roofline mode, per MoE layer, and show the calibrated model in a note", () => {
    expect(rep.provenance).toContain("the authors' roofline rows in ROOFLINE mode, nothing calibrated");
    for (const [isl, rl, cal] of [
      [1024, 'table1Roofline1k', 'table1Calibrated1k'],
      [8192, 'table1Roofline8k', 'table1Calibrated8k'],
      [16384, 'table1Roofline16k', 'table1Calibrated16k'],
      [32768, 'table1Roofline32k', 'table1Calibrated32k'],
    ] as const) {
      expect(RUNS[rl].params).toMatchObject({ roofline: true, groupSize: 4, batch: 1, isl, cv: 0 });
      expect(RUNS[cal].params).toEqual({ ...RUNS[rl].params, roofline: undefined });
      // The modeled values against the float64 hand computation of the same definition.
      const want = handLayer(isl);
      const rows = {
        cp: rep.rows.find((r) => r.id === `roofline.${isl}.compute-over-prefetch`)!,
        speedup: rep.rows.find((r) => r.id === `roofline.${isl}.dep-over-dwdp`)!,
      };
      const ratios = { cp: want.tCompute / want.tPrefetch, speedup: want.tDep / want.tDwdp };
      for (const q of ['cp', 'speedup'] as const) {
        const r = rows[q];
        expect(r.status).toBe('estimate');
        expect(r.quantity).toContain('roofline mode');
        expect(r.runs).toEqual([rl, cal]);
        expect(Math.abs(r.modeled! - ratios[q]) / ratios[q], `${r.id}: ${r.modeled} vs ${ratios[q]}`).toBeLessThan(
          1e-9,
        );
        expect(r.error!).toBeCloseTo((r.modeled! - r.published) / r.published, 12);
        // The calibrated model's value, with its error, stays visible.
        expect(r.notes).toHaveLength(1);
        const m = /^calibrated model .*: (\d+\.\d{3}), error ([+-]\d+\.\d) %$/.exec(r.notes[0]);
        expect(m, r.notes[0]).not.toBeNull();
        expect(Math.abs(Number(m![1]) - ratios[q])).toBeGreaterThan(0.005); // not the roofline value again
        // Its error is against the same published value: the note's two numbers agree within their
        // printed rounding (value to 0.0005, error to 0.05 %).
        const noted = (100 * (Number(m![1]) - r.published)) / r.published;
        expect(Math.abs(Number(m![2]) - noted), `${r.id}: ${r.notes[0]}`).toBeLessThanOrEqual(
          0.05 + (100 * 0.0005) / r.published + 1e-9,
        );
      }
    }
  });

  it('every modeled row has a runnable setting (its runs are declared scenarios)', () => {
    for (const r of rep.rows.filter((x) => x.runs.length > 0))
      for (const id of r.runs) {
        expect(RUNS[id]).toBeDefined();
        expect(rep.runs[id]?.base).toEqual(RUNS[id].params);
      }
  });
});

describe('errors', () => {
  it('(modeled − published) / published, and the tolerance rule, on random model outputs', () => {
    const side = () => ({
      iterationMs: 1 + rng.next() * 2000,
      breakdown: Object.fromEntries(Object.keys(zeroBreakdown()).map((k) => [k, rng.next() * 500])) as ReturnType<
        typeof zeroBreakdown
      >,
      p2pBusyMs: rng.next() * 600,
      computeMs: rng.next() * 1000,
      interferenceMs: rng.next() * 100,
      tpsPerGpu: 1 + rng.next() * 1e4,
    });
    for (let t = 0; t < 20; t++) {
      const out: RunOutput = { dep: side(), dwdp: side(), prefetchMs: 1 + rng.next() * 400 };
      for (const m of table3Measurements()) {
        const r = measurementRow(m, { table3: out });
        const [, s, cat] = m.id.split('.') as [string, 'dep' | 'dwdp', string];
        const o = out[s];
        const want =
          cat === 'iteration' ? o.iterationMs : cat === 'p2pBusy' ? o.p2pBusyMs : o.breakdown[cat as 'attention'];
        expect(r.modeled, tag(m.id)).toBe(want);
        if (m.published === 0) {
          expect(r.error).toBeNull();
          expect(r.withinTolerance).toBe(want <= 0.01 * TABLE3[s].iteration!);
        } else {
          const e = (want - m.published) / m.published;
          expect(r.error!, tag(m.id)).toBeCloseTo(e, 12);
          expect(r.withinTolerance).toBe(Math.abs(e) <= (cat === 'iteration' ? 0.05 : 0.1));
        }
      }
    }
  });

  it('the tolerance bounds hold at their edges', () => {
    const p = 100 + rng.next() * 1000;
    expect(withinTolerance('table3.dep.iteration', p * (1 + TOLERANCE.iteration * 0.999), p, p)).toBe(true);
    expect(withinTolerance('table3.dep.iteration', p * (1 + TOLERANCE.iteration * 1.001), p, p)).toBe(false);
    expect(withinTolerance('table3.dep.attention', p * (1 - TOLERANCE.category * 0.999), p, p)).toBe(true);
    expect(withinTolerance('table3.dep.attention', p * (1 - TOLERANCE.category * 1.001), p, p)).toBe(false);
  });

  it('two rows recomputed independently through the serving model', () => {
    const profile = getProfile('gb200-nvl72');
    const model = deepseekR1();
    const serve = (params: object, s: 'dep' | 'dwdp') => {
      const p = { ...DEFAULT_SCENARIO_PARAMS, ...params };
      // Both settings use TensorRT-LLM's law: uniform in [islRatio·isl, isl].
      expect(p.lengthLaw).toBe('uniform-ratio');
      const isl = { law: 'uniform-ratio' as const, isl: p.isl, islRatio: p.islRatio! };
      return runServing({ ...p, profile, model, isl, osl: { mean: p.osl, cv: p.oslCv } }, s);
    };
    // DEP4 iteration at the Table 3 setting.
    const dep = serve(RUNS.table3.params, 'dep').stepMs;
    const pub = 1319.85;
    const row = rep.rows.find((r) => r.id === 'table3.dep.iteration')!;
    expect(row.modeled).toBeCloseTo(dep, 9);
    expect(row.error!).toBeCloseTo((dep - pub) / pub, 12);
    // The contention fix: DWDP TPS/GPU on ÷ off against +8 %.
    const on = serve(RUNS.contentionOn.params, 'dwdp').tpsPerGpu;
    const off = serve(RUNS.contentionOff.params, 'dwdp').tpsPerGpu;
    const fix = rep.rows.find((r) => r.id === 'contention-fix')!;
    expect(fix.modeled).toBeCloseTo(on / off, 12);
    expect(fix.error!).toBeCloseTo((on / off - 1.08) / 1.08, 12);
  });

  it('the summary counts what the rows say', () => {
    const cal = rep.rows.filter((r) => r.role === 'calibration');
    expect(rep.summary.calibration.within).toBe(cal.filter((r) => r.withinTolerance).length);
    const errs = rep.rows.filter((r) => r.role === 'validation' && r.error !== null).map((r) => Math.abs(r.error!));
    expect(rep.summary.validation.compared).toBe(errs.length);
    expect(rep.summary.validation.medianAbsError).toBeCloseTo(referenceMedian(errs), 12);
  });
});

describe('end-to-end rows: like with like', () => {
  const strategies = ['dep', 'dwdp'] as const;

  it('each TTFT row is the simulated median TTFT of the reproduction deployment its band maps to, recomputed through the e2e model', () => {
    const ev = e2eEvaluator(E2E_SCENARIOS['r1-e2e-pareto']);
    // The reproduction's experiment ranges, read off the config's rows (not off the mapping under test).
    const ranges = [...new Set(REPRO_MATRIX.map((r) => r.band.join('_')))].map((k) => k.split('_').map(Number));
    const ttftRows = rep.rows.filter((r) => r.id.startsWith('e2e.') && r.quantity.includes('TTFT'));
    expect(ttftRows).toHaveLength(PUBLISHED_E2E.length * 2);
    for (const pub of PUBLISHED_E2E)
      for (const s of strategies) {
        const at = `${s} ${pub.band.join('–')}`;
        const containing = ranges.filter(([lo, hi]) => lo <= pub.band[0] && pub.band[1] <= hi);
        expect(containing, at).toHaveLength(1);
        const name = `e2e_${containing[0][0]}_${containing[0][1]}_${s}`;
        const repro = REPRO_MATRIX.find((r) => r.experiment === name)!;
        expect(repro.strategy, at).toBe(s);
        const rows = ttftRows.filter((r) => r.setting.endsWith(`model at ${name}`));
        expect(rows, at).toHaveLength(1);
        const row = rows[0];
        const published = s === 'dep' ? pub.ttftDep : pub.ttftDwdp;
        expect(row.published, at).toBe(published);
        expect(row.comparison, at).toBe('reproduction-deployment');
        // The deployment straight from the config's fields: context GPUs in units of the group, generation EP/batch/MTP/EPLB.
        const pt = ev.evaluate(s, repro.ctxGpus / ev.params.groupSize, {
          ep: repro.genEp,
          batch: repro.batch,
          mtp: repro.mtp,
          eplb: repro.eplb,
        })!;
        expect(pt, at).not.toBeNull();
        expect(pt.ctxGpus).toBe(repro.ctxGpus);
        const run = ev.queuedTtft(pt);
        const ttft = run.medianMs;
        expect(row.modeled, at).toBe(ttft);
        expect(row.error!, at).toBeCloseTo((ttft - published) / published, 12);
        // The differs note states the mapping, its uncertainty and where the model's TPS/user lands.
        const note = row.differs.join(' | ');
        expect(note, at).toContain(`published band ${pub.band[0]}–${pub.band[1]} lies within the experiment range`);
        expect(note, at).toContain('not stated');
        // TPS/user as the benchmark defines it: the simulated run's OSL ÷ end-to-end latency; and the decode rate.
        const user = run.userTps;
        const inside = user >= pub.band[0] && user <= pub.band[1];
        expect(note, at).toContain(`${user.toFixed(1)} (${inside ? 'inside' : 'outside'} the published band`);
        expect(note, at).toContain(`decode rate ${pt.decodeTpsPerUser.toFixed(1)}`);
        for (const v of REPRO_MATRIX.filter((r) => r.strategy === s && r.band.join('_') === containing[0].join('_')))
          if (v !== repro) expect(note, at).toContain(v.experiment);
      }
  }, 60_000);

  it('every end-to-end row says which comparison it is; the speedups and the headline are best vs best in the band', () => {
    const e2e = rep.rows.filter((r) => r.id.startsWith('e2e.'));
    for (const r of e2e) {
      const ttft = r.quantity.includes('TTFT');
      expect(r.comparison, r.quantity).toBe(ttft ? 'reproduction-deployment' : 'best-in-band');
      expect(r.quantity).toContain(ttft ? "at the reproduction's deployment" : 'best vs best');
      expect(r.differs[0]).toMatch(/^comparison: /);
    }
    for (const r of rep.rows.filter((x) => !x.id.startsWith('e2e.')))
      expect(r.comparison, r.id).toBe('published-setting');
  });

  it('the band → experiment mapping by containment; a band no experiment covers, or a deployment that does not fit, is not modeled', () => {
    for (const s of strategies) {
      expect(reproductionFor([100, 150], s)).toEqual({ base: null, variants: [] });
      const { base, variants } = reproductionFor([20, 30], s);
      expect(base!.experiment).toBe(`e2e_20_40_${s}`);
      expect(variants.map((v) => v.experiment)).toEqual([`e2e_20_40_${s}_minus_1`]);
      // A band straddling two ranges is covered by neither.
      expect(reproductionFor([50, 70], s).base).toBeNull();
    }
    // A result whose reproduction deployments did not fit: the TTFT rows say which, and carry no value.
    const res = runE2e(E2E_SCENARIOS['r1-e2e-pareto']);
    const rows = e2eValidation({ ...res, reproduction: res.reproduction.map((r) => ({ ...r, modeled: null })) });
    const ttft = rows.filter((r) => r.quantity.includes('TTFT'));
    expect(ttft).toHaveLength(PUBLISHED_E2E.length * 2);
    for (const r of ttft) {
      expect(r.modeled).toBeNull();
      expect(r.error).toBeNull();
      expect(r.notModeled).toContain(r.experiment!);
    }
    // The speedup rows do not read the reproduction: unchanged.
    const speedups = (xs: typeof rows) => xs.filter((r) => r.comparison === 'best-in-band').map((r) => r.modeled);
    expect(speedups(rows)).toEqual(speedups(e2eValidation(res)));
  }, 60_000);

  it('each TTFT row carries its station loads and rate-equivalent error, rerun here through the e2e model', () => {
    const ev = e2eEvaluator(E2E_SCENARIOS['r1-e2e-pareto']);
    const ttftRows = rep.rows.filter((r) => r.loadDependent);
    expect(ttftRows).toHaveLength(PUBLISHED_E2E.length * 2);
    for (const r of rep.rows)
      if (!r.loadDependent) {
        expect(r.regime, r.id).toBe('not-load-dependent');
        expect(r.load, r.id).toBeNull();
        expect(r.rateEquivalent, r.id).toBeNull();
      }
    for (const row of ttftRows) {
      expect(row.quantity).toContain('TTFT');
      const repro = REPRO_MATRIX.find((x) => row.setting.endsWith(`model at ${x.experiment}`))!;
      const gen = { ep: repro.genEp, batch: repro.batch, mtp: repro.mtp, eplb: repro.eplb };
      const units = repro.ctxGpus / ev.params.groupSize;
      const at = repro.experiment;
      // The loads: the fluid point's, at the deployment.
      const pt = ev.evaluate(repro.strategy, units, gen)!;
      expect(row.load, at).toEqual(stationLoad(ev, pt));
      const L = BAR.load;
      expect(row.regime, at).toBe(row.load!.context < L && row.load!.generation < L ? 'below-load' : 'at-capacity');
      // The search: s = 1 is the row's modeled value; the bracket's ends are simulated runs at their
      // scales, on either side of the published value.
      const q = row.rateEquivalent!;
      expect(q.target).toBe(row.published);
      expect(q.samples.find((x) => x.scale === 1)!.ttftMs, at).toBe(row.modeled);
      const ttftAt = (s: number) => ev.queuedTtft(pt, s).medianMs;
      if (q.bracket === null) {
        const end = row.modeled! > row.published ? q.range[0] : q.range[1];
        const f = ttftAt(end);
        expect(row.modeled! > row.published ? f >= row.published : f < row.published, at).toBe(true);
        continue;
      }
      const [a, b] = q.bracket;
      expect(ttftAt(a.scale), at).toBe(a.ttftMs);
      expect(ttftAt(b.scale), at).toBe(b.ttftMs);
      expect(a.ttftMs, at).toBeLessThan(row.published);
      expect(b.ttftMs, at).toBeGreaterThanOrEqual(row.published);
      expect(b.scale - a.scale, at).toBeLessThanOrEqual(0.001);
      expect(q.change, at).toBeCloseTo((a.scale + b.scale) / 2 - 1, 15);
      // The search's side: a modeled TTFT above the published one asks for a faster context.
      expect(Math.sign(q.change!), at).toBe(row.modeled! > row.published ? -1 : 1);
      // Monotone means every sample, sorted by scale, is non-decreasing.
      const sorted = [...q.samples].sort((x, y) => x.scale - y.scale);
      expect(q.monotone, at).toBe(sorted.every((x, i) => i === 0 || sorted[i - 1].ttftMs <= x.ttftMs));
    }
    // The second summary is the regime's, over the validation rows; the headline stays over all of them.
    const val = rep.rows.filter((r) => r.role === 'validation');
    expect(rep.summary.barRegime).toEqual(barRegimeSummary(val));
    const text = formatValidationReport(rep);
    const b = rep.summary.barRegime;
    expect(text).toContain(
      `in the bar's regime (the model's every station below 85 % of capacity, the load Vidur's fidelity is measured at): ` +
        `median |error| ${(b.medianAbsError! * 100).toFixed(1)} % over ${b.compared} rows; TTFT rows at capacity: ` +
        `${b.atCapacity.rows}, their median rate-equivalent error ${(b.atCapacity.medianAbsRateEquivalent! * 100).toFixed(1)} %`,
    );
    for (const r of ttftRows)
      if (r.rateEquivalent!.bracket !== null) expect(text).toContain('would give the published TTFT');
  }, 60_000);

  it('setting keys run a … z, aa, ab, … without running out', () => {
    expect([0, 1, 25, 26, 27, 51, 52, 701, 702].map(settingLetter)).toEqual([
      'a',
      'b',
      'z',
      'aa',
      'ab',
      'az',
      'ba',
      'zz',
      'aaa',
    ]);
    const n = 26 * 27 + 5;
    expect(new Set(Array.from({ length: n }, (_, i) => settingLetter(i))).size).toBe(n);
  });
});

describe('output', () => {
  it('the JSON shape is stable', () => {
    const j = JSON.parse(JSON.stringify(rep)) as Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(
      ['bar', 'modeled', 'profile', 'provenance', 'rows', 'runs', 'summary', 'tolerance'].sort(),
    );
    expect(j.modeled).toBe(true);
    for (const r of j.rows as Record<string, unknown>[])
      expect(Object.keys(r).sort()).toEqual(
        [
          'comparison',
          'differs',
          'error',
          'id',
          'modeled',
          'notModeled',
          'notes',
          'published',
          'quantity',
          'role',
          'runs',
          'setting',
          'source',
          'status',
          'unit',
          'withinTolerance',
          'loadDependent',
          'regime',
          'load',
          'rateEquivalent',
        ].sort(),
      );
    expect(Object.keys(j.summary as object).sort()).toEqual(['barRegime', 'calibration', 'validation']);
  });

  it('the text names the bar, every row, and the summary', () => {
    const text = formatValidationReport(rep);
    expect(text).toContain('MODELED');
    expect(text).toContain('Vidur');
    expect(text).toContain(`within tolerance: ${rep.summary.calibration.within} of ${rep.summary.calibration.of}`);
    for (const r of rep.rows) expect(text).toContain(r.quantity);
  });

  it('the CLI refuses options --validate does not read', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--validate', '--scenario', 'x'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain('--validate');
    expect(r.stderr.split('\n')[0]).toContain('--scenario');
  });
});
