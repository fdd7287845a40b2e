// The tuning cache's winner for a lab kernel and shape, when the user named no variant.
import type { Gpu } from '../gpu/index.ts';
import { adapterKey } from '../tuning/tuning-cache.ts';
import { defaultTuningCache } from '../tuning/tuning-store.ts';
import type { LabKernel, LabShape } from './types.ts';

export async function tunedVariant(
  gpu: Gpu,
  kernel: Pick<LabKernel, 'shapeClass'>,
  shape: LabShape,
  validate: (v: string) => string | undefined,
): Promise<string | undefined> {
  if (!kernel.shapeClass) return undefined;
  const cache = await defaultTuningCache();
  return (await cache?.lookup(adapterKey(gpu.info), kernel.shapeClass(shape), validate))?.variant;
}

/** 'name:N' → N (a positive integer), else an error message. */
export function parseNumbered(prefix: string, variant: string): number | string {
  const m = new RegExp(`^${prefix}:(\\d+)$`).exec(variant.trim());
  if (!m || !(+m[1] >= 1)) return `expected '${prefix}:N' with N a positive integer, got '${variant}'`;
  return +m[1];
}
