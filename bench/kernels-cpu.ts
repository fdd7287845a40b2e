// npm run bench:kernels -- --cpu-seconds: the grouped expert GEMM's variants and formats
// measured in CPU seconds of this process (bench/cpu-rounds.ts says why and how), the way
// the decode rounds in docs/expert-gemm.md were measured. Per shape: every variant is built,
// run once and checked against the float64 reference (a wrong kernel's speed means nothing),
// run once more untimed, then all of them and the FMA loop go through interleaved rounds.
// Unless --no-control, the f32 default is entered a second time (the control: same WGSL, its
// own pipelines and buffers, the last entry of each round), and its per-round ratio to the
// f32 default is this run's noise floor (cpu-rounds.ts). Prints the table (rate, share of the
// FMA loop, share of f32's rate: median and min; paired share, and the rank test's p against
// the control: within noise or beyond) and the noise floor, and writes JSON (default results/bench-kernels-cpu.json).
import { loadavg } from 'node:os';
import { UsageError } from '../src/cli/args.ts';
import { adapterLabel, builtProgram, setPipelineOverride, watchPipelineKeys, type Gpu } from '../src/gpu/index.ts';
import { GroupedExpertGemm, variantName, variantProblem, type GemmVariant } from '../src/kernels/expert-gemm.ts';
import { variantTextProblem } from '../src/kernels/gemm-variant.ts';
import {
  VARIANT_FAMILIES,
  buildGemmProblem,
  createShapeGemm,
  encodeProblem,
  gemmFlops,
  readY,
  shapeLabel,
  type GemmProblem,
  type GemmShape,
} from '../src/kernels/gemm-tuning.ts';
import { checkGemm, gemmReferenceRows, gemmTolerance } from '../src/lab/kernels/expert-gemm.ts';
import { peakLab } from '../src/lab/kernels/peak.ts';
import { poison } from '../src/lab/measure.ts';
import { DEFAULT_SHAPE } from '../src/lab/types.ts';
import type { WeightFormat } from '../src/model/formats.ts';
import { formatTable, type Cell } from '../src/report/table.ts';
import { variantOriginText } from '../src/tuning/tuning-cache.ts';
import { writeFileAtomic } from '../src/util/output-path.ts';
import { processCpuMs } from '../src/util/cpu-time.ts';
import { MANN_WHITNEY, smallestP } from '../src/util/rank-test.ts';
import {
  NOISE_ALPHA,
  controlFloor,
  isReference,
  measureRounds,
  ratioTable,
  spread,
  type CpuMeasured,
  type CpuRatioRow,
  type NoiseFloor,
  type RoundEntry,
} from './cpu-rounds.ts';

/** `--variants`: 'all' (default + one per tile kind), 'default', or a comma list of variants run beside each default. */
export type VariantsChoice = 'all' | 'default' | string[];

/** Parses `--variants`, every listed variant checked against the grammar (a UsageError naming the flag). */
export function parseVariantsArg(raw: string | undefined): VariantsChoice {
  if (raw === undefined || raw === 'all') return 'all';
  if (raw === 'default') return 'default';
  const list = raw.split(',').map((s) => s.trim());
  for (const s of list) {
    if (s === '' || s === 'all' || s === 'default')
      throw new UsageError(
        `--variants: '${raw}' mixes a list with '${s || '(empty)'}' (give 'all', 'default', or variants like sx4:8x4:2x2,sw4:4x8:2x2)`,
      );
    const why = variantTextProblem(s);
    if (why !== undefined) throw new UsageError(`--variants: ${why}`);
  }
  return list;
}

/** The variants measured beside each format's default: one per tile kind ('all'), none ('default'), or the given list. */
export function otherVariants(choice: VariantsChoice): { what: string; variant: string; role: 'kind' | 'given' }[] {
  if (choice === 'all') return VARIANT_FAMILIES.map((f) => ({ ...f, role: 'kind' }));
  if (choice === 'default') return [];
  return choice.map((variant) => ({ what: 'given', variant, role: 'given' }));
}

/** The process's CPU seconds so far, every thread (the driver's worker threads included). */
const processCpuSeconds = (): number => processCpuMs() / 1000;

/**
 * Relative error of y on a sample of rows against the float64 reference (the full one costs
 * seconds); beyond the GEMM tolerance it throws (a wrong kernel's speed means nothing).
 */
export function sampledError(p: GemmProblem, y: Float32Array, variant: GemmVariant, rowsToCheck = 48): number {
  const rows = p.shape.tokens * p.shape.topK;
  const pick = new Set<number>();
  for (let i = 0; pick.size < Math.min(rowsToCheck, rows); i++)
    pick.add(Math.floor((((i * 2654435761) % 4294967296) / 4294967296) * rows));
  const tolerance = gemmTolerance(variant);
  const { relErr } = checkGemm(gemmReferenceRows(p, 'both', [...pick]), y, rows, tolerance);
  if (!(relErr <= tolerance))
    throw new Error(
      `${p.format} ${variantName(variant)}: relative error ${relErr} against the float64 reference, tolerance ${tolerance}`,
    );
  return relErr;
}

export interface CpuSecondsOptions {
  shapes: { name: string; shape: GemmShape }[];
  formats: WeightFormat[];
  /** `--variant`: replaces each format's default. */
  variant?: string;
  variants: VariantsChoice;
  rounds: number;
  runsPerRound: number;
  skew: number;
  /** The identical-kernel control (default on; `--no-control` turns it off). */
  control: boolean;
  out: string;
}

interface Built {
  measured: CpuMeasured;
  gemm: GroupedExpertGemm;
  problem: GemmProblem;
  relErr: number;
}

const submitAndWait = async (gpu: Gpu, encode: (enc: GPUCommandEncoder) => void | Promise<void>) => {
  const enc = gpu.device.createCommandEncoder({ label: 'bench:kernels --cpu-seconds' });
  await encode(enc);
  gpu.device.queue.submit([enc.finish()]);
  await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
};

/** A load average reading and when it was taken ("start", "after shape bench"). */
export interface LoadReading {
  at: string;
  /** The 1-minute load average (os.loadavg()[0]). */
  load1m: number;
}

const loadReading = (at: string): LoadReading => ({ at, load1m: loadavg()[0] });

/**
 * Builds every wanted variant of every format at one shape, each checked against the float64
 * reference on a poisoned output first. Variants this adapter cannot run go to `notSupported`
 * (once each, with the reason); a variant that resolves to one already built is dropped.
 * Pushes into `built` and `problems` as it goes, so the caller frees them even on failure.
 */
/** The seed of every shape's GEMM problems: the control's must be the f32 default's (same inputs, same routing). */
const PROBLEM_SEED = 7;

async function buildShapeVariants(
  gpu: Gpu,
  o: CpuSecondsOptions,
  shape: GemmShape,
  notSupported: string[],
  built: Built[],
  problems: GemmProblem[],
): Promise<void> {
  const label = shapeLabel(shape);
  const flops = gemmFlops(shape);
  const wanted: { variant?: string; role: CpuMeasured['role'] }[] = [
    { variant: o.variant, role: 'default' },
    ...otherVariants(o.variants),
  ];
  for (const format of o.formats) {
    const problem = buildGemmProblem(gpu, shape, format, { seed: PROBLEM_SEED, skew: o.skew });
    problems.push(problem);
    const names = new Set<string>();
    for (const w of wanted) {
      const why = w.variant === undefined ? undefined : variantProblem(gpu, w.variant);
      if (why !== undefined) {
        // Entries are 'variant: reason'; variant names hold colons but never ': ' (sx4:8x4:2x2 vs sx4:8x4:2x2:quad).
        if (!notSupported.some((n) => n.startsWith(`${w.variant}: `))) notSupported.push(`${w.variant}: ${why}`);
        continue;
      }
      const gemm = await createShapeGemm(gpu, shape, format, w.variant);
      const v = variantName(gemm.variant);
      if (names.has(v)) {
        gemm.destroy();
        continue;
      }
      names.add(v);
      const relErr = await checkedRun(gpu, gemm, problem);
      process.stdout.write(
        `  ${label} ${format} ${v} (${variantOriginText(gemm.origin)}): checked, rel. error ${relErr.toExponential(1)}\n`,
      );
      built.push({
        measured: { id: `${format} ${v}`, format, variant: v, role: w.role, flops, samplesS: [] },
        gemm,
        problem,
        relErr,
      });
    }
  }
  const ref = built.find((b) => isReference(b.measured));
  if (!o.control || !ref) return;
  // The control: its own problem (same seed and routing, its own buffers) and its own pipelines.
  const problem = buildGemmProblem(gpu, shape, 'f32', { seed: PROBLEM_SEED, skew: o.skew });
  problems.push(problem);
  const gemm = await createControlGemm(gpu, shape, o.variant);
  const v = variantName(gemm.variant);
  let relErr: number;
  try {
    if (v !== ref.measured.variant)
      throw new Error(`control: resolved to ${v}, not the f32 default's ${ref.measured.variant}`);
    relErr = await checkedRun(gpu, gemm, problem);
  } catch (e) {
    gemm.destroy(); // not yet in `built`, which the caller frees
    throw e;
  }
  process.stdout.write(
    `  ${label} f32 ${v} (control: the f32 default again, its own pipelines and buffers): checked, rel. error ${relErr.toExponential(1)}\n`,
  );
  built.push({
    measured: { id: `f32 ${v} (control)`, format: 'f32', variant: v, role: 'control', flops, samplesS: [] },
    gemm,
    problem,
    relErr,
  });
}

/**
 * The f32 default built a second time from the same WGSL into pipelines of its own. The
 * pipeline cache would hand back the very pipelines of the first (same key), so while the
 * control is created, the program each of those keys was built from is set as that key's
 * override (the shader lab's hook): the same text compiled under another cache key. The
 * overrides are cleared after, failure included.
 */
export async function createControlGemm(
  gpu: Gpu,
  shape: GemmShape,
  variant: string | undefined,
): Promise<GroupedExpertGemm> {
  const watch = watchPipelineKeys();
  const probe = await createShapeGemm(gpu, shape, 'f32', variant); // cache hits: it only names the keys
  const keys = watch.stop();
  probe.destroy();
  const programs = keys.map((key) => {
    const program = builtProgram(key);
    if (!program)
      throw new Error(`control: no program built under pipeline key '${key}' (the f32 default is built first)`);
    return { key, code: program.code };
  });
  for (const p of programs) setPipelineOverride(p.key, p.code);
  try {
    return await createShapeGemm(gpu, shape, 'f32', variant);
  } finally {
    for (const p of programs) setPipelineOverride(p.key, undefined);
  }
}

/** One run on a poisoned output (NaN everywhere, so a stale y cannot pass), checked against the float64 reference. */
async function checkedRun(gpu: Gpu, gemm: GroupedExpertGemm, problem: GemmProblem): Promise<number> {
  poison(gpu, [problem.buffers.y]);
  await submitAndWait(gpu, (enc) => encodeProblem(gemm, problem, enc));
  return sampledError(problem, await readY(gpu, problem), gemm.variant);
}

/** The interleaved rounds of the FMA loop and every built variant at one shape; prints its table, returns its JSON. */
async function measureShape(
  gpu: Gpu,
  o: CpuSecondsOptions,
  name: string,
  shape: GemmShape,
  fmaProblem: { flops: number; encode: (enc: GPUCommandEncoder) => void },
  built: Built[],
): Promise<object> {
  const label = shapeLabel(shape);
  const entries: RoundEntry[] = [
    { id: 'FMA loop', run: () => submitAndWait(gpu, (enc) => fmaProblem.encode(enc)) },
    ...built.map((b) => ({
      id: b.measured.id,
      run: () => submitAndWait(gpu, (enc) => encodeProblem(b.gemm, b.problem, enc)),
    })),
  ];
  for (const e of entries) await e.run(); // one untimed run each after the check
  const samples = await measureRounds(entries, o.rounds, o.runsPerRound, processCpuSeconds, (r) =>
    process.stdout.write(`  round ${r + 1}/${o.rounds} done (load average ${loadavg()[0].toFixed(1)})\n`),
  );
  for (const b of built) b.measured.samplesS = samples.get(b.measured.id)!;
  const fma = { flops: fmaProblem.flops, samplesS: samples.get('FMA loop')! };
  const measured = built.map((b) => b.measured);
  const table = ratioTable(measured, fma);
  const floor = controlFloor(measured);
  printTable(label, table, fma, floor, o.control);
  const f = spread(fma.samplesS);
  const control = built.find((b) => b.measured.role === 'control');
  return {
    name,
    shape,
    label,
    flops: gemmFlops(shape),
    fma: { ...fma, medianS: f.median, minS: f.min, gflopsPerCpuS: fma.flops / f.median / 1e9 },
    rows: table.map((r, i) => ({
      ...r,
      origin: built[i].gemm.origin,
      samplesS: built[i].measured.samplesS,
      relErr: built[i].relErr,
    })),
    control: floor && control ? { id: control.measured.id, variant: control.measured.variant, ...floor } : null,
  };
}

/** Runs the CPU-second rounds for every shape; prints the tables, writes the JSON. */
export async function runCpuSeconds(gpu: Gpu, o: CpuSecondsOptions): Promise<void> {
  const adapter = adapterLabel(gpu.info);
  const measuredHere = `measured here (${adapter}), CPU seconds`;
  const t0 = performance.now();
  const load: LoadReading[] = [loadReading('start')];
  process.stdout.write(
    `${measuredHere} of this process (every thread, the driver's included) per run of gate_up + down; ` +
      `${o.rounds} rounds, entries interleaved (forward, then backward), ${o.runsPerRound} run(s) per entry per round; ` +
      `load average ${load[0].load1m.toFixed(1)} at the start.\n`,
  );
  const fmaProblem = await peakLab.prepare(gpu, { ...DEFAULT_SHAPE }, { seed: 1 });
  const shapesOut: object[] = [];
  const notSupported: string[] = [];
  try {
    for (const { name, shape } of o.shapes) {
      const built: Built[] = [];
      const problems: GemmProblem[] = [];
      try {
        await buildShapeVariants(gpu, o, shape, notSupported, built, problems);
        shapesOut.push(await measureShape(gpu, o, name, shape, fmaProblem, built));
        load.push(loadReading(`after shape ${name}`));
      } finally {
        for (const b of built) b.gemm.destroy();
        for (const p of problems) p.destroy();
      }
    }
  } finally {
    fmaProblem.destroy();
  }
  for (const n of notSupported) process.stdout.write(`not supported on this adapter: ${n}\n`);
  process.stdout.write(
    `\nAll numbers ${measuredHere}: ratios between entries of the same rounds carry over; absolute CPU times depend on this machine. ` +
      `Load average ${load.map((l) => `${l.load1m.toFixed(1)} (${l.at})`).join(' → ')}.\n`,
  );
  const json = {
    bench: 'kernels --cpu-seconds',
    measured: measuredHere,
    adapter,
    adapterInfo: gpu.info,
    timing: "CPU seconds of this process (process.cpuUsage: user + system, every thread, the driver's included)",
    date: new Date().toISOString(),
    rounds: o.rounds,
    runsPerRound: o.runsPerRound,
    order: 'entries interleaved per round: forward on even rounds, backward on odd ones',
    skew: o.skew,
    flops: 'FLOPs = 2·T·K·3·H·F (gate, up, down); the FMA loop: its own FLOPs per run',
    loadAverage: load,
    noise: o.control
      ? 'control: the f32 default entered again (same WGSL, its own pipelines and buffers); per shape control.ratios holds its rate over ' +
        "the f32 default's in each round, control.low … control.high their spread mirrored around 1 (information); per row test, p, minP: " +
        `${MANN_WHITNEY} test of the row's per-round paired shares of f32 against control.ratios, minP the smallest p those rounds can reach; ` +
        `withinNoise: p ≥ ${NOISE_ALPHA} (absent when minP ≥ ${NOISE_ALPHA}: too few rounds)`
      : 'no control (--no-control)',
    shapes: shapesOut,
    notSupported,
    seconds: (performance.now() - t0) / 1000,
  };
  await writeFileAtomic(o.out, JSON.stringify(json, null, 2) + '\n');
  process.stdout.write(`wrote ${o.out} (${json.seconds.toFixed(0)} s)\n`);
}

/**
 * The printed table: per row CPU ms, rate, share of the FMA loop and of f32's rate, each
 * median (min), and the paired share of f32's rate (median of the per-round ratios).
 */
export function cpuTableText(rows: readonly CpuRatioRow[], fma: { flops: number; samplesS: number[] }): string {
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
  const f = spread(fma.samplesS);
  // The noise column only when a control ran: the rank test's p against the control, within noise or beyond.
  const noise = rows.some((r) => r.role === 'control');
  const noiseCell = (r: CpuRatioRow): Cell => {
    if (r.role === 'control') return 'control';
    if (isReference(r)) return 'reference';
    if (r.p === undefined) return '-';
    const p = `p ${formatP(r.p)}`;
    if (r.withinNoise === undefined) return `${p}, too few rounds (min p ${formatP(r.minP!)})`;
    return `${p}, ${r.withinNoise ? 'within noise' : 'beyond noise'}`;
  };
  const cells: Cell[][] = rows.map((r) => [
    r.format,
    r.variant,
    r.role,
    `${(1000 * r.medianS).toFixed(1)} (${(1000 * r.minS).toFixed(1)})`,
    r.gflopsPerCpuS.toFixed(3),
    `${pct(r.ofFma)} (${pct(r.ofFmaBest)})`,
    r.ofF32 === undefined ? '-' : `${pct(r.ofF32)} (${pct(r.ofF32Best)})`,
    pct(r.ofF32Paired),
    pct(r.ofF32SameVariant),
    ...(noise ? [noiseCell(r)] : []),
  ]);
  cells.push([
    'FMA loop',
    '-',
    '-',
    `${(1000 * f.median).toFixed(1)} (${(1000 * f.min).toFixed(1)})`,
    (fma.flops / f.median / 1e9).toFixed(3),
    '100%',
    '-',
    '-',
    '-',
    ...(noise ? ['-'] : []),
  ]);
  return formatTable(
    [
      'format',
      'variant',
      'role',
      'CPU ms/run median (min)',
      'GFLOP/CPU-s',
      'of FMA loop median (min)',
      "of f32's rate median (min)",
      'of f32 paired',
      'of f32, same variant',
      ...(noise ? ['paired vs noise'] : []),
    ],
    cells,
    { rightAlign: [false, false, false, true, true, true, true, true, true, false] },
  );
}

/** A p-value: two decimals from 0.1 up (0.73), below it 3 significant digits (0.0412, 0.000617). */
const formatP = (p: number) => (p >= 0.1 ? p.toFixed(2) : p.toPrecision(3));

/** A ratio as a signed difference from 1 in percent ("+3.2 %", "−4.1 %"). */
const signedPct = (x: number) => `${x >= 1 ? '+' : '−'}${Math.abs(100 * (x - 1)).toFixed(1)} %`;

/** The line under the table: what identical kernels differed by in this run (the band: information), and the test that marks rows. */
export function noiseFloorText(floor: NoiseFloor): string {
  const rounds = floor.ratios.length;
  const minP = smallestP(rounds, rounds); // the control and every row ran the same rounds
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  return (
    `noise floor measured in this run: identical kernels differ by ${signedPct(floor.median)} ` +
    `(control over f32 default, median of ${rounds} rounds; per round ${signedPct(floor.min)} … ${signedPct(floor.max)}); ` +
    `that spread mirrored around 100 %: ${pct(floor.low)} … ${pct(floor.high)}. ` +
    `Each row: ${MANN_WHITNEY} test of its per-round paired shares against the control's, "beyond noise" at p < ${NOISE_ALPHA} ` +
    `(identical kernels in at most ${100 * NOISE_ALPHA} % of runs, per row), "within noise" otherwise; ` +
    `${rounds} rounds reach p ≥ ${formatP(minP)}` +
    (minP >= NOISE_ALPHA ? ': too few to mark a row' : '')
  );
}

function printTable(
  label: string,
  rows: CpuRatioRow[],
  fma: { flops: number; samplesS: number[] },
  floor: NoiseFloor | undefined,
  control: boolean,
): void {
  process.stdout.write(`\n${label}\n${cpuTableText(rows, fma)}\n`);
  if (!rows.some(isReference))
    process.stdout.write(
      `(no f32 default in this run: add f32 to --formats for the share of f32's rate${control ? ' and the control' : ''})\n`,
    );
  if (floor) process.stdout.write(`${noiseFloorText(floor)}\n`);
  else if (!control)
    process.stdout.write('(no control: --no-control; nothing in this run says how far identical kernels differ)\n');
}
