// The group-run option table (src/options/group.ts) and what derives from it: the parser
// every surface uses (range edges, kinds, strict number syntax), errors as data (option,
// value, detail, suggestion) worded by the CLI with flags and by the page with labels, the
// rules between options, the refusal of options a run would not read, and the CLI's and the
// page's declarations derived from the same table.
import { describe, expect, it } from 'vitest';
import { validPlacements } from '../src/dwdp/placement.ts';
import { GROUP_SPEC } from '../src/cli/moe-group.ts';
import { SHARED_WITH_LAYER_RUN, cliMessage } from '../src/cli/args.ts';
import { loadPreset } from '../src/model/presets.ts';
import { OptionError, formatOptionError } from '../src/options/error.ts';
import {
  DEFAULT_GROUP_OPTIONS,
  GROUP_OPTION,
  GROUP_OPTIONS,
  STRATEGIES,
  checkGroupOptions,
  groupOptionErrors,
  groupRunOptions,
  ruleErrors,
  unusedOptionErrors,
  type GroupRunOptions,
} from '../src/options/group.ts';
import { parseText } from '../src/options/schema.ts';
import { pageMessage } from '../src/ui/config.ts';
import { FIELD, FIELDS, defaultForm } from '../src/ui/fields.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';
import { errorOf } from './option-error.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (m: string) => `${m} (seed ${seed})`;

const cfg = loadPreset('tiny-deepseek'); // E = 64
const opts = (over: Partial<GroupRunOptions> = {}): GroupRunOptions => ({
  ...DEFAULT_GROUP_OPTIONS,
  model: cfg,
  ...over,
});

describe('option parser, from the table', () => {
  it('accepts every numeric option at its range edges and refuses just past them, as data', () => {
    for (const o of GROUP_OPTIONS) {
      if (o.kind !== 'int' && o.kind !== 'number') continue;
      const lo = o.min!;
      const hi = o.max;
      if (!o.minExclusive) expect(parseText(o, String(lo)), o.key).toBe(lo);
      if (hi !== undefined) expect(parseText(o, String(hi)), o.key).toBe(hi);
      const top = hi ?? lo + 1e6;
      const inside =
        o.kind === 'int' ? lo + 1 + rng.int(Math.min(top - lo, 1e6)) : lo + (top - lo) * (0.001 + 0.998 * rng.next());
      expect(parseText(o, String(inside)), withSeed(`${o.key} = ${inside}`)).toBe(inside);

      const below = o.minExclusive ? lo : o.kind === 'int' ? lo - 1 : lo - 1e-3;
      const low = errorOf(() => parseText(o, String(below)));
      expect([low.option, low.value], o.key).toEqual([o.key, String(below)]);
      // The suggestion is the edge itself, which parses.
      if (!o.minExclusive) {
        expect(low.suggestion, o.key).toEqual([{ option: o.key, value: lo }]);
        expect(parseText(o, String(low.suggestion[0].value))).toBe(lo);
      }
      if (hi !== undefined) {
        const high = errorOf(() => parseText(o, String(o.kind === 'int' ? hi + 1 : hi * 1.001 + 1e-3)));
        expect(high.suggestion, o.key).toEqual([{ option: o.key, value: hi }]);
      }
      if (o.kind === 'int') expect(errorOf(() => parseText(o, `${lo}.5`)).option).toBe(o.key);
      for (const junk of ['', 'abc', '0x10', 'Infinity', '1e999', '--1', '1,5'])
        expect(errorOf(() => parseText(o, junk)).detail.join(''), `${o.key} '${junk}'`).toMatch(/^must be /);
    }
  });

  it('refuses seeds outside [0, 2^32) instead of wrapping them', () => {
    const s = GROUP_OPTION.seed;
    expect(parseText(s, String(2 ** 32 - 1))).toBe(2 ** 32 - 1);
    for (const bad of ['1e20', String(2 ** 32), '-1', '1.5'])
      expect(errorOf(() => parseText(s, bad)).option, bad).toBe('seed');
  });

  it('takes exactly the declared choices and on/off', () => {
    for (const o of GROUP_OPTIONS) {
      if (o.kind === 'choice') {
        for (const c of o.choices!) expect(parseText(o, ` ${c} `)).toBe(c);
        expect(errorOf(() => parseText(o, 'nonsense')).detail.join('')).toBe(`must be one of ${o.choices!.join(', ')}`);
      }
      if (o.kind === 'onoff') {
        expect([parseText(o, 'on'), parseText(o, 'off')]).toEqual([true, false]);
        expect(errorOf(() => parseText(o, 'yes')).option).toBe(o.key);
      }
    }
  });
});

describe('errors are data, worded by each surface', () => {
  const e = new OptionError(
    'dwdpLocal',
    5,
    ['makes no DWDP placement'],
    [
      { option: 'dwdpLocal', value: 4 },
      { option: 'dwdpPull', value: 4 },
    ],
  );
  it('the CLI names flags', () => {
    expect(cliMessage(e)).toBe('--dwdp-local 5: makes no DWDP placement; try --dwdp-local 4 --dwdp-pull 4');
  });
  it('the page names field labels', () => {
    expect(pageMessage(e)).toBe(
      'L (experts held) makes no DWDP placement (got 5); try L (experts held) = 4, P (pulled per peer) = 4',
    );
  });
  it('details refer to other options by key, named by the surface', () => {
    const r = errorOf(() => checkGroupOptions(cfg, opts({ tokensPerRank: 8, requestsPerRank: 9 })));
    expect(r.detail).toContainEqual({ option: 'tokens' });
    expect(cliMessage(r)).toBe(
      '--requests 9: cannot exceed --tokens (8): every request has at least one token; try --requests 8',
    );
    expect(formatOptionError(r, (k) => k, 'plain')).toBe(r.message);
  });
});

describe('rules between options', () => {
  it('requests ≤ tokens, for random sizes', () => {
    for (let i = 0; i < 20; i++) {
      const t = 1 + rng.int(1000);
      const r = 1 + rng.int(2000);
      const errs = ruleErrors(cfg.experts, opts({ tokensPerRank: t, requestsPerRank: r }));
      expect(
        errs.some((e) => e.option === 'requests'),
        withSeed(`t=${t} r=${r}`),
      ).toBe(r > t);
    }
  });

  it('strategy-specific group sizes, with the nearest valid size', () => {
    expect(ruleErrors(64, opts({ strategy: 'dwdp', ranks: 1 }))[0].suggestion).toEqual([{ option: 'ranks', value: 2 }]);
    expect(ruleErrors(64, opts({ strategy: 'dp', ranks: 1 }))).toEqual([]);
    const E = 2 + rng.int(60);
    expect(ruleErrors(E, opts({ strategy: 'dep', ranks: E + 1 }))[0].suggestion, withSeed(`E=${E}`)).toEqual([
      { option: 'ranks', value: E },
    ]);
    expect(ruleErrors(E, opts({ strategy: 'dep', ranks: E }))).toEqual([]);
  });

  it('the uniform-ratio law refuses a CV it cannot reach, naming the CV and suggesting one it can', () => {
    const max = 1 / Math.sqrt(3);
    const over = max + rng.next() * (2 - max);
    const errs = ruleErrors(64, opts({ lengthLaw: 'uniform-ratio', lengthCv: over }));
    expect(
      errs.map((e) => e.option),
      withSeed(`CV ${over}`),
    ).toEqual(['lengthCv']);
    expect(errs[0].suggestion[0].value as number).toBeLessThan(max);
    expect(
      ruleErrors(64, opts({ lengthLaw: 'uniform-ratio', lengthCv: errs[0].suggestion[0].value as number })),
    ).toEqual([]);
    expect(ruleErrors(64, opts({ lengthLaw: 'gamma', lengthCv: over }))).toEqual([]);
  });

  it('an invalid DWDP placement suggests a valid (L, P) for the same E and N', () => {
    for (let i = 0; i < 40; i++) {
      const N = 2 + rng.int(10);
      const L = 1 + rng.int(80);
      const P = rng.int(40);
      const valid = validPlacements(64, N).some((c) => c.local === L && c.pull === P);
      const errs = ruleErrors(64, opts({ ranks: N, dwdp: { ...DEFAULT_GROUP_OPTIONS.dwdp, local: L, pull: P } }));
      expect(errs.length === 0, withSeed(`N=${N} L=${L} P=${P}`)).toBe(valid);
      if (valid) continue;
      const [l, p] = errs[0].suggestion.map((s) => s.value as number);
      expect(
        validPlacements(64, N).some((c) => c.local === l && c.pull === p),
        withSeed(`N=${N}: ${cliMessage(errs[0])}`),
      ).toBe(true);
    }
  });

  it('the library check refuses typed values out of range, naming the option', () => {
    expect(groupOptionErrors(cfg, opts())).toEqual([]);
    expect(errorOf(() => checkGroupOptions(cfg, opts({ seed: 2 ** 32 }))).option).toBe('seed');
    expect(errorOf(() => checkGroupOptions(cfg, opts({ layers: 1.5 }))).option).toBe('layers');
    expect(
      errorOf(() => checkGroupOptions(cfg, opts({ link: { ...DEFAULT_GROUP_OPTIONS.link, gbps: 0 } }))).option,
    ).toBe('linkGbps');
    expect(errorOf(() => checkGroupOptions(cfg, opts({ timeDilation: { profile: 'tpu' } }))).option).toBe(
      'timeDilation',
    );
    expect(errorOf(() => checkGroupOptions(cfg, opts({ strategy: 'ep' as never }))).option).toBe('strategy');
  });
});

describe('options a run would not read', () => {
  it('are refused for strategies that do not use them, and accepted for those that do', () => {
    for (const o of GROUP_OPTIONS) {
      if (!o.usedBy) continue;
      const value = o.default ?? 1;
      for (const s of STRATEGIES) {
        const errs = unusedOptionErrors({ [o.key]: value }, { strategies: [s] }).filter((e) => e.option === o.key);
        expect(errs.length, `${o.key} with ${s}`).toBe(o.usedBy.includes(s) ? 0 : 1);
      }
    }
    expect(cliMessage(unusedOptionErrors({ dwdpLocal: 4 }, { strategies: ['dep'] })[0])).toBe(
      '--dwdp-local 4: is read only by dwdp, and the strategy is dep: remove it or choose dwdp',
    );
  });

  it('are refused when another option turns them off, and on the page for the wrong source', () => {
    expect(unusedOptionErrors({ prefetchDepth: 3, prefetch: false }, { strategies: ['dwdp'] })[0].option).toBe(
      'prefetchDepth',
    );
    expect(unusedOptionErrors({ prefetchDepth: 3 }, { strategies: ['dwdp'] })).toEqual([]);
    expect(unusedOptionErrors({ layers: 2 }, { strategies: ['dwdp'], source: 'modeled' })[0].option).toBe('layers');
    expect(unusedOptionErrors({ layers: 2 }, { strategies: ['dwdp'], source: 'measured' })).toEqual([]);
    // Options not given are never refused.
    expect(unusedOptionErrors({}, { strategies: ['dp'], source: 'modeled' })).toEqual([]);
  });
});

describe('the surfaces derive from the table', () => {
  it('the CLI has one flag per option, its help stating the range and the default', () => {
    for (const o of GROUP_OPTIONS) {
      if (SHARED_WITH_LAYER_RUN.has(o.key)) continue;
      const f = GROUP_SPEC[o.flag];
      expect(f, o.flag).toBeDefined();
      if (o.max !== undefined) expect(f.help, o.flag).toContain(String(o.max));
      if (o.default !== undefined && typeof o.default !== 'boolean')
        expect(f.help, o.flag).toContain(`default ${o.default}`);
    }
  });

  it('the page has one field per option with a page field, with its label, kind and default', () => {
    const form = defaultForm();
    for (const o of GROUP_OPTIONS) {
      if (!o.field) continue;
      const f = FIELD[o.field.key as keyof typeof FIELD];
      expect(f.option).toBe(o.key);
      expect(f.label).toBe(o.label);
      expect(f.param).toBe(o.field.param);
      const dflt =
        o.field.default ?? (typeof o.default === 'boolean' ? (o.default ? 'on' : 'off') : String(o.default ?? ''));
      expect(form[f.key], o.key).toBe(dflt);
    }
    expect(FIELDS.filter((f) => f.option).length).toBe(GROUP_OPTIONS.filter((o) => o.field).length);
  });

  it('the defaults build the library defaults', () => {
    const o = groupRunOptions(cfg, {});
    expect(o.ranks).toBe(GROUP_OPTION.ranks.default);
    expect(o.dwdp.local).toBeUndefined();
    expect(o.timeDilation).toEqual({ profile: GROUP_OPTION.timeDilation.default });
    expect(groupRunOptions(cfg, { timeDilation: 'off' }).timeDilation).toBeUndefined();
  });
});
