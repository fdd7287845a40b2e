// `npm run moe -- --ranks N`: the link line's arithmetic holds (configured GB/s × the factor
// printed = the KB/s printed) and its factor is the one the scale model reports applying; a
// trace it writes is named in the output.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testSeed } from './seed.ts';

const seed = testSeed();

describe(`moe group run, printed link (seed ${seed})`, () => {
  it('prints the factor the link was scaled by, GB/s × factor = the KB/s it prints, and where the trace went', () => {
    const args = ['--model', 'tiny-qwen3', '--ranks', '2', '--layers', '1', '--tokens', '16', '--seed', String(seed)];
    const trace = join(mkdtempSync(join(tmpdir(), 'moe-group-cli-')), 'group.json');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/moe.ts', ...args, '--link-gbps', '450', '--trace', trace],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const line = /^link: 450 GB\/s × (\S+) \(([^)]*)\) = (\S+) KB\/s/m.exec(r.stdout);
    expect(line, r.stdout).not.toBeNull();
    const [, factor, why, kbps] = line!;
    expect(why).toMatch(/^the scale model's compute : pull factor, below; GEMM measured here/);
    // Both are rounded as printed: the factor to 3 significant digits (half a unit of its last digit,
    // 0.005 of its mantissa), the KB/s to 0.1; the product agrees within the two roundings.
    const mantissa = Number(factor.split('e')[0]);
    const bound = 0.005 / mantissa + 0.05 / Number(kbps);
    expect(Math.abs((450 * Number(factor) * 1e6) / Number(kbps) - 1)).toBeLessThanOrEqual(bound * 1.0001);
    const scale = /^ {2}link ×(\S+): compute : pull/m.exec(r.stdout);
    expect(scale, r.stdout).not.toBeNull();
    expect(Number(scale![1])).toBe(Number(factor));
    expect(r.stdout).toContain(`trace: wrote ${trace} (open it in ui.perfetto.dev)`);
    expect(existsSync(trace)).toBe(true);
  });
});
