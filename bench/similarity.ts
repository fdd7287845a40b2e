// npm run bench:similarity — the emulation held against two yardsticks, side by side in one run.
//
// 1. invariant: with a free link and no time dilation DWDP does exactly DP's math, so its
//    measured compute per category must be DP's (split weights on and off). After one warm-up
//    run each (pipelines built, caches warm), the configurations run side by side with their
//    steps paired (src/strategies/paired-steps.ts): each step of every configuration submitted
//    back to back, --rounds rounds, the order rotated each round; per category the median and
//    interquartile range of the paired ratios to DP's same step. A control runs beside them:
//    DP again, on its own device; its ratios are the scatter of the measurement itself (what a
//    DWDP ratio must be read against).
// 2. agreement: scaled emulated runs (tiny-mixtral standing for DeepSeek-R1 on GB200 NVL72)
//    beside their modeled counterparts: DWDP/DEP and DP/DEP TPS/GPU and the hidden-pull fraction,
//    with the error, and per strategy each part of a rank's time (compute per category, exposed
//    pull, barrier, all-to-all) measured beside modeled, in target ms: where the two differ.
//    The three strategies of a workload run side by side (as the invariant's configurations do),
//    sharing one measured GEMM rate; DEP's recorded router counts are handed to DP and DWDP before
//    they dilate, so every strategy's grouped GEMM is dilated to the target's padded-tile GEMM
//    under the same loads as the counterpart (src/similarity/routed-runs.ts, as the page does). Measured here (GPU timestamps on this adapter, virtual
//    clock) vs modeled.
import { loadavg } from 'node:os';
import { commandLine, runCli, UsageError, type Spec } from '../src/cli/args.ts';
import { checkOutputFile, writeFileAtomic } from '../src/util/output-path.ts';
import { borrowGpu, drainGpuPool, returnGpu } from '../src/gpu/pool.ts';
import { formatTable } from '../src/report/table.ts';
import { modeledRates, withRoutedLoads } from '../src/similarity/counterpart.ts';
import { DEFAULT_GROUP_OPTIONS } from '../src/strategies/options.ts';
import { resolveConfig, runGroup, type GroupRun } from '../src/strategies/run.ts';
import {
  medianInterval,
  pairedRatio,
  pairedRatiosByCategory,
  stepMinimaByCategory,
  withinBound,
  type PairedRatio,
} from '../src/strategies/metrics.ts';
import { PairedSteps } from '../src/strategies/paired-steps.ts';
import { withScaleTarget } from '../src/similarity/target.ts';
import { routingHooks, runUnderOneRouting } from '../src/similarity/routed-runs.ts';
import type { CounterpartParams } from '../src/similarity/scale-model.ts';
import { measureDilation } from '../src/strategies/dilation.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import { StoreLayout } from '../src/dwdp/store-layout.ts';
import { expertLayout } from '../src/model/formats.ts';
import { buildGemmProblem, createShapeGemm, readY, timeGemm } from '../src/kernels/gemm-tuning.ts';
import { adapterLabel } from '../src/gpu/index.ts';
import { median } from '../src/util/stats.ts';
import { COMPUTE_CATEGORIES, type ComputeCategory } from '../src/timeline/categories.ts';
import type { RankMetrics } from '../src/timeline/scheduler.ts';
import type { GroupRunOptions } from '../src/strategies/types.ts';

const SPEC: Spec = {
  part: {
    kind: 'string',
    choices: ['invariant', 'gemm', 'agreement', 'both'],
    help: 'invariant (with the grouped-GEMM rows), gemm (those rows alone), agreement or both (default both)',
  },
  rounds: {
    kind: 'string',
    help: 'invariant: paired rounds, each step of the four runs submitted back to back once per round (default 9)',
    placeholder: 'n',
  },
  'gemm-pairs': {
    kind: 'string',
    help: 'invariant: alternating submissions per weight layout in the grouped-GEMM rows (default 15)',
    placeholder: 'n',
  },
  'agreement-repeats': { kind: 'string', help: 'agreement: submissions per timed step (default 1)', placeholder: 'n' },
  workloads: {
    kind: 'string',
    help: 'agreement: tokens/rank:requests:cv list (default 256:1:0.2,1024:1:0,1024:1:0.2,2048:1:0.2 — ISL 2K, 8K, 8K, 16K)',
    placeholder: 'list',
  },
  out: { kind: 'string', help: 'JSON output (default results/bench-similarity.json)', placeholder: 'FILE' },
  help: { kind: 'flag', help: 'show this help' },
};

/**
 * The split-weight grouped GEMM against DP's, the same rows and weights (the invariant's
 * shape: 256 tokens, tiny-mixtral, nvfp4) and the same one-binding kernel: DP's experts in
 * order, against a DWDP rank's store (src/dwdp/store-layout.ts: rank 1 of 4, layer 3 of 4 with
 * 2 slots — its slot's pulled experts and its resident section in one buffer, each expert at
 * its own offset). The layouts alternate submission by submission (which goes first alternates
 * too) and the ratio of each adjacent pair is kept, so a load that drifts weighs on both sides
 * of a pair alike; reported as the median of the paired ratios.
 */
async function gemmLayouts(pairs: number) {
  const cfg = resolveConfig('tiny-mixtral');
  const shape = {
    tokens: 256,
    hidden: cfg.hidden,
    expertHidden: cfg.expertHidden,
    experts: cfg.experts,
    topK: cfg.topK,
  };
  const bytes = expertLayout('nvfp4', shape.hidden, shape.expertHidden).bytes;
  const store = new StoreLayout({
    placement: makePlacement(cfg.experts, 4),
    rank: 1,
    expertBytes: bytes,
    layers: 4,
    depth: 2,
  });
  const SIDES = [
    { name: 'DP: experts in order' },
    {
      name: 'DWDP: rank store (slot + section)',
      expertOffsets: Array.from({ length: cfg.experts }, (_, e) => store.expertOffset(3, e)),
    },
  ];
  const gpu = await borrowGpu();
  const problems = SIDES.map((side) => buildGemmProblem(gpu, shape, 'nvfp4', { seed: 1, ...side }));
  // One kernel object for both: the layouts differ only in the expert table's offsets.
  const gemm = await createShapeGemm(gpu, shape, 'nvfp4');
  const ms: number[][] = SIDES.map(() => []);
  for (let i = 0; i < SIDES.length; i++) await timeGemm(gpu, gemm, problems[i], 1, 1);
  // The order alternates pair by pair, so neither layout is always the one submitted first.
  for (let r = 0; r < pairs; r++)
    for (let j = 0; j < SIDES.length; j++) {
      const i = r % 2 ? SIDES.length - 1 - j : j;
      ms[i].push((await timeGemm(gpu, gemm, problems[i], 1, 0)).minMs);
    }
  const y = await Promise.all(problems.map((p) => readY(gpu, p)));
  problems.forEach((p) => p.destroy());
  gemm.destroy();
  returnGpu(gpu);
  // The same math: every layout gives DP's outputs bit for bit.
  const same = y.every((v) => v.every((x, j) => x === y[0][j]));
  const ratios = SIDES.map((_, i) => ms[i].map((v, j) => v / ms[0][j]));
  const paired = ratios.map(pairedRatio);
  const rows = SIDES.map((side, i) => {
    const [lo, hi] = medianInterval(paired[i]);
    const verdict = i === 0 ? '' : `${lo.toFixed(3)}–${hi.toFixed(3)} ${withinBound(paired[i], 0.05)}`;
    return [side.name, median(ms[i]), Math.min(...ms[i]), paired[i].median, verdict];
  });
  console.log(
    `\ngrouped GEMM by weight layout — 256 tokens, tiny-mixtral, nvfp4, ${gemm.variant.kind} variant; measured here ` +
      `(${adapterLabel(gpu.info)}, GPU timestamps; ${pairs} alternating submissions each, load average ${loadavg()[0].toFixed(1)}); ` +
      `outputs identical to DP's: ${same ? 'yes' : 'NO'}\n`,
  );
  console.log(
    formatTable(['weights', 'median ms', 'min ms', 'paired ratio to DP (median)', '95% interval, 5% bound'], rows),
  );
  return {
    pairs,
    same,
    sides: SIDES.map((side, i) => ({
      name: side.name,
      ms: ms[i],
      ratio: paired[i],
      interval: medianInterval(paired[i]),
    })),
    loadAverage: loadavg(),
  };
}

/** The invariant's sides, in pairing order: DP is the reference, DP again the control. */
const INVARIANT_SIDES = ['dp', 'dwdp split on', 'dwdp split off', 'dp again'] as const;
/** The categories whose steps are paired (the merge is DWDP split off's alone). */
const PAIRED: readonly ComputeCategory[] = ['attention', 'router', 'gemm', 'combine'];

async function invariant(rounds: number) {
  const base: GroupRunOptions = {
    ...DEFAULT_GROUP_OPTIONS,
    model: 'tiny-mixtral',
    tokensPerRank: 256,
    requestsPerRank: 2,
    layers: 4,
    ranks: 4,
    clock: 'virtual',
    timeDilation: undefined,
    link: { gbps: 100000, latencyUs: 2, contentionFix: true },
  };
  const configs: Record<(typeof INVARIANT_SIDES)[number], GroupRunOptions> = {
    dp: { ...base, strategy: 'dp' },
    'dwdp split on': { ...base, strategy: 'dwdp', dwdp: { ...base.dwdp, splitWeights: true } },
    'dwdp split off': { ...base, strategy: 'dwdp', dwdp: { ...base.dwdp, splitWeights: false } },
    // The control: DP again, on its own device. Its ratio to DP is what the measurement can resolve.
    'dp again': { ...base, strategy: 'dp' },
  };
  const load0 = loadavg()[0];
  process.stderr.write('  warm-up (pipelines built, caches warm): the four side by side, unpaired\n');
  await Promise.all(INVARIANT_SIDES.map((k) => runGroup(configs[k])));
  process.stderr.write(`  paired: every step of the four back to back, ${rounds} rounds (order rotated each round)\n`);
  const paired = new PairedSteps(INVARIANT_SIDES.length, rounds, new Set(PAIRED));
  const loadMid = loadavg()[0];
  const runs = await Promise.all(
    INVARIANT_SIDES.map((k, side) => runGroup(configs[k], { paired: { steps: paired, side } })),
  );
  const adapter = runs[0].adapter;
  const ratios = Object.fromEntries(
    INVARIANT_SIDES.slice(1).map((k, j) => [k, pairedRatiosByCategory(paired.steps, j + 1, 0)]),
  ) as Record<Exclude<(typeof INVARIANT_SIDES)[number], 'dp'>, Record<string, PairedRatio>>;
  // Each run's steps keep their rounds' minimum: DP's per-rank total per category, for scale.
  const dpMs = stepMinimaByCategory([runs[0]]);
  const cell = (r: PairedRatio | undefined) => (r ? r.median : '—');
  const iqr = (r: PairedRatio | undefined) => (r ? `${r.q1.toFixed(3)}–${r.q3.toFixed(3)}` : '—');
  const rows = PAIRED.filter((c) => ratios['dwdp split on'][c] || ratios['dp again'][c]).map((c) => {
    const on = ratios['dwdp split on'][c];
    const off = ratios['dwdp split off'][c];
    const ctl = ratios['dp again'][c];
    return [c, dpMs[c] ?? '—', cell(on), iqr(on), cell(off), iqr(off), cell(ctl), iqr(ctl), on?.pairs ?? 0];
  });
  const load1 = loadavg()[0];
  console.log(
    `\ninvariant, paired — free link (100000 GB/s), no dilation: tiny-mixtral, 4 ranks, 4 layers, 256 tokens/rank in 2 requests; ` +
      `measured here (${adapter}, GPU timestamps): every step of DP, DWDP split on, DWDP split off and DP again (the control, ` +
      `its own device) submitted back to back, ${rounds} rounds, order rotated each round; per category the median and ` +
      `interquartile range of the paired ratios (a step's ms ÷ DP's same step in the same round); ` +
      `load average ${load0.toFixed(1)} at the start, ${loadMid.toFixed(1)} after the warm-up, ${load1.toFixed(1)} at the end:\n`,
  );
  console.log(
    formatTable(
      [
        'category',
        'DP ms per rank',
        'split on ÷ DP (median)',
        'IQR',
        'split off ÷ DP (median)',
        'IQR',
        'DP again ÷ DP (control)',
        'IQR',
        'pairs',
      ],
      rows,
    ),
  );
  // The median's approximate 95% interval (McGill's notch) against the 5% bound, control first.
  const verdicts = PAIRED.filter((c) => ratios['dp again'][c]).map((c) => {
    const v = (k: keyof typeof ratios) => {
      const r = ratios[k][c];
      if (!r) return `${k} —`;
      const [lo, hi] = medianInterval(r);
      return `${k} ${withinBound(r, 0.05)} (${lo.toFixed(3)}–${hi.toFixed(3)})`;
    };
    return `${c}: ${v('dp again')}; ${v('dwdp split on')}; ${v('dwdp split off')}`;
  });
  console.log(
    "\n(DP ms per rank: each step's minimum over the rounds, summed; the merge, DWDP split off's alone, is not paired)\n" +
      'the 5% bound per category, from the median ± 1.58·IQR/√pairs (its approximate 95% interval): ' +
      'within, outside or unresolved — the control must be within for a DWDP row to mean anything\n' +
      verdicts.join('\n'),
  );
  return {
    adapter,
    rounds,
    sides: INVARIANT_SIDES,
    loadAverage: { start: load0, afterWarmUp: loadMid, end: load1 },
    pairedRatios: ratios,
    dpMsPerRank: dpMs,
    steps: paired.steps,
  };
}

interface Workload {
  tokens: number;
  requests: number;
  cv: number;
}

/** Mean per rank of each part of a rank's time, ms: compute per category, exposed pull, barrier, all-to-all, end of step. */
function timeParts(ranks: readonly RankMetrics[], per = 1): Record<string, number> {
  const mean = (f: (m: RankMetrics) => number) => ranks.reduce((a, m) => a + f(m), 0) / ranks.length / per;
  const out: Record<string, number> = {};
  // The scaled run files the target's norms and shared expert under attention and its dense layers
  // and LM head under dense and other; the model files them apart: compared as one part.
  const HEAD: readonly string[] = ['attention', 'dense', 'other'];
  out['attention, norms, dense, head'] = mean((m) =>
    HEAD.reduce((a, c) => a + (m.computeByCategory[c as ComputeCategory] ?? 0), 0),
  );
  for (const c of COMPUTE_CATEGORIES) if (!HEAD.includes(c)) out[c] = mean((m) => m.computeByCategory[c] ?? 0);
  out['pull wait'] = mean((m) => m.waitMs);
  out.barrier = mean((m) => m.syncMs);
  out['all-to-all'] = mean((m) => m.commMs);
  out['end of step'] = mean((m) => m.endMs);
  return out;
}

interface Ratios {
  dwdpOverDep: number;
  dpOverDep: number;
  hiddenPull: number;
}

interface AgreementRow {
  workload: Workload;
  target: CounterpartParams;
  lines: string[];
  measured: Ratios;
  modeled: Ratios;
  targetMsPerRank: Record<string, { measured: Record<string, number>; modeled: Record<string, number> }>;
}

const pct = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)}%`;
const label = (o: AgreementRow) => `ISL ${o.target.isl} × ${o.target.batch}`;

/** One workload's parts of a rank's time, measured beside modeled. */
function printParts(o: AgreementRow): void {
  console.log(
    `\n${label(o)}, CV ${o.target.cv}: mean per rank, target ms — measured here (scaled run ÷ σ, load average ` +
      `${loadavg()[0].toFixed(1)}) beside modeled (gb200-nvl72)\n`,
  );
  const rows: (string | number)[][] = [];
  for (const [s, { measured, modeled }] of Object.entries(o.targetMsPerRank)) {
    for (const k of Object.keys(measured)) {
      if (!(measured[k] > 0 || modeled[k] > 0)) continue;
      rows.push([s, k, measured[k], modeled[k], modeled[k] > 0 ? pct(measured[k], modeled[k]) : '—']);
    }
  }
  console.log(formatTable(['strategy', 'part', 'measured ms', 'modeled ms', 'error'], rows));
}

async function agreement(workloads: Workload[], repeats: number, onRow?: (rows: AgreementRow[]) => Promise<void>) {
  const out: AgreementRow[] = [];
  const STRATEGIES = ['dp', 'dep', 'dwdp'] as const;
  const baseOf = (w: Workload): GroupRunOptions => ({
    ...DEFAULT_GROUP_OPTIONS,
    model: 'tiny-mixtral',
    tokensPerRank: w.tokens,
    requestsPerRank: w.requests,
    lengthCv: w.cv,
    layers: 4,
    ranks: 4,
    clock: 'virtual',
    timingRepeats: repeats,
  });
  // σ (emulated ms per target ms) from one GEMM measurement shared by every run: it scales
  // every strategy's times alike, so the ratios do not depend on it (only on sharing it).
  const cfg = resolveConfig('tiny-mixtral');
  const first = { ...baseOf(workloads[0]), timeDilation: { profile: 'gb200-nvl72' } };
  const gpu = await borrowGpu();
  const deviceGflops = (await measureDilation(gpu, cfg, first, workloads[0].tokens)).deviceGflops;
  returnGpu(gpu);
  for (const w of workloads) {
    process.stderr.write(`  ${w.tokens} tokens/rank × ${w.requests}, CV ${w.cv}: dp, dep, dwdp side by side\n`);
    // Side by side: the virtual clock's process-wide GPU lock interleaves their timed steps, so
    // the load of the moment weighs on the three alike.
    // DEP's recorded router counts, handed to DP and DWDP before they dilate: every strategy
    // dilates its grouped GEMM to the target's padded one under the same loads as the counterpart.
    const results = await runUnderOneRouting(
      STRATEGIES,
      (strategy, _i, hand) => {
        const o: GroupRunOptions = { ...baseOf(w), strategy, timeDilation: { profile: 'gb200-nvl72', deviceGflops } };
        return runGroup(withScaleTarget(o, cfg), routingHooks(hand));
      },
      'side-by-side',
    );
    const runs = Object.fromEntries(STRATEGIES.map((s, i) => [s, results[i]])) as Record<
      (typeof STRATEGIES)[number],
      GroupRun
    >;
    const sim = runs.dwdp.similarity!;
    // Routed as the emulation was: DEP's recorded router counts, the same routing every strategy ran.
    const params = runs.dep.routedSlots ? withRoutedLoads(sim.params, runs.dep.routedSlots) : sim.params;
    const m = modeledRates(params, sim.target.profile);
    // Measured times are in the scaled run's ms: ÷ σ gives target ms, the model's unit.
    const parts = Object.fromEntries(
      STRATEGIES.map((s) => [
        s,
        { measured: timeParts(runs[s].ranks, runs[s].similarity!.timeScale), modeled: timeParts(m[s].ranks) },
      ]),
    );
    out.push({
      workload: w,
      target: params,
      lines: sim.lines,
      measured: {
        dwdpOverDep: runs.dwdp.tpsPerGpu / runs.dep.tpsPerGpu,
        dpOverDep: runs.dp.tpsPerGpu / runs.dep.tpsPerGpu,
        hiddenPull: runs.dwdp.hiddenPullFraction,
      },
      modeled: {
        dwdpOverDep: m.dwdp.tpsPerGpu / m.dep.tpsPerGpu,
        dpOverDep: m.dp.tpsPerGpu / m.dep.tpsPerGpu,
        hiddenPull: m.dwdp.hiddenPullFraction,
      },
      targetMsPerRank: parts,
    });
    printParts(out[out.length - 1]);
    await onRow?.(out);
  }
  console.log(
    `\nagreement — tiny-mixtral on 4 emulated ranks, 4 measured layers, scaled to DeepSeek-R1 on gb200-nvl72 ` +
      `(measured here, GEMM ${deviceGflops.toFixed(3)} GFLOP/s, the three strategies side by side, ` +
      `min of ${repeats} submission(s) per step; load average ${loadavg()[0].toFixed(1)}) beside the rack model ` +
      `(modeled on gb200-nvl72), TPS/GPU ratios:\n`,
  );
  console.log(
    formatTable(
      [
        'target (per rank)',
        'CV',
        'DWDP/DEP meas.',
        'model',
        'error',
        'DP/DEP meas.',
        'model',
        'error',
        'hidden pull meas.',
        'model',
      ],
      out.map((o) => [
        label(o),
        o.target.cv,
        o.measured.dwdpOverDep,
        o.modeled.dwdpOverDep,
        pct(o.measured.dwdpOverDep, o.modeled.dwdpOverDep),
        o.measured.dpOverDep,
        o.modeled.dpOverDep,
        pct(o.measured.dpOverDep, o.modeled.dpOverDep),
        o.measured.hiddenPull,
        o.modeled.hiddenPull,
      ]),
    ),
  );
  return { deviceGflops, repeats, loadAverage: loadavg(), rows: out };
}

async function main(): Promise<void> {
  const args = commandLine('npm run bench:similarity -- [options]', 'The DP invariant and the model agreement.', SPEC);
  if (!args) return;
  const part = args.str('part', 'both');
  const rounds = args.num('rounds', 9, { min: 1, max: 64, int: true });
  const gemmPairs = args.num('gemm-pairs', 15, { min: 1, int: true });
  const agreementRepeats = args.num('agreement-repeats', 1, { min: 1, int: true });
  const workloads = args
    .str('workloads', '256:1:0.2,1024:1:0,1024:1:0.2,2048:1:0.2')
    .split(',')
    .map((w, i) => {
      const [tokens, requests, cv] = w.split(':').map(Number);
      if (!(Number.isInteger(tokens) && tokens > 0 && Number.isInteger(requests) && requests > 0 && cv >= 0 && cv <= 2))
        throw new UsageError(
          `--workloads ${w}: entry ${i + 1} is not tokens:requests:cv with cv from 0 to 2, e.g. 1024:1:0.2`,
        );
      return { tokens, requests, cv };
    });
  const out = args.str('out', 'results/bench-similarity.json');
  checkOutputFile('--out', out); // before the measurements
  const t0 = performance.now();
  const writeOut = (r: Record<string, unknown>) => writeFileAtomic(out, JSON.stringify(r, null, 2) + '\n');
  const result: Record<string, unknown> = { bench: 'similarity', measured: 'here', modeled: 'gb200-nvl72' };
  if (part !== 'agreement') result.gemmLayouts = await gemmLayouts(gemmPairs);
  if (part === 'invariant' || part === 'both') result.invariant = await invariant(rounds);
  if (part === 'agreement' || part === 'both')
    result.agreement = await agreement(workloads, agreementRepeats, (rows) =>
      // Each workload's rows are written as they come (a long run keeps what it measured).
      writeOut({ ...result, agreement: { rows, partial: true } }),
    );
  result.seconds = (performance.now() - t0) / 1000;
  await writeOut(result);
  console.log(`\nwrote ${out} (${(result.seconds as number).toFixed(0)} s)`);
  drainGpuPool();
}

runCli(main);
