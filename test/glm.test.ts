// GLM-4.5 and GLM-4.5-Air (glm4_moe): the assembled config.json files (src/model/hf/SOURCES.md)
// load as presets, the layer program's parameter counts equal an independent float64 count
// walked layer by layer from the raw config keys (on the two models and on fresh random
// glm4_moe shapes), the counts agree with the authors' published totals within a tolerance
// derived from what those totals may or may not include, and keys the layer program cannot
// follow stop with one message naming them.
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadPreset, parseMoeConfig, publishedConfig, type MoeConfig } from '../src/model/index.ts';
import { parameterCounts } from '../src/sim/cost-model.ts';
import { parseScenario, runScenario } from '../src/sim/scenarios.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();
beforeEach((ctx) => ctx.onTestFailed(() => console.error(`glm.test: rerun with TEST_SEED=${SEED}`)));

type Json = Record<string, unknown>;
const num = (j: Json, k: string): number => {
  const v = j[k];
  if (typeof v !== 'number') throw new Error(`test config lacks ${k}`);
  return v;
};

/**
 * Parameters of a glm4_moe config.json as Glm4MoeForCausalLM builds them, walking the layers:
 * layer l < first_k_dense_replace has a dense MLP (gate, up, down of intermediate_size), every
 * other layer E routed experts and n_shared_experts shared ones (3·H·moe_intermediate_size each)
 * and a router H·E; every layer q, k, v, o of heads·d, kv·d, kv·d, heads·d. Plus the input
 * embedding and the untied LM head. Also what the published totals might include besides:
 * norm weights and biases (`small`) and the MTP draft layers (`mtp`, each a MoE layer with its
 * eh_proj, norms and, at most, its own embedding and head copies).
 */
function walk(j: Json): { total: number; active: number; embeddings: number; small: number; mtp: number } {
  const H = num(j, 'hidden_size');
  const heads = num(j, 'num_attention_heads');
  const kv = num(j, 'num_key_value_heads');
  const d = num(j, 'head_dim');
  const E = num(j, 'n_routed_experts');
  const K = num(j, 'num_experts_per_tok');
  const shared = num(j, 'n_shared_experts');
  const expert = 3 * H * num(j, 'moe_intermediate_size');
  const attention = H * heads * d + 2 * H * kv * d + heads * d * H;
  const moeLayer = attention + (E + shared) * expert + H * E;
  let total = 0;
  let active = 0;
  for (let l = 0; l < num(j, 'num_hidden_layers'); l++) {
    if (l < num(j, 'first_k_dense_replace')) {
      const dense = attention + 3 * H * num(j, 'intermediate_size');
      total += dense;
      active += dense;
    } else {
      total += moeLayer;
      active += moeLayer - (E - K) * expert;
    }
  }
  if (j.tie_word_embeddings !== false) throw new Error('test configs are untied, as GLM-4.5 is');
  const embeddings = 2 * num(j, 'vocab_size') * H;
  const perLayerSmall =
    2 * H + (j.attention_bias === true ? (heads + 2 * kv) * d : 0) + (j.use_qk_norm === true ? 2 * d : 0) + E;
  const small = num(j, 'num_hidden_layers') * perLayerSmall + H;
  const mtpLayers = typeof j.num_nextn_predict_layers === 'number' ? j.num_nextn_predict_layers : 0;
  const mtp = mtpLayers * (moeLayer + 2 * H * H + 3 * H + perLayerSmall + embeddings);
  return { total: total + embeddings, active: active + embeddings, embeddings, small, mtp };
}

/** A random glm4_moe config.json of plausible shape (sizes need not be realistic, only valid). */
function randomGlm(rng: Rng): Json {
  const heads = 1 + rng.int(48);
  const layers = 1 + rng.int(100);
  const E = 2 + rng.int(200);
  return {
    architectures: ['Glm4MoeForCausalLM'],
    model_type: 'glm4_moe',
    hidden_size: 64 * (1 + rng.int(128)),
    intermediate_size: 32 * (1 + rng.int(600)),
    moe_intermediate_size: 16 * (1 + rng.int(200)),
    num_attention_heads: heads,
    num_key_value_heads: [1, heads][rng.int(2)],
    head_dim: 16 * (1 + rng.int(16)),
    n_routed_experts: E,
    n_shared_experts: rng.int(3),
    num_experts_per_tok: 1 + rng.int(Math.min(16, E)),
    num_hidden_layers: layers,
    first_k_dense_replace: rng.int(layers),
    tie_word_embeddings: false,
    attention_bias: rng.int(2) === 1,
    use_qk_norm: rng.int(2) === 1,
    num_nextn_predict_layers: rng.int(2),
    vocab_size: 1000 + rng.int(200000),
  };
}

function programCounts(c: MoeConfig): { total: number; active: number } {
  const n = parameterCounts(c);
  return { total: n.total, active: n.active };
}

describe('GLM-4.5 presets (assembled config.json)', () => {
  it('load with the shapes their authors state', () => {
    const g = loadPreset('glm-4.5');
    expect(g).toMatchObject({
      family: 'glm4_moe',
      hidden: 5120,
      expertHidden: 1536,
      experts: 160,
      topK: 8,
      scoring: 'sigmoid',
      routing: 'score-topk',
      nGroup: 1,
      topkGroup: 1,
      correctionBias: true,
      normTopkProb: true,
      routedScalingFactor: 2.5,
      sharedHidden: 1536,
      denseIntermediate: 12288,
      vocabSize: 151552,
    });
    expect(g.layers).toEqual({
      total: 92,
      moe: 89,
      dense: 3,
      moeLayerIndices: Array.from({ length: 89 }, (_, i) => i + 3),
    });
    expect(g.attention).toEqual({ heads: 96, kvHeads: 8, headDim: 128, windows: Array(92).fill(null), sinks: false });

    const a = loadPreset('glm-4.5-air');
    expect(a).toMatchObject({ hidden: 4096, expertHidden: 1408, experts: 128, topK: 8, routedScalingFactor: 1 });
    expect([a.sharedHidden, a.denseIntermediate, a.layers.dense, a.layers.moe]).toEqual([1408, 10944, 1, 45]);
    expect([a.attention.heads, a.attention.kvHeads, a.attention.headDim]).toEqual([96, 8, 128]);
  });

  it("the layer program's parameter counts equal a layer-by-layer float64 count of the config", () => {
    for (const [preset, file] of [
      ['glm-4.5', 'glm4_5.json'],
      ['glm-4.5-air', 'glm4_5_air.json'],
    ] as const) {
      const j = publishedConfig(file);
      const w = walk(j);
      expect(programCounts(loadPreset(preset)), preset).toEqual({ total: w.total, active: w.active });
    }
  });

  it('the same on fresh random glm4_moe shapes', () => {
    const rng = new Rng(SEED).fork('glm-shapes');
    for (let i = 0; i < 200; i++) {
      const j = randomGlm(rng);
      const w = walk(j);
      // Every count is an integer below 2^53: float64 sums are exact, so equality is exact.
      expect(w.total).toBeLessThan(2 ** 53);
      expect(programCounts(parseMoeConfig(j)), JSON.stringify(j)).toEqual({ total: w.total, active: w.active });
    }
  });

  it('agree with the published 355B/32B and 106B/12B within what those totals may include', () => {
    // The authors' totals are rounded to whole billions (±0.5B) and do not say whether they
    // count the embeddings and LM head, the MTP draft layer, norms and biases. The published
    // figure must lie within [the count with none of them − 0.5B, the count with all + 0.5B].
    const published = [
      { preset: 'glm-4.5', file: 'glm4_5.json', total: 355e9, active: 32e9 },
      { preset: 'glm-4.5-air', file: 'glm4_5_air.json', total: 106e9, active: 12e9 },
    ] as const;
    const half = 0.5e9;
    for (const p of published) {
      const n = parameterCounts(loadPreset(p.preset));
      const w = walk(publishedConfig(p.file));
      const totalLo = n.total - n.embeddings - half;
      const totalHi = n.total + w.small + w.mtp + half;
      expect(p.total, `${p.preset} total: ${n.total / 1e9}B in the program`).toBeGreaterThanOrEqual(totalLo);
      expect(p.total, `${p.preset} total`).toBeLessThanOrEqual(totalHi);
      const activeLo = n.active - n.embeddings - half;
      const activeHi = n.active + w.small + half;
      expect(p.active, `${p.preset} active: ${n.active / 1e9}B in the program`).toBeGreaterThanOrEqual(activeLo);
      expect(p.active, `${p.preset} active`).toBeLessThanOrEqual(activeHi);
    }
  });
});

describe('glm4_moe keys the layer program cannot follow', () => {
  const glm = () => publishedConfig('glm4_5_air.json');

  function keyError(j: Json): ConfigError {
    try {
      parseMoeConfig(j);
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('expected a ConfigError');
  }

  it('scoring_func, topk_method and moe_layer_freq other than what Glm4MoeForCausalLM runs stop with the key named', () => {
    for (const [key, value, detail] of [
      ['scoring_func', 'softmax', /always scores with a sigmoid; use sigmoid/],
      ['topk_method', 'greedy', /always selects with noaux_tc; use noaux_tc/],
      ['moe_layer_freq', 2, /reads no moe_layer_freq.*use 1 or leave it out/],
    ] as const) {
      const err = keyError({ ...glm(), [key]: value });
      expect(err.key).toBe(key);
      expect(err.message).toContain(`'${key}'`);
      expect(err.message).toMatch(detail);
    }
    // The values its configs carry (GLM-4.7's config.json spells out these two) are accepted.
    const spelled = parseMoeConfig({ ...glm(), scoring_func: 'sigmoid', topk_method: 'noaux_tc', moe_layer_freq: 1 });
    expect(spelled).toEqual({ ...parseMoeConfig(glm()), raw: spelled.raw });
  });
});

describe('a scenario names GLM-4.5 as its "model"', () => {
  it('runs it as a preset', () => {
    const spec = parseScenario({ model: 'glm-4.5', base: { groupSize: 4, batch: 1, isl: 2048, steps: 1, cv: 0 } });
    const res = runScenario(spec);
    expect(res.model).toMatch(
      /^glm-4\.5 \[glm4_moe\] H=5120 F=1536 E=160 K=8 Fs=1536 sigmoid bias renorm ×2\.5; 89\/92 MoE layers/,
    );
    expect(res.rows[0].tDep).toBeGreaterThan(0);
    expect(res.rows[0].breakdown.dwdp.groupedGemm).toBeGreaterThan(0);
  });

  it("in roofline mode its pull is GLM-4.5's bytes over the link, written out by hand", () => {
    // Every MoE layer pulls the (N − 1)/N of its E experts the rank does not hold, each three
    // H×F NVFP4 matrices (4-bit codes, an e4m3 scale per 16 values, a 16-byte padded tensor
    // scale), at the gb200-nvl72 link's 900 GB/s per direction with nothing below peak. The
    // pull does not depend on the input length: a random one shows it.
    const [H, F, E, moeLayers, N] = [5120, 1536, 160, 89, 4];
    const expertBytes = 3 * ((H * F) / 2 + (H * F) / 16 + 16);
    const want = ((moeLayers * ((N - 1) * E) * expertBytes) / N / 900e9) * 1e3; // ms per step
    const isl = 256 + new Rng(SEED).fork('glm-isl').int(8192);
    const base = { groupSize: N, batch: 1, isl, steps: 1, cv: 0, contentionFix: true, roofline: true };
    const res = runScenario(parseScenario({ model: 'glm-4.5', profile: 'gb200-nvl72', base }));
    const got = res.rows[0].tPrefetch;
    expect(Math.abs(got - want) / want, `ISL ${isl}: model ${got} ms, hand ${want} ms`).toBeLessThan(1e-9);
  });
});
