// One Dawn device per test file (per worker process), created on first use.
import { getGpu, type Gpu } from '../src/gpu/index.ts';

let gpu: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  gpu ??= getGpu({ label: 'test' });
  return gpu;
}

/**
 * The documented router default, read off the device and adapter directly (not through the
 * kernel code it checks): 'pt:64' where the device has the subgroups feature and the adapter
 * reports subgroups of exactly 4 lanes (subgroupMinSize = subgroupMaxSize = 4, SwiftShader),
 * else 'tb:4'.
 */
export function documentedRouterDefault(gpu: Gpu): 'pt:64' | 'tb:4' {
  const info = gpu.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const of4 = gpu.device.features.has('subgroups') && info.subgroupMinSize === 4 && info.subgroupMaxSize === 4;
  return of4 ? 'pt:64' : 'tb:4';
}
