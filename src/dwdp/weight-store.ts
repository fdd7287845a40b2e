// Expert weights on a rank: a resident shard (a contiguous expert range of every layer)
// and, for DWDP, prefetch slots that receive the peers' experts of one layer each.
//
// Resident buffer: layer l's blocks start at l·layerStride (256-byte aligned, so a
// layer is a legal storage-binding offset). A slot holds one region per serving peer
// (also 256-byte aligned), in the order of placement.remote(rank); a peer's P experts are
// contiguous in its resident shard, so filling a region is ONE contiguous copy.
import { createBuffer, createBufferWith, type Gpu } from '../gpu/index.ts';
import { createExpertTable } from '../kernels/expert-gemm.ts';
import type { HostLayerWeights } from '../layer/host-weights.ts';
import type { ExpertLayout } from '../model/formats.ts';
import type { PeerPull } from './placement.ts';

/** Storage bindings must start at multiples of minStorageBufferOffsetAlignment (256 everywhere). */
export const BINDING_ALIGN = 256;
export const alignBinding = (bytes: number): number => Math.ceil(bytes / BINDING_ALIGN) * BINDING_ALIGN;

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

/** Uploads experts [first, first + count) of every layer into one resident buffer. */
export function uploadShard(gpu: Gpu, layers: HostLayerWeights[], shard: Shard, label: string): ResidentShard {
  const layout = layers[0].layout;
  const words = layout.words;
  const layerStride = alignBinding(shard.count * layout.bytes);
  const data = new Uint32Array((layerStride / 4) * layers.length);
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

/** One peer's region inside a prefetch slot. */
export interface SlotRegion extends PeerPull {
  /** Byte offset of the region in the slot (256-aligned). */
  offset: number;
  /** Bytes of the region's experts (without padding). */
  bytes: number;
}

/** DWDP's prefetch buffers of one rank: `depth` slots with one region per serving peer. */
export interface PrefetchSlots {
  buffers: GPUBuffer[];
  regions: SlotRegion[];
  slotBytes: number;
  /** Bytes of the experts a full slot holds (what a layer's pull moves). */
  payloadBytes: number;
}

export function createPrefetchSlots(
  gpu: Gpu,
  layout: ExpertLayout,
  remote: PeerPull[],
  depth: number,
  rank: number,
): PrefetchSlots {
  let at = 0;
  const regions = remote.map((p) => {
    const r: SlotRegion = { ...p, offset: at, bytes: p.experts.length * layout.bytes };
    at = alignBinding(at + r.bytes);
    return r;
  });
  const slotBytes = Math.max(BINDING_ALIGN, at);
  const buffers = Array.from({ length: depth }, (_, s) =>
    createBuffer(gpu, slotBytes, `rank ${rank} prefetch slot ${s}`),
  );
  return { buffers, regions, slotBytes, payloadBytes: regions.reduce((a, r) => a + r.bytes, 0) };
}

/**
 * Weight sources for the split-weight grouped GEMM, read in place: the resident shard's
 * layer section and the slot (every peer's region, an offset in it). Two bindings, not one
 * per peer: every binding the GEMM picks among costs each of its loads (on SwiftShader a
 * masked-off load per other source), and one slot binding serves every peer alike.
 */
export function splitSources(
  gpu: Gpu,
  experts: number,
  layout: ExpertLayout,
  resident: ResidentShard,
  slots: PrefetchSlots,
): { tableFor: GPUBuffer; sources: (layer: number, slot: number) => GPUBufferBinding[] } {
  const entries = Array.from({ length: experts }, () => ({ source: 0, atWord: 0 }));
  for (let e = resident.shard.first; e < resident.shard.first + resident.shard.count; e++) {
    entries[e] = { source: 0, atWord: (e - resident.shard.first) * layout.words };
  }
  for (const r of slots.regions)
    r.experts.forEach((e, j) => (entries[e] = { source: 1, atWord: r.offset / 4 + j * layout.words }));
  return {
    tableFor: createExpertTable(gpu, entries),
    sources: (layer, slot) => [
      shardBinding(resident, layer),
      ...(slots.regions.length ? [{ buffer: slots.buffers[slot], offset: 0, size: slots.slotBytes }] : []),
    ],
  };
}

/** Weight sources splitSources binds: the shard, and the slot when there are peers. */
export function splitSourceCount(peers: number): number {
  return peers > 0 ? 2 : 1;
}
