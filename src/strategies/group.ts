// The state a group run shares across its ranks: the config, the workload, the layer
// weights on the host, and per rank its kernels, buffers and input. Built once, before
// the runtime starts the rank loops; the strategies only read it.
import { createBuffer, createBufferWith, type Gpu } from '../gpu/index.ts';
import { AttentionKernel, packOffsets } from '../kernels/attention.ts';
import { CopyKernel } from '../kernels/copy.ts';
import type { Rank } from '../dwdp/transport.ts';
import { buildHostLayerWeights, type HostLayerWeights } from '../layer/host-weights.ts';
import { MoeLayer, uploadCommonWeights, type DeviceLayerWeights, type LayerScratch } from '../layer/moe-layer.ts';
import type { MoeConfig } from '../model/config.ts';
import type { ExpertLayout, WeightFormat } from '../model/formats.ts';
import { tokenInputs } from '../model/weights.ts';
import { Rng } from '../util/random.ts';
import { applyRoutingSkew } from '../workload/skew.ts';
import { makeWorkload, totalTokens, type RankWork } from '../workload/workload.ts';
import type { PlanStep } from '../timeline/plan.ts';
import type { RankRuntime } from './runtime.ts';
import type { GroupRunOptions } from './types.ts';

/** What one rank holds (kernels and buffers on its own device or partition). */
export interface RankEnv {
  id: number;
  rank: Rank;
  gpu: Gpu;
  work: RankWork;
  layer: MoeLayer;
  scratch: LayerScratch;
  /** Layer input and output, ping-pong: layer l reads x[l % 2] and writes x[(l + 1) % 2]. */
  x: [GPUBuffer, GPUBuffer];
  /** Router, bias, shared expert per layer (every rank has them). */
  common: Omit<DeviceLayerWeights, 'experts'>[];
  attention: AttentionKernel;
  /** The attention stand-in's own q, k, v, out and request offsets (its output is not the MoE input). */
  attn: { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; out: GPUBuffer; seqOffsets: GPUBuffer };
  copy: CopyKernel;
  /** Weight bytes resident on this rank, and in its prefetch buffers. */
  residentBytes: number;
  prefetchBytes: number;
}

export interface GroupEnv {
  cfg: MoeConfig;
  opts: GroupRunOptions;
  format: WeightFormat;
  layout: ExpertLayout;
  layers: number;
  work: RankWork[];
  /** Host weights of every layer (all experts), from the seed. */
  hosts: HostLayerWeights[];
  /** The group's stacked layer-0 input [Σ tokens, H] (rank r's rows start at work[r].firstToken). */
  x: Float32Array;
  /** DEP's activation bytes on the link are charged × this (the scale model's activations factor; 1 unscaled). */
  activationScale: number;
}

/** Input of the stacked group: the seed's tokens, pushed toward hot experts when skewed. */
export function groupInput(
  cfg: MoeConfig,
  opts: GroupRunOptions,
  work: RankWork[],
  router0: Float32Array,
): Float32Array {
  const total = totalTokens(work);
  const x = tokenInputs(cfg, opts.seed, total);
  if (opts.routingSkew > 0) applyRoutingSkew(cfg, x, total, router0, opts.routingSkew, opts.seed);
  return x;
}

/** Per rank, its requests at the given lengths, stacked in rank order. */
export function workFromLengths(lengths: readonly (readonly number[])[]): RankWork[] {
  let first = 0;
  return lengths.map((ls, rank) => {
    if (ls.length === 0 || ls.some((x) => !(Number.isInteger(x) && x >= 1)))
      throw new Error(`rank ${rank}: request lengths must be positive integers (got ${ls.join(', ')})`);
    const tokens = ls.reduce((a, b) => a + b, 0);
    const w = { rank, lengths: [...ls], tokens, firstToken: first };
    first += tokens;
    return w;
  });
}

/** Each rank's requests, from the seed (cheap: sizes the run before any weight exists). */
export function groupWorkload(opts: GroupRunOptions): RankWork[] {
  return makeWorkload({
    ranks: opts.ranks,
    tokensPerRank: opts.tokensPerRank,
    requestsPerRank: opts.requestsPerRank,
    lengthCv: opts.lengthCv,
    lengthLaw: opts.lengthLaw,
    seed: opts.seed,
  });
}

export function buildGroupEnv(cfg: MoeConfig, opts: GroupRunOptions, work = groupWorkload(opts)): GroupEnv {
  const hosts = Array.from({ length: opts.layers }, (_, l) => buildHostLayerWeights(cfg, opts.format, opts.seed, l));
  return {
    cfg,
    opts,
    format: opts.format,
    layout: hosts[0].layout,
    layers: opts.layers,
    work,
    hosts,
    x: groupInput(cfg, opts, work, hosts[0].router),
    activationScale: 1,
  };
}

/** Kernels, scratch, inputs and common weights of one rank. */
export async function buildRankEnv(g: GroupEnv, rank: Rank): Promise<RankEnv> {
  const { cfg, opts } = g;
  const gpu = rank.gpu;
  const work = g.work[rank.id];
  const H = cfg.hidden;
  const T = work.tokens;
  const [layer, attention, copy] = await Promise.all([
    MoeLayer.create(gpu, cfg, { format: g.format, variant: opts.variant, expectedTokens: T }),
    AttentionKernel.create(gpu, opts.attention),
    CopyKernel.create(gpu),
  ]);
  const mine = g.x.subarray(work.firstToken * H, (work.firstToken + T) * H);
  const d = opts.attention.heads * opts.attention.headDim;
  const rng = new Rng(opts.seed).fork(`attention/rank${rank.id}`);
  const qkv = () => createBufferWith(gpu, rng.normals(T * d), `rank ${rank.id} attention input`);
  return {
    id: rank.id,
    rank,
    gpu,
    work,
    layer,
    scratch: layer.createScratch(T),
    x: [createBufferWith(gpu, mine, `rank ${rank.id} x0`), createBuffer(gpu, T * H * 4, `rank ${rank.id} x1`)],
    common: g.hosts.map((h) => uploadCommonWeights(gpu, h)),
    attention,
    attn: {
      q: qkv(),
      k: qkv(),
      v: qkv(),
      out: createBuffer(gpu, T * d * 4, `rank ${rank.id} attention out`),
      seqOffsets: createBufferWith(gpu, packOffsets(work.lengths), 'seq offsets'),
    },
    copy,
    residentBytes: 0,
    prefetchBytes: 0,
  };
}

/** The attention stand-in of layer l: real causal attention over the rank's own requests. */
export function encodeAttention(
  env: RankEnv,
): (enc: GPUCommandEncoder, timer: import('../gpu/index.ts').GpuTimer | undefined) => void {
  return (enc, timer) =>
    env.attention.encode(enc, { ...env.attn, tokens: env.work.tokens, requests: env.work.lengths.length }, timer);
}

/**
 * The steps every strategy runs the same way, on its own rank's data: attention, routing, the
 * shared expert, the grouped GEMM over `w.experts` and the combine of layer l, from x into out.
 * Returns false for any other step (a strategy's own: pulls, merges, dispatch, return), which
 * the caller runs itself; a strategy that runs one of these differently handles it first.
 */
export async function runLocalStep(
  rt: RankRuntime,
  env: RankEnv,
  step: PlanStep,
  l: number,
  x: GPUBuffer,
  out: GPUBuffer,
  w: DeviceLayerWeights,
): Promise<boolean> {
  const T = env.work.tokens;
  switch (step) {
    case 'attention':
      await rt.compute(`attention L${l}`, 'attention', l, encodeAttention(env));
      return true;
    case 'router':
      await rt.compute(`routing L${l}`, 'router', l, (enc, t) => env.layer.encodeRouting(enc, x, T, w, env.scratch, t));
      return true;
    case 'sharedExpert':
      await rt.compute(`shared L${l}`, 'dense', l, (enc, t) => env.layer.encodeShared(enc, x, T, w, env.scratch, t));
      return true;
    case 'groupedGemm':
      await rt.compute(`experts L${l}`, 'gemm', l, (enc, t) =>
        env.layer.encodeRouted(enc, x, T, w.experts, env.scratch, t),
      );
      return true;
    case 'combine':
      await rt.compute(`combine L${l}`, 'combine', l, (enc, t) =>
        env.layer.encodeCombine(enc, x, out, T, w, env.scratch, t),
      );
      return true;
    default:
      return false;
  }
}
