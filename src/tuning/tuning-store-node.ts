// Node-only: the tuning cache as a JSON file. Default location
// <project root>/.cache/webgpu-dwdp/tuning.json (git-ignored); DWDP_TUNING_CACHE=<path>
// moves it, DWDP_TUNING_CACHE=off disables it. Loaded by tuning-store.ts through a computed
// import so browser bundles never see node:fs.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TuningStore } from './tuning-cache.ts';

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

/** A store in one JSON file; writes go to a temporary file first, then replace it. */
export function fileStore(path: string): TuningStore {
  return {
    where: path,
    async read() {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async write(text: string) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, path);
    },
  };
}
