// The tuning cache from a bundled Node entry, as bench/gpu/bundle.sh builds the lab and
// bench:kernels for a machine without Node: an entry bundled with esbuild (one file, no
// source tree beside it) that imports the Node file store records a sweep's winner into
// DWDP_TUNING_CACHE, and a second bundled process finds it. A bundle without the store fails
// loudly, naming what is missing, instead of recording nothing. And the two real entries the
// GPU bundle is made of have the store in their graphs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { TUNING_SCHEMA, entryKey, type TunedEntry } from '../src/tuning/tuning-cache.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;
const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'tuning-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The entry: record (argv: record, adapter, entry JSON) or look up (lookup, adapter, entry JSON)
// through the process-wide cache, exactly as the lab's sweep and the kernels reach it.
const ENTRY = (withStore: boolean) => `
${withStore ? "import './src/tuning/tuning-store-node.ts';" : ''}
import { recordingTuningCache } from './src/tuning/tuning-store.ts';
const [mode, adapter, json] = process.argv.slice(2);
const entry = JSON.parse(json);
const cache = await recordingTuningCache();
if (!cache) throw new Error('no tuning cache');
if (mode === 'record') await cache.record(adapter, adapter, entry);
const found = await cache.lookup(adapter, { kernel: entry.kernel, base: entry.base, rows: entry.rows }, () => undefined);
process.stdout.write(JSON.stringify({ where: cache.store.where, found: found ?? null }));
`;

async function bundle(name: string, withStore: boolean): Promise<string> {
  const outfile = join(dir, name, 'entry.mjs'); // a folder of its own: nothing resolves beside it
  await build({
    stdin: { contents: ENTRY(withStore), resolveDir: root, sourcefile: `${name}.ts`, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

function run(file: string, cachePath: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [file, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, DWDP_TUNING_CACHE: cachePath },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function randomEntry(rng: Rng): TunedEntry {
  const rows = 2 ** (1 + rng.int(9));
  return {
    kernel: 'expert-gemm',
    base: `f32 H${64 * (1 + rng.int(64))} F${32 * (1 + rng.int(64))}`,
    rows,
    variant: `tile:${1 + rng.int(8)}x${1 + rng.int(8)}:${8 * (1 + rng.int(4))}x8`,
    medianMs: rng.uniform(0.01, 100),
    shape: `random ${rng.int(1e6)}`,
    tried: 1 + rng.int(40),
    measuredAt: new Date(Date.UTC(2026, rng.int(12), 1 + rng.int(28))).toISOString(),
  };
}

describe('the tuning cache from a bundled Node entry', () => {
  it('records a winner into DWDP_TUNING_CACHE and a second bundled process finds it', async () => {
    const rng = new Rng(seed);
    const file = await bundle('with-store', true);
    const cachePath = join(dir, 'cache', 'tuning.json'); // its folder does not exist yet
    const adapter = `vendor-${rng.int(1000)} | arch | dev | Adapter | node`;
    const entry = randomEntry(rng);

    const first = run(file, cachePath, 'record', adapter, JSON.stringify(entry));
    expect(first.status, `${first.stderr} ${at}`).toBe(0);
    expect(existsSync(cachePath), at).toBe(true);
    const stored = JSON.parse(readFileSync(cachePath, 'utf8'));
    expect(stored.schema, at).toBe(TUNING_SCHEMA);
    expect(stored.adapters[adapter].entries[entryKey(entry)], at).toEqual(entry);

    const second = run(file, cachePath, 'lookup', adapter, JSON.stringify(entry));
    expect(second.status, `${second.stderr} ${at}`).toBe(0);
    const out = JSON.parse(second.stdout);
    expect(out.where, at).toBe(cachePath);
    expect(out.found, at).toEqual({ ...entry, adapterLabel: adapter });
    expect(second.stderr, at).toBe('');
  });

  it('fails loudly, naming the missing store, where a bundle lacks it', async () => {
    const rng = new Rng(seed).fork('missing');
    const file = await bundle('without-store', false);
    const cachePath = join(dir, 'never', 'tuning.json');
    const r = run(file, cachePath, 'record', 'vendor | arch | dev | Adapter | node', JSON.stringify(randomEntry(rng)));
    expect(r.status, at).not.toBe(0);
    expect(r.stderr, at).toContain('the sweep cannot record its winner');
    expect(r.stderr, at).toContain('tuning-store-node.ts');
    expect(existsSync(cachePath), at).toBe(false);
  });

  it('has the store in the graphs of the bundled lab and bench:kernels', async () => {
    for (const entry of ['src/cli/lab.ts', 'bench/kernels.ts']) {
      const r = await build({
        entryPoints: [join(root, entry)],
        bundle: true,
        platform: 'node',
        format: 'esm',
        external: ['webgpu'],
        write: false,
        metafile: true,
        outdir: join(dir, 'graph'),
        absWorkingDir: root,
        logLevel: 'silent',
      });
      expect(Object.keys(r.metafile.inputs), entry).toContain('src/tuning/tuning-store-node.ts');
    }
  });
});
