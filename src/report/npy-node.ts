// Node-only file helpers around npy.ts: write and read .npy files (the CLIs' --dump).

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeNpy, encodeNpy, type Npy, type NpyArray } from './npy.ts';

/** Write `dir/name.npy` (creating dir); returns the path. `name` may already end in .npy. */
export async function writeNpy(dir: string, name: string, array: NpyArray, shape: readonly number[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name.endsWith('.npy') ? name : `${name}.npy`);
  await writeFile(path, encodeNpy(array, shape));
  return path;
}

export async function readNpy(path: string): Promise<Npy> {
  return decodeNpy(new Uint8Array(await readFile(path)));
}
