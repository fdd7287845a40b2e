// How close real kernels get to a GPU's peak: the efficiency factors of the roofline cost model
// (src/sim/cost-model.ts) and of the emulation's time dilation, one declaration for both.

/** Fractions of peak that real kernels reach, and fixed per-kernel costs. */
export interface Efficiency {
  /** Dense GEMMs (attention projections, dense MLP, shared expert, router, LM head). */
  gemm: number;
  /** The grouped routed-expert GEMM (many GEMMs of uneven sizes, weights decoded on load). */
  groupedGemm: number;
  /** The causal attention core (FlashAttention-style fused kernel). */
  attention: number;
  /** HBM bandwidth actually reached by streaming kernels. */
  memory: number;
  /** GPU-to-GPU bandwidth actually reached by peer copies and all-to-all traffic. */
  link: number;
  /** Launch and tail cost per kernel, µs. */
  launchUs: number;
  /** Fixed cost of one all-to-all phase (dispatch or combine): kernel launch and handshake, µs. */
  collectiveUs: number;
}

/**
 * Defaults, and why (assumptions, not fits):
 * - gemm 0.7: large FP8/FP4 GEMMs in cuBLAS/CUTLASS typically reach 60–80% of dense peak.
 * - groupedGemm 0.6: a grouped GEMM over 256 experts of a few hundred rows each loses some
 *   of that to tile quantization and scale handling.
 * - attention 0.5: FlashAttention-3 reaches ~75% of BF16 peak forward on H100 (Shah et al.,
 *   2024) at long non-causal sequences; causal masking and MLA's 192/128 head dims cost more.
 * - memory 0.8: streaming kernels typically reach 80–90% of HBM peak.
 * - link 0.8: device-to-device NVLink copies typically reach 80–90% of the per-direction peak
 *   (NVIDIA nvbandwidth).
 * - launchUs 4: a few µs per kernel (launch, ramp-up, tail) even inside CUDA graphs.
 * - collectiveUs 15: an all-to-all phase costs tens of µs beyond its bytes at small sizes.
 */
export const DEFAULT_EFFICIENCY: Readonly<Efficiency> = {
  gemm: 0.7,
  groupedGemm: 0.6,
  attention: 0.5,
  memory: 0.8,
  link: 0.8,
  launchUs: 4,
  collectiveUs: 15,
};

/** For a measured profile ('this-device'): its rates are already achieved rates. */
export function thisDeviceEfficiency(): Efficiency {
  return { gemm: 1, groupedGemm: 1, attention: 1, memory: 1, link: 1, launchUs: 0, collectiveUs: 0 };
}
