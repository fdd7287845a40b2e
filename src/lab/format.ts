// Plain-text reports of lab runs, sweeps and calibrations (every number says measured here).
import { formatTable, type Cell } from '../report/table.ts';
import type { CalibrationOutput } from './calibrate.ts';
import type { LabResult } from './run.ts';
import type { SweepReport } from './sweep.ts';

const sig = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : Number(x.toPrecision(digits)).toString();
const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const exp = (x: number): string => (Number.isFinite(x) ? x.toExponential(2) : String(x));

export function shapeText(shape: LabResult['shape']): string {
  return Object.entries(shape)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`)
    .join(' ');
}

export function formatResult(r: LabResult): string {
  const timing =
    r.timing === 'timestamp-query' ? 'GPU timestamp queries' : 'host time per submission (no timestamp-query)';
  const rate =
    r.bound === 'compute'
      ? `${sig(r.gflops)} GFLOP/s = ${pct(r.fractionOfCeiling)} of the FMA ceiling ${sig(r.ceilingGflops)} GFLOP/s` +
        (r.gbps !== null ? ` (${sig(r.gbps)} GB/s of minimum traffic)` : '')
      : `${sig(r.gbps)} GB/s = ${pct(r.fractionOfCeiling)} of the copy ceiling ${sig(r.ceilingGbps)} GB/s` +
        (r.gflops !== null ? ` (${sig(r.gflops)} GFLOP/s)` : '');
  return [
    `${r.kernel}: ${shapeText(r.shape)}`,
    `  seed ${r.seed} (rerun with --seed ${r.seed}); variant ${r.variant} (${r.variantSource})`,
    `  check: ${r.checkOk ? 'PASS' : 'FAIL'} — ${r.check}`,
    `  time: min ${sig(r.minMs, 4)} ms, median ${sig(r.medianMs, 4)} ms over ${r.runs} runs (${timing})`,
    `  rate: ${rate}`,
    `  measured here on ${r.adapter}; ceilings measured in this process`,
  ].join('\n');
}

export function formatSweep(s: SweepReport): string {
  const rows = s.rows.map((r): Cell[] => [
    r.variant === s.best?.variant && r.ok ? `${r.variant} *` : r.variant,
    r.ok ? 'ok' : 'rejected',
    sig(r.medianMs, 4),
    sig(r.minMs, 4),
    sig(r.gflops),
    sig(r.gbps),
    Number.isNaN(r.relErr) ? '-' : exp(r.relErr),
    r.error ?? '',
  ]);
  const out = [
    `sweep of ${s.kernel}: ${shapeText(s.shape)} — measured here on ${s.adapter}`,
    formatTable(['variant', 'check', 'median ms', 'min ms', 'GFLOP/s', 'GB/s', 'rel. err', 'note'], rows, {
      rightAlign: [false, false, true, true, true, true, true, false],
    }),
  ];
  if (!s.best) out.push('no candidate passed the check: nothing recorded');
  else {
    out.push(`best: ${s.best.variant} (${sig(s.best.medianMs, 4)} ms median)`);
    if (s.shapeClass) {
      const cls = `${s.shapeClass.kernel} ${s.shapeClass.base} R${s.shapeClass.rows}`;
      out.push(
        s.recordedIn ? `recorded for shape class '${cls}' in ${s.recordedIn}` : `not recorded (shape class '${cls}')`,
      );
    }
  }
  return out.join('\n');
}

export function formatCalibrationRun(c: CalibrationOutput): string {
  const rows = c.runs.map((r): Cell[] => [
    r.kernel,
    shapeText(r.shape),
    r.variant,
    sig(r.medianMs, 4),
    r.bound === 'compute' ? `${sig(r.gflops)} GFLOP/s` : `${sig(r.gbps)} GB/s`,
    exp(r.relErr),
  ]);
  return [
    `calibration samples — measured here on ${c.adapter}`,
    formatTable(['kernel', 'shape', 'variant', 'median ms', 'rate', 'rel. err'], rows, {
      rightAlign: [false, false, false, true, true, true],
    }),
    `device rates: GEMM ${sig(c.device.gemmGflops)} GFLOP/s (f32 grouped GEMM, the benchmark shape), ` +
      `copy ${sig(c.device.copyGBps)} GB/s (default-size copy, bytes read + written)`,
    `ceilings: FMA loop ${sig(c.ceilings.fmaGflops)} GFLOP/s, copy ${sig(c.ceilings.copyGBps)} GB/s`,
  ].join('\n');
}
