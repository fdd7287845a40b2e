// The lab view's results as rows of text: the unedited and the edited kernel side by side,
// every number with its unit, failures in words. The view (views/lab-view.ts) only lays
// them out.
//
// Pure module (Node and browser).
import type { LabResult } from '../lab/run.ts';
import type { LabFailure, LabRunReport, LabSide } from './lab-runner.ts';

export interface LabRow {
  /** Stable id (data attribute for tests and the headless driver). */
  id: string;
  label: string;
  original: string;
  edited: string;
}

const FAILURE_TITLE: Record<LabFailure['kind'], string> = {
  compile: 'WGSL compile error',
  validation: 'WebGPU validation error',
  'out-of-memory': 'out of GPU memory',
  'device-lost': 'the GPU device was lost',
  limit: 'beyond this adapter’s limits',
  cancelled: 'cancelled',
  error: 'error',
};

/** A failure as a sentence the page shows. */
export function failureText(f: LabFailure): string {
  if (f.kind === 'compile') {
    const n = f.diagnostics.length;
    const first = f.diagnostics[0];
    return `${FAILURE_TITLE.compile}${n > 1 ? `s (${n})` : ''}${first ? `: line ${first.line}:${first.column}: ${first.message}` : `: ${f.message}`}`;
  }
  if (f.kind === 'device-lost')
    return `${FAILURE_TITLE['device-lost']}: ${f.message}. The next run opens a new device.`;
  if (f.kind === 'cancelled') return 'cancelled';
  return `${FAILURE_TITLE[f.kind]}: ${f.message}`;
}

const sci = (v: number) => (v === 0 ? '0' : Number.isFinite(v) ? v.toExponential(2) : String(v));
const ms = (v: number) => `${v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3)} ms`;
const rate = (v: number | null, unit: string) =>
  v === null ? '—' : `${v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3)} ${unit}`;

/** The rows of one run: check, error, times, rate, ceiling, fraction, configuration. */
export function labRows(report: LabRunReport): LabRow[] {
  const sides = [report.original, report.edited] as const;
  const bound = report.original.ok
    ? report.original.result.bound
    : report.edited?.ok
      ? report.edited.result.bound
      : 'compute';
  const unit = bound === 'compute' ? 'GFLOP/s' : 'GB/s';
  const cell = (s: LabSide | null, f: (r: LabResult) => string): string =>
    s === null ? '—' : s.ok ? f(s.result) : '—';
  const row = (id: string, label: string, f: (r: LabResult) => string): LabRow => ({
    id,
    label,
    original: cell(sides[0], f),
    edited: cell(sides[1], f),
  });
  return [
    {
      id: 'check',
      label: 'check vs float64 reference',
      original: checkText(sides[0]),
      edited: sides[1] === null ? 'no edits' : checkText(sides[1]),
    },
    row('rel-err', 'relative error (Frobenius)', (r) => `${sci(r.relErr)} (tolerance ${sci(r.tolerance)})`),
    row('min-ms', 'min time per run', (r) => ms(r.minMs)),
    row(
      'median-ms',
      `median time per run`,
      (r) => `${ms(r.medianMs)} (${r.runs} run${r.runs === 1 ? '' : 's'}, ${r.timing})`,
    ),
    row('rate', bound === 'compute' ? 'compute rate' : 'memory rate', (r) =>
      rate(bound === 'compute' ? r.gflops : r.gbps, unit),
    ),
    row('ceiling', bound === 'compute' ? 'ceiling: FMA loop' : 'ceiling: copy bandwidth', (r) =>
      rate(bound === 'compute' ? r.ceilingGflops : r.ceilingGbps, unit),
    ),
    row('fraction', 'fraction of the ceiling', (r) =>
      r.fractionOfCeiling === null ? '—' : `${(100 * r.fractionOfCeiling).toFixed(1)} %`,
    ),
    row('variant', 'configuration', (r) => `${r.variant} (${r.variantSource})`),
  ];
}

function checkText(s: LabSide): string {
  if (!s.ok) return failureText(s.failure);
  return `${s.result.checkOk ? 'pass' : 'FAIL'}: ${s.result.check}`;
}

/** Edited ÷ unedited speed (median times), when both ran. */
export function labSpeedup(report: LabRunReport): number | null {
  const [o, e] = [report.original, report.edited];
  if (!o.ok || !e?.ok || !(e.result.medianMs > 0)) return null;
  return o.result.medianMs / e.result.medianMs;
}
