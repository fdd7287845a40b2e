// npm run bench:strategies — DP, DEP and DWDP side by side on emulated ranks, in the
// virtual clock: TPS/GPU at input-length CV 0%, 20% and 40% with DWDP/DEP ratios, then a
// link-bandwidth sweep (the measured steps re-scheduled under each link) showing where
// DWDP stops paying. Every time is measured here (GPU timestamps on this adapter) and
// scheduled in virtual time; the link is time-dilated to the GB200 profile.
import { commandLine, runCli, type Spec } from '../src/cli/args.ts';
import { checkOutputFile, writeFileAtomic } from '../src/util/output-path.ts';
import { drainGpuPool } from '../src/gpu/pool.ts';
import { tokensPerExpertNote } from '../src/report/group-report.ts';
import { PRESETS } from '../src/model/index.ts';
import { formatTable } from '../src/report/table.ts';
import { simulate } from '../src/timeline/scheduler.ts';
import { DEFAULT_GROUP_OPTIONS } from '../src/strategies/options.ts';
import { resolveConfig, runGroup, type GroupRun } from '../src/strategies/run.ts';
import { withScaleTarget } from '../src/similarity/target.ts';
import { appliedLinkFactor } from '../src/strategies/dilation.ts';
import type { GroupRunOptions, StrategyName } from '../src/strategies/types.ts';

const SPEC: Spec = {
  model: {
    kind: 'string',
    help: 'preset (default tiny-mixtral)',
    placeholder: 'preset',
    choices: Object.keys(PRESETS),
  },
  tokens: { kind: 'string', help: 'mean tokens per rank (default 256)', placeholder: 'T' },
  ranks: { kind: 'string', help: 'group size (default 4)', placeholder: 'N' },
  layers: { kind: 'string', help: 'layers (default 4)', placeholder: 'n' },
  requests: { kind: 'string', help: 'requests per rank (default 2)', placeholder: 'n' },
  seed: { kind: 'string', help: 'seed (default 1)', placeholder: 'S' },
  out: { kind: 'string', help: 'JSON output file (default results/bench-strategies.json)', placeholder: 'FILE' },
  help: { kind: 'flag', help: 'show this help' },
};

const CVS = [0, 0.2, 0.4];
const STRATS: StrategyName[] = ['dp', 'dep', 'dwdp'];
const LINK_SCALES = [1 / 16, 1 / 4, 1, 4, 16, 64, 256];

async function main(): Promise<void> {
  const args = commandLine(
    'npm run bench:strategies -- [options]',
    'DP vs DEP vs DWDP on emulated ranks (virtual clock).',
    SPEC,
  );
  if (!args) return;
  const out = args.str('out', 'results/bench-strategies.json');
  checkOutputFile('--out', out); // before the runs
  const base: GroupRunOptions = {
    ...DEFAULT_GROUP_OPTIONS,
    model: args.str('model', 'tiny-mixtral'),
    tokensPerRank: args.num('tokens', 256, { min: 1, int: true }),
    ranks: args.num('ranks', 4, { min: 2, int: true }),
    layers: args.num('layers', 4, { min: 1, int: true }),
    requestsPerRank: args.num('requests', 2, { min: 1, int: true }),
    seed: args.num('seed', 1, { min: 0, int: true }),
    clock: 'virtual',
  };
  const t0 = performance.now();
  // One dilation factor for the whole bench: measured once, so every row shares one link.
  const runs = new Map<string, GroupRun>();
  let dilation: GroupRun['link']['dilation'];
  for (const cv of CVS) {
    for (const strategy of STRATS) {
      process.stderr.write(`  ${strategy} at CV ${cv * 100}% …\n`);
      const o: GroupRunOptions = { ...base, strategy, lengthCv: cv };
      const given = dilation
        ? { ...o, timeDilation: { profile: dilation.profile, deviceGflops: dilation.deviceGflops } }
        : o;
      const r = await runGroup(withScaleTarget(given, resolveConfig(given.model)));
      dilation ??= r.link.dilation;
      runs.set(`${strategy}@${cv}`, r);
    }
  }
  const first = runs.values().next().value!;
  const rows = CVS.map((cv) => {
    const [dp, dep, dwdp] = STRATS.map((s) => runs.get(`${s}@${cv}`)!);
    return [
      `${cv * 100}%`,
      dp.tpsPerGpu,
      dep.tpsPerGpu,
      dwdp.tpsPerGpu,
      dwdp.tpsPerGpu / dep.tpsPerGpu,
      dep.ranks.reduce((a, k) => a + k.syncMs, 0) / dep.ranks.length,
      100 * dwdp.hiddenPullFraction,
    ];
  });
  const cfg = first.config;
  console.log(
    `\nbench:strategies — ${cfg.name}, ${base.ranks} ranks, ${base.layers} layers, ` +
      `${base.tokensPerRank} tokens/rank mean in ${base.requestsPerRank} requests, ${base.format}`,
  );
  console.log(tokensPerExpertNote(cfg, base.tokensPerRank));
  console.log(`times measured here: ${first.timeSource}, ${first.adapter}`);
  if (dilation)
    console.log(
      `link: ${base.link.gbps} GB/s time-dilated ×${appliedLinkFactor(first)!.toExponential(2)} to ${dilation.profile} ` +
        (first.similarity
          ? `(the scale model's compute : pull factor for ${first.similarity.target.model}, from the GEMM here ` +
            `${dilation.deviceGflops.toFixed(3)} GFLOP/s)\n`
          : `(GEMM here ${dilation.deviceGflops.toFixed(3)} GFLOP/s vs modeled ${(dilation.profileGflops / 1e3).toFixed(0)} TFLOP/s)\n`),
    );
  console.log(
    formatTable(
      ['length CV', 'DP TPS/GPU', 'DEP TPS/GPU', 'DWDP TPS/GPU', 'DWDP/DEP', 'DEP sync ms/rank', 'DWDP hidden pull %'],
      rows,
    ),
  );

  // Link sweep at CV 20%: the same measured steps, re-scheduled under each link.
  const sweep = LINK_SCALES.map((scale) => {
    const tps = (r: GroupRun) => {
      const rec = r.recorded!;
      const egress = (rec.link.egressGBps as number) * scale;
      const s = simulate(
        rec.programs,
        { ...rec.link, egressGBps: egress, ingressGBps: egress },
        { intervals: false, copyInterference: rec.copyInterference },
      );
      return r.ranks.reduce((a, k) => a + k.tokens, 0) / (s.makespanMs / 1000) / r.ranks.length;
    };
    const dep = tps(runs.get('dep@0.2')!);
    const dwdp = tps(runs.get('dwdp@0.2')!);
    return { linkGbps: base.link.gbps * scale, dep, dwdp, ratio: dwdp / dep };
  });
  console.log(`\nlink sweep at CV 20% (GB/s before dilation; measured steps re-scheduled in virtual time):\n`);
  console.log(
    formatTable(
      ['link GB/s', 'DEP TPS/GPU', 'DWDP TPS/GPU', 'DWDP/DEP'],
      sweep.map((s) => [s.linkGbps, s.dep, s.dwdp, s.ratio]),
    ),
  );
  const cross = sweep.find((s, i) => i > 0 && sweep[i - 1].ratio < 1 !== s.ratio < 1);
  console.log(
    cross
      ? `\nDWDP/DEP crosses 1 between ${sweep[sweep.indexOf(cross) - 1].linkGbps} and ${cross.linkGbps} GB/s`
      : `\nDWDP/DEP does not cross 1 in this range`,
  );

  await writeFileAtomic(
    out,
    JSON.stringify(
      {
        bench: 'strategies',
        measured: true,
        timeSource: first.timeSource,
        adapter: first.adapter,
        options: { ...base, model: cfg.name },
        dilation,
        byCv: CVS.map((cv, i) => ({ cv, dp: rows[i][1], dep: rows[i][2], dwdp: rows[i][3], dwdpOverDep: rows[i][4] })),
        linkSweep: sweep,
        seconds: (performance.now() - t0) / 1000,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${out} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  drainGpuPool();
}

runCli(main);
