// The MoE layer's configuration, read from a Hugging Face config.json as its authors publish
// it (DeepSeek-V3/R1, Kimi-K2, Mixtral, Qwen2-MoE/Qwen1.5-MoE, Qwen3-MoE, gpt-oss, GLM-4.5),
// with `--set key=value` overrides applied to the HF keys before they are interpreted.
//
// Semantics follow the HF modeling code of each family:
// - deepseek_v3: s = sigmoid(logits) (softmax also accepted), noaux_tc grouped top-k with
//   e_score_correction_bias for selection only, norm_topk_prob, then × routed_scaling_factor;
//   shared MLP of n_shared_experts × moe_intermediate_size; layer i is MoE when
//   i ≥ first_k_dense_replace and i % moe_layer_freq == 0; MLA attention.
//   DeepSeek-V2's topk_method greedy / group_limited_greedy are rejected.
// - mixtral: softmax over all experts, top-k, always renormalized; every layer is MoE;
//   the experts' size is `intermediate_size`.
// - qwen2_moe: softmax, top-k, renormalized only if norm_topk_prob (default false); a shared
//   MLP of shared_expert_intermediate_size scaled by sigmoid(x·shared_expert_gate);
//   layer i is MoE when i ∉ mlp_only_layers and (i+1) % decoder_sparse_step == 0.
// - qwen3_moe: as qwen2_moe without the shared expert.
// - kimi_k2: DeepSeek-V3's architecture (architectures DeepseekV3ForCausalLM), read as deepseek_v3.
// - glm4_moe (GLM-4.5): DeepSeek-V3's routing (sigmoid, e_score_correction_bias for selection,
//   n_group/topk_group, norm_topk_prob, routed_scaling_factor), dense-first layers (layer i is
//   MoE when i ≥ first_k_dense_replace: Glm4MoeDecoderLayer reads no moe_layer_freq, so one ≠ 1
//   is rejected) and n_shared_experts, with GQA attention (num_key_value_heads, head_dim;
//   partial_rotary_factor, use_qk_norm and attention_bias's q/k/v biases change no GEMM shape).
//   Its modeling code always scores with a sigmoid and noaux_tc: a scoring_func or topk_method
//   key saying otherwise is rejected. The MTP layer (num_nextn_predict_layers) is a decode-time
//   draft, not part of a prefill step: read by no one here (as for DeepSeek-V3).
// - gpt_oss: every layer MoE with num_local_experts experts of intermediate_size; router =
//   top-k over the logits, then softmax over the k selected (equal to softmax, top-k,
//   renormalize: `routing` 'topk-softmax'); GQA attention whose layers alternate between a
//   sliding window and full causal attention (`layer_types`, `sliding_window`), each head with a
//   learned attention sink (one extra logit in the softmax: no GEMM work); experts in MXFP4
//   (quantization_config.quant_method mxfp4). swiglu_limit (a clamp) changes no FLOP count.
//
// Attention windows, per layer (null: full causal). `layer_types` decides where present
// ('sliding_attention' takes `sliding_window`); else Mixtral's `sliding_window` covers every
// layer, and Qwen's applies to layers ≥ max_window_layers when use_sliding_window is true
// (the HF modeling code of each). A window W lets a query attend to itself and the W − 1 keys
// before it (HF's mask: kv_idx > q_idx − W).
//
// Keys that change the numbers and have no safe default (sizes, expert counts, top-k, the
// DeepSeek routing keys) are required: a missing one is a ConfigError naming it. Peripheral
// keys default as the HF config classes do (num_key_value_heads = heads, head_dim =
// hidden // heads, decoder_sparse_step 1, Qwen norm_topk_prob false, …).
// This module is pure: no node: imports (it runs in the browser too).

export type MoeFamily = 'deepseek_v3' | 'kimi_k2' | 'mixtral' | 'qwen2_moe' | 'qwen3_moe' | 'gpt_oss' | 'glm4_moe';
const MOE_FAMILIES: readonly MoeFamily[] = [
  'deepseek_v3',
  'kimi_k2',
  'mixtral',
  'qwen2_moe',
  'qwen3_moe',
  'gpt_oss',
  'glm4_moe',
];

/** Limits of this project's router kernel (experts per token and experts per layer). */
export const KERNEL_LIMITS = { maxExperts: 512, maxTopK: 16 } as const;

/** A bad config: `key` is the HF key (or override) at fault; the message names it too. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    /** The HF key at fault ('model': the model argument itself). */
    readonly key: string,
    /** What is wrong, without the key (a CLI words it with the flag that set it). */
    readonly detail: string,
    readonly configName?: string,
    /** The `--set` text that gave the key its bad value, when one did. */
    readonly setText?: string,
  ) {
    super(
      `${configName ? `${configName}: ` : ''}config key '${key}': ${setText !== undefined ? `--set ${key}=${setText}: ` : ''}${detail}`,
    );
  }
}

export interface MlaDims {
  qLoraRank: number; // 0 when queries are not low-rank compressed (q_lora_rank null)
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
}

export interface MoeConfig {
  name: string;
  family: MoeFamily;
  hidden: number; // H  hidden_size
  expertHidden: number; // F  moe_intermediate_size (Mixtral: intermediate_size)
  experts: number; // E  n_routed_experts | num_local_experts | num_experts
  topK: number; // K  num_experts_per_tok
  scoring: 'softmax' | 'sigmoid';
  /**
   * How the K weights are formed: 'score-topk' scores every expert, keeps the top K (then
   * normTopkProb, routedScalingFactor); 'topk-softmax' (gpt-oss) keeps the K largest logits
   * and takes the softmax over those K only (scoring 'softmax', normTopkProb true: the same weights).
   */
  routing: 'score-topk' | 'topk-softmax';
  nGroup: number; // 1 when the family has no group routing
  topkGroup: number;
  correctionBias: boolean; // noaux_tc: e_score_correction_bias [E] added for selection only
  normTopkProb: boolean;
  routedScalingFactor: number; // 1 when the family has no such key
  sharedHidden: number; // Fs; 0 when there is no shared expert
  sharedExpertGate: boolean; // Qwen2-MoE: shared output × sigmoid(x·g), g [H]
  layers: { total: number; moe: number; dense: number; moeLayerIndices: number[] };
  denseIntermediate: number; // intermediate_size of the dense-MLP layers; 0 when the family has none (Mixtral)
  /**
   * headDim is the query/key head size (MLA: qk_nope_head_dim + qk_rope_head_dim). `windows[l]`
   * is layer l's sliding window in keys (null: full causal); `sinks`: one learned logit per head.
   */
  attention: {
    heads: number;
    kvHeads: number;
    headDim: number;
    mla?: MlaDims;
    windows: readonly (number | null)[];
    sinks: boolean;
  };
  vocabSize: number;
  nativeWeightBlock?: [number, number]; // quantization_config.weight_block_size
  /** The routed experts' published weight format when the config names one (gpt-oss: mxfp4). */
  nativeExpertFormat?: 'mxfp4' | 'fp8';
  raw: Record<string, unknown>; // effective HF keys after overrides
}

/** Override values: strings (from `--set`) are coerced by the type of the key they replace. */
export type ConfigOverrides = Record<string, unknown>;

export interface ParseOptions {
  name?: string;
  overrides?: ConfigOverrides;
}

/**
 * Coerce a `--set` string by the type of the value it replaces: number keys need a number,
 * boolean keys true/false, string keys take it as is; for absent, null, array or object keys
 * the text is parsed as JSON when it is JSON, else kept as a string. 'null' unsets any key.
 */
function coerceOverride(key: string, value: unknown, current: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text === 'null') return null;
  if (typeof current === 'number') {
    const n = text === '' ? NaN : Number(text);
    if (n === Infinity || n === -Infinity)
      throw new ConfigError(key, `the number is out of range (the config has ${current})`, undefined, value);
    if (!Number.isFinite(n))
      throw new ConfigError(key, `expected a number (the config has ${current})`, undefined, value);
    return n;
  }
  if (typeof current === 'boolean') {
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    throw new ConfigError(key, 'expected true or false', undefined, value);
  }
  if (typeof current === 'string') return value;
  try {
    return JSON.parse(text);
  } catch {
    return value;
  }
}

/**
 * A deep copy of `raw` with overrides applied. A dotted key ('quantization_config.weight_block_size')
 * reaches into nested objects when no top-level key has that exact name.
 */
function applyOverrides(raw: Record<string, unknown>, overrides: ConfigOverrides = {}): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const [key, value] of Object.entries(overrides)) {
    const path = key in out || !key.includes('.') ? [key] : key.split('.');
    let obj: Record<string, unknown> = out;
    for (const part of path.slice(0, -1)) {
      const next = obj[part];
      if (next === undefined || next === null) obj[part] = {};
      else if (typeof next !== 'object' || Array.isArray(next))
        throw new ConfigError(key, `cannot set inside '${part}', which is not an object`);
      obj = obj[part] as Record<string, unknown>;
    }
    const last = path[path.length - 1];
    obj[last] = coerceOverride(key, value, obj[last]);
  }
  return out;
}

/**
 * A config value for a message. JSON.stringify writes Infinity and NaN as null, which would
 * hide the culprit: a literal such as 1e999 parses to Infinity, so say the number is out of range.
 */
function shown(v: unknown): string {
  let outOfRange = false;
  const json: string | undefined = JSON.stringify(v, (_key, x: unknown) => {
    if (typeof x !== 'number' || Number.isFinite(x)) return x;
    outOfRange ||= !Number.isNaN(x);
    return `\u0000${x}\u0000`;
  });
  const text = (json ?? String(v)).replace(/"\\u0000(.*?)\\u0000"/g, '$1');
  return outOfRange ? `${text} (a number out of range: beyond ±1.8e308 it reads as Infinity)` : text;
}

/** Typed reads of HF keys that record which keys were read and name the key in every error. */
class KeyReader {
  readonly used = new Set<string>();
  constructor(
    readonly raw: Record<string, unknown>,
    readonly configName: string,
  ) {}

  fail(key: string, detail: string): never {
    throw new ConfigError(key, detail, this.configName);
  }

  /** The value, or undefined when absent or null. */
  get(key: string): unknown {
    this.used.add(key);
    const v = this.raw[key];
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  missing(key: string): never {
    this.fail(key, key in this.raw ? 'is null, but it is required' : 'missing (required)');
  }

  int(key: string, opts: { min?: number; fallback?: number } = {}): number {
    const min = opts.min ?? 1;
    const v = this.get(key);
    if (v === undefined) {
      if (opts.fallback !== undefined) return opts.fallback;
      this.missing(key);
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `expected an integer, got ${shown(v)}`);
    if (v < min) this.fail(key, min === 1 ? `must be positive, got ${v}` : `must be at least ${min}, got ${v}`);
    return v;
  }

  num(key: string, opts: { fallback?: number } = {}): number {
    const v = this.get(key);
    if (v === undefined) {
      if (opts.fallback !== undefined) return opts.fallback;
      this.missing(key);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `expected a number, got ${shown(v)}`);
    if (v <= 0) this.fail(key, `must be positive, got ${v}`);
    return v;
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      this.missing(key);
    }
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${shown(v)}`);
    return v;
  }

  str(key: string, fallback?: string): string {
    const v = this.get(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      this.missing(key);
    }
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${shown(v)}`);
    return v;
  }

  intList(key: string, fallback: number[]): number[] {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
      this.fail(key, `expected a list of integers, got ${shown(v)}`);
    }
    return v as number[];
  }
}

/** The HF architecture class each family publishes, to catch a model_type/architectures mix-up. */
const ARCHITECTURES: Record<string, readonly MoeFamily[]> = {
  DeepseekV3ForCausalLM: ['deepseek_v3', 'kimi_k2'],
  MixtralForCausalLM: ['mixtral'],
  Qwen2MoeForCausalLM: ['qwen2_moe'],
  Qwen3MoeForCausalLM: ['qwen3_moe'],
  GptOssForCausalLM: ['gpt_oss'],
  Glm4MoeForCausalLM: ['glm4_moe'],
};

/** Interpret a Hugging Face config.json (plus overrides) as a MoeConfig, or throw a ConfigError. */
export function parseMoeConfig(json: unknown, opts: ParseOptions = {}): MoeConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError('model_type', 'a config.json must be a JSON object', opts.name);
  }
  const raw = applyOverrides(json as Record<string, unknown>, opts.overrides);
  const family = raw.model_type;
  const name = opts.name ?? (typeof family === 'string' ? family : 'config');
  const r = new KeyReader(raw, name);

  if (!MOE_FAMILIES.includes(family as MoeFamily)) {
    r.fail('model_type', `unknown model_type ${JSON.stringify(family)}; supported: ${MOE_FAMILIES.join(', ')}`);
  }
  const fam = family as MoeFamily;
  r.used.add('model_type');
  checkArchitectures(r, fam);

  const act = r.str('hidden_act', 'silu');
  if (act !== 'silu') r.fail('hidden_act', `'${act}' is not supported: the expert kernels implement SwiGLU (silu)`);

  const cfg = READERS[fam](r);
  checkRouting(r, cfg);
  checkUnknownOverrides(r, json as Record<string, unknown>, opts.overrides ?? {}, fam);
  return { ...cfg, name, family: fam, raw };
}

type Interpreted = Omit<MoeConfig, 'name' | 'family' | 'raw'>;

const READERS: Record<MoeFamily, (r: KeyReader) => Interpreted> = {
  deepseek_v3: (r) => readDeepseek(r),
  kimi_k2: (r) => readDeepseek(r),
  mixtral: (r) => readMixtral(r),
  qwen2_moe: (r) => readQwen(r, 'qwen2_moe'),
  qwen3_moe: (r) => readQwen(r, 'qwen3_moe'),
  gpt_oss: (r) => readGptOss(r),
  glm4_moe: (r) => readGlm(r),
};

function readDeepseek(r: KeyReader): Interpreted {
  const hidden = r.int('hidden_size');
  const expertHidden = r.int('moe_intermediate_size');
  const experts = r.int('n_routed_experts');
  const topK = r.int('num_experts_per_tok');

  const method = r.str('topk_method', 'noaux_tc');
  if (method === 'greedy' || method === 'group_limited_greedy') {
    r.fail('topk_method', `'${method}' is DeepSeek-V2 routing and is not supported; use noaux_tc (DeepSeek-V3/R1)`);
  }
  if (method !== 'noaux_tc') r.fail('topk_method', `unknown topk_method '${method}'; supported: noaux_tc`);
  const scoring = readScoring(r, 'sigmoid');

  const nShared = readSharedCount(r);
  const { total, moeLayerIndices } = readDenseFirst(r);

  const heads = r.int('num_attention_heads');
  const kvHeads = readKvHeads(r, heads);
  const mla: MlaDims = {
    qLoraRank: r.raw.q_lora_rank === null ? (r.used.add('q_lora_rank'), 0) : r.int('q_lora_rank'),
    kvLoraRank: r.int('kv_lora_rank'),
    qkNopeHeadDim: r.int('qk_nope_head_dim'),
    qkRopeHeadDim: r.int('qk_rope_head_dim'),
    vHeadDim: r.int('v_head_dim'),
  };

  return {
    hidden,
    expertHidden,
    experts,
    topK,
    scoring,
    routing: 'score-topk',
    nGroup: r.int('n_group'),
    topkGroup: r.int('topk_group'),
    correctionBias: true,
    normTopkProb: r.bool('norm_topk_prob'),
    routedScalingFactor: r.num('routed_scaling_factor'),
    sharedHidden: nShared * expertHidden,
    sharedExpertGate: false,
    layers: layerSplit(total, moeLayerIndices),
    denseIntermediate: r.int('intermediate_size'),
    attention: {
      heads,
      kvHeads,
      headDim: mla.qkNopeHeadDim + mla.qkRopeHeadDim,
      mla,
      windows: readWindows(r, total, 'none'),
      sinks: false,
    },
    vocabSize: r.int('vocab_size'),
    nativeWeightBlock: readWeightBlock(r),
    nativeExpertFormat: readQuantMethod(r),
  };
}

/** n_shared_experts; null means none (the DeepSeek and GLM modeling code test `is not None`). */
function readSharedCount(r: KeyReader): number {
  return r.raw.n_shared_experts === null
    ? (r.used.add('n_shared_experts'), 0)
    : r.int('n_shared_experts', { min: 0, fallback: r.raw.model_type === 'glm4_moe' ? 1 : undefined });
}

/** DeepSeek/GLM layer split: layer i is MoE when i ≥ first_k_dense_replace and i % moe_layer_freq == 0. */
function readDenseFirst(r: KeyReader): { total: number; moeLayerIndices: number[] } {
  const total = r.int('num_hidden_layers');
  const firstDense = r.int('first_k_dense_replace', { min: 0 });
  const freq = r.int('moe_layer_freq', { fallback: 1 });
  if (firstDense > total) r.fail('first_k_dense_replace', `${firstDense} exceeds num_hidden_layers=${total}`);
  const moeLayerIndices = range(total).filter((i) => i >= firstDense && i % freq === 0);
  if (moeLayerIndices.length === 0) {
    r.fail(
      'first_k_dense_replace',
      `no MoE layer left (first_k_dense_replace=${firstDense}, moe_layer_freq=${freq}, num_hidden_layers=${total})`,
    );
  }
  return { total, moeLayerIndices };
}

/**
 * GLM-4.5 (Glm4MoeConfig): DeepSeek-V3 routing without its scoring_func/topk_method keys (always
 * sigmoid + correction bias), GQA attention. Defaults as Glm4MoeConfig's where the key is optional.
 */
function readGlm(r: KeyReader): Interpreted {
  const hidden = r.int('hidden_size');
  const expertHidden = r.int('moe_intermediate_size');
  const nShared = readSharedCount(r);
  // Glm4MoeTopkRouter / Glm4MoeMoE: sigmoid scores, noaux_tc selection, whatever these keys say.
  const scoring = r.str('scoring_func', 'sigmoid');
  if (scoring !== 'sigmoid')
    r.fail(
      'scoring_func',
      `'${scoring}' is not what glm4_moe runs: its router always scores with a sigmoid; use sigmoid`,
    );
  const method = r.str('topk_method', 'noaux_tc');
  if (method !== 'noaux_tc')
    r.fail(
      'topk_method',
      `'${method}' is not what glm4_moe runs: its router always selects with noaux_tc; use noaux_tc`,
    );
  const freq = r.int('moe_layer_freq', { fallback: 1 });
  if (freq !== 1)
    r.fail(
      'moe_layer_freq',
      `${freq}: glm4_moe reads no moe_layer_freq (every layer from first_k_dense_replace on is MoE); use 1 or leave it out`,
    );
  const { total, moeLayerIndices } = readDenseFirst(r);
  return {
    hidden,
    expertHidden,
    experts: r.int('n_routed_experts'),
    topK: r.int('num_experts_per_tok'),
    scoring: 'sigmoid',
    routing: 'score-topk',
    nGroup: r.int('n_group', { fallback: 1 }),
    topkGroup: r.int('topk_group', { fallback: 1 }),
    correctionBias: true,
    normTopkProb: r.bool('norm_topk_prob', true),
    routedScalingFactor: r.num('routed_scaling_factor', { fallback: 1 }),
    sharedHidden: nShared * expertHidden,
    sharedExpertGate: false,
    layers: layerSplit(total, moeLayerIndices),
    denseIntermediate: r.int('intermediate_size'),
    attention: gqaAttention(r, hidden, total, 'none', { sinks: false }),
    vocabSize: r.int('vocab_size'),
    nativeWeightBlock: readWeightBlock(r),
    nativeExpertFormat: readQuantMethod(r),
  };
}

/** gpt-oss (GptOssConfig): every layer MoE, top-k-then-softmax routing, alternating windows, sinks, MXFP4 experts. */
function readGptOss(r: KeyReader): Interpreted {
  const hidden = r.int('hidden_size');
  const total = r.int('num_hidden_layers');
  return {
    hidden,
    expertHidden: r.int('intermediate_size'),
    experts: r.int('num_local_experts'),
    topK: r.int('num_experts_per_tok'),
    scoring: 'softmax',
    routing: 'topk-softmax',
    ...UNGROUPED,
    normTopkProb: true, // softmax over the K kept logits: the weights sum to 1
    routedScalingFactor: 1,
    sharedHidden: 0,
    sharedExpertGate: false,
    layers: layerSplit(total, range(total)),
    denseIntermediate: 0,
    attention: gqaAttention(r, hidden, total, 'none', { sinks: true }), // GptOssAttention always has them
    vocabSize: r.int('vocab_size'),
    nativeExpertFormat: readQuantMethod(r),
  };
}

/**
 * Per-layer attention windows. `layer_types` decides where present; else `fallback`: 'none'
 * (full causal everywhere), 'all' (sliding_window, when set, on every layer: Mistral/Mixtral),
 * 'qwen' (sliding_window on layers ≥ max_window_layers when use_sliding_window).
 */
function readWindows(r: KeyReader, total: number, fallback: 'none' | 'all' | 'qwen'): (number | null)[] {
  const types = r.get('layer_types');
  if (types !== undefined) {
    if (!Array.isArray(types) || types.length !== total)
      r.fail(
        'layer_types',
        `expected a list of ${total} layer types (num_hidden_layers=${total}), got ${shown(types)}`,
      );
    return types.map((t, i) => {
      if (t === 'full_attention') return null;
      if (t === 'sliding_attention') return r.int('sliding_window');
      return r.fail('layer_types', `layer ${i} is ${shown(t)}; supported: "full_attention", "sliding_attention"`);
    });
  }
  if (fallback === 'all') {
    const w = r.has('sliding_window') ? r.int('sliding_window') : null;
    return range(total).map(() => w);
  }
  if (fallback === 'qwen' && r.bool('use_sliding_window', false)) {
    const w = r.int('sliding_window');
    const from = r.int('max_window_layers', { min: 0 });
    return range(total).map((i) => (i >= from ? w : null));
  }
  return range(total).map(() => null);
}

/** quantization_config.quant_method, where it names an expert format this project has. */
function readQuantMethod(r: KeyReader): 'mxfp4' | 'fp8' | undefined {
  const q = r.get('quantization_config');
  if (q === undefined || typeof q !== 'object' || Array.isArray(q)) return undefined;
  const m = (q as Record<string, unknown>).quant_method;
  return m === 'mxfp4' || m === 'fp8' ? m : undefined;
}

function readMixtral(r: KeyReader): Interpreted {
  const hidden = r.int('hidden_size');
  const total = r.int('num_hidden_layers');
  return {
    hidden,
    expertHidden: r.int('intermediate_size'),
    experts: r.int('num_local_experts'),
    topK: r.int('num_experts_per_tok'),
    scoring: 'softmax',
    routing: 'score-topk',
    ...UNGROUPED,
    normTopkProb: true, // MixtralSparseMoeBlock always divides the top-k weights by their sum
    routedScalingFactor: 1,
    sharedHidden: 0,
    sharedExpertGate: false,
    layers: layerSplit(total, range(total)),
    denseIntermediate: 0,
    attention: gqaAttention(r, hidden, total, 'all', { sinks: false }),
    vocabSize: r.int('vocab_size'),
    nativeWeightBlock: readWeightBlock(r),
  };
}

function readQwen(r: KeyReader, fam: 'qwen2_moe' | 'qwen3_moe'): Interpreted {
  const hidden = r.int('hidden_size');
  const total = r.int('num_hidden_layers');
  const step = r.int('decoder_sparse_step', { fallback: 1 });
  const mlpOnly = r.intList('mlp_only_layers', []);
  for (const i of mlpOnly)
    if (i < 0 || i >= total)
      r.fail('mlp_only_layers', `layer ${i} is outside 0..${total - 1} (num_hidden_layers=${total})`);
  const moeLayerIndices = range(total).filter((i) => !mlpOnly.includes(i) && (i + 1) % step === 0);
  if (moeLayerIndices.length === 0) {
    r.fail(
      mlpOnly.length > 0 ? 'mlp_only_layers' : 'decoder_sparse_step',
      `no MoE layer left (decoder_sparse_step=${step}, mlp_only_layers=${JSON.stringify(mlpOnly)}, num_hidden_layers=${total})`,
    );
  }
  // Qwen2-MoE always builds the gated shared expert; a size of 0 is taken to mean "none".
  const sharedHidden = fam === 'qwen2_moe' ? r.int('shared_expert_intermediate_size', { min: 0 }) : 0;
  return {
    hidden,
    expertHidden: r.int('moe_intermediate_size'),
    experts: r.int('num_experts'),
    topK: r.int('num_experts_per_tok'),
    scoring: 'softmax',
    routing: 'score-topk',
    ...UNGROUPED,
    normTopkProb: r.bool('norm_topk_prob', false),
    routedScalingFactor: 1,
    sharedHidden,
    sharedExpertGate: sharedHidden > 0,
    layers: layerSplit(total, moeLayerIndices),
    denseIntermediate: r.int('intermediate_size'),
    attention: gqaAttention(r, hidden, total, 'qwen', { sinks: false }),
    vocabSize: r.int('vocab_size'),
    nativeWeightBlock: readWeightBlock(r),
  };
}

/** Routing over all experts at once: one group, no correction bias (Mixtral, Qwen-MoE, gpt-oss). */
const UNGROUPED = { nGroup: 1, topkGroup: 1, correctionBias: false } as const;

/** Grouped-query attention as the config states it: heads, KV heads, head size, per-layer windows. */
function gqaAttention(
  r: KeyReader,
  hidden: number,
  total: number,
  windows: 'none' | 'all' | 'qwen',
  { sinks }: { sinks: boolean },
): Interpreted['attention'] {
  const heads = r.int('num_attention_heads');
  return {
    heads,
    kvHeads: readKvHeads(r, heads),
    headDim: readHeadDim(r, hidden, heads),
    windows: readWindows(r, total, windows),
    sinks,
  };
}

function readScoring(r: KeyReader, fallback: 'softmax' | 'sigmoid'): 'softmax' | 'sigmoid' {
  const s = r.str('scoring_func', fallback);
  if (s !== 'softmax' && s !== 'sigmoid')
    r.fail('scoring_func', `unknown scoring_func '${s}'; supported: sigmoid, softmax`);
  return s;
}

function readKvHeads(r: KeyReader, heads: number): number {
  const kv = r.int('num_key_value_heads', { fallback: heads });
  if (heads % kv !== 0) r.fail('num_key_value_heads', `${kv} does not divide num_attention_heads=${heads}`);
  return kv;
}

/** HF: `config.head_dim or hidden_size // num_attention_heads`. */
function readHeadDim(r: KeyReader, hidden: number, heads: number): number {
  if (r.has('head_dim')) return r.int('head_dim');
  const d = Math.floor(hidden / heads);
  if (d < 1) r.fail('num_attention_heads', `${heads} heads leave no head dimension for hidden_size=${hidden}`);
  return d;
}

function readWeightBlock(r: KeyReader): [number, number] | undefined {
  const q = r.get('quantization_config');
  if (q === undefined) return undefined;
  if (typeof q !== 'object' || Array.isArray(q)) r.fail('quantization_config', `expected an object, got ${shown(q)}`);
  const b = (q as Record<string, unknown>).weight_block_size;
  if (b === undefined || b === null) return undefined;
  if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)) {
    r.fail('quantization_config.weight_block_size', `expected two positive integers, got ${shown(b)}`);
  }
  return [b[0] as number, b[1] as number];
}

function checkArchitectures(r: KeyReader, fam: MoeFamily): void {
  const arch = r.get('architectures');
  if (arch === undefined) return;
  if (!Array.isArray(arch)) r.fail('architectures', `expected a list, got ${shown(arch)}`);
  for (const a of arch) {
    const f = Object.hasOwn(ARCHITECTURES, a as string) ? ARCHITECTURES[a as string] : undefined;
    if (f && !f.includes(fam)) r.fail('architectures', `'${a}' is a ${f.join('/')} model, but model_type is '${fam}'`);
  }
}

/** The config.json key behind each size of a family's MoE layer (for messages that name the culprit). */
export function sizeKeys(family: MoeFamily): {
  hidden: string;
  expertHidden: string;
  experts: string;
  topK: string;
  sharedHidden: string;
} {
  return {
    hidden: 'hidden_size',
    expertHidden: family === 'mixtral' || family === 'gpt_oss' ? 'intermediate_size' : 'moe_intermediate_size',
    experts: {
      deepseek_v3: 'n_routed_experts',
      kimi_k2: 'n_routed_experts',
      glm4_moe: 'n_routed_experts',
      mixtral: 'num_local_experts',
      gpt_oss: 'num_local_experts',
      qwen2_moe: 'num_experts',
      qwen3_moe: 'num_experts',
    }[family],
    topK: 'num_experts_per_tok',
    sharedHidden:
      family === 'qwen2_moe' ? 'shared_expert_intermediate_size' : 'n_shared_experts × moe_intermediate_size',
  };
}

/** Routing shape checks shared by all families, with the key that carries each limit. */
function checkRouting(r: KeyReader, c: Interpreted): void {
  const eKey = sizeKeys(r.raw.model_type as MoeFamily).experts;
  if (c.experts > KERNEL_LIMITS.maxExperts) {
    r.fail(eKey, `${c.experts} experts exceed the router kernel's limit of ${KERNEL_LIMITS.maxExperts}`);
  }
  if (c.topK > KERNEL_LIMITS.maxTopK) {
    r.fail('num_experts_per_tok', `top-k ${c.topK} exceeds the router kernel's limit of ${KERNEL_LIMITS.maxTopK}`);
  }
  if (c.nGroup > 1 || c.topkGroup > 1) {
    if (c.experts % c.nGroup !== 0)
      r.fail('n_group', `${c.nGroup} does not divide the expert count ${eKey}=${c.experts}`);
    if (c.topkGroup > c.nGroup) r.fail('topk_group', `${c.topkGroup} exceeds n_group=${c.nGroup}`);
    // noaux_tc scores a group by the sum of its two best biased scores.
    if (c.correctionBias && c.nGroup > 1 && c.experts / c.nGroup < 2) {
      r.fail('n_group', `noaux_tc needs at least 2 experts per group (${eKey}=${c.experts} / n_group=${c.nGroup})`);
    }
  }
  const allowed = c.topkGroup * (c.experts / c.nGroup);
  if (c.topK > allowed) {
    const where =
      c.nGroup > 1
        ? `the ${allowed} experts in the topk_group=${c.topkGroup} kept groups of ${c.experts / c.nGroup}`
        : `${eKey}=${c.experts}`;
    r.fail('num_experts_per_tok', `top-k ${c.topK} exceeds ${where}`);
  }
}

/** An override of a key the config lacks and this family never reads is most likely a typo. */
function checkUnknownOverrides(
  r: KeyReader,
  original: Record<string, unknown>,
  overrides: ConfigOverrides,
  fam: MoeFamily,
): void {
  for (const key of Object.keys(overrides)) {
    const top = key in original || !key.includes('.') ? key : key.split('.')[0];
    if (!(top in original) && !r.used.has(top)) {
      r.fail(key, `unknown key: not in the config.json and not read for model_type ${fam}`);
    }
  }
}

function layerSplit(total: number, moeLayerIndices: number[]): MoeConfig['layers'] {
  return { total, moe: moeLayerIndices.length, dense: total - moeLayerIndices.length, moeLayerIndices };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** One line for tables and logs: family, shapes and routing. */
export function configSummary(c: MoeConfig): string {
  const routing = [
    c.routing === 'topk-softmax' ? 'top-k then softmax' : c.scoring,
    c.nGroup > 1 ? `groups ${c.topkGroup}/${c.nGroup}` : '',
    c.correctionBias ? 'bias' : '',
    c.normTopkProb ? 'renorm' : '',
    c.routedScalingFactor !== 1 ? `×${c.routedScalingFactor}` : '',
  ].filter(Boolean);
  const shared = c.sharedHidden > 0 ? ` Fs=${c.sharedHidden}${c.sharedExpertGate ? ' (gated)' : ''}` : '';
  const shape = `H=${c.hidden} F=${c.expertHidden} E=${c.experts} K=${c.topK}${shared}`;
  const windowed = c.attention.windows.filter((w) => w !== null).length;
  const attn =
    windowed > 0 ? `; ${windowed} sliding-window layers (${c.attention.windows.find((w) => w !== null)})` : '';
  return `${c.name} [${c.family}] ${shape} ${routing.join(' ')}; ${c.layers.moe}/${c.layers.total} MoE layers${attn}`;
}
