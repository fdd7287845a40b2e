// Terminal report of a scenario result. Every table says it is modeled and on which profile.

import { formatTable, type Cell } from '../report/table.ts';
import { BREAKDOWN_COLUMNS } from '../timeline/categories.ts';
import { ROOFLINE_TEXT, calibrationText } from '../hardware/efficiency.ts';
import { PROFILES } from '../hardware/profiles.ts';
import type { CalibrationFit } from './calibration.ts';
import type { ScenarioResult, ScenarioRow } from './scenarios.ts';

// Below 0.01 ms (a kernel timed on a real GPU) two significant digits, not "0.00".
const ms = (x: number): string =>
  x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 0.01 || x === 0 ? x.toFixed(2) : x.toPrecision(2);
const ratio = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '∞');

function variedCell(r: ScenarioRow, key: string): Cell {
  const v = (r as unknown as Record<string, unknown>)[key];
  // A key without a default that this row leaves unset (maxBatchRequests: no cap; linkGBps: the profile's).
  if (v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number') return key === 'cv' ? `${(v * 100).toFixed(0)}%` : v;
  return String(v);
}

export function formatScenario(res: ScenarioResult): string {
  const out: string[] = [];
  // A measured profile's name says where its rates came from (a calibration file, or flags).
  const where = `${res.profile.name}${res.profile.measured ? ' — times modeled from these rates' : ''}`;
  // Roofline-mode rows run nothing calibrated: say so for them.
  const roofline = res.rows.filter((r) => r.roofline).length;
  const rooflineText = `ROOFLINE mode, nothing calibrated: ${ROOFLINE_TEXT}`;
  const how =
    roofline === res.rows.length
      ? rooflineText
      : `${calibrationText(PROFILES[res.profile.id] ?? res.profile)}${roofline > 0 ? `; rows with roofline on: ${rooflineText}` : ''}`;
  const set = res.efficiencyOverrides;
  const overrides =
    set.length > 0 ? `; efficiency set by the scenario, not by that calibration: ${set.join(', ')}` : '';
  out.push(`MODELED, not measured — profile: ${where}; ${how}${overrides}`);
  out.push(`scenario ${res.scenario}${res.description ? `: ${res.description}` : ''}`);
  if (res.model) out.push(`model: ${res.model}`);
  const serving = res.mode === 'serving';
  out.push(
    serving
      ? 'times per forward step of one rank (mean over non-empty steps), ms'
      : 'times per forward step of one rank (mean over ranks and steps), ms',
  );
  out.push('');
  const extra = res.varying.filter((k) => !['isl', 'batch', 'groupSize'].includes(k));
  const head = [
    'isl',
    'batch',
    'N',
    ...extra,
    't_compute',
    't_prefetch',
    'c/p',
    't_DEP',
    't_DWDP',
    'DEP/DWDP',
    'hidden',
    'TPS/GPU DEP',
    'TPS/GPU DWDP',
    'fits HBM',
  ];
  const rows = res.rows.map((r): Cell[] => [
    r.isl,
    serving ? r.batch.toFixed(2) : r.batch,
    r.groupSize,
    ...extra.map((k) => variedCell(r, k)),
    ms(r.tCompute),
    ms(r.tPrefetch),
    ratio(r.computeOverPrefetch),
    ms(r.tDep),
    ms(r.tDwdp),
    ratio(r.depOverDwdp),
    `${(r.hiddenPullFraction * 100).toFixed(0)}%`,
    Math.round(r.tpsPerGpu.dep),
    Math.round(r.tpsPerGpu.dwdp),
    `${r.fits.dep ? 'yes' : 'NO'}/${r.fits.dwdp ? 'yes' : 'NO'} (${r.memoryGB.dep.toFixed(0)}/${r.memoryGB.dwdp.toFixed(0)} GB)`,
  ]);
  out.push(formatTable(head, rows, { rightAlign: head.map((h) => h !== 'fits HBM') }));
  out.push(
    'c/p = t_compute / t_prefetch; DEP/DWDP > 1: DWDP is faster; hidden = share of pull time under compute; fits HBM = DEP/DWDP weights + KV',
  );
  out.push('');
  out.push(
    'where a step goes, ms (all but P2P busy add up to t_DEP and t_DWDP; P2P busy: the copy stream pulling into the rank):',
  );
  const bHead = ['isl', ...extra, 'strategy', ...BREAKDOWN_COLUMNS.map((c) => c.label)];
  const bRows: Cell[][] = [];
  for (const r of res.rows) {
    for (const s of ['dep', 'dwdp'] as const) {
      bRows.push([
        r.isl,
        ...extra.map((k) => variedCell(r, k)),
        s.toUpperCase(),
        ...BREAKDOWN_COLUMNS.map((c) => ms(r.breakdown[s][c.key])),
      ]);
    }
  }
  out.push(formatTable(bHead, bRows, { rightAlign: bHead.map((h) => h !== 'strategy') }));
  if (serving) {
    out.push('');
    out.push('serving (context phase), modeled:');
    const sHead = [
      'isl',
      ...extra,
      'strategy',
      'TPS/GPU',
      'TTFT mean',
      'TTFT p50',
      'TTFT p90',
      'req/step',
      'tokens/step',
      'makespan',
    ];
    const sRows: Cell[][] = [];
    for (const r of res.rows) {
      if (!r.serving) continue;
      for (const s of ['dep', 'dwdp'] as const) {
        const v = r.serving[s];
        sRows.push([
          r.isl,
          ...extra.map((k) => variedCell(r, k)),
          s.toUpperCase(),
          Math.round(v.tpsPerGpu),
          ms(v.ttftMs.mean),
          ms(v.ttftMs.p50),
          ms(v.ttftMs.p90),
          v.meanBatchRequests.toFixed(2),
          Math.round(v.meanBatchTokens),
          ms(v.makespanMs),
        ]);
      }
      sRows.push([
        r.isl,
        ...extra.map((k) => variedCell(r, k)),
        'DWDP/DEP',
        ratio(r.serving.dwdp.tpsPerGpu / r.serving.dep.tpsPerGpu),
        '',
        '',
        '',
        '',
        '',
        '',
      ]);
    }
    out.push(formatTable(sHead, sRows, { rightAlign: sHead.map((h) => h !== 'strategy') }));
  }
  out.push('');
  if (res.crossover) {
    const c = res.crossover;
    out.push(
      `crossover: DWDP overtakes DEP ${c.dwdpAhead} ${c.param} ≈ ${Number(c.estimate.toPrecision(3))} ` +
        `(between ${c.between[0]} and ${c.between[1]}, linear interpolation)`,
    );
  } else if (res.varies) {
    const r = res.rows.map((x) =>
      serving && x.serving ? x.serving.dwdp.tpsPerGpu / x.serving.dep.tpsPerGpu : x.depOverDwdp,
    );
    const lead = r.every((x) => x > 1)
      ? 'DWDP ahead on every row'
      : r.every((x) => x < 1)
        ? 'DEP ahead on every row'
        : 'no single crossover';
    out.push(`crossover: none in this ${res.varies} range (${lead})`);
  }
  return out.join('\n');
}

export function formatCalibration(fit: CalibrationFit): string {
  const rows = fit.rows.map((r): Cell[] => [r.name, r.bound, ms(r.predictedMs), ms(r.measuredMs), ratio(r.ratio)]);
  return [
    `calibration — predicted ms: MODELED (roofline, efficiency 1) on ${fit.profile.name}`,
    `              measured ms: MEASURED, the file's timings${fit.device.adapter ? ` on ${fit.device.adapter}` : ''}`,
    formatTable(['op', 'bound', 'predicted ms (modeled)', 'measured ms', 'measured/predicted'], rows, {
      rightAlign: [false, false, true, true, true],
    }),
    `fit: measured ≈ ${fit.scale.toFixed(3)} × predicted (geometric mean); spread of the ratios ${fit.spread.toFixed(2)}× (1 = one scale explains every op)`,
  ].join('\n');
}
