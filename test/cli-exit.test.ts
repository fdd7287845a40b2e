import { spawn } from 'node:child_process';
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
});
