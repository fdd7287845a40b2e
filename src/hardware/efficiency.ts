// How close real kernels get to a GPU's peak: the efficiency factors of the roofline cost model
// (src/sim/cost-model.ts) and of the emulation's time dilation, one declaration for both.

import type { HardwareProfile } from './profiles.ts';

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
  /** GPU-to-GPU bandwidth actually reached by one-sided peer copies (DWDP's pulls, KV transfers). */
  link: number;
  /**
   * GPU-to-GPU bandwidth actually reached by the all-to-all of expert parallelism (DEP's dispatch
   * and combine): every rank sends to and receives from every peer at once, in token-sized chunks
   * packed by SM kernels, so it reaches less of the link than a bulk one-sided copy.
   */
  allToAll: number;
  /** Launch and tail cost per kernel, µs. */
  launchUs: number;
  /** Fixed cost of one all-to-all phase (dispatch or combine): kernel launch and handshake, µs. */
  collectiveUs: number;
  /**
   * The small memory-bound kernels of one layer ("others": norms, RoPE, residual adds, quantize
   * before each GEMM, permute and finalize around the grouped GEMM), as passes over the layer's
   * hidden state: each pass reads and writes T·H activations once at `memory` × HBM.
   */
  othersPasses: number;
  /**
   * Copy interference: compute on a rank runs 1 / (1 + interference) as fast while a pull into
   * or out of it moves bytes (power-induced clock throttling while the copy engines and NVLink are
   * busy; HBM bandwidth taken by the pull's reads and writes). 0: none.
   */
  interference: number;
  /**
   * Stragglers at DEP's collectives: each rank's work of a MoE layer takes a random extra time,
   * exponential with mean `straggle` × the layer's compute, independent per rank and layer
   * (kernel durations that vary run to run: GPU clocks moving under power management on
   * millisecond scales, host-side launch gaps). Its mean is in the fitted efficiencies, for every
   * strategy; what the all-to-all adds is the wait for the slowest rank beyond that mean,
   * θ·(H_N − 1) in a balanced group of N (src/timeline/straggle.ts). 0: none.
   */
  straggle: number;
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
 * - allToAll 0.75: DeepEP's tuned intranode kernels (deepseek-ai/DeepEP README, H800, EP 8,
 *   4096-token batches, FP8 dispatch / BF16 combine) reach 153 GB/s dispatching and 158 GB/s
 *   combining of the H800's 200 GB/s NVLink per direction (400 GB/s bidirectional): 0.77–0.79,
 *   below bulk copies; general-purpose all-to-all (NCCL) reaches less.
 * - launchUs 4: a few µs per kernel (launch, ramp-up, tail) even inside CUDA graphs.
 * - collectiveUs 15: an all-to-all phase costs tens of µs beyond its bytes at small sizes; a fixed
 *   cost per phase (its bytes go at allToAll), never fitted: it would charge decode steps for
 *   what large prefill batches move.
 * - othersPasses 4: a norm, RoPE and two residual adds, each a read and a write of T·H.
 * - interference 0: no evidence without a measurement (the calibrated profiles set it: the DWDP
 *   paper measures DWDP's compute ≈ 10 % slower than DEP's while pulls run, its Table 3).
 * - straggle 0: no evidence without a measurement (the calibrated profiles set it from DEP's
 *   measured synchronization, the DWDP paper's Table 3).
 */
export const DEFAULT_EFFICIENCY: Readonly<Efficiency> = {
  gemm: 0.7,
  groupedGemm: 0.6,
  attention: 0.5,
  memory: 0.8,
  link: 0.8,
  allToAll: 0.75,
  launchUs: 4,
  collectiveUs: 15,
  othersPasses: 4,
  interference: 0,
  straggle: 0,
};

/**
 * Roofline mode: every op at the profile's peaks (compute, HBM, link: efficiency 1), no fixed
 * cost per kernel or per all-to-all phase, no copy interference, no stragglers. What is left is
 * the model's workload accounting (FLOPs and bytes per op, bytes per transfer) over the peaks:
 * the definition of a roofline estimate such as the DWDP paper's Table 1. `othersPasses` is
 * accounting (how many passes the small kernels make), not an efficiency: the sourced count.
 * The scenario option `roofline` (src/options/scenario.ts) runs a row with it.
 */
export const ROOFLINE_EFFICIENCY: Readonly<Efficiency> = {
  gemm: 1,
  groupedGemm: 1,
  attention: 1,
  memory: 1,
  link: 1,
  allToAll: 1,
  launchUs: 0,
  collectiveUs: 0,
  othersPasses: DEFAULT_EFFICIENCY.othersPasses,
  interference: 0,
  straggle: 0,
};

/** What roofline mode runs, in words, for every place that prints it (option help, report headers). */
export const ROOFLINE_TEXT =
  'every op at the profile’s peaks (efficiency 1), no launch or collective costs, no interference, no stragglers, no link latency';

/** For a measured profile ('this-device'): its rates are already achieved rates, so the roofline's. */
export function thisDeviceEfficiency(): Efficiency {
  return { ...ROOFLINE_EFFICIENCY };
}

/**
 * The efficiencies a profile runs with unless a scenario overrides them: a measured profile's
 * (its rates are achieved rates), else the defaults above with the profile's calibration (a fit,
 * see src/sim/fit.ts) on top.
 */
export function profileEfficiency(profile: HardwareProfile): Efficiency {
  if (profile.measured) return thisDeviceEfficiency();
  return { ...DEFAULT_EFFICIENCY, ...profile.calibration?.efficiency };
}

/** How a profile's efficiencies were set, in words (printed with every modeled number). */
export function calibrationText(profile: Pick<HardwareProfile, 'measured' | 'calibration'>): string {
  // Where the rates came from is the profile's name (thisDeviceProfile's ratesFrom).
  if (profile.measured) return 'efficiency 1: the profile’s rates are taken as achieved rates, not peaks';
  return (
    profile.calibration?.describe ??
    'uncalibrated: the sourced efficiency defaults of src/hardware/efficiency.ts, nothing fitted'
  );
}
