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
// The noise floor. The control is a second f32 default: the same WGSL compiled into its own
// pipelines, with its own buffers, run in every round as one more entry. Its per-round ratios
// c_r = rate_r(control) / rate_r(f32 default) would all be 1 on a quiet, deterministic
// machine; their spread is what this run's rounds cannot resolve. Which of two identical
// kernels is called the control is arbitrary, so c and 1/c are equally likely and the band is
// mirrored around 1:
//
//   band            = [min(min_r c_r, 1 / max_r c_r), max(max_r c_r, 1 / min_r c_r)]
//                     (in logs: |ln x| ≤ max_r |ln c_r|; every c_r lies inside; printed, decides nothing)
//
// The decision. A row's per-round paired ratios x_r = rate_r(row) / rate_r(f32 default) and
// the control's c_r are ratios to the same reference in the same rounds; if the row were the
// f32 default again they would be two samples of one distribution. The Mann–Whitney U test
// (src/util/rank-test.ts: two-sided, exact, ties by mid-ranks) gives p, and
//
//   beyond noise    ⇔ p < NOISE_ALPHA (0.05)
//
// so two identical kernels are called "beyond noise" in at most 5 % of runs (each row tested
// alone: with k rows, up to k · 5 % of runs mark some row; the test takes the 2R ratios as
// exchangeable, docs/expert-gemm.md says what that leaves out). When the smallest p the rounds can
// reach (2 / C(2R, R) for R rounds: 0.1 at 3) is not below NOISE_ALPHA, the row is not marked.
// The band it replaces held a median of rounds against the extremes of single rounds, which
// let a row sitting above every control round (int8, 120–133 % of f32 in every process) pass as noise.
//
// Pure: the clock and the runs are given (bench/kernels-cpu.ts passes process.cpuUsage and
// GPU submissions; tests pass fakes).
import { mannWhitney } from '../src/util/rank-test.ts';
import { median } from '../src/util/stats.ts';

/** A row is "beyond noise" when the rank test's p is below this (the rate at which identical kernels would be). */
export const NOISE_ALPHA = 0.05;

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
  /**
   * 'default': the format's default variant (the f32 one is the reference); 'kind' / 'given':
   * others; 'control': the f32 default again, its own pipelines and buffers (the noise floor).
   */
  role: 'default' | 'kind' | 'given' | 'control';
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
  /**
   * The rank test of the row's per-round paired ratios against the control's (set on every
   * row but the reference and the control, when a control ran and paired with the reference):
   * its name, two-sided p, and the smallest p these rounds can reach.
   */
  test?: string;
  p?: number;
  minP?: number;
  /**
   * p ≥ NOISE_ALPHA (not shown to differ from the control); undefined where no test ran or
   * where minP ≥ NOISE_ALPHA (too few rounds for the test to ever decide).
   */
  withinNoise?: boolean;
}

/** Per round r: rate_r(row) / rate_r(ref); undefined when the two do not have the same number of rounds. */
export function pairedRatios(
  row: { flops: number; samplesS: readonly number[] },
  ref: { flops: number; samplesS: readonly number[] },
): number[] | undefined {
  if (row.samplesS.length !== ref.samplesS.length) return undefined;
  return row.samplesS.map((x, i) => row.flops / x / (ref.flops / ref.samplesS[i]));
}

/** What two identical kernels measured in the same rounds differ by (the header's band). */
export interface NoiseFloor {
  /** The control's ratio to the reference, one per round. */
  ratios: number[];
  median: number;
  min: number;
  max: number;
  /** The band mirrored around 1 (what identical kernels' single rounds spanned; information, not the decision). */
  low: number;
  high: number;
}

/** The noise floor of the control's per-round ratios (positive, finite, at least one). */
export function noiseFloor(ratios: readonly number[]): NoiseFloor {
  if (ratios.length === 0) throw new Error('noiseFloor: no per-round ratio (the control ran no round)');
  const bad = ratios.findIndex((r) => !(Number.isFinite(r) && r > 0));
  if (bad >= 0) throw new Error(`noiseFloor: round ${bad}'s ratio is ${ratios[bad]} (must be a finite number > 0)`);
  const min = Math.min(...ratios);
  const max = Math.max(...ratios);
  return {
    ratios: [...ratios],
    median: median(ratios),
    min,
    max,
    low: Math.min(min, 1 / max),
    high: Math.max(max, 1 / min),
  };
}

/** Whether a row is the f32 default: the reference of every share of f32 (and of the control). */
export const isReference = (r: { format: string; role: CpuMeasured['role'] }) =>
  r.format === 'f32' && r.role === 'default';

/** The f32 default among measured rows. */
const referenceRow = (rows: readonly CpuMeasured[]) => rows.find(isReference);

/**
 * The noise floor of the control among `rows` against the f32 default; undefined when either
 * did not run or their rounds do not pair. More than one control is refused.
 */
export function controlFloor(rows: readonly CpuMeasured[]): NoiseFloor | undefined {
  const controls = rows.filter((r) => r.role === 'control');
  if (controls.length > 1)
    throw new Error(
      `controlFloor: ${controls.length} control rows (${controls.map((c) => c.id).join(', ')}); one at most`,
    );
  const ref = referenceRow(rows);
  const ratios = controls[0] && ref && pairedRatios(controls[0], ref);
  return ratios && noiseFloor(ratios);
}

/**
 * Per row its rate and shares, against `fma` (the FMA loop's samples and FLOPs per run) and
 * the f32 default row, and (when a control row is among them) the rank test of its per-round
 * paired ratios against the control's: p, and within noise or beyond. Rows keep their order.
 */
export function ratioTable(rows: readonly CpuMeasured[], fma: { flops: number; samplesS: number[] }): CpuRatioRow[] {
  const rate = (flops: number, s: number) => flops / s / 1e9;
  const f = spread(fma.samplesS);
  const fmaRate = rate(fma.flops, f.median);
  const fmaBest = rate(fma.flops, f.min);
  const ref = referenceRow(rows);
  const refSpread = ref && spread(ref.samplesS);
  const floor = controlFloor(rows);
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
    }
    const paired = ref && pairedRatios(r, ref);
    if (paired) out.ofF32Paired = median(paired);
    if (floor && paired && r !== ref && r.role !== 'control') {
      const t = mannWhitney(paired, floor.ratios);
      out.test = t.test;
      out.p = t.p;
      out.minP = t.minP;
      if (t.minP < NOISE_ALPHA) out.withinNoise = t.p >= NOISE_ALPHA;
    }
    // Not against the control: it is the reference again, which the plain share already says.
    const same = rows.find(
      (o) => o.format === 'f32' && o.variant === r.variant && o !== ref && o !== r && o.role !== 'control',
    );
    if (same) out.ofF32SameVariant = g / rate(same.flops, spread(same.samplesS).median);
    return out;
  });
}
