// The model: configs (HF config.json + overrides), presets, and seeded f32 master weights.
// Weight formats (quantization) live in ./formats.ts, owned separately.

export { ConfigError, KERNEL_LIMITS, configSummary, parseMoeConfig } from './config.ts';
export type { ConfigOverrides, MlaDims, MoeConfig, MoeFamily, ParseOptions } from './config.ts';
export { PRESETS, loadPreset, publishedConfig, resolveModel } from './presets.ts';
export type { HfSource, Preset } from './presets.ts';
export {
  WEIGHT_SCALES,
  expertMaster,
  inputOutlierChannels,
  routerWeights,
  sharedMaster,
  tokenInputs,
} from './weights.ts';
export type { ExpertWeights, RouterWeights, SharedWeights } from './weights.ts';
