// `npm run lab -- <kernel> --json`: stdout is exactly one JSON object with every field other
// tools read; usage errors exit 2 without touching the GPU.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { testSeed } from './seed.ts';

const seed = testSeed();

function lab(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/lab.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DWDP_TUNING_CACHE: 'off' },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FIELDS = [
  'kernel',
  'shape',
  'variant',
  'relErr',
  'medianMs',
  'gflops',
  'ceilingGflops',
  'fractionOfCeiling',
  'adapter',
  'minMs',
  'runs',
  'seed',
  'gbps',
  'ceilingGbps',
  'bound',
  'measured',
];

describe('lab CLI', () => {
  it('expert-gemm --json: one JSON object with every field, rates against the FMA ceiling', () => {
    const r = lab([
      'expert-gemm',
      '--tokens',
      '12',
      '--hidden',
      '32',
      '--expert-hidden',
      '16',
      '--experts',
      '4',
      '--topk',
      '2',
      '--variant',
      'tile:2x2:2x2',
      '--runs',
      '2',
      '--seed',
      String(seed),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines, r.stdout).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    for (const f of FIELDS) expect(j, `field ${f}`).toHaveProperty(f);
    expect(j).toMatchObject({
      kernel: 'expert-gemm',
      variant: 'tile:2x2:2x2',
      seed,
      runs: 2,
      bound: 'compute',
      measured: 'here',
      format: 'f32',
    });
    expect(j.shape).toMatchObject({ tokens: 12, hidden: 32, expertHidden: 16, experts: 4, topK: 2, stage: 'both' });
    expect(j.relErr).toBeLessThan(1e-4);
    expect(j.flops).toBe(2 * 12 * 2 * 3 * 32 * 16);
    for (const f of ['medianMs', 'minMs', 'gflops', 'ceilingGflops', 'fractionOfCeiling'])
      expect(j[f], f).toBeGreaterThan(0);
    expect(j.minMs).toBeLessThanOrEqual(j.medianMs);
    expect(j.gflops).toBeCloseTo(j.flops / j.medianMs / 1e6, 6);
    expect(j.fractionOfCeiling).toBeCloseTo(j.gflops / j.ceilingGflops, 6);
    expect(j.ceilingGbps).toBeNull();
    expect(j.adapter).toMatch(/via/);
  });

  it('permute --json: a memory-bound kernel reports GB/s against the copy ceiling', () => {
    const r = lab([
      'permute',
      '--tokens',
      '21',
      '--experts',
      '5',
      '--topk',
      '2',
      '--runs',
      '1',
      '--seed',
      String(seed),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const f of FIELDS) expect(j, `field ${f}`).toHaveProperty(f);
    expect(j).toMatchObject({ kernel: 'permute', relErr: 0, bound: 'memory', gflops: null, ceilingGflops: null });
    expect(j.gbps).toBeGreaterThan(0);
    expect(j.ceilingGbps).toBeGreaterThan(0);
    expect(j.fractionOfCeiling).toBeCloseTo(j.gbps / j.ceilingGbps, 6);
  });

  it('usage errors exit 2 and name the problem', () => {
    const unknown = lab(['matmul']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown kernel 'matmul'/);
    const typo = lab(['routr']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown kernel 'routr' \(kernels: router, .*calibrate\); try npm run lab -- router\n/);
    // A size past a limit is refused before the device, naming the flags, with exit 2.
    const huge = lab(['router', '--experts', '100000000']);
    expect(huge.code, huge.stderr).toBe(2);
    expect(huge.stderr).toContain('error: router weights (--experts 100000000 × --hidden 512): needs one host array');
    expect(huge.stderr).not.toMatch(/preparing/);
    const r = lab(['router', '--tokens', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tokens must be at least 1/);
    const topk = lab(['expert-gemm', '--experts', '8', '--topk', '9']);
    expect(topk.code).toBe(2);
    expect(topk.stderr).toMatch(/--topk 9: must be at most --experts 8; try --topk 8/);
    expect(topk.stderr).not.toMatch(/preparing/);
    const refused: [string[], string][] = [
      [
        ['calibrate', '--tokens', '5', '--sweep'],
        'calibrate measures its own shapes and reads only --out, --runs, --seed and --json: remove --tokens --sweep',
      ],
      [
        ['router', '--out', 'x.json'],
        '--out is read only by calibrate (a kernel run prints its result; --json for JSON)',
      ],
      [['router', '--seed', '1e20'], '--seed must be at most 4294967295 (got 1e20)'],
      [
        ['attention', '--lengths', '1,,2'],
        "--lengths must be a comma list of non-negative integers, not all zero (got '1,,2')",
      ],
    ];
    for (const [args, message] of refused) {
      const bad = lab(args);
      expect(bad.code, `${args.join(' ')}: ${bad.stderr}`).toBe(2);
      expect(bad.stderr.split('\n')[0]).toBe(`error: ${message}`);
    }
    const sweep = lab(['permute', '--sweep']);
    expect(sweep.code).toBe(2);
    expect(sweep.stderr).toMatch(/no configurations to sweep/);
  });

  it('a bad --variant or --candidates is refused naming the flag, the value and the forms, before the device', () => {
    const cases: [string[], string][] = [
      [
        ['router', '--variant', 'foo'],
        "--variant foo (router): expected 'tb:N', 'fused:tb:N' or 'pt:N' with N a positive integer",
      ],
      [
        ['router', '--variant', 'pt:300'],
        "--variant pt:300 (router): 'pt:300': tokens per workgroup 300 is above 256 (use 'pt:256')",
      ],
      [['attention', '--variant', 'bk:x'], "--variant bk:x (attention): expected 'bk:N'"],
      [['expert-gemm', '--variant', 'sx4:3x4:2x2'], '--variant sx4:3x4:2x2 (expert-gemm): bad GEMM variant'],
      [
        ['permute', '--variant', 'tb:4'],
        '--variant tb:4: permute has no variants (kernels with variants: router, expert-gemm, attention)',
      ],
      [['router', '--sweep', '--candidates', 'tb:1,zz', '--no-record'], "--candidates zz (router): expected 'tb:N'"],
      [['router', '--candidates', 'tb:1'], '--candidates is read only with --sweep'],
      [['router', '--sweep', '--variant', 'tb:1', '--no-record'], '--variant tb:1: a sweep tries every configuration'],
    ];
    for (const [args, message] of cases) {
      const r = lab(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n')[0]).toContain(`error: ${message}`);
      expect(r.stderr, 'refused before the device').not.toMatch(/preparing|sweep router/);
    }
  });

  it("bench:kernels takes --variant default (the format's default) and points a list given to --variant at --variants", () => {
    const bench = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'bench/kernels.ts', ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    // --rounds without --cpu-seconds is refused after --variant is checked: that refusal shows
    // --variant default was accepted, without a run.
    const ok = bench(['--variant', 'default', '--rounds', '3']);
    expect(ok.status, ok.stderr).toBe(2);
    expect(ok.stderr).toContain('error: --rounds applies only with --cpu-seconds');
    const help = bench(['--help']);
    expect(help.stdout).toMatch(/--variant <name\|default>\s+tile variant of each format's checked row/);
    for (const v of ['all', 'sx4:8x4:2x2,sw4:4x8:2x2']) {
      const r = bench(['--variant', v]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(
        `error: --variant ${v}: names one variant (or 'default'); for the rows beside it use --variants ${v}`,
      );
    }
  });

  it('bench:kernels refuses a mistyped shape, a run count past the bound and --check with --write-baseline, before the device', () => {
    const cases: [string[], string][] = [
      [['--shapes', 'benc'], "--shapes: unknown shape 'benc' (known: bench, deep, r1, tiny); try --shapes bench"],
      [['--runs', '1e9'], '--runs must be at most 1000 (got 1e9)'],
      [['--peer-runs', '1001'], '--peer-runs must be at most 1000 (got 1001)'],
      [
        ['--check', '--write-baseline'],
        '--check compares with bench/kernels-baseline.json and --write-baseline replaces it: give one of them',
      ],
      [
        ['--write-baseline', '--variant', 'sx4:8x4:2x2'],
        "--variant sx4:8x4:2x2: --write-baseline times the formats' default variants (the baseline's); drop --variant or give --variant default",
      ],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/kernels.ts', ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(`error: ${message}`);
      expect(r.stdout, 'nothing measured').toBe('');
    }
  });

  it('bench:kernels refuses a bad --formats entry naming the flag, before any device work', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/kernels.ts', '--formats', 'f32,fp4'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--formats: unknown weight format 'fp4' \(valid: f32, int8, fp8, nvfp4, mxfp4\)/);
  });
});
