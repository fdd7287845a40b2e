// Expert weights on a rank: a resident shard (a contiguous expert range of every layer) for
// DP and DEP, and DWDP's rank store: the resident shard and the prefetch slots as regions of
// one buffer per slot (store-layout.ts), so its grouped GEMM binds one buffer, as DP's does.
//
// Resident buffer (DP, DEP): layer l's blocks start at l·layerStride (256-byte aligned, so a
// layer is a legal storage-binding offset). DWDP's slot holds one region per serving peer
// (also 256-byte aligned), in the order of placement.remote(rank); a peer's P experts are
// contiguous in its resident section, so filling a region is ONE contiguous copy.
import { LimitExceededError, createBufferWith, sizeText, type Gpu, type SizeItem } from '../gpu/index.ts';
import { createExpertTable } from '../kernels/expert-gemm.ts';
import type { HostLayerWeights } from '../layer/host-weights.ts';
import { alignBinding, type StoreLayout } from './store-layout.ts';

/** A contiguous range of experts [first, first + count). */
export interface Shard {
  first: number;
  count: number;
}

export interface ResidentShard {
  shard: Shard;
  buffer: GPUBuffer;
  /** Bytes between consecutive layers' sections. */
  layerStride: number;
  /** Bytes the experts really take (without alignment padding). */
  bytes: number;
}

/** Bytes of the resident buffer uploadShard makes: one 256-byte-aligned section per layer. */
export function shardBufferBytes(count: number, expertBytes: number, layers: number): number {
  return alignBinding(count * expertBytes) * layers;
}

/**
 * A resident shard's buffer as a size item (the run checks it before generating weights): it is
 * bound one layer's section at a time, so only maxBufferSize limits it.
 */
export function shardSizeItem(whose: string, shard: Shard, expertBytes: number, layers: number): SizeItem {
  return {
    why:
      `${whose}'s resident experts (${shard.count} experts × ${sizeText(expertBytes)} in each of the --layers ${layers} layers, ` +
      `one buffer); fewer --layers make it smaller`,
    bytes: shardBufferBytes(shard.count, expertBytes, layers),
    where: 'device',
    bound: 'sections',
  };
}

/** Uploads experts [first, first + count) of every layer into one resident buffer. */
export function uploadShard(gpu: Gpu, layers: HostLayerWeights[], shard: Shard, label: string): ResidentShard {
  const layout = layers[0].layout;
  const words = layout.words;
  const layerStride = alignBinding(shard.count * layout.bytes);
  const data = new Uint32Array(shardBufferBytes(shard.count, layout.bytes, layers.length) / 4);
  layers.forEach((h, l) => {
    if (h.experts[0] !== 0 || h.experts.length < shard.first + shard.count)
      throw new Error('uploadShard: host weights must hold every expert in order');
    data.set(h.blocks.subarray(shard.first * words, (shard.first + shard.count) * words), (l * layerStride) / 4);
  });
  return {
    shard,
    buffer: createBufferWith(gpu, data, label),
    layerStride,
    bytes: shard.count * layout.bytes * layers.length,
  };
}

/** The binding of layer l's section of a resident shard. */
export function shardBinding(r: ResidentShard, layer: number): GPUBufferBinding {
  return { buffer: r.buffer, offset: layer * r.layerStride, size: r.layerStride };
}

/**
 * A DWDP rank's routed experts laid out by StoreLayout (store-layout.ts: the maths and the
 * hazards): `depth` buffers, each a prefetch slot followed by the resident sections of the
 * layers that use that slot, and one expert table per layer giving every expert's base word
 * in its layer's buffer. Layer l's grouped GEMM binds buffer l mod depth whole: one weight
 * source, DP's kernel.
 */
export interface RankStore {
  layout: StoreLayout;
  buffers: GPUBuffer[];
  /** Per layer: every expert's base word in buffer layout.bufferOf(l). */
  tables: GPUBuffer[];
}

/**
 * Uploads rank `layout.rank`'s resident experts of every layer into their sections and builds
 * the tables. Refuses, naming the limit and a valid choice, a buffer past the device's
 * maxStorageBufferBindingSize or maxBufferSize (the run sizes it first: storeSizeItem).
 */
export function createRankStore(gpu: Gpu, hosts: HostLayerWeights[], layout: StoreLayout): RankStore {
  const words = hosts[0].layout.words;
  if (hosts[0].layout.bytes !== layout.expertBytes || hosts.length !== layout.layers)
    throw new Error(
      `createRankStore: the layout is for ${layout.layers} layers of ${layout.expertBytes}-byte experts, ` +
        `the host weights are ${hosts.length} layers of ${hosts[0].layout.bytes}-byte experts`,
    );
  const limits = gpu.device.limits;
  for (const limit of ['maxStorageBufferBindingSize', 'maxBufferSize'] as const) {
    const allowed = limits[limit];
    if (layout.maxBufferBytes > allowed) throw storeLimitError(layout, limit, allowed);
  }
  const buffers = Array.from({ length: layout.depth }, (_, k) => {
    const data = new Uint32Array(layout.bufferBytes(k) / 4);
    for (let l = k; l < layout.layers; l += layout.depth) {
      const h = hosts[l];
      if (h.experts[0] !== 0 || h.experts.length < layout.first + layout.local)
        throw new Error('createRankStore: host weights must hold every expert in order');
      data.set(
        h.blocks.subarray(layout.first * words, (layout.first + layout.local) * words),
        layout.sectionOffset(l) / 4,
      );
    }
    return createBufferWith(gpu, data, `rank ${layout.rank} experts, slot ${k}`);
  });
  const E = layout.local + layout.regions.reduce((a, r) => a + r.experts.length, 0);
  const tables = Array.from({ length: layout.layers }, (_, l) =>
    createExpertTable(
      gpu,
      Array.from({ length: E }, (_, e) => layout.expertOffset(l, e) / 4),
    ),
  );
  return { layout, buffers, tables };
}

/** Where layer l's resident section lies (a pull's source, a merge's source). */
export function sectionRef(store: RankStore, layer: number): { buffer: GPUBuffer; offset: number } {
  return { buffer: store.buffers[store.layout.bufferOf(layer)], offset: store.layout.sectionOffset(layer) };
}

/** The run's size estimate of a rank's largest store buffer (checked against the device limits before any weight exists). */
export function storeSizeItem(layout: StoreLayout): SizeItem {
  return {
    why: `${storeWhy(layout)}; fewer --layers or, with --prefetch on, a deeper --prefetch-depth make it smaller`,
    bytes: layout.maxBufferBytes,
    where: 'device',
  };
}

function storeWhy(l: StoreLayout): string {
  const slots = l.depth === 1 ? 'one slot' : `--prefetch-depth ${l.depth} slots`;
  return (
    `DWDP rank ${l.rank}'s expert buffer for slot 0 (its prefetch slot, ${sizeText(l.slotBytes)}, and the resident ` +
    `experts of ${Math.ceil(l.layers / l.depth)} of the --layers ${l.layers} layers, ${sizeText(l.sectionStride)} each; ` +
    `one such buffer per slot, ${slots})`
  );
}

function storeLimitError(l: StoreLayout, limit: string, allowed: number): LimitExceededError {
  const fit = l.layersWithin(allowed);
  const err = new LimitExceededError(limit, l.maxBufferBytes, allowed, storeWhy(l));
  err.message +=
    fit > 0
      ? `: use --layers ${fit} or fewer, or, with --prefetch on, a deeper --prefetch-depth (more, smaller buffers)`
      : ': no layer count fits: use more --ranks (smaller shards) or a smaller --weights format';
  return err;
}
