// `npm run bench` on interrupts and bad paths: a folder holds a complete result or nothing,
// and no Chromium (or any other child) outlives the bench. DWDP_BENCH_PAUSE=<phase> stops
// the bench at a named phase, so the signal lands exactly there.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findBrowser } from '../bench/browser.ts';

const browser = await findBrowser().catch(() => null);
const dir = mkdtempSync(join(tmpdir(), 'dwdp-bench-'));
// A modeled scenario: no WebGPU, a few seconds of page work.
const scenario = join(dir, 'quick.json');
writeFileSync(
  scenario,
  JSON.stringify({
    name: 'quick',
    description: 'modeled DEP vs DWDP, one point',
    fields: { source: 'modeled', strategies: 'dep,dwdp', ranks: 4, tokens: 1024, requests: 1 },
  }),
);

const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const c of spawned) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Every live descendant of `pid` (from /proc; zombies count as gone). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parent.set(Number(e), Number(fields[1]));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Descendants seen when the signal was sent (the browser among them). */
  children: number[];
}

/** Runs the bench; with `pause`, sends `signal` once it reports that phase. */
function bench(args: string[], pause?: { phase: string; signal: NodeJS.Signals }): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--scenario', scenario, ...args], {
    env: { ...process.env, ...(pause ? { DWDP_BENCH_PAUSE: pause.phase } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let stdout = '';
  let stderr = '';
  let children: number[] = [];
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (pause && stdout.includes(`paused at ${pause.phase}\n`) && children.length === 0) {
      children = descendants(child.pid!);
      child.kill(pause.signal);
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr, children })));
}

/** Waits (up to 10 s) for every process in `pids` to be gone. */
async function allGone(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

const partials = () => readdirSync(dir).filter((f) => f.includes('.partial-'));

describe.skipIf(!browser)('bench interrupts and output paths', () => {
  it('SIGINT right after the browser starts: exit 130, no folder, no Chromium left', async () => {
    const out = join(dir, 'a');
    const r = await bench(['--out', out], { phase: 'browser', signal: 'SIGINT' });
    expect(r.code, r.stderr).toBe(130);
    expect(r.children.length).toBeGreaterThan(0); // the browser was running when the signal came
    expect(await allGone(r.children)).toEqual([]);
    expect(existsSync(out)).toBe(false);
    expect(partials()).toEqual([]);
    expect(r.stderr).toContain(`interrupted: nothing written (${out} was not created)`);
  }, 120_000);

  it('SIGTERM during the write phase keeps an earlier result whole; a full run then replaces it whole', async () => {
    const out = join(dir, 'b');
    mkdirSync(out);
    writeFileSync(join(out, 'results.json'), '{"earlier": true}\n');
    writeFileSync(join(out, 'page.png'), 'earlier');
    const r = await bench(['--out', out], { phase: 'write', signal: 'SIGTERM' });
    expect(r.code, r.stderr).toBe(143);
    expect(await allGone(r.children)).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(['page.png', 'results.json']);
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe('{"earlier": true}\n');
    expect(partials()).toEqual([]);
    expect(r.stderr).toContain(`interrupted: nothing written; ${out} still holds its earlier results`);

    // A broken baseline file is not read without --check / --update-baseline.
    const broken = join(dir, 'broken-baseline.json');
    writeFileSync(broken, '{ not json');
    const full = await bench(['--out', out, '--baseline', broken]);
    expect(full.code, full.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['page.png', 'results.json', 'summary.md', 'trace.json']);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Record<string, unknown>;
    expect(results.earlier).toBeUndefined();
    expect(full.stdout).toContain('(replacing the earlier results)');
    expect(partials()).toEqual([]);
  }, 240_000);

  it('bad --out and baseline files are refused before the browser starts, naming the flag and the file', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--scenario', scenario, ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    let r = run(['--out', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--out ${file}: is a file, not a folder`);
    expect(r.stdout).not.toMatch(/browser:/);

    const foreign = join(dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    r = run(['--out', foreign]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/holds files a bench run does not write \(notes\.txt\)/);

    const broken = join(dir, 'broken.json');
    writeFileSync(
      broken,
      '\uFEFF{ "defaultTolerance": 0.2, "scenarios": { "quick": { "ratios": { "x": { "value": "1" } } } } }',
    );
    r = run(['--check', '--baseline', broken]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--baseline ${broken}: 'scenarios.quick.ratios.x.value' must be a non-zero number`);
    writeFileSync(broken, '{ "defaultTolerance": 0.2, "scenarios": {} }');
    r = run(['--check', '--baseline', broken]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`has no ratios for scenario 'quick'`);
    expect(r.stdout).not.toMatch(/browser:/);
    expect(readdirSync(foreign)).toEqual(['notes.txt']);
  }, 120_000);
});
