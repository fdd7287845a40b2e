// Timing a lab problem: N runs after warm-up, each the sum of its passes' GPU timestamps
// (host time per submission where the adapter has no timestamp-query), min and median.
// Warm-up lasts at least `warmup` runs AND `warmupMs` of measured time (or twice that of
// wall time, when host overhead dominates): a hardware GPU left idle while the host builds a
// problem drops its clocks, and a handful of millisecond runs would time the clock ramp (an
// H200 read 11 TFLOP/s instead of 63 that way); on the CPU-emulated adapter one run of a
// real-sized kernel already exceeds it.
import { GpuTimer, type Gpu, type TimeSource } from '../gpu/index.ts';
import { median } from '../util/stats.ts';
import type { LabProblem } from './types.ts';

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

export async function timeProblem(gpu: Gpu, p: LabProblem, runs: number, warmup = 1, warmupMs = 100): Promise<Timing> {
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`runs must be a positive integer (got ${runs})`);
  const timer = new GpuTimer(gpu, Math.max(1, p.passes));
  const samples: number[] = [];
  let warmed = 0;
  let warmedMs = 0;
  const start = performance.now();
  try {
    while (samples.length < runs) {
      const enc = gpu.device.createCommandEncoder({ label: `lab ${p.kernel}` });
      await p.encode(enc, timer);
      timer.resolve(enc);
      const t0 = performance.now();
      gpu.device.queue.submit([enc.finish()]);
      let ms: number;
      if (timer.source === 'host') {
        await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
        ms = performance.now() - t0;
      } else {
        ms = [...(await timer.read()).values()].reduce((a, b) => a + b, 0);
      }
      const warming = warmed < warmup || (warmup > 0 && warmedMs < warmupMs && performance.now() - start < 2 * warmupMs);
      if (warming) {
        warmed++;
        warmedMs += ms;
      } else samples.push(ms);
    }
  } finally {
    timer.destroy();
  }
  return { medianMs: median(samples), minMs: Math.min(...samples), samplesMs: samples, runs, warmup: warmed, source: timer.source };
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
