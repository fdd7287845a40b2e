import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// A CLI exits explicitly (Dawn keeps Node alive); it must not drop what a slow pipe reader has
// not taken yet. `npm run sim -- --json | python3 -m json.tool` once lost everything past 64 KiB.
describe('CLI exit', () => {
  it('exitFlushed delivers all of stdout to a reader that falls behind', async () => {
    const bytes = (1 << 20) + Math.floor(Math.random() * 4096);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./src/cli/args.ts').then(async (m) => { process.stdout.write('x'.repeat(${bytes})); await m.exitFlushed(0); });`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pause(); // the reader is busy: the child's writes back up behind a full pipe
    let got = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((r) => setTimeout(r, 500));
    child.stdout.on('data', (d: Buffer) => (got += d.length));
    child.stdout.resume();
    expect(await done, stderr).toBe(0);
    expect(got).toBe(bytes);
  }, 60_000);

  it('a reader that closes the pipe early drops the output, not the run (no stack trace, exit 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-pipe-'));
    const marker = join(dir, 'finished');
    try {
      // Many writes after the reader has gone: the first failing one raises EPIPE.
      const lines = 20_000 + Math.floor(Math.random() * 1000);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `import('./src/cli/args.ts').then((m) => m.runCli(async () => {
             for (let i = 0; i < ${lines}; i++) { process.stdout.write('line ' + i + '\\n'); if (i % 500 === 0) await new Promise((r) => setTimeout(r, 1)); }
             (await import('node:fs')).writeFileSync(${JSON.stringify(marker)}, 'done');
           }));`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const done = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.stdout.once('data', () => child.stdout.destroy()); // `| head -1`
      expect(await done, stderr).toBe(0);
      expect(stderr).toBe('');
      expect(existsSync(marker), 'the run went on after its reader left').toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
