// Merge-conflict markers left in committed files (part of npm run lint, hence of npm test).
//   npm run lint:markers
// Prettier skips Markdown and WGSL here and tsc reads only TypeScript, so a `<<<<<<< ` line in
// the README or a shader would otherwise land unnoticed. Prints `file:line: marker` per hit and
// exits 1 when there is any. Files: what git tracks (or, outside a git checkout, every file
// under the root except node_modules, dist and results).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SKIP_DIRS = new Set(['node_modules', 'dist', 'results', '.git']);
/** A line that git writes at the start or end of a conflict (the `=======` middle is also valid Markdown). */
const MARKER = /^(<{7}|>{7})( |$)/;

export interface MarkerHit {
  file: string;
  line: number;
  text: string;
}

function listFiles(root: string): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.split('\0').filter((f) => f !== '');
  } catch {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(path.join(root, dir))) {
        if (SKIP_DIRS.has(name)) continue;
        const rel = dir ? `${dir}/${name}` : name;
        if (statSync(path.join(root, rel)).isDirectory()) walk(rel);
        else files.push(rel);
      }
    };
    walk('');
    return files;
  }
}

/** Every conflict-marker line in the text files under `root`. */
export function findConflictMarkers(root = ROOT, files = listFiles(root)): MarkerHit[] {
  const hits: MarkerHit[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(path.join(root, file), 'utf8');
    } catch {
      continue; // deleted in the work tree, or not a readable file
    }
    if (text.includes('\0')) continue; // binary
    text.split('\n').forEach((l, i) => {
      if (MARKER.test(l)) hits.push({ file, line: i + 1, text: l.slice(0, 60) });
    });
  }
  return hits;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const hits = findConflictMarkers();
  for (const h of hits) console.error(`${h.file}:${h.line}: merge-conflict marker: ${h.text}`);
  if (hits.length) {
    console.error(`${hits.length} merge-conflict marker(s): resolve the conflict and remove them`);
    process.exit(1);
  }
}
