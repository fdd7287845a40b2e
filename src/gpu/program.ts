// One compute program contract for every kernel module: a cached pipeline whose bind group
// layout the device derives from its WGSL (layout 'auto': no layout descriptor is written by
// hand), that layout fetched once, bind groups built from the buffers listed by binding
// number (and kept: the same buffers again reuse the group), and the workgroup grid sized
// against the device's limit.
//
// What is written by hand is a kernel's `uses` list where its entry point binds fewer buffers
// than the module declares (layout 'auto' holds only the statically used ones, which the host
// cannot read back). create checks that list against the derived layout at once: a binding
// listed but unused, or used but unlisted, is refused there, naming the kernel and the
// binding, rather than surfacing later as a validation error at the first bind group.
//
// Grid: a kernel with `count` independent workgroups numbers them id = wid.x + wid.y·nwg.x
// and skips ids past the end. With L = maxComputeWorkgroupsPerDimension the grid is
// [count, 1] when count ≤ L, else y = ⌈count / L⌉ rows of x = ⌈count / y⌉ ≤ L, which holds
// x·y ≥ count with fewer than y spare ids. It fits only while y ≤ L, i.e. count ≤ L²: past
// that the dispatch is refused before anything is encoded, naming the limit, the smallest
// L that would fit (⌈√count⌉) and the device's L.
import { GpuError, GpuValidationError, LimitExceededError, whyText, type Why } from './errors.ts';
import type { Gpu } from './device.ts';
import { cachedPipeline, type PipelineSource } from './shaders.ts';

/** What a binding takes: a whole buffer or a range of one. */
export type BindingBuffer = GPUBuffer | GPUBufferBinding;

/** The device limit a grid is sized against (a GPUDevice's `limits`, or a fake one in tests). */
export type GridLimits = Pick<GPUSupportedLimits, 'maxComputeWorkgroupsPerDimension'>;

const GRID_LIMIT = 'maxComputeWorkgroupsPerDimension';

/** `n` workgroups along one grid dimension; LimitExceededError (saying `why`, built only then) past the device's limit. */
export function gridDimension(n: number, limits: GridLimits, why: Why): number {
  const allowed = limits.maxComputeWorkgroupsPerDimension;
  if (n > allowed) throw new LimitExceededError(GRID_LIMIT, n, allowed, whyText(why));
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
export function workgroupGrid(count: number, limits: GridLimits, why: Why = 'this dispatch'): [number, number] {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`workgroupGrid: count must be a non-negative integer (got ${count})`);
  const max = limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [count, 1];
  const y = Math.ceil(count / max);
  if (y > max)
    throw new LimitExceededError(GRID_LIMIT, ceilSqrt(count), max, `${whyText(why)} (${count} workgroups in x·y)`);
  return [Math.ceil(count / y), y];
}

const entry = (binding: number, r: BindingBuffer): GPUBindGroupEntry => ({
  binding,
  resource: 'buffer' in r ? r : { buffer: r },
});

/** Per device, one buffer that every buffer binding type takes (uniform and storage), for probing layouts. */
const probeBuffers = new WeakMap<GPUDevice, GPUBuffer>();

function probeBuffer(device: GPUDevice): GPUBuffer {
  let b = probeBuffers.get(device);
  if (!b) {
    const { maxUniformBufferBindingSize: u, maxStorageBufferBindingSize: s } = device.limits;
    const size = Math.min(65536, u, s);
    b = device.createBuffer({ label: 'layout probe', size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.STORAGE });
    probeBuffers.set(device, b);
  }
  return b;
}

/**
 * Per candidate list of bindings, whether a bind group of exactly those (each the probe
 * buffer) validates against `layout`: undefined where it does, else the device's message.
 * All probes are recorded before any result is awaited.
 */
async function probeLayout(
  device: GPUDevice,
  layout: GPUBindGroupLayout,
  candidates: readonly (readonly number[])[],
): Promise<(string | undefined)[]> {
  const buffer = probeBuffer(device);
  const errors = candidates.map((bindings) => {
    device.pushErrorScope('validation');
    device.createBindGroup({ label: 'layout probe', layout, entries: bindings.map((b) => entry(b, buffer)) });
    return device.popErrorScope();
  });
  return (await Promise.all(errors)).map((e) => e?.message);
}

/**
 * Refuses a `uses` list that does not match the layout derived from the entry point, naming
 * the kernel and the binding: one listed that the entry point does not use, or one it uses
 * that is not listed (searched over every binding number the device allows). A
 * GpuValidationError: the bind group would fail the device's validation, found at create.
 */
async function checkUses(device: GPUDevice, layout: GPUBindGroupLayout, uses: readonly number[], label: string) {
  const [whole] = await probeLayout(device, layout, [uses]);
  if (whole === undefined) return;
  const head = `${label}: its 'uses' list [${uses.join(', ')}] does not match the bindings its entry point uses`;
  const without = await probeLayout(
    device,
    layout,
    uses.map((b) => uses.filter((u) => u !== b)),
  );
  const extra = uses.find((_, i) => without[i] === undefined);
  if (extra !== undefined)
    throw new GpuValidationError(
      `${head}: binding ${extra} is listed, but the entry point does not use it (drop it from 'uses')`,
    );
  const others = [...Array(device.limits.maxBindingsPerBindGroup).keys()].filter((b) => !uses.includes(b));
  const withOne = await probeLayout(
    device,
    layout,
    others.map((b) => [...uses, b]),
  );
  const missing = others.find((_, i) => withOne[i] === undefined);
  if (missing !== undefined)
    throw new GpuValidationError(
      `${head}: the entry point uses binding ${missing}, which is not listed (add it to 'uses')`,
    );
  throw new GpuValidationError(`${head}, or a binding's type or size does not take a buffer: ${whole.split('\n')[0]}`);
}

/** A number per buffer object, for bind group cache keys (a new buffer is a new number, never a reused one). */
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 0;

function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

/** Bind groups a program keeps, most recently used last (enough for one per layer of a deep model and projection). */
export const BIND_GROUP_CACHE_SIZE = 128;

/** Per cached pipeline, the `uses` list checkUses last accepted (comma-joined): a cached pipeline is checked once. */
const usesChecked = new WeakMap<GPUComputePipeline, string>();

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
   * the used ones), checked here against the derived layout (see the header); `label` names
   * the kernel in that check's refusal and its bind groups (default: the key).
   */
  static async create(
    gpu: Gpu,
    key: string,
    build: () => Promise<PipelineSource>,
    opts: { uses?: readonly number[]; label?: string } = {},
  ): Promise<ComputeProgram> {
    const label = opts.label ?? key;
    const pipeline = await cachedPipeline(gpu, key, build);
    const program = new ComputeProgram(gpu.device, pipeline, label, opts.uses);
    if (opts.uses && usesChecked.get(pipeline) !== opts.uses.join(',')) {
      await checkUses(gpu.device, program.layout, opts.uses, label);
      usesChecked.set(pipeline, opts.uses.join(','));
    }
    return program;
  }

  /** Bind groups built so far, keyed by label and the buffers (and ranges) bound; BIND_GROUP_CACHE_SIZE at most, least recently used dropped. */
  private readonly bindGroups = new Map<string, GPUBindGroup>();

  /**
   * Bind group 0 holding buffers[b] at binding b, for the bindings the entry point uses. A
   * bind group depends only on the layout and the buffers, so one built for the same buffers
   * (the same objects, offsets and sizes) is returned again: a kernel encoded each step with
   * the same weights and scratch builds its bind group once, not once per dispatch. A
   * cached group holds its buffers: a buffer destroyed while such a group is cached must
   * never be given here again (the group returned would fail at submit); a new buffer is
   * always a new key.
   */
  bindGroup(buffers: readonly BindingBuffer[], label = this.label): GPUBindGroup {
    // Per dispatch: the key is built in one loop over the bindings, with no array or closure allocated for it.
    const uses = this.uses;
    const n = uses ? uses.length : buffers.length;
    let key = label;
    for (let i = 0; i < n; i++) {
      const b = uses ? uses[i] : i;
      const r = this.given(buffers, b);
      key += 'buffer' in r ? `|${b}:${bufferId(r.buffer)}@${r.offset ?? 0}+${r.size ?? ''}` : `|${b}:${bufferId(r)}`;
    }
    let group = this.bindGroups.get(key);
    if (group) {
      this.bindGroups.delete(key); // re-inserted below: most recently used last
    } else {
      const entries = (uses ?? [...buffers.keys()]).map((b) => entry(b, buffers[b]));
      group = this.device.createBindGroup({ label, layout: this.layout, entries });
      if (this.bindGroups.size >= BIND_GROUP_CACHE_SIZE) this.bindGroups.delete(this.bindGroups.keys().next().value!);
    }
    this.bindGroups.set(key, group);
    return group;
  }

  /** buffers[b], refused (naming the binding) where none is given. */
  private given(buffers: readonly BindingBuffer[], b: number): BindingBuffer {
    const r = buffers[b];
    if (!r) throw new GpuError(`${this.label}: no buffer given for binding ${b}, which its entry point uses`);
    return r;
  }

  /** Records one dispatch of `grid` workgroups with `bindGroup` as group 0. */
  dispatch(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup, grid: readonly number[]): void {
    pass.setPipeline(this.pipeline);
    record(pass, bindGroup, grid);
  }

  /**
   * Records the dispatches in order within one pass, the pipeline set once (not once per
   * dispatch as `dispatch` does): for a kernel that dispatches this program several times in
   * a pass. Nothing is recorded for an empty list.
   */
  dispatchEach(pass: GPUComputePassEncoder, dispatches: readonly ProgramDispatch[]): void {
    if (dispatches.length === 0) return;
    pass.setPipeline(this.pipeline);
    for (const d of dispatches) record(pass, d.bindGroup, d.grid);
  }
}

/** One dispatch of a program: its group 0 and its grid of workgroups. */
export interface ProgramDispatch {
  bindGroup: GPUBindGroup;
  grid: readonly number[];
}

function record(pass: GPUComputePassEncoder, bindGroup: GPUBindGroup, grid: readonly number[]): void {
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(grid[0], grid[1] ?? 1, grid[2] ?? 1);
}
