// The configuration panel's fields: one table that the form, the URL codec, the validator
// and the bench scenarios all read. The defaults are the default bench scenario
// (bench/scenarios/default.json): tiny-mixtral at 1024 tokens per rank has DeepSeek-R1's
// tokens per expert at ISL 8K (1024·K/E = 256), so its compute-to-pull ratio is R1's. A form's state is the raw text of every field (what
// the user typed, what the URL carries); src/ui/config.ts turns it into run options.
//
// Pure module (Node and browser).
import { PRESETS } from '../model/presets.ts';
import { WEIGHT_FORMATS } from '../model/formats.ts';
import { PROFILES } from '../hardware/profiles.ts';

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
  | 'sweepValues';

/** Raw text of every field. */
export type FormState = Record<FieldKey, string>;

export type FieldGroup = 'run' | 'model' | 'workload' | 'group' | 'dwdp' | 'link' | 'time' | 'sweep';

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
}

const opt = (values: readonly string[]) => values.map((v) => ({ value: v, label: v }));

/** Hardware profiles a link (or a time dilation, or the modeled source) can follow. */
export const PROFILE_OPTIONS = Object.values(PROFILES).map((p) => ({ value: p.id, label: p.name }));

/** Fields a sweep can vary, with the axis label they get. */
export const SWEEPABLE: Readonly<Partial<Record<FieldKey, { label: string; unit?: string; log?: boolean }>>> = {
  tokens: { label: 'input length', unit: 'tokens per rank', log: true },
  cv: { label: 'input-length CV' },
  gbps: { label: 'link bandwidth', unit: 'GB/s', log: true },
  skew: { label: 'routing skew (Zipf exponent)' },
  ranks: { label: 'group size N', unit: 'ranks' },
  fix: { label: 'contention fix' },
  split: { label: 'split weights' },
  prefetch: { label: 'prefetch' },
  rankMode: { label: 'rank mode' },
  format: { label: 'weight format' },
};

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
    help: 'Measured: real kernels on emulated ranks in this browser. Modeled: the rack-scale cost model (src/sim) on the hardware profile below, over the model’s full depth.',
  },
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
  {
    key: 'format',
    param: 'fmt',
    label: 'Expert weight format',
    group: 'model',
    input: 'select',
    options: opt(WEIGHT_FORMATS),
    default: 'nvfp4',
    help: 'Bytes per expert weight: what every pull moves.',
  },
  {
    key: 'seed',
    param: 'seed',
    label: 'Seed',
    group: 'model',
    input: 'number',
    default: '1',
    help: 'Weights, tokens and request lengths all derive from it.',
  },
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
    key: 'ranks',
    param: 'n',
    label: 'Ranks N',
    group: 'group',
    input: 'number',
    default: '4',
    help: 'GPUs in the group.',
  },
  {
    key: 'rankMode',
    param: 'rm',
    label: 'Rank mode',
    group: 'group',
    input: 'select',
    options: [
      { value: 'partitions', label: 'partitions of one device' },
      { value: 'devices', label: 'separate GPUDevices' },
    ],
    default: 'partitions',
    help: 'How the emulation stands in for N GPUs.',
  },
  {
    key: 'layers',
    param: 'layers',
    label: 'Layers',
    group: 'model',
    input: 'number',
    default: '4',
    help: 'MoE layers run per forward step (emulation; the modeled source runs the model’s full depth).',
  },
  {
    key: 'tokens',
    param: 't',
    label: 'Tokens per rank',
    unit: 'tokens',
    group: 'workload',
    input: 'number',
    default: '1024',
    help: 'Mean prefill tokens each rank processes.',
  },
  {
    key: 'requests',
    param: 'req',
    label: 'Requests per rank',
    group: 'workload',
    input: 'number',
    default: '4',
    help: 'Their lengths sum to the rank’s tokens.',
  },
  {
    key: 'cv',
    param: 'cv',
    label: 'Input-length CV',
    group: 'workload',
    input: 'number',
    default: '0.2',
    help: 'Coefficient of variation of request lengths (0 = all equal): the imbalance DEP’s barrier pays for.',
  },
  {
    key: 'skew',
    param: 'skew',
    label: 'Routing skew',
    group: 'workload',
    input: 'number',
    default: '0',
    help: 'Zipf exponent of hot experts (0: the router’s own preferences).',
  },
  {
    key: 'local',
    param: 'L',
    label: 'L (experts held)',
    group: 'dwdp',
    input: 'number',
    default: '',
    help: 'Experts each rank holds; blank = minimal-memory placement.',
  },
  {
    key: 'pull',
    param: 'P',
    label: 'P (pulled per peer)',
    group: 'dwdp',
    input: 'number',
    default: '',
    help: 'Experts pulled from each peer; E = L + (N−1)·P.',
  },
  {
    key: 'prefetch',
    param: 'pf',
    label: 'Prefetch',
    group: 'dwdp',
    input: 'toggle',
    default: 'on',
    help: 'On: pull all remote experts into ping-pong slots ahead of time. Off: pull the routed ones after routing.',
  },
  {
    key: 'depth',
    param: 'pd',
    label: 'Prefetch slots',
    group: 'dwdp',
    input: 'number',
    default: '2',
    help: '2 = ping-pong, as in the paper.',
  },
  {
    key: 'split',
    param: 'split',
    label: 'Split weights',
    group: 'dwdp',
    input: 'toggle',
    default: 'on',
    help: 'On: the grouped GEMM reads each source in place. Off: merge into one buffer first (timed).',
  },
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
  {
    key: 'gbps',
    param: 'gbps',
    label: 'Link bandwidth',
    unit: 'GB/s',
    group: 'link',
    input: 'number',
    default: '900',
    help: 'Per rank, each direction (before time dilation).',
  },
  {
    key: 'latency',
    param: 'lat',
    label: 'Link latency',
    unit: 'µs',
    group: 'link',
    input: 'number',
    default: '2',
    help: 'Per transfer.',
  },
  {
    key: 'fix',
    param: 'fix',
    label: 'Contention fix',
    group: 'link',
    input: 'toggle',
    default: 'on',
    help: 'Interleave slices round-robin across peers so no source’s copy engine is hit by everyone at once.',
  },
  {
    key: 'clock',
    param: 'clock',
    label: 'Clock',
    group: 'time',
    input: 'select',
    options: [
      { value: 'virtual', label: 'virtual (timestamps → event scheduler)' },
      { value: 'wall', label: 'wall (ranks really concurrent)' },
    ],
    default: 'virtual',
    help: 'How time is read from the emulation.',
  },
  {
    key: 'dilation',
    param: 'dil',
    label: 'Hardware profile',
    group: 'time',
    input: 'select',
    options: [{ value: 'off', label: 'off' }, ...PROFILE_OPTIONS],
    default: 'gb200-nvl72',
    help: 'Scale the link by (this device’s GEMM rate ÷ the profile’s) so compute-to-pull ratios match that hardware. Also the profile of the modeled source.',
  },
  {
    key: 'heads',
    param: 'heads',
    label: 'Attention heads',
    group: 'time',
    input: 'number',
    default: '4',
    help: 'Attention stand-in shape.',
  },
  {
    key: 'headDim',
    param: 'hd',
    label: 'Head dim',
    group: 'time',
    input: 'number',
    default: '32',
    help: 'Attention stand-in shape.',
  },
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
