// npm run bench:kernels — the grouped expert GEMM (gate/up with SwiGLU + down) on
// MoE-shaped problems, side by side in ONE run on ONE adapter with:
//   - a naive one-invocation-per-output grouped kernel (same data, same formats),
//   - the adapter's FMA ceiling (pure multiply-add loop, shaders/expert_gemm_peak.wgsl),
//   - optionally a peer: tfjs-backend-webgpu's matMul, per expert on the gathered rows and
//     as one dense matmul of equal FLOPs (f32; dev dependency, skipped when absent).
// Every time is GPU time from timestamp queries (median after warm-up), measured here;
// the table says on which adapter. FLOPs = 2·T·K·3·H·F. Writes results/bench-kernels.json.
// --check compares the run's ratios with bench/kernels-baseline.json (kernels-check.ts) and
// exits 1 naming what fell; --write-baseline replaces that file with this run's ratios.
// --cpu-seconds measures CPU seconds of this process instead (kernels-cpu.ts, cpu-rounds.ts):
// the measurement that survives other jobs on a CPU-emulated adapter's shared cores.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { commandLine, runCli, UsageError, type Spec } from '../src/cli/args.ts';
import { checkOutputFile, writeFileAtomic } from '../src/util/output-path.ts';
import { adapterLabel, checkHostSizes, deviceNeeds, getGpu, type Gpu, type SizeItem } from '../src/gpu/index.ts';
import { variantName, variantProblem } from '../src/kernels/expert-gemm.ts';
import { variantTextProblem } from '../src/kernels/gemm-variant.ts';
import {
  buildGemmProblem,
  createShapeGemm,
  gemmFlops,
  readY,
  shapeLabel,
  timeGemm,
  type GemmProblem,
  type GemmShape,
} from '../src/kernels/gemm-tuning.ts';
import { peakLab } from '../src/lab/kernels/peak.ts';
import { timeProblem } from '../src/lab/measure.ts';
import { MAX_RUNS } from '../src/lab/sizes.ts';
import { DEFAULT_SHAPE } from '../src/lab/types.ts';
import { WEIGHT_FORMATS, expertLayout, parseWeightFormat, type WeightFormat } from '../src/model/formats.ts';
import { formatTable, type Cell } from '../src/report/table.ts';
import { variantOriginText, type VariantOrigin } from '../src/tuning/tuning-cache.ts';
// The Node file store of the tuning cache registers itself on import: with it in this entry's
// graph, a bundle of this bench (bench/gpu/bundle.sh) uses the cache a bundled lab sweep wrote.
import '../src/tuning/tuning-store-node.ts';
import { MAX_SAMPLE } from '../src/util/rank-test.ts';
import { median } from '../src/util/stats.ts';
import { tryNearest } from '../src/util/nearest.ts';
import { otherVariants, parseVariantsArg, runCpuSeconds, sampledError } from './kernels-cpu.ts';
import { FLOORS, TARGETS, baselineFrom, checkAgainstBaseline, type KernelsBaseline } from './kernels-check.ts';

const BASELINE = 'bench/kernels-baseline.json';

/**
 * The benchmark shape first; one with more rows per expert (DeepSeek-like 8-of-64 routing);
 * an R1-like one for hardware GPUs (thousands of tokens, R1's H and F, fewer experts: f32
 * weights 1.4 GB); and a tiny one that checks the command itself in seconds (the GPU bundle's --smoke).
 */
const SHAPES: Record<string, GemmShape> = {
  bench: { tokens: 256, hidden: 512, expertHidden: 256, experts: 32, topK: 4 },
  deep: { tokens: 512, hidden: 256, expertHidden: 128, experts: 64, topK: 8 },
  r1: { tokens: 2048, hidden: 7168, expertHidden: 2048, experts: 8, topK: 8 },
  tiny: { tokens: 16, hidden: 64, expertHidden: 32, experts: 4, topK: 2 },
};

const spec: Spec = {
  shapes: {
    kind: 'string',
    help: `comma list of ${Object.keys(SHAPES).join(', ')}, or all (bench and deep; default: bench)`,
    placeholder: 'names',
  },
  formats: { kind: 'string', help: `comma list of ${WEIGHT_FORMATS.join(', ')} (default: all)`, placeholder: 'list' },
  variant: {
    kind: 'string',
    help:
      "tile variant of each format's checked row (default: the tuning cache's winner, else the format's default; " +
      "'default': the format's default, as --check uses); the variants beside it are --variants",
    placeholder: 'name|default',
  },
  variants: {
    kind: 'string',
    help:
      "'all' (default): also one variant of every tile kind per format, or skipped with the reason; 'default': only the checked row; " +
      'or a comma list of variants measured beside each default (e.g. sx4:8x4:2x2,sx4:4x8:2x2)',
    placeholder: 'all|default|list',
  },
  runs: {
    kind: 'string',
    help: `timed runs per kernel after one warm-up (default 3; at most ${MAX_RUNS}); with --cpu-seconds: runs per entry per round (default 1)`,
    placeholder: 'n',
  },
  'cpu-seconds': {
    kind: 'flag',
    help:
      'measure CPU seconds of this process instead of GPU timestamps (CPU-emulated adapters on shared machines): the variants and the FMA loop ' +
      "interleaved round by round, median and min over rounds, shares of the FMA loop and of f32's rate; no naive kernel, no peer, no --check",
  },
  rounds: {
    kind: 'string',
    help: `with --cpu-seconds: interleaved rounds (default 5, at most ${MAX_SAMPLE})`,
    placeholder: 'n',
  },
  'no-control': {
    kind: 'flag',
    help: "with --cpu-seconds: leave out the control (the f32 default entered twice, whose per-round ratio is the run's noise floor)",
  },
  'naive-runs': {
    kind: 'string',
    help: `timed runs of the (slow) naive kernel, no warm-up (default 1, at most ${MAX_RUNS})`,
    placeholder: 'n',
  },
  'peer-runs': {
    kind: 'string',
    help: `timed runs of the peer after one warm-up (default 2, at most ${MAX_RUNS})`,
    placeholder: 'n',
  },
  'no-peer': { kind: 'flag', help: 'skip the tfjs-backend-webgpu peer' },
  skew: { kind: 'string', help: 'routing skew (0 = uniform top-k, default 0.5)', placeholder: 'x' },
  out: { kind: 'string', help: 'JSON output file (default results/bench-kernels.json)', placeholder: 'file' },
  check: {
    kind: 'flag',
    help: `compare the ratios with ${BASELINE}; exit 1 naming any that fell below its floor (not with --write-baseline)`,
  },
  'write-baseline': { kind: 'flag', help: `write this run's ratios to ${BASELINE}` },
  help: { kind: 'flag', help: 'this text' },
};

interface Row {
  kernel: string;
  /** 'default': the format's variant, whose ratios --check guards; 'kind': one variant of another tile kind; 'given': one listed in --variants. */
  role?: 'default' | 'kind' | 'given';
  shape: string;
  format: WeightFormat | 'f32 (peer)';
  variant: string;
  /** Where a default row's variant came from: the tuning cache (a sweep's winner) or the format's default. */
  origin?: VariantOrigin;
  medianMs: number;
  gflops: number;
  fractionOfCeiling: number;
  /** FMA ceiling measured just before and after this row's runs (the better of the two). */
  ceilingGflops: number;
  naiveGflops?: number;
  vsNaive?: number;
  vsPeerLoop?: number;
  vsPeerDense?: number;
  relErr?: number;
  bytesPerExpert?: number;
}

/** The FMA ceiling in GFLOP/s: the lab's peak kernel (shaders/expert_gemm_peak.wgsl), median of `runs` after a warm-up. */
async function measureFmaPeak(gpu: Gpu, runs = 3): Promise<number> {
  const p = await peakLab.prepare(gpu, { ...DEFAULT_SHAPE }, { seed: 1 });
  try {
    return p.flops / (await timeProblem(gpu, p, runs)).medianMs / 1e6;
  } finally {
    p.destroy();
  }
}

// --- the peer: tfjs-backend-webgpu on our device -----------------------------------------

interface Peer {
  name: string;
  /** GPU ms (tfjs kernel timestamps) of the per-expert loop and of the dense matmul. */
  time(p: GemmProblem, runs: number): Promise<{ loopMs: number; denseMs: number }>;
}

type Tf = typeof import('@tensorflow/tfjs-core');

async function loadPeer(gpu: Gpu): Promise<Peer | string> {
  let tf: Tf;
  let WebGPUBackend: new (device: GPUDevice, info?: GPUAdapterInfo) => object;
  try {
    // tfjs-backend-webgpu looks for navigator.gpu; Node has none: give it one over our adapter.
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
    if (!g.navigator!.gpu)
      Object.defineProperty(g.navigator!, 'gpu', {
        value: { requestAdapter: async () => gpu.adapter },
        configurable: true,
      });
    tf = (await import('@tensorflow/tfjs-core')) as Tf;
    ({ WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
      WebGPUBackend: typeof WebGPUBackend;
    });
  } catch (e) {
    return `tfjs-backend-webgpu unavailable (${(e as Error).message.split('\n')[0]})`;
  }
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  // Its kernels are registered for the backend name 'webgpu': replace that backend's
  // factory (which would open a second device) with one over our device.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(gpu.device, gpu.adapter.info) as never);
  if (!(await tf.setBackend('webgpu'))) return 'tfjs-backend-webgpu failed to initialise on this device';
  await tf.ready();
  const version = (tf as unknown as { version_core?: string }).version_core ?? '';
  return {
    name: `tfjs-backend-webgpu ${version} matMul`,
    async time(p, runs) {
      const { tokens: T, topK: K, hidden: H, expertHidden: F, experts: E } = p.shape;
      // Gathered rows per expert, weights pre-transposed to [in, out] (tfjs's fastest layout).
      const perExpert: {
        x: import('@tensorflow/tfjs-core').Tensor2D;
        h: import('@tensorflow/tfjs-core').Tensor2D;
        wgu: import('@tensorflow/tfjs-core').Tensor2D;
        wd: import('@tensorflow/tfjs-core').Tensor2D;
      }[] = [];
      for (let e = 0; e < E; e++) {
        const n = p.offsets[e + 1] - p.offsets[e];
        if (n === 0) continue;
        const xs = new Float32Array(n * H);
        for (let i = 0; i < n; i++) {
          const t = Math.floor(p.perm[p.offsets[e] + i] / K);
          xs.set(p.x.subarray(t * H, t * H + H), i * H);
        }
        const wgu = new Float32Array(H * 2 * F);
        const wd = new Float32Array(F * H);
        const { gate, up, down } = p.decoded[e];
        for (let f = 0; f < F; f++) {
          for (let k = 0; k < H; k++) {
            wgu[k * 2 * F + f] = gate[f * H + k];
            wgu[k * 2 * F + F + f] = up[f * H + k];
            wd[f * H + k] = down[k * F + f];
          }
        }
        perExpert.push({
          x: tf.tensor2d(xs, [n, H]),
          h: tf.randomNormal([n, F]) as import('@tensorflow/tfjs-core').Tensor2D,
          wgu: tf.tensor2d(wgu, [H, 2 * F]),
          wd: tf.tensor2d(wd, [F, H]),
        });
      }
      const a = tf.randomNormal([T * K, H]) as import('@tensorflow/tfjs-core').Tensor2D;
      const b = tf.randomNormal([H, 3 * F]) as import('@tensorflow/tfjs-core').Tensor2D;
      const timeOf = async (f: () => import('@tensorflow/tfjs-core').Tensor[]): Promise<number> => {
        let outs: import('@tensorflow/tfjs-core').Tensor[] = [];
        const info = await tf.time(() => {
          outs = f();
        });
        await Promise.all(outs.map((o) => o.data())); // completion, and keeps the work honest
        outs.forEach((o) => o.dispose());
        const ms = info.kernelMs as number | { error: string };
        if (typeof ms !== 'number') throw new Error(`tfjs timing: ${ms.error}`);
        return ms;
      };
      const loop = () => perExpert.flatMap((t) => [tf.matMul(t.x, t.wgu), tf.matMul(t.h, t.wd)]);
      const dense = () => [tf.matMul(a, b)];
      const loopMs: number[] = [];
      const denseMs: number[] = [];
      for (let r = 0; r < runs + 1; r++) {
        const l = await timeOf(loop);
        const d = await timeOf(dense);
        if (r > 0) {
          loopMs.push(l);
          denseMs.push(d);
        }
      }
      for (const t of perExpert) Object.values(t).forEach((x) => x.dispose());
      a.dispose();
      b.dispose();
      return { loopMs: median(loopMs), denseMs: median(denseMs) };
    },
  };
}

/**
 * The largest buffers a run makes (weights of every expert in one binding, the outputs), so
 * the device is asked for limits that hold them (the R1-like shape needs more than WebGPU's
 * defaults) and a shape too big for this host or adapter is refused before anything runs.
 */
function runSizes(shapeNames: string[], formats: WeightFormat[]): SizeItem[] {
  return shapeNames.flatMap((name) => {
    const s = SHAPES[name];
    const rows = s.tokens * s.topK;
    const at = `--shapes ${name} (${shapeLabel(s)})`;
    return [
      ...formats.map((f): SizeItem => ({
        why: `the ${f} weights of ${s.experts} experts at ${at}`,
        bytes: s.experts * expertLayout(f, s.hidden, s.expertHidden).bytes,
        where: 'both',
      })),
      { why: `the down projection's output [T·K, H] at ${at}`, bytes: rows * s.hidden * 4, where: 'device' },
      { why: `the gate/up output [T·K, F] at ${at}`, bytes: rows * s.expertHidden * 4, where: 'device' },
    ];
  });
}

// --- main ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = commandLine(
    'npm run bench:kernels -- [options]',
    'Grouped expert GEMM vs naive, FMA ceiling and tfjs peer, measured on this adapter.',
    spec,
  );
  if (!args) return;
  const cpuSeconds = args.flag('cpu-seconds');
  const out = args.optStr('out') ?? (cpuSeconds ? 'results/bench-kernels-cpu.json' : 'results/bench-kernels.json');
  checkOutputFile('--out', out); // before the measurements
  const shapeArg = args.optStr('shapes') ?? 'bench';
  const shapeNames = shapeArg === 'all' ? ['bench', 'deep'] : shapeArg.split(',');
  for (const s of shapeNames)
    if (!Object.hasOwn(SHAPES, s))
      throw new UsageError(
        `--shapes: unknown shape '${s}' (known: ${Object.keys(SHAPES).join(', ')})${tryNearest('--shapes', s, Object.keys(SHAPES))}`,
      );
  const formats = (args.optStr('formats') ?? WEIGHT_FORMATS.join(',')).split(',').map((f) => {
    try {
      return parseWeightFormat(f);
    } catch (e) {
      throw new UsageError(`--formats: ${(e as Error).message}`);
    }
  });
  // The lab's bound on timed runs: more says nothing a median of that many does not.
  const runs = args.num('runs', cpuSeconds ? 1 : 3, { min: 1, max: MAX_RUNS, int: true });
  const naiveRuns = args.num('naive-runs', 1, { min: 1, max: MAX_RUNS, int: true });
  const peerRuns = args.num('peer-runs', 2, { min: 1, max: MAX_RUNS, int: true });
  const skew = args.num('skew', 0.5, { min: 0 });
  const given = args.optStr('variant');
  // The baseline holds the formats' default variants: --check and --write-baseline time those,
  // never a tuning-cache winner (a local sweep would otherwise be compared against defaults).
  const guard = args.flag('check') || args.flag('write-baseline');
  if (args.flag('check') && args.flag('write-baseline'))
    throw new UsageError(`--check compares with ${BASELINE} and --write-baseline replaces it: give one of them`);
  // Before the measurements, not after: a check without its baseline cannot pass.
  if (args.flag('check') && !existsSync(BASELINE))
    throw new UsageError(`--check: no ${BASELINE} (write one with --write-baseline)`);
  const variant = given ?? (guard ? 'default' : undefined);
  const variantsArg = parseVariantsArg(args.optStr('variants'));
  // 'default': the format's default variant (what --check times), as in npm run moe.
  if (given !== undefined && given !== 'default') {
    if (given === 'all' || given.includes(','))
      throw new UsageError(
        `--variant ${given}: names one variant (or 'default'); for the rows beside it use --variants ${given}`,
      );
    const why = variantTextProblem(given);
    if (why !== undefined) throw new UsageError(`--variant: ${why}`);
    // The baseline's ratios are the default variants': another variant's row is no comparison with them.
    for (const f of ['check', 'write-baseline'])
      if (args.flag(f))
        throw new UsageError(
          `--variant ${given}: --${f} times the formats' default variants (the baseline's); drop --variant or give --variant default`,
        );
  }
  const rounds = args.num('rounds', 5, { min: 1, max: MAX_SAMPLE, int: true }); // the rank test's largest sample
  for (const f of ['rounds', 'no-control'])
    if (!cpuSeconds && args.has(f)) throw new UsageError(`--${f} applies only with --cpu-seconds`);
  if (cpuSeconds)
    for (const f of ['check', 'write-baseline', 'naive-runs', 'peer-runs', 'no-peer'])
      if (args.has(f))
        throw new UsageError(
          `--${f} does not apply with --cpu-seconds (it times no naive kernel and no peer, and the baseline holds GPU-timestamp ratios)`,
        );

  const sizes = runSizes(shapeNames, formats);
  checkHostSizes(sizes);
  if (cpuSeconds) {
    const gpu = await getGpu({ label: 'bench:kernels --cpu-seconds', needs: deviceNeeds(sizes) });
    await runCpuSeconds(gpu, {
      shapes: shapeNames.map((name) => ({ name, shape: SHAPES[name] })),
      formats,
      variant,
      variants: variantsArg,
      rounds,
      runsPerRound: runs,
      skew,
      control: !args.flag('no-control'),
      out,
    });
    return;
  }

  const gpu = await getGpu({ label: 'bench:kernels', needs: deviceNeeds(sizes) });
  const adapter = adapterLabel(gpu.info);
  const t0 = performance.now();
  const timing = gpu.timestamps
    ? 'GPU timestamp queries'
    : 'host time per submission (no timestamp-query on this adapter)';
  const load = [loadavg()[0]];
  process.stdout.write(
    `Measured here on ${adapter}; times: ${timing}, median of ${runs} after a warm-up; load average ${load[0].toFixed(1)} at the start.\n`,
  );

  const ceilings = [await measureFmaPeak(gpu)];
  process.stdout.write(`FMA ceiling (pure multiply-add loop): ${ceilings[0].toFixed(2)} GFLOP/s\n`);
  const peer = args.flag('no-peer') ? 'skipped (--no-peer)' : await loadPeer(gpu);
  if (typeof peer === 'string') process.stdout.write(`peer: ${peer}\n`);

  const rows: Row[] = [];
  const peerRows: Row[] = [];
  const skipped: string[] = [];
  for (const shapeName of shapeNames) {
    const shape = SHAPES[shapeName];
    const label = shapeLabel(shape);
    const flops = gemmFlops(shape);
    let peerTimes: { loopMs: number; denseMs: number } | undefined;
    for (const format of formats) {
      const problem = buildGemmProblem(gpu, shape, format, { seed: 7, skew });
      const make = (v?: string) => createShapeGemm(gpu, shape, format, v);
      const tiled = await make(variant);
      // The host's load drifts (other jobs share the cores): measure the ceiling beside each row.
      const before = await measureFmaPeak(gpu, 1);
      const t = await timeGemm(gpu, tiled, problem, runs);
      const rowCeiling = Math.max(before, await measureFmaPeak(gpu, 1));
      ceilings.push(rowCeiling);
      const relErr = sampledError(problem, await readY(gpu, problem), tiled.variant);
      const naive = await make('naive');
      const tn = await timeGemm(gpu, naive, problem, naiveRuns, 0); // seconds per run: no warm-up
      if (format === formats[0] && typeof peer !== 'string') {
        const peerBefore = await measureFmaPeak(gpu, 1);
        peerTimes = await peer.time(problem, peerRuns);
        const peerCeiling = Math.max(peerBefore, await measureFmaPeak(gpu, 1));
        ceilings.push(peerCeiling);
        for (const [kernel, ms] of [
          [`${peer.name}, per expert (gathered rows)`, peerTimes.loopMs],
          [`${peer.name}, one dense [T·K,H]×[H,3F]`, peerTimes.denseMs],
        ] as const) {
          peerRows.push({
            kernel,
            shape: label,
            format: 'f32 (peer)',
            variant: '-',
            medianMs: ms,
            gflops: flops / ms / 1e6,
            ceilingGflops: peerCeiling,
            fractionOfCeiling: flops / ms / 1e6 / peerCeiling,
          });
        }
      }
      const gflops = flops / t.medianMs / 1e6;
      const naiveGflops = flops / tn.medianMs / 1e6;
      rows.push({
        kernel: 'grouped expert GEMM',
        role: 'default',
        shape: label,
        format,
        variant: variantName(tiled.variant),
        origin: tiled.origin,
        medianMs: t.medianMs,
        gflops,
        ceilingGflops: rowCeiling,
        fractionOfCeiling: gflops / rowCeiling,
        naiveGflops,
        vsNaive: gflops / naiveGflops,
        vsPeerLoop: peerTimes ? peerTimes.loopMs / t.medianMs : undefined,
        vsPeerDense: peerTimes ? peerTimes.denseMs / t.medianMs : undefined,
        relErr,
        bytesPerExpert: problem.bytesPerExpert,
      });
      process.stdout.write(
        `  ${label} ${format}: ${t.medianMs.toFixed(0)} ms (naive ${tn.medianMs.toFixed(0)} ms), rel. error ${relErr.toExponential(1)}; ` +
          `variant ${variantName(tiled.variant)} (${variantOriginText(tiled.origin)})\n`,
      );
      // One variant of every other tile kind, or the reason this adapter cannot run it.
      for (const fam of otherVariants(variantsArg)) {
        if (fam.variant === variantName(tiled.variant)) continue;
        const why = variantProblem(gpu, fam.variant);
        if (why !== undefined) {
          if (format === formats[0] && shapeName === shapeNames[0])
            skipped.push(`${fam.variant} (${fam.what}): ${why}`);
          continue;
        }
        const other = await make(fam.variant);
        const b = await measureFmaPeak(gpu, 1);
        const to = await timeGemm(gpu, other, problem, runs);
        const c = Math.max(b, await measureFmaPeak(gpu, 1));
        ceilings.push(c);
        const g = flops / to.medianMs / 1e6;
        rows.push({
          kernel: `grouped expert GEMM, ${fam.what}`,
          role: fam.role,
          shape: label,
          format,
          variant: variantName(other.variant), // an sgm family with the adapter's M×N×K filled in
          medianMs: to.medianMs,
          gflops: g,
          ceilingGflops: c,
          fractionOfCeiling: g / c,
          relErr: sampledError(problem, await readY(gpu, problem), other.variant),
          bytesPerExpert: problem.bytesPerExpert,
        });
        other.destroy();
      }
      tiled.destroy();
      naive.destroy();
      problem.destroy();
    }
  }
  const ceiling = Math.max(...ceilings);

  const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
  const ratio = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)}×`);
  const table: Cell[][] = [
    ...rows.map((r): Cell[] => [
      r.kernel,
      r.shape,
      r.format,
      r.variant,
      r.medianMs.toFixed(1),
      r.gflops.toFixed(3),
      r.ceilingGflops.toFixed(2),
      pct(r.fractionOfCeiling),
      r.naiveGflops?.toFixed(3) ?? '-',
      ratio(r.vsNaive),
      ratio(r.vsPeerLoop),
      ratio(r.vsPeerDense),
      r.relErr!.toExponential(1),
    ]),
    ...peerRows.map((r): Cell[] => [
      r.kernel,
      r.shape,
      r.format,
      '-',
      r.medianMs.toFixed(1),
      r.gflops.toFixed(3),
      r.ceilingGflops.toFixed(2),
      pct(r.fractionOfCeiling),
      '-',
      '-',
      '-',
      '-',
      '-',
    ]),
    [
      'FMA ceiling (multiply-add loop), best in run',
      '-',
      '-',
      '-',
      '-',
      ceiling.toFixed(3),
      ceiling.toFixed(2),
      '100%',
      '-',
      '-',
      '-',
      '-',
      '-',
    ],
  ];
  process.stdout.write(
    '\n' +
      formatTable(
        [
          'kernel',
          'shape',
          'format',
          'variant',
          'median ms',
          'GFLOP/s',
          'ceiling',
          'of ceiling',
          'naive GFLOP/s',
          'vs naive',
          'vs peer loop',
          'vs peer dense',
          'rel. err',
        ],
        table,
        {
          rightAlign: [false, false, false, false, true, true, true, true, true, true, true, true, true],
        },
      ) +
      '\n',
  );
  for (const sk of skipped) process.stdout.write(`not supported on this adapter: ${sk}\n`);
  load.push(loadavg()[0]);
  process.stdout.write(
    `\nAll numbers measured here, in this run, on ${adapter} ` +
      `(${gpu.info.software ? 'a CPU-emulated GPU: ratios carry over, absolute speeds do not' : 'hardware GPU'}). ` +
      `FLOPs = 2·T·K·3·H·F; peer ratios compare against the peer's f32 matMul on the same problem; ` +
      `ceiling = FMA loop measured just before and after each row (the better of the two), because other jobs' load drifts ` +
      `(load average ${load.map((l) => l.toFixed(1)).join(' → ')}).\n`,
  );
  const json = {
    bench: 'kernels',
    measured: 'here',
    adapter,
    adapterInfo: gpu.info,
    timing,
    date: new Date().toISOString(),
    runs,
    skew,
    flops: 'FLOPs = 2·T·K·3·H·F (gate, up, down)',
    ceilingGflops: ceiling,
    ceilingMeasurements: ceilings,
    loadAverage: { start: load[0], end: load[1] },
    peer: typeof peer === 'string' ? { unavailable: peer } : { name: peer.name, rows: peerRows },
    rows,
    notSupported: skipped,
    seconds: (performance.now() - t0) / 1000,
  };
  await writeFileAtomic(out, JSON.stringify(json, null, 2) + '\n');
  process.stdout.write(`wrote ${out} (${json.seconds.toFixed(0)} s)\n`);
  const checked = rows.filter((r) => r.role === 'default'); // --check guards each format's own variant
  if (args.flag('write-baseline')) {
    writeFileSync(BASELINE, JSON.stringify(baselineFrom(checked, adapter), null, 2) + '\n');
    process.stdout.write(`wrote ${BASELINE}\n`);
  }
  if (args.flag('check')) checkRun(checked, adapter);
}

/** Prints the ratio check and throws (exit 1) naming every ratio that fell below its floor. */
function checkRun(rows: Row[], adapter: string): void {
  if (!existsSync(BASELINE)) throw new Error(`--check: no ${BASELINE} (write one with --write-baseline)`);
  const baseline = JSON.parse(readFileSync(BASELINE, 'utf8')) as KernelsBaseline;
  const c = checkAgainstBaseline(rows, baseline, adapter);
  const floors = Object.entries(FLOORS)
    .map(([k, f]) => `${k} ≥ ${f.toFixed(2)} × baseline`)
    .join(', ');
  const targets = Object.entries(TARGETS)
    .map(([k, t]) => `${k} ≥ ${t}×`)
    .join(', ');
  process.stdout.write(
    `\ncheck against ${BASELINE} (${baseline.date}, ${baseline.adapter}); ratios only; floors: ${floors}; peer targets: ${targets}\n`,
  );
  if (c.rows.length) {
    process.stdout.write(
      formatTable(['shape', 'format', 'ratio', 'baseline', 'now', 'floor', 'verdict'], c.rows, {
        rightAlign: [false, false, false, true, true, true, false],
      }) + '\n',
    );
  }
  for (const n of c.notes) process.stdout.write(`note: ${n}\n`);
  if (c.failures.length)
    throw new Error(`bench:kernels --check: ${c.failures.length} ratio(s) fell:\n  ${c.failures.join('\n  ')}`);
  process.stdout.write('check passed: every ratio is above its floor\n');
}

await runCli(main);
