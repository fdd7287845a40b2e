// Node-only: the tuning cache as a JSON file. Default location
// <project root>/.cache/webgpu-dwdp/tuning.json (git-ignored); DWDP_TUNING_CACHE=<path>
// moves it, DWDP_TUNING_CACHE=off disables it. It registers itself with tuning-store.ts when
// evaluated: Node entries import it (so their bundles contain it), browser builds never do
// (tuning-store.ts reaches it only through a computed import, where nothing registered it).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOutputFile, writeFileAtomic } from '../util/output-path.ts';
import type { TuningStore } from './tuning-cache.ts';
import { provideNodeTuningStore } from './tuning-store.ts';

/** The nearest folder holding a package.json, from this module's folder up (else the working directory). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function defaultTuningPath(): string | undefined {
  const env = process.env.DWDP_TUNING_CACHE;
  if (env === 'off') return undefined;
  return env ? resolve(env) : join(projectRoot(), '.cache', 'webgpu-dwdp', 'tuning.json');
}

/** Where the tuning cache will be written, checked before a sweep spends its measurements on it. */
export function checkTuningPath(path = defaultTuningPath()): void {
  if (path !== undefined) checkOutputFile(`the tuning cache (DWDP_TUNING_CACHE)`, path);
}

/** A store in one JSON file; writes go to a temporary file first, then replace it. */
export function fileStore(path: string): TuningStore {
  return {
    where: path,
    async read() {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return undefined;
        throw new Error(`tuning cache ${path} (DWDP_TUNING_CACHE): cannot read it (${code ?? (e as Error).message})`, {
          cause: e,
        });
      }
    },
    async write(text: string) {
      // Whole or nothing: a temporary file beside it, renamed into place, removed on failure.
      await writeFileAtomic(path, text);
    },
  };
}

provideNodeTuningStore({ defaultTuningPath, fileStore });
