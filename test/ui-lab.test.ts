// The lab view's pure logic: its state survives a URL round trip (random valid and invalid
// forms of every kernel); each bad field gets its message, only the fields a kernel uses are
// checked and shown; compile diagnostics land on the right editor line and word; program
// origins cover every line.
import { describe, expect, it } from 'vitest';
import {
  LAB_FIELDS,
  LAB_FIELD,
  defaultLabForm,
  labCommand,
  labFieldsFor,
  labFormToQuery,
  parseLabForm,
  queryToLabForm,
  viewOf,
  type LabFieldKey,
  type LabForm,
} from '../src/ui/lab-state.ts';
import { diagnosticsByKey, editedKeyOf, programOrigins, toEditorDiagnostics } from '../src/ui/lab-diagnostics.ts';
import { failureText, labAb, labAbText, labRows, labSpeedup } from '../src/ui/lab-summary.ts';
import type { LabRunReport } from '../src/ui/lab-runner.ts';
import type { LabResult } from '../src/lab/run.ts';
import { LAB_REGISTRY } from '../src/lab/registry.ts';
import { DEFAULT_SHAPE, LAB_KERNELS } from '../src/lab/types.ts';
import { routerVariantForms } from '../src/kernels/routing-params.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (msg: string) => `${msg} (seed ${seed})`;
const form = (over: Partial<LabForm> = {}): LabForm => ({ ...defaultLabForm(), ...over });

describe('lab view state', () => {
  it('defaults to the benchmark expert-gemm shape, five runs and a fresh seed', () => {
    const p = parseLabForm(defaultLabForm());
    expect(p.errors).toEqual({});
    expect(p.spec).toEqual({
      kernel: 'expert-gemm',
      shape: { ...DEFAULT_SHAPE, lengths: [...DEFAULT_SHAPE.lengths] },
      runs: 5,
    });
    expect(labFormToQuery(defaultLabForm())).toBe('view=lab&kernel=expert-gemm');
  });

  it('shows each kernel the fields it uses, plus variant where it has configurations, runs and seed', () => {
    for (const k of LAB_KERNELS) {
      const keys = labFieldsFor(k).map((f) => f.key);
      const uses = LAB_REGISTRY[k].uses as readonly string[];
      expect(keys[0]).toBe('kernel');
      for (const u of uses) expect(keys, `${k} uses ${u}`).toContain(u);
      for (const f of keys) expect(['kernel', 'variant', 'runs', 'seed', ...uses], `${k} shows ${f}`).toContain(f);
      expect(keys.includes('variant')).toBe(LAB_REGISTRY[k].sweepCandidates !== undefined);
    }
    expect(labFieldsFor('expert-gemm').map((f) => f.key)).toEqual([
      'kernel',
      'tokens',
      'hidden',
      'expertHidden',
      'experts',
      'topK',
      'skew',
      'format',
      'stage',
      'variant',
      'runs',
      'seed',
    ]);
  });

  // [kernel, field, bad raw value, the message shown beside it]
  const cases: [string, LabFieldKey, string, string][] = [
    ['expert-gemm', 'tokens', '12x', "Tokens T must be a number (got '12x')"],
    ['expert-gemm', 'tokens', '0', "Tokens T must be an integer from 1 to 65536 (got '0')"],
    ['expert-gemm', 'hidden', '', 'Hidden size H must be a number (got nothing)'],
    ['expert-gemm', 'expertHidden', '2.5', "Expert hidden F must be an integer from 1 to 16384 (got '2.5')"],
    ['expert-gemm', 'topK', '40', 'Top-k K must be at most the number of experts (E = 32, got 40)'],
    ['expert-gemm', 'skew', '-1', "Routing skew must be between 0 and 8 (got '-1')"],
    ['expert-gemm', 'format', 'bf16', "Weight format must be one of f32, int8, fp8, nvfp4, mxfp4 (got 'bf16')"],
    ['expert-gemm', 'stage', 'up', "GEMM passes must be one of gate-up, down, both (got 'up')"],
    [
      'expert-gemm',
      'variant',
      'sx4:6x4:2x2',
      'bad GEMM variant sx4:6x4:2x2: sx4 rows must be a multiple of 4 (e.g. 8)',
    ],
    [
      'expert-gemm',
      'variant',
      'fast',
      "bad GEMM variant 'fast' (expected 'naive', kind:rows×cols:groupRows×groupCols[:loop][:quad][:f16] with kind tile, sx4, sw4 " +
        "or wg, or sgm:rows×cols[:M×N×K][:f16], e.g. 'sx4:8x4:2x2', 'sx4:8x4:4x4:quad', 'wg:4x4:8x8:f16' or 'sgm:2x2:16x16x16:f16')",
    ],
    ['expert-gemm', 'runs', '0', "Timed runs must be an integer from 1 to 100 (got '0')"],
    ['expert-gemm', 'seed', '-3', "Seed must be an integer from 0 to 2147483647 (got '-3')"],
    ['router', 'variant', 'tb:32', "'tb:32': tokens per workgroup 32 is above 16 (use 'tb:16')"],
    ['router', 'variant', 'bk:4', "expected 'tb:N', 'fused:tb:N' or 'pt:N' with N a positive integer, got 'bk:4'"],
    ['router', 'scoring', 'relu', "Router scoring must be one of softmax, sigmoid (got 'relu')"],
    ['attention', 'headDim', '512', "Head size must be an integer from 1 to 256 (got '512')"],
    ['attention', 'lengths', '4,,2', "Request lengths must be a comma list of integers from 0 to 16384 (got '4,,2')"],
    ['attention', 'lengths', '0,0', 'Request lengths must not all be zero'],
    ['combine', 'shared', 'both', "Shared expert must be one of none, plain, gated (got 'both')"],
    ['copy', 'mib', '0', "Copy size must be between 0.0009765625 and 1024 (got '0')"],
    ['nope', 'kernel', 'nope', `unknown lab kernel 'nope' (kernels: ${LAB_KERNELS.join(', ')})`],
  ];
  for (const [kernel, key, raw, message] of cases) {
    it(`rejects ${kernel} ${key} = '${raw}'`, () => {
      const p = parseLabForm(form({ kernel, [key]: raw }));
      expect(p.spec).toBeNull();
      expect(p.errors[key]).toBe(message);
      // Only that field is wrong.
      expect(Object.keys(p.errors)).toEqual([key]);
    });
  }

  it("checks a variant with the lab's own rule for the kernel and shape", () => {
    // 'auto' is the GEMM's word for the tuning cache's choice, as on the command line.
    const auto = parseLabForm(form({ variant: 'auto' }));
    expect(auto.errors).toEqual({});
    expect(auto.spec?.variant).toBe('auto');
    // The router's 'pt:N' takes its logits from the GEMM pass: only with hidden % 4 == 0.
    const odd = parseLabForm(form({ kernel: 'router', hidden: '6', variant: 'pt:16' }));
    expect(odd.spec).toBeNull();
    expect(odd.errors).toEqual({
      variant:
        "'pt:16' takes its logits from the GEMM pass, which needs hidden % 4 == 0 (hidden = 6; use 'fused:tb:N')",
    });
    expect(parseLabForm(form({ kernel: 'router', hidden: '8', variant: 'pt:16' })).spec?.variant).toBe('pt:16');
  });

  it('does not check fields the kernel does not show', () => {
    const p = parseLabForm(form({ kernel: 'copy', tokens: 'garbage', lengths: '', variant: 'whatever' }));
    expect(p.errors).toEqual({});
    expect(p.spec?.variant).toBeUndefined();
  });

  it('parses random valid forms into exactly the numbers they hold', () => {
    for (let i = 0; i < 50; i++) {
      const kernel = LAB_KERNELS[rng.int(LAB_KERNELS.length)];
      const experts = 1 + rng.int(300);
      const f = form({
        kernel,
        tokens: String(1 + rng.int(5000)),
        hidden: String(1 + rng.int(4096)),
        experts: String(experts),
        topK: String(1 + rng.int(experts)),
        skew: rng.uniform(0, 3).toFixed(2),
        lengths: Array.from({ length: 1 + rng.int(5) }, () => 1 + rng.int(300)).join(', '),
        runs: String(1 + rng.int(20)),
        seed: rng.int(2) ? '' : String(rng.int(2 ** 31)),
      });
      const p = parseLabForm(f);
      expect(p.errors, withSeed(JSON.stringify(f))).toEqual({});
      const s = p.spec!;
      expect(s.kernel).toBe(kernel);
      const shown = new Set(labFieldsFor(kernel).map((x) => x.key));
      if (shown.has('tokens')) expect(s.shape.tokens).toBe(Number(f.tokens));
      if (shown.has('topK')) expect(s.shape.topK).toBe(Number(f.topK));
      if (shown.has('skew')) expect(s.shape.skew).toBe(Number(f.skew));
      if (shown.has('lengths')) expect(s.shape.lengths).toEqual(f.lengths.split(',').map(Number));
      expect(s.runs).toBe(Number(f.runs));
      expect(s.seed).toBe(f.seed === '' ? undefined : Number(f.seed));
    }
  });

  it('round-trips any form through the URL (fields the kernel shows), valid or not', () => {
    const junk = ['', ' ', '12x', 'a&b=c', 'ü,ß', '%20', '1e3', '+', 'sx4:8x4:2x2', '#x'];
    for (let i = 0; i < 60; i++) {
      const kernel = LAB_KERNELS[rng.int(LAB_KERNELS.length)];
      const f = form({ kernel });
      for (const def of labFieldsFor(kernel))
        if (def.key !== 'kernel' && rng.int(2)) f[def.key] = junk[rng.int(junk.length)];
      const q = labFormToQuery(f);
      expect(viewOf(q)).toBe('lab');
      const back = queryToLabForm(q);
      for (const def of labFieldsFor(kernel)) expect(back[def.key], withSeed(`${def.key} via ${q}`)).toBe(f[def.key]);
      expect(parseLabForm(back).errors).toEqual(parseLabForm(f).errors);
    }
    // Parameters are the lab CLI's option names.
    const q = labFormToQuery(form({ kernel: 'attention', headDim: '32', lengths: '7,3' }));
    expect(q).toBe('view=lab&kernel=attention&head-dim=32&lengths=7%2C3');
    expect(viewOf('?t=48&seed=3')).toBe('bench');
    expect(viewOf('')).toBe('bench');
    expect(viewOf('?view=e2e')).toBe('e2e');
    expect(viewOf('?view=other')).toBe('bench');
  });

  it('says the same run as a terminal command', () => {
    const p = parseLabForm(form({ tokens: '64', format: 'nvfp4', variant: 'naive' }));
    expect(labCommand(p.spec!, 42)).toBe(
      'npm run lab -- expert-gemm --tokens 64 --weights nvfp4 --variant naive --seed 42',
    );
  });

  it('warns (without blocking) when a run is seconds of work on an emulated adapter', () => {
    const p = parseLabForm(form({ tokens: '8192' }));
    expect(p.spec).not.toBeNull();
    expect(p.warnings.join(' ')).toMatch(/GFLOP per run/);
    expect(parseLabForm(defaultLabForm()).warnings).toEqual([]);
  });

  it("the variant help lists the router's forms from their one declaration", () => {
    expect(LAB_FIELD.variant.help).toContain(`router ${routerVariantForms(' | ')};`);
  });

  it('labels every field', () => {
    for (const f of LAB_FIELDS) expect(LAB_FIELD[f.key].label.length).toBeGreaterThan(2);
  });
});

describe('compile diagnostics in the editor', () => {
  it('puts each diagnostic on its line, over the word at its column', () => {
    const n = 5 + rng.int(30);
    const lines = Array.from({ length: n }, (_, i) => `  let v${i} = f(x${i}, 1.5);`);
    const line = 1 + rng.int(n);
    const word = `x${line - 1}`;
    const column = lines[line - 1].indexOf(word) + 1;
    const code = lines.join('\n') + '\n';
    const [d] = toEditorDiagnostics(code, [{ line, column, message: `unresolved value '${word}'` }]);
    expect(d.line).toBe(line);
    expect(d.column).toBe(column);
    expect(code.slice(d.from, d.to), withSeed('underlined text')).toBe(word);
    expect(d.approximate).toBe(false);
  });

  it('underlines one character at punctuation, nothing at a line end, and clamps impossible positions', () => {
    const code = 'fn f() {\n  return 1u +;\n}\n';
    const [punct, end, beyond, zero, far] = toEditorDiagnostics(code, [
      { line: 2, column: 14, message: 'expected expression' },
      { line: 2, column: 15, message: 'end' },
      { line: 3, column: 40, message: 'column past the end' },
      { line: 0, column: 0, message: 'no position' },
      { line: 99, column: 1, message: 'past the last line' },
    ]);
    expect(code.slice(punct.from, punct.to)).toBe(';');
    expect(end.from).toBe(end.to);
    expect(end.approximate).toBe(false);
    expect(beyond).toMatchObject({ line: 3, column: 2, approximate: true });
    expect(zero).toMatchObject({ line: 1, column: 1, from: 0, approximate: true });
    expect(far).toMatchObject({ line: 3, approximate: true });
    expect(code.slice(far.from, far.to)).toBe('}');
  });

  it('groups diagnostics by the edited pipeline they belong to', () => {
    const key = 'expert_gemm gate_up sx4:8x4:2x2 f32 H32 F16 E4 S1 B128x128';
    const by = diagnosticsByKey([
      { file: `<edited: ${key}>`, line: 3, column: 1, message: 'a' },
      { file: 'shaders/router.wgsl', line: 9, column: 1, message: 'not edited' },
      { file: `<edited: ${key}>`, line: 7, column: 2, message: 'b' },
    ]);
    expect([...by.keys()]).toEqual([key]);
    expect(by.get(key)!.map((d) => d.message)).toEqual(['a', 'b']);
    expect(editedKeyOf('shaders/x.wgsl')).toBeUndefined();
  });

  it('summarises where every line of a program came from', () => {
    const parts = [
      ['<generated: gemm>', 1 + rng.int(5)],
      ['shaders/expert_gemm.wgsl', 1 + rng.int(50)],
      ['<generated: gemm>', 1 + rng.int(5)],
    ] as const;
    const lineMap = parts.flatMap(([file, n]) => Array.from({ length: n }, (_, i) => ({ file, line: i + 1 })));
    const o = programOrigins(lineMap);
    expect(o.map((x) => x.file)).toEqual(parts.map((p) => p[0]));
    expect(o[0].first).toBe(1);
    expect(o[2].last).toBe(lineMap.length);
    for (let i = 1; i < o.length; i++) expect(o[i].first).toBe(o[i - 1].last + 1);
  });
});

describe('lab results as text', () => {
  const result = (over: Partial<LabResult>): LabResult => ({
    kernel: 'copy',
    shape: {},
    variant: '-',
    variantSource: 'fixed',
    seed: 7,
    relErr: 0,
    tolerance: 0,
    checkOk: true,
    check: 'all values exact',
    medianMs: 2,
    minMs: 1.5,
    runs: 3,
    timing: 'timestamp-query',
    bound: 'memory',
    flops: 0,
    bytes: 8e6,
    gflops: null,
    gbps: 4,
    ceilingGflops: null,
    ceilingGbps: 8,
    fractionOfCeiling: 0.5,
    adapter: 'test adapter',
    measured: 'here',
    ...over,
  });
  const report = (edited: LabRunReport['edited']): LabRunReport => ({
    kernel: 'copy',
    seed: 7,
    adapter: 'test adapter',
    pipelines: [],
    original: { ok: true, result: result({}) },
    edited,
    editedKeys: edited ? ['copy_words'] : [],
    ignoredEdits: [],
    ab: null,
  });

  it('labels units by the kernel’s bound and shows both sides', () => {
    const median = 0.5 + rng.uniform(0, 4);
    const r = report({
      ok: true,
      result: result({
        checkOk: false,
        check: 'first difference at 3',
        relErr: 0.25,
        medianMs: median,
        gbps: 8e6 / median / 1e6,
        fractionOfCeiling: 8e6 / median / 1e6 / 8,
      }),
    });
    const rows = Object.fromEntries(labRows(r).map((x) => [x.id, x]));
    expect(rows.check.original).toBe('pass: all values exact');
    expect(rows.check.edited).toBe('FAIL: first difference at 3');
    expect(rows.rate.original).toBe('4.00 GB/s');
    expect(rows.ceiling.label).toBe('ceiling: copy bandwidth');
    expect(rows.fraction.original).toBe('50.0 %');
    expect(rows['median-ms'].original).toBe('2.00 ms (3 runs, timestamp-query)');
    expect(labSpeedup(r)).toBeCloseTo(2 / median, 12);
  });

  it('A/B rounds: the median paired ratio with its range, and within noise only when the rounds do not separate', () => {
    const n = 3 + rng.int(6);
    const drift = Array.from({ length: n }, () => rng.uniform(0.5, 3)); // the adapter's speed, round by round
    const lowerMedian = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    // A real 2× speed-up: every round's edited time is 0.45–0.55 of its unedited one, and with
    // a drift of at most ±10 % the two sides' ranges cannot meet.
    const base = rng.uniform(1, 10);
    const aReal = drift.map(() => base * rng.uniform(0.9, 1.1));
    const bReal = aReal.map((a) => a * rng.uniform(0.45, 0.55));
    const real = labAb({ ab: { originalMs: aReal, editedMs: bReal } })!;
    const ratios = aReal.map((a, i) => a / bReal[i]);
    expect(real.rounds).toBe(n);
    expect(real.speedup).toBe(lowerMedian(ratios));
    expect(real.speedupMin).toBe(Math.min(...ratios));
    expect(real.speedupMax).toBe(Math.max(...ratios));
    expect(real.original.medianMs).toBe(lowerMedian(aReal));
    expect(real.edited.spread).toBeCloseTo((Math.max(...bReal) - Math.min(...bReal)) / lowerMedian(bReal), 12);
    expect(real.withinNoise, `rounds ${JSON.stringify(ratios)}`).toBe(false);
    expect(labAbText(real)).toMatch(/faster in every round, beyond both sides’ spread\.$/);
    // A comment-only edit: the same kernel under the drift, one round each way by construction.
    const aSame = drift.map((d) => d * rng.uniform(0.95, 1.05));
    const bSame = aSame.map((a) => a * rng.uniform(0.97, 1.03));
    bSame[0] = aSame[0] * 1.02;
    bSame[1] = aSame[1] * 0.98;
    const same = labAb({ ab: { originalMs: aSame, editedMs: bSame } })!;
    expect(same.withinNoise).toBe(true);
    expect(labAbText(same)).toMatch(/within noise/);
    expect(labAb({ ab: null })).toBeNull();
  });

  it('says a failure in words and has no speed-up without two results', () => {
    const compile = {
      ok: false as const,
      failure: {
        kind: 'compile' as const,
        message: 'x',
        diagnostics: [{ file: '<edited: k>', line: 12, column: 5, message: "unresolved value 'q'" }],
      },
    };
    const r = report(compile);
    expect(labRows(r)[0].edited).toBe("WGSL compile error: line 12:5: unresolved value 'q'");
    expect(labRows(r).find((x) => x.id === 'rate')!.edited).toBe('—');
    expect(labSpeedup(r)).toBeNull();
    expect(labRows(report(null))[0].edited).toBe('no edits');
    expect(failureText({ kind: 'device-lost', message: 'GPU device lost (unknown)', diagnostics: [] })).toMatch(
      /lost: .*The next run opens a new device/,
    );
    expect(failureText({ kind: 'validation', message: 'edited: binding 5 missing', diagnostics: [] })).toBe(
      'WebGPU validation error: edited: binding 5 missing',
    );
  });
});
