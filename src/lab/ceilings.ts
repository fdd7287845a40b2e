// This adapter's ceilings, measured in this process with the lab's own (checked) kernels
// and kept per device: the FMA loop for compute-bound kernels, the copy for memory-bound ones.
import type { Gpu } from '../gpu/index.ts';
import { copyLab } from './kernels/copy.ts';
import { peakLab } from './kernels/peak.ts';
import { checkProblem, timeProblem } from './measure.ts';
import { DEFAULT_SHAPE, type LabKernel } from './types.ts';

interface Ceilings {
  gflops?: Promise<number>;
  gbps?: Promise<number>;
}

const measured = new WeakMap<Gpu, Ceilings>();

const entry = (gpu: Gpu): Ceilings => {
  let c = measured.get(gpu);
  if (!c) measured.set(gpu, (c = {}));
  return c;
};

async function measure(
  gpu: Gpu,
  kernel: LabKernel<never>,
  runs: number,
): Promise<{ flops: number; bytes: number; ms: number }> {
  const p = await kernel.prepare(gpu, { ...DEFAULT_SHAPE }, { seed: 1 });
  try {
    const check = await checkProblem(gpu, p);
    if (!check.ok)
      throw new Error(
        `the ${kernel.name} ceiling kernel computed a wrong result (${check.detail}); its rate would mean nothing`,
      );
    const t = await timeProblem(gpu, p, runs);
    return { flops: p.flops, bytes: p.bytes, ms: t.medianMs };
  } finally {
    p.destroy();
  }
}

/** FMA ceiling, GFLOP/s (median of `runs`), measured once per device. */
export function fmaCeilingGflops(gpu: Gpu, runs = 3): Promise<number> {
  const c = entry(gpu);
  c.gflops ??= measure(gpu, peakLab as LabKernel<never>, runs).then((m) => m.flops / m.ms / 1e6);
  return c.gflops;
}

/** Copy bandwidth, GB/s of bytes read + written (median of `runs`), measured once per device. */
export function copyCeilingGBps(gpu: Gpu, runs = 3): Promise<number> {
  const c = entry(gpu);
  c.gbps ??= measure(gpu, copyLab as LabKernel<never>, runs).then((m) => m.bytes / m.ms / 1e6);
  return c.gbps;
}

/** Remember a ceiling measured by a lab run of the peak or copy kernel itself. */
export function noteCeiling(gpu: Gpu, kind: 'gflops' | 'gbps', value: number): void {
  entry(gpu)[kind] = Promise.resolve(value);
}
