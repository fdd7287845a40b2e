// From the panel's raw text to run options: every field parsed and validated with a message
// the panel shows beside it, then the cross-field checks (requests ≤ tokens, DWDP placement,
// DEP group size), then the library's own option check as a last word.
//
// Pure module (Node and browser): tested in Node, used by the page and the bench driver.
import { parseMoeConfig, type MoeConfig } from '../model/config.ts';
import { PRESETS, loadPreset } from '../model/presets.ts';
import { WEIGHT_FORMATS, type WeightFormat } from '../model/formats.ts';
import { makePlacement } from '../dwdp/placement.ts';
import { PROFILES, getProfile } from '../hardware/profiles.ts';
import { checkGroupOptions } from '../strategies/options.ts';
import { STRATEGIES, type GroupRunOptions, type StrategyName } from '../strategies/types.ts';
import { FIELD, SWEEPABLE, type FieldKey, type FormState } from './fields.ts';
import { FieldProblem, fieldParsers, got } from './field-parse.ts';

export type Source = 'measured' | 'modeled';

export interface SweepSpec {
  field: FieldKey;
  /** Raw values as typed, each a valid value of the field. */
  values: string[];
}

/** Everything a run of the page needs, parsed. */
export interface PageConfig {
  source: Source;
  /** Preset name, or the custom config's name. */
  modelName: string;
  model: MoeConfig;
  strategies: StrategyName[];
  /** Options of one group run, minus the strategy. `model` is the preset name for presets (cheap to post to a worker). */
  run: Omit<GroupRunOptions, 'strategy'>;
  /** Hardware profile: time dilation of the measured source, the modeled source's hardware. Null when off. */
  profile: string | null;
  sweep: SweepSpec | null;
}

export type FieldErrors = Partial<Record<FieldKey, string>>;

export interface ParsedForm {
  /** Null when any field has an error. */
  config: PageConfig | null;
  errors: FieldErrors;
  /** Worth saying, not blocking (e.g. a full-size model on a CPU-emulated GPU). */
  warnings: string[];
}

/** The group-run options of one strategy. */
export function runOptions(c: PageConfig, strategy: StrategyName): GroupRunOptions {
  return { ...c.run, strategy, dwdp: { ...c.run.dwdp }, link: { ...c.run.link }, attention: { ...c.run.attention } };
}

// ---------------------------------------------------------------------------------------
// Field parsers: each returns a value or throws FieldProblem with the panel's message
// (field-parse.ts, shared with the lab's panel).

const { num, int, range, choice } = fieldParsers<FieldKey>((f) => FIELD[f].label);

function positive(f: FieldKey, raw: string, unit: string): number {
  const v = num(f, raw);
  if (!(v > 0) || !Number.isFinite(v))
    throw new FieldProblem(`${FIELD[f].label} must be a positive number of ${unit} (got ${got(raw)})`);
  return v;
}

function toggle(f: FieldKey, raw: string): boolean {
  return choice(f, raw, ['on', 'off'] as const) === 'on';
}

function optionalInt(f: FieldKey, raw: string, max: number): number | undefined {
  return raw.trim() === '' ? undefined : int(f, raw, 0, max);
}

function strategies(raw: string): StrategyName[] {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new FieldProblem('choose at least one strategy');
  for (const s of list)
    if (!STRATEGIES.includes(s as StrategyName))
      throw new FieldProblem(`unknown strategy '${s}' (strategies: ${STRATEGIES.join(', ')})`);
  // Always in the canonical order, so tables and URLs do not depend on click order.
  return STRATEGIES.filter((s) => list.includes(s));
}

/** The model the form names: a preset, or the pasted config.json. */
export function formModel(form: Pick<FormState, 'model' | 'hf'>): { name: string; config: MoeConfig } {
  const name = form.model.trim();
  if (name === 'custom') {
    const text = form.hf.trim();
    if (text === '') throw new FieldProblem('paste or upload a Hugging Face config.json');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new FieldProblem(`not valid JSON: ${(e as Error).message}`);
    }
    const declared =
      typeof json === 'object' && json !== null ? (json as Record<string, unknown>)._name_or_path : undefined;
    const label = typeof declared === 'string' && declared ? declared.split('/').pop()! : 'custom';
    return { name: label, config: parseMoeConfig(json, { name: label }) };
  }
  if (!Object.hasOwn(PRESETS, name))
    throw new FieldProblem(`unknown model '${name}' (presets: ${Object.keys(PRESETS).join(', ')}, or custom)`);
  return { name, config: loadPreset(name) };
}

/** Which field the library's option messages ('--tokens: …') are about. */
const OPTION_FIELD: Record<string, FieldKey> = {
  strategy: 'strategies',
  'rank-mode': 'rankMode',
  clock: 'clock',
  ranks: 'ranks',
  layers: 'layers',
  tokens: 'tokens',
  requests: 'requests',
  'length-cv': 'cv',
  'routing-skew': 'skew',
  'link-gbps': 'gbps',
  'link-latency-us': 'latency',
  'prefetch-depth': 'depth',
  'attention-heads': 'heads',
  'attention-head-dim': 'headDim',
};

/** Parse and validate the whole form. */
export function parseForm(form: FormState): ParsedForm {
  const errors: FieldErrors = {};
  const warnings: string[] = [];
  const field = <T>(f: FieldKey, parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (e) {
      errors[f] ??= (e as Error).message;
      return undefined;
    }
  };

  const source = field('source', () => choice('source', form.source, ['measured', 'modeled'] as const));
  const model = field(form.model.trim() === 'custom' ? 'hf' : 'model', () => formModel(form));
  const format = field('format', () => choice('format', form.format, WEIGHT_FORMATS as readonly WeightFormat[]));
  const seed = field('seed', () => int('seed', form.seed, 0, 2 ** 32 - 1));
  const strats = field('strategies', () => strategies(form.strategies));
  const ranks = field('ranks', () => int('ranks', form.ranks, 1, 64));
  const rankMode = field('rankMode', () => choice('rankMode', form.rankMode, ['partitions', 'devices'] as const));
  const layers = field('layers', () => int('layers', form.layers, 1, 256));
  const tokens = field('tokens', () => int('tokens', form.tokens, 1, 1 << 20));
  const requests = field('requests', () => int('requests', form.requests, 1, 1 << 20));
  const cv = field('cv', () => range('cv', form.cv, 0, 2));
  const skew = field('skew', () => range('skew', form.skew, 0, 4));
  const local = field('local', () => optionalInt('local', form.local, 1 << 16));
  const pull = field('pull', () => optionalInt('pull', form.pull, 1 << 16));
  const prefetch = field('prefetch', () => toggle('prefetch', form.prefetch));
  const depth = field('depth', () => int('depth', form.depth, 1, 8));
  const split = field('split', () => toggle('split', form.split));
  const linkProfile = field('linkProfile', () =>
    choice('linkProfile', form.linkProfile, [...Object.keys(PROFILES), 'custom']),
  );
  const custom = linkProfile === 'custom';
  const linkFrom = linkProfile && !custom ? getProfile(linkProfile) : undefined;
  const gbps = custom ? field('gbps', () => positive('gbps', form.gbps, 'GB/s')) : linkFrom?.linkGBpsPerDirection;
  const latency = custom
    ? field('latency', () => range('latency', form.latency, 0, 1e6, ' µs'))
    : linkFrom?.linkLatencyUs;
  const fix = field('fix', () => toggle('fix', form.fix));
  const clock = field('clock', () => choice('clock', form.clock, ['virtual', 'wall'] as const));
  const dilation = field('dilation', () => choice('dilation', form.dilation, ['off', ...Object.keys(PROFILES)]));
  const heads = field('heads', () => int('heads', form.heads, 1, 64));
  const headDim = field('headDim', () => int('headDim', form.headDim, 1, 256));

  // Cross-field checks, each reported on the field the user is most likely to change.
  if (tokens !== undefined && requests !== undefined && requests > tokens) {
    errors.requests ??= `${FIELD.requests.label} (${requests}) cannot exceed tokens per rank (${tokens})`;
  }
  const E = model?.config.experts;
  if (strats && ranks !== undefined && E !== undefined) {
    if (strats.includes('dwdp') && ranks < 2) errors.ranks ??= 'DWDP needs at least 2 ranks (with 1 rank it is DP)';
    if (strats.includes('dep') && ranks > E)
      errors.ranks ??= `DEP gives every rank at least one expert: at most ${E} ranks for ${E} experts`;
    if (strats.includes('dwdp') && ranks >= 2 && !errors.local && !errors.pull) {
      try {
        makePlacement(E, ranks, local, pull);
      } catch (e) {
        // The placement's message names a valid nearby choice in CLI words; say it in the panel's.
        const at: FieldKey = local === undefined && pull !== undefined ? 'pull' : 'local';
        errors[at] ??= (e as Error).message.replace(/try --dwdp-local (\d+) --dwdp-pull (\d+)/, 'try L=$1, P=$2');
      }
    }
  }
  if (source === 'modeled' && dilation === 'off')
    errors.dilation ??= 'the modeled source needs a hardware profile: choose one';
  if (source === 'measured' && model && PRESETS[model.name]?.scale === 'published') {
    warnings.push(
      `${model.name} is the full published size: on a CPU-emulated GPU one layer takes minutes. The scaled presets keep its routing at a size that runs here.`,
    );
  }

  const sweepField = field('sweep', () => sweepKey(form.sweep));
  const sweepValues = sweepField ? field('sweepValues', () => sweepValuesOf(form, sweepField)) : undefined;
  const sweep = sweepField && sweepValues ? { field: sweepField, values: sweepValues } : null;
  if (Object.keys(errors).length > 0) return { config: null, errors, warnings };

  const config: PageConfig = {
    source: source!,
    modelName: model!.name,
    model: model!.config,
    strategies: strats!,
    profile: dilation === 'off' ? null : dilation!,
    sweep,
    run: {
      model: Object.hasOwn(PRESETS, model!.name) && form.model.trim() !== 'custom' ? model!.name : model!.config,
      format: format!,
      seed: seed!,
      ranks: ranks!,
      rankMode: rankMode!,
      layers: layers!,
      tokensPerRank: tokens!,
      requestsPerRank: requests!,
      lengthCv: cv!,
      routingSkew: skew!,
      dwdp: {
        ...(local !== undefined ? { local } : {}),
        ...(pull !== undefined ? { pull } : {}),
        prefetch: prefetch!,
        prefetchDepth: depth!,
        splitWeights: split!,
      },
      link: { gbps: gbps!, latencyUs: latency!, contentionFix: fix! },
      clock: clock!,
      ...(dilation !== 'off' ? { timeDilation: { profile: dilation! } } : {}),
      attention: { heads: heads!, headDim: headDim! },
    },
  };
  // The library's own check, per strategy: anything it rejects the panel rejects too.
  for (const s of config.strategies) {
    try {
      checkGroupOptions(config.model, runOptions(config, s));
    } catch (e) {
      const msg = (e as Error).message;
      const m = /^--([\w-]+): (.*)$/s.exec(msg);
      const at = (m && OPTION_FIELD[m[1]]) || 'strategies';
      errors[at] ??= m ? `${FIELD[at].label} ${m[2]}` : msg;
    }
  }
  if (Object.keys(errors).length > 0) return { config: null, errors, warnings };
  return { config, errors, warnings };
}

function sweepKey(raw: string): FieldKey | null {
  const f = raw.trim();
  if (f === 'none') return null;
  if (!Object.hasOwn(SWEEPABLE, f))
    throw new FieldProblem(
      `${FIELD.sweep.label} must be none or one of ${Object.keys(SWEEPABLE).join(', ')} (got ${got(raw)})`,
    );
  return f as FieldKey;
}

/** The swept values, each checked by parsing the form with it. */
function sweepValuesOf(form: FormState, key: FieldKey): string[] {
  const values = form.sweepValues
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (values.length < 2) throw new FieldProblem(`give at least two comma-separated values of ${FIELD[key].label}`);
  if (new Set(values).size !== values.length) throw new FieldProblem('sweep values repeat');
  for (const v of values) {
    const point = parseForm(sweepPointForm(form, { field: key, values }, v));
    const bad = point.errors[key] ?? Object.values(point.errors)[0];
    if (bad) throw new FieldProblem(`value '${v}': ${bad}`);
  }
  return values;
}

/** The form of one sweep point. */
export function sweepPointForm(form: FormState, sweep: SweepSpec, value: string): FormState {
  const point = { ...form, [sweep.field]: value, sweep: 'none', sweepValues: '' };
  // A swept bandwidth replaces the link profile's own.
  if (sweep.field === 'gbps' && point.linkProfile !== 'custom') point.linkProfile = 'custom';
  return point;
}
