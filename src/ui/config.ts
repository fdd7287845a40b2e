// From the panel's raw text to run options: every field parsed and validated with a message
// the panel shows beside it, then options set that the run would not read, then the rules
// between options (requests ≤ tokens, DWDP placement, DEP group size), then the library's own
// option check as a last word. Option fields, their ranges and the rules are declared once
// in src/options/group.ts, which the CLI and the library use too.
//
// Pure module (Node and browser): tested in Node, used by the page and the bench driver.
import { parseMoeConfig, type MoeConfig } from '../model/config.ts';
import { PRESETS, loadPreset } from '../model/presets.ts';
import { PROFILES, getProfile } from '../hardware/profiles.ts';
import { OptionError, formatOptionError } from '../options/error.ts';
import {
  GROUP_OPTION,
  STRATEGIES,
  groupOptionErrors,
  groupRunOptions,
  ruleErrors,
  unusedOptionErrors,
  type GroupRunOptions,
  type GroupValues,
  type Source,
  type StrategyName,
} from '../options/group.ts';
import { parseText } from '../options/schema.ts';
import { FIELD, FIELDS, SWEEPABLE, type FieldKey, type FormState } from './fields.ts';
import { FieldProblem, fieldParsers, got } from './field-parse.ts';

export type { Source } from '../options/group.ts';

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
  /** Measured runs per strategy and point, interleaved (1 for the modeled source, which is deterministic). */
  repeat: number;
}

/** The most repetitions a measured comparison runs. */
export const MAX_REPEAT = 20;

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
// Field parsers. Run-option fields parse with their declaration (src/options); its errors
// (OptionError, data) are worded here with field labels. Page-only fields throw FieldProblem
// with the panel's message (field-parse.ts, shared with the lab's panel).

const { choice } = fieldParsers<FieldKey>((f) => FIELD[f].label);

/** The field that shows an option's errors. */
const FIELD_OF: Readonly<Record<string, FieldKey>> = {
  ...Object.fromEntries(FIELDS.filter((f) => f.option).map((f) => [f.option!, f.key])),
  strategy: 'strategies',
};

/** An option's name on the page: its field's label. */
const labelOf = (option: string): string => (FIELD_OF[option] ? FIELD[FIELD_OF[option]].label : option);

/** An option error in the panel's words: "Ranks N must be an integer from 1 to 64 (got '65'); try Ranks N = 64". */
export function pageMessage(e: OptionError): string {
  return formatOptionError(e, labelOf, 'page');
}

/** The field an option error belongs on. */
export const fieldOfOption = (option: string): FieldKey => FIELD_OF[option] ?? 'strategies';

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
  // A pasted config.json is read only by the custom model: with a preset it would be ignored.
  if (form.model.trim() !== 'custom' && form.hf.trim() !== '')
    errors.model ??= `a config.json is given but the model is ${form.model.trim()}: choose custom to use it, or remove it`;
  const strats = field('strategies', () => strategies(form.strategies));
  const repeat = field('repeat', () => repeatOf(form.repeat, source));
  const linkProfile = field('linkProfile', () =>
    choice('linkProfile', form.linkProfile, [...Object.keys(PROFILES), 'custom']),
  );
  const custom = linkProfile === 'custom';
  const linkFrom = linkProfile && !custom ? getProfile(linkProfile) : undefined;

  // Every run-option field, parsed by its declaration. The link's numbers come from the
  // profile unless the link is custom; `given` holds the options set away from the page's
  // defaults (those must be read by the run).
  const values: GroupValues = {};
  const given: GroupValues = {};
  for (const f of FIELDS) {
    if (!f.option) continue;
    const decl = GROUP_OPTION[f.option];
    if ((f.key === 'gbps' || f.key === 'latency') && !custom) {
      if (linkFrom) values[f.option] = f.key === 'gbps' ? linkFrom.linkGBpsPerDirection : linkFrom.linkLatencyUs;
      // A number the run would not read (the profile's link wins): refused, on the link's field.
      if (linkFrom && form[f.key].trim() !== f.default)
        errors.linkProfile ??=
          `${f.label} ${form[f.key].trim()} is read only with the custom link (this one follows the ${linkFrom.id} profile): ` +
          `choose custom, or reset ${f.label.toLowerCase()} to ${f.default}`;
      continue;
    }
    const raw = form[f.key];
    if (decl.default === undefined && raw.trim() === '') continue; // automatic (L, P)
    try {
      values[f.option] = parseText(decl, raw);
      if (raw.trim() !== f.default) given[f.option] = values[f.option];
    } catch (e) {
      if (!(e instanceof OptionError)) throw e;
      errors[f.key] ??= pageMessage(e);
    }
  }

  // Options the run would not read, then the rules between options, per strategy.
  if (strats && source) {
    for (const e of unusedOptionErrors(given, { strategies: strats, source }))
      errors[fieldOfOption(e.option)] ??= pageMessage(e);
  }
  const E = model?.config.experts;
  if (strats && E !== undefined && Object.keys(errors).length === 0) {
    for (const s of strats)
      for (const e of ruleErrors(E, groupRunOptions('', { ...values, strategy: s }))) {
        const at = fieldOfOption(e.option);
        errors[at] ??= pageMessage(e);
      }
  }
  const dilation = values.timeDilation as string | undefined;
  if (source === 'modeled' && dilation === 'off')
    errors.dilation ??= 'the modeled source needs a hardware profile: choose one';
  if (source === 'measured' && model && PRESETS[model.name]?.scale === 'published') {
    warnings.push(
      `${model.name} is the full published size: on a CPU-emulated GPU one layer takes minutes. The scaled presets keep its routing at a size that runs here.`,
    );
  }

  const sweepField = field('sweep', () => sweepKey(form.sweep));
  // Each sweep value is checked against the rest of the form; a problem the form has anyway is
  // reported once, on its own field, not again on the sweep values.
  const baseErrors = { ...errors };
  const sweepValues = sweepField ? field('sweepValues', () => sweepValuesOf(form, sweepField, baseErrors)) : undefined;
  const sweep = sweepField && sweepValues ? { field: sweepField, values: sweepValues } : null;
  if (Object.keys(errors).length > 0) return { config: null, errors, warnings };

  const {
    model: _unused,
    strategy: _s,
    ...run
  } = groupRunOptions(
    Object.hasOwn(PRESETS, model!.name) && form.model.trim() !== 'custom' ? model!.name : model!.config,
    values,
  );
  const config: PageConfig = {
    source: source!,
    modelName: model!.name,
    model: model!.config,
    strategies: strats!,
    profile: dilation === 'off' ? null : dilation!,
    sweep,
    repeat: repeat!,
    run: { model: _unused, ...run },
  };
  // The library's own check, per strategy: anything it rejects the panel rejects too.
  for (const s of config.strategies)
    for (const e of groupOptionErrors(config.model, runOptions(config, s)))
      errors[fieldOfOption(e.option)] ??= pageMessage(e);
  if (Object.keys(errors).length > 0) return { config: null, errors, warnings };
  return { config, errors, warnings };
}

function repeatOf(raw: string, source: Source | undefined): number {
  const t = raw.trim();
  const n = Number(t);
  if (t === '' || !Number.isInteger(n) || n < 1 || n > MAX_REPEAT)
    throw new FieldProblem(`${FIELD.repeat.label} must be an integer from 1 to ${MAX_REPEAT} (got ${got(raw)})`);
  if (source === 'modeled' && n !== 1)
    throw new FieldProblem(
      `${FIELD.repeat.label} ${n} is read only by measured runs (the modeled source is deterministic): set it to 1`,
    );
  return n;
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
function sweepValuesOf(form: FormState, key: FieldKey, formErrors: FieldErrors): string[] {
  const values = form.sweepValues
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (values.length < 2) throw new FieldProblem(`give at least two comma-separated values of ${FIELD[key].label}`);
  if (new Set(values).size !== values.length) throw new FieldProblem('sweep values repeat');
  for (const v of values) {
    const point = parseForm(sweepPointForm(form, { field: key, values }, v));
    const own = Object.entries(point.errors).filter(([k]) => k === key || !Object.hasOwn(formErrors, k));
    const bad = point.errors[key] ?? own[0]?.[1];
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
