// A scenario's "model": a preset id or the path of an HF config.json relative to the scenario
// file (src/options/scenario.ts, one declaration). Every shipped config.json runs as a scenario's
// model, from a folder beside a scenario file; bad paths and configs this project cannot read
// stop with one message naming the key and the file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HF_SOURCES, publishedConfig } from '../src/model/presets.ts';
import { parseMoeConfig } from '../src/model/config.ts';
import { SCENARIO_MODEL, modelPathFrom, resolveScenarioModel } from '../src/options/scenario.ts';
import { parseScenario, runScenario } from '../src/sim/scenarios.ts';
import { e2eEvaluator, parseE2eScenario, runE2e } from '../src/sim/e2e/scenario.ts';
import { runE2eCli } from '../src/cli/sim-e2e.ts';
import { errorOf } from './option-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'scenario-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'scenarios', 'hf'), { recursive: true });
for (const f of HF_SOURCES) writeFileSync(join(dir, 'scenarios', 'hf', f), JSON.stringify(publishedConfig(f)));
const scenarioFile = join(dir, 'scenarios', 'sweep.json');
const read = (p: string) => readFileSync(p, 'utf8');

describe('scenario "model"', () => {
  it('resolves a relative path against the scenario file’s folder, an absolute one as given', () => {
    expect(modelPathFrom('hf/a.json', '/x/y/s.json')).toBe('/x/y/hf/a.json');
    expect(modelPathFrom('../a.json', 'y\\s.json')).toBe('y\\../a.json');
    expect(modelPathFrom('/abs/a.json', '/x/s.json')).toBe('/abs/a.json');
    expect(modelPathFrom('a.json', 's.json')).toBe('a.json');
    expect(SCENARIO_MODEL.key).toBe('model');
  });

  for (const f of HF_SOURCES) {
    it(`runs the shipped ${f} as a scenario's model`, () => {
      const spec = parseScenario({ model: `hf/${f}`, base: { groupSize: 4, batch: 1, isl: 2048, steps: 1, cv: 0 } });
      const model = resolveScenarioModel(spec.model, scenarioFile, read);
      expect(model).toEqual(parseMoeConfig(publishedConfig(f), { name: f.replace(/\.json$/, '') }));
      const res = runScenario(spec, { model });
      expect(res.model).toContain(`[${model.family}]`);
      const row = res.rows[0];
      expect(row.tDep).toBeGreaterThan(0);
      expect(row.tDwdp).toBeGreaterThan(0);
      // Attention kernels and their projections land in their own breakdown columns.
      expect(row.breakdown.dwdp.attention).toBeGreaterThan(0);
      expect(row.breakdown.dwdp.denseGemm).toBeGreaterThan(0);
    });
  }

  it('a preset id is a model too; the default is deepseek-r1', () => {
    expect(resolveScenarioModel('gpt-oss-120b', scenarioFile).experts).toBe(128);
    expect(resolveScenarioModel(undefined, scenarioFile).name).toBe('deepseek-r1');
  });

  it('bad values stop with one message naming the key and the file', () => {
    const missing = errorOf(() => resolveScenarioModel('hf/nope.json', scenarioFile, read));
    expect(missing.option).toBe('scenario.model');
    expect(missing.message).toContain(join(dir, 'scenarios', 'hf', 'nope.json'));
    expect(missing.message).toContain(scenarioFile);
    expect(missing.message).toMatch(/ENOENT/);

    writeFileSync(join(dir, 'scenarios', 'llama.json'), JSON.stringify({ model_type: 'llama', hidden_size: 8 }));
    const llama = errorOf(() => resolveScenarioModel('llama.json', scenarioFile, read));
    expect(llama.option).toBe('scenario.model');
    expect(llama.message).toMatch(/llama\.json is not a config this project reads.*model_type.*gpt_oss/);

    writeFileSync(join(dir, 'scenarios', 'broken.json'), '{"model_type": ');
    expect(errorOf(() => resolveScenarioModel('broken.json', scenarioFile, read)).message).toMatch(
      /broken\.json: not valid JSON/,
    );
    // Presets are checked when the scenario is parsed; a path needs a reader (the command line).
    expect(errorOf(() => parseScenario({ model: 'gpt-oss-9000' })).message).toMatch(
      /scenario\.model gpt-oss-9000: is neither a preset \(.*gpt-oss-120b.*\) nor a path/,
    );
    expect(errorOf(() => parseScenario({ model: 3 })).option).toBe('scenario.model');
    expect(errorOf(() => runScenario(parseScenario({ model: 'hf/a.json' }))).message).toMatch(
      /only the command line reads/,
    );
  });

  it('npm run sim reads a scenario whose model is a config.json beside it', () => {
    const file = join(dir, 'scenarios', 'oss.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'oss',
        profile: 'b200-hgx',
        model: 'hf/gpt_oss_120b.json',
        base: { groupSize: 4, batch: 1, isl: 4096, steps: 1, format: 'mxfp4' },
      }),
    );
    const run = (f: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--scenario', f, '--json'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const ok = run(file);
    expect(ok.status, ok.stderr).toBe(0);
    const res = JSON.parse(ok.stdout) as { model: string; rows: { tDwdp: number }[] };
    expect(res.model).toMatch(/^gpt_oss_120b \[gpt_oss\] H=2880 F=2880 E=128 K=4/);
    expect(res.rows[0].tDwdp).toBeGreaterThan(0);

    writeFileSync(file, JSON.stringify({ name: 'oss', model: 'hf/missing.json' }));
    const bad = run(file);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/scenario\.model hf\/missing\.json: cannot read .*missing\.json: ENOENT/);
    expect(bad.stderr).toContain(file);
  });

  it('an end-to-end scenario file names its model the same way, read by the command line', async () => {
    const file = join(dir, 'scenarios', 'e2e.json');
    const small = { genEp: [16], genBatch: [32], mtp: [1], eplb: [false], ttftRequests: 100, bands: [[20, 200]] };
    const spec = parseE2eScenario({ mode: 'e2e', model: 'hf/deepseek_v3.json', e2e: small });
    let out = '';
    await runE2eCli(spec, { json: true, file, print: (t) => (out += t) });
    const got = JSON.parse(out) as { model: string };
    // The file's config ran: the same result as that config passed in directly.
    const model = parseMoeConfig(publishedConfig('deepseek_v3.json'), { name: 'deepseek_v3' });
    const direct = runE2e(spec, { model });
    expect(got.model).toBe('deepseek_v3');
    expect(out).toBe(JSON.stringify({ ...direct, validation: [] }, (_, v) => (v === Infinity ? null : v), 2));
    // A missing file names the key and the scenario file; without a reader (the page) a path is refused.
    const missing = parseE2eScenario({ mode: 'e2e', model: 'hf/missing.json', e2e: small });
    const e = await runE2eCli(missing, { json: true, file, print: () => {} }).then(
      () => null,
      (x: Error) => x,
    );
    expect(e?.message).toMatch(/^scenario\.model hf\/missing\.json: cannot read .*missing\.json: ENOENT/);
    expect(e?.message).toContain(file);
    expect(errorOf(() => e2eEvaluator(missing)).message).toMatch(/only the command line reads/);
    expect(errorOf(() => parseE2eScenario({ mode: 'e2e', model: 'gpt-oss-9000' })).message).toMatch(
      /^scenario\.model gpt-oss-9000: is neither a preset/,
    );
  });

  it('a scenario file’s profile is a profile id, refused by name otherwise (both kinds of file)', () => {
    for (const profile of ['b200-hgx', 'gb300-nvl72']) {
      expect(parseScenario({ profile }).profile).toBe(profile);
      expect(parseE2eScenario({ mode: 'e2e', profile }).profile).toBe(profile);
    }
    for (const profile of ['gb300', 'this-device', 3]) {
      for (const parse of [() => parseScenario({ profile }), () => parseE2eScenario({ mode: 'e2e', profile })]) {
        const e = errorOf(parse);
        expect(e.option).toBe('scenario.profile');
        expect(e.message).toMatch(/is not a hardware profile \(profiles: gb200-nvl72, gb300-nvl72, b200-hgx/);
      }
    }
  });
});
