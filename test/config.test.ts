import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  KERNEL_LIMITS,
  PRESETS,
  loadPreset,
  parseMoeConfig,
  publishedConfig,
  resolveModel,
  type MoeConfig,
} from '../src/model/index.ts';
import { UsageError, parseSetPairs } from '../src/cli/args.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();
beforeEach((ctx) => ctx.onTestFailed(() => console.error(`config.test: rerun with TEST_SEED=${SEED}`)));

/** The ConfigError thrown by fn (fails the test if none or another error is thrown). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError, none was thrown');
}

/** Expect a ConfigError whose key is `key` and whose message names it (and matches `detail`). */
function expectKeyError(fn: () => unknown, key: string, detail?: RegExp): void {
  const err = configError(fn);
  expect(err.key).toBe(key);
  expect(err.message).toContain(`'${key}'`);
  if (detail) expect(err.message).toMatch(detail);
}

const deepseek = () => publishedConfig('deepseek_v3.json');
const mixtral = () => publishedConfig('mixtral.json');
const qwen2 = () => publishedConfig('qwen2_moe.json');
const qwen3 = () => publishedConfig('qwen3_moe.json');

describe('published configs (values from the published config.json files)', () => {
  it('Kimi-K2-Instruct: DeepSeek-V3 architecture, 384 experts, one dense layer, ungrouped routing', () => {
    const c = parseMoeConfig(publishedConfig('kimi_k2.json'));
    expect(c).toMatchObject({
      family: 'kimi_k2',
      hidden: 7168,
      expertHidden: 2048,
      experts: 384,
      topK: 8,
      scoring: 'sigmoid',
      nGroup: 1,
      topkGroup: 1,
      correctionBias: true,
      routedScalingFactor: 2.827,
      sharedHidden: 2048,
      nativeExpertFormat: 'fp8',
    });
    expect(c.layers).toMatchObject({ total: 61, moe: 60, dense: 1 });
    expect(c.attention).toMatchObject({ heads: 64, kvHeads: 64, headDim: 192, sinks: false });
    expect(c.attention.mla).toEqual({
      qLoraRank: 1536,
      kvLoraRank: 512,
      qkNopeHeadDim: 128,
      qkRopeHeadDim: 64,
      vHeadDim: 128,
    });
  });

  it('Qwen3-235B-A22B: GQA 64/4 heads of 128, 128 experts, 94 MoE layers', () => {
    const c = parseMoeConfig(publishedConfig('qwen3_235b_a22b.json'));
    expect(c).toMatchObject({ family: 'qwen3_moe', hidden: 4096, expertHidden: 1536, experts: 128, topK: 8 });
    expect(c.layers).toMatchObject({ total: 94, moe: 94, dense: 0 });
    expect(c.attention).toEqual({ heads: 64, kvHeads: 4, headDim: 128, windows: Array(94).fill(null), sinks: false });
  });

  for (const [file, layers, experts] of [
    ['gpt_oss_20b.json', 24, 32],
    ['gpt_oss_120b.json', 36, 128],
  ] as const) {
    it(`gpt-oss (${file}): alternating sliding-window (128) and full layers, sinks, MXFP4, top-k then softmax`, () => {
      const c = parseMoeConfig(publishedConfig(file));
      expect(c).toMatchObject({
        family: 'gpt_oss',
        hidden: 2880,
        expertHidden: 2880,
        experts,
        topK: 4,
        scoring: 'softmax',
        routing: 'topk-softmax',
        normTopkProb: true,
        sharedHidden: 0,
        denseIntermediate: 0,
        nativeExpertFormat: 'mxfp4',
      });
      expect(c.layers).toMatchObject({ total: layers, moe: layers, dense: 0 });
      expect(c.attention).toMatchObject({ heads: 64, kvHeads: 8, headDim: 64, sinks: true });
      expect(c.attention.windows).toEqual(Array.from({ length: layers }, (_, l) => (l % 2 === 0 ? 128 : null)));
    });
  }

  it('gpt-oss: a layer_types entry that is not a known attention kind, or the wrong count, names layer_types', () => {
    const g = publishedConfig('gpt_oss_20b.json');
    const types = [...(g.layer_types as string[])];
    types[3] = 'linear_attention';
    expectKeyError(() => parseMoeConfig({ ...g, layer_types: types }), 'layer_types', /layer 3 is "linear_attention"/);
    expectKeyError(() => parseMoeConfig({ ...g, num_hidden_layers: 23 }), 'layer_types', /list of 23/);
    expectKeyError(() => parseMoeConfig({ ...g, sliding_window: 0 }), 'sliding_window', /positive/);
  });

  it('sliding windows from the families without layer_types: Mixtral on every layer, Qwen from max_window_layers', () => {
    expect(parseMoeConfig({ ...mixtral(), sliding_window: 4096 }).attention.windows).toEqual(Array(32).fill(4096));
    const q = parseMoeConfig({ ...qwen2(), use_sliding_window: true, max_window_layers: 21 });
    expect(q.attention.windows).toEqual(Array.from({ length: 24 }, (_, l) => (l >= 21 ? 32768 : null)));
  });

  it('GLM-4.5 (glm4_moe): DeepSeek routing with GQA; read from a config with its published key names', () => {
    // Glm4MoeConfig's key names with small made-up sizes, to test the reader only (the GLM-4.5
    // and GLM-4.5-Air configs in src/model/hf are tested in test/glm.test.ts).
    const glm = {
      architectures: ['Glm4MoeForCausalLM'],
      model_type: 'glm4_moe',
      hidden_size: 256,
      intermediate_size: 512,
      moe_intermediate_size: 64,
      n_routed_experts: 16,
      n_shared_experts: 1,
      num_experts_per_tok: 4,
      first_k_dense_replace: 2,
      num_hidden_layers: 6,
      num_attention_heads: 8,
      num_key_value_heads: 2,
      head_dim: 32,
      partial_rotary_factor: 0.5,
      use_qk_norm: true,
      routed_scaling_factor: 2.5,
      norm_topk_prob: true,
      vocab_size: 1000,
    };
    const c = parseMoeConfig(glm);
    expect(c).toMatchObject({
      family: 'glm4_moe',
      scoring: 'sigmoid',
      correctionBias: true,
      nGroup: 1,
      topkGroup: 1,
      routedScalingFactor: 2.5,
      sharedHidden: 64,
      denseIntermediate: 512,
    });
    expect(c.layers).toMatchObject({ total: 6, moe: 4, dense: 2, moeLayerIndices: [2, 3, 4, 5] });
    expect(c.attention).toEqual({ heads: 8, kvHeads: 2, headDim: 32, windows: Array(6).fill(null), sinks: false });
    expectKeyError(() => parseMoeConfig({ ...glm, architectures: ['GptOssForCausalLM'] }), 'architectures', /gpt_oss/);
  });

  it('DeepSeek-R1 / V3', () => {
    for (const name of ['deepseek-r1', 'deepseek-v3']) {
      const c = loadPreset(name);
      expect(c).toMatchObject({
        name,
        family: 'deepseek_v3',
        hidden: 7168,
        expertHidden: 2048,
        experts: 256,
        topK: 8,
        scoring: 'sigmoid',
        nGroup: 8,
        topkGroup: 4,
        correctionBias: true,
        normTopkProb: true,
        routedScalingFactor: 2.5,
        sharedHidden: 2048,
        sharedExpertGate: false,
        denseIntermediate: 18432,
        vocabSize: 129280,
        nativeWeightBlock: [128, 128],
      });
      expect(c.layers.total).toBe(61);
      expect(c.layers.moe).toBe(58);
      expect(c.layers.dense).toBe(3);
      expect(c.layers.moeLayerIndices[0]).toBe(3);
      expect(c.layers.moeLayerIndices.at(-1)).toBe(60);
      expect(c.attention).toEqual({
        heads: 128,
        kvHeads: 128,
        headDim: 192,
        mla: { qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
        windows: Array(61).fill(null),
        sinks: false,
      });
      expect(c.routing).toBe('score-topk');
      expect(c.nativeExpertFormat).toBe('fp8');
      expect(c.raw.rope_theta).toBe(10000); // unknown keys are kept in raw, not interpreted
    }
  });

  it('Mixtral 8x7B', () => {
    const c = loadPreset('mixtral-8x7b');
    expect(c).toMatchObject({
      family: 'mixtral',
      hidden: 4096,
      expertHidden: 14336,
      experts: 8,
      topK: 2,
      scoring: 'softmax',
      nGroup: 1,
      topkGroup: 1,
      correctionBias: false,
      normTopkProb: true,
      routedScalingFactor: 1,
      sharedHidden: 0,
      sharedExpertGate: false,
      vocabSize: 32000,
    });
    expect(c.nativeWeightBlock).toBeUndefined();
    expect(c.layers).toMatchObject({ total: 32, moe: 32, dense: 0 });
    // sliding_window null: full causal attention on every layer.
    expect(c.attention).toEqual({ heads: 32, kvHeads: 8, headDim: 128, windows: Array(32).fill(null), sinks: false });
  });

  it('Qwen1.5-MoE-A2.7B (qwen2_moe)', () => {
    const c = loadPreset('qwen1.5-moe-a2.7b');
    expect(c).toMatchObject({
      family: 'qwen2_moe',
      hidden: 2048,
      expertHidden: 1408,
      experts: 60,
      topK: 4,
      scoring: 'softmax',
      nGroup: 1,
      correctionBias: false,
      normTopkProb: false,
      routedScalingFactor: 1,
      sharedHidden: 5632,
      sharedExpertGate: true,
      denseIntermediate: 5632,
      vocabSize: 151936,
    });
    expect(c.layers).toMatchObject({ total: 24, moe: 24, dense: 0 });
    // sliding_window 32768 is set, but use_sliding_window is false.
    expect(c.attention).toEqual({ heads: 16, kvHeads: 16, headDim: 128, windows: Array(24).fill(null), sinks: false });
  });

  it('Qwen3-30B-A3B (qwen3_moe)', () => {
    const c = loadPreset('qwen3-30b-a3b');
    expect(c).toMatchObject({
      family: 'qwen3_moe',
      hidden: 2048,
      expertHidden: 768,
      experts: 128,
      topK: 8,
      scoring: 'softmax',
      normTopkProb: true,
      sharedHidden: 0,
      sharedExpertGate: false,
      denseIntermediate: 6144,
    });
    expect(c.layers).toMatchObject({ total: 48, moe: 48, dense: 0 });
    expect(c.attention).toEqual({ heads: 32, kvHeads: 4, headDim: 128, windows: Array(48).fill(null), sinks: false });
  });

  it('parseMoeConfig on the raw published JSON gives the same as the preset', () => {
    const c = parseMoeConfig(deepseek(), { name: 'deepseek-r1' });
    expect(c).toEqual(loadPreset('deepseek-r1'));
    expect(parseMoeConfig(mixtral()).name).toBe('mixtral'); // default name: model_type
  });
});

describe('presets', () => {
  it('every preset parses; scaled ones have NVFP4-friendly sizes and small per-layer cost', () => {
    for (const [name, p] of Object.entries(PRESETS)) {
      const c = loadPreset(name);
      expect(c.name).toBe(name);
      if (p.scale !== 'scaled') continue;
      for (const d of [c.hidden, c.expertHidden, c.sharedHidden]) expect(d % 16, `${name}: ${d}`).toBe(0);
      const flops128 = 2 * 128 * c.topK * 3 * c.hidden * c.expertHidden;
      if (name.startsWith('tiny-')) expect(flops128, name).toBeLessThan(0.15e9);
      expect(c.layers.moe, name).toBeGreaterThanOrEqual(3); // room for the l+2 ping-pong prefetch
    }
  });

  it('scaled presets keep their family routing structure', () => {
    const tds = loadPreset('tiny-deepseek');
    expect([tds.family, tds.scoring, tds.correctionBias, tds.nGroup, tds.topkGroup, tds.topK, tds.experts]).toEqual([
      'deepseek_v3',
      'sigmoid',
      true,
      8,
      4,
      8,
      64,
    ]);
    expect(tds.sharedHidden).toBe(tds.expertHidden);
    const tq2 = loadPreset('tiny-qwen2');
    expect([tq2.experts, tq2.topK, tq2.sharedExpertGate, tq2.normTopkProb]).toEqual([60, 4, true, false]);
    const tm = loadPreset('tiny-mixtral');
    expect([tm.experts, tm.topK, tm.normTopkProb]).toEqual([8, 2, true]);
    const tq3 = loadPreset('tiny-qwen3');
    expect([tq3.experts, tq3.topK, tq3.normTopkProb, tq3.sharedHidden]).toEqual([128, 8, true, 0]);
    const sds = loadPreset('small-deepseek');
    expect([sds.hidden, sds.expertHidden, sds.experts, sds.nGroup, sds.topkGroup, sds.topK]).toEqual([
      512, 256, 32, 4, 2, 4,
    ]);
  });

  it('user overrides apply on top of the preset', () => {
    const c = loadPreset('tiny-deepseek', { hidden_size: '96', num_experts_per_tok: 6 });
    expect([c.hidden, c.topK, c.experts]).toEqual([96, 6, 64]);
  });

  it('unknown preset names the presets', () => {
    expectKeyError(() => loadPreset('tiny-llama'), 'model', /tiny-deepseek/);
    // Names inherited from Object.prototype are not presets either.
    for (const name of ['constructor', 'toString', '__proto__'])
      expectKeyError(() => loadPreset(name), 'model', /unknown preset.*tiny-deepseek/);
  });
});

describe('overrides', () => {
  it('--set strings are coerced by the type of the key they replace', () => {
    const c = parseMoeConfig(deepseek(), {
      overrides: parseSetPairs([
        'hidden_size=96',
        'norm_topk_prob=false',
        'routed_scaling_factor=1.5',
        'scoring_func=softmax',
        'n_shared_experts=2',
      ]),
    });
    expect([c.hidden, c.normTopkProb, c.routedScalingFactor, c.scoring, c.sharedHidden]).toEqual([
      96,
      false,
      1.5,
      'softmax',
      4096,
    ]);
    expect(c.raw.hidden_size).toBe(96);
  });

  it('random scale-downs take effect exactly', () => {
    const rng = new Rng(SEED).fork('overrides');
    for (let i = 0; i < 20; i++) {
      const H = 16 * (1 + rng.int(40));
      const F = 1 + rng.int(500);
      const layers = 1 + rng.int(10);
      const c = parseMoeConfig(qwen2(), {
        overrides: {
          hidden_size: String(H),
          moe_intermediate_size: F,
          num_hidden_layers: `${layers}`,
          shared_expert_intermediate_size: 2 * F,
        },
      });
      expect([c.hidden, c.expertHidden, c.sharedHidden, c.layers.moe]).toEqual([H, F, 2 * F, layers]);
      expect(c.attention.headDim).toBe(Math.floor(H / 16));
    }
  });

  it('JSON-valued and dotted overrides, null unsets', () => {
    const q = parseMoeConfig(qwen3(), {
      overrides: { mlp_only_layers: '[0, 5]', num_hidden_layers: 8, decoder_sparse_step: 2 },
    });
    // MoE when i ∉ mlp_only_layers and (i+1) % 2 == 0 → 1, 3, 7 (5 is dense-only)
    expect(q.layers.moeLayerIndices).toEqual([1, 3, 7]);
    expect(q.layers.dense).toBe(5);
    const d = parseMoeConfig(deepseek(), {
      overrides: { 'quantization_config.weight_block_size': '[64, 32]', n_shared_experts: 'null', moe_layer_freq: 2 },
    });
    expect(d.nativeWeightBlock).toEqual([64, 32]);
    expect(d.raw.quantization_config).toMatchObject({ quant_method: 'fp8', weight_block_size: [64, 32] });
    expect(d.sharedHidden).toBe(0);
    expect(d.layers.moeLayerIndices.slice(0, 3)).toEqual([4, 6, 8]);
  });

  it('overrides never modify the published config', () => {
    const before = JSON.stringify(deepseek());
    loadPreset('tiny-deepseek', { 'quantization_config.weight_block_size': [16, 16] });
    expect(JSON.stringify(deepseek())).toBe(before);
  });

  it('a value of the wrong type for its key, or a typo in a key, is an error naming it', () => {
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { hidden_size: 'big' } }),
      'hidden_size',
      /expected a number/,
    );
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { norm_topk_prob: 'maybe' } }),
      'norm_topk_prob',
      /true or false/,
    );
    expectKeyError(() => parseMoeConfig(deepseek(), { overrides: { hiden_size: 96 } }), 'hiden_size', /unknown key/);
    // `--set` syntax is the CLI's (parseSetPairs): a pair without '=' is a usage error naming it.
    expect(() => parseSetPairs(['hidden_size'])).toThrow(UsageError);
    expect(() => parseSetPairs(['hidden_size'])).toThrow(/key=value.*'hidden_size'/);
    expect(() => parseSetPairs(['=96'])).toThrow(/key=value.*'=96'/);
  });
});

describe('bad configs stop with one error naming the key', () => {
  const without = (json: Record<string, unknown>, key: string) => {
    delete json[key];
    return json;
  };

  it('missing keys', () => {
    expectKeyError(() => parseMoeConfig(without(deepseek(), 'hidden_size')), 'hidden_size', /missing/);
    expectKeyError(() => parseMoeConfig(without(deepseek(), 'n_group')), 'n_group', /missing/);
    expectKeyError(
      () => parseMoeConfig(without(deepseek(), 'routed_scaling_factor')),
      'routed_scaling_factor',
      /missing/,
    );
    expectKeyError(() => parseMoeConfig(without(mixtral(), 'num_local_experts')), 'num_local_experts', /missing/);
    expectKeyError(
      () => parseMoeConfig(without(qwen2(), 'shared_expert_intermediate_size')),
      'shared_expert_intermediate_size',
      /missing/,
    );
    expectKeyError(() => parseMoeConfig(without(qwen3(), 'num_experts_per_tok')), 'num_experts_per_tok', /missing/);
    expectKeyError(() => parseMoeConfig({ ...qwen3(), moe_intermediate_size: null }), 'moe_intermediate_size', /null/);
    expectKeyError(() => parseMoeConfig(without(qwen3(), 'model_type')), 'model_type', /unknown model_type/);
  });

  it('contradictory keys', () => {
    expectKeyError(
      () => parseMoeConfig({ ...mixtral(), architectures: ['DeepseekV3ForCausalLM'] }),
      'architectures',
      /deepseek_v3/,
    );
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { topk_group: 9 } }),
      'topk_group',
      /exceeds n_group=8/,
    );
    expectKeyError(
      () => parseMoeConfig(mixtral(), { overrides: { num_key_value_heads: 5 } }),
      'num_key_value_heads',
      /does not divide/,
    );
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { first_k_dense_replace: 62 } }),
      'first_k_dense_replace',
      /exceeds num_hidden_layers/,
    );
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { first_k_dense_replace: 61 } }),
      'first_k_dense_replace',
      /no MoE layer/,
    );
    expectKeyError(
      () => parseMoeConfig(qwen3(), { overrides: { decoder_sparse_step: 49 } }),
      'decoder_sparse_step',
      /no MoE layer/,
    );
    expectKeyError(
      () => parseMoeConfig(qwen3(), { overrides: { mlp_only_layers: [48] } }),
      'mlp_only_layers',
      /outside/,
    );
  });

  it('group routing: n_group must divide the experts, top-k must fit the kept groups', () => {
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { n_group: 6 } }),
      'n_group',
      /does not divide .*n_routed_experts=256/,
    );
    // 64 groups of 4, 1 kept → only 4 experts allowed for top-8
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { n_group: 64, topk_group: 1 } }),
      'num_experts_per_tok',
      /exceeds the 4 experts/,
    );
    // exactly as many experts allowed as top-k is fine: 32 groups of 8, 1 kept, K=8
    expect(parseMoeConfig(deepseek(), { overrides: { n_group: 32, topk_group: 1 } }).topK).toBe(8);
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { n_group: 32, topk_group: 1, num_experts_per_tok: 9 } }),
      'num_experts_per_tok',
      /exceeds the 8 experts/,
    );
    expectKeyError(
      () => parseMoeConfig(deepseek(), { overrides: { n_group: 256, topk_group: 128 } }),
      'n_group',
      /at least 2 experts per group/,
    );
    expectKeyError(
      () => parseMoeConfig(mixtral(), { overrides: { num_experts_per_tok: 9 } }),
      'num_experts_per_tok',
      /num_local_experts=8/,
    );
  });

  it('random routing shapes are accepted exactly when valid', () => {
    const rng = new Rng(SEED).fork('routing');
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const nGroup = rng.next() < 0.7 ? [1, 2, 4, 8, 16][rng.int(5)] : 1 + rng.int(12);
      const E = rng.next() < 0.5 ? nGroup * (1 + rng.int(40)) : 1 + rng.int(600);
      const topkGroup = 1 + rng.int(nGroup + 2);
      // Half the draws sit at the boundary of the kept-group allowance (allowed−1, allowed, allowed+1).
      const allowed = E % nGroup === 0 ? topkGroup * (E / nGroup) : 0;
      const K = rng.next() < 0.5 && allowed > 0 ? Math.max(1, allowed - 1 + rng.int(3)) : 1 + rng.int(20);
      // Independent statement of the rules, in the order parseMoeConfig checks them.
      let expected: string | undefined;
      if (E > KERNEL_LIMITS.maxExperts) expected = 'n_routed_experts';
      else if (K > KERNEL_LIMITS.maxTopK) expected = 'num_experts_per_tok';
      else if (E % nGroup !== 0) expected = 'n_group';
      else if (topkGroup > nGroup) expected = 'topk_group';
      else if (nGroup > 1 && E / nGroup < 2) expected = 'n_group';
      else if (K > topkGroup * (E / nGroup)) expected = 'num_experts_per_tok';
      const overrides = { n_routed_experts: E, n_group: nGroup, topk_group: topkGroup, num_experts_per_tok: K };
      if (expected === undefined) {
        const c = parseMoeConfig(deepseek(), { overrides });
        expect([c.experts, c.nGroup, c.topkGroup, c.topK], JSON.stringify(overrides)).toEqual([
          E,
          nGroup,
          topkGroup,
          K,
        ]);
        accepted++;
      } else {
        expect(configError(() => parseMoeConfig(deepseek(), { overrides })).key, JSON.stringify(overrides)).toBe(
          expected,
        );
      }
    }
    expect(accepted).toBeGreaterThan(15);
  });

  it('kernel limits: top-k over 16, experts over 512', () => {
    expectKeyError(
      () => parseMoeConfig(qwen3(), { overrides: { num_experts_per_tok: 17 } }),
      'num_experts_per_tok',
      /limit of 16/,
    );
    expectKeyError(() => parseMoeConfig(qwen3(), { overrides: { num_experts: 640 } }), 'num_experts', /limit of 512/);
  });

  it('wrong types and non-positive sizes', () => {
    expectKeyError(() => parseMoeConfig({ ...deepseek(), hidden_size: '7168' }), 'hidden_size', /integer/);
    expectKeyError(
      () => parseMoeConfig({ ...deepseek(), moe_intermediate_size: 2048.5 }),
      'moe_intermediate_size',
      /integer/,
    );
    expectKeyError(() => parseMoeConfig({ ...mixtral(), intermediate_size: 0 }), 'intermediate_size', /positive/);
    expectKeyError(() => parseMoeConfig({ ...qwen3(), num_experts: -4 }), 'num_experts', /positive/);
    expectKeyError(() => parseMoeConfig({ ...qwen3(), norm_topk_prob: 'yes' }), 'norm_topk_prob', /true or false/);
    expectKeyError(
      () => parseMoeConfig({ ...deepseek(), routed_scaling_factor: 'x' }),
      'routed_scaling_factor',
      /number/,
    );
    expectKeyError(
      () => parseMoeConfig({ ...qwen3(), mlp_only_layers: 'none' }),
      'mlp_only_layers',
      /list of integers/,
    );
    expectKeyError(
      () => parseMoeConfig({ ...deepseek(), quantization_config: { weight_block_size: [128] } }),
      'quantization_config.weight_block_size',
    );
    expectKeyError(() => parseMoeConfig([1, 2]), 'model_type', /JSON object/);
  });

  it('unsupported families and methods', () => {
    expectKeyError(
      () => parseMoeConfig({ ...mixtral(), model_type: 'llama' }),
      'model_type',
      /unknown model_type "llama".*deepseek_v3, kimi_k2, mixtral, qwen2_moe, qwen3_moe, gpt_oss, glm4_moe/,
    );
    expectKeyError(
      () => parseMoeConfig({ ...deepseek(), scoring_func: 'relu' }),
      'scoring_func',
      /unknown scoring_func/,
    );
    expectKeyError(
      () => parseMoeConfig({ ...deepseek(), topk_method: 'group_limited_greedy' }),
      'topk_method',
      /DeepSeek-V2/,
    );
    expectKeyError(() => parseMoeConfig({ ...deepseek(), topk_method: 'greedy' }), 'topk_method', /noaux_tc/);
    expectKeyError(() => parseMoeConfig({ ...mixtral(), hidden_act: 'gelu' }), 'hidden_act', /SwiGLU/);
  });

  it('the message carries the config name', () => {
    expect(configError(() => loadPreset('tiny-qwen3', { num_experts_per_tok: 0 })).message).toMatch(
      /^tiny-qwen3: config key 'num_experts_per_tok': must be positive/,
    );
  });
});

describe('resolveModel', () => {
  it('takes a preset name or a path to a config.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dwdp-config-'));
    try {
      await mkdir(join(dir, 'My-Mixtral'));
      const path = join(dir, 'My-Mixtral', 'config.json');
      await writeFile(path, JSON.stringify(mixtral()));
      const c: MoeConfig = await resolveModel(path, { hidden_size: '256' });
      expect([c.name, c.family, c.hidden, c.experts]).toEqual(['My-Mixtral', 'mixtral', 256, 8]);
      await writeFile(join(dir, 'odd.json'), JSON.stringify(qwen2()));
      expect((await resolveModel(join(dir, 'odd.json'))).name).toBe('odd');
      await writeFile(join(dir, 'broken.json'), '{"model_type": ');
      await expect(resolveModel(join(dir, 'broken.json'))).rejects.toThrow(/not valid JSON/);
      await expect(resolveModel(join(dir, 'missing.json'))).rejects.toThrow(/cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect((await resolveModel('tiny-mixtral', { num_experts_per_tok: 1 })).topK).toBe(1);
    await expect(resolveModel('tiny-llama')).rejects.toThrow(/neither a preset nor a path.*tiny-deepseek/);
  });
});
