// npm run lab -- <kernel> [shape options] [--variant V] [--runs N] [--seed S] [--sweep] [--json]
// npm run lab -- calibrate [--out FILE] [--runs N] [--json]
// The shader lab: run one kernel on a seeded random problem, check it against the float64
// reference (a failed check exits 1), time it with GPU timestamps and set it against this
// adapter's ceiling; --sweep tries its configurations and records the fastest in the tuning
// cache; calibrate writes the rack model's calibration file. With --json, stdout holds ONE
// JSON object and nothing else (progress goes to stderr).
import { checkCount, getGpu } from '../gpu/index.ts';
import { measureCalibration, thisDeviceSimArgs } from '../lab/calibrate.ts';
import { formatCalibrationRun, formatResult, formatSweep } from '../lab/format.ts';
import { labKernel } from '../lab/registry.ts';
import { runLab } from '../lab/run.ts';
import { sweepLab } from '../lab/sweep.ts';
import { MAX_RUNS, checkLabSizes } from '../lab/sizes.ts';
import { checkTuningPath } from '../tuning/tuning-store-node.ts';
import { tryNearest } from '../util/nearest.ts';
import { checkOutputFile, writeFileAtomic } from '../util/output-path.ts';
import { MAX_SEED } from '../util/random.ts';
import { recordingTuningCache } from '../tuning/tuning-store.ts';
import { routerVariantForms } from '../kernels/routing-params.ts';
import { DEFAULT_SHAPE, GEMM_STAGES, LAB_KERNELS, type LabKernel, type LabShape } from '../lab/types.ts';
import { WEIGHT_FORMATS, parseWeightFormat } from '../model/formats.ts';
import { Args, UsageError, parseArgs, runCli, usage, type Spec } from './args.ts';

const d = DEFAULT_SHAPE;
const SPEC: Spec = {
  tokens: { kind: 'string', help: `tokens T (default ${d.tokens})`, placeholder: 'T' },
  hidden: { kind: 'string', help: `hidden size H (default ${d.hidden})`, placeholder: 'H' },
  'expert-hidden': { kind: 'string', help: `expert intermediate size F (default ${d.expertHidden})`, placeholder: 'F' },
  experts: { kind: 'string', help: `routed experts E (default ${d.experts})`, placeholder: 'E' },
  topk: { kind: 'string', help: `experts per token K (default ${d.topK})`, placeholder: 'K' },
  skew: { kind: 'string', help: `routing skew, 0 = uniform (default ${d.skew})`, placeholder: 'x' },
  heads: { kind: 'string', help: `attention heads (default ${d.heads})`, placeholder: 'n' },
  'head-dim': { kind: 'string', help: `attention head size (default ${d.headDim})`, placeholder: 'n' },
  lengths: { kind: 'string', help: `attention request lengths (default ${d.lengths.join(',')})`, placeholder: 'a,b,…' },
  weights: { kind: 'string', help: `expert weight format (default ${d.format})`, choices: WEIGHT_FORMATS },
  stage: { kind: 'string', help: 'expert-gemm passes: gate-up, down or both (default both)', choices: GEMM_STAGES },
  shared: {
    kind: 'string',
    help: `combine: shared expert none, plain or gated (default ${d.shared})`,
    choices: ['none', 'plain', 'gated'],
  },
  scoring: {
    kind: 'string',
    help: 'router: softmax (Mixtral/Qwen) or sigmoid (DeepSeek groups + bias)',
    choices: ['softmax', 'sigmoid'],
  },
  mib: {
    kind: 'string',
    help: 'copy size in MiB (default 16 on a CPU-emulated adapter, 256 on a GPU)',
    placeholder: 'MiB',
  },
  variant: {
    kind: 'string',
    help:
      "configuration: expert-gemm 'sx4:8x4:2x2' | 'sx4:8x4:4x4:quad' (subgroups wider than 4) | 'tile:4x4:8x8' | 'naive' …, " +
      `router ${routerVariantForms(' | ', true)}, attention 'bk:N' (checked before the device; not with --sweep)`,
    placeholder: 'name',
  },
  runs: { kind: 'string', help: 'timed runs after one warm-up (default 5; sweep 3)', placeholder: 'n' },
  warmup: { kind: 'string', help: 'untimed runs first (default 1)', placeholder: 'n' },
  seed: {
    kind: 'string',
    help: `seed of the random problem, an integer from 0 to ${MAX_SEED} (default: from the clock, printed)`,
    placeholder: 'S',
  },
  sweep: { kind: 'flag', help: 'try every configuration (expert-gemm, router, attention), report all, cache the best' },
  candidates: { kind: 'string', help: 'with --sweep: try only these configurations', placeholder: 'a,b,…' },
  'no-record': { kind: 'flag', help: 'sweep without writing the tuning cache' },
  out: { kind: 'string', help: 'calibrate: output file (default results/lab-calibration.json)', placeholder: 'FILE' },
  json: { kind: 'flag', help: 'print one JSON object on stdout (progress on stderr)' },
  help: { kind: 'flag', help: 'show this help' },
};

const HELP_HEAD = `Kernels: ${LAB_KERNELS.join(', ')}; or 'calibrate'.
Each run builds a seeded random problem, checks it against the float64 reference (exit 1 on a
wrong result), times it with GPU timestamp queries and compares it with this adapter's ceiling
(FMA loop for compute-bound kernels, copy bandwidth for memory-bound ones), measured here.`;

function int(args: Args, name: string, fallback: number, min = 1): number {
  return args.num(name, fallback, { min, int: true });
}

function shapeFrom(args: Args): LabShape {
  const lengths = args.optStr('lengths');
  // An empty entry ('1,,2') is a typo, not a zero-length request.
  const parsedLengths =
    lengths === undefined ? d.lengths : lengths.split(',').map((x) => (x.trim() === '' ? NaN : Number(x.trim())));
  if (
    parsedLengths.length === 0 ||
    parsedLengths.some((x) => !Number.isInteger(x) || x < 0) ||
    parsedLengths.every((x) => x === 0)
  ) {
    throw new UsageError(`--lengths must be a comma list of non-negative integers, not all zero (got '${lengths}')`);
  }
  const mib = args.optNum('mib', { min: 1 / 1024 });
  return {
    tokens: int(args, 'tokens', d.tokens),
    hidden: int(args, 'hidden', d.hidden),
    expertHidden: int(args, 'expert-hidden', d.expertHidden),
    experts: int(args, 'experts', d.experts),
    topK: int(args, 'topk', d.topK),
    skew: args.num('skew', d.skew, { min: 0 }),
    heads: int(args, 'heads', d.heads),
    headDim: int(args, 'head-dim', d.headDim),
    lengths: parsedLengths,
    format: parseWeightFormat(args.str('weights', d.format)),
    stage: args.str('stage', d.stage) as LabShape['stage'],
    shared: args.str('shared', d.shared) as LabShape['shared'],
    scoring: args.str('scoring', d.scoring) as LabShape['scoring'],
    ...(mib !== undefined ? { mib } : {}),
  };
}

/** A configuration the kernel cannot take, refused naming the flag, the value and the kernel's forms. */
function checkVariant(kernel: LabKernel<never>, shape: LabShape, flag: string, variant: string): void {
  if (!kernel.variantProblem) {
    const withVariants = LAB_KERNELS.filter((k) => labKernel(k).variantProblem).join(', ');
    throw new UsageError(`${flag} ${variant}: ${kernel.name} has no variants (kernels with variants: ${withVariants})`);
  }
  const why = kernel.variantProblem(variant, shape);
  if (why !== undefined) throw new UsageError(`${flag} ${variant} (${kernel.name}): ${why}`);
}

/** The options calibrate reads; it measures its own shapes. */
const CALIBRATE_READS = new Set(['out', 'runs', 'seed', 'json', 'help']);

const say = (line: string) => process.stderr.write(`${line}\n`);

async function calibrate(args: Args, seed: number, json: boolean): Promise<void> {
  const out = args.str('out', 'results/lab-calibration.json');
  // Before the measurements: a path that cannot be written must not cost them.
  checkOutputFile('--out', out);
  const runs = args.optNum('runs', { min: 1, int: true });
  if (runs !== undefined) checkCount('--runs', runs, MAX_RUNS, 'timed runs');
  const gpu = await getGpu({ label: 'lab calibrate' });
  say(`calibrate: measuring on ${gpu.info.description} (seed ${seed}) …`);
  const c = await measureCalibration(gpu, {
    seed,
    runs,
    onItem: (item, r) =>
      say(`  ${item.name}: ${r.medianMs.toPrecision(4)} ms median, rel. err ${r.relErr.toExponential(1)}`),
  });
  await writeFileAtomic(out, JSON.stringify(c, null, 2) + '\n');
  if (json) {
    process.stdout.write(JSON.stringify({ ...c, file: out, simArgs: thisDeviceSimArgs(c.device) }) + '\n');
    say(`wrote ${out}`);
    return;
  }
  console.log(formatCalibrationRun(c));
  console.log(`\nwrote ${out}. Next (modeled on these measured rates):`);
  console.log(`  npm run sim -- --calibrate ${out}`);
  console.log(`  npm run sim -- --scenario r1-isl-sweep ${thisDeviceSimArgs(c.device)}`);
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2), SPEC, { positional: true });
  const args = new Args(parsed);
  if (args.flag('help') || parsed.positional.length === 0) {
    process.stdout.write(
      usage('npm run lab -- <kernel> [options] [--json]   |   npm run lab -- calibrate [--out FILE]', HELP_HEAD, SPEC),
    );
    if (!args.flag('help')) throw new UsageError('name a kernel');
    return;
  }
  if (parsed.positional.length > 1) throw new UsageError(`one kernel at a time (got ${parsed.positional.join(' ')})`);
  const name = parsed.positional[0];
  const json = args.flag('json');
  const seed = args.num('seed', Date.now() % 2 ** 31, { min: 0, max: MAX_SEED, int: true });
  if (name === 'calibrate') {
    const unread = Object.keys(SPEC).filter((k) => !CALIBRATE_READS.has(k) && args.has(k));
    if (unread.length > 0)
      throw new UsageError(
        `calibrate measures its own shapes and reads only --out, --runs, --seed and --json: remove --${unread.join(' --')}`,
      );
    return calibrate(args, seed, json);
  }
  if (args.has('out'))
    throw new UsageError(`--out is read only by calibrate (a kernel run prints its result; --json for JSON)`);
  if (!(LAB_KERNELS as readonly string[]).includes(name))
    throw new UsageError(
      `unknown kernel '${name}' (kernels: ${LAB_KERNELS.join(', ')}, calibrate)` +
        tryNearest('npm run lab --', name, [...LAB_KERNELS, 'calibrate']),
    );
  const kernel = labKernel(name);
  const shape = shapeFrom(args);
  if (kernel.uses.includes('topK') && shape.topK > shape.experts)
    throw new UsageError(
      `--topk ${shape.topK}: must be at most --experts ${shape.experts}; try --topk ${shape.experts}`,
    );
  const warmup = args.num('warmup', 1, { min: 0, int: true });
  const sweep = args.flag('sweep');
  const runs = args.num('runs', sweep ? 3 : 5, { min: 1, int: true });
  if (sweep && !kernel.sweepCandidates)
    throw new UsageError(`${name} has no configurations to sweep (sweepable: expert-gemm, router, attention)`);
  // Everything that can be refused without the device is refused before it: sizes, counts, variants, the cache path.
  checkLabSizes(undefined, kernel.name, shape, { runs, warmup });
  const variant = args.optStr('variant');
  const candidates = args
    .optStr('candidates')
    ?.split(',')
    .map((s) => s.trim());
  if (sweep && variant !== undefined)
    throw new UsageError(
      `--variant ${variant}: a sweep tries every configuration; name some with --candidates instead`,
    );
  if (!sweep && candidates !== undefined) throw new UsageError('--candidates is read only with --sweep');
  if (variant !== undefined) checkVariant(kernel, shape, '--variant', variant);
  for (const c of candidates ?? []) checkVariant(kernel, shape, '--candidates', c);
  const record = sweep && !args.flag('no-record');
  if (record) checkTuningPath();
  // The cache the sweep records into, opened before the device: a sweep that could not record is refused here.
  const cache = record ? await recordingTuningCache() : undefined;
  const gpu = await getGpu({ label: `lab ${name}` });

  if (sweep) {
    say(`sweep ${name} (seed ${seed}) on ${gpu.info.description} …`);
    const report = await sweepLab(gpu, kernel, shape, {
      seed,
      runs,
      warmup,
      candidates,
      cache,
      onRow: (r) => say(`  ${r.variant}: ${r.ok ? `${r.medianMs.toPrecision(4)} ms` : `rejected — ${r.error}`}`),
    });
    if (json) process.stdout.write(JSON.stringify({ ...report, seed, measured: 'here' }) + '\n');
    else console.log(formatSweep(report));
    if (!report.best) throw new Error('no configuration passed the check');
    return;
  }

  say(`${name} (seed ${seed}) on ${gpu.info.description}: preparing, checking, timing …`);
  const r = await runLab(gpu, kernel, shape, {
    variant,
    seed,
    runs,
    warmup,
  });
  if (json) process.stdout.write(JSON.stringify(r) + '\n');
  else console.log(formatResult(r));
  if (!r.checkOk) throw new Error(`${name}: wrong result — ${r.check} (seed ${seed})`);
}

void runCli(main);
