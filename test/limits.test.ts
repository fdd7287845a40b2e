// Sizes and output paths are refused before any work, naming the key or flag, the size and
// the limit; the estimator matches what the code really allocates.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HOST_ARRAY_MAX_ELEMENTS,
  LimitExceededError,
  SizeLimitError,
  checkHostSizes,
  deviceNeeds,
  resolveLimits,
} from '../src/gpu/index.ts';
import { buildHostLayerWeights, decodeHostLayerWeights } from '../src/layer/host-weights.ts';
import { layerSizes } from '../src/layer/sizes.ts';
import { MAX_REFERENCE_MACS, MAX_RUNS, checkLabSizes, labEstimate } from '../src/lab/sizes.ts';
import { DEFAULT_SHAPE, LAB_KERNELS } from '../src/lab/types.ts';
import { loadPreset } from '../src/model/presets.ts';
import { WEIGHT_FORMATS } from '../src/model/formats.ts';
import { runGroup } from '../src/strategies/run.ts';
import { DEFAULT_GROUP_OPTIONS } from '../src/strategies/options.ts';
import { fileStore } from '../src/tuning/tuning-store-node.ts';
import { OutputPathError, checkOutputDir, checkOutputFile, writeFileAtomic } from '../src/util/output-path.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const tmp = () => mkdtempSync(join(tmpdir(), 'dwdp-limits-'));

function cli(script: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DWDP_TUNING_CACHE: 'off', ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe(`layer sizes (seed ${seed})`, () => {
  it('the estimate of the routed experts and the router equals what the host weights allocate', () => {
    const rng = new Rng(seed);
    for (const format of WEIGHT_FORMATS) {
      // A random small DeepSeek-shaped layer (multiples of 32 so every format fits: mxfp4's scale blocks).
      const H = 32 * (1 + rng.int(4));
      const F = 32 * (1 + rng.int(4));
      const E = 16 * (1 + rng.int(4));
      const cfg = loadPreset('tiny-deepseek', { hidden_size: H, moe_intermediate_size: F, n_routed_experts: E });
      const host = buildHostLayerWeights(cfg, format, seed, 0);
      const items = layerSizes(cfg, format, 1);
      const routed = items.find((i) => i.where === 'host' && i.why.startsWith('the routed experts'))!;
      expect(routed.bytes, `${format} H=${H} F=${F} E=${E}`).toBe(host.blocks.byteLength);
      const router = items.find((i) => i.why.startsWith('the router weights ('))!;
      expect(router.bytes).toBe(host.router.byteLength);
      const decoded = decodeHostLayerWeights(host);
      const perMatrix = layerSizes(cfg, format, 1, { decodedFor: '--dump' }).find((i) =>
        i.why.startsWith('the decoded'),
      )!;
      expect(perMatrix.bytes).toBe(decoded.gate[0].byteLength);
      expect(perMatrix.count).toBe(decoded.gate.length + decoded.up.length + decoded.down.length);
    }
  });

  it('a hidden_size past the typed-array limit is refused naming the key, the size and the limit', () => {
    const cfg = loadPreset('deepseek-r1', { hidden_size: 1_000_000 });
    const err = (() => {
      try {
        checkHostSizes(layerSizes(cfg, 'nvfp4', 64));
      } catch (e) {
        return e as SizeLimitError;
      }
    })();
    expect(err).toBeInstanceOf(SizeLimitError);
    expect(err!.message).toMatch(/hidden_size=1000000/);
    expect(err!.message).toContain(String(HOST_ARRAY_MAX_ELEMENTS));
    expect(err!.size).toBeGreaterThan(err!.limit);
  });

  it('host memory: the total over all layers is compared with the budget, naming the largest buffer', () => {
    const cfg = loadPreset('small-deepseek');
    const one = layerSizes(cfg, 'f32', 256, { layers: 1 });
    const total = one.filter((i) => i.where !== 'device').reduce((a, i) => a + i.bytes * (i.count ?? 1), 0);
    expect(() => checkHostSizes(one, total)).not.toThrow();
    expect(() => checkHostSizes(one, total - 1)).toThrow(/host memory/);
    // Three layers hold three times the weights: the same budget no longer fits.
    expect(() => checkHostSizes(layerSizes(cfg, 'f32', 256, { layers: 3 }), total)).toThrow(
      /routed experts on the host \(3 layer/,
    );
  });

  it('deepseek-r1 names n_routed_experts and the device limit it exceeds', () => {
    const needs = deviceNeeds(layerSizes(loadPreset('deepseek-r1'), 'nvfp4', 64));
    const limits = { maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 } as unknown as GPUSupportedLimits;
    expect(() => resolveLimits(limits, needs)).toThrow(LimitExceededError);
    expect(() => resolveLimits(limits, needs)).toThrow(
      /n_routed_experts=256.*maxStorageBufferBindingSize = \d+, but this adapter allows at most 1073741824/,
    );
  });

  it('a group run past the limits is refused before a single weight is generated', async () => {
    const phases: string[] = [];
    const run = runGroup(
      { ...DEFAULT_GROUP_OPTIONS, model: loadPreset('deepseek-r1', { hidden_size: 1_000_000 }), ranks: 2, layers: 1 },
      { onProgress: (p) => phases.push(p.message) },
    );
    await expect(run).rejects.toThrow(/hidden_size=1000000.*typed arrays hold at most/);
    expect(phases.filter((m) => m.startsWith('generating'))).toEqual([]);
  });

  it('a group run whose attention stand-in is too large is refused naming the attention sizes', async () => {
    const phases: string[] = [];
    const run = runGroup(
      {
        ...DEFAULT_GROUP_OPTIONS,
        model: 'tiny-mixtral',
        ranks: 2,
        layers: 1,
        tokensPerRank: 2 ** 20,
        attention: { heads: 64, headDim: 256 },
      },
      { onProgress: (p) => phases.push(p.message) },
    );
    await expect(run).rejects.toThrow(
      /attention stand-in's q, k, v and out \(1048576 tokens .* heads 64 × head dim 256\)/,
    );
    expect(phases.filter((m) => m.startsWith('generating'))).toEqual([]);
  });
});

describe('moe CLI sizes', () => {
  it('--check on with a reference past the bound is refused before the GPU, naming the flag and the keys', () => {
    const r = cli('src/cli/moe.ts', [
      '--model',
      'deepseek-r1',
      '--set',
      'n_routed_experts=8',
      '--set',
      'n_group=1',
      '--set',
      'topk_group=1',
      '--tokens',
      '4096',
      '--check',
      'on',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /--check on: the float64 reference \(--tokens 4096 × top-k 8 × 3 × hidden_size=7168 × moe_intermediate_size=2048\)/,
    );
    expect(r.stdout).not.toMatch(/MoE layer/);
  });
});

describe(`lab sizes (seed ${seed})`, () => {
  it('every kernel at the default shape passes; each huge flag is refused naming it', () => {
    for (const k of LAB_KERNELS) expect(() => checkLabSizes(undefined, k, { ...DEFAULT_SHAPE })).not.toThrow();
    const rng = new Rng(seed);
    const huge = 1e9 + rng.int(1e6);
    expect(() => checkLabSizes(undefined, 'expert-gemm', { ...DEFAULT_SHAPE, tokens: huge })).toThrow(
      new RegExp(`--tokens ${huge}`),
    );
    expect(() => checkLabSizes(undefined, 'copy', { ...DEFAULT_SHAPE, mib: 1e6 })).toThrow(/--mib 1000000/);
    expect(() => checkLabSizes(undefined, 'router', { ...DEFAULT_SHAPE }, { runs: huge })).toThrow(
      new RegExp(`--runs.*over the limit of ${MAX_RUNS}`),
    );
    // Attention: the reference is quadratic in the lengths; the longest allowed length is derived from the bound.
    const d = DEFAULT_SHAPE.heads * DEFAULT_SHAPE.headDim;
    const maxLen = Math.floor(Math.sqrt(MAX_REFERENCE_MACS / d));
    expect(() => checkLabSizes(undefined, 'attention', { ...DEFAULT_SHAPE, lengths: [maxLen - 1] })).not.toThrow();
    expect(() => checkLabSizes(undefined, 'attention', { ...DEFAULT_SHAPE, lengths: [maxLen + 1] })).toThrow(
      /--lengths \d+ × --heads 4 × --head-dim 64.*over the limit/,
    );
  });

  it('the attention estimate counts Σ len·(len+1)·heads·headDim multiply-adds (independent sum)', () => {
    const rng = new Rng(seed + 1);
    const lengths = Array.from({ length: 1 + rng.int(5) }, () => 1 + rng.int(500));
    const s = { ...DEFAULT_SHAPE, lengths, heads: 1 + rng.int(8), headDim: 8 * (1 + rng.int(16)) };
    let want = 0;
    for (const len of lengths) for (let i = 1; i <= len; i++) want += 2 * i * s.heads * s.headDim;
    expect(labEstimate('attention', s).referenceMacs).toBe(want);
  });

  it('lab CLI: a huge copy and a huge run count exit at once, naming the flag', () => {
    const copy = cli('src/cli/lab.ts', ['copy', '--mib', '1e6']);
    expect(copy.code).not.toBe(0);
    expect(copy.stderr).toMatch(/--mib 1000000.*typed arrays/);
    const runs = cli('src/cli/lab.ts', ['router', '--runs', '1e9']);
    expect(runs.code).not.toBe(0);
    expect(runs.stderr).toMatch(/--runs: 1\.000e\+9 timed runs is over the limit of 1000/);
  });
});

describe('output paths', () => {
  it('files and folders: the wrong kind, a file among the ancestors and an unwritable place are refused', () => {
    const dir = tmp();
    const file = join(dir, 'f.json');
    writeFileSync(file, '{}');
    expect(checkOutputFile('--trace', file)).toBe(file);
    expect(checkOutputFile('--trace', join(dir, 'new', 'deeper', 't.json'))).toContain('deeper');
    expect(() => checkOutputFile('--trace', dir)).toThrow(/--trace .*: is a folder/);
    expect(() => checkOutputFile('--trace', join(file, 't.json'))).toThrow(/'.*f\.json' is a file, not a folder/);
    expect(() => checkOutputDir('--dump', file)).toThrow(/--dump .*f\.json: is a file, not a folder/);
    expect(checkOutputDir('--dump', join(dir, 'a', 'b'))).toContain(join('a', 'b'));
    expect(() => checkOutputDir('--out', '/proc/no-such/results')).toThrow(OutputPathError);
    // Nothing was created by the checks (the probe file is removed).
    expect(readdirSync(dir)).toEqual(['f.json']);
  });

  it('writeFileAtomic and the tuning store leave no temporary file when the write fails', async () => {
    const dir = tmp();
    const target = join(dir, 'cache.json');
    mkdirSync(target); // a folder where the file should be
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    await expect(fileStore(target).write('{}')).rejects.toThrow();
    await expect(fileStore(target).read()).rejects.toThrow(
      /tuning cache .*cache\.json \(DWDP_TUNING_CACHE\): cannot read it \(EISDIR\)/,
    );
    expect(readdirSync(dir)).toEqual(['cache.json']);
    const ok = join(dir, 'sub', 'ok.json');
    await writeFileAtomic(ok, 'whole');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['ok.json']);
  });

  it('CLIs refuse a bad output path before the work: moe --dump onto a file, lab --sweep into a folder cache', () => {
    const dir = tmp();
    const file = join(dir, 'f');
    writeFileSync(file, '');
    const dump = cli('src/cli/moe.ts', ['--dump', file]);
    expect(dump.code).not.toBe(0);
    expect(dump.stderr).toContain(`--dump ${file}: is a file, not a folder`);
    expect(dump.stdout).not.toMatch(/MoE layer/);
    const sweep = cli('src/cli/lab.ts', ['router', '--sweep'], { DWDP_TUNING_CACHE: dir });
    expect(sweep.code).not.toBe(0);
    expect(sweep.stderr).toMatch(/the tuning cache \(DWDP_TUNING_CACHE\) .*: is a folder/);
    expect(sweep.stderr).not.toMatch(/sweep router/);
    expect(readdirSync(dir)).toEqual(['f']);
  });
});
