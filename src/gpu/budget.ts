// Sizes before work. Every run estimates the buffers it will allocate from its inputs — one
// entry per buffer, with the key or flag that sizes it — and checks them here before it
// generates a single weight:
//   device:  one GPU buffer ≤ maxStorageBufferBindingSize and ≤ maxBufferSize (getGpu asks
//            for exactly these through LimitNeed, and names the first one exceeded);
//   host:    one typed array ≤ HOST_ARRAY_MAX_ELEMENTS elements (the JS engine's limit: past
//            it the run would end in "Invalid typed array length"), and all host arrays
//            together ≤ hostMemoryBytes() (else the run swaps, or dies, minutes later);
//   work:    a count of repetitions or multiply-adds ≤ a stated bound (a run that would take
//            hours is refused, not started).
// The single-layer run, the group run (and so the page), and the shader lab all size their
// work through these functions, so a size is refused the same way wherever it is entered.
import type { LimitNeed } from './device.ts';

/** One buffer a run will allocate. */
export interface SizeItem {
  /** What it holds, naming the keys or flags that size it ("the expert activations for --tokens 1e9 × …"). */
  why: string;
  bytes: number;
  /** Where it lives: one GPU buffer, one host typed array, or both (uploaded from the host). */
  where: 'device' | 'host' | 'both';
  /** Bytes per element of the host array (default 4). */
  elementBytes?: number;
  /** How many such host arrays exist at once (default 1; e.g. one per layer). */
  count?: number;
  /**
   * How a device buffer is bound: whole (default; it must fit maxStorageBufferBindingSize too) or
   * by sections (one layer at a time, as a resident shard is): then only maxBufferSize limits it.
   */
  bound?: 'whole' | 'sections';
}

/** Float64 references run on one CPU core at ~10⁸–10⁹ multiply-adds a second: 10¹⁰ is about a minute. */
export const MAX_REFERENCE_MACS = 1e10;

/** V8 (Node, Chrome) allocates typed arrays of at most 2³² elements. */
export const HOST_ARRAY_MAX_ELEMENTS = 2 ** 32;

/** A size or a count that is over its limit, refused before any work. */
export class SizeLimitError extends Error {
  override name = 'SizeLimitError';
  constructor(
    readonly why: string,
    readonly size: number,
    readonly limit: number,
    readonly unit: 'bytes' | 'elements' | string,
    detail: string,
  ) {
    super(`${why}: ${detail}`);
  }
}

/** Bytes as a short human string (MiB/GiB/TiB), for limit messages. */
export function sizeText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toPrecision(4)} ${units[i]}`;
}

/**
 * Memory the host can give this process's arrays: 80% of physical memory in Node, the
 * browser's navigator.deviceMemory (GiB, rounded down by the browser; 4 GiB when unknown)
 * otherwise. DWDP_HOST_MEMORY_MIB overrides it in Node.
 */
export function hostMemoryBytes(): number {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (proc?.versions?.node && typeof window === 'undefined') {
    const forced = Number(proc.env.DWDP_HOST_MEMORY_MIB);
    if (forced > 0) return forced * 2 ** 20;
    const os = proc.getBuiltinModule?.('node:os') as typeof import('node:os') | undefined;
    if (os) return Math.floor(0.8 * os.totalmem());
  }
  const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  return (typeof gib === 'number' && gib > 0 ? gib : 4) * 2 ** 30;
}

/** Throws SizeLimitError for the first host array past the engine's limit, or for a total past host memory. */
export function checkHostSizes(items: readonly SizeItem[], memory = hostMemoryBytes()): void {
  let total = 0;
  for (const it of items) {
    if (it.where === 'device') continue;
    if (!Number.isFinite(it.bytes) || it.bytes < 0)
      throw new SizeLimitError(it.why, it.bytes, memory, 'bytes', `the size ${it.bytes} is not a finite byte count`);
    const elements = it.bytes / (it.elementBytes ?? 4);
    if (elements > HOST_ARRAY_MAX_ELEMENTS)
      throw new SizeLimitError(
        it.why,
        elements,
        HOST_ARRAY_MAX_ELEMENTS,
        'elements',
        `needs one host array of ${elements.toExponential(3)} elements (${sizeText(it.bytes)}), ` +
          `but JavaScript typed arrays hold at most 2^32 = ${HOST_ARRAY_MAX_ELEMENTS} elements`,
      );
    total += it.bytes * (it.count ?? 1);
  }
  if (total > memory) {
    const all = (i: SizeItem) => i.bytes * (i.count ?? 1);
    const biggest = items.filter((i) => i.where !== 'device').sort((a, b) => all(b) - all(a))[0];
    throw new SizeLimitError(
      biggest.why,
      total,
      memory,
      'bytes',
      `the run needs ${sizeText(total)} of host memory (${sizeText(all(biggest))} for this alone), but this host offers ${sizeText(memory)}`,
    );
  }
}

/** The device limits the device-side items need, for getGpu (it names the first one exceeded). */
export function deviceNeeds(items: readonly SizeItem[]): LimitNeed[] {
  return items
    .filter((i) => i.where !== 'host')
    .flatMap((i) => [
      ...(i.bound === 'sections'
        ? []
        : [{ limit: 'maxStorageBufferBindingSize' as const, value: i.bytes, why: i.why }]),
      { limit: 'maxBufferSize' as const, value: i.bytes, why: i.why },
    ]);
}

/** Refuses a count (runs, warm-ups, multiply-adds) above a bound, naming the culprit and the bound. */
export function checkCount(why: string, value: number, limit: number, unit: string, hint = ''): void {
  if (!(value <= limit))
    throw new SizeLimitError(
      why,
      value,
      limit,
      unit,
      `${countText(value)} ${unit} is over the limit of ${countText(limit)}${hint ? ` (${hint})` : ''}`,
    );
}

const countText = (v: number): string => (Number.isFinite(v) && Math.abs(v) >= 1e6 ? v.toExponential(3) : String(v));
