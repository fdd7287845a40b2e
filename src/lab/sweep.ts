// A sweep: every candidate configuration of a kernel on ONE prepared problem (same data),
// each checked against the reference before it is timed; the fastest correct one wins and
// is recorded in the tuning cache for this adapter and shape class.
import { adapterLabel, type Gpu } from '../gpu/index.ts';
import { checkProblem, timeProblem } from './measure.ts';
import { checkLabSizes } from './sizes.ts';
import { adapterKey, type ShapeClass, type TuningCache } from '../tuning/tuning-cache.ts';
import type { LabKernel, LabProblem, LabShape } from './types.ts';

export interface SweepRow {
  variant: string;
  /** Created, ran and matched the reference. */
  ok: boolean;
  relErr: number;
  medianMs: number;
  minMs: number;
  gflops: number | null;
  gbps: number | null;
  /** Why the candidate was rejected (creation error or failed check). */
  error?: string;
}

export interface SweepReport {
  kernel: string;
  shape: LabProblem['shape'];
  adapter: string;
  rows: SweepRow[];
  /** The fastest correct candidate (undefined when none passed). */
  best?: SweepRow;
  shapeClass?: ShapeClass;
  /** Where the winner was recorded, if it was. */
  recordedIn?: string;
}

export interface SweepOptions {
  seed: number;
  runs?: number;
  warmup?: number;
  /** Default: the kernel's sweepCandidates for this adapter and shape. */
  candidates?: string[];
  /** Where to record the winner; undefined: not recorded. */
  cache?: TuningCache;
  onRow?: (row: SweepRow) => void;
}

const failed = (variant: string, error: string, relErr = NaN): SweepRow => ({
  variant,
  ok: false,
  relErr,
  medianMs: NaN,
  minMs: NaN,
  gflops: null,
  gbps: null,
  error,
});

export async function sweepLab(
  gpu: Gpu,
  kernel: LabKernel<never>,
  shape: LabShape,
  opts: SweepOptions,
): Promise<SweepReport> {
  const candidates = opts.candidates ?? kernel.sweepCandidates?.(gpu, shape) ?? [];
  if (candidates.length === 0) throw new Error(`${kernel.name} has no configurations to sweep`);
  checkLabSizes(gpu, kernel.name, shape, { runs: opts.runs, warmup: opts.warmup });
  const rows: SweepRow[] = [];
  const push = (r: SweepRow) => {
    rows.push(r);
    opts.onRow?.(r);
  };
  let problem: LabProblem<never> | undefined;
  try {
    for (const variant of candidates) {
      try {
        if (!problem) problem = await kernel.prepare(gpu, shape, { variant, seed: opts.seed });
        else if (problem.setVariant) await problem.setVariant(variant);
        else {
          problem.destroy();
          problem = undefined;
          problem = await kernel.prepare(gpu, shape, { variant, seed: opts.seed });
        }
      } catch (e) {
        push(failed(variant, (e as Error).message.split('\n')[0]));
        continue;
      }
      const check = await checkProblem(gpu, problem);
      if (!check.ok) {
        push(failed(problem.variant, `wrong result: ${check.detail}`, check.relErr));
        continue;
      }
      const t = await timeProblem(gpu, problem, opts.runs ?? 3, opts.warmup ?? 1);
      push({
        variant: problem.variant,
        ok: true,
        relErr: check.relErr,
        medianMs: t.medianMs,
        minMs: t.minMs,
        gflops: problem.flops > 0 ? problem.flops / t.medianMs / 1e6 : null,
        gbps: problem.bytes > 0 ? problem.bytes / t.medianMs / 1e6 : null,
      });
    }
    const best = rows.filter((r) => r.ok).sort((a, b) => a.medianMs - b.medianMs)[0];
    const report: SweepReport = {
      kernel: kernel.name,
      shape: problem?.shape ?? {},
      adapter: adapterLabel(gpu.info),
      rows,
      best,
    };
    if (best && kernel.shapeClass) {
      report.shapeClass = kernel.shapeClass(shape);
      if (opts.cache) {
        await opts.cache.record(adapterKey(gpu.info), adapterLabel(gpu.info), {
          ...report.shapeClass,
          variant: best.variant,
          medianMs: best.medianMs,
          shape: JSON.stringify(report.shape),
          tried: rows.filter((r) => r.ok).length,
          measuredAt: new Date().toISOString(),
        });
        report.recordedIn = opts.cache.store.where;
      }
    }
    return report;
  } finally {
    problem?.destroy();
  }
}
