// The group half of `npm run moe`: --ranks N --strategy dp|dep|dwdp and the DWDP, link,
// clock and workload options (exact interface; other tools rely on it).
import { withScaleTarget } from '../similarity/target.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getGpu } from '../gpu/index.ts';
import { buildHostLayerWeights, decodeHostLayerWeights } from '../layer/host-weights.ts';
import { runLayerStack, layerFlops } from '../layer/run.ts';
import type { MoeConfig } from '../model/config.ts';
import { metricsJson, rankTable, groupTrace, tokensPerExpertNote } from '../report/group-report.ts';
import { writeLayerDump } from '../report/layer-dump.ts';
import { writeNpy } from '../report/npy-node.ts';
import { formatBytes } from '../report/units.ts';
import {
  GROUP_OPTIONS,
  checkGroupOptions,
  groupDefaults,
  groupRunOptions,
  unusedOptionErrors,
  type GroupRunOptions,
  type GroupValues,
  type StrategyName,
} from '../options/group.ts';
import { parseText } from '../options/schema.ts';
import { appliedLinkFactor } from '../strategies/dilation.ts';
import { runGroup } from '../strategies/run.ts';
import { relativeError } from '../util/numeric.ts';
import { writeFileAtomic } from '../util/output-path.ts';
import { SHARED_WITH_LAYER_RUN, UsageError, flagSpec, type Args, type Spec } from './args.ts';

/** The group options as CLI flags: derived from the option table (flag, help, range, default). */
export const GROUP_SPEC: Spec = {
  ...Object.fromEntries(
    GROUP_OPTIONS.filter((o) => !SHARED_WITH_LAYER_RUN.has(o.key)).map((o) => [o.flag, flagSpec(o)]),
  ),
  trace: { kind: 'string', help: 'write the Chrome trace (Perfetto) to FILE', placeholder: 'FILE' },
  json: { kind: 'flag', help: 'print metrics.json instead of the tables (group runs)' },
};

const GROUP_ONLY = Object.keys(GROUP_SPEC);

export function isGroupRun(args: Args): boolean {
  return GROUP_ONLY.some((k) => args.has(k));
}

/** Flags only a single-layer run reads. */
const LAYER_ONLY = ['runs'];

/**
 * A group run's options from the flags: each flag parsed by its declaration, then every
 * explicitly given option checked to be read by the run, then the rules between options.
 * Every problem is an OptionError naming the flag (worded by runCli).
 */
export function groupOptions(args: Args, cfg: MoeConfig): GroupRunOptions {
  for (const f of LAYER_ONLY)
    if (args.has(f)) throw new UsageError(`--${f} is read only by single-layer runs, not by a group run: remove it`);
  const given: GroupValues = {};
  for (const o of GROUP_OPTIONS) {
    const raw = args.optStr(o.flag);
    if (raw !== undefined) given[o.key] = parseText(o, raw);
  }
  const values = { ...groupDefaults(), ...given };
  const unused = unusedOptionErrors(given, { strategies: [values.strategy as StrategyName] });
  if (unused.length > 0) throw unused[0];
  const o = groupRunOptions(cfg, given);
  const variant = args.optStr('variant');
  if (variant !== undefined) o.variant = variant;
  checkGroupOptions(cfg, o);
  return o;
}

/** Above this many reference multiply-adds the automatic single-device check is skipped. */
const AUTO_CHECK_FLOPS = 2e9;

export async function runGroupCli(args: Args, cfg: MoeConfig): Promise<void> {
  // A time-dilated run stands for its target as a scale model (src/similarity).
  const o = withScaleTarget(groupOptions(args, cfg), cfg);
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
      `\n${o.strategy}${pl} on ${o.ranks} rank(s) [${o.rankMode}], ${o.layers} layer(s) of ${cfg.name}, ` +
        `${o.format} (${formatBytes(r.bytesPerExpert)} per expert), ${o.tokensPerRank} tokens/rank mean, length CV ${o.lengthCv}`,
    );
    const d = r.link.dilation;
    const linkLine = !d
      ? `link: ${r.link.gbps} GB/s (no time dilation)`
      : `link: ${o.link.gbps} GB/s × ${appliedLinkFactor(r)!.toExponential(2)} ` +
        (r.similarity
          ? `(the scale model's compute : pull factor, below; GEMM measured here ${d.deviceGflops.toFixed(3)} GFLOP/s) `
          : `(time dilation: GEMM measured here ${d.deviceGflops.toFixed(3)} GFLOP/s ÷ ${d.profile} modeled ${(d.profileGflops / 1e3).toFixed(0)} TFLOP/s; ` +
            'no scale target, so no copy interference) ') +
        `= ${(r.link.gbps * 1e6).toFixed(1)} KB/s`;
    say(`${linkLine}, latency ${o.link.latencyUs} µs, contention fix ${o.link.contentionFix ? 'on' : 'off'}`);
    say(tokensPerExpertNote(cfg, o.tokensPerRank));
    if (r.similarity)
      say(
        `scale model (factors modeled, the durations they scale measured here):\n  ${r.similarity.lines.join('\n  ')}`,
      );
    say(`time: ${r.timeSource} on ${r.adapter}\n`);
    say(rankTable(r));
    const mem = r.ranks[0].residentWeightBytes + r.ranks[0].prefetchBufferBytes;
    say(
      `\nmakespan ${r.makespanMs.toFixed(1)} ms   TPS/GPU ${r.tpsPerGpu.toFixed(1)}   TPS/user ${r.tpsPerUser.toFixed(1)}   ` +
        `hidden pull ${(100 * r.hiddenPullFraction).toFixed(0)}%   (measured here)`,
    );
    say(
      `routed-expert memory per rank ${formatBytes(mem)} vs full replica ${formatBytes(r.replicaWeightBytes)} ` +
        `(${((100 * mem) / r.replicaWeightBytes).toFixed(0)}%)`,
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
  if (tracePath) {
    await writeFileAtomic(tracePath, JSON.stringify(groupTrace(r, `${o.strategy} ${cfg.name}`)));
    say(`trace: wrote ${tracePath} (open it in ui.perfetto.dev)`);
  }
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
