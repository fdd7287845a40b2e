// Ranks and the one-sided copy between them. A rank is a GPU (its own GPUDevice, or a
// partition of one shared device's buffers); the transport moves bytes from a buffer of
// one rank to a buffer of another. It does no pacing: the link (wall-link.ts) decides
// when a copy may complete. The strategies see only this interface.
import type { Gpu, GpuOptions } from '../gpu/index.ts';
import { borrowGpu, returnGpu } from '../gpu/pool.ts';

/** N separate GPUDevices, or N partitions of one device's buffers. */
export type RankMode = 'devices' | 'partitions';
export const RANK_MODES: readonly RankMode[] = ['partitions', 'devices'];

export interface Rank {
  id: number;
  gpu: Gpu;
}

/** A byte range of a buffer that belongs to `rank`. */
export interface BufferRef {
  rank: number;
  buffer: GPUBuffer;
  offset: number;
}

export interface CopySegment {
  src: BufferRef;
  dst: BufferRef;
  bytes: number;
}

export interface Transport {
  readonly mode: RankMode;
  /**
   * Copies the segments (all from one source rank to one destination rank). Resolves once
   * the bytes are in place for the destination's later submissions.
   */
  copy(segments: CopySegment[]): Promise<void>;
}

/**
 * N ranks: N devices (one adapter request each: own queue, own memory), or one device
 * shared by N partitions. Devices come from the pool, so back-to-back runs keep their
 * compiled pipelines; releaseRanks gives them back.
 */
export async function createRanks(n: number, mode: RankMode, opts: GpuOptions = {}): Promise<Rank[]> {
  if (mode === 'partitions') {
    const gpu = await borrowGpu({ ...opts, label: 'partitions' });
    return Array.from({ length: n }, (_, id) => ({ id, gpu }));
  }
  const gpus: Gpu[] = [];
  for (let id = 0; id < n; id++) gpus.push(await borrowGpu({ ...opts, label: `rank ${id}` }));
  return gpus.map((gpu, id) => ({ id, gpu }));
}

/** Returns the ranks' devices to the pool, destroying every buffer the run created. */
export function releaseRanks(ranks: Rank[]): void {
  for (const g of new Set(ranks.map((r) => r.gpu))) returnGpu(g);
}

function checkSegments(segments: CopySegment[]): void {
  for (const s of segments) {
    if (s.bytes % 4 || s.src.offset % 4 || s.dst.offset % 4)
      throw new Error('transport: copies must be 4-byte aligned');
    if (s.src.offset + s.bytes > s.src.buffer.size || s.dst.offset + s.bytes > s.dst.buffer.size) {
      throw new Error(`transport: a ${s.bytes}-byte copy overruns its buffer`);
    }
  }
}

/** Partitions of one device: a queued buffer-to-buffer copy. */
export class PartitionTransport implements Transport {
  readonly mode = 'partitions' as const;

  constructor(private readonly gpu: Gpu) {}

  async copy(segments: CopySegment[]): Promise<void> {
    checkSegments(segments);
    const enc = this.gpu.device.createCommandEncoder({ label: 'pull' });
    for (const s of segments) enc.copyBufferToBuffer(s.src.buffer, s.src.offset, s.dst.buffer, s.dst.offset, s.bytes);
    this.gpu.device.queue.submit([enc.finish()]);
    await this.gpu.guard(this.gpu.device.queue.onSubmittedWorkDone());
  }
}

/**
 * Separate devices: the source copies into a mappable staging buffer, the host maps it,
 * and the destination queue writes it — the only path between two WebGPU devices.
 */
export class DeviceTransport implements Transport {
  readonly mode = 'devices' as const;

  constructor(private readonly ranks: Rank[]) {}

  async copy(segments: CopySegment[]): Promise<void> {
    checkSegments(segments);
    if (segments.length === 0) return;
    const src = this.ranks[segments[0].src.rank].gpu;
    const dst = this.ranks[segments[0].dst.rank].gpu;
    const total = segments.reduce((a, s) => a + s.bytes, 0);
    const staging = src.device.createBuffer({
      size: Math.max(4, total),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: 'pull staging',
    });
    try {
      const enc = src.device.createCommandEncoder({ label: 'pull out' });
      let at = 0;
      for (const s of segments) {
        enc.copyBufferToBuffer(s.src.buffer, s.src.offset, staging, at, s.bytes);
        at += s.bytes;
      }
      src.device.queue.submit([enc.finish()]);
      await src.guard(staging.mapAsync(GPUMapMode.READ));
      const data = staging.getMappedRange();
      at = 0;
      for (const s of segments) {
        dst.device.queue.writeBuffer(s.dst.buffer, s.dst.offset, data, at, s.bytes);
        at += s.bytes;
      }
      staging.unmap();
      // writeBuffer is ordered before the destination's later submissions; waiting here makes
      // the copy's completion time real rather than merely scheduled.
      await dst.guard(dst.device.queue.onSubmittedWorkDone());
    } finally {
      staging.destroy();
    }
  }
}

export function createTransport(ranks: Rank[], mode: RankMode): Transport {
  return mode === 'partitions' ? new PartitionTransport(ranks[0].gpu) : new DeviceTransport(ranks);
}
