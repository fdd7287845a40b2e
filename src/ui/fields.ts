// The configuration panel's fields: one table that the form, the URL codec, the validator
// and the bench scenarios all read. Fields that are run options (ranks, tokens, the DWDP and
// link options…) derive from the option table (src/options/group.ts): label, unit, help,
// kind, choices and range are declared there once; this file adds the page-only fields
// (source, model, strategies, link profile, sweep) and the panel's order. The defaults are the default bench scenario
// (bench/scenarios/default.json): tiny-mixtral at 1024 tokens per rank has DeepSeek-R1's
// tokens per expert at ISL 8K (1024·K/E = 256), so its compute-to-pull ratio is R1's. A form's state is the raw text of every field (what
// the user typed, what the URL carries); src/ui/config.ts turns it into run options.
//
// Pure module (Node and browser).
import { PRESETS } from '../model/presets.ts';
import { PROFILES } from '../hardware/profiles.ts';
import { GROUP_OPTION, type FieldGroup, type GroupOptionDecl, type GroupOptionKey } from '../options/group.ts';

export type { FieldGroup } from '../options/group.ts';

export type FieldKey =
  | 'source'
  | 'model'
  | 'hf'
  | 'format'
  | 'seed'
  | 'strategies'
  | 'ranks'
  | 'rankMode'
  | 'layers'
  | 'tokens'
  | 'requests'
  | 'cv'
  | 'skew'
  | 'local'
  | 'pull'
  | 'prefetch'
  | 'depth'
  | 'split'
  | 'linkProfile'
  | 'gbps'
  | 'latency'
  | 'fix'
  | 'clock'
  | 'dilation'
  | 'heads'
  | 'headDim'
  | 'sweep'
  | 'sweepValues'
  | 'repeat';

/** Raw text of every field. */
export type FormState = Record<FieldKey, string>;

export interface FieldDef {
  key: FieldKey;
  /** Query-string parameter (short, stable: shared links depend on it). */
  param: string;
  label: string;
  unit?: string;
  group: FieldGroup;
  /** How the panel renders it. 'toggle' holds 'on' | 'off'; 'checks' a comma list. */
  input: 'select' | 'number' | 'text' | 'textarea' | 'toggle' | 'checks';
  options?: readonly { value: string; label: string }[];
  default: string;
  help: string;
  /** The run option this field sets (src/options/group.ts); absent for page-only fields. */
  option?: GroupOptionKey;
}

/** A run option as a page field: everything but the panel's order comes from its declaration. */
function optionField(o: GroupOptionDecl): FieldDef {
  const f = o.field!;
  const input = o.kind === 'onoff' ? 'toggle' : o.kind === 'choice' ? 'select' : 'number';
  const dflt =
    typeof o.default === 'boolean' ? (o.default ? 'on' : 'off') : o.default === undefined ? '' : String(o.default);
  return {
    key: f.key as FieldKey,
    param: f.param,
    label: o.label,
    ...(o.unit ? { unit: o.unit } : {}),
    group: f.group,
    input,
    ...(o.kind === 'choice' ? { options: o.choices!.map((c) => ({ value: c, label: f.choiceLabels?.[c] ?? c })) } : {}),
    default: f.default ?? dflt,
    help: o.help,
    option: o.key,
  };
}

/** Hardware profiles a link (or a time dilation, or the modeled source) can follow. */
export const PROFILE_OPTIONS = Object.values(PROFILES).map((p) => ({ value: p.id, label: p.name }));

/** Fields a sweep can vary, with the axis label they get and the values a new sweep starts from. */
export const SWEEPABLE: Readonly<
  Partial<Record<FieldKey, { label: string; unit?: string; log?: boolean; example: string }>>
> = {
  tokens: { label: 'input length', unit: 'tokens per rank', log: true, example: '256,1024,4096' },
  cv: { label: 'input-length CV', example: '0,0.2,0.4' },
  gbps: { label: 'link bandwidth', unit: 'GB/s', log: true, example: '150,900,5400' },
  skew: { label: 'routing skew (Zipf exponent)', example: '0,1,2' },
  ranks: { label: 'group size N', unit: 'ranks', example: '2,4,8' },
  fix: { label: 'contention fix', example: 'on,off' },
  split: { label: 'split weights', example: 'on,off' },
  prefetch: { label: 'prefetch', example: 'on,off' },
  rankMode: { label: 'rank mode', example: 'partitions,devices' },
  format: { label: 'weight format', example: 'nvfp4,fp8' },
};

/** The form after the model changes: a preset does not read a pasted config.json, so it goes. */
export function withModel(form: FormState, model: string): FormState {
  return model === 'custom' ? { ...form, model } : { ...form, model, hf: '' };
}

/**
 * The form after the link changes: a profile's link brings its own numbers, so the custom ones
 * go back to their defaults (they would be refused as unread otherwise).
 */
export function withLinkProfile(form: FormState, linkProfile: string): FormState {
  if (linkProfile === 'custom') return { ...form, linkProfile };
  return { ...form, linkProfile, gbps: FIELD.gbps.default, latency: FIELD.latency.default };
}

/**
 * The form after the swept field changes: the old values belonged to the old field, so the
 * new one starts from its example values (none: no values). The panel says it replaced them.
 */
export function withSweepField(form: FormState, sweep: string): FormState {
  if (sweep === form.sweep) return form;
  const example = Object.hasOwn(SWEEPABLE, sweep) ? SWEEPABLE[sweep as FieldKey]!.example : '';
  return { ...form, sweep, sweepValues: example };
}

export const FIELDS: readonly FieldDef[] = [
  {
    key: 'source',
    param: 'src',
    label: 'Numbers from',
    group: 'run',
    input: 'select',
    options: [
      { value: 'measured', label: 'measured here (WebGPU emulation)' },
      { value: 'modeled', label: 'modeled (hardware profile, no GPU)' },
    ],
    default: 'measured',
    help:
      'Measured: real kernels on emulated ranks in this browser. ' +
      'Modeled: the rack-scale cost model (src/sim) on the hardware profile below, over the model’s full depth.',
  },
  // Both sources read the hardware profile (the modeled hardware, the measured run's dilation target): it sits beside the source.
  optionField(GROUP_OPTION.timeDilation),
  {
    key: 'model',
    param: 'model',
    label: 'Model',
    group: 'model',
    input: 'select',
    options: [
      ...Object.keys(PRESETS).map((p) => ({ value: p, label: p })),
      { value: 'custom', label: 'custom (paste a config.json)' },
    ],
    default: 'tiny-mixtral',
    help: 'A preset (scaled presets keep the routing of the real model at a size this emulation can run) or a Hugging Face config.json.',
  },
  {
    key: 'hf',
    param: 'hf',
    label: 'config.json',
    group: 'model',
    input: 'textarea',
    default: '',
    help: 'A Hugging Face config.json (DeepSeek-V3/R1, Mixtral, Qwen2-MoE, Qwen3-MoE), pasted or uploaded.',
  },
  optionField(GROUP_OPTION.format),
  optionField(GROUP_OPTION.seed),
  {
    key: 'strategies',
    param: 's',
    label: 'Strategies',
    group: 'run',
    input: 'checks',
    options: [
      { value: 'dp', label: 'DP (full replica)' },
      { value: 'dep', label: 'DEP (all-to-all, barrier per layer)' },
      { value: 'dwdp', label: 'DWDP' },
    ],
    default: 'dp,dep,dwdp',
    help: 'Each runs the same tokens; ratios are against DEP.',
  },
  {
    key: 'repeat',
    param: 'rep',
    label: 'Repeat measured runs',
    group: 'run',
    input: 'number',
    default: '1',
    help:
      'Run every strategy this many times, interleaved (DP, DEP, DWDP, DP, DEP, DWDP, …), so a drift of this ' +
      'device reaches all alike; every ratio then shows its median with min–max, and says when they overlap 1.',
  },
  optionField(GROUP_OPTION.ranks),
  optionField(GROUP_OPTION.rankMode),
  optionField(GROUP_OPTION.layers),
  optionField(GROUP_OPTION.tokens),
  optionField(GROUP_OPTION.requests),
  optionField(GROUP_OPTION.lengthCv),
  optionField(GROUP_OPTION.lengthLaw),
  optionField(GROUP_OPTION.routingSkew),
  optionField(GROUP_OPTION.dwdpLocal),
  optionField(GROUP_OPTION.dwdpPull),
  optionField(GROUP_OPTION.prefetch),
  optionField(GROUP_OPTION.prefetchDepth),
  optionField(GROUP_OPTION.splitWeights),
  {
    key: 'linkProfile',
    param: 'lp',
    label: 'Link',
    group: 'link',
    input: 'select',
    options: [
      ...PROFILE_OPTIONS.map((p) => ({ value: p.value, label: `${p.label} link` })),
      { value: 'custom', label: 'custom bandwidth and latency' },
    ],
    default: 'gb200-nvl72',
    help: 'A hardware profile’s GPU-to-GPU link, or your own numbers.',
  },
  optionField(GROUP_OPTION.linkGbps),
  optionField(GROUP_OPTION.linkLatencyUs),
  optionField(GROUP_OPTION.contentionFix),
  optionField(GROUP_OPTION.clock),
  optionField(GROUP_OPTION.attentionHeads),
  optionField(GROUP_OPTION.attentionHeadDim),
  {
    key: 'sweep',
    param: 'sw',
    label: 'Sweep',
    group: 'sweep',
    input: 'select',
    options: [
      { value: 'none', label: 'none' },
      ...Object.entries(SWEEPABLE).map(([k, v]) => ({ value: k, label: v!.label })),
    ],
    default: 'none',
    help: 'Run the comparison once per value of one field.',
  },
  {
    key: 'sweepValues',
    param: 'swv',
    label: 'Sweep values',
    group: 'sweep',
    input: 'text',
    default: '',
    help: 'Comma-separated values of the swept field.',
  },
];

export const FIELD: Readonly<Record<FieldKey, FieldDef>> = Object.fromEntries(FIELDS.map((f) => [f.key, f])) as Record<
  FieldKey,
  FieldDef
>;

export const FIELD_KEYS: readonly FieldKey[] = FIELDS.map((f) => f.key);

export function isFieldKey(k: string): k is FieldKey {
  return Object.hasOwn(FIELD, k);
}

/** Every field at its default. */
export function defaultForm(): FormState {
  return Object.fromEntries(FIELDS.map((f) => [f.key, f.default])) as FormState;
}
