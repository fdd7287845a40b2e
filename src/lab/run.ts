// One lab run: prepare a seeded random problem, check the kernel's result against the
// float64 reference, time N runs after warm-up, and set the rate against this adapter's
// ceiling (FMA loop for compute-bound kernels, copy bandwidth for memory-bound ones).
import { adapterLabel, type Gpu, type TimeSource } from '../gpu/index.ts';
import { copyCeilingGBps, fmaCeilingGflops, noteCeiling } from './ceilings.ts';
import { defaultCopyMiB } from './kernels/copy.ts';
import { checkProblem, timeProblem } from './measure.ts';
import { checkLabSizes } from './sizes.ts';
import type { Bound, LabKernel, LabKernelName, LabProblem, LabShape } from './types.ts';

export interface LabRunOptions {
  variant?: string;
  seed: number;
  runs?: number;
  warmup?: number;
  /** Measure the ceiling and the fraction of it (default true). */
  ceiling?: boolean;
}

/** What `npm run lab -- <kernel> --json` prints. Every number is measured here, on `adapter`. */
export interface LabResult {
  kernel: LabKernelName;
  shape: LabProblem['shape'];
  variant: string;
  variantSource: LabProblem['variantSource'];
  seed: number;
  relErr: number;
  tolerance: number;
  checkOk: boolean;
  check: string;
  medianMs: number;
  minMs: number;
  runs: number;
  timing: TimeSource;
  bound: Bound;
  flops: number;
  bytes: number;
  /** null where the kernel's work is not counted in that unit. */
  gflops: number | null;
  gbps: number | null;
  /** The ceiling of the kernel's bound (the other is null unless measured anyway). */
  ceilingGflops: number | null;
  ceilingGbps: number | null;
  fractionOfCeiling: number | null;
  adapter: string;
  measured: 'here';
  /** For format tables: 'format' of GEMM/decode runs. */
  format?: string;
}

/** Check, time and compare an already prepared problem. */
export async function measureProblem(
  gpu: Gpu,
  p: LabProblem,
  opts: Omit<LabRunOptions, 'variant'>,
): Promise<LabResult> {
  const check = await checkProblem(gpu, p);
  const t = await timeProblem(gpu, p, opts.runs ?? 5, opts.warmup ?? 1);
  const gflops = p.flops > 0 ? p.flops / t.medianMs / 1e6 : null;
  const gbps = p.bytes > 0 ? p.bytes / t.medianMs / 1e6 : null;
  // The ceiling kernels at their default size are their own ceiling; remember them for later runs.
  if (p.kernel === 'peak' && check.ok && gflops) noteCeiling(gpu, 'gflops', gflops);
  if (p.kernel === 'copy' && check.ok && gbps && p.shape.mib === defaultCopyMiB(gpu)) noteCeiling(gpu, 'gbps', gbps);
  let ceilingGflops: number | null = null;
  let ceilingGbps: number | null = null;
  if (opts.ceiling !== false) {
    if (p.bound === 'compute') ceilingGflops = await fmaCeilingGflops(gpu);
    else ceilingGbps = await copyCeilingGBps(gpu);
  }
  const fractionOfCeiling =
    p.bound === 'compute'
      ? gflops && ceilingGflops
        ? gflops / ceilingGflops
        : null
      : gbps && ceilingGbps
        ? gbps / ceilingGbps
        : null;
  return {
    kernel: p.kernel,
    shape: p.shape,
    variant: p.variant,
    variantSource: p.variantSource,
    seed: opts.seed,
    relErr: check.relErr,
    tolerance: check.tolerance,
    checkOk: check.ok,
    check: check.detail,
    medianMs: t.medianMs,
    minMs: t.minMs,
    runs: t.runs,
    timing: t.source,
    bound: p.bound,
    flops: p.flops,
    bytes: p.bytes,
    gflops,
    gbps,
    ceilingGflops,
    ceilingGbps,
    fractionOfCeiling,
    adapter: adapterLabel(gpu.info),
    measured: 'here',
    ...(typeof p.shape.format === 'string' ? { format: p.shape.format } : {}),
  };
}

export async function runLab(
  gpu: Gpu,
  kernel: LabKernel<never>,
  shape: LabShape,
  opts: LabRunOptions,
): Promise<LabResult> {
  checkLabSizes(gpu, kernel.name, shape, { runs: opts.runs, warmup: opts.warmup });
  const p = await kernel.prepare(gpu, shape, { variant: opts.variant, seed: opts.seed });
  try {
    return await measureProblem(gpu, p, opts);
  } finally {
    p.destroy();
  }
}
