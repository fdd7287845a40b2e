// Output paths, checked before the work that fills them. Every tool that writes a file or a
// folder (--dump, --trace, --out, the tuning cache) calls checkOutputFile / checkOutputDir
// first, so a path that cannot be written is refused in milliseconds, naming the flag and the
// path, instead of after minutes of measurements with a raw errno. Writes then go through
// writeFileAtomic: a temporary file beside the target, renamed into place, so a reader never
// sees half a file and a failure leaves nothing behind. Node only.
import { accessSync, constants, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** An output path that cannot be written; `flag` is the option (or setting) that named it. */
export class OutputPathError extends Error {
  override name = 'OutputPathError';
  constructor(
    readonly flag: string,
    readonly path: string,
    detail: string,
  ) {
    super(`${flag} ${path}: ${detail}`);
  }
}

type Kind = 'file' | 'dir' | 'missing' | 'other';

function kindOf(path: string): Kind {
  try {
    const s = statSync(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'missing'; // an ancestor is a file: reported by the ancestor walk
    throw e;
  }
}

/** Whether files can be created in `dir`: a probe file is created and removed (permission bits lie to root). */
function writableDir(dir: string): string | undefined {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    const probe = join(dir, `.write-probe-${process.pid}-${Date.now()}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '')}` : err.message;
  }
}

/**
 * The folder that would hold `path` once missing folders are created: the nearest existing
 * ancestor must be a folder we can write in.
 */
function checkCreatable(flag: string, path: string): void {
  let dir = dirname(path);
  for (;;) {
    const k = kindOf(dir);
    if (k === 'dir') break;
    if (k === 'file' || k === 'other') throw new OutputPathError(flag, path, `'${dir}' is a file, not a folder`);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const why = writableDir(dir);
  if (why) throw new OutputPathError(flag, path, `cannot write in the folder '${dir}' (${why})`);
}

/** An output file: absent (its folders are created when written) or an existing file we may replace. */
export function checkOutputFile(flag: string, path: string): string {
  const abs = resolve(path);
  const k = kindOf(abs);
  if (k === 'dir') throw new OutputPathError(flag, path, 'is a folder; name a file (e.g. a .json inside it)');
  if (k === 'other') throw new OutputPathError(flag, path, 'is not a regular file');
  checkCreatable(flag, abs);
  return abs;
}

/** An output folder: absent (created when written) or an existing folder we can write in. */
export function checkOutputDir(flag: string, path: string): string {
  const abs = resolve(path);
  const k = kindOf(abs);
  if (k === 'file' || k === 'other') throw new OutputPathError(flag, path, 'is a file, not a folder; name a folder');
  if (k === 'dir') {
    const why = writableDir(abs);
    if (why) throw new OutputPathError(flag, path, `cannot write in this folder (${why})`);
    return abs;
  }
  checkCreatable(flag, abs);
  return abs;
}

/** Writes `path` whole or not at all: missing folders created, a temporary file beside it renamed into place. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** mkdir -p that names the flag when the folder cannot be made. */
export function makeOutputDir(flag: string, path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    throw new OutputPathError(flag, path, (e as Error).message);
  }
}
