// Timing a lab problem: N runs after warm-up, each the sum of its passes' GPU timestamps
// (host time per submission where the adapter has no timestamp-query), min and median;
// and the check run before it (poisoned outputs, one run, the reference check).
//
// Warm-up on a hardware GPU: the GPU idles while the host builds a problem and drops its
// clocks (an H200 timed its FMA loop at 11 instead of 63 TFLOP/s, 1/5.7 = idle/boost clock,
// after a few one-at-a-time warm-up runs). So warm-up runs there go in batches of ≥ ~20 ms,
// keeping the GPU busy, for `warmupMs` (default 500 ms). On a CPU-emulated adapter there is
// no clock to ramp: `warmup` single runs (default 1).
import { GpuTimer, type Gpu, type TimeSource } from '../gpu/index.ts';
import { median } from '../util/stats.ts';
import type { CheckResult, LabProblem } from './types.ts';

export interface Timing {
  medianMs: number;
  minMs: number;
  /** Every timed run (ms), in order. */
  samplesMs: number[];
  runs: number;
  /** Untimed runs actually made. */
  warmup: number;
  source: TimeSource;
}

/** Warm-up never makes more runs than this (kernels that allocate per encode stay bounded). */
const MAX_WARMUP_RUNS = 256;

async function submitUntimed(gpu: Gpu, p: LabProblem, count: number): Promise<void> {
  const commands: GPUCommandBuffer[] = [];
  for (let i = 0; i < count; i++) {
    const enc = gpu.device.createCommandEncoder({ label: `lab ${p.kernel} warm-up` });
    await p.encode(enc);
    commands.push(enc.finish());
  }
  gpu.device.queue.submit(commands);
  await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
}

async function warmUp(gpu: Gpu, p: LabProblem, runs: number, warmupMs: number): Promise<number> {
  if (runs <= 0) return 0;
  const start = performance.now();
  await submitUntimed(gpu, p, 1);
  const oneMs = Math.max(0.01, performance.now() - start);
  let done = 1;
  const batch = Math.max(1, Math.min(64, Math.ceil(20 / oneMs)));
  while (done < MAX_WARMUP_RUNS && (done < runs || performance.now() - start < warmupMs)) {
    const n = done < runs ? Math.min(batch, runs - done) : batch;
    await submitUntimed(gpu, p, n);
    done += n;
  }
  return done;
}

export async function timeProblem(
  gpu: Gpu,
  p: LabProblem,
  runs: number,
  warmup = 1,
  warmupMs = gpu.info.software ? 0 : 500,
): Promise<Timing> {
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`runs must be a positive integer (got ${runs})`);
  const warmed = await warmUp(gpu, p, warmup, warmupMs);
  const timer = new GpuTimer(gpu, Math.max(1, p.passes));
  const samples: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      const enc = gpu.device.createCommandEncoder({ label: `lab ${p.kernel}` });
      await p.encode(enc, timer);
      timer.resolve(enc);
      const t0 = performance.now();
      gpu.device.queue.submit([enc.finish()]);
      if (timer.source === 'host') {
        await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
        samples.push(performance.now() - t0);
      } else {
        samples.push([...(await timer.read()).values()].reduce((a, b) => a + b, 0));
      }
    }
  } finally {
    timer.destroy();
  }
  return {
    medianMs: median(samples),
    minMs: Math.min(...samples),
    samplesMs: samples,
    runs,
    warmup: warmed,
    source: timer.source,
  };
}

/** Fills buffers with 0xFFFFFFFF (f32 NaN, i32 -1, u32 max) so a result a kernel failed to write cannot pass. */
export function poison(gpu: Gpu, buffers: GPUBuffer[]): void {
  for (const b of buffers) {
    const chunk = new Uint32Array(Math.min(b.size, 1 << 22) / 4).fill(0xffffffff);
    for (let at = 0; at < b.size; at += chunk.byteLength) {
      gpu.device.queue.writeBuffer(b, at, chunk, 0, Math.min(chunk.length, (b.size - at) / 4));
    }
  }
}

/** Runs the kernel once on poisoned outputs and checks the result. */
export async function checkProblem(gpu: Gpu, p: LabProblem): Promise<CheckResult> {
  poison(gpu, p.outputs);
  const enc = gpu.device.createCommandEncoder({ label: `lab ${p.kernel} check` });
  await p.encode(enc);
  gpu.device.queue.submit([enc.finish()]);
  return p.check(await p.read());
}
