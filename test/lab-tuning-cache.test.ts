// The tuning cache: round trip, approximate rows matching, and survival of a corrupt file,
// a stale schema, unknown variants, malformed entries and other adapters' entries (each
// ignored with one line of warning, never a crash); the grouped GEMM consults it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GroupedExpertGemm, defaultVariant, variantName, variantProblem } from '../src/kernels/expert-gemm.ts';
import { gemmShapeClass } from '../src/tuning/shape-class.ts';
import {
  TUNING_SCHEMA,
  TuningCache,
  adapterKey,
  entryKey,
  memoryStore,
  pow2Bucket,
  variantOriginText,
  type TunedEntry,
} from '../src/tuning/tuning-cache.ts';
import { defaultTuningPath, fileStore, projectRoot } from '../src/tuning/tuning-store-node.ts';
import { defaultTuningCache, setDefaultTuningCache } from '../src/tuning/tuning-store.ts';
import { testGpu } from './gpu-fixture.ts';

const A = 'vendor-a | arch | dev | Adapter A | node';
const B = 'vendor-b | arch | dev | Adapter B | node';
const dir = mkdtempSync(join(tmpdir(), 'lab-tuning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (rows: number, variant: string, base = 'f32 H512 F256'): TunedEntry => ({
  kernel: 'expert-gemm',
  base,
  rows,
  variant,
  medianMs: 10 + rows,
  shape: 'test',
  tried: 3,
  measuredAt: '2026-01-01T00:00:00.000Z',
});
const cls = (rows?: number) => ({ kernel: 'expert-gemm', base: 'f32 H512 F256', rows });
const anyVariant = () => undefined;

function withWarnings(text?: string) {
  const warnings: string[] = [];
  const store = memoryStore(text);
  return { store, warnings, cache: new TuningCache(store, { warn: (m) => warnings.push(m) }) };
}

function doc(adapters: Record<string, unknown>, schema = TUNING_SCHEMA): string {
  return JSON.stringify({ schema, adapters });
}

describe('tuning cache', () => {
  it('round-trips a recorded entry through its store, keeping other adapters', async () => {
    const first = withWarnings(
      doc({ [B]: { adapter: B, entries: { [entryKey(entry(8, 'tile:4x4:8x8'))]: entry(8, 'tile:4x4:8x8') } } }),
    );
    await first.cache.record(A, 'adapter A', entry(32, 'sx4:8x4:2x2'));
    const again = withWarnings(first.store.text);
    expect(await again.cache.lookup(A, cls(32), anyVariant)).toMatchObject({ variant: 'sx4:8x4:2x2', rows: 32 });
    expect(await again.cache.lookup(B, cls(8), anyVariant)).toMatchObject({ variant: 'tile:4x4:8x8' });
    expect(again.warnings).toEqual([]);
    // Recording the same class again replaces it.
    await again.cache.record(A, 'adapter A', entry(32, 'sw4:4x8:2x2'));
    expect(await withWarnings(again.store.text).cache.lookup(A, cls(32), anyVariant)).toMatchObject({
      variant: 'sw4:4x8:2x2',
    });
  });

  it('matches rows exactly, else the nearest bucket, else (rows unknown) the largest', async () => {
    const { cache } = withWarnings();
    for (const [rows, v] of [
      [4, 'v4'],
      [32, 'v32'],
      [128, 'v128'],
    ] as const)
      await cache.record(A, 'A', entry(rows, v));
    await cache.record(A, 'A', entry(64, 'other base', 'f32 H512 F512'));
    const pick = async (rows?: number) => (await cache.lookup(A, cls(rows), anyVariant))?.variant;
    expect(await pick(32)).toBe('v32');
    expect(await pick(8)).toBe('v4'); // log2 distance 1 vs 2
    expect(await pick(64)).toBe('v128'); // tie (1 vs 1): the larger bucket
    expect(await pick(1024)).toBe('v128');
    expect(await pick(undefined)).toBe('v128');
    expect(await cache.lookup(A, { kernel: 'expert-gemm', base: 'int8 H512 F256' }, anyVariant)).toBeUndefined();
    expect(await cache.lookup(A, { kernel: 'router', base: 'f32 H512 F256' }, anyVariant)).toBeUndefined();
  });

  it('survives a corrupt file: warns once, falls back, and a later record replaces it', async () => {
    const path = join(dir, 'corrupt', 'tuning.json');
    const store = fileStore(path);
    await store.write('{"schema": 1, "adapters": {'); // truncated write
    const warnings: string[] = [];
    const cache = new TuningCache(store, { warn: (m) => warnings.push(m) });
    expect(await cache.lookup(A, cls(32), anyVariant)).toBeUndefined();
    expect(await cache.lookup(A, cls(8), anyVariant)).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not valid JSON/);
    expect(warnings[0]).toContain(path);
    expect(warnings[0]).not.toMatch(/\n/);
    await cache.record(A, 'A', entry(32, 'tile:4x4:8x8'));
    expect(JSON.parse(readFileSync(path, 'utf8')).schema).toBe(TUNING_SCHEMA);
    expect(
      await new TuningCache(store, { warn: (m) => warnings.push(m) }).lookup(A, cls(32), anyVariant),
    ).toMatchObject({ variant: 'tile:4x4:8x8' });
    expect(warnings).toHaveLength(1);
  });

  it('reads a document with a byte-order mark; a bad one is named with the JSON error', async () => {
    const text = doc({
      [A]: { adapter: A, label: 'Adapter A', entries: { [entryKey(entry(8, 'v8'))]: entry(8, 'v8') } },
    });
    const bom = withWarnings('\ufeff' + text);
    expect(await bom.cache.lookup(A, cls(8), anyVariant)).toMatchObject({ variant: 'v8', adapterLabel: 'Adapter A' });
    expect(bom.warnings).toEqual([]);
    const path = join(dir, 'bad', 'tuning.json');
    await fileStore(path).write('\ufeff' + text.slice(0, -1) + ',}');
    const warnings: string[] = [];
    const bad = new TuningCache(fileStore(path), { warn: (m) => warnings.push(m) });
    expect(await bad.lookup(A, cls(8), anyVariant)).toBeUndefined();
    expect(warnings).toHaveLength(1);
    // The store's name once, the parser's reason, what happens next.
    expect(warnings[0]).toMatch(/\); ignored \(a sweep will replace it\)$/);
    expect(warnings[0].startsWith(`tuning cache ${path}: not valid JSON (`), warnings[0]).toBe(true);
    expect(warnings[0].split(path)).toHaveLength(2);
  });

  it("a lookup names the adapter and date of the sweep behind it; the origin reads 'tuned here on … at …'", async () => {
    const { cache } = withWarnings();
    await cache.record(A, 'Adapter A (label)', { ...entry(8, 'v8'), measuredAt: '2026-03-04T05:06:07.000Z' });
    const m = await cache.lookup(A, cls(8), anyVariant);
    expect(m).toMatchObject({
      variant: 'v8',
      adapterLabel: 'Adapter A (label)',
      measuredAt: '2026-03-04T05:06:07.000Z',
    });
    const origin = { source: 'tuned' as const, adapter: m!.adapterLabel, measuredAt: m!.measuredAt, store: 'x' };
    expect(variantOriginText(origin)).toBe('tuned here on Adapter A (label) at 2026-03-04 05:06 UTC');
    expect(variantOriginText({ source: 'default' })).toBe('default for this adapter');
    // A section without a label is named by its key.
    const unlabeled = withWarnings(
      doc({ [B]: { adapter: B, entries: { [entryKey(entry(8, 'v8'))]: entry(8, 'v8') } } }),
    );
    expect((await unlabeled.cache.lookup(B, cls(8), anyVariant))?.adapterLabel).toBe(B);
  });

  it('ignores a stale schema, a non-object document and a missing file', async () => {
    for (const text of [
      doc({ [A]: { adapter: A, entries: { [entryKey(entry(32, 'x'))]: entry(32, 'x') } } }, 0),
      '[1, 2]',
      '"tuning"',
      'null',
    ]) {
      const { cache, warnings } = withWarnings(text);
      expect(await cache.lookup(A, cls(32), anyVariant)).toBeUndefined();
      expect(warnings, text).toHaveLength(1);
      expect(warnings[0]).toMatch(/schema/);
    }
    const missing = new TuningCache(fileStore(join(dir, 'nothing', 'here.json')), {
      warn: () => expect.unreachable('no warning for a missing file'),
    });
    expect(await missing.lookup(A, cls(32), anyVariant)).toBeUndefined();
  });

  it('ignores unknown variants (warned), using the next valid entry', async () => {
    const gpu = await testGpu();
    const { cache, warnings } = withWarnings();
    await cache.record(A, 'A', entry(32, 'tile:9x:1x1'));
    await cache.record(A, 'A', entry(16, 'tile:4x4:8x8'));
    const validate = (v: string) => variantProblem(gpu, v);
    expect(await cache.lookup(A, cls(32), validate)).toMatchObject({ variant: 'tile:4x4:8x8' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/tile:9x:1x1/);
    await cache.record(A, 'A', entry(16, 'warp32:1x1:1x1'));
    expect(await cache.lookup(A, cls(32), validate)).toBeUndefined();
  });

  it("ignores another adapter's entries, misfiled sections and malformed entries (warned)", async () => {
    const good = entry(32, 'tile:4x4:8x8');
    const onlyB = withWarnings(doc({ [B]: { adapter: B, entries: { [entryKey(good)]: good } } }));
    expect(await onlyB.cache.lookup(A, cls(32), anyVariant)).toBeUndefined();
    expect(onlyB.warnings).toHaveLength(1);
    expect(onlyB.warnings[0]).toMatch(/other adapter/);

    const misfiled = withWarnings(doc({ [A]: { adapter: B, entries: { [entryKey(good)]: good } } }));
    expect(await misfiled.cache.lookup(A, cls(32), anyVariant)).toBeUndefined();
    expect(misfiled.warnings[0]).toMatch(/written for/);
    // Recording under A replaces the misfiled section.
    await misfiled.cache.record(A, 'A', good);
    expect(await withWarnings(misfiled.store.text).cache.lookup(A, cls(32), anyVariant)).toMatchObject({
      variant: good.variant,
    });

    const bad = { ...good, rows: 'many' };
    const mixed = withWarnings(
      doc({
        [A]: {
          adapter: A,
          entries: {
            'expert-gemm f32 H512 F256 R8': bad,
            [entryKey(good)]: good,
            'wrong key': entry(4, 'tile:2x2:2x2'),
          },
        },
      }),
    );
    expect(await mixed.cache.lookup(A, cls(8), anyVariant)).toMatchObject({ rows: 32 });
    expect(mixed.warnings).toHaveLength(2);
    expect(mixed.warnings.every((w) => /malformed/.test(w))).toBe(true);
  });

  it('buckets shapes by powers of two (format, H, F exact buckets; rows per expert approximate)', () => {
    expect([1, 2, 3, 5, 6, 40, 48, 512, 0.3].map(pow2Bucket)).toEqual([1, 2, 4, 4, 8, 32, 64, 512, 1]);
    expect(
      gemmShapeClass({ format: 'nvfp4', hidden: 7168, expertHidden: 2048, tokens: 8192, topK: 8, experts: 256 }),
    ).toEqual({ kernel: 'expert-gemm', base: 'nvfp4 H8192 F2048', rows: 256 });
  });

  it('the grouped GEMM takes the cached variant when given none, else its default', async () => {
    const gpu = await testGpu();
    const warnings: string[] = [];
    const cache = new TuningCache(memoryStore(), { warn: (m) => warnings.push(m) });
    const params = {
      hidden: 36,
      expertHidden: 20,
      experts: 5,
      format: 'f32' as const,
      rowsPerExpert: (13 * 2) / 5,
    };
    await cache.record(adapterKey(gpu.info), 'here', {
      ...gemmShapeClass({ ...params, tokens: 13, topK: 2 }),
      variant: 'tile:2x2:2x2',
      medianMs: 1,
      shape: 'test',
      tried: 2,
      measuredAt: '2026-02-03T04:05:06.000Z',
    });
    setDefaultTuningCache(cache);
    try {
      const tuned = await GroupedExpertGemm.create(gpu, params);
      expect([variantName(tuned.variant), tuned.variantSource]).toEqual(['tile:2x2:2x2', 'tuned']);
      expect(tuned.origin).toEqual({
        source: 'tuned',
        adapter: 'here',
        measuredAt: '2026-02-03T04:05:06.000Z',
        store: cache.store.where,
      });
      tuned.destroy();
      const given = await GroupedExpertGemm.create(gpu, { ...params, variant: 'naive' });
      expect([variantName(given.variant), given.variantSource]).toEqual(['naive', 'given']);
      given.destroy();
      const forced = await GroupedExpertGemm.create(gpu, { ...params, variant: 'default' });
      expect([variantName(forced.variant), forced.variantSource]).toEqual([
        variantName(defaultVariant(gpu, 'f32', params.rowsPerExpert)),
        'default',
      ]);
      forced.destroy();
      // Another class (H 64) has no entry: default, no warning.
      const other = await GroupedExpertGemm.create(gpu, { ...params, hidden: 64, variant: 'auto' });
      expect(other.variantSource).toBe('default');
      other.destroy();
      expect(warnings).toEqual([]);
    } finally {
      setDefaultTuningCache(null);
    }
  });

  it('a corrupt default cache file never stops a GEMM from being created', async () => {
    const gpu = await testGpu();
    const path = join(dir, 'default', 'tuning.json');
    const store = fileStore(path);
    await store.write('\u0000garbage');
    const warnings: string[] = [];
    setDefaultTuningCache(new TuningCache(store, { warn: (m) => warnings.push(m) }));
    try {
      const gemm = await GroupedExpertGemm.create(gpu, {
        hidden: 36,
        expertHidden: 20,
        experts: 5,
        format: 'f32',
        variant: undefined,
      });
      expect(gemm.variantSource).toBe('default');
      gemm.destroy();
      expect(warnings).toHaveLength(1);
    } finally {
      setDefaultTuningCache(null);
    }
  });

  it("Node's default store: <project>/.cache/webgpu-dwdp/tuning.json, moved or disabled by DWDP_TUNING_CACHE", async () => {
    const saved = process.env.DWDP_TUNING_CACHE;
    try {
      delete process.env.DWDP_TUNING_CACHE;
      expect(defaultTuningPath()).toBe(join(projectRoot(), '.cache', 'webgpu-dwdp', 'tuning.json'));
      process.env.DWDP_TUNING_CACHE = join(dir, 'env', 'tuning.json');
      setDefaultTuningCache(null);
      expect((await defaultTuningCache())?.store.where).toBe(join(dir, 'env', 'tuning.json'));
      process.env.DWDP_TUNING_CACHE = 'off';
      setDefaultTuningCache(null);
      expect(await defaultTuningCache()).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.DWDP_TUNING_CACHE;
      else process.env.DWDP_TUNING_CACHE = saved;
      setDefaultTuningCache(null);
    }
  });
});
