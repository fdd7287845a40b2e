// npm run moe -- --model <config.json | preset> [--set key=value …] --tokens T --seed S
//                [--weights f32|int8|fp8|nvfp4] [--dump DIR]
//   one MoE layer on one device: shapes, bytes per expert and time measured here;
// npm run moe -- … --ranks N --strategy dp|dep|dwdp [group options]
//   a DWDP group (or its DP / DEP baselines) on emulated ranks (moe-group.ts).
import { MAX_REFERENCE_MACS, adapterLabel, checkCount, checkHostSizes, deviceNeeds, getGpu } from '../gpu/index.ts';
import { decodeHostLayerWeights } from '../layer/host-weights.ts';
import { layerSizes } from '../layer/sizes.ts';
import { checkRouting, moeLayerReference } from '../layer/reference.ts';
import { layerFlops, runLayer } from '../layer/run.ts';
import { ConfigError, sizeKeys, type MoeConfig } from '../model/config.ts';
import { PRESETS, configSummary, resolveModel } from '../model/index.ts';
import { tryNearest } from '../util/nearest.ts';
import type { WeightFormat } from '../model/formats.ts';
import { variantTextProblem } from '../kernels/gemm-variant.ts';
import { GROUP_OPTION } from '../options/group.ts';
import { parseText, type OptionValue } from '../options/schema.ts';
import { writeLayerDump } from '../report/layer-dump.ts';
import { formatTable } from '../report/table.ts';
import { formatBytes, formatMs } from '../report/units.ts';
import { checkOutputDir, checkOutputFile } from '../util/output-path.ts';
import { relativeError } from '../util/numeric.ts';
import { UsageError, commandLine, flagSpec, parseSetPairs, runCli, type Args, type Spec } from './args.ts';
import { GROUP_SPEC, isGroupRun, runGroupCli } from './moe-group.ts';

export const MOE_SPEC: Spec = {
  model: {
    kind: 'string',
    help: 'preset name or path to a Hugging Face config.json (default tiny-deepseek)',
    placeholder: 'config.json|preset',
  },
  set: {
    kind: 'list',
    help: 'override a config.json key, e.g. --set hidden_size=96 (repeatable)',
    placeholder: 'key=value',
  },
  // Declared with the group options (src/options/group.ts): the same limits in both runs.
  tokens: flagSpec(GROUP_OPTION.tokens),
  seed: flagSpec(GROUP_OPTION.seed),
  weights: flagSpec(GROUP_OPTION.format),
  runs: { kind: 'string', help: 'timed runs after one warm-up (default 3)', placeholder: 'n' },
  variant: {
    kind: 'string',
    help: "grouped-GEMM tile variant (default: best for the adapter; 'naive' for the baseline)",
    placeholder: 'name',
  },
  check: {
    kind: 'string',
    help: 'compare with the float64 reference: auto (small layers), on, off',
    choices: ['auto', 'on', 'off'],
  },
  dump: {
    kind: 'string',
    help: 'write the tensors as .npy files into DIR (a group run adds metrics.json and trace.json)',
    placeholder: 'DIR',
  },
  ...GROUP_SPEC,
  help: { kind: 'flag', help: 'show this help' },
};

/** Above this many reference multiply-adds, --check auto skips the float64 check (seconds of CPU). */
const AUTO_CHECK_FLOPS = 4e8;

/**
 * --model and --set as a config. A problem is a usage error naming the flag that caused it: the
 * model argument (with the nearest preset for a typo), the `--set` pair, or the config file's key.
 */
async function modelFrom(args: Args): Promise<MoeConfig> {
  const model = args.str('model', 'tiny-deepseek');
  const set = parseSetPairs(args.list('set'));
  try {
    return await resolveModel(model, set);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (e.key === 'model') {
      throw new UsageError(`--model ${model}: ${e.detail}${tryNearest('--model', model, Object.keys(PRESETS))}`);
    }
    if (Object.hasOwn(set, e.key)) throw new UsageError(`--set ${e.key}=${set[e.key]}: ${e.detail}`);
    throw new UsageError(`--model ${model}: config key '${e.key}': ${e.detail}`);
  }
}

async function main(): Promise<void> {
  const args = commandLine(
    'npm run moe -- [options]',
    'Runs one MoE layer on one WebGPU device or, with --ranks/--strategy, a DWDP group (or its DP/DEP baselines) on emulated ranks.',
    MOE_SPEC,
  );
  if (!args) return;
  // Output paths before any work: a path that cannot be written must not cost a run.
  const dump = args.optStr('dump');
  if (dump !== undefined) checkOutputDir('--dump', dump);
  const trace = args.optStr('trace');
  if (trace !== undefined) checkOutputFile('--trace', trace);
  // The grouped GEMM's variant, checked before any work. The kernel's words pass: 'auto' (as when
  // omitted: the tuning cache's winner, else the format's default) and 'default' (the format's default).
  const variant = args.optStr('variant');
  const variantWhy =
    variant === undefined || variant === 'default' || variant === 'auto' ? undefined : variantTextProblem(variant);
  if (variantWhy !== undefined) throw new UsageError(`--variant: ${variantWhy}`);
  const cfg = await modelFrom(args);
  if (isGroupRun(args)) return runGroupCli(args, cfg);
  const opt = <T extends OptionValue>(key: 'tokens' | 'seed' | 'format'): T => {
    const o = GROUP_OPTION[key];
    const raw = args.optStr(o.flag);
    return (raw === undefined ? o.default : parseText(o, raw)) as T;
  };
  const tokens = opt<number>('tokens');
  const seed = opt<number>('seed');
  const format = opt<WeightFormat>('format');
  const runs = args.num('runs', 3, { min: 1, max: 1000, int: true });
  // Every buffer sized and checked (host memory, then the device's limits) before any weight exists.
  const check = args.str('check', 'auto');
  const decodedFor = [dump ? '--dump' : '', check === 'on' ? '--check on' : ''].filter(Boolean).join(' and ');
  const sizes = layerSizes(cfg, format, tokens, {
    tokensText: `--tokens ${tokens}`,
    decodedFor: decodedFor || undefined,
  });
  checkHostSizes(sizes);
  if (check === 'on') {
    const { hidden: H, expertHidden: F, topK: K } = cfg;
    const keys = sizeKeys(cfg.family);
    checkCount(
      `--check on: the float64 reference (--tokens ${tokens} × top-k ${K} × 3 × ${keys.hidden}=${H} × ${keys.expertHidden}=${F})`,
      layerFlops(cfg, tokens).total / 2,
      MAX_REFERENCE_MACS,
      'multiply-adds',
      'about a minute of CPU time; use --check auto or off, or fewer --tokens',
    );
  }
  const gpu = await getGpu({ needs: deviceNeeds(sizes), label: 'moe' });

  const r = await runLayer(gpu, cfg, { format, tokens, seed, runs, variant });
  const l = r.host.layout;
  const source = r.timeSource === 'timestamp-query' ? 'GPU timestamps' : 'host time (no timestamp-query)';
  console.log(`MoE layer: ${configSummary(cfg)}`);
  console.log(
    `weights:   ${format}, ${formatBytes(l.bytes)} per expert (${l.bytesPerParam.toFixed(4)} B/param), ${formatBytes(l.bytes * cfg.experts)} routed per layer`,
  );
  console.log(`tokens:    ${tokens}, seed ${seed}`);
  console.log(`measured here on ${adapterLabel(gpu.info)} — ${source}, median of ${runs} runs after a warm-up\n`);
  const flopsOf: Record<string, number> = {
    router: r.flops.router,
    gate_up: (r.flops.routed * 2) / 3,
    down: r.flops.routed / 3,
  };
  if (r.flops.shared)
    Object.assign(flopsOf, { 'shared gate_up': (r.flops.shared * 2) / 3, 'shared down': r.flops.shared / 3 });
  const rows = [...r.stageMs].map(([stage, ms]) => [
    stage,
    formatMs(ms),
    flopsOf[stage] ? (flopsOf[stage] / ms / 1e6).toFixed(3) : '',
  ]);
  rows.push(['total', formatMs(r.totalMs), (r.flops.total / r.totalMs / 1e6).toFixed(3)]);
  console.log(
    formatTable(['stage', 'time (measured)', 'GFLOP/s (measured)'], rows, { rightAlign: [false, true, true] }),
  );

  if (check === 'on' || (check === 'auto' && r.flops.total / 2 <= AUTO_CHECK_FLOPS)) {
    const decoded = decodeHostLayerWeights(r.host);
    const differing = checkRouting(cfg, tokens, r.x, decoded, r.topkIdx);
    const ref = moeLayerReference(cfg, tokens, r.x, decoded, differing.length ? r.topkIdx : undefined);
    const ties = differing.length
      ? `; ${differing.length} near-tie token(s) routed differently, checked with the device's choice`
      : '';
    console.log(
      `\ncheck: relative error vs float64 reference ${relativeError(r.out, ref.out).toExponential(2)}${ties}`,
    );
  } else if (check === 'auto') {
    console.log('\ncheck: skipped (layer too large for the float64 reference; --check on forces it)');
  }

  if (dump) {
    const files = await writeLayerDump(dump, {
      cfg,
      tokens,
      weights: decodeHostLayerWeights(r.host),
      x: r.x,
      topkIdx: r.topkIdx,
      topkWeight: r.topkWeight,
      out: r.out,
    });
    console.log(`\ndump: wrote ${files.length} .npy files to ${dump}: ${files.join(' ')}`);
  }
}

runCli(main);
