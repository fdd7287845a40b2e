// Precisions: what each part of the model computes in, how many bytes a weight or an activation
// takes, and what the all-to-all wire carries. Shared by the rack model (src/sim/cost-model.ts)
// and the emulation (DEP charges its dispatch and combine at these wire precisions).

import type { WeightFormat } from '../model/formats.ts';
import type { HardwareProfile, Precision } from './profiles.ts';

/** Precisions of the parts of the model other than the routed experts. */
export interface ModelPrecision {
  /** Attention projection weights and math (DeepSeek's native checkpoint is FP8, 128×128 blocks). */
  attentionProjections: Precision;
  /** The attention output projection (o_proj, "wo"): its own entry because NVIDIA's NVFP4 v2 checkpoints quantize it. */
  attentionOutput: Precision;
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
  attentionOutput: 'fp8',
  attentionCore: 'bf16',
  denseMlp: 'fp8',
  router: 'bf16',
  lmHead: 'bf16',
  activationBytes: 2,
  dispatchBytes: 1,
  combineBytes: 2,
};

/**
 * What an NVFP4 checkpoint changes besides the routed experts: NVIDIA's DeepSeek-R1-0528-FP4 v2
 * (the DWDP paper's DeepSeek-R1-0528-NVFP4-v2) "additionally quantizes the wo module in attention
 * layers" compared to v1 (model card, https://huggingface.co/nvidia/DeepSeek-R1-0528-FP4-v2);
 * everything else outside the experts stays as DeepSeek shipped it. On a GPU without FP4 the
 * cost model runs FP4 math at the FP8 rate.
 */
export const NVFP4_CHECKPOINT_PRECISION: Readonly<Partial<ModelPrecision>> = { attentionOutput: 'fp4' };

/** The precisions of a checkpoint whose routed experts are in `format`. */
export function checkpointPrecision(format: WeightFormat): ModelPrecision {
  return { ...DEFAULT_PRECISION, ...(format === 'nvfp4' ? NVFP4_CHECKPOINT_PRECISION : {}) };
}

/** Bytes per weight parameter stored in a precision (fp4 = NVFP4 with its e4m3 scale per 16). */
export const WEIGHT_BYTES: Readonly<Record<Precision, number>> = { fp4: 0.5625, fp8: 1, bf16: 2, fp32: 4 };

/** The precision the routed experts' math runs in: FP4 where the GPU has it, else FP8 after expansion. */
export function expertMathPrecision(format: WeightFormat, profile: HardwareProfile): Precision {
  if (format === 'nvfp4' || format === 'mxfp4') return profile.peakTflops.fp4 !== null ? 'fp4' : 'fp8';
  if (format === 'f32') return 'fp32';
  return 'fp8'; // int8 and fp8 run at the same tensor-core rate on these GPUs
}
