// Small buffer helpers: create from data, read back, and sizes that bindings accept.
import type { Gpu } from './device.ts';
import { LimitExceededError, whyText, type Why } from './errors.ts';

export const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (literal: usable before globals exist)

/** Bindings must be non-empty and 4-byte multiples; 16 keeps vec4 views legal too. */
export function bindingSize(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

export function createBuffer(gpu: Gpu, bytes: number, label: string, usage = STORAGE): GPUBuffer {
  return gpu.device.createBuffer({ size: bindingSize(bytes), usage, label });
}

/** A buffer initialised with `data` (typed array or ArrayBuffer). */
export function createBufferWith(
  gpu: Gpu,
  data: ArrayBufferView | ArrayBuffer,
  label: string,
  usage = STORAGE,
): GPUBuffer {
  const bytes =
    data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const buf = gpu.device.createBuffer({ size: bindingSize(bytes.byteLength), usage, label, mappedAtCreation: true });
  new Uint8Array(buf.getMappedRange()).set(bytes);
  buf.unmap();
  return buf;
}

/** A uniform buffer holding `words` (u32/i32/f32 mixed through a DataView writer). */
export function createUniform(gpu: Gpu, data: ArrayBuffer, label: string): GPUBuffer {
  return createBufferWith(gpu, data, label, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
}

/** Copies `bytes` from `src` (at `offset`) back to the host. */
export async function readBuffer(gpu: Gpu, src: GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
  const size = Math.ceil(bytes / 4) * 4;
  const staging = gpu.device.createBuffer({
    size: Math.max(4, size),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = gpu.device.createCommandEncoder();
  if (size > 0) enc.copyBufferToBuffer(src, offset, staging, 0, size);
  gpu.device.queue.submit([enc.finish()]);
  try {
    await gpu.guard(staging.mapAsync(GPUMapMode.READ));
    return staging.getMappedRange().slice(0, bytes);
  } finally {
    if (staging.mapState === 'mapped') staging.unmap();
    staging.destroy();
  }
}

export async function readF32(gpu: Gpu, src: GPUBuffer, count: number, offset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(gpu, src, count * 4, offset));
}

export async function readU32(gpu: Gpu, src: GPUBuffer, count: number, offset = 0): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(gpu, src, count * 4, offset));
}

export async function readI32(gpu: Gpu, src: GPUBuffer, count: number, offset = 0): Promise<Int32Array> {
  return new Int32Array(await readBuffer(gpu, src, count * 4, offset));
}

/**
 * Packs uniform fields. Fields are 4-byte scalars written in order; WGSL struct of
 * u32/i32/f32 scalars has the same layout, padded here to 16 bytes.
 */
export function packUniform(fields: [kind: 'u32' | 'i32' | 'f32', value: number][]): ArrayBuffer {
  const buf = new ArrayBuffer(bindingSize(fields.length * 4));
  const v = new DataView(buf);
  fields.forEach(([kind, value], i) => {
    if (kind === 'f32') v.setFloat32(i * 4, value, true);
    else if (kind === 'i32') v.setInt32(i * 4, value, true);
    else v.setUint32(i * 4, value, true);
  });
  return buf;
}

/**
 * A storage scratch buffer grown on demand. Encodes recorded earlier may still use an
 * outgrown one, so those are released only by destroy(). It grows to at least twice its last
 * size (within the device's maxStorageBufferBindingSize), so requests growing a little at a
 * time (a token count rising step by step) make a logarithmic number of buffers, together
 * under twice the largest one's bytes, not one buffer per request.
 */
export class ScratchBuffer {
  private buffers: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly label: string,
  ) {}

  /**
   * The current buffer when it holds `bytes`, else a new one of max(16, bytes, 2 × the current
   * size within the binding limit). Bound whole, so `bytes` past the device's
   * maxStorageBufferBindingSize is refused here (LimitExceededError saying `why`), before the
   * caller encodes anything, rather than as a validation error that would leave the output unwritten.
   */
  get(bytes: number, why: Why = `the ${this.label} scratch`): GPUBuffer {
    const last = this.buffers[this.buffers.length - 1];
    if (last && last.size >= bytes) return last;
    const allowed = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > allowed) throw new LimitExceededError('maxStorageBufferBindingSize', bytes, allowed, whyText(why));
    const doubled = Math.min(2 * (last?.size ?? 0), allowed);
    const buf = this.device.createBuffer({
      size: Math.max(16, bytes, doubled),
      usage: GPUBufferUsage.STORAGE,
      label: this.label,
    });
    this.buffers.push(buf);
    return buf;
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers = [];
  }
}
