// The process-wide tuning cache: a file under .cache/ in Node (tuning-store-node.ts),
// localStorage in the browser, none where neither exists. Kernels that consult the cache
// call defaultTuningCache(); tests and the page may replace it with setDefaultTuningCache.
//
// How Node finds its file store without the browser build ever seeing node:fs: this module
// never imports tuning-store-node.ts statically. That module registers itself here
// (provideNodeTuningStore) when it is evaluated, so every Node entry that imports it (the lab
// CLI, bench:kernels) has the store in its graph, and a bundle of that entry (esbuild,
// bench/gpu/bundle.sh) contains it. Where nothing registered it (an entry run from the
// repository that never imports it), it is loaded by a computed import, which only resolves
// next to the source files: a bundle that lacks the store says so in its warning, and a sweep
// asked to record fails before measuring (recordingTuningCache).
import { TuningCache, localStorageStore, type TuningStore } from './tuning-cache.ts';

/** The Node file store (tuning-store-node.ts), as it registers itself. */
export interface NodeTuningStore {
  /** The cache file (DWDP_TUNING_CACHE, else under the project's .cache/); undefined: disabled. */
  defaultTuningPath(): string | undefined;
  fileStore(path: string): TuningStore;
}

let current: Promise<TuningCache | undefined> | undefined;
/** Why the default cache could not be opened (defaultTuningCache warned and went on without it). */
let openFailure: Error | undefined;
let nodeStore: NodeTuningStore | undefined;

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** Called by tuning-store-node.ts when it is evaluated. */
export function provideNodeTuningStore(store: NodeTuningStore): void {
  nodeStore = store;
}

async function loadNodeStore(): Promise<NodeTuningStore> {
  if (nodeStore) return nodeStore;
  // A computed specifier keeps bundlers from pulling node:fs into the browser build.
  const name = './tuning-store-node.ts';
  try {
    await import(/* @vite-ignore */ name);
  } catch (e) {
    throw new Error(
      `the Node tuning store (${name}) is not in this build (${(e as Error).message}); ` +
        `a bundled entry must import tuning-store-node.ts itself, as the lab CLI and bench:kernels do`,
      { cause: e },
    );
  }
  if (!nodeStore) throw new Error(`${name} loaded but did not register its store`);
  return nodeStore;
}

async function open(): Promise<TuningCache | undefined> {
  if (isNode) {
    const node = await loadNodeStore();
    const path = node.defaultTuningPath();
    return path === undefined ? undefined : new TuningCache(node.fileStore(path));
  }
  const storage = (globalThis as { localStorage?: Storage }).localStorage;
  return storage ? new TuningCache(localStorageStore(storage)) : undefined;
}

/** The cache the kernels consult (undefined when disabled or unavailable); opened once. */
export function defaultTuningCache(): Promise<TuningCache | undefined> {
  current ??= open().catch((e: Error) => {
    openFailure = e;
    console.warn(`tuning cache unavailable (${e.message}); using default variants`);
    return undefined;
  });
  return current;
}

/**
 * The cache a sweep records into: the process-wide one, or an error saying why it could not be
 * opened (a sweep that measures for minutes and records nothing is the failure this refuses).
 * Undefined only where no cache is wanted: DWDP_TUNING_CACHE=off, or replaced by undefined.
 */
export async function recordingTuningCache(): Promise<TuningCache | undefined> {
  const cache = await defaultTuningCache();
  if (cache === undefined && openFailure) throw new Error(`the sweep cannot record its winner: ${openFailure.message}`);
  return cache;
}

/** Replaces the process-wide cache (undefined: no cache; null: back to the default store). */
export function setDefaultTuningCache(cache: TuningCache | undefined | null): void {
  current = cache === null ? undefined : Promise.resolve(cache);
  openFailure = undefined;
}
