// The TensorRT-LLM hand-off: the DwdpConfig rules refuse what the reference implementation
// refuses (naming the field), what is written parses as YAML and matches the scenario's
// choice, the page's one-file bundle unpacks to the same files, the output directory is
// checked before any work, and the CLI's JSON has the shape other tools rely on.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
import { checkExportDir, runE2eCli } from '../src/cli/sim-e2e.ts';
import { parseE2eScenario, runE2e, type E2ePoint } from '../src/sim/e2e/scenario.ts';
import { deepseekR1 } from '../src/sim/experiment.ts';
import {
  ExportError,
  TRTLLM_BUNDLE_FORMAT,
  buildTrtllmExport,
  trtllmBundle,
  validateDwdpConfig,
} from '../src/sim/export-trtllm.ts';
import { cudaGraphBatchSizes } from '../src/sim/e2e/params.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;
const r1 = deepseekR1();
const tmp = mkdtempSync(join(tmpdir(), 'e2e-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const spec = parseE2eScenario({
  name: 'small-e2e',
  mode: 'e2e',
  e2e: {
    genEp: [8, 16],
    genBatch: [32, 128],
    mtp: [1, 3],
    eplb: [false, true],
    bands: [
      [20, 60],
      [60, 200],
    ],
    steps: 2,
  },
});
const res = runE2e(spec);

describe('DwdpConfig rules', () => {
  const ok = { experts: 256, ctxTensorParallel: 1, ctxInstances: 8, format: 'nvfp4' as const };
  const cfg = {
    dwdp_size: 4,
    num_groups: 2,
    num_experts_per_worker: 64,
    num_prefetch_experts: 64,
    contention_opt: false,
  };

  it('accepts exactly the (N, L, P) with L + (N − 1)·P = E and 0 < P ≤ L (brute force over small E)', () => {
    for (let trial = 0; trial < 300; trial++) {
      const E = 8 + rng.int(120);
      const N = 2 + rng.int(6);
      const L = rng.int(E + 2);
      const P = rng.int(E + 2);
      const c = { ...cfg, dwdp_size: N, num_groups: 1, num_experts_per_worker: L, num_prefetch_experts: P };
      const valid = L > 0 && P > 0 && P <= L && L + (N - 1) * P === E;
      const run = () => validateDwdpConfig(c, { ...ok, experts: E, ctxInstances: N });
      if (valid) expect(run, tag(`E ${E} N ${N} L ${L} P ${P}`)).not.toThrow();
      else
        expect(run, tag(`E ${E} N ${N} L ${L} P ${P}`)).toThrow(
          /dwdp_config\.num_(experts_per_worker|prefetch_experts)/,
        );
    }
  });

  it('names the field of every other rule', () => {
    const cases: [() => void, string][] = [
      [
        () => validateDwdpConfig({ ...cfg, dwdp_size: 1, num_experts_per_worker: 256 }, { ...ok, ctxInstances: 2 }),
        'dwdp_config.dwdp_size',
      ],
      [() => validateDwdpConfig(cfg, { ...ok, ctxTensorParallel: 4 }), 'tensor_parallel_size'],
      [() => validateDwdpConfig(cfg, { ...ok, ctxInstances: 7 }), 'context_servers.num_instances'],
      [() => validateDwdpConfig(cfg, { ...ok, format: 'fp8' }), 'moe weights'],
    ];
    for (const [f, field] of cases) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExportError);
      expect((err as ExportError).field).toBe(field);
    }
  });

  it('refuses to build an export whose scenario puts DWDP on non-NVFP4 experts, before returning any file', () => {
    const bad = { ...res, params: { ...res.params, format: 'fp8' as const } };
    expect(() => buildTrtllmExport(bad, r1)).toThrow(/moe weights/);
  });

  it('lists CUDA graph batch sizes as the reproduction generator does', () => {
    expect(cudaGraphBatchSizes(8)).toEqual([1, 2, 4, 8]);
    expect(cudaGraphBatchSizes(128)).toEqual([1, 2, 4, ...Array.from({ length: 16 }, (_, i) => 8 * (i + 1))]);
    const big = cudaGraphBatchSizes(4096);
    expect(big.at(-1)).toBe(4096);
    expect(big).toContain(1024);
    expect(big).toContain(1040);
    expect(big).toContain(2048);
  });
});

describe('written files', () => {
  const dir = join(tmp, 'out');
  beforeAll(() => runE2eCli(spec, { json: true, exportDir: dir, print: () => {} }));

  const chosen: [string, E2ePoint][] = [];
  for (const b of res.bands)
    for (const s of ['dep', 'dwdp'] as const) {
      const p = b[s];
      if (p) chosen.push([`tps-${b.tpsPerUser[0]}-${b.tpsPerUser[1]}/${s}`, p]);
    }

  it('holds a README and three YAML files per chosen deployment, matching the scenario', () => {
    expect(chosen.length).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toMatch(/Where each field comes from/);
    for (const [sub, p] of chosen) {
      const ctx = parse(readFileSync(join(dir, sub, 'ctx_config.yaml'), 'utf8'));
      const gen = parse(readFileSync(join(dir, sub, 'gen_config.yaml'), 'utf8'));
      const launch = parse(readFileSync(join(dir, sub, 'mpi_worker_config.yaml'), 'utf8'));
      const g = p.config.gen;
      expect(ctx.max_batch_size).toBe(res.params.ctxMaxBatch);
      expect(ctx.max_num_tokens).toBe(res.params.ctxMaxTokens);
      expect(ctx.kv_cache_config.dtype).toBe('fp8');
      expect(ctx.moe_config.backend).toBe('CUTEDSL');
      expect(gen.tensor_parallel_size).toBe(g.ep);
      expect(gen.moe_expert_parallel_size).toBe(g.ep);
      expect(gen.max_batch_size).toBe(g.batch);
      expect(gen.max_num_tokens).toBe(g.batch * (1 + g.mtp));
      expect(gen.speculative_config.num_nextn_predict_layers).toBe(g.mtp);
      expect(gen.moe_config.load_balancer?.num_slots).toBe(g.eplb ? 256 : undefined);
      expect(launch.generation_servers.num_instances).toBe(1);
      expect(launch.generation_servers.tensor_parallel_size).toBe(g.ep);
      if (p.strategy === 'dwdp') {
        const d = ctx.dwdp_config;
        expect(d.dwdp_size).toBe(p.config.groupSize);
        expect(d.num_groups).toBe(p.config.ctxUnits);
        expect(d.num_experts_per_worker + (d.dwdp_size - 1) * d.num_prefetch_experts).toBe(256);
        expect(d.num_prefetch_experts).toBeLessThanOrEqual(d.num_experts_per_worker);
        expect(d.contention_opt).toBe(res.params.contentionFix);
        expect(ctx.tensor_parallel_size).toBe(1);
        expect(launch.context_servers.num_instances).toBe(p.ctxGpus);
      } else {
        expect(ctx.dwdp_config).toBeUndefined();
        expect(ctx.tensor_parallel_size).toBe(p.config.groupSize);
        expect(launch.context_servers.num_instances).toBe(p.config.ctxUnits);
      }
      expect(launch.context_servers.urls.length).toBe(launch.context_servers.num_instances);
    }
  });

  it('bundles the same files in one JSON (the page’s download), which its own command unpacks and never overwrites', () => {
    const files = buildTrtllmExport(res, r1);
    const bundle = trtllmBundle(res, files);
    expect([bundle.format, bundle.scenario, bundle.modeled]).toEqual([TRTLLM_BUNDLE_FORMAT, 'small-e2e', true]);
    const dir = mkdtempSync(join(tmpdir(), 'e2e-bundle-')); // not under tmp: a test below lists tmp
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'bundle.json');
    writeFileSync(path, JSON.stringify(bundle));
    const [, script] = bundle.unpack.match(/^node -e "(.*)" BUNDLE\.json DIR$/)!;
    const unpack = () => spawnSync(process.execPath, ['-e', script, path, join(dir, 'out')], { encoding: 'utf8' });
    expect(unpack().status).toBe(0);
    for (const f of files) expect(readFileSync(join(dir, 'out', f.path), 'utf8'), f.path).toBe(f.text);
    const again = unpack();
    expect(again.status, 'a second unpack into the same folder').not.toBe(0);
    expect(again.stderr).toMatch(/EEXIST/);
  });

  it('refuses a non-empty directory or a file before any work', () => {
    expect(() => checkExportDir(dir)).toThrow(/--export-trtllm .*not empty/);
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    expect(() => checkExportDir(file)).toThrow(/--export-trtllm .*is a file, not a folder/);
    expect(() => checkExportDir(join(file, 'sub'))).toThrow(/--export-trtllm .*is a file, not a folder/);
    expect(checkExportDir(join(tmp, 'new', 'deeper'))).toBe(join(tmp, 'new', 'deeper'));
    expect(readdirSync(tmp).sort()).toEqual(['a-file', 'out']);
  });
});

describe('npm run sim -- --scenario r1-e2e-pareto --json', () => {
  it('prints the documented shape', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/sim.ts', '--scenario', 'r1-e2e-pareto', '--json'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.scenario).toBe('r1-e2e-pareto');
    expect(j.modeled).toBe(true);
    expect(j.mode).toBe('e2e');
    expect(j.bands.map((b: { tpsPerUser: number[] }) => b.tpsPerUser)).toEqual([
      [20, 30],
      [40, 50],
      [60, 70],
      [80, 90],
      [170, 180],
    ]);
    for (const b of j.bands) {
      expect(Object.keys(b)).toEqual(expect.arrayContaining(['tpsPerUser', 'dep', 'dwdp', 'speedupTpsPerGpu']));
      for (const s of ['dep', 'dwdp'])
        if (b[s] !== null)
          expect(Object.keys(b[s])).toEqual(
            expect.arrayContaining(['tpsPerGpu', 'tpsPerUser', 'ctxGpus', 'genGpus', 'ttftMedianMs', 'config']),
          );
    }
    for (const s of ['dep', 'dwdp']) {
      expect(j.frontier[s].length).toBeGreaterThan(0);
      for (const p of j.frontier[s])
        expect(Object.keys(p)).toEqual(expect.arrayContaining(['tpsPerUser', 'tpsPerGpu', 'ctxGpus', 'genGpus']));
    }
  }, 60_000);

  it('refuses --export-trtllm on a context-phase scenario', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/sim.ts', '--scenario', 'r1-isl-sweep', '--export-trtllm', join(tmp, 'x')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--export-trtllm needs an end-to-end scenario/);
  }, 60_000);
});
