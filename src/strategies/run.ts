// runGroup: one forward step of a DWDP group (or its DP / DEP baselines) on emulated
// ranks. Real kernels run on every rank and real bytes move between ranks; the clock
// decides how time is read (see runtime.ts). The CLI, the benchmark page and the benches
// are thin shells over this function.
import { adapterLabel, checkHostSizes, deviceNeeds, readF32, readI32 } from '../gpu/index.ts';
import { layerSizes } from '../layer/sizes.ts';
import { layerLayout } from '../layer/host-weights.ts';
import type { MoeConfig } from '../model/config.ts';
import { loadPreset } from '../model/presets.ts';
import { linkSpec, type LinkSpec } from '../timeline/link.ts';
import type { Op } from '../timeline/ops.ts';
import { adapterText, timeSourceText, type Provenance } from '../timeline/provenance.ts';
import { makePlacement, type Placement } from '../dwdp/placement.ts';
import { createRanks, createTransport, releaseRanks } from '../dwdp/transport.ts';
import { shardSizeItem, storeSizeItem } from '../dwdp/weight-store.ts';
import { totalTokens } from '../workload/workload.ts';
import { groupRates } from './metrics.ts';
import { appliedLinkFactor, dilationFor, measureDilation } from './dilation.ts';
import { setupDep, depShards, routedSlots, runDepRank, type OffsetBoard } from './dep.ts';
import { setupDp, runDpRank } from './dp.ts';
import { dwdpStoreLayout, runDwdpRank, setupDwdp } from './dwdp.ts';
import { buildGroupEnv, buildRankEnv, groupWorkload, workFromLengths, type RankEnv } from './group.ts';
import { checkGroupOptions } from './options.ts';
import type { PairedSteps } from './paired-steps.ts';
import { VirtualRuntime, WallRuntime, exclusiveGpuWork, type RankRuntime } from './runtime.ts';
import type {
  GroupRunOptions,
  GroupRunResult,
  RankReport,
  RunProgress,
  ScaleFactor,
  SimilarityReport,
} from './types.ts';
import {
  ScaleModel,
  addDenseLayers,
  dilate,
  extendLayers,
  type DilatedCategory,
  type ScaleTarget,
} from '../similarity/scale-model.ts';

export interface RunHooks {
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** Read every rank's output back (for checks and dumps). */
  keepOutputs?: boolean;
  /**
   * Virtual clock: time this run's steps back to back with other runs' same steps, as side
   * `side` of `steps` (src/strategies/paired-steps.ts); the side is closed when the run ends.
   */
  paired?: { steps: PairedSteps; side: number };
  /** A run that records its router's counts (DEP) hands them out as soon as its steps are done. */
  onRouted?: (routedSlots: number[][]) => void;
  /**
   * Under a scale model, the target for the routing the run had, before its times are dilated
   * (the shell builds it: src/similarity/target.ts withRoutedTarget): from the run's own routed
   * counts, or else from `slots`, awaited (the same seed's counts from a DEP run beside it or
   * before it; undefined: none recorded, the target stays as given).
   */
  routing?: {
    slots?: Promise<readonly (readonly number[])[] | undefined>;
    retarget: (target: ScaleTarget, routedSlots: readonly (readonly number[])[]) => ScaleTarget;
  };
}

/** The group's tensors, all ranks stacked in rank order. */
export interface GroupOutputs {
  /** Layer-0 input [Σ tokens, H]. */
  x: Float32Array;
  /** Input of the last layer [Σ tokens, H] (= x with one layer). */
  lastInput: Float32Array;
  /** Last layer's output [Σ tokens, H]. */
  out: Float32Array;
  /** Last layer's routing [Σ tokens, K]. */
  topkIdx: Int32Array;
  topkWeight: Float32Array;
}

/**
 * The virtual clock's recorded steps (measured durations) and the link they were scheduled
 * on: re-scheduling them under another link answers "what if the link were X" without
 * running the kernels again.
 */
export interface RecordedSchedule {
  programs: readonly (readonly Op[])[];
  link: LinkSpec;
  /** The copy interference they were scheduled with (the scale target's s, modeled; 0 without a target): pass it to simulate again. */
  copyInterference: number;
}

export type GroupRun = GroupRunResult & { outputs?: GroupOutputs; config: MoeConfig; recorded?: RecordedSchedule };

export function resolveConfig(model: GroupRunOptions['model']): MoeConfig {
  return typeof model === 'string' ? loadPreset(model) : model;
}

export async function runGroup(opts: GroupRunOptions, hooks: RunHooks = {}): Promise<GroupRun> {
  try {
    return await runGroupOnce(opts, hooks);
  } finally {
    hooks.paired?.steps.close(hooks.paired.side);
  }
}

async function runGroupOnce(opts: GroupRunOptions, hooks: RunHooks): Promise<GroupRun> {
  if (hooks.paired && opts.clock !== 'virtual')
    throw new Error(`paired steps: need the virtual clock (clock '${opts.clock}' given): use clock 'virtual'`);
  const cfg = resolveConfig(opts.model);
  checkGroupOptions(cfg, opts);
  const progress = (p: RunProgress) => hooks.onProgress?.(p);
  const N = opts.ranks;
  const placement: Placement | undefined =
    opts.strategy === 'dwdp' ? makePlacement(cfg.experts, N, opts.dwdp.local, opts.dwdp.pull) : undefined;

  // A scale target (built by the shell: src/similarity/target.ts) sets the requests, in target tokens scaled down.
  const td = opts.timeDilation;
  const target = td && typeof td.target === 'object' && td.target !== null ? td.target : undefined;
  if (target && (target.emulatedLengths.length !== N || target.layers.measured !== opts.layers))
    throw new Error(
      `timeDilation.target: built for ${target.emulatedLengths.length} ranks × ${target.layers.measured} layers, the run has ${N} × ${opts.layers}`,
    );

  // Sizes first: every buffer is estimated and checked against host memory and the device's
  // limits before a single weight is generated (a too-large model is refused in seconds).
  const work = target ? workFromLengths(target.emulatedLengths) : groupWorkload(opts);
  const sizes = layerSizes(cfg, opts.format, totalTokens(work), {
    layers: opts.layers,
    tokensText: `${totalTokens(work)} tokens (${N} ranks × tokens per rank ${opts.tokensPerRank})`,
  });
  // The attention stand-in's q, k, v and out on each rank (the largest rank's tokens).
  const rankTokens = Math.max(...work.map((w) => w.tokens));
  const { heads, headDim } = opts.attention;
  sizes.push({
    why: `the attention stand-in's q, k, v and out (${rankTokens} tokens of one rank × attention heads ${heads} × head dim ${headDim})`,
    bytes: 4 * rankTokens * heads * headDim,
    where: 'both',
    count: 4,
  });
  // DWDP: each rank's largest store buffer (its slot and its resident sections), one binding of the grouped GEMM.
  // DP and DEP: each rank's resident buffer (every layer's replica or shard), bound a layer at a time.
  const expertBytes = layerLayout(cfg, opts.format).bytes;
  if (placement) {
    for (let r = 0; r < N; r++)
      sizes.push(storeSizeItem(dwdpStoreLayout(placement, r, expertBytes, opts.layers, opts.dwdp)));
  } else if (opts.strategy === 'dp') {
    sizes.push(shardSizeItem('each DP rank', { first: 0, count: cfg.experts }, expertBytes, opts.layers));
  } else {
    const largest = depShards(cfg.experts, N).reduce((a, s) => (s.count > a.count ? s : a));
    sizes.push(shardSizeItem('the largest DEP rank', largest, expertBytes, opts.layers));
  }
  checkHostSizes(sizes);
  const ranks = await createRanks(N, opts.rankMode, { needs: deviceNeeds(sizes) });
  try {
    progress({ phase: 'setup', message: `generating ${opts.layers} layer(s) of ${cfg.name} weights (${opts.format})` });
    const g = buildGroupEnv(cfg, opts, work);
    const maxTokens = Math.max(...g.work.map((w) => w.tokens));
    const transport = createTransport(ranks, opts.rankMode);
    progress({ phase: 'setup', message: `building ${N} rank(s) (${opts.rankMode})` });
    const envs: RankEnv[] = [];
    // Pipelines are built under the GPU lock: no compile runs inside another run's timed step.
    await exclusiveGpuWork(async () => {
      for (const rank of ranks) envs.push(await buildRankEnv(g, rank));
    });

    const dilation = !td
      ? undefined
      : td.deviceGflops
        ? dilationFor(td.profile, opts.format, td.deviceGflops)
        : await exclusiveGpuWork(() => measureDilation(ranks[0].gpu, cfg, opts, maxTokens, g.hosts[0]));
    let scale = target && dilation ? ScaleModel.create(target, dilation.deviceGflops) : undefined;
    if (scale) g.activationScale = scale.activations.value;
    const gbps = opts.link.gbps * (appliedLinkFactor({ similarity: scale, link: { dilation } }) ?? 1);
    const latencyUs = opts.link.latencyUs * (scale ? scale.timeScale : 1);
    const spec = linkSpec({
      egressGBps: gbps,
      latencyUs,
      contentionFix: opts.link.contentionFix,
      copyEngines: 1,
    });
    const runtime =
      opts.clock === 'wall'
        ? new WallRuntime(ranks, transport, spec)
        : new VirtualRuntime(ranks, transport, spec, { repeats: opts.timingRepeats ?? 1, paired: hooks.paired });
    const rt = (r: number): RankRuntime => watch(runtime.forRank(r), hooks, opts.layers);

    progress({
      phase: 'run',
      message: `running ${opts.strategy} on ${N} rank(s), ${opts.layers} layer(s), ${opts.clock} clock`,
    });
    let routed: number[][] | undefined;
    if (opts.strategy === 'dp') {
      const dp = envs.map((e) => setupDp(g, e));
      await Promise.all(dp.map((d, r) => runDpRank(rt(r), g, d)));
    } else if (opts.strategy === 'dwdp') {
      const dw = envs.map((e) => setupDwdp(g, e, placement!));
      await Promise.all(dw.map((d, r) => runDwdpRank(rt(r), g, d, dw)));
    } else {
      const shards = depShards(cfg.experts, N);
      const dep = await exclusiveGpuWork(() => Promise.all(envs.map((e) => setupDep(g, e, shards))));
      const board: OffsetBoard = new Map();
      await Promise.all(dep.map((d, r) => runDepRank(rt(r), g, d, dep, shards, board)));
      routed = routedSlots(board, opts.layers, cfg.experts);
      hooks.onRouted?.(routed);
    }
    // The target for the routing this run had: only the grouped GEMM's target changes (σ, link
    // and activations do not depend on the routing).
    if (scale && dilation && hooks.routing) {
      const slots = routed ?? (await hooks.routing.slots);
      if (slots) scale = ScaleModel.create(hooks.routing.retarget(scale.target, slots), dilation.deviceGflops);
    }

    progress({
      phase: 'schedule',
      message: opts.clock === 'virtual' ? 'scheduling the measured steps in virtual time' : 'collecting the timeline',
    });
    // Virtual clock under a scale model: measured durations dilated per category, layers
    // scheduled as the target's; the programs scheduled are the ones returned as recorded.
    let programs: readonly (readonly Op[])[] | undefined;
    let categories: Map<string, ScaleFactor> | undefined;
    // The factors are taken over the layers as scheduled (the repeated bodies counted as often as
    // they run), so each category's scheduled total is σ × the target's, whichever measured layer
    // the repetition happens to copy.
    if (scale && runtime instanceof VirtualRuntime) {
      const { measured, scheduledAs } = scale.layers;
      const extended = runtime.recorded.map((p) => extendLayers(p, measured, scheduledAs));
      categories = scale.categoryFactors(opts.strategy, extended, scheduledAs);
      const f = categories;
      const dense = scale.target.denseLayers;
      programs = extended.map((p, r) => addDenseLayers(dilate(p, f), scale.denseMs(r), dense));
    }
    // Copy interference: the target's s (modeled, a dimensionless ratio kept equal), applied by the
    // scheduler to the virtual clock's timeline; none without a target, and none on the wall clock
    // (its compute is timed as it ran; the printout says so).
    const copyInterference = scale && runtime instanceof VirtualRuntime ? scale.copyInterference : 0;
    const tl =
      runtime instanceof VirtualRuntime ? runtime.timeline(programs, spec, { copyInterference }) : runtime.timeline();
    const outputs = hooks.keepOutputs ? await readOutputs(cfg, g.x, envs, opts.layers) : undefined;
    const reports: RankReport[] = tl.ranks.map((m) => {
      const env = envs[m.rank];
      return {
        ...m,
        tokens: env.work.tokens,
        requestLengths: env.work.lengths,
        residentWeightBytes: env.residentBytes,
        prefetchBufferBytes: env.prefetchBytes,
      };
    });
    const gpu = ranks[0].gpu;
    const provenance: Provenance = {
      kind: 'measured',
      adapter: adapterLabel(gpu.info),
      timer: opts.clock === 'virtual' && gpu.timestamps ? 'timestamp-query' : 'host',
      clock: opts.clock,
    };
    progress({ phase: 'done', message: 'done' });
    return {
      config: cfg,
      strategy: opts.strategy,
      clock: opts.clock,
      rankMode: opts.rankMode,
      ranks: reports,
      makespanMs: tl.makespanMs,
      ...groupRates(reports, tl.makespanMs),
      hiddenPullFraction: tl.hiddenPullFraction,
      intervals: tl.intervals,
      replicaWeightBytes: cfg.experts * g.layout.bytes * opts.layers,
      bytesPerExpert: g.layout.bytes,
      placement: placement && { local: placement.local, pull: placement.pull },
      link: { gbps, latencyUs, contentionFix: opts.link.contentionFix, dilation },
      similarity: scale && similarityReport(scale, categories, opts.clock),
      ...(routed ? { routedSlots: routed } : {}),
      provenance,
      timeSource: timeSourceText(provenance),
      adapter: adapterText(provenance),
      kernelVariants: kernelVariants(envs),
      outputs,
      recorded:
        runtime instanceof VirtualRuntime
          ? { programs: programs ?? runtime.recorded, link: spec, copyInterference }
          : undefined,
    };
  } finally {
    releaseRanks(ranks);
  }
}

/** The ranks' kernel configurations, one entry per kernel, variant and origin. */
function kernelVariants(envs: readonly RankEnv[]): NonNullable<GroupRunResult['kernelVariants']> {
  const out: NonNullable<GroupRunResult['kernelVariants']> = [];
  for (const env of envs) {
    for (const c of env.layer.kernelChoices) {
      const key = JSON.stringify([c.kernel, c.variant, c.origin]);
      const same = out.find((o) => JSON.stringify([o.kernel, o.variant, o.origin]) === key);
      if (same) same.ranks.push(env.id);
      else out.push({ ...c, ranks: [env.id] });
    }
  }
  return out;
}

/** The scale model as plain data for the result. */
function similarityReport(
  scale: ScaleModel,
  categories: Map<string, ScaleFactor> | undefined,
  clock: GroupRunOptions['clock'],
): SimilarityReport {
  const layers =
    clock === 'wall'
      ? {
          measured: scale.layers.measured,
          scheduledAs: scale.layers.measured,
          why: 'wall clock: the layers ran as they are (rescheduling needs the virtual clock)',
        }
      : scale.layers;
  return {
    target: { model: scale.target.spec.model, profile: scale.target.spec.profile },
    workload: scale.workload,
    tokenScale: scale.tokenScale,
    timeScale: scale.timeScale,
    link: scale.link,
    activations: scale.activations,
    categories: Object.fromEntries(categories ?? []),
    copyInterference: {
      value: scale.copyInterference,
      applied: clock === 'virtual',
      why: scale.interferenceLine(clock),
    },
    layers,
    lines: scale.describe(categories as Map<DilatedCategory, ScaleFactor> | undefined, clock),
    params: scale.target.params,
  };
}

/** Cancellation and progress around a rank's runtime. */
function watch(rt: RankRuntime, hooks: RunHooks, layers: number): RankRuntime {
  const check = () => hooks.signal?.throwIfAborted();
  return {
    ...rt,
    compute(label, category, layer, encode) {
      check();
      if (category === 'attention')
        hooks.onProgress?.({
          phase: 'run',
          rank: rt.rank.id,
          layer,
          message: `rank ${rt.rank.id}: layer ${layer + 1}/${layers}`,
        });
      return rt.compute(label, category, layer, encode);
    },
  };
}

async function readOutputs(cfg: MoeConfig, x: Float32Array, envs: RankEnv[], layers: number): Promise<GroupOutputs> {
  const H = cfg.hidden;
  const K = cfg.topK;
  const total = envs.reduce((a, e) => a + e.work.tokens, 0);
  const out = new Float32Array(total * H);
  const lastInput = new Float32Array(total * H);
  const topkIdx = new Int32Array(total * K);
  const topkWeight = new Float32Array(total * K);
  for (const e of envs) {
    const T = e.work.tokens;
    const at = e.work.firstToken;
    out.set(await readF32(e.gpu, e.x[layers % 2], T * H), at * H);
    lastInput.set(await readF32(e.gpu, e.x[(layers - 1) % 2], T * H), at * H);
    topkIdx.set(await readI32(e.gpu, e.scratch.topkIdx, T * K), at * K);
    topkWeight.set(await readF32(e.gpu, e.scratch.topkWeight, T * K), at * K);
  }
  return { x, lastInput, out, topkIdx, topkWeight };
}
