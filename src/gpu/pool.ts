// Reusable devices. Creating a device is cheap, but every pipeline is compiled per device,
// and on a CPU-emulated adapter the grouped GEMM alone takes seconds to compile. Runs that
// come one after another (benchmarks, sweeps, tests) therefore borrow devices from here and
// keep their compiled pipelines; each run's buffers are destroyed when it hands them back.
import { getGpu, resolveLimits, type Gpu, type GpuOptions } from './device.ts';

const idle: Gpu[] = [];

/** Buffers created on a lent device, so the borrower's memory goes back with it. */
const lent = new Map<Gpu, { buffers: Set<GPUBuffer>; restore: () => void }>();

function track(gpu: Gpu): void {
  const device = gpu.device;
  const buffers = new Set<GPUBuffer>();
  const original = device.createBuffer;
  device.createBuffer = function (descriptor: GPUBufferDescriptor): GPUBuffer {
    const b = original.call(device, descriptor);
    buffers.add(b);
    return b;
  };
  lent.set(gpu, { buffers, restore: () => (device.createBuffer = original) });
}

/** A device meeting `opts.needs`: a pooled one when possible, else a new one. */
export async function borrowGpu(opts: GpuOptions = {}): Promise<Gpu> {
  const i = idle.findIndex((g) => {
    if (g.lostInfo) return false;
    try {
      const required = resolveLimits(g.device.limits, opts.needs ?? []);
      return Object.entries(required).every(
        ([k, v]) => (g.device.limits[k as keyof GPUSupportedLimits] as number) >= v,
      );
    } catch {
      return false;
    }
  });
  const gpu = i >= 0 ? idle.splice(i, 1)[0] : await getGpu(opts);
  track(gpu);
  return gpu;
}

/** Hands a device back: destroys what the borrower allocated and keeps the pipelines. */
export function returnGpu(gpu: Gpu): void {
  const l = lent.get(gpu);
  if (!l) return;
  lent.delete(gpu);
  l.restore();
  for (const b of l.buffers) b.destroy();
  if (!gpu.lostInfo) idle.push(gpu);
}

/** Destroys every pooled device (lets a Node process exit cleanly). */
export function drainGpuPool(): void {
  for (const g of idle.splice(0)) g.destroy();
}
