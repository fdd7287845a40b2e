// npm run bench:router — the MoE router's forms side by side in ONE run on ONE adapter, each
// against its roofline:
//   - 'tb:4': the logits [T, E] by the dense GEMM pass (dense-gemm.ts), then the selection pass
//     whose workgroups' threads cooperate on each of 4 tokens (router.wgsl),
//   - 'pt:64': the same GEMM pass, then a selection with one invocation per token, 64 per
//     workgroup (router_per_token.wgsl: no workgroup memory, no barriers),
//   - 'fused:tb:4': one pass whose workgroups compute the logits themselves (the form the GEMM
//     pass replaced; still the kernel's form for H not a multiple of 4).
// The roofline is the rack model's (cost-model.ts rooflineMs, as `npm run sim -- --calibrate`
// prices the lab's router sample): the logits GEMM 2·T·E·H at this device's GEMM rate and copy
// bandwidth, both MEASURED in this run the way `npm run lab -- calibrate` measures them (the f32
// grouped GEMM at the benchmark shape, the default-size copy). Each path runs twice in
// A B C C B A order (load drifts: the machine is shared); its time is the mean of its two medians. Every
// run is checked against the float64 reference first. Writes results/bench-router.json.
import { loadavg } from 'node:os';
import { commandLine, runCli, UsageError, type Spec } from '../src/cli/args.ts';
import { adapterLabel, getGpu } from '../src/gpu/index.ts';
import { CALIBRATION_PLAN, routerSample } from '../src/lab/calibrate.ts';
import { LAB_REGISTRY } from '../src/lab/registry.ts';
import { runLab, type LabResult } from '../src/lab/run.ts';
import { MAX_RUNS } from '../src/lab/sizes.ts';
import { DEFAULT_SHAPE, type LabShape } from '../src/lab/types.ts';
import { formatTable, type Cell } from '../src/report/table.ts';
import { calibrate } from '../src/sim/calibration.ts';
import { checkOutputFile, writeFileAtomic } from '../src/util/output-path.ts';
import { MAX_SEED } from '../src/util/random.ts';

/** The benchmark shape (softmax, Mixtral/Qwen style) and a DeepSeek-like one (sigmoid, 8 groups, bias). */
const SHAPES: Record<string, Partial<LabShape>> = {
  bench: {},
  deepseek: { experts: 256, topK: 8, scoring: 'sigmoid' },
};
const PATHS = [
  { path: 'GEMM pass + workgroup selection', variant: 'tb:4' },
  { path: 'GEMM pass + per-token selection', variant: 'pt:64' },
  { path: 'one pass (fused logits)', variant: 'fused:tb:4' },
];

const spec: Spec = {
  shapes: {
    kind: 'string',
    help: `comma list of ${Object.keys(SHAPES).join(', ')}, or all (default: all)`,
    placeholder: 'names',
  },
  runs: {
    kind: 'string',
    help: `timed runs per measurement after one warm-up (default 5, at most ${MAX_RUNS})`,
    placeholder: 'n',
  },
  seed: {
    kind: 'string',
    help: `seed of the random problems, an integer from 0 to ${MAX_SEED} (default: from the clock, printed)`,
    placeholder: 'S',
  },
  out: { kind: 'string', help: 'JSON output file (default results/bench-router.json)', placeholder: 'file' },
  help: { kind: 'flag', help: 'this text' },
};

interface Row {
  shape: string;
  path: string;
  variant: string;
  /** Mean of the two medians (A B C C B A order). */
  medianMs: number;
  medians: number[];
  /** Modeled: the cost model's roofline on this run's measured GEMM rate and copy bandwidth. */
  rooflineMs: number;
  /** measured ÷ roofline */
  ratio: number;
  gflops: number;
  check: string;
}

async function main(): Promise<void> {
  const args = commandLine(
    'npm run bench:router -- [options]',
    'The router: GEMM pass with either selection, and one-pass logits, vs roofline.',
    spec,
  );
  if (!args) return;
  const runs = args.num('runs', 5, { min: 1, max: MAX_RUNS, int: true });
  const seed = args.num('seed', Date.now() % 2 ** 31, { min: 0, max: MAX_SEED, int: true });
  const out = args.optStr('out') ?? 'results/bench-router.json';
  checkOutputFile('--out', out);
  const rawShapes = args.optStr('shapes') ?? 'all';
  const names = rawShapes === 'all' ? Object.keys(SHAPES) : rawShapes.split(',').map((s) => s.trim());
  for (const n of names)
    if (!(n in SHAPES))
      throw new UsageError(`--shapes: unknown shape '${n}' (choose from ${Object.keys(SHAPES).join(', ')}, all)`);

  const gpu = await getGpu({ label: 'bench router' });
  const adapter = adapterLabel(gpu.info);
  const t0 = performance.now();
  const loadBefore = loadavg();
  process.stderr.write(`bench:router on ${adapter} (seed ${seed}, ${runs} runs each) …\n`);

  const lab = (kernel: keyof typeof LAB_REGISTRY, shape: LabShape, variant?: string): Promise<LabResult> =>
    runLab(gpu, LAB_REGISTRY[kernel], shape, { seed, runs, variant, ceiling: false }).then((r) => {
      if (!r.checkOk)
        throw new Error(`${kernel} ${variant ?? ''}: wrong result (${r.check}); no timing of a broken kernel`);
      return r;
    });

  // This device's rates, as the calibration measures them.
  const refs: Record<string, number> = {};
  for (const item of CALIBRATION_PLAN.filter((i) => i.reference)) {
    const r = await lab(item.kernel, { ...DEFAULT_SHAPE, ...item.shape });
    refs[item.reference!] = (item.reference === 'gemm' ? r.gflops : r.gbps)!;
    process.stderr.write(`  ${item.name}: ${r.medianMs.toPrecision(4)} ms\n`);
  }
  const device = { gemmGflops: refs.gemm, copyGBps: refs.copy, adapter };

  const rows: Row[] = [];
  for (const name of names) {
    const shape: LabShape = { ...DEFAULT_SHAPE, ...SHAPES[name] };
    const results = new Map<string, LabResult[]>();
    // Every path forward, then backward (A B C C B A).
    for (const { variant } of [...PATHS, ...[...PATHS].reverse()]) {
      const r = await lab('router', shape, variant);
      if (r.variant !== variant) throw new Error(`router ran ${r.variant}, asked for ${variant}`);
      results.set(r.variant, [...(results.get(r.variant) ?? []), r]);
      process.stderr.write(`  ${name} ${r.variant}: ${r.medianMs.toPrecision(4)} ms\n`);
    }
    for (const { path, variant } of PATHS) {
      const rs = results.get(variant)!;
      const medianMs = rs.reduce((a, r) => a + r.medianMs, 0) / rs.length;
      const sample = { ...routerSample(rs[0], shape), measuredMs: medianMs };
      const [fit] = calibrate([sample], device).rows;
      rows.push({
        shape: `${name}: T${shape.tokens} H${shape.hidden} E${shape.experts} K${shape.topK} ${shape.scoring}`,
        path,
        variant,
        medianMs,
        medians: rs.map((r) => r.medianMs),
        rooflineMs: fit.predictedMs,
        ratio: fit.ratio,
        gflops: rs[0].flops / medianMs / 1e6,
        check: rs.map((r) => r.check).join(' | '),
      });
    }
  }
  const loadAfter = loadavg();

  const table: Cell[][] = rows.map((r) => {
    const other = rows.find((o) => o.shape === r.shape && o.variant === 'fused:tb:4')!;
    return [
      r.shape,
      r.path,
      r.variant,
      r.medianMs.toFixed(2),
      r.rooflineMs.toFixed(2),
      `${r.ratio.toFixed(2)}×`,
      r.gflops.toFixed(3),
      `${(other.medianMs / r.medianMs).toFixed(2)}×`,
    ];
  });
  process.stdout.write(
    formatTable(
      [
        'shape',
        'logits',
        'variant',
        'ms (measured)',
        'roofline ms (modeled)',
        'vs roofline',
        'GFLOP/s (measured)',
        'vs one pass',
      ],
      table,
      { rightAlign: [false, false, false, true, true, true, true, true] },
    ) + '\n',
  );
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(
    `\nms: measured here on ${adapter}, GPU timestamps, mean of two medians of ${runs} runs (A B C C B A order).\n` +
      `roofline: modeled by the rack model's cost model (rooflineMs, efficiency 1) for the logits GEMM 2·T·E·H on this ` +
      `device's rates measured in this run: GEMM ${device.gemmGflops.toFixed(3)} GFLOP/s (f32 grouped GEMM, the ` +
      `benchmark shape), copy ${device.copyGBps.toFixed(3)} GB/s (default-size copy).\n` +
      `load average (1, 5, 15 min) before ${la(loadBefore)}, after ${la(loadAfter)} (a shared machine: ratios in one run, not absolute times).\n`,
  );
  const json = {
    bench: 'router',
    measured: 'here',
    adapter,
    adapterInfo: gpu.info,
    date: new Date().toISOString(),
    seed,
    runs,
    device,
    roofline: 'modeled: cost-model rooflineMs of the logits GEMM 2·T·E·H on the device rates measured in this run',
    load: { before: loadBefore, after: loadAfter },
    rows,
    seconds: (performance.now() - t0) / 1000,
  };
  await writeFileAtomic(out, JSON.stringify(json, null, 2) + '\n');
  process.stdout.write(`wrote ${out} (${json.seconds.toFixed(0)} s)\n`);
  gpu.destroy();
}

await runCli(main);
