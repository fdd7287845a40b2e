// The config panel's parsing and validation, and the URL codec: bad values are rejected on
// the right field with the right message; random valid forms parse into exactly the numbers
// they hold; every form (valid or not, any text) survives a URL round trip.
import { describe, expect, it } from 'vitest';
import {
  FIELD,
  FIELDS,
  FIELD_KEYS,
  SWEEPABLE,
  defaultForm,
  withLinkProfile,
  withModel,
  withSweepField,
  type FieldKey,
  type FormState,
} from '../src/ui/fields.ts';
import { GROUP_OPTION } from '../src/options/group.ts';
import { parseForm, runOptions, sweepPointForm } from '../src/ui/config.ts';
import { formToQuery, queryToForm, readQuery, fromBase64Url, toBase64Url } from '../src/ui/url.ts';
import { publishedConfig, loadPreset } from '../src/model/presets.ts';
import { PROFILES } from '../src/hardware/profiles.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (msg: string) => `${msg} (seed ${seed})`;

const form = (over: Partial<FormState> = {}): FormState => ({ ...defaultForm(), ...over });
const errorsOf = (over: Partial<FormState>) => parseForm(form(over)).errors;

describe('config panel validation', () => {
  it('accepts the defaults and gives the library the options they say', () => {
    const p = parseForm(defaultForm());
    expect(p.errors).toEqual({});
    const c = p.config!;
    expect(c.strategies).toEqual(['dp', 'dep', 'dwdp']);
    const o = runOptions(c, 'dwdp');
    expect(o).toMatchObject({
      strategy: 'dwdp',
      model: 'tiny-mixtral',
      ranks: 4,
      layers: 4,
      tokensPerRank: 1024,
      requestsPerRank: 4,
      lengthCv: 0.2,
      clock: 'virtual',
    });
    // The link follows the GB200 profile unless it is custom.
    expect(o.link.gbps).toBe(PROFILES['gb200-nvl72'].linkGBpsPerDirection);
    expect(o.timeDilation).toEqual({ profile: 'gb200-nvl72' });
  });

  // [field, bad raw value, the message the panel must show]
  const cases: [FieldKey, string, string][] = [
    ['tokens', 'abc', "Tokens per rank must be a number (got 'abc')"],
    ['tokens', '0', "Tokens per rank must be an integer from 1 to 1048576 (got '0')"],
    ['tokens', '', 'Tokens per rank must be a number (got nothing)'],
    ['ranks', '2.5', "Ranks N must be an integer from 1 to 64 (got '2.5')"],
    ['ranks', '65', "Ranks N must be an integer from 1 to 64 (got '65')"],
    ['layers', '-1', "Layers must be an integer from 1 to 256 (got '-1')"],
    ['cv', '-0.1', "Input-length CV must be between 0 and 2 (got '-0.1')"],
    ['cv', '2.5', "Input-length CV must be between 0 and 2 (got '2.5')"],
    ['skew', '1e9', "Routing skew must be between 0 and 4 (got '1e9')"],
    ['seed', '0x10', "Seed must be a number (got '0x10')"],
    ['depth', '0', "Prefetch slots must be an integer from 1 to 8 (got '0')"],
    ['heads', '100', "Attention heads must be an integer from 1 to 64 (got '100')"],
    ['format', 'bf16', "Expert weight format must be one of f32, int8, fp8, nvfp4, mxfp4 (got 'bf16')"],
    ['rankMode', 'threads', "Rank mode must be one of partitions, devices (got 'threads')"],
    ['clock', 'cpu', "Clock must be one of virtual, wall (got 'cpu')"],
    ['prefetch', 'yes', "Prefetch must be one of on, off (got 'yes')"],
    ['strategies', '', 'choose at least one strategy'],
    ['strategies', 'dep,ep', "unknown strategy 'ep' (strategies: dp, dep, dwdp)"],
    ['model', 'gpt-5', "unknown model 'gpt-5'"],
  ];
  for (const [key, raw, message] of cases) {
    it(`rejects ${key} = '${raw}'`, () => {
      const errors = errorsOf({ [key]: raw });
      expect(errors[key]).toBeDefined();
      expect(errors[key]).toContain(message);
      // The error is on that field only (every other field is at a valid default).
      expect(Object.keys(errors)).toEqual([key]);
      expect(parseForm(form({ [key]: raw })).config).toBeNull();
    });
  }

  it('checks custom link numbers only when the link is custom', () => {
    // Under a profile's link a custom number is not read: refused on the link, not checked.
    expect(errorsOf({ gbps: '0' })).toEqual({
      linkProfile:
        'Link bandwidth 0 is read only with the custom link (this one follows the gb200-nvl72 profile): choose custom, or reset link bandwidth to 900',
    });
    // Choosing a profile's link resets the custom numbers, so nothing is refused.
    const custom = form({ linkProfile: 'custom', gbps: '123', latency: '7' });
    expect(parseForm(withLinkProfile(custom, 'h100-hgx')).errors).toEqual({});
    expect(withLinkProfile(custom, 'custom')).toEqual(custom);
    expect(errorsOf({ linkProfile: 'custom', gbps: '0' }).gbps).toBe(
      "Link bandwidth must be a positive number of GB/s (got '0')",
    );
    expect(errorsOf({ linkProfile: 'custom', latency: '-3' }).latency).toBe(
      "Link latency must be between 0 and 1000000 µs (got '-3'); try Link latency = 0",
    );
    const gbps = rng.uniform(1, 2000);
    const c = parseForm(form({ linkProfile: 'custom', gbps: String(gbps), latency: '7.5' })).config!;
    expect(c.run.link.gbps, withSeed('custom bandwidth')).toBe(gbps);
    expect(c.run.link.latencyUs).toBe(7.5);
  });

  it('rejects more requests than tokens on the requests field', () => {
    const t = 1 + rng.int(100);
    const errors = errorsOf({ tokens: String(t), requests: String(t + 1 + rng.int(10)) });
    expect(errors.requests, withSeed('requests > tokens')).toMatch(
      new RegExp(
        `^Requests per rank cannot exceed Tokens per rank \\(${t}\\): every request has at least one token \\(got \\d+\\); try Requests per rank = ${t}$`,
      ),
    );
  });

  it('rejects a DWDP placement with a valid nearby choice in the message', () => {
    const E = loadPreset('tiny-deepseek').experts;
    for (let trial = 0; trial < 20; trial++) {
      const N = 2 + rng.int(7);
      const L = 1 + rng.int(E);
      const P = rng.int(E);
      const valid = L + (N - 1) * P === E && L >= P;
      const errors = errorsOf({ model: 'tiny-deepseek', ranks: String(N), local: String(L), pull: String(P) });
      if (valid) {
        expect(errors.local, withSeed(`E=${E} N=${N} L=${L} P=${P} is valid`)).toBeUndefined();
        continue;
      }
      expect(errors.local, withSeed(`E=${E} N=${N} L=${L} P=${P}`)).toMatch(
        new RegExp(`^L \\(experts held\\) makes no DWDP placement for E=${E}, N=${N}: .* \\(got ${L}\\)`),
      );
      const m = /; try L \(experts held\) = (\d+), P \(pulled per peer\) = (\d+)$/.exec(errors.local!);
      expect(m, withSeed(errors.local!)).not.toBeNull();
      const [l, p] = [Number(m![1]), Number(m![2])];
      expect(l + (N - 1) * p, withSeed(`suggested L=${l} P=${p}`)).toBe(E);
      expect(l).toBeGreaterThanOrEqual(p);
    }
  });

  it('blames P when only P is given and it does not divide the rest', () => {
    const E = loadPreset('tiny-deepseek').experts; // 64
    // N=3: L = 64 − 2·P; P = 40 gives L = −16.
    const errors = errorsOf({ model: 'tiny-deepseek', ranks: '3', pull: '40' });
    expect(errors.pull).toMatch(/^P \(pulled per peer\) makes no DWDP placement for E=64, N=3: .*\(got 40\); try /);
    expect(errors.local).toBeUndefined();
    expect(E).toBe(64);
  });

  it('rejects strategy-specific group sizes', () => {
    expect(errorsOf({ ranks: '1' }).ranks).toBe(
      'Ranks N is too few for DWDP, which needs at least 2 ranks (with 1 rank it is dp) (got 1); try Ranks N = 2',
    );
    expect(errorsOf({ ranks: '1', strategies: 'dp' })).toEqual({});
    // tiny-mixtral has 8 experts: DEP cannot spread them over 9 ranks.
    expect(errorsOf({ model: 'tiny-mixtral', ranks: '9', strategies: 'dep' }).ranks).toBe(
      'Ranks N is too many for DEP, which gives every rank at least one expert: at most 8 ranks for 8 experts (got 9); try Ranks N = 8',
    );
  });

  it('parses a pasted config.json and says what is wrong with a bad one', () => {
    const json = publishedConfig('mixtral.json');
    json.hidden_size = 128;
    json.intermediate_size = 448;
    const ok = parseForm(form({ model: 'custom', hf: JSON.stringify(json, null, 2) }));
    expect(ok.errors).toEqual({});
    expect(ok.config!.model.hidden).toBe(128);
    expect(ok.config!.model.experts).toBe(8);
    // A custom model goes to the runner as the parsed config, not a name.
    expect(typeof ok.config!.run.model).toBe('object');

    expect(errorsOf({ model: 'custom', hf: '' }).hf).toBe('paste or upload a Hugging Face config.json');
    expect(errorsOf({ model: 'custom', hf: '{"hidden_size": 12,' }).hf).toMatch(/^not valid JSON: /);
    delete json.num_local_experts;
    expect(errorsOf({ model: 'custom', hf: JSON.stringify(json) }).hf).toMatch(/config key 'num_local_experts'/);
  });

  it('refuses a pasted config.json with a preset model, which would ignore it', () => {
    expect(errorsOf({ hf: '{"hidden_size": 64}' })).toEqual({
      model: 'a config.json is given but the model is tiny-mixtral: choose custom to use it, or remove it',
    });
    // Choosing a preset drops the pasted config; choosing custom keeps it.
    const custom = form({ model: 'custom', hf: '{"hidden_size": 64}' });
    expect(withModel(custom, 'tiny-deepseek')).toEqual(form({ model: 'tiny-deepseek' }));
    expect(withModel(custom, 'custom')).toEqual(custom);
  });

  it('needs a hardware profile for the modeled source', () => {
    expect(errorsOf({ source: 'modeled', dilation: 'off' }).dilation).toBe(
      'the modeled source needs a hardware profile: choose one',
    );
    expect(errorsOf({ source: 'modeled' })).toEqual({});
  });

  it('repeats measured runs 1 to 20 times, and refuses a repeat the modeled source would not read', () => {
    const n = 1 + rng.int(20);
    expect(errorsOf({ repeat: String(n) })).toEqual({});
    expect(parseForm(form({ repeat: ` ${n} ` })).config!.repeat).toBe(n);
    for (const bad of ['0', '21', '2.5', 'x', ''])
      expect(errorsOf({ repeat: bad }).repeat, bad).toMatch(
        /^Repeat measured runs must be an integer from 1 to 20 \(got /,
      );
    expect(errorsOf({ source: 'modeled', repeat: '3' })).toEqual({
      repeat: 'Repeat measured runs 3 is read only by measured runs (the modeled source is deterministic): set it to 1',
    });
    expect(parseForm(form({ source: 'modeled' })).config!.repeat).toBe(1);
  });

  it('validates sweeps value by value', () => {
    expect(errorsOf({ sweep: 'bogus' }).sweep).toMatch(/^Sweep must be none or one of /);
    expect(errorsOf({ sweep: 'cv', sweepValues: '0.2' }).sweepValues).toBe(
      'give at least two comma-separated values of Input-length CV',
    );
    expect(errorsOf({ sweep: 'cv', sweepValues: '0, 0.2, 0.2' }).sweepValues).toBe('sweep values repeat');
    expect(errorsOf({ sweep: 'cv', sweepValues: '0, 3' }).sweepValues).toBe(
      "value '3': Input-length CV must be between 0 and 2 (got '3'); try Input-length CV = 2",
    );
    // A value that breaks another field's rule is caught too (1 rank with DWDP).
    expect(errorsOf({ sweep: 'ranks', sweepValues: '1,2,4' }).sweepValues).toBe(
      "value '1': Ranks N is too few for DWDP, which needs at least 2 ranks (with 1 rank it is dp) (got 1); try Ranks N = 2",
    );
    const c = parseForm(form({ sweep: 'gbps', sweepValues: ' 100, 400 ,1600' })).config!;
    expect(c.sweep).toEqual({ field: 'gbps', values: ['100', '400', '1600'] });
    // Sweeping the bandwidth makes each point's link custom, at that bandwidth.
    for (const v of c.sweep!.values) {
      const point = parseForm(
        sweepPointForm(form({ sweep: 'gbps', sweepValues: '100,400,1600' }), c.sweep!, v),
      ).config!;
      expect(point.run.link.gbps).toBe(Number(v));
      expect(point.sweep).toBeNull();
    }
  });

  it('refuses a field set away from its default that the run would not read, naming why', () => {
    // DWDP-only options without DWDP.
    expect(errorsOf({ strategies: 'dp,dep', local: '4' })).toEqual({
      local: 'L (experts held) is read only by dwdp, and the strategies are dp, dep: remove it or choose dwdp (got 4)',
    });
    expect(Object.keys(errorsOf({ strategies: 'dep', split: 'off' }))).toEqual(['split']);
    expect(Object.keys(errorsOf({ strategies: 'dep', fix: 'off' }))).toEqual(['fix']);
    // The prefetch depth without prefetch.
    expect(errorsOf({ prefetch: 'off', depth: '3' }).depth).toBe(
      'Prefetch slots is read only with Prefetch on: remove it or set Prefetch on (got 3)',
    );
    expect(errorsOf({ prefetch: 'off' })).toEqual({});
    // A custom link with only DP (which never communicates).
    expect(Object.keys(errorsOf({ strategies: 'dp', linkProfile: 'custom', gbps: '100' }))).toEqual(['gbps']);
    // Emulation-only fields with the modeled source.
    for (const key of ['layers', 'heads', 'headDim', 'clock', 'rankMode', 'skew'] as const) {
      const o = GROUP_OPTION[FIELD[key].option!];
      const other = o.kind === 'choice' ? o.choices!.find((c) => c !== FIELD[key].default)! : String((o.min ?? 0) + 1);
      const errors = errorsOf({ source: 'modeled', [key]: other });
      expect(Object.keys(errors), key).toEqual([key]);
      expect(errors[key]).toContain('is read only by the measured source');
      expect(errorsOf({ source: 'measured', [key]: other }), key).toEqual({});
    }
    // At their defaults they are fine whatever the strategies and source.
    expect(errorsOf({ strategies: 'dep', source: 'modeled' })).toEqual({});
  });

  it('reports a bad field once, not again on the sweep values', () => {
    const errors = errorsOf({ tokens: 'abc', sweep: 'cv', sweepValues: '0,0.2' });
    expect(Object.keys(errors)).toEqual(['tokens']);
    // A sweep value that breaks a rule of its own is still reported on the values.
    expect(Object.keys(errorsOf({ requests: '300', tokens: '512', sweep: 'tokens', sweepValues: '512,256' }))).toEqual([
      'sweepValues',
    ]);
  });

  it('starts a newly swept field from its own example values', () => {
    const f = form({ sweep: 'cv', sweepValues: '0,0.2,0.4' });
    for (const key of Object.keys(SWEEPABLE) as FieldKey[]) {
      const next = withSweepField(f, key);
      expect(next.sweep).toBe(key);
      if (key === 'cv') expect(next.sweepValues).toBe('0,0.2,0.4');
      else expect(next.sweepValues).toBe(SWEEPABLE[key]!.example);
      // Every example is valid with the default form (DWDP, DEP and DP, measured).
      const strategies = key === 'fix' || key === 'split' || key === 'prefetch' ? 'dwdp' : 'dp,dep,dwdp';
      expect(parseForm({ ...next, strategies }).errors, key).toEqual({});
    }
    expect(withSweepField(f, 'none').sweepValues).toBe('');
  });

  it('parses random valid forms into exactly their numbers', () => {
    const E = loadPreset('tiny-qwen2').experts; // 60: not a power of two
    for (let trial = 0; trial < 50; trial++) {
      const tokens = 1 + rng.int(4096);
      const requests = 1 + rng.int(Math.min(tokens, 16));
      const N = 2 + rng.int(6);
      const P = rng.int(Math.floor(E / N) + 1);
      const L = E - (N - 1) * P;
      const cv = Math.round(rng.uniform(0, 2) * 1000) / 1000;
      const f = form({
        model: 'tiny-qwen2',
        tokens: String(tokens),
        requests: String(requests),
        ranks: String(N),
        local: String(L),
        pull: String(P),
        cv: String(cv),
        fix: rng.next() < 0.5 ? 'on' : 'off',
        split: rng.next() < 0.5 ? 'on' : 'off',
        rankMode: rng.next() < 0.5 ? 'devices' : 'partitions',
      });
      const p = parseForm(f);
      expect(p.errors, withSeed(`trial ${trial}: ${formToQuery(f)}`)).toEqual({});
      const o = runOptions(p.config!, 'dwdp');
      expect(o.tokensPerRank).toBe(tokens);
      expect(o.requestsPerRank).toBe(requests);
      expect(o.ranks).toBe(N);
      expect(o.dwdp.local).toBe(L);
      expect(o.dwdp.pull).toBe(P);
      expect(o.lengthCv).toBe(cv);
      expect(o.link.contentionFix).toBe(f.fix === 'on');
      expect(o.dwdp.splitWeights).toBe(f.split === 'on');
      expect(o.rankMode).toBe(f.rankMode);
    }
  });
});

describe('URL codec', () => {
  const randomText = () => {
    const alphabet = ['a', 'Z', '0', ' ', '&', '=', '?', '#', '%', '+', ',', '/', 'µ', '÷', '漢', '😀', '"', '\n'];
    return Array.from({ length: rng.int(12) }, () => alphabet[rng.int(alphabet.length)]).join('');
  };

  it('round-trips random forms, valid or not', () => {
    for (let trial = 0; trial < 200; trial++) {
      const f = defaultForm();
      for (const k of FIELD_KEYS) if (rng.next() < 0.4) f[k] = randomText();
      const back = queryToForm(formToQuery(f));
      expect(back, withSeed(`trial ${trial}`)).toEqual(f);
    }
  });

  it('keeps links short: defaults are left out, one short parameter per changed field', () => {
    expect(formToQuery(defaultForm())).toBe('');
    const q = formToQuery(form({ tokens: '128', cv: '0.4' }));
    expect(defaultForm().tokens).not.toBe('128');
    expect(q).toBe('t=128&cv=0.4');
    expect(queryToForm('?t=128&cv=0.4&run=1&unknown=x')).toEqual(form({ tokens: '128', cv: '0.4' }));
    // What a link sets nothing with is listed, and run=1 is read.
    expect(readQuery('?t=128&cv=0.4&run=1&unknown=x&t=5&%zz&run2')).toEqual({
      form: form({ tokens: '128', cv: '0.4' }),
      ignored: ['unknown=x', 't=5', '%zz', 'run2'],
      run: true,
    });
    expect(readQuery('?run=yes')).toEqual({ form: defaultForm(), ignored: ['run=yes'], run: false });
    expect(readQuery(formToQuery(form({ tokens: '64', local: '3' }))).ignored).toEqual([]);
    // Parameters are unique.
    expect(new Set(FIELDS.map((f) => f.param)).size).toBe(FIELDS.length);
  });

  it('carries a pasted config.json intact', () => {
    const text = JSON.stringify(publishedConfig('deepseek_v3.json'), null, 2) + '\n// µ漢😀';
    const q = formToQuery(form({ model: 'custom', hf: text }));
    expect(q).toMatch(/^model=custom&hf=[A-Za-z0-9_-]+$/);
    expect(queryToForm(q).hf).toBe(text);
    expect(fromBase64Url(toBase64Url(text))).toBe(text);
  });

  it('parses the same config before and after the trip', () => {
    for (let trial = 0; trial < 10; trial++) {
      const f = form({
        tokens: String(1 + rng.int(1000)),
        cv: String(rng.int(200) / 100),
        seed: String(rng.int(1e6)),
        strategies: ['dep,dwdp', 'dp,dwdp', 'dp,dep,dwdp'][rng.int(3)],
      });
      const a = parseForm(f);
      const b = parseForm(queryToForm(formToQuery(f)));
      expect(b, withSeed(`trial ${trial}`)).toEqual(a);
    }
  });
});
