// The shader lab view's state: which kernel, its shape, variant, runs and seed, as the raw
// text of each field (what the user typed, what the URL carries); parsed and validated as you
// type with a message per field, exactly like the benchmark's panel (config.ts). Only the
// fields a kernel `uses` (src/lab) are shown, validated and written to the URL.
//
// The URL holds the lab's state alone while the lab view is open (`?view=lab&kernel=…`), with
// the lab CLI's option names (`--tokens 64` ↔ `tokens=64`), so a lab link and a terminal
// command say the same thing.
//
// Pure module (Node and browser).
import { routerVariantForms } from '../kernels/routing-params.ts';
import { MAX_HEAD_DIM } from '../kernels/attention.ts';
import { WEIGHT_FORMATS } from '../model/formats.ts';
import { LAB_REGISTRY } from '../lab/registry.ts';
import { DEFAULT_SHAPE, GEMM_STAGES, LAB_KERNELS, type LabKernelName, type LabShape } from '../lab/types.ts';
import { FieldProblem, fieldParsers, got } from './field-parse.ts';

export type LabFieldKey = 'kernel' | keyof LabShape | 'variant' | 'runs' | 'seed';

/** Raw text of every lab field. */
export type LabForm = Record<LabFieldKey, string>;

export interface LabFieldDef {
  key: LabFieldKey;
  /** Query parameter: the lab CLI's option name. */
  param: string;
  label: string;
  unit?: string;
  input: 'select' | 'text';
  options?: readonly string[];
  default: string;
  help: string;
}

const d = DEFAULT_SHAPE;

export const LAB_FIELDS: readonly LabFieldDef[] = [
  {
    key: 'kernel',
    param: 'kernel',
    label: 'Kernel',
    input: 'select',
    options: LAB_KERNELS,
    default: 'expert-gemm',
    help: 'The lab kernel to run (npm run lab -- <kernel>).',
  },
  {
    key: 'tokens',
    param: 'tokens',
    label: 'Tokens T',
    input: 'text',
    default: String(d.tokens),
    help: 'Tokens of the batch.',
  },
  {
    key: 'hidden',
    param: 'hidden',
    label: 'Hidden size H',
    input: 'text',
    default: String(d.hidden),
    help: 'Model hidden size.',
  },
  {
    key: 'expertHidden',
    param: 'expert-hidden',
    label: 'Expert hidden F',
    input: 'text',
    default: String(d.expertHidden),
    help: 'Expert intermediate size (moe_intermediate_size).',
  },
  {
    key: 'experts',
    param: 'experts',
    label: 'Experts E',
    input: 'text',
    default: String(d.experts),
    help: 'Routed experts.',
  },
  { key: 'topK', param: 'topk', label: 'Top-k K', input: 'text', default: String(d.topK), help: 'Experts per token.' },
  {
    key: 'skew',
    param: 'skew',
    label: 'Routing skew',
    input: 'text',
    default: String(d.skew),
    help: '0 = uniform top-k; larger = Zipf-like hot experts.',
  },
  {
    key: 'heads',
    param: 'heads',
    label: 'Attention heads',
    input: 'text',
    default: String(d.heads),
    help: 'Heads of the attention stand-in.',
  },
  {
    key: 'headDim',
    param: 'head-dim',
    label: 'Head size',
    input: 'text',
    default: String(d.headDim),
    help: `Values per head (at most ${MAX_HEAD_DIM}).`,
  },
  {
    key: 'lengths',
    param: 'lengths',
    label: 'Request lengths',
    unit: 'tokens',
    input: 'text',
    default: d.lengths.join(','),
    help: 'Comma list: requests packed back to back (causal attention within each).',
  },
  {
    key: 'format',
    param: 'weights',
    label: 'Weight format',
    input: 'select',
    options: WEIGHT_FORMATS,
    default: d.format,
    help: 'Expert weight format the GEMM decodes in place.',
  },
  {
    key: 'stage',
    param: 'stage',
    label: 'GEMM passes',
    input: 'select',
    options: GEMM_STAGES,
    default: d.stage,
    help: 'gate-up (SwiGLU fused), down, or both.',
  },
  {
    key: 'shared',
    param: 'shared',
    label: 'Shared expert',
    input: 'select',
    options: ['none', 'plain', 'gated'],
    default: d.shared,
    help: 'Combine: add a shared expert’s output (gated: with its sigmoid gate).',
  },
  {
    key: 'scoring',
    param: 'scoring',
    label: 'Router scoring',
    input: 'select',
    options: ['softmax', 'sigmoid'],
    default: d.scoring,
    help: 'softmax (Mixtral/Qwen) or sigmoid (DeepSeek groups, bias, ×2.5).',
  },
  {
    key: 'mib',
    param: 'mib',
    label: 'Copy size',
    unit: 'MiB',
    input: 'text',
    default: '',
    help: 'Blank: 16 MiB on a CPU-emulated adapter, 256 on a GPU.',
  },
  {
    key: 'variant',
    param: 'variant',
    label: 'Variant',
    input: 'text',
    default: '',
    help:
      "Blank: the tuned or default configuration. expert-gemm 'sx4:8x4:2x2', 'sx4:8x4:4x4:quad' (subgroups wider than 4), " +
      `'tile:4x4:8x8', 'naive'…; router ${routerVariantForms(' | ')}; attention 'bk:N'.`,
  },
  {
    key: 'runs',
    param: 'runs',
    label: 'Timed runs',
    input: 'text',
    default: '5',
    help: 'Timed runs per side after one warm-up; min and median are shown.',
  },
  {
    key: 'seed',
    param: 'seed',
    label: 'Seed',
    input: 'text',
    default: '',
    help: 'Seed of the random inputs (both sides share it). Blank: a new one each run, shown with the results.',
  },
];

export const LAB_FIELD: Readonly<Record<LabFieldKey, LabFieldDef>> = Object.fromEntries(
  LAB_FIELDS.map((f) => [f.key, f]),
) as Record<LabFieldKey, LabFieldDef>;

export function defaultLabForm(): LabForm {
  return Object.fromEntries(LAB_FIELDS.map((f) => [f.key, f.default])) as LabForm;
}

const isKernel = (k: string): k is LabKernelName => (LAB_KERNELS as readonly string[]).includes(k);

/** Kernels with configurations to choose (a sweep exists for them). */
const hasVariants = (k: LabKernelName) => LAB_REGISTRY[k].sweepCandidates !== undefined;

/** The fields shown for a kernel, in table order: the kernel, the shape fields it uses, variant, runs, seed. */
export function labFieldsFor(kernel: string): LabFieldDef[] {
  if (!isKernel(kernel)) return [LAB_FIELD.kernel];
  const uses = new Set<string>(LAB_REGISTRY[kernel].uses);
  return LAB_FIELDS.filter(
    (f) =>
      f.key === 'kernel' ||
      uses.has(f.key) ||
      f.key === 'runs' ||
      f.key === 'seed' ||
      (f.key === 'variant' && hasVariants(kernel)),
  );
}

/** What the lab worker runs. `seed` is undefined when the user left it blank (a new one per run). */
export interface LabRequestSpec {
  kernel: LabKernelName;
  shape: LabShape;
  variant?: string;
  runs: number;
  seed?: number;
}

export interface ParsedLabForm {
  /** Null when a shown field has an error. */
  spec: LabRequestSpec | null;
  errors: Partial<Record<LabFieldKey, string>>;
  /** Worth saying, not blocking. */
  warnings: string[];
}

// ---------------------------------------------------------------------------------------
// Field parsers: each returns a value or throws FieldProblem with the message shown
// (field-parse.ts, shared with the benchmark's panel).

const { int, range, choice } = fieldParsers<LabFieldKey>((key) => LAB_FIELD[key].label);

/** Upper bounds: generous for a hardware GPU, and they keep a typo from allocating gigabytes. */
export const LAB_LIMITS = {
  tokens: 65536,
  hidden: 16384,
  expertHidden: 16384,
  experts: 1024,
  heads: 256,
  requests: 64,
  length: 16384,
  mib: 1024,
  runs: 100,
} as const;

function lengths(raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim());
  const bad = parts.find((p) => !/^\d+$/.test(p) || Number(p) > LAB_LIMITS.length);
  if (parts.length === 0 || bad !== undefined)
    throw new FieldProblem(
      `Request lengths must be a comma list of integers from 0 to ${LAB_LIMITS.length} (got ${got(raw)})`,
    );
  if (parts.length > LAB_LIMITS.requests)
    throw new FieldProblem(`Request lengths: at most ${LAB_LIMITS.requests} requests (got ${parts.length})`);
  const list = parts.map(Number);
  if (list.every((x) => x === 0)) throw new FieldProblem('Request lengths must not all be zero');
  return list;
}

/**
 * Blank is fine (the kernel's tuned or default configuration); otherwise the lab's own check for the
 * kernel and shape (LabKernel.variantProblem: the words 'default' and 'auto', the router's hidden-size rule).
 */
function variant(kernel: LabKernelName, raw: string, shape: LabShape): string | undefined {
  const v = raw.trim();
  if (v === '') return undefined;
  const problem = LAB_REGISTRY[kernel].variantProblem?.(v, shape);
  if (problem !== undefined) throw new FieldProblem(problem);
  return v;
}

/** Parse every field the kernel shows; a field it does not show keeps the default (and is not checked). */
export function parseLabForm(form: LabForm): ParsedLabForm {
  const errors: ParsedLabForm['errors'] = {};
  const warnings: string[] = [];
  const kernelRaw = form.kernel.trim();
  if (!isKernel(kernelRaw)) {
    errors.kernel = `unknown lab kernel ${got(form.kernel)} (kernels: ${LAB_KERNELS.join(', ')})`;
    return { spec: null, errors, warnings };
  }
  const kernel = kernelRaw;
  const shown = new Set(labFieldsFor(kernel).map((f) => f.key));
  const field = <T>(key: LabFieldKey, parse: (raw: string) => T, fallback: T): T => {
    if (!shown.has(key)) return fallback;
    try {
      return parse(form[key]);
    } catch (e) {
      if (!(e instanceof FieldProblem)) throw e;
      errors[key] = e.message;
      return fallback;
    }
  };
  const L = LAB_LIMITS;
  const shape: LabShape = {
    tokens: field('tokens', (r) => int('tokens', r, 1, L.tokens), d.tokens),
    hidden: field('hidden', (r) => int('hidden', r, 1, L.hidden), d.hidden),
    expertHidden: field('expertHidden', (r) => int('expertHidden', r, 1, L.expertHidden), d.expertHidden),
    experts: field('experts', (r) => int('experts', r, 1, L.experts), d.experts),
    topK: field('topK', (r) => int('topK', r, 1, L.experts), d.topK),
    skew: field('skew', (r) => range('skew', r, 0, 8), d.skew),
    heads: field('heads', (r) => int('heads', r, 1, L.heads), d.heads),
    headDim: field('headDim', (r) => int('headDim', r, 1, MAX_HEAD_DIM), d.headDim),
    lengths: field('lengths', lengths, [...d.lengths]),
    format: field('format', (r) => choice('format', r, WEIGHT_FORMATS), d.format),
    stage: field('stage', (r) => choice('stage', r, GEMM_STAGES), d.stage),
    shared: field('shared', (r) => choice('shared', r, ['none', 'plain', 'gated'] as const), d.shared),
    scoring: field('scoring', (r) => choice('scoring', r, ['softmax', 'sigmoid'] as const), d.scoring),
  };
  const mib = field('mib', (r) => (r.trim() === '' ? undefined : range('mib', r, 1 / 1024, L.mib)), undefined);
  if (mib !== undefined) shape.mib = mib;
  const v = field('variant', (r) => variant(kernel, r, shape), undefined);
  const runs = field('runs', (r) => int('runs', r, 1, L.runs), 5);
  const seed = field('seed', (r) => (r.trim() === '' ? undefined : int('seed', r, 0, 2 ** 31 - 1)), undefined);
  // Cross-field: the routing draws K distinct experts per token.
  if (shown.has('topK') && !errors.topK && !errors.experts && shape.topK > shape.experts) {
    errors.topK = `Top-k K must be at most the number of experts (E = ${shape.experts}, got ${shape.topK})`;
  }
  const work = labWork(kernel, shape);
  if (work.flops > 2e9)
    warnings.push(
      `${(work.flops / 1e9).toFixed(1)} GFLOP per run: on a CPU-emulated adapter (a few GFLOP/s at best) each run takes seconds.`,
    );
  if (Object.keys(errors).length) return { spec: null, errors, warnings };
  return {
    spec: { kernel, shape, ...(v !== undefined ? { variant: v } : {}), runs, ...(seed !== undefined ? { seed } : {}) },
    errors,
    warnings,
  };
}

/** FLOPs of one run as the lab counts them (0 for memory-bound kernels): for the size warning. */
export function labWork(kernel: LabKernelName, s: LabShape): { flops: number } {
  const gemm = 2 * s.tokens * s.topK * s.hidden * s.expertHidden;
  if (kernel === 'expert-gemm')
    return { flops: s.stage === 'both' ? 3 * gemm : s.stage === 'gate-up' ? 2 * gemm : gemm };
  if (kernel === 'router') return { flops: 2 * s.tokens * s.experts * s.hidden };
  if (kernel === 'attention')
    return { flops: s.lengths.reduce((a, n) => a + 2 * n * (n + 1) * s.heads * s.headDim, 0) };
  return { flops: 0 };
}

// ---------------------------------------------------------------------------------------
// URL: `view=lab` plus the fields the kernel shows that differ from their defaults.

export const LAB_VIEW_PARAM = 'view';

export function labFormToQuery(form: LabForm): string {
  const q = new URLSearchParams();
  q.set(LAB_VIEW_PARAM, 'lab');
  const shown = labFieldsFor(form.kernel.trim());
  for (const f of LAB_FIELDS) {
    if (f.key !== 'kernel' && !shown.includes(f)) continue;
    if (f.key !== 'kernel' && form[f.key] === f.default) continue;
    q.set(f.param, form[f.key]);
  }
  return q.toString();
}

/** Defaults for every field the query does not name; unknown parameters are ignored. */
export function queryToLabForm(query: string): LabForm {
  const q = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const form = defaultLabForm();
  for (const f of LAB_FIELDS) {
    const v = q.get(f.param);
    if (v !== null) form[f.key] = v;
  }
  return form;
}

/** Which view a URL opens: the lab with `view=lab`, else the benchmark. */
export function viewOf(query: string): 'bench' | 'lab' | 'e2e' {
  const v = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query).get(LAB_VIEW_PARAM);
  return v === 'lab' || v === 'e2e' ? v : 'bench';
}

/** The same run from a terminal: `npm run lab -- <kernel> --tokens … --seed S`. */
export function labCommand(spec: LabRequestSpec, seed: number): string {
  const parts = ['npm run lab --', spec.kernel];
  const form = specToForm(spec);
  for (const f of labFieldsFor(spec.kernel)) {
    if (f.key === 'kernel' || f.key === 'seed' || form[f.key] === f.default) continue;
    parts.push(`--${f.param}`, form[f.key]);
  }
  parts.push('--seed', String(seed));
  return parts.join(' ');
}

function specToForm(spec: LabRequestSpec): LabForm {
  const s = spec.shape;
  return {
    ...defaultLabForm(),
    kernel: spec.kernel,
    tokens: String(s.tokens),
    hidden: String(s.hidden),
    expertHidden: String(s.expertHidden),
    experts: String(s.experts),
    topK: String(s.topK),
    skew: String(s.skew),
    heads: String(s.heads),
    headDim: String(s.headDim),
    lengths: s.lengths.join(','),
    format: s.format,
    stage: s.stage,
    shared: s.shared,
    scoring: s.scoring,
    mib: s.mib === undefined ? '' : String(s.mib),
    variant: spec.variant ?? '',
    runs: String(spec.runs),
    seed: spec.seed === undefined ? '' : String(spec.seed),
  };
}
