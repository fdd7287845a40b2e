// The assembled MoE layer, end to end on the Dawn device, against the float64 layer
// reference for each preset family and weight format.
import { describe, expect, it } from 'vitest';
import { createBufferWith, readF32, readI32 } from '../src/gpu/index.ts';
import { buildHostLayerWeights, decodeHostLayerWeights } from '../src/layer/host-weights.ts';
import { MoeLayer, uploadLayerWeights } from '../src/layer/moe-layer.ts';
import { checkRouting, moeLayerReference } from '../src/layer/reference.ts';
import type { WeightFormat } from '../src/model/formats.ts';
import { loadPreset, tokenInputs } from '../src/model/index.ts';
import { relativeError } from '../src/util/numeric.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();

async function runLayer(preset: string, format: WeightFormat, tokens: number, seed: number) {
  const gpu = await testGpu();
  const cfg = loadPreset(preset);
  const host = buildHostLayerWeights(cfg, format, seed, 0);
  const x = tokenInputs(cfg, seed, tokens);
  const layer = await MoeLayer.create(gpu, cfg, { format });
  const scratch = layer.createScratch(tokens);
  const w = uploadLayerWeights(gpu, host);
  const xBuf = createBufferWith(gpu, x, 'x');
  const out = createBufferWith(gpu, new Float32Array(tokens * cfg.hidden), 'out');
  const enc = gpu.device.createCommandEncoder();
  layer.encode(enc, xBuf, out, tokens, w, scratch);
  gpu.device.queue.submit([enc.finish()]);
  const got = await readF32(gpu, out, tokens * cfg.hidden);
  const idx = await readI32(gpu, scratch.topkIdx, tokens * cfg.topK);
  const decoded = decodeHostLayerWeights(host);
  const differing = checkRouting(cfg, tokens, x, decoded, idx);
  const ref = moeLayerReference(cfg, tokens, x, decoded, differing.length ? idx : undefined);
  return { err: relativeError(got, ref.out), differing };
}

describe(`MoE layer vs float64 reference (seed ${SEED})`, () => {
  const cases: [string, WeightFormat, number][] = [
    ['tiny-deepseek', 'nvfp4', 37],
    ['tiny-deepseek', 'f32', 1],
    ['tiny-mixtral', 'int8', 53],
    ['tiny-qwen2', 'fp8', 29],
    ['tiny-qwen3', 'f32', 64],
    ['tiny-gpt-oss', 'mxfp4', 41], // top-k then softmax routing, MXFP4 experts
  ];
  for (const [preset, format, tokens] of cases) {
    it(`${preset} ${format} T=${tokens}`, async () => {
      const { err, differing } = await runLayer(preset, format, tokens, SEED);
      expect(err, `relative error (near-tie tokens: ${differing.join(',') || 'none'})`).toBeLessThan(1e-4);
    });
  }
});

describe('weight formats against the config', () => {
  it('names the config key a format cannot hold', async () => {
    const { layerLayout } = await import('../src/layer/host-weights.ts');
    const { ConfigError } = await import('../src/model/config.ts');
    const bad = loadPreset('tiny-mixtral', { intermediate_size: 40 });
    expect(() => layerLayout(bad, 'nvfp4')).toThrow(ConfigError);
    expect(() => layerLayout(bad, 'nvfp4')).toThrow(/'intermediate_size': 40 is not a multiple of 16/);
    expect(() => layerLayout(loadPreset('tiny-deepseek', { hidden_size: 100 }), 'nvfp4')).toThrow(/'hidden_size'/);
    // The same sizes are fine where a format has no such constraint.
    expect(layerLayout(bad, 'int8').bytes).toBeGreaterThan(0);
  });
});
