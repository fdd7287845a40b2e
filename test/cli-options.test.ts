// The moe, sim and bench CLIs refuse bad and unread options with exit 2 and one message naming
// the flag (or the scenario file and key), before any GPU or model work; a mistyped name gets
// the nearest valid one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../src/model/index.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();

function cli(script: string, args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// [arguments, the message's first line]
const MOE: [string[], string][] = [
  [['--strategy', 'dep', '--dwdp-local', '4'], '--dwdp-local 4: is read only by dwdp, and the strategy is dep'],
  [['--strategy', 'dp', '--contention-fix', 'off'], '--contention-fix off: is read only by dwdp'],
  [['--strategy', 'dp', '--link-gbps', '10'], '--link-gbps 10: is read only by dep, dwdp, and the strategy is dp'],
  [['--prefetch', 'off', '--prefetch-depth', '3'], '--prefetch-depth 3: is read only with --prefetch on'],
  [['--seed', '1e20'], '--seed 1e20: must be an integer from 0 to 4294967295'],
  [['--variant', 'foo'], "--variant: bad GEMM variant 'foo' (expected 'naive',"],
  [
    ['--ranks', '2', '--variant', 'sx4:3x4:2x2'],
    '--variant: bad GEMM variant sx4:3x4:2x2: sx4 rows must be a multiple of 4',
  ],
  [['--ranks', '2.5'], '--ranks 2.5: must be an integer from 1 to 64'],
  [['--ranks', '4', '--tokens', '8', '--requests', '9'], '--requests 9: cannot exceed --tokens (8)'],
  [['--ranks', '4', '--runs', '3'], '--runs is read only by single-layer runs'],
  // The kernel's words 'auto' and 'default' pass the early --variant check (the next refusal shows it).
  [['--variant', 'auto', '--ranks', '4', '--runs', '3'], '--runs is read only by single-layer runs'],
  [['--variant', 'default', '--ranks', '4', '--runs', '3'], '--runs is read only by single-layer runs'],
  [['--model', 'tiny-mixtral', '--dwdp-local', '4'], '--dwdp-local 4: makes no DWDP placement for E=8, N=4'],
  [['--link-gbps', '0'], '--link-gbps 0: must be a positive number of GB/s'],
  [['--tokens', 'abc'], '--tokens abc: must be a number'],
  [['--modle', 'tiny-mixtral'], 'unknown option --modle; try --model; known options: --model --set'],
  [
    ['--model', 'deepseek-r1', '--tokens', '1048576'],
    'the token rows for --tokens 1048576 (hidden_size=7168): needs one host array of 7.516e+9 elements',
  ],
  [['--model', 'zzz'], "--model zzz: 'zzz' is neither a preset nor a path to a config.json; presets: deepseek-r1,"],
  [
    ['--model', 'no-such-dir/config.json'],
    '--model no-such-dir/config.json: cannot read no-such-dir/config.json: ENOENT',
  ],
  [['--set', 'hidden_size=abc'], '--set hidden_size=abc: expected a number (the config has'],
  [['--set', 'hiden_size=64'], '--set hiden_size=64: unknown key: not in the config.json and not read for model_type'],
  [['--model', 'tiny-mixtral', '--set', 'num_experts_per_tok=99'], '--set num_experts_per_tok=99: top-k 99 exceeds'],
];

describe('npm run moe refuses bad options by flag', () => {
  for (const [args, message] of MOE) {
    it(args.join(' '), () => {
      const r = cli('src/cli/moe.ts', args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.split('\n')[0]).toContain(`error: ${message}`);
      expect(r.stdout).toBe('');
    });
  }
  it('a mistyped --model names the flag and proposes the nearest preset', () => {
    for (const [typo, preset] of [
      ['tiny-deepsek', 'tiny-deepseek'],
      ['deepseek-r2', 'deepseek-r1'],
      ['Tiny-Mixtral', 'tiny-mixtral'],
    ]) {
      const r = cli('src/cli/moe.ts', ['--model', typo]);
      expect(r.code, r.stderr).toBe(2);
      const line = r.stderr.split('\n')[0];
      expect(line).toMatch(
        new RegExp(`^error: --model ${typo}: '${typo}' is neither a preset nor a path to a config\\.json; presets: `),
      );
      expect(line.endsWith(`; try --model ${preset}`), line).toBe(true);
    }
  });
  it('derives --help from the option table', () => {
    const r = cli('src/cli/moe.ts', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /--dwdp-local <n>\s+Experts each rank holds .*\(dwdp only; an integer from 1 to 65536, default: automatic\)/,
    );
    expect(r.stdout).toMatch(/--seed <n>\s+.*an integer from 0 to 4294967295, default 1/);
  });
});

describe('npm run sim refuses bad options and scenario files by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  const file = (name: string, json: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(json));
    return p;
  };
  const cases: [string[], string][] = [
    [
      ['--scenario', 'r1-isl-sweep', '--this-device-gflops', '5'],
      '--this-device-gflops is read only with --profile this-device',
    ],
    [['--list', '--json'], '--list reads no other option: remove --json'],
    [['--scenario', 'r1-isl-sweep', '--profile', 'tpu'], "--profile tpu: unknown hardware profile 'tpu'"],
    [
      ['--scenario', 'r1-isl-sweep', '--profile', 'gb200-nvl27'],
      'or this-device with measured numbers); try --profile gb200-nvl72',
    ],
    [['--scenaro', 'r1-isl-sweep'], 'unknown option --scenaro; try --scenario; known options:'],
    [
      ['--scenario', 'r1-e2e-pareto', '--profile', 'h100-hgx'],
      'built-in scenario r1-e2e-pareto: scenario.e2e.genEp: 8 generation GPUs leave no room for one context unit of 4 in 8 GPUs ' +
        '(--profile h100-hgx: 8 GPUs per NVLink domain)',
    ],
    [['--calibrate', 'x.json', '--scenario', 'r1-isl-sweep'], '--calibrate reads only its file'],
    [
      ['--scenario', file('gemm0.json', { base: { efficiency: { gemm: 0 } } })],
      'gemm0.json: scenario.base.efficiency.gemm 0: must be a number above 0 and at most 1',
    ],
    [['--scenario', file('link0.json', { rows: [{ linkGBps: 0 }] })], 'link0.json: scenario.rows[0].linkGBps 0:'],
    [
      ['--scenario', file('rack.json', { mode: 'serving', base: { ranks: 70, groupSize: 4 } })],
      'rack.json: scenario.base.ranks 70: is not a whole number of groups of scenario.base.groupSize 4; try scenario.base.ranks 72',
    ],
    [
      ['--scenario', file('huge.json', { base: { groupSize: 64, steps: 100 } })],
      'huge.json: scenario.base.steps 100: asks for',
    ],
    [
      ['--scenario', file('unknown.json', { base: { isll: 1 } })],
      'unknown.json: scenario.base.isll is not a parameter',
    ],
  ];
  // An output path under a file cannot be created (as root too): refused before the run, exit 2.
  const notAFolder = file('not-a-folder', {});
  cases.push(
    [
      ['--scenario', 'r1-isl-sweep', '--trace', join(notAFolder, 't.json')],
      `--trace ${join(notAFolder, 't-dep.json')}: '${notAFolder}' is a file, not a folder`,
    ],
    [
      ['--scenario', 'r1-e2e-pareto', '--export-trtllm', join(notAFolder, 'out')],
      `--export-trtllm ${join(notAFolder, 'out')}: '${notAFolder}' is a file, not a folder`,
    ],
    [
      ['--scenario', 'r1-e2e-pareto', '--export-trtllm', notAFolder],
      `--export-trtllm ${notAFolder}: is a file, not a folder`,
    ],
  );
  it(`--profile this-device says its rates came from the flags, not from a measurement (seed ${seed})`, () => {
    const rng = new Rng(seed);
    const gflops = String(Number(rng.uniform(0.5, 500).toPrecision(3)));
    const gbps = String(Number(rng.uniform(0.5, 500).toPrecision(3)));
    const r = cli('src/cli/sim.ts', [
      ...['--scenario', 'r1-isl-sweep', '--profile', 'this-device'],
      ...['--this-device-gflops', gflops, '--this-device-copy-gbps', gbps],
    ]);
    expect(r.code, r.stderr).toBe(0);
    const head = r.stdout.split('\n')[0];
    expect(head).toContain(
      `profile: this device: ${gflops} GFLOP/s GEMM, ${gbps} GB/s copy, given by --this-device-gflops ${gflops} --this-device-copy-gbps ${gbps}`,
    );
    // Nothing in the header claims a measurement: only "MODELED, not measured" mentions one.
    expect(head.replace('MODELED, not measured', '')).not.toMatch(/measured/i);
  });
  for (const [args, message] of cases) {
    it(args.map((a) => a.replace(dir, '…')).join(' '), () => {
      const r = cli('src/cli/sim.ts', args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.split('\n')[0]).toContain(message);
    });
  }
});

describe('the bench entry points refuse a bad value by flag before any run', () => {
  const cases: [string, string[], string][] = [
    [
      'bench/strategies.ts',
      ['--model', 'tiny-mixtrl'],
      `--model must be one of ${Object.keys(PRESETS).join(', ')} (got 'tiny-mixtrl'); try --model tiny-mixtral`,
    ],
    [
      'bench/similarity.ts',
      ['--workloads', '1024:1:0.2,1:2'],
      '--workloads 1:2: entry 2 is not tokens:requests:cv with cv from 0 to 2, e.g. 1024:1:0.2',
    ],
    ['bench/router.ts', ['--runs', '1e9'], '--runs must be at most 1000 (got 1e9)'],
    // A choice as near one value as another gets no guess.
    ['bench/sim.ts', ['--part', 'pag'], "--part must be one of serving, page, both (got 'pag'); try --part page"],
    ['src/cli/moe.ts', ['--check', 'of'], "--check must be one of auto, on, off (got 'of')"],
  ];
  for (const [script, args, message] of cases) {
    it(`${script} ${args.join(' ')}`, () => {
      const r = cli(script, args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(`error: ${message}`);
    });
  }
});

describe('npm run bench refuses a mistyped scenario with the nearest one', () => {
  it('--scenario defualt', () => {
    const r = cli('bench/run.ts', ['--scenario', 'defualt']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /^bench: no scenario 'defualt' \(.*defualt\.json\); scenarios: .*\bdefault\b.*; try --scenario default\n/,
    );
  });
});
