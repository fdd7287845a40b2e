// One compute program contract for every kernel module: a cached pipeline whose bind group
// layout is derived from its WGSL (layout 'auto', never written by hand), that layout
// fetched once, bind groups built from the buffers listed by binding number, and the
// workgroup grid sized against the device's limit.
//
// Grid: a kernel with `count` independent workgroups numbers them id = wid.x + wid.y·nwg.x
// and skips ids past the end. With L = maxComputeWorkgroupsPerDimension the grid is
// [count, 1] when count ≤ L, else y = ⌈count / L⌉ rows of x = ⌈count / y⌉ ≤ L, which holds
// x·y ≥ count with fewer than y spare ids. It fits only while y ≤ L, i.e. count ≤ L²: past
// that the dispatch is refused before anything is encoded, naming the limit, the smallest
// L that would fit (⌈√count⌉) and the device's L.
import { LimitExceededError } from './errors.ts';
import type { Gpu } from './device.ts';
import { cachedPipeline, type PipelineSource } from './shaders.ts';

/** What a binding takes: a whole buffer or a range of one. */
export type BindingBuffer = GPUBuffer | GPUBufferBinding;

/** The device limit a grid is sized against (a GPUDevice's `limits`, or a fake one in tests). */
export type GridLimits = Pick<GPUSupportedLimits, 'maxComputeWorkgroupsPerDimension'>;

const GRID_LIMIT = 'maxComputeWorkgroupsPerDimension';

/** `n` workgroups along one grid dimension; LimitExceededError (saying `why`) past the device's limit. */
export function gridDimension(n: number, limits: GridLimits, why: string): number {
  const allowed = limits.maxComputeWorkgroupsPerDimension;
  if (n > allowed) throw new LimitExceededError(GRID_LIMIT, n, allowed, why);
  return n;
}

/** Smallest integer s with s² ≥ n (n a non-negative integer), exact past float rounding. */
function ceilSqrt(n: number): number {
  let s = Math.ceil(Math.sqrt(n));
  while (s * s < n) s++;
  while (s > 0 && (s - 1) * (s - 1) >= n) s--;
  return s;
}

/** The 2-D grid [x, y] for `count` independent workgroups (see the header). */
export function workgroupGrid(count: number, limits: GridLimits, why = 'this dispatch'): [number, number] {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`workgroupGrid: count must be a non-negative integer (got ${count})`);
  const max = limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [count, 1];
  const y = Math.ceil(count / max);
  if (y > max) throw new LimitExceededError(GRID_LIMIT, ceilSqrt(count), max, `${why} (${count} workgroups in x·y)`);
  return [Math.ceil(count / y), y];
}

const entry = (binding: number, r: BindingBuffer): GPUBindGroupEntry => ({
  binding,
  resource: 'buffer' in r ? r : { buffer: r },
});

/** A compute pipeline with its bind group 0 layout, and the bind groups for it. */
export class ComputeProgram {
  /** Bind group 0's layout, fetched once (getBindGroupLayout makes a new wrapper object per call). */
  readonly layout: GPUBindGroupLayout;

  private constructor(
    private readonly device: GPUDevice,
    readonly pipeline: GPUComputePipeline,
    readonly label: string,
    private readonly uses: readonly number[] | undefined,
  ) {
    this.layout = pipeline.getBindGroupLayout(0);
  }

  /**
   * The pipeline cached under `key` (cachedPipeline). `uses` lists the bindings its entry
   * point uses when that is not every buffer given to bindGroup (layout 'auto' holds only
   * the used ones); `label` names its bind groups (default: the key).
   */
  static async create(
    gpu: Gpu,
    key: string,
    build: () => Promise<PipelineSource>,
    opts: { uses?: readonly number[]; label?: string } = {},
  ): Promise<ComputeProgram> {
    return new ComputeProgram(gpu.device, await cachedPipeline(gpu, key, build), opts.label ?? key, opts.uses);
  }

  /** Bind group 0 holding buffers[b] at binding b, for the bindings the entry point uses. */
  bindGroup(buffers: readonly BindingBuffer[], label = this.label): GPUBindGroup {
    const entries = this.uses ? this.uses.map((b) => entry(b, buffers[b])) : buffers.map((r, b) => entry(b, r));
    return this.device.createBindGroup({ label, layout: this.layout, entries });
  }

  /** Records one dispatch of `grid` workgroups with `bindGroup` as group 0. */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup, grid: readonly number[]): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1] ?? 1, grid[2] ?? 1);
  }
}
