// The process-wide tuning cache: a file under .cache/ in Node (tuning-store-node.ts),
// localStorage in the browser, none where neither exists. Kernels that consult the cache
// call defaultTuningCache(); tests and the page may replace it with setDefaultTuningCache.
import { TuningCache, localStorageStore } from './tuning-cache.ts';

let current: Promise<TuningCache | undefined> | undefined;

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

async function open(): Promise<TuningCache | undefined> {
  if (isNode) {
    // A computed specifier keeps bundlers from pulling node:fs into the browser build.
    const name = './tuning-store-node.ts';
    const node = (await import(/* @vite-ignore */ name)) as typeof import('./tuning-store-node.ts');
    const path = node.defaultTuningPath();
    return path === undefined ? undefined : new TuningCache(node.fileStore(path));
  }
  const storage = (globalThis as { localStorage?: Storage }).localStorage;
  return storage ? new TuningCache(localStorageStore(storage)) : undefined;
}

/** The cache the kernels consult (undefined when disabled or unavailable); opened once. */
export function defaultTuningCache(): Promise<TuningCache | undefined> {
  current ??= open().catch((e: Error) => {
    console.warn(`tuning cache unavailable (${e.message}); using default variants`);
    return undefined;
  });
  return current;
}

/** Replaces the process-wide cache (undefined: no cache; null: back to the default store). */
export function setDefaultTuningCache(cache: TuningCache | undefined | null): void {
  current = cache === null ? undefined : Promise.resolve(cache);
}
