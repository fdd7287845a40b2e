// The tuning cache: the fastest kernel configuration a sweep found, per adapter and shape
// class, kept in one small JSON document (Node: a file under .cache/, browser: localStorage;
// see tuning-store.ts). The grouped expert GEMM consults it when it is given no variant.
//
// Document (schema 1):
//   { "schema": 1,
//     "adapters": { "<adapter key>": { "adapter": "<adapter key>", "label": "…",
//                                       "entries": { "<entry key>": TunedEntry } } } }
// A broken or stale document never crashes a caller: bad JSON, another schema, a malformed
// entry, an adapter section filed under the wrong key or a variant the kernel rejects is
// ignored with ONE line of warning (once per store and reason), and lookups fall back to
// the kernel's default. Recording a result keeps every other adapter's section.
//
// This module is a leaf (no kernel imports): kernels pass in how to validate a variant.

import type { AdapterDescription } from '../gpu/index.ts';
import { parseJsonText } from '../util/json.ts';

export const TUNING_SCHEMA = 1;

/** Where the document lives; `where` names it in warnings. */
export interface TuningStore {
  readonly where: string;
  /** The document's text, or undefined when there is none yet. */
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

/**
 * A shape class: the kernel, the part of the shape that must match exactly (`base`, e.g.
 * 'f32 H512 F256'), and a size that may be matched approximately (`rows`, e.g. rows per
 * expert), all already bucketed (see shape-class.ts).
 */
export interface ShapeClass {
  kernel: string;
  base: string;
  rows: number;
}

export interface TunedEntry extends ShapeClass {
  variant: string;
  /** What the sweep measured for the winner, and on which exact shape. */
  medianMs: number;
  shape: string;
  /** How many configurations were tried (and passed the correctness check). */
  tried: number;
  measuredAt: string;
}

/** A lookup's answer: the entry and the adapter label its section was recorded with. */
export interface TunedMatch extends TunedEntry {
  /** The adapter as the sweep's report named it (adapterLabel), else its key. */
  adapterLabel: string;
}

/**
 * Where a kernel's configuration came from, as reports show it: given by the caller, the
 * kernel's default for the adapter, or a sweep's winner from the tuning cache (on which
 * adapter, when, and which store held it).
 */
export type VariantOrigin =
  { source: 'given' } | { source: 'default' } | { source: 'tuned'; adapter: string; measuredAt: string; store: string };

/** A kernel's configuration by name, and where it came from. */
export interface KernelChoice {
  /** The kernel as reports name it ('router', 'grouped GEMM'). */
  kernel: string;
  variant: string;
  origin: VariantOrigin;
}

/** The origin of a tuned configuration found by `cache`. */
export const tunedOrigin = (m: TunedMatch, cache: TuningCache): VariantOrigin => ({
  source: 'tuned',
  adapter: m.adapterLabel,
  measuredAt: m.measuredAt,
  store: cache.store.where,
});

/** 'tuned here on <adapter> at <date, UTC>', 'default for this adapter' or 'given'. */
export function variantOriginText(o: VariantOrigin): string {
  if (o.source === 'given') return 'given';
  if (o.source === 'default') return 'default for this adapter';
  const at = Number.isNaN(Date.parse(o.measuredAt))
    ? o.measuredAt
    : new Date(o.measuredAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  return `tuned here on ${o.adapter} at ${at}`;
}

interface AdapterSection {
  adapter: string;
  label?: string;
  entries: Record<string, TunedEntry>;
}

interface TuningDocument {
  schema: number;
  adapters: Record<string, AdapterSection>;
}

/** The key a document files an adapter under: everything the adapter says about itself. */
export function adapterKey(info: AdapterDescription): string {
  return [info.vendor, info.architecture, info.device, info.description, info.host].map((s) => s || '-').join(' | ');
}

/** Power-of-two bucket: the nearest 2^k in log scale (so 48 → 64, 40 → 32, 1 → 1). */
export function pow2Bucket(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  return 2 ** Math.max(0, Math.round(Math.log2(x)));
}

export const entryKey = (c: ShapeClass): string => `${c.kernel} ${c.base} R${c.rows}`;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function validEntry(e: unknown): e is TunedEntry {
  return (
    isObj(e) &&
    typeof e.kernel === 'string' &&
    typeof e.base === 'string' &&
    typeof e.rows === 'number' &&
    e.rows >= 1 &&
    typeof e.variant === 'string' &&
    typeof e.medianMs === 'number'
  );
}

export interface TuningCacheOptions {
  /** One-line warnings (default: console.warn). */
  warn?: (message: string) => void;
}

export class TuningCache {
  private doc: Promise<TuningDocument> | undefined;
  private readonly warned = new Set<string>();
  private readonly warnFn: (message: string) => void;

  constructor(
    readonly store: TuningStore,
    opts: TuningCacheOptions = {},
  ) {
    this.warnFn = opts.warn ?? ((m) => console.warn(m));
  }

  private warn(reason: string, message: string): void {
    if (this.warned.has(reason)) return;
    this.warned.add(reason);
    this.warnFn(`tuning cache ${this.store.where}: ${message}`);
  }

  /** The document, or an empty one when the stored text is missing or unusable (warned). */
  private load(): Promise<TuningDocument> {
    this.doc ??= (async () => {
      const empty: TuningDocument = { schema: TUNING_SCHEMA, adapters: {} };
      let text: string | undefined;
      try {
        text = await this.store.read();
      } catch (e) {
        this.warn('read', `cannot be read (${(e as Error).message}); using default variants`);
        return empty;
      }
      if (text === undefined) return empty;
      let json: unknown;
      try {
        // A byte-order mark (some editors write one) is accepted; the error names the store.
        json = parseJsonText(text, this.store.where);
      } catch (e) {
        this.warn(
          'json',
          `${(e as Error).message.replace(`${this.store.where}: `, '')}; ignored (a sweep will replace it)`,
        );
        return empty;
      }
      if (!isObj(json) || json.schema !== TUNING_SCHEMA || !isObj(json.adapters)) {
        const schema = isObj(json) ? JSON.stringify(json.schema) : 'none';
        this.warn(
          'schema',
          `has schema ${schema}, this code reads schema ${TUNING_SCHEMA}; ignored (a sweep will replace it)`,
        );
        return empty;
      }
      return { schema: TUNING_SCHEMA, adapters: json.adapters as Record<string, AdapterSection> };
    })();
    return this.doc;
  }

  /** The usable entries of one adapter (malformed ones and misfiled sections warned about and skipped). */
  async entries(adapter: string): Promise<TunedEntry[]> {
    const doc = await this.load();
    const section = doc.adapters[adapter];
    if (section === undefined) {
      const others = Object.keys(doc.adapters).length;
      if (others > 0)
        this.warn(
          `others ${adapter}`,
          `has entries for ${others} other adapter(s) only, none for '${adapter}'; using default variants`,
        );
      return [];
    }
    if (!isObj(section) || section.adapter !== adapter || !isObj(section.entries)) {
      this.warn(
        `section ${adapter}`,
        `the section filed under '${adapter}' was written for '${isObj(section) ? String(section.adapter) : '?'}'; ignored`,
      );
      return [];
    }
    const out: TunedEntry[] = [];
    for (const [key, e] of Object.entries(section.entries)) {
      if (validEntry(e) && key === entryKey(e)) out.push(e);
      else this.warn(`entry ${adapter} ${key}`, `entry '${key}' is malformed; ignored`);
    }
    return out;
  }

  /**
   * The best known variant for a shape class on an adapter: the exact class, else the
   * same kernel and base with the nearest rows bucket (log scale; ties to the larger),
   * or, when `rows` is undefined (unknown at creation time), the largest rows bucket.
   * `validate` returns an error message for a variant the kernel cannot use here; such
   * entries are warned about and skipped.
   */
  async lookup(
    adapter: string,
    c: Omit<ShapeClass, 'rows'> & { rows?: number },
    validate: (variant: string) => string | undefined,
  ): Promise<TunedMatch | undefined> {
    const candidates = (await this.entries(adapter)).filter((e) => e.kernel === c.kernel && e.base === c.base);
    const label = (await this.load()).adapters[adapter]?.label;
    const adapterLabel = typeof label === 'string' && label !== '' ? label : adapter;
    const distance = (e: TunedEntry) =>
      c.rows === undefined ? -Math.log2(e.rows) : Math.abs(Math.log2(e.rows) - Math.log2(c.rows));
    candidates.sort((a, b) => distance(a) - distance(b) || b.rows - a.rows);
    for (const e of candidates) {
      const problem = validate(e.variant);
      if (problem === undefined) return { ...e, adapterLabel };
      this.warn(
        `variant ${adapter} ${entryKey(e)}`,
        `entry '${entryKey(e)}' names variant '${e.variant}' (${problem}); ignored`,
      );
    }
    return undefined;
  }

  /** Stores a sweep's winner (read-modify-write: other adapters and classes are kept). */
  async record(adapter: string, label: string, entry: TunedEntry): Promise<void> {
    const doc = await this.load();
    const section = doc.adapters[adapter];
    const keep = isObj(section) && section.adapter === adapter && isObj(section.entries) ? section.entries : {};
    const next: TuningDocument = {
      schema: TUNING_SCHEMA,
      adapters: { ...doc.adapters, [adapter]: { adapter, label, entries: { ...keep, [entryKey(entry)]: entry } } },
    };
    await this.store.write(JSON.stringify(next, null, 2) + '\n');
    this.doc = Promise.resolve(next);
  }
}

/** A store in memory (tests, and wherever nothing persists). */
export function memoryStore(initial?: string): TuningStore & { text: string | undefined } {
  return {
    where: '(in memory)',
    text: initial,
    async read() {
      return this.text;
    },
    async write(text: string) {
      this.text = text;
    },
  };
}

/**
 * A store in memory that hands every write to `onWrite`: a worker's copy of the page's
 * document (workers have no localStorage), whose sweeps travel back to the page that
 * stores them (src/ui/gpu-runner.ts, run-worker.ts).
 */
export function relayStore(
  initial: string | undefined,
  onWrite: (text: string) => void,
  where = '(relayed to the page)',
): TuningStore {
  let text = initial;
  return {
    where,
    async read() {
      return text;
    },
    async write(next: string) {
      text = next;
      onWrite(next);
    },
  };
}

/** A store in the browser's localStorage under `key`. */
export function localStorageStore(storage: Storage, key = 'webgpu-dwdp/tuning'): TuningStore {
  return {
    where: `localStorage['${key}']`,
    async read() {
      return storage.getItem(key) ?? undefined;
    },
    async write(text: string) {
      storage.setItem(key, text);
    },
  };
}
