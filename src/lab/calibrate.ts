// Calibration data for the rack model: small problems of the ops the model can
// predict, measured here with the lab (checked against the reference, GPU timestamps), written
// in the JSON `npm run sim -- --calibrate FILE` reads (src/sim/calibration.ts):
//   { "device": { "gemmGflops", "copyGBps", "adapter" }, "samples": [ … ] }
// plus, ignored by the sim, what the model has no sample kind for yet ("notModeled": the
// attention core) and the ceilings. The device rates are this run's own measurements: GEMM
// GFLOP/s of the f32 grouped GEMM at the benchmark shape, copy GB/s of the default-size copy; those
// two samples therefore fit by construction, and the others test the model. The sizes suit the
// CPU-emulated adapter; on a hardware GPU they are launch-bound (tenths of a millisecond).
import { adapterLabel, type Gpu } from '../gpu/index.ts';
import type { CalibrationSample } from '../hardware/calibration-sample.ts';
import { copyCeilingGBps, fmaCeilingGflops } from './ceilings.ts';
import { LAB_REGISTRY } from './registry.ts';
import { runLab, type LabResult } from './run.ts';
import { DEFAULT_SHAPE, type LabKernelName, type LabShape } from './types.ts';

export interface CalibrationItem {
  name: string;
  kernel: LabKernelName;
  shape: Partial<LabShape>;
  /** The sim's sample for this measurement; undefined: the sim has no kind for it (notModeled). */
  sample(r: LabResult, s: LabShape): CalibrationSample | undefined;
  /** This item's rate is the device's gemmGflops / copyGBps. */
  reference?: 'gemm' | 'copy';
}

/** A grouped-GEMM measurement as the sim's expert-gemm sample, named `name (variant)`. */
export const gemmSample =
  (name: string) =>
  (r: LabResult, s: LabShape): CalibrationSample => ({
    name: `${name} (${r.variant})`,
    kind: 'expert-gemm',
    tokens: s.tokens,
    hidden: s.hidden,
    expertHidden: s.expertHidden,
    experts: s.experts,
    topk: s.topK,
    format: s.format,
    measuredMs: r.medianMs,
  });

/** The router as the rack model prices it: its logits GEMM (cost-model.ts routerWork). */
export const routerSample = (r: LabResult, s: LabShape): CalibrationSample => ({
  name: `router as GEMM ${s.tokens}×${s.experts}×${s.hidden} (${r.variant})`,
  kind: 'gemm',
  m: s.tokens,
  n: s.experts,
  k: s.hidden,
  measuredMs: r.medianMs,
});

/** A copy measurement: the bytes moved one way (a copy reads and writes each byte). */
export const copySample = (r: LabResult): CalibrationSample => ({
  name: `copy ${r.shape.mib} MiB`,
  kind: 'copy',
  bytes: r.bytes / 2,
  measuredMs: r.medianMs,
});

export const CALIBRATION_PLAN: readonly CalibrationItem[] = [
  {
    name: 'grouped GEMM f32 T128 H256 F128 E16 K4',
    kernel: 'expert-gemm',
    shape: { tokens: 128, hidden: 256, expertHidden: 128, experts: 16, topK: 4 },
    sample: gemmSample('grouped GEMM f32 T128'),
  },
  {
    name: 'grouped GEMM f32 T256 H512 F256 E32 K4',
    kernel: 'expert-gemm',
    shape: {},
    sample: gemmSample('grouped GEMM f32 T256'),
    reference: 'gemm',
  },
  {
    name: 'grouped GEMM nvfp4 T256 H512 F256 E32 K4',
    kernel: 'expert-gemm',
    shape: { format: 'nvfp4' },
    sample: gemmSample('grouped GEMM nvfp4 T256'),
  },
  {
    name: 'dense GEMM 256×512×256 (down pass, one expert)',
    kernel: 'expert-gemm',
    shape: { stage: 'down', experts: 1, topK: 1, skew: 0 },
    sample: (r, s) => ({
      name: `dense GEMM ${s.tokens}×${s.hidden}×${s.expertHidden} (${r.variant})`,
      kind: 'gemm',
      m: s.tokens,
      n: s.hidden,
      k: s.expertHidden,
      measuredMs: r.medianMs,
    }),
  },
  {
    name: 'router T256 H512 E32 K4',
    kernel: 'router',
    shape: {},
    sample: routerSample,
  },
  {
    name: 'copy 4 MiB',
    kernel: 'copy',
    shape: { mib: 4 },
    sample: copySample,
  },
  // The default size (16 MiB on a CPU-emulated adapter, 256 MiB on a GPU: past its caches) gives the copy rate.
  {
    name: 'copy, default size',
    kernel: 'copy',
    shape: {},
    sample: copySample,
    reference: 'copy',
  },
  {
    name: 'attention core 4×64, lengths 256/128/64',
    kernel: 'attention',
    shape: {},
    sample: (r, s) => ({
      name: `attention ${s.heads}×${s.headDim} [${s.lengths.join(',')}]`,
      kind: 'attention',
      heads: s.heads,
      headDim: s.headDim,
      lengths: [...s.lengths],
      measuredMs: r.medianMs,
    }),
  },
];

export interface CalibrationOutput {
  measured: 'here';
  adapter: string;
  date: string;
  device: { gemmGflops: number; copyGBps: number; adapter: string };
  samples: CalibrationSample[];
  /** Measured, but the rack model has no sample kind for them (yet). */
  notModeled: {
    name: string;
    kernel: string;
    shape: LabResult['shape'];
    flops: number;
    gflops: number | null;
    measuredMs: number;
  }[];
  ceilings: { fmaGflops: number; copyGBps: number };
  /** Every run behind the samples, as `npm run lab -- --json` prints it. */
  runs: LabResult[];
}

export interface CalibrateOptions {
  seed: number;
  runs?: number;
  plan?: readonly CalibrationItem[];
  onItem?: (item: CalibrationItem, r: LabResult) => void;
}

export async function measureCalibration(gpu: Gpu, opts: CalibrateOptions): Promise<CalibrationOutput> {
  const plan = opts.plan ?? CALIBRATION_PLAN;
  const samples: CalibrationSample[] = [];
  const notModeled: CalibrationOutput['notModeled'] = [];
  const runs: LabResult[] = [];
  let gemmGflops: number | undefined;
  let copyGBps: number | undefined;
  for (const item of plan) {
    const shape: LabShape = { ...DEFAULT_SHAPE, ...item.shape };
    const r = await runLab(gpu, LAB_REGISTRY[item.kernel], shape, {
      seed: opts.seed,
      runs: opts.runs ?? 3,
      ceiling: false,
    });
    if (!r.checkOk)
      throw new Error(
        `calibration: ${item.name} computed a wrong result (${r.check}); not writing timings of a broken kernel`,
      );
    runs.push(r);
    opts.onItem?.(item, r);
    const sample = item.sample(r, shape);
    if (sample) samples.push(sample);
    else
      notModeled.push({
        name: item.name,
        kernel: item.kernel,
        shape: r.shape,
        flops: r.flops,
        gflops: r.gflops,
        measuredMs: r.medianMs,
      });
    if (item.reference === 'gemm') gemmGflops = r.gflops ?? undefined;
    if (item.reference === 'copy') copyGBps = r.gbps ?? undefined;
  }
  const ceilings = { fmaGflops: await fmaCeilingGflops(gpu), copyGBps: await copyCeilingGBps(gpu) };
  const adapter = adapterLabel(gpu.info);
  return {
    measured: 'here',
    adapter,
    date: new Date().toISOString(),
    // Without reference items in the plan, fall back on the ceilings.
    device: { gemmGflops: gemmGflops ?? ceilings.fmaGflops, copyGBps: copyGBps ?? ceilings.copyGBps, adapter },
    samples,
    notModeled,
    ceilings,
    runs,
  };
}

/** The sim command that models a rack with this device's measured rates. */
export function thisDeviceSimArgs(device: CalibrationOutput['device']): string {
  const n = (x: number) => Number(x.toPrecision(4));
  return `--profile this-device --this-device-gflops ${n(device.gemmGflops)} --this-device-copy-gbps ${n(device.copyGBps)}`;
}
