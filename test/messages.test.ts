// Errors name their culprit: the key and why (an out-of-range number, not "null"), the file
// and the flag; a UTF-8 byte-order mark is accepted where people's tools put one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadPreset, parseMoeConfig, publishedConfig, resolveModel } from '../src/model/index.ts';
import { parseCalibrationText } from '../src/sim/calibration.ts';
import { checkRatios, validateBaseline, validateScenario } from '../src/ui/scenario.ts';
import { parseJsonText } from '../src/util/json.ts';
import { editDistance, nearestName } from '../src/util/nearest.ts';
import { PRESETS } from '../src/model/index.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const dir = mkdtempSync(join(tmpdir(), 'dwdp-messages-'));
const BOM = '\uFEFF';

describe(`config messages (seed ${seed})`, () => {
  it('a number literal past the double range names the key and says it is out of range', () => {
    const rng = new Rng(seed);
    const keys = ['hidden_size', 'moe_intermediate_size', 'n_routed_experts', 'num_experts_per_tok'];
    const key = keys[rng.int(keys.length)];
    const exponent = 309 + rng.int(600);
    const json = JSON.stringify(publishedConfig('deepseek_v3.json')).replace(
      new RegExp(`"${key}":\\s*\\d+`),
      `"${key}": 1e${exponent}`,
    );
    expect(() => parseMoeConfig(JSON.parse(json))).toThrow(
      new RegExp(`config key '${key}': expected an integer, got Infinity \\(a number out of range`),
    );
    expect(() => parseMoeConfig(JSON.parse(json))).not.toThrow(/got null/);
    expect(() => loadPreset('tiny-deepseek', { [key]: `1e${exponent}` })).toThrow(
      new RegExp(`--set ${key}=1e${exponent}: the number is out of range`),
    );
  });

  it('a config.json that starts with a byte-order mark reads like one without', async () => {
    const text = JSON.stringify(publishedConfig('mixtral.json'));
    const plain = join(dir, 'plain.json');
    const bom = join(dir, 'bom.json');
    writeFileSync(plain, text);
    writeFileSync(bom, BOM + text);
    const a = await resolveModel(plain);
    const b = await resolveModel(bom);
    expect({ ...b, name: 'x', raw: null }).toEqual({ ...a, name: 'x', raw: null });
    // A BOM anywhere else is still invalid JSON, and the file is named.
    writeFileSync(bom, ` ${BOM}${text}`);
    await expect(resolveModel(bom)).rejects.toThrow(new RegExp(`${bom.replace(/[.]/g, '\\.')}: not valid JSON`));
    expect(parseJsonText(`${BOM}[1]`, 'x')).toEqual([1]);
  });
});

describe('calibration, scenario and baseline files', () => {
  it('calibration errors name the flag and the file; a BOM is accepted', () => {
    const good = { device: { gemmGflops: 2, copyGBps: 3 }, samples: [{ kind: 'copy', bytes: 1024, measuredMs: 1 }] };
    expect(parseCalibrationText(BOM + JSON.stringify(good), '--calibrate c.json').device.copyGBps).toBe(3);
    expect(() => parseCalibrationText('{"device":', '--calibrate c.json')).toThrow(
      /^--calibrate c\.json: not valid JSON/,
    );
    expect(() => parseCalibrationText(JSON.stringify({ ...good, samples: [null] }), '--calibrate c.json')).toThrow(
      '--calibrate c.json: samples[0] must be an object',
    );
    const badFormat = {
      ...good,
      samples: [
        {
          kind: 'expert-gemm',
          tokens: 1,
          hidden: 1,
          expertHidden: 1,
          experts: 1,
          topk: 1,
          format: 'fp3',
          measuredMs: 1,
        },
      ],
    };
    expect(() => parseCalibrationText(JSON.stringify(badFormat), '--calibrate c.json')).toThrow(
      /^--calibrate c\.json: samples\[0\]\.format: /,
    );
  });

  it('sim --calibrate on a missing or broken file names the flag and the file', () => {
    const broken = join(dir, 'calib.json');
    writeFileSync(broken, '{ "device": ');
    for (const [file, want] of [
      [broken, `--calibrate ${broken}: not valid JSON`],
      [join(dir, 'none.json'), `--calibrate ${join(dir, 'none.json')}: cannot read it (ENOENT)`],
    ]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--calibrate', file], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(want);
    }
  });

  it('sim --scenario with an unknown name lists every built-in, the end-to-end ones included', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--scenario', 'r1-isl-swep'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /--scenario 'r1-isl-swep' is neither a built-in scenario \(r1-isl-sweep, .*r1-e2e-pareto\) nor a \.json file; try --scenario r1-isl-sweep\n/,
    );
  });

  it('a scenario with hf and a preset model is refused, naming the conflict', () => {
    const s = (fields: Record<string, string>) => ({ name: 'n', description: '', fields });
    expect(() => validateScenario(s({ model: 'tiny-mixtral', hf: '{}' }), 'f.json')).toThrow(
      /f\.json: fields 'hf' and 'model' conflict: .*model is 'tiny-mixtral'; set "model": "custom" or remove 'hf'/,
    );
    expect(() => validateScenario(s({ hf: '{}' }), 'f.json')).toThrow(/the default preset/);
    expect(() => validateScenario(s({ model: 'custom', hf: '{}' }), 'f.json')).not.toThrow();
  });

  it('baseline files of the wrong shape name the file and the key', () => {
    const f = '--baseline b.json';
    const ok = { defaultTolerance: 0.2, scenarios: { s: { ratios: { r: { value: 1.5 } } } } };
    expect(validateBaseline(ok, f)).toBe(ok);
    const cases: [unknown, RegExp][] = [
      [[], /a baseline is a JSON object/],
      [{ scenarios: {} }, /'defaultTolerance' is missing/],
      [{ defaultTolerance: -1, scenarios: {} }, /'defaultTolerance' must be a non-negative number/],
      [{ defaultTolerance: 0.1, scenarios: [] }, /'scenarios' must be an object/],
      [{ defaultTolerance: 0.1, scenarios: { s: 3 } }, /'scenarios\.s' must be an object/],
      [{ defaultTolerance: 0.1, scenarios: { s: {} } }, /'scenarios\.s\.ratios' must be an object/],
      [
        { defaultTolerance: 0.1, scenarios: { s: { ratios: { r: { value: 0 } } } } },
        /'scenarios\.s\.ratios\.r\.value' must be a non-zero number/,
      ],
      [
        { defaultTolerance: 0.1, scenarios: { s: { ratios: { r: { value: 1, tolerance: 'x' } } } } },
        /'scenarios\.s\.ratios\.r\.tolerance'/,
      ],
    ];
    for (const [json, want] of cases) {
      expect(() => validateBaseline(json, f)).toThrow(want);
      expect(() => validateBaseline(json, f)).toThrow(/^--baseline b\.json: /);
    }
    expect(() => checkRatios('other', [], validateBaseline(ok, f), 'b.json')).toThrow(
      /^b\.json has no ratios for scenario 'other'/,
    );
  });
});

describe(`nearest names for mistyped ones (seed ${seed})`, () => {
  // The reference: the same distance by plain recursion over every prefix pair (no table).
  function reference(a: string, b: string): number {
    const memo = new Map<string, number>();
    const go = (i: number, j: number): number => {
      if (i === 0) return j;
      if (j === 0) return i;
      const k = `${i},${j}`;
      if (memo.has(k)) return memo.get(k)!;
      let best = Math.min(go(i - 1, j) + 1, go(i, j - 1) + 1, go(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, go(i - 2, j - 2) + 1);
      memo.set(k, best);
      return best;
    };
    return go(a.length, b.length);
  }

  it('the edit distance matches the reference on random strings', () => {
    const rng = new Rng(seed).fork('strings');
    const word = () => Array.from({ length: rng.int(9) }, () => 'abc-'[rng.int(4)]).join('');
    for (let n = 0; n < 300; n++) {
      const [a, b] = [word(), word()];
      expect(editDistance(a, b), `'${a}' '${b}'`).toBe(reference(a, b));
    }
  });

  it('a preset name with one random edit is matched back to it when no other preset is as near', () => {
    const rng = new Rng(seed).fork('typos');
    const names = Object.keys(PRESETS);
    for (let n = 0; n < 200; n++) {
      const name = names[rng.int(names.length)];
      const i = rng.int(name.length);
      const c = 'abcdefghijklmnopqrstuvwxyz0123456789-'[rng.int(37)];
      const edits = [
        name.slice(0, i) + name.slice(i + 1),
        name.slice(0, i) + c + name.slice(i),
        name.slice(0, i) + c + name.slice(i + 1),
      ];
      const typo = edits[rng.int(edits.length)];
      if (names.includes(typo)) continue;
      const d = names.map((p) => reference(typo, p));
      const best = Math.min(...d);
      // The nearest, when near enough (a third of the typo's length) and no other is as near; else none.
      const unique = d.filter((x) => x === best).length === 1;
      const want = unique && best <= Math.max(1, Math.floor(typo.length / 3)) ? names[d.indexOf(best)] : undefined;
      expect(nearestName(typo, names), typo).toBe(want);
      expect(nearestName(typo.toUpperCase(), names), typo).toBe(want);
    }
    expect(nearestName('tiny-deepsek', names)).toBe('tiny-deepseek');
    expect(nearestName('zzz', names)).toBeUndefined();
    expect(nearestName('of', ['auto', 'on', 'off'])).toBeUndefined(); // as near 'on' as 'off'
    expect(nearestName('offf', ['auto', 'on', 'off'])).toBe('off');
  });
});
