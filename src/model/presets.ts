// Named models: the real published shapes, and scaled-down ones with the same routing
// structure that run quickly on a CPU-emulated GPU. Every preset is an HF config.json plus
// overrides of its own keys, so it goes through exactly the same parsing and validation as a
// user's file. The config.json files are the published ones, except GLM-4.5's and GLM-4.5-Air's,
// assembled key by key from their authors' training scripts (src/model/hf/SOURCES.md says which
// source states each value): no stored copy of those Hub files exists.
//
// Scaled presets (T = tokens; FLOPs of the routed experts per layer = 2·T·K·3·H·F):
//   tiny-deepseek   R1 with H and F ÷32 (224, 64), E=64 in 8 groups, 4 kept, K=8, one shared
//                   expert, MLA dims scaled; 4 layers (1 dense + 3 MoE). T=128: ≈0.09 GFLOP.
//   tiny-mixtral    H=128, F=448 (Mixtral's F/H = 3.5), E=8, K=2. T=128: ≈0.09 GFLOP.
//   tiny-qwen2      H=128, F=96, Fs=384 (Fs = 4F as published), E=60 (not a power of two), K=4,
//                   gated shared expert, no renormalization. T=128: ≈0.08 GFLOP with the shared.
//   tiny-qwen3      Qwen3-30B-A3B ÷16 in H and F (128, 48), E=128, K=8, renormalized. ≈0.04 GFLOP.
//   tiny-gpt-oss    gpt-oss routing (top-k then softmax) at small size: H=128, F=96 (multiples of
//                   32 for its MXFP4 experts), E=32, K=4, GQA 4/1 heads, 4 layers alternating a
//                   16-token sliding window and full attention. T=128: ≈0.04 GFLOP.
//   small-deepseek  benchmark size: H=512, F=256, Fs=256, E=32 in 4 groups, 2 kept, K=4;
//                   T=256: ≈0.8 GFLOP routed (≈0.5 s per layer at the ≈1.75 GFLOP/s SwiftShader
//                   reached in docs/lab.md), 1.5 MiB per f32 expert.
// H, F and Fs of every scaled preset are multiples of 16 (NVFP4 blocks; tiny-gpt-oss of 32, MXFP4); DeepSeek's fp8
// weight_block_size [128,128] is kept, so tiny-deepseek's H=224 has a partial block.
// Layer counts are small (4: all MoE, or 1 dense + 3 MoE for DeepSeek) so a multi-layer
// ping-pong prefetch runs here.

import deepseekV3 from './hf/deepseek_v3.json';
import gptOss120b from './hf/gpt_oss_120b.json';
import gptOss20b from './hf/gpt_oss_20b.json';
import glm45 from './hf/glm4_5.json';
import glm45Air from './hf/glm4_5_air.json';
import kimiK2 from './hf/kimi_k2.json';
import mixtral from './hf/mixtral.json';
import qwen2Moe from './hf/qwen2_moe.json';
import qwen3Moe from './hf/qwen3_moe.json';
import qwen3_235b from './hf/qwen3_235b_a22b.json';
import { parseJsonText } from '../util/json.ts';
import { ConfigError, parseMoeConfig, type ConfigOverrides, type MoeConfig } from './config.ts';

export type HfSource =
  | 'deepseek_v3.json'
  | 'kimi_k2.json'
  | 'mixtral.json'
  | 'qwen2_moe.json'
  | 'qwen3_moe.json'
  | 'qwen3_235b_a22b.json'
  | 'gpt_oss_20b.json'
  | 'gpt_oss_120b.json'
  | 'glm4_5.json'
  | 'glm4_5_air.json';

/** The config.json files in src/model/hf (their sources, and which two are assembled: src/model/hf/SOURCES.md). */
const PUBLISHED: Record<HfSource, Readonly<Record<string, unknown>>> = {
  'deepseek_v3.json': deepseekV3,
  'kimi_k2.json': kimiK2,
  'mixtral.json': mixtral,
  'qwen2_moe.json': qwen2Moe,
  'qwen3_moe.json': qwen3Moe,
  'qwen3_235b_a22b.json': qwen3_235b,
  'gpt_oss_20b.json': gptOss20b,
  'gpt_oss_120b.json': gptOss120b,
  'glm4_5.json': glm45,
  'glm4_5_air.json': glm45Air,
};

export const HF_SOURCES = Object.keys(PUBLISHED) as readonly HfSource[];

/** A copy of a published config.json (src/model/hf), as its authors ship it. */
export function publishedConfig(source: HfSource): Record<string, unknown> {
  return structuredClone(PUBLISHED[source]) as Record<string, unknown>;
}

export interface Preset {
  description: string;
  source: HfSource;
  /** 'published': the real model's shapes; 'scaled': same routing structure, small. */
  scale: 'published' | 'scaled';
  overrides: ConfigOverrides;
}

const TINY_DEEPSEEK: ConfigOverrides = {
  hidden_size: 224,
  moe_intermediate_size: 64,
  intermediate_size: 576,
  n_routed_experts: 64,
  n_group: 8,
  topk_group: 4,
  num_experts_per_tok: 8,
  n_shared_experts: 1,
  num_hidden_layers: 4,
  first_k_dense_replace: 1,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  q_lora_rank: 48,
  kv_lora_rank: 16,
  qk_nope_head_dim: 32,
  qk_rope_head_dim: 16,
  v_head_dim: 32,
  vocab_size: 1024,
};

export const PRESETS: Readonly<Record<string, Preset>> = {
  'deepseek-r1': {
    description:
      'DeepSeek-R1 (same architecture as V3): H=7168 F=2048 E=256 K=8, 8 groups/4 kept, sigmoid + noaux_tc bias, ×2.5, 1 shared expert, 58 MoE of 61 layers',
    source: 'deepseek_v3.json',
    scale: 'published',
    overrides: {},
  },
  'deepseek-v3': {
    description: 'DeepSeek-V3 as published (identical shapes to R1)',
    source: 'deepseek_v3.json',
    scale: 'published',
    overrides: {},
  },
  'mixtral-8x7b': {
    description: 'Mixtral 8x7B: H=4096 F=14336 E=8 K=2, softmax, renormalized, 32 MoE layers',
    source: 'mixtral.json',
    scale: 'published',
    overrides: {},
  },
  'qwen1.5-moe-a2.7b': {
    description: 'Qwen1.5-MoE-A2.7B (qwen2_moe): H=2048 F=1408 E=60 K=4, gated shared expert Fs=5632, not renormalized',
    source: 'qwen2_moe.json',
    scale: 'published',
    overrides: {},
  },
  'qwen3-30b-a3b': {
    description: 'Qwen3-30B-A3B: H=2048 F=768 E=128 K=8, renormalized, no shared expert, 48 MoE layers',
    source: 'qwen3_moe.json',
    scale: 'published',
    overrides: {},
  },
  'kimi-k2': {
    description:
      'Kimi-K2-Instruct (DeepSeek-V3 architecture): H=7168 F=2048 E=384 K=8, sigmoid + bias, ×2.827, 1 shared expert, MLA with 64 heads, 60 MoE of 61 layers',
    source: 'kimi_k2.json',
    scale: 'published',
    overrides: {},
  },
  'qwen3-235b-a22b': {
    description: 'Qwen3-235B-A22B: H=4096 F=1536 E=128 K=8, renormalized, GQA 64/4 heads, 94 MoE layers',
    source: 'qwen3_235b_a22b.json',
    scale: 'published',
    overrides: {},
  },
  'gpt-oss-20b': {
    description:
      'gpt-oss-20b: H=2880 F=2880 E=32 K=4, top-k then softmax, GQA 64/8 heads, sliding window 128 on every other layer, MXFP4 experts; 24 MoE layers',
    source: 'gpt_oss_20b.json',
    scale: 'published',
    overrides: {},
  },
  'gpt-oss-120b': {
    description:
      'gpt-oss-120b: H=2880 F=2880 E=128 K=4, top-k then softmax, GQA 64/8 heads, sliding window 128 on every other layer, MXFP4 experts; 36 MoE layers',
    source: 'gpt_oss_120b.json',
    scale: 'published',
    overrides: {},
  },
  'glm-4.5': {
    description:
      "GLM-4.5 (config assembled from its authors' scripts): H=5120 F=1536 E=160 K=8, sigmoid + bias, ×2.5, 1 shared expert, GQA 96/8, 89 MoE of 92 layers",
    source: 'glm4_5.json',
    scale: 'published',
    overrides: {},
  },
  'glm-4.5-air': {
    description:
      "GLM-4.5-Air (config assembled from its authors' scripts): H=4096 F=1408 E=128 K=8, sigmoid + bias, 1 shared expert, GQA 96/8 heads, 45 MoE of 46 layers",
    source: 'glm4_5_air.json',
    scale: 'published',
    overrides: {},
  },
  'tiny-deepseek': {
    description:
      'R1 routing at small size: H=224 F=64 E=64 (8 groups, 4 kept) K=8, sigmoid + bias, ×2.5, shared Fs=64; 3 MoE of 4 layers',
    source: 'deepseek_v3.json',
    scale: 'scaled',
    overrides: TINY_DEEPSEEK,
  },
  'tiny-mixtral': {
    description: 'Mixtral routing at small size: H=128 F=448 E=8 K=2; 4 MoE layers',
    source: 'mixtral.json',
    scale: 'scaled',
    overrides: {
      hidden_size: 128,
      intermediate_size: 448,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 1,
      vocab_size: 1024,
    },
  },
  'tiny-qwen2': {
    description:
      'Qwen1.5-MoE routing at small size: H=128 F=96 E=60 K=4, gated shared Fs=384, not renormalized; 4 MoE layers',
    source: 'qwen2_moe.json',
    scale: 'scaled',
    overrides: {
      hidden_size: 128,
      moe_intermediate_size: 96,
      shared_expert_intermediate_size: 384,
      intermediate_size: 384,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      vocab_size: 1024,
    },
  },
  'tiny-qwen3': {
    description: 'Qwen3-30B-A3B routing at small size: H=128 F=48 E=128 K=8, renormalized; 4 MoE layers',
    source: 'qwen3_moe.json',
    scale: 'scaled',
    overrides: {
      hidden_size: 128,
      moe_intermediate_size: 48,
      intermediate_size: 384,
      num_hidden_layers: 4,
      num_attention_heads: 8,
      num_key_value_heads: 1,
      head_dim: 16,
      vocab_size: 1024,
    },
  },
  'tiny-gpt-oss': {
    description:
      'gpt-oss routing at small size: H=128 F=96 E=32 K=4, top-k then softmax, sliding window 16 on every other layer; 4 MoE layers',
    source: 'gpt_oss_20b.json',
    scale: 'scaled',
    overrides: {
      hidden_size: 128,
      intermediate_size: 96,
      num_local_experts: 32,
      num_hidden_layers: 4,
      layer_types: ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention'],
      sliding_window: 16,
      num_attention_heads: 4,
      num_key_value_heads: 1,
      head_dim: 32,
      vocab_size: 1024,
    },
  },
  'small-deepseek': {
    description:
      'Benchmark size with R1 routing: H=512 F=256 E=32 (4 groups, 2 kept) K=4, sigmoid + bias, ×2.5, shared Fs=256; 3 MoE of 4 layers',
    source: 'deepseek_v3.json',
    scale: 'scaled',
    overrides: {
      ...TINY_DEEPSEEK,
      hidden_size: 512,
      moe_intermediate_size: 256,
      intermediate_size: 1280,
      n_routed_experts: 32,
      n_group: 4,
      topk_group: 2,
      num_experts_per_tok: 4,
      num_attention_heads: 8,
      num_key_value_heads: 8,
      q_lora_rank: 192,
      kv_lora_rank: 64,
      qk_nope_head_dim: 64,
      qk_rope_head_dim: 32,
      v_head_dim: 64,
      vocab_size: 4096,
    },
  },
};

/** A preset's config; `overrides` apply after the preset's own (same keys as `--set`). */
export function loadPreset(name: string, overrides: ConfigOverrides = {}): MoeConfig {
  const preset = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!preset) throw new ConfigError('model', `unknown preset '${name}'; presets: ${Object.keys(PRESETS).join(', ')}`);
  return parseMoeConfig(publishedConfig(preset.source), { name, overrides: { ...preset.overrides, ...overrides } });
}

/**
 * `--model` as the CLIs take it: a preset name, or a path to a config.json (Node only; in the
 * browser, parse the JSON yourself and call parseMoeConfig).
 */
export async function resolveModel(arg: string, overrides: ConfigOverrides = {}): Promise<MoeConfig> {
  if (Object.hasOwn(PRESETS, arg)) return loadPreset(arg, overrides);
  const looksLikePath = arg.endsWith('.json') || arg.includes('/') || arg.includes('\\');
  if (!looksLikePath) {
    throw new ConfigError(
      'model',
      `'${arg}' is neither a preset nor a path to a config.json; presets: ${Object.keys(PRESETS).join(', ')}`,
    );
  }
  const text = await readTextFile(arg);
  let json: unknown;
  try {
    json = parseJsonText(text, arg); // a UTF-8 byte-order mark is accepted, as other tools do
  } catch (e) {
    throw new ConfigError('model', (e as Error).message);
  }
  return parseMoeConfig(json, { name: nameFromPath(arg), overrides });
}

/** 'models/DeepSeek-R1/config.json' → 'DeepSeek-R1'; 'mixtral.json' → 'mixtral'. */
function nameFromPath(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  const file = parts[parts.length - 1] ?? path;
  if (file === 'config.json' && parts.length > 1) return parts[parts.length - 2];
  return file.replace(/\.json$/, '');
}

async function readTextFile(path: string): Promise<string> {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode)
    throw new ConfigError('model', `cannot read ${path} in the browser: pass the parsed config.json to parseMoeConfig`);
  // A computed specifier keeps bundlers from pulling node:fs into the browser build.
  const fsModule = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises');
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('model', `cannot read ${path}: ${(e as Error).message}`);
  }
}
