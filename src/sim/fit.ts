// The rack model's calibration: named efficiency parameters fitted to the ONE calibration set,
// the DWDP paper's measured iteration breakdown (its Table 3, both columns; shared/paper-table3.md,
// declared once as TABLE3 in validate.ts). Every other published number is validation and never
// enters here.
//
// Model: the calibration run (RUNS.table3: one group of 4, ISL uniform in [0.8·8192, 8192],
// ≤ 32768 tokens per batch, contention fix off, split-weight on) through the cost model and the
// scheduler, with copy interference and stragglers on. Each fitted parameter is matched to the published
// category it governs; the model is deterministic, so the procedure is a fixed-point iteration
// from the sourced defaults (DEFAULT_EFFICIENCY) that converges to the same numbers every time:
//
//   attention      ×= modeled / published   DEP attention kernels        (compute-bound: t ∝ 1/eff)
//   gemm           ×= modeled / published   DEP dense GEMM
//   groupedGemm    ×= √(ratio DEP · ratio DWDP)   grouped GEMM, both columns
//   othersPasses   ×= published / modeled   DEP others                   (t ≈ passes × a pass)
//   allToAll       ×= modeled / published   DEP communication            (dispatch + combine ∝ bytes / rate)
//   link           ×= modeled / published   DWDP P2P busy time           (busy ∝ bytes / rate)
//   interference   += (published − modeled) / (overlapped compute)      DWDP compute, all four
//                                                                       compute categories
//   straggle       += (published − modeled) / (DEP compute · (H_N − 1))  DEP synchronization (a balanced
//                                                                       group of N waits θ·(H_N − 1) per
//                                                                       dispatch, θ = straggle × a layer's
//                                                                       compute; straggle.ts)
// (full steps first, then geometrically damped ones: see DAMPING)
//
// Fixed (sourced, not fitted): memory 0.8 (HBM), launchUs 4, collectiveUs 15. DEP's communication
// is fitted through the all-to-all's bandwidth, not its fixed cost per phase: at 32768-token
// batches the bytes dominate, and a fixed cost fitted there would be charged to every phase of
// every decode step (src/sim/e2e/generation.ts), whose messages are tiny. DEP's synchronization
// has two parts: what its batches and routing make the ranks differ by (at this setting the token
// cap gives every rank 4 requests of 6554–8192 tokens: ≈ 31 ms per iteration), and stragglers —
// each rank's MoE layer taking a random extra time (its mean in the compute efficiencies), the
// dispatch waiting for the slowest (src/timeline/straggle.ts). Only the delay's scale, straggle, is
// fitted, to the one published synchronization number; the law (exponential, independent,
// E[max of N] = θ·H_N, the wait beyond the mean θ·(H_N − 1)) is fixed.
//
// `npm run sim -- --fit-calibration` runs the procedure, prints parameters and residuals, and
// writes src/hardware/gb200-nvl72-fit.json, which the gb200-nvl72 profile reads as its default
// ("calibrated") efficiencies.

import { DEFAULT_EFFICIENCY, type Efficiency } from '../hardware/efficiency.ts';
import { formatTable } from '../report/table.ts';
import { harmonic } from '../timeline/straggle.ts';
import { RUNS, TABLE3, runModel, runValidation, type ValidateRow } from './validate.ts';

/** The parameters the fit sets, in the order it prints them. */
export const FITTED_KEYS = [
  'attention',
  'gemm',
  'groupedGemm',
  'othersPasses',
  'allToAll',
  'link',
  'interference',
  'straggle',
] as const satisfies readonly (keyof Efficiency)[];
export type FittedKey = (typeof FITTED_KEYS)[number];

/** The parameters the fit leaves at their sourced defaults (stored with the fit for provenance). */
export const FIXED_KEYS = ['memory', 'launchUs', 'collectiveUs'] as const satisfies readonly (keyof Efficiency)[];

/** What each fitted parameter is matched to (Table 3 rows). */
export const FIT_TARGETS: Readonly<Record<FittedKey, string>> = {
  attention: 'DEP attention',
  gemm: 'DEP dense GEMM',
  groupedGemm: 'grouped GEMM, DEP and DWDP (geometric mean of the two ratios)',
  othersPasses: 'DEP others',
  allToAll: 'DEP communication',
  link: 'DWDP P2P busy time',
  interference: 'DWDP compute (attention + grouped GEMM + dense GEMM + others)',
  straggle: 'DEP synchronization',
};

/** Stop when no parameter moves by more than this (relative), or after MAX_ITERATIONS. */
const CONVERGED = 1e-7;
const MAX_ITERATIONS = 60;
/**
 * Full steps first, then steps shrinking geometrically: the timeline answers the parameters
 * piecewise (where a pull starts and ends among the ops moves in jumps), so undamped updates of
 * the interference and grouped-GEMM factors cycle within a few percent of each other.
 */
const FULL_STEPS = 6;
const DAMPING = 0.6;
/** What the fit leaves alone, and why. */
const NOT_FITTED =
  "the law of the stragglers (exponential delays, independent per rank and dispatch) and where they arise (at DEP's dispatch " +
  'only): fixed, not fitted; memory, launchUs, collectiveUs: sourced';

/** Stored parameters keep this many significant digits. */
const DIGITS = 6;

export interface FitResult {
  profile: 'gb200-nvl72';
  parameters: Efficiency;
  iterations: number;
  converged: boolean;
  /** The calibration rows with the fitted parameters. */
  residuals: ValidateRow[];
  within: number;
  of: number;
}

const round = (x: number) => (x === 0 ? 0 : Number(x.toPrecision(DIGITS)));

/**
 * One iteration's update from the calibration run at `e`, each parameter moved `step` of the way
 * to its proposal; returns the largest relative move.
 */
function update(e: Efficiency, step: number): number {
  const o = runModel('table3', e);
  const dep = o.dep.breakdown;
  const dwdp = o.dwdp.breakdown;
  const pd = TABLE3.dep;
  const pw = TABLE3.dwdp;
  const old = { ...e };
  e.attention *= dep.attention / pd.attention!;
  e.gemm *= dep.denseGemm / pd.denseGemm!;
  e.groupedGemm *= Math.sqrt((dep.groupedGemm / pd.groupedGemm!) * (dwdp.groupedGemm / pw.groupedGemm!));
  e.othersPasses *= pd.others! / dep.others;
  e.allToAll *= dep.communication / pd.communication!;
  e.link *= o.dwdp.p2pBusyMs / pw.p2pBusy!;
  // Interference: the DWDP compute the paper measured beyond what the model computes, spread over
  // the nominal compute that overlaps copy activity (≈ the copy stream's busy time while pulls hide).
  const computeKeys = ['attention', 'groupedGemm', 'denseGemm', 'others'] as const;
  const published = computeKeys.reduce((a, k) => a + pw[k]!, 0);
  const modeled = computeKeys.reduce((a, k) => a + dwdp[k], 0);
  const overlapped = o.dwdp.p2pBusyMs / (1 + e.interference);
  e.interference = Math.max(0, e.interference + (published - modeled) / overlapped);
  // Stragglers: a balanced group of N waits θ·(H_N − 1) per dispatch, θ = straggle × the layer's
  // compute (less where the ranks are apart anyway).
  const hN = harmonic(RUNS.table3.params.groupSize!);
  e.straggle = Math.max(0, e.straggle + (pd.synchronization! - dep.synchronization) / (o.dep.computeMs * (hN - 1)));
  let moved = 0;
  for (const k of FITTED_KEYS) {
    e[k] = old[k] + step * (e[k] - old[k]);
    const d = Math.abs(e[k] - old[k]) / Math.max(Math.abs(old[k]), 1e-9);
    moved = Math.max(moved, d);
  }
  return moved;
}

/** Run the fit from the sourced defaults; deterministic. */
export function fitCalibration(): FitResult {
  const e: Efficiency = { ...DEFAULT_EFFICIENCY };
  let iterations = 0;
  let converged = false;
  while (iterations < MAX_ITERATIONS) {
    iterations++;
    const step = iterations <= FULL_STEPS ? 1 : Math.pow(DAMPING, iterations - FULL_STEPS);
    if (update(e, step) < CONVERGED) {
      converged = true;
      break;
    }
  }
  const parameters = Object.fromEntries(Object.entries(e).map(([k, v]) => [k, round(v)])) as unknown as Efficiency;
  const rep = runValidation({ roles: ['calibration'], efficiency: parameters });
  return {
    profile: 'gb200-nvl72',
    parameters,
    iterations,
    converged,
    residuals: rep.rows,
    within: rep.summary.calibration.within,
    of: rep.summary.calibration.of,
  };
}

/** The provenance line of a calibrated profile. */
export function fitDescription(p: Efficiency): string {
  const f = (k: FittedKey) => `${k} ${p[k]}`;
  return `calibrated on the paper's Table 3 (fit: ${FITTED_KEYS.map(f).join(', ')}; by npm run sim -- --fit-calibration)`;
}

/** Where the fit is stored: the data file the gb200-nvl72 profile reads. */
export const FIT_FILE_URL = new URL('../hardware/gb200-nvl72-fit.json', import.meta.url);

/** The data file the profile reads (src/hardware/gb200-nvl72-fit.json). */
export interface FitFile {
  describe: string;
  source: string;
  procedure: string;
  fixed: Partial<Efficiency>;
  parameters: Efficiency;
  targets: Record<FittedKey, string>;
  residuals: {
    id: string;
    published: number;
    modeled: number | null;
    error: number | null;
    withinTolerance: boolean | null;
  }[];
  notFitted: string;
}

export function fitFile(r: FitResult): FitFile {
  return {
    describe: fitDescription(r.parameters),
    source:
      'DWDP paper Table 3 (TensorRT-LLM tech blog 19): DeepSeek-R1 NVFP4, GB200 NVL72, DEP4 vs DWDP4, ISL 8192 ratio 0.8, ' +
      '≤32768 tokens/batch, fix off, split-weight on; ms per iteration (shared/paper-table3.md)',
    procedure: 'src/sim/fit.ts (npm run sim -- --fit-calibration), a fixed-point iteration from DEFAULT_EFFICIENCY',
    fixed: Object.fromEntries(FIXED_KEYS.map((k) => [k, r.parameters[k]])),
    parameters: r.parameters,
    targets: { ...FIT_TARGETS },
    residuals: r.residuals.map((x) => ({
      id: x.id,
      published: x.published,
      modeled: x.modeled === null ? null : round(x.modeled),
      error: x.error === null ? null : round(x.error),
      withinTolerance: x.withinTolerance,
    })),
    notFitted: NOT_FITTED,
  };
}

/** Parameters and residuals as text. */
export function formatFit(r: FitResult): string {
  const out: string[] = [];
  out.push(
    `MODELED on gb200-nvl72 — fit of named efficiencies to the paper's Table 3 (the calibration set, both columns); ` +
      `${r.converged ? 'converged' : 'NOT converged'} after ${r.iterations} iterations`,
  );
  out.push('');
  out.push(
    formatTable(
      ['parameter', 'default (sourced)', 'fitted', 'matched to'],
      FITTED_KEYS.map((k) => [k, DEFAULT_EFFICIENCY[k], r.parameters[k], FIT_TARGETS[k]]),
      { rightAlign: [false, true, true, false] },
    ),
  );
  out.push(`fixed (sourced): ${FIXED_KEYS.map((k) => `${k} ${r.parameters[k]}`).join(', ')}`);
  out.push('');
  const pct = (e: number | null) => (e === null ? '–' : `${e >= 0 ? '+' : ''}${(e * 100).toFixed(1)} %`);
  out.push(
    formatTable(
      ['calibration row', 'published', 'modeled', 'error', 'in tol.'],
      r.residuals.map((x) => [
        x.id,
        x.published,
        x.modeled === null ? '–' : x.modeled.toFixed(1),
        pct(x.error),
        x.withinTolerance ? 'yes' : 'NO',
      ]),
      { rightAlign: [false, true, true, true, false] },
    ),
  );
  out.push(
    `within tolerance: ${r.within} of ${r.of} (each category ±10 %, the iteration ±5 %, a published 0 within 1 % of the iteration)`,
  );
  out.push(`not fitted: ${NOT_FITTED}`);
  return out.join('\n');
}
