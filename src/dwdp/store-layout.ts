// Where a DWDP rank keeps its routed experts: the resident shard and the prefetch slots as
// regions of `depth` buffers, one per slot, so that layer l's grouped GEMM binds ONE buffer
// and finds every expert (resident or pulled) through its base offset in the expert table —
// DP's one-binding kernel with other offsets, as TensorRT-LLM's split-weight GEMM takes a
// pointer per expert.
//
// A rank r holds L experts [f, f + L) of every layer and pulls, per layer, the experts of its
// serving peers (placement.ts). With b bytes per expert (w = b/4 words) and `depth` slots:
//
//   region of peer q in a slot   at o_q = align(o_{q−1} + P_{q−1}·b), o_first = 0
//   slot                         S = align(end of the last region)      (0 without peers)
//   resident section of a layer  R = align(L·b)
//   buffer k (k < depth)         [0, S): slot k;  then the sections of the layers l ≡ k (mod depth),
//                                layer l's at S + ⌊l/depth⌋·R
//   buffer k's bytes             S + ⌈(layers − k)/depth⌉·R   (the largest: k = 0)
//   base word of expert e in layer l, in buffer l mod depth:
//                                resident (f ≤ e < f + L): (S + ⌊l/depth⌋·R)/4 + (e − f)·w
//                                pulled from q (j-th of its experts): o_q/4 + j·w
//
// align = the storage-binding offset alignment (256 bytes), so every base word is a multiple
// of 4 (16-byte aligned blocks, as the expert table requires). Layer l lives in slot l mod
// depth, which is the prefetch ring's slot of l (src/timeline/plan.ts); without prefetch depth
// is 1 and one buffer holds every layer's section and the one slot. Memory: the resident
// shard (L·b per layer, padded to R) plus `depth` slots, as with separate buffers: no layer
// has a slot of its own.
//
// Hazards. The slot region of buffer k is the only part written after upload (by the pulls of
// the layers ≡ k); the sections are written once, at upload, and read by this rank's GEMMs and
// by its peers' pulls (copy sources). Region and sections are disjoint byte ranges (by
// construction: the slot is [0, S), the sections start at S; test/rank-store.test.ts
// enumerates them), so a pull never writes what a GEMM of another layer or a peer's copy
// reads. Within the slot, read-after-write (the GEMM of l reads it only after the pull of l
// landed) and write-after-read (the pull of l + depth is issued only after the GEMM of l
// released it) are guarded by the prefetch ring, where the DWDP rank loop
// (src/strategies/dwdp.ts) waits, reads and releases.
//
// Pure module (runs in the browser): no I/O, no GPU.
import type { Placement, PeerPull } from './placement.ts';

/** Storage bindings must start at multiples of minStorageBufferOffsetAlignment (256 everywhere). */
export const BINDING_ALIGN = 256;
export const alignBinding = (bytes: number): number => Math.ceil(bytes / BINDING_ALIGN) * BINDING_ALIGN;

/** One peer's region inside a prefetch slot. */
export interface SlotRegion extends PeerPull {
  /** Byte offset of the region in the slot (256-aligned). */
  offset: number;
  /** Bytes of the region's experts (without padding). */
  bytes: number;
}

export interface StoreLayoutSpec {
  placement: Placement;
  rank: number;
  /** Bytes of one expert block (a multiple of 16). */
  expertBytes: number;
  /** MoE layers held. */
  layers: number;
  /** Prefetch slots (2: ping-pong; 1 without prefetch). */
  depth: number;
}

export class StoreLayout {
  readonly rank: number;
  readonly layers: number;
  readonly depth: number;
  readonly expertBytes: number;
  /** The resident range [first, first + local). */
  readonly first: number;
  readonly local: number;
  /** One region per serving peer, in the order of placement.remote(rank). */
  readonly regions: readonly SlotRegion[];
  /** S: bytes of a slot (its regions, aligned; 0 without peers). */
  readonly slotBytes: number;
  /** R: bytes between consecutive sections of one buffer. */
  readonly sectionStride: number;
  /** Bytes of the experts a full slot holds (what one layer's prefetch moves). */
  readonly payloadBytes: number;

  constructor(spec: StoreLayoutSpec) {
    const { placement, rank, expertBytes, layers, depth } = spec;
    if (!(Number.isInteger(expertBytes) && expertBytes > 0 && expertBytes % 16 === 0))
      throw new Error(`store layout: expertBytes must be a positive multiple of 16, got ${expertBytes}`);
    if (!(Number.isInteger(layers) && layers >= 1))
      throw new Error(`store layout: layers must be an integer ≥ 1, got ${layers}`);
    if (!(Number.isInteger(depth) && depth >= 1))
      throw new Error(`store layout: depth must be an integer ≥ 1 (2 = ping-pong, 1 = no prefetch), got ${depth}`);
    this.rank = rank;
    this.layers = layers;
    this.depth = depth;
    this.expertBytes = expertBytes;
    this.first = placement.rangeStart(rank);
    this.local = placement.local;
    let at = 0;
    this.regions = placement.remote(rank).map((p) => {
      const r: SlotRegion = { ...p, offset: at, bytes: p.experts.length * expertBytes };
      at = alignBinding(at + r.bytes);
      return r;
    });
    this.slotBytes = at;
    this.sectionStride = alignBinding(this.local * expertBytes);
    this.payloadBytes = this.regions.reduce((a, r) => a + r.bytes, 0);
  }

  /** The buffer (= slot) layer l lives in: l mod depth, the prefetch ring's slot of l. */
  bufferOf(layer: number): number {
    this.checkLayer(layer);
    return layer % this.depth;
  }

  /** Bytes of buffer k: its slot and the sections of the layers ≡ k (mod depth). */
  bufferBytes(k: number): number {
    if (!(Number.isInteger(k) && k >= 0 && k < this.depth))
      throw new Error(`store layout: buffer ${k} out of range [0, ${this.depth})`);
    return this.slotBytes + Math.ceil((this.layers - k) / this.depth) * this.sectionStride;
  }

  /** The largest buffer (buffer 0): what one binding must hold. */
  get maxBufferBytes(): number {
    return this.bufferBytes(0);
  }

  /** Bytes of all buffers together. */
  get totalBytes(): number {
    let t = 0;
    for (let k = 0; k < this.depth; k++) t += this.bufferBytes(k);
    return t;
  }

  /** Byte offset of layer l's resident section in buffer bufferOf(l). */
  sectionOffset(layer: number): number {
    this.checkLayer(layer);
    return this.slotBytes + Math.floor(layer / this.depth) * this.sectionStride;
  }

  /** Byte offset, in buffer bufferOf(l), of expert e's block of layer l (resident or in the slot). */
  expertOffset(layer: number, expert: number): number {
    if (expert >= this.first && expert < this.first + this.local)
      return this.sectionOffset(layer) + (expert - this.first) * this.expertBytes;
    this.checkLayer(layer);
    for (const r of this.regions) {
      const j = r.experts.indexOf(expert);
      if (j >= 0) return r.offset + j * this.expertBytes;
    }
    throw new Error(`store layout: rank ${this.rank} neither holds nor pulls expert ${expert}`);
  }

  /** Layers for which the largest buffer stays within `bytes` (for limit messages); 0 when none fits. */
  layersWithin(bytes: number): number {
    if (bytes < this.slotBytes + this.sectionStride) return 0;
    return Math.floor((bytes - this.slotBytes) / this.sectionStride) * this.depth;
  }

  private checkLayer(layer: number): void {
    if (!(Number.isInteger(layer) && layer >= 0 && layer < this.layers))
      throw new Error(`store layout: layer ${layer} out of range [0, ${this.layers})`);
  }
}
