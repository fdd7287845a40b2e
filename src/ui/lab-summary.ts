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

/** One side's times over the A/B rounds, ms. */
export interface LabAbSide {
  minMs: number;
  medianMs: number;
  maxMs: number;
  /** (max − min) ÷ median. */
  spread: number;
}

/**
 * The interleaved A/B rounds of a lab run (lab-runner.ts), summarized. Round i pairs the
 * unedited time a_i with the edited time b_i taken just after it, so a drift of the adapter's
 * speed reaches both; the speed is the median of the paired ratios a_i ÷ b_i (edited ÷ unedited
 * speed; the lower of the two middle ones for an even count, so it is one round's ratio), with
 * their min and max.
 *
 *   within noise  some round has the edit faster and another has it slower (the ratios' range
 *                 holds 1), or the two sides' time ranges overlap: the rounds do not tell them apart.
 */
export interface LabAb {
  rounds: number;
  original: LabAbSide;
  edited: LabAbSide;
  speedup: number;
  speedupMin: number;
  speedupMax: number;
  withinNoise: boolean;
}

const lowerMedian = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];

function abSide(ms: readonly number[]): LabAbSide {
  const minMs = Math.min(...ms);
  const maxMs = Math.max(...ms);
  const medianMs = lowerMedian(ms);
  return { minMs, medianMs, maxMs, spread: (maxMs - minMs) / medianMs };
}

/** The A/B summary, or null when the run has no rounds (no edit, a side failed, or a round was cancelled). */
export function labAb(report: Pick<LabRunReport, 'ab'>): LabAb | null {
  const ab = report.ab;
  if (!ab || ab.originalMs.length === 0 || ab.originalMs.length !== ab.editedMs.length) return null;
  const ratios = ab.originalMs.map((a, i) => a / ab.editedMs[i]);
  const original = abSide(ab.originalMs);
  const edited = abSide(ab.editedMs);
  const speedupMin = Math.min(...ratios);
  const speedupMax = Math.max(...ratios);
  const overlap = original.minMs <= edited.maxMs && edited.minMs <= original.maxMs;
  return {
    rounds: ratios.length,
    original,
    edited,
    speedup: lowerMedian(ratios),
    speedupMin,
    speedupMax,
    withinNoise: (speedupMin <= 1 && 1 <= speedupMax) || overlap,
  };
}

/** The A/B result in words, as the lab shows it. */
export function labAbText(a: LabAb): string {
  const side = (s: LabAbSide) =>
    `min ${s.minMs.toPrecision(3)} / median ${s.medianMs.toPrecision(3)} ms, spread ${(100 * s.spread).toFixed(0)} %`;
  return (
    `Edited kernel: ${a.speedup.toFixed(3)}× the unedited one’s speed (median of ${a.rounds} interleaved rounds, ` +
    `per round ${a.speedupMin.toFixed(3)}–${a.speedupMax.toFixed(3)}×; unedited ${side(a.original)}; edited ${side(a.edited)}) — ` +
    (a.withinNoise
      ? 'within noise: the rounds do not tell the two apart.'
      : `${a.speedup > 1 ? 'faster' : 'slower'} in every round, beyond both sides’ spread.`)
  );
}

/** Edited ÷ unedited speed (median times), when both ran. */
export function labSpeedup(report: LabRunReport): number | null {
  const [o, e] = [report.original, report.edited];
  if (!o.ok || !e?.ok || !(e.result.medianMs > 0)) return null;
  return o.result.medianMs / e.result.medianMs;
}
