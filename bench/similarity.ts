// npm run bench:similarity — the emulation held against two yardsticks, side by side in one run.
//
// 1. invariant: with a free link and no time dilation DWDP does exactly DP's math, so its
//    measured compute per category must be DP's (split weights on and off). Configurations run
//    interleaved, after one untimed warm-up run each (pipelines built, caches warm), every step
//    timed as the minimum of --repeats submissions; a category's time is its minimum over rounds.
// 2. agreement: scaled emulated runs (tiny-mixtral standing for DeepSeek-R1 on GB200 NVL72)
//    beside their modeled counterparts: DWDP/DEP and DP/DEP TPS/GPU and the hidden-pull fraction,
//    with the error. Measured here (GPU timestamps on this adapter, virtual clock) vs modeled.
import { mkdir, writeFile } from 'node:fs/promises';
import { Args, parseArgs, runCli, usage, type Spec } from '../src/cli/args.ts';
import { drainGpuPool } from '../src/gpu/pool.ts';
import { formatTable } from '../src/report/table.ts';
import { modeledRates } from '../src/similarity/counterpart.ts';
import { DEFAULT_GROUP_OPTIONS } from '../src/strategies/options.ts';
import { resolveConfig, runGroup, type GroupRun } from '../src/strategies/run.ts';
import { withScaleTarget } from '../src/similarity/target.ts';
import type { GroupRunOptions } from '../src/strategies/types.ts';

const SPEC: Spec = {
  part: { kind: 'string', help: 'invariant, agreement or both (default both)', placeholder: 'which' },
  rounds: { kind: 'string', help: 'invariant: interleaved rounds (default 2)', placeholder: 'n' },
  repeats: {
    kind: 'string',
    help: 'invariant: submissions per timed step, minimum kept (default 3)',
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

const CATEGORIES = ['attention', 'router', 'gemm', 'combine', 'merge'];

function byCategory(r: GroupRun): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of r.ranks)
    for (const [c, v] of Object.entries(m.computeByCategory)) out[c] = (out[c] ?? 0) + v / r.ranks.length;
  return out;
}

async function invariant(rounds: number, repeats: number) {
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
    timingRepeats: repeats,
  };
  const configs: Record<string, GroupRunOptions> = {
    dp: { ...base, strategy: 'dp' },
    'dwdp split on': { ...base, strategy: 'dwdp', dwdp: { ...base.dwdp, splitWeights: true } },
    'dwdp split off': { ...base, strategy: 'dwdp', dwdp: { ...base.dwdp, splitWeights: false } },
  };
  const best: Record<string, Record<string, number>> = {};
  // The three run side by side: the virtual clock's process-wide GPU lock interleaves their steps,
  // so the load of the moment weighs on DP's and DWDP's kernels alike.
  const sideBySide = (over: Partial<GroupRunOptions>) =>
    Promise.all(Object.values(configs).map((o) => runGroup({ ...o, ...over })));
  process.stderr.write('  warm-up round (pipelines built, caches warm)\n');
  await sideBySide({ timingRepeats: 1 });
  let adapter = '';
  for (let i = 0; i < rounds; i++) {
    process.stderr.write(`  round ${i + 1}/${rounds}: dp, dwdp split on, dwdp split off side by side\n`);
    const results = await sideBySide({});
    Object.keys(configs).forEach((name, j) => {
      const r = results[j];
      adapter = r.adapter;
      best[name] ??= {};
      for (const [k, v] of Object.entries(byCategory(r))) best[name][k] = Math.min(v, best[name][k] ?? Infinity);
    });
  }
  const rows = CATEGORIES.filter((c) => Object.values(best).some((b) => b[c] !== undefined)).map((c) => {
    const dp = best.dp[c];
    const on = best['dwdp split on'][c];
    const off = best['dwdp split off'][c];
    const ratio = (x: number | undefined) => (x !== undefined && dp ? x / dp : '—');
    return [c, dp ?? '—', on ?? '—', ratio(on), off ?? '—', ratio(off)];
  });
  console.log(
    `\ninvariant — free link (100000 GB/s), no dilation: tiny-mixtral, 4 ranks, 4 layers, 256 tokens/rank in 2 requests; ` +
      `compute per rank (ms) measured here (${adapter}, GPU timestamps; the three side by side, steps interleaved; ` +
      `min of ${repeats} submissions per step, min over ${rounds} rounds):\n`,
  );
  console.log(formatTable(['category', 'DP ms', 'DWDP split on ms', 'on ÷ DP', 'DWDP split off ms', 'off ÷ DP'], rows));
  console.log('(merge: the split-off copy into one buffer, DWDP only)');
  return { adapter, rounds, repeats, minimumMsPerRank: best };
}

interface Workload {
  tokens: number;
  requests: number;
  cv: number;
}

async function agreement(workloads: Workload[], repeats: number) {
  const out = [];
  let deviceGflops: number | undefined;
  for (const w of workloads) {
    const base: GroupRunOptions = {
      ...DEFAULT_GROUP_OPTIONS,
      model: 'tiny-mixtral',
      tokensPerRank: w.tokens,
      requestsPerRank: w.requests,
      lengthCv: w.cv,
      layers: 4,
      ranks: 4,
      clock: 'virtual',
      timingRepeats: repeats,
    };
    const runs: Record<string, GroupRun> = {};
    for (const strategy of ['dp', 'dep', 'dwdp'] as const) {
      process.stderr.write(`  ${w.tokens} tokens/rank × ${w.requests}, CV ${w.cv}: ${strategy}\n`);
      const o: GroupRunOptions = { ...base, strategy, timeDilation: { profile: 'gb200-nvl72', deviceGflops } };
      runs[strategy] = await runGroup(withScaleTarget(o, resolveConfig(o.model)));
      deviceGflops ??= runs[strategy].link.dilation!.deviceGflops;
    }
    const sim = runs.dwdp.similarity!;
    const m = modeledRates(sim.params, sim.target.profile);
    out.push({
      workload: w,
      target: sim.params,
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
    });
  }
  const pct = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)}%`;
  console.log(
    `\nagreement — tiny-mixtral on 4 emulated ranks, 4 measured layers, scaled to DeepSeek-R1 on gb200-nvl72 ` +
      `(measured here, GEMM ${deviceGflops?.toFixed(3)} GFLOP/s) beside the rack model (modeled on gb200-nvl72), TPS/GPU ratios:\n`,
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
        `ISL ${o.target.isl} × ${o.target.batch}`,
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
  return { deviceGflops, rows: out };
}

async function main(): Promise<void> {
  const args = new Args(parseArgs(process.argv.slice(2), SPEC));
  if (args.flag('help'))
    return void process.stdout.write(
      usage('npm run bench:similarity -- [options]', 'The DP invariant and the model agreement.', SPEC),
    );
  const part = args.str('part', 'both');
  if (!['invariant', 'agreement', 'both'].includes(part))
    throw new Error(`--part: invariant, agreement or both (got '${part}')`);
  const repeats = args.num('repeats', 3, { min: 1, int: true });
  const rounds = args.num('rounds', 2, { min: 1, int: true });
  const workloads = args
    .str('workloads', '256:1:0.2,1024:1:0,1024:1:0.2,2048:1:0.2')
    .split(',')
    .map((w, i) => {
      const [tokens, requests, cv] = w.split(':').map(Number);
      if (!(Number.isInteger(tokens) && tokens > 0 && Number.isInteger(requests) && requests > 0 && cv >= 0 && cv <= 2))
        throw new Error(`--workloads[${i}]: expected tokens:requests:cv, e.g. 1024:1:0.2 (got '${w}')`);
      return { tokens, requests, cv };
    });
  const t0 = performance.now();
  const result: Record<string, unknown> = { bench: 'similarity', measured: 'here', modeled: 'gb200-nvl72' };
  if (part !== 'agreement') result.invariant = await invariant(rounds, repeats);
  if (part !== 'invariant')
    result.agreement = await agreement(workloads, args.num('agreement-repeats', 1, { min: 1, int: true }));
  const out = args.str('out', 'results/bench-similarity.json');
  await mkdir(out.slice(0, out.lastIndexOf('/')) || '.', { recursive: true });
  result.seconds = (performance.now() - t0) / 1000;
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${out} (${(result.seconds as number).toFixed(0)} s)`);
  drainGpuPool();
}

runCli(main);
