// One MoE layer's weights on the host, in the chosen weight format: the f32 master
// weights from the seed, quantized expert by expert into contiguous blocks — the exact
// bytes that sit in GPU memory and that a DWDP pull moves.
import { ConfigError, sizeKeys, type MoeConfig } from '../model/config.ts';
import {
  fp4Group,
  decodeExpert,
  expertLayout,
  packExpert,
  type ExpertLayout,
  type WeightFormat,
} from '../model/formats.ts';
import { expertMaster, routerWeights, sharedMaster } from '../model/weights.ts';

export interface HostLayerWeights {
  layer: number;
  format: WeightFormat;
  layout: ExpertLayout;
  router: Float32Array; // [E,H]
  bias?: Float32Array; // [E]
  /** Packed blocks of the experts in `experts`, in that order, layout.words each. */
  blocks: Uint32Array;
  /** Which experts `blocks` holds (all of them for a full replica). */
  experts: number[];
  shared?: { layout: ExpertLayout; block: Uint32Array; expertGate?: Float32Array };
}

/** The expert block layout for a config and format (fp8 takes the model's native block when it has one). */
export function layerLayout(cfg: MoeConfig, format: WeightFormat, expertHidden = cfg.expertHidden): ExpertLayout {
  const group = fp4Group(format);
  if (group !== undefined) {
    // One scale per `group` values along every reduction: name the config key that breaks it.
    const sharedKey =
      cfg.family === 'qwen2_moe' ? 'shared_expert_intermediate_size' : 'n_shared_experts × moe_intermediate_size';
    const expertKey = sizeKeys(cfg.family).expertHidden;
    const dims: [string, number][] = [
      ['hidden_size', cfg.hidden],
      [expertHidden === cfg.expertHidden ? expertKey : sharedKey, expertHidden],
    ];
    const scale = format === 'nvfp4' ? 'e4m3' : 'e8m0';
    for (const [key, v] of dims) {
      if (v % group !== 0)
        throw new ConfigError(
          key,
          `${v} is not a multiple of ${group}, which ${format} weights need (one ${scale} scale per ${group} values); ` +
            'use another --weights format or change the size',
          cfg.name,
        );
    }
  }
  return expertLayout(format, cfg.hidden, expertHidden, { block: cfg.nativeWeightBlock });
}

/** Packs the blocks of `experts` (default: all) of layer `layer`. */
export function packExperts(
  cfg: MoeConfig,
  format: WeightFormat,
  seed: number,
  layer: number,
  experts: number[],
): Uint32Array {
  const layout = layerLayout(cfg, format);
  const blocks = new Uint32Array(experts.length * layout.words);
  experts.forEach((e, i) => {
    const m = expertMaster(cfg, seed, layer, e);
    packExpert(layout, m.gate, m.up, m.down, blocks, i * layout.words);
  });
  return blocks;
}

export function buildHostLayerWeights(
  cfg: MoeConfig,
  format: WeightFormat,
  seed: number,
  layer: number,
  experts: number[] = [...Array(cfg.experts).keys()],
): HostLayerWeights {
  const layout = layerLayout(cfg, format);
  const router = routerWeights(cfg, seed, layer);
  const out: HostLayerWeights = {
    layer,
    format,
    layout,
    router: router.weight,
    bias: router.bias,
    blocks: packExperts(cfg, format, seed, layer, experts),
    experts,
  };
  const sm = sharedMaster(cfg, seed, layer);
  if (sm) {
    const sl = layerLayout(cfg, format, cfg.sharedHidden);
    const block = new Uint32Array(sl.words);
    packExpert(sl, sm.gate, sm.up, sm.down, block, 0);
    out.shared = { layout: sl, block, expertGate: sm.expertGate };
  }
  return out;
}

/** Decoded f32 weights (exactly what the kernels multiply with), for references and dumps. */
export interface DecodedLayerWeights {
  router: Float32Array;
  bias?: Float32Array;
  gate: Float32Array[]; // per expert [F,H]
  up: Float32Array[];
  down: Float32Array[]; // per expert [H,F]
  shared?: { gate: Float32Array; up: Float32Array; down: Float32Array; expertGate?: Float32Array };
}

export function decodeHostLayerWeights(w: HostLayerWeights): DecodedLayerWeights {
  const gate: Float32Array[] = [];
  const up: Float32Array[] = [];
  const down: Float32Array[] = [];
  w.experts.forEach((e, i) => {
    const d = decodeExpert(w.layout, w.blocks, i * w.layout.words);
    gate[e] = d.gate;
    up[e] = d.up;
    down[e] = d.down;
  });
  const out: DecodedLayerWeights = { router: w.router, bias: w.bias, gate, up, down };
  if (w.shared) out.shared = { ...decodeExpert(w.shared.layout, w.shared.block, 0), expertGate: w.shared.expertGate };
  return out;
}
