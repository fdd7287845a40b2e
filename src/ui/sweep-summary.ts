// The sweep in numbers: one row per swept value with DWDP ÷ DEP and the breakdown that
// explains it (each strategy's makespan, DWDP's exposed pull wait, DEP's barrier wait, the
// share of pull time hidden), and the verdict in words — where the ratio crosses 1 along a
// numeric axis (interpolated), or, along a categorical one, at which values DWDP is ahead.
//
// Pure module (Node and browser).
import { crossovers, type Comparison } from './compare.ts';
import type { GroupRunResult } from '../strategies/types.ts';

export interface SweepRow {
  value: string;
  /** DWDP ÷ DEP. */
  gpuRatio: number;
  userRatio: number;
  depMakespanMs: number;
  dwdpMakespanMs: number;
  /** Means over ranks, ms. */
  dwdpComputeMs: number;
  dwdpPullWaitMs: number;
  depComputeMs: number;
  depBarrierMs: number;
  hiddenPullFraction: number;
}

export interface SweepSummary {
  numeric: boolean;
  /** Numeric axes: the values as numbers; categorical: their indices. */
  xs: number[];
  rows: SweepRow[];
  crossovers: number[];
  /** One sentence. */
  verdict: string;
}

const mean = (r: GroupRunResult, f: (k: GroupRunResult['ranks'][number]) => number) =>
  r.ranks.reduce((a, k) => a + f(k), 0) / Math.max(1, r.ranks.length);

const fmtRatio = (v: number) => `${v.toFixed(3)}×`;
const fmtX = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));

/** Null when the comparison has no sweep or lacks DWDP or DEP. */
export function sweepSummary(c: Comparison): SweepSummary | null {
  if (!c.sweep) return null;
  const i = c.strategies.indexOf('dwdp');
  const j = c.strategies.indexOf('dep');
  if (i < 0 || j < 0) return null;
  const numeric = c.points.every((p) => p.value !== null && p.value.trim() !== '' && Number.isFinite(Number(p.value)));
  const xs = c.points.map((p, k) => (numeric ? Number(p.value) : k));
  const rows: SweepRow[] = c.points.map((p) => {
    const dwdp = p.results[i];
    const dep = p.results[j];
    return {
      value: p.value ?? '',
      gpuRatio: dwdp.tpsPerGpu / dep.tpsPerGpu,
      userRatio: dwdp.tpsPerUser / dep.tpsPerUser,
      depMakespanMs: dep.makespanMs,
      dwdpMakespanMs: dwdp.makespanMs,
      dwdpComputeMs: mean(dwdp, (k) => k.computeMs),
      dwdpPullWaitMs: mean(dwdp, (k) => k.waitMs),
      depComputeMs: mean(dep, (k) => k.computeMs),
      depBarrierMs: mean(dep, (k) => k.syncMs),
      hiddenPullFraction: dwdp.hiddenPullFraction,
    };
  });
  const gpu = rows.map((r) => r.gpuRatio);
  const log = numeric && c.sweep.log && xs.every((x) => x > 0);
  const cross = numeric ? crossovers(xs, gpu, log) : [];
  const unit = c.sweep.unit ? ` ${c.sweep.unit}` : '';
  const lo = Math.min(...gpu);
  const hi = Math.max(...gpu);
  const range = `DWDP ÷ DEP TPS/GPU runs ${fmtRatio(gpu[0])} → ${fmtRatio(gpu[gpu.length - 1])} (${fmtRatio(lo)} to ${fmtRatio(hi)})`;
  let verdict: string;
  if (cross.length) verdict = `${range}; it crosses 1 at ${c.sweep.label} ≈ ${cross.map(fmtX).join(', ')}${unit}`;
  else if (gpu.every((g) => g > 1)) verdict = `${range}: DWDP ahead at every point`;
  else if (gpu.every((g) => g < 1)) verdict = `${range}: DWDP behind at every point`;
  else {
    const at = (f: (g: number) => boolean) =>
      rows
        .filter((r) => f(r.gpuRatio))
        .map((r) => r.value)
        .join(', ');
    const parts = [
      gpu.some((g) => g > 1) ? `ahead at ${at((g) => g > 1)}` : '',
      gpu.some((g) => g < 1) ? `behind at ${at((g) => g < 1)}` : '',
      gpu.some((g) => g === 1) ? `level at ${at((g) => g === 1)}` : '',
    ].filter(Boolean);
    verdict = `${range}: DWDP ${parts.join('; ')}${numeric ? '' : ` (${c.sweep.label} is categorical: no crossover to interpolate)`}`;
  }
  return { numeric, xs, rows, crossovers: cross, verdict };
}
