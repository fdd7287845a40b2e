// GPU time per compute pass from timestamp queries. Without timestamp-query the passes go
// untimed and `source` says 'host': callers then time whole submissions on the host.
import type { Gpu } from './device.ts';

export type TimeSource = 'timestamp-query' | 'host';

export class GpuTimer {
  readonly source: TimeSource;
  private readonly querySet?: GPUQuerySet;
  private readonly resolveBuf?: GPUBuffer;
  private readonly readBuf?: GPUBuffer;
  private labels: string[] = [];
  private prefix = '';

  constructor(
    private readonly gpu: Gpu,
    readonly capacity = 256,
  ) {
    this.source = gpu.timestamps ? 'timestamp-query' : 'host';
    if (!gpu.timestamps) return;
    const d = gpu.device;
    this.querySet = d.createQuerySet({ type: 'timestamp', count: 2 * capacity, label: 'GpuTimer' });
    this.resolveBuf = d.createBuffer({
      size: 16 * capacity,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.readBuf = d.createBuffer({ size: 16 * capacity, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** timestampWrites for a pass named `label`; undefined in host mode (pass untimed). */
  writes(label: string): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet) return undefined;
    if (this.labels.length >= this.capacity)
      throw new Error(`GpuTimer: more than ${this.capacity} timed passes before read()`);
    const i = this.labels.push(this.prefix + label) - 1;
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Runs fn with every pass label it records prefixed (e.g. 'shared ' for the shared expert's GEMMs). */
  scope<T>(prefix: string, fn: () => T): T {
    const saved = this.prefix;
    this.prefix = saved + prefix;
    try {
      return fn();
    } finally {
      this.prefix = saved;
    }
  }

  /** Copies the pass timestamps out; call on the encoder that holds the timed passes, before finish(). */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.querySet || this.labels.length === 0) return;
    const n = 2 * this.labels.length;
    encoder.resolveQuerySet(this.querySet, 0, n, this.resolveBuf!, 0);
    encoder.copyBufferToBuffer(this.resolveBuf!, 0, this.readBuf!, 0, n * 8);
  }

  /** Milliseconds per label (summed over passes sharing a label), in first-seen order; resets the timer. */
  async read(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!this.readBuf || this.labels.length === 0) return out;
    await this.gpu.guard(this.readBuf.mapAsync(GPUMapMode.READ, 0, this.labels.length * 16));
    const t = new BigInt64Array(this.readBuf.getMappedRange(0, this.labels.length * 16));
    this.labels.forEach((label, i) => {
      const ns = Number(t[2 * i + 1] - t[2 * i]);
      out.set(label, (out.get(label) ?? 0) + Math.max(0, ns) / 1e6);
    });
    this.readBuf.unmap();
    this.labels = [];
    return out;
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuf?.destroy();
    this.readBuf?.destroy();
  }
}
