// CPU-second rounds: a measurement of kernel variants that survives a shared machine.
//
// On a CPU-emulated adapter (SwiftShader) a kernel's cost is the CPU time of the driver's
// worker threads. Wall-clock time on cores shared with other jobs mixes in their load;
// the process's own CPU time (user + system, every thread of the process, the driver's
// included) does much less. So every entry (kernel variants and the FMA loop) is run once
// per round, the rounds interleave the entries — forward on even rounds, backward on odd
// ones, so a drift in the machine's state (another job starting, caches, clocks) falls on
// every entry alike instead of on whichever ran last — and each entry's samples give a
// median and a min over rounds. Ratios between entries of the same rounds are the result:
//
//   rate            = FLOPs / CPU seconds                      (GFLOP per CPU second)
//   share of f32    = rate(row) / rate(f32 default row)        (median: from medians; min: from mins)
//   share of FMA    = rate(row) / rate(FMA loop)               (same)
//   paired share    = median over rounds r of rate_r(row) / rate_r(f32 default)
//                     (each round's own ratio: a drift common to both entries cancels)
//
// Pure: the clock and the runs are given (bench/kernels-cpu.ts passes process.cpuUsage and
// GPU submissions; tests pass fakes).
import { median } from '../src/util/stats.ts';

/** One thing measured per round: a run is one submission and the wait for its completion. */
export interface RoundEntry {
  id: string;
  run(): Promise<void>;
}

/** The entries in the order round `round` runs them: forward on even rounds, backward on odd ones. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (!(Number.isInteger(round) && round >= 0))
    throw new Error(`roundOrder: round must be an integer ≥ 0 (got ${round})`);
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

/**
 * Runs `rounds` rounds of every entry (roundOrder), each entry `runsPerRound` times in a row
 * per round; returns per entry id the clock's seconds per run, one sample per round.
 * `clock()` reads CPU seconds (monotone); `onRound` is told after each round (progress).
 */
export async function measureRounds(
  entries: readonly RoundEntry[],
  rounds: number,
  runsPerRound: number,
  clock: () => number,
  onRound?: (round: number) => void,
): Promise<Map<string, number[]>> {
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`rounds must be an integer ≥ 1 (got ${rounds})`);
  if (!(Number.isInteger(runsPerRound) && runsPerRound >= 1))
    throw new Error(`runs per round must be an integer ≥ 1 (got ${runsPerRound})`);
  const ids = new Set<string>();
  for (const e of entries) {
    if (ids.has(e.id)) throw new Error(`measureRounds: entry '${e.id}' given twice`);
    ids.add(e.id);
  }
  const samples = new Map<string, number[]>(entries.map((e) => [e.id, []]));
  for (let r = 0; r < rounds; r++) {
    for (const e of roundOrder(entries, r)) {
      const t0 = clock();
      for (let i = 0; i < runsPerRound; i++) await e.run();
      samples.get(e.id)!.push((clock() - t0) / runsPerRound);
    }
    onRound?.(r);
  }
  return samples;
}

/** Median and min of a sample (NaN for both when it is empty). */
export function spread(samples: readonly number[]): { median: number; min: number } {
  return { median: median(samples), min: samples.length ? Math.min(...samples) : NaN };
}

/** What one measured entry was, and its CPU seconds per run (one per round). */
export interface CpuMeasured {
  id: string;
  format: string;
  variant: string;
  /** 'default': the format's default variant (the f32 one is the reference); 'kind' / 'given': others. */
  role: 'default' | 'kind' | 'given';
  /** FLOPs of one run. */
  flops: number;
  samplesS: number[];
}

export interface CpuRatioRow {
  id: string;
  format: string;
  variant: string;
  role: CpuMeasured['role'];
  medianS: number;
  minS: number;
  /** FLOPs per CPU second / 1e9, from the median and from the min. */
  gflopsPerCpuS: number;
  bestGflopsPerCpuS: number;
  /** Share of the FMA loop's rate in the same rounds: median / median, min / min. */
  ofFma: number;
  ofFmaBest: number;
  /** Share of the f32 default's rate in the same rounds (undefined when no f32 default ran). */
  ofF32?: number;
  ofF32Best?: number;
  /** Median over rounds of the row's rate over the f32 default's rate in the same round. */
  ofF32Paired?: number;
  /** Share of the rate of f32 with the same variant, where that ran and is not the f32 default (e.g. wg vs wg). */
  ofF32SameVariant?: number;
}

/**
 * Per row its rate and shares, against `fma` (the FMA loop's samples and FLOPs per run) and
 * the f32 default row. Rows keep their order.
 */
export function ratioTable(rows: readonly CpuMeasured[], fma: { flops: number; samplesS: number[] }): CpuRatioRow[] {
  const rate = (flops: number, s: number) => flops / s / 1e9;
  const f = spread(fma.samplesS);
  const fmaRate = rate(fma.flops, f.median);
  const fmaBest = rate(fma.flops, f.min);
  const ref = rows.find((r) => r.format === 'f32' && r.role === 'default');
  const refSpread = ref && spread(ref.samplesS);
  return rows.map((r) => {
    const s = spread(r.samplesS);
    const g = rate(r.flops, s.median);
    const best = rate(r.flops, s.min);
    const out: CpuRatioRow = {
      id: r.id,
      format: r.format,
      variant: r.variant,
      role: r.role,
      medianS: s.median,
      minS: s.min,
      gflopsPerCpuS: g,
      bestGflopsPerCpuS: best,
      ofFma: g / fmaRate,
      ofFmaBest: best / fmaBest,
    };
    if (ref && refSpread) {
      out.ofF32 = g / rate(ref.flops, refSpread.median);
      out.ofF32Best = best / rate(ref.flops, refSpread.min);
      if (ref.samplesS.length === r.samplesS.length)
        out.ofF32Paired = median(r.samplesS.map((x, i) => rate(r.flops, x) / rate(ref.flops, ref.samplesS[i])));
    }
    const same = rows.find((o) => o.format === 'f32' && o.variant === r.variant && o !== ref && o !== r);
    if (same) out.ofF32SameVariant = g / rate(same.flops, spread(same.samplesS).median);
    return out;
  });
}
