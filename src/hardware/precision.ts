// Precisions: what each part of the model computes in, how many bytes a weight or an activation
// takes, and what the all-to-all wire carries. Shared by the rack model (src/sim/cost-model.ts)
// and the emulation (DEP charges its dispatch and combine at these wire precisions).

import type { WeightFormat } from '../model/formats.ts';
import type { HardwareProfile, Precision } from './profiles.ts';

/** Precisions of the parts of the model other than the routed experts. */
export interface ModelPrecision {
  /** Attention projection weights and math (DeepSeek's native checkpoint is FP8, 128×128 blocks). */
  attentionProjections: Precision;
  /** The attention core (QKᵀ, softmax, PV). */
  attentionCore: Precision;
  /** Dense-layer MLPs and the shared expert. */
  denseMlp: Precision;
  /** Router logits. */
  router: Precision;
  /** LM head (only the last token of each request in prefill). */
  lmHead: Precision;
  /** Bytes per activation value in HBM (bf16). */
  activationBytes: number;
  /** Bytes per value sent by DEP's dispatch (DeepSeek-V3 dispatches in FP8) and combine (BF16). */
  dispatchBytes: number;
  combineBytes: number;
}

/** Assumptions: FP8 everywhere DeepSeek's own checkpoint uses FP8, BF16 for attention math and
 *  the LM head, FP8 dispatch / BF16 combine as in the DeepSeek-V3 technical report (§3.3). */
export const DEFAULT_PRECISION: Readonly<ModelPrecision> = {
  attentionProjections: 'fp8',
  attentionCore: 'bf16',
  denseMlp: 'fp8',
  router: 'bf16',
  lmHead: 'bf16',
  activationBytes: 2,
  dispatchBytes: 1,
  combineBytes: 2,
};

/** Bytes per weight parameter stored in a precision (fp4 = NVFP4 with its e4m3 scale per 16). */
export const WEIGHT_BYTES: Readonly<Record<Precision, number>> = { fp4: 0.5625, fp8: 1, bf16: 2, fp32: 4 };

/** The precision the routed experts' math runs in: FP4 where the GPU has it, else FP8 after expansion. */
export function expertMathPrecision(format: WeightFormat, profile: HardwareProfile): Precision {
  if (format === 'nvfp4' || format === 'mxfp4') return profile.peakTflops.fp4 !== null ? 'fp4' : 'fp8';
  if (format === 'f32') return 'fp32';
  return 'fp8'; // int8 and fp8 run at the same tensor-core rate on these GPUs
}
