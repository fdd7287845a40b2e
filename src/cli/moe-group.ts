// The group half of `npm run moe`: --ranks N --strategy dp|dep|dwdp and the DWDP, link,
// clock and workload options (exact interface; other tools rely on it).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getGpu } from '../gpu/index.ts';
import { buildHostLayerWeights, decodeHostLayerWeights } from '../layer/host-weights.ts';
import { runLayerStack, layerFlops } from '../layer/run.ts';
import type { MoeConfig } from '../model/config.ts';
import { parseWeightFormat } from '../model/formats.ts';
import { metricsJson, rankTable, groupTrace, tokensPerExpertNote } from '../report/group-report.ts';
import { writeLayerDump } from '../report/layer-dump.ts';
import { writeNpy } from '../report/npy-node.ts';
import { formatBytes } from '../report/units.ts';
import { PROFILES } from '../sim/profiles.ts';
import { DEFAULT_GROUP_OPTIONS } from '../strategies/options.ts';
import { runGroup } from '../strategies/run.ts';
import { CLOCKS, RANK_MODES, STRATEGIES, type GroupRunOptions } from '../strategies/types.ts';
import { relativeError } from '../util/numeric.ts';
import { writeFileAtomic } from '../util/output-path.ts';
import { UsageError, type Args, type Spec } from './args.ts';

const D = DEFAULT_GROUP_OPTIONS;
const onOff = ['on', 'off'] as const;

export const GROUP_SPEC: Spec = {
  ranks: { kind: 'string', help: `group size N (default ${D.ranks})`, placeholder: 'N' },
  strategy: { kind: 'string', help: `dp, dep or dwdp (default ${D.strategy})`, choices: STRATEGIES },
  'rank-mode': {
    kind: 'string',
    help: `ranks as separate devices or partitions of one device (default ${D.rankMode})`,
    choices: RANK_MODES,
  },
  layers: { kind: 'string', help: `MoE layers, each with its own weights (default ${D.layers})`, placeholder: 'n' },
  'dwdp-local': { kind: 'string', help: 'DWDP: experts held per rank, L (default: minimal memory)', placeholder: 'L' },
  'dwdp-pull': { kind: 'string', help: 'DWDP: experts pulled from each peer, P (E = L + (N−1)·P)', placeholder: 'P' },
  prefetch: {
    kind: 'string',
    help: 'DWDP: prefetch all remote experts into ping-pong slots (on) or pull routed ones after routing (off)',
    choices: onOff,
  },
  'prefetch-depth': {
    kind: 'string',
    help: `DWDP: prefetch slots (default ${D.dwdp.prefetchDepth})`,
    placeholder: 'n',
  },
  'split-weights': {
    kind: 'string',
    help: 'DWDP: grouped GEMM reads resident + peer buffers in place (on) or merges first (off)',
    choices: onOff,
  },
  'contention-fix': {
    kind: 'string',
    help: 'slice pulls (2 MiB) and interleave them round-robin across peers',
    choices: onOff,
  },
  'link-gbps': {
    kind: 'string',
    help: `per-rank link bandwidth each way, GB/s, before time dilation (default ${D.link.gbps})`,
    placeholder: 'X',
  },
  'link-latency-us': { kind: 'string', help: `link latency, µs (default ${D.link.latencyUs})`, placeholder: 'Y' },
  clock: {
    kind: 'string',
    help: `wall (real concurrency, paced copies) or virtual (measured steps, scheduled) (default ${D.clock})`,
    choices: CLOCKS,
  },
  'time-dilation': {
    kind: 'string',
    help: `scale the link by this device's GEMM rate ÷ a profile's (${Object.keys(PROFILES).join(', ')}), or off (default ${D.timeDilation?.profile})`,
    placeholder: 'profile|off',
  },
  'length-cv': {
    kind: 'string',
    help: `coefficient of variation of request input lengths (default ${D.lengthCv})`,
    placeholder: 'c',
  },
  requests: {
    kind: 'string',
    help: `requests per rank; their lengths sum to the rank's tokens (default ${D.requestsPerRank})`,
    placeholder: 'n',
  },
  'routing-skew': { kind: 'string', help: 'Zipf exponent of hot experts (default 0)', placeholder: 's' },
  'attention-heads': {
    kind: 'string',
    help: `attention stand-in heads (default ${D.attention.heads})`,
    placeholder: 'n',
  },
  'attention-head-dim': {
    kind: 'string',
    help: `attention stand-in head size (default ${D.attention.headDim})`,
    placeholder: 'd',
  },
  trace: { kind: 'string', help: 'write the Chrome trace (Perfetto) to FILE', placeholder: 'FILE' },
  json: { kind: 'flag', help: 'print metrics.json instead of the tables (group runs)' },
};

const GROUP_ONLY = Object.keys(GROUP_SPEC).filter((k) => k !== 'json' && k !== 'trace');

export function isGroupRun(args: Args): boolean {
  return GROUP_ONLY.some((k) => args.has(k)) || args.has('json') || args.has('trace');
}

export function groupOptions(args: Args, cfg: MoeConfig): GroupRunOptions {
  const int = { min: 1, int: true };
  const dil = args.str('time-dilation', D.timeDilation?.profile ?? 'off');
  if (dil !== 'off' && !PROFILES[dil])
    throw new UsageError(
      `--time-dilation must be off or a profile: ${Object.keys(PROFILES).join(', ')} (got '${dil}')`,
    );
  return {
    model: cfg,
    format: parseWeightFormat(args.str('weights', D.format)),
    seed: args.num('seed', D.seed, { min: 0, int: true }),
    strategy: args.str('strategy', D.strategy) as GroupRunOptions['strategy'],
    ranks: args.num('ranks', D.ranks, { ...int, max: 64 }),
    rankMode: args.str('rank-mode', D.rankMode) as GroupRunOptions['rankMode'],
    layers: args.num('layers', D.layers, { ...int, max: 256 }),
    tokensPerRank: args.num('tokens', D.tokensPerRank, int),
    requestsPerRank: args.num('requests', D.requestsPerRank, int),
    lengthCv: args.num('length-cv', D.lengthCv, { min: 0, max: 2 }),
    routingSkew: args.num('routing-skew', D.routingSkew, { min: 0, max: 4 }),
    dwdp: {
      local: args.optNum('dwdp-local', { min: 1, int: true }),
      pull: args.optNum('dwdp-pull', { min: 0, int: true }),
      prefetch: args.onOff('prefetch', D.dwdp.prefetch),
      prefetchDepth: args.num('prefetch-depth', D.dwdp.prefetchDepth, { ...int, max: 8 }),
      splitWeights: args.onOff('split-weights', D.dwdp.splitWeights),
    },
    link: {
      gbps: args.num('link-gbps', D.link.gbps, { min: 1e-9 }),
      latencyUs: args.num('link-latency-us', D.link.latencyUs, { min: 0 }),
      contentionFix: args.onOff('contention-fix', D.link.contentionFix),
    },
    clock: args.str('clock', D.clock) as GroupRunOptions['clock'],
    timeDilation: dil === 'off' ? undefined : { profile: dil },
    attention: {
      heads: args.num('attention-heads', D.attention.heads, int),
      headDim: args.num('attention-head-dim', D.attention.headDim, int),
    },
    variant: args.optStr('variant'),
  };
}

/** Above this many reference multiply-adds the automatic single-device check is skipped. */
const AUTO_CHECK_FLOPS = 2e9;

export async function runGroupCli(args: Args, cfg: MoeConfig): Promise<void> {
  const o = groupOptions(args, cfg);
  const json = args.flag('json');
  const dump = args.optStr('dump');
  const say = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');
  const r = await runGroup(o, {
    keepOutputs: true,
    onProgress: (p) => {
      if (p.phase !== 'run' || p.rank === 0 || p.rank === undefined) process.stderr.write(`  ${p.message}\n`);
    },
  });
  const out = r.outputs!;
  const tokens = out.x.length / cfg.hidden;

  if (json) process.stdout.write(JSON.stringify(metricsJson(r), null, 2) + '\n');
  else {
    const pl = r.placement ? ` (L=${r.placement.local}, P=${r.placement.pull})` : '';
    say(
      `\n${o.strategy}${pl} on ${o.ranks} rank(s) [${o.rankMode}], ${o.layers} layer(s) of ${cfg.name}, ${o.format} (${formatBytes(r.bytesPerExpert)} per expert), ${o.tokensPerRank} tokens/rank mean, length CV ${o.lengthCv}`,
    );
    const d = r.link.dilation;
    const linkLine = d
      ? `link: ${o.link.gbps} GB/s × time dilation ${d.factor.toExponential(2)} (GEMM measured here ${d.deviceGflops.toFixed(3)} GFLOP/s ÷ ${d.profile} modeled ${(d.profileGflops / 1e3).toFixed(0)} TFLOP/s) = ${(r.link.gbps * 1e6).toFixed(1)} KB/s`
      : `link: ${r.link.gbps} GB/s (no time dilation)`;
    say(`${linkLine}, latency ${o.link.latencyUs} µs, contention fix ${o.link.contentionFix ? 'on' : 'off'}`);
    say(tokensPerExpertNote(cfg, o.tokensPerRank));
    say(`time: ${r.timeSource} on ${r.adapter}\n`);
    say(rankTable(r));
    const mem = r.ranks[0].residentWeightBytes + r.ranks[0].prefetchBufferBytes;
    say(
      `\nmakespan ${r.makespanMs.toFixed(1)} ms   TPS/GPU ${r.tpsPerGpu.toFixed(1)}   TPS/user ${r.tpsPerUser.toFixed(1)}   hidden pull ${(100 * r.hiddenPullFraction).toFixed(0)}%   (measured here)`,
    );
    say(
      `routed-expert memory per rank ${formatBytes(mem)} vs full replica ${formatBytes(r.replicaWeightBytes)} (${((100 * mem) / r.replicaWeightBytes).toFixed(0)}%)`,
    );
  }

  const check = args.str('check', 'auto');
  if (check === 'on' || (check === 'auto' && (layerFlops(cfg, tokens).total * o.layers) / 2 <= AUTO_CHECK_FLOPS)) {
    const ref = await runLayerStack(
      await getGpu({ label: 'reference' }),
      cfg,
      { format: o.format, seed: o.seed, layers: o.layers, variant: o.variant },
      out.x,
      tokens,
    );
    say(
      `check: output vs the single-device layer stack, relative error ${relativeError(out.out, ref.out).toExponential(2)}`,
    );
  }

  const tracePath = args.optStr('trace');
  if (tracePath) await writeFileAtomic(tracePath, JSON.stringify(groupTrace(r, `${o.strategy} ${cfg.name}`)));
  if (dump) {
    // The dumped layer is the last one: x is its input, so out = MoE(x) with the dumped weights.
    const host = buildHostLayerWeights(cfg, o.format, o.seed, o.layers - 1);
    await writeLayerDump(dump, {
      cfg,
      tokens,
      weights: decodeHostLayerWeights(host),
      x: out.lastInput,
      topkIdx: out.topkIdx,
      topkWeight: out.topkWeight,
      out: out.out,
    });
    if (o.layers > 1) await writeNpy(dump, 'x0', out.x, [tokens, cfg.hidden]);
    await writeFile(join(dump, 'metrics.json'), JSON.stringify(metricsJson(r), null, 2) + '\n');
    await writeFile(join(dump, 'trace.json'), JSON.stringify(groupTrace(r, `${o.strategy} ${cfg.name}`)));
    say(`dump: wrote .npy files, metrics.json and trace.json to ${dump}`);
  }
}
