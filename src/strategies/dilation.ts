// Time dilation: the emulated device computes ~10⁷× slower than a GB200, so a link throttled
// to 900 GB/s would make every pull look free. Scaling the link by (this device's measured
// grouped-GEMM rate ÷ the profile's modeled rate) keeps the compute-to-transfer ratio of the
// modeled hardware — for the MoE layer that ratio is set by tokens per expert and bytes per
// weight, which the scaled-down presets keep (DESIGN.md §2).
import type { Gpu } from '../gpu/index.ts';
import type { HostLayerWeights } from '../layer/host-weights.ts';
import { runLayer } from '../layer/run.ts';
import type { MoeConfig } from '../model/config.ts';
import { DEFAULT_EFFICIENCY } from '../hardware/efficiency.ts';
import { expertMathPrecision } from '../hardware/precision.ts';
import { getProfile } from '../hardware/profiles.ts';
import type { GroupRunOptions } from './types.ts';

export interface Dilation {
  profile: string;
  /** Link bandwidth multiplier applied to --link-gbps. */
  factor: number;
  /** Grouped-GEMM rate measured here on this layer's shape. */
  deviceGflops: number;
  /** The profile's modeled grouped-GEMM rate: peak of the expert math precision × efficiency. */
  profileGflops: number;
  /** True when deviceGflops was measured at the start of this run, false when it was given. */
  measuredInRun: boolean;
}

/**
 * The factor a run's link bandwidth was multiplied by. Under a scale model it is the model's
 * compute : pull factor (η_link × bytes pulled here ÷ the target's ÷ σ: similarity.link), not the
 * dilation's GEMM-rate ratio, which only a run without a target applies. The run sets its link
 * with it (from its scale model and dilation) and the printouts read it back from the result.
 */
export function appliedLinkFactor(r: {
  similarity?: { link: { value: number } };
  link: { dilation?: Pick<Dilation, 'factor'> };
}): number | undefined {
  return r.similarity?.link.value ?? r.link.dilation?.factor;
}

/** The dilation for a device rate measured earlier. */
export function dilationFor(profile: string, format: GroupRunOptions['format'], deviceGflops: number): Dilation {
  if (!(deviceGflops > 0) || !Number.isFinite(deviceGflops))
    throw new Error(`time dilation: device GEMM rate must be a positive GFLOP/s (got ${deviceGflops})`);
  const profileGflops = profileGemmGflops(profile, format);
  return { profile, factor: deviceGflops / profileGflops, deviceGflops, profileGflops, measuredInRun: false };
}

/** Profile's grouped-GEMM rate for a weight format, in GFLOP/s (modeled). */
export function profileGemmGflops(profileId: string, format: GroupRunOptions['format']): number {
  const p = getProfile(profileId);
  const peak = p.peakTflops[expertMathPrecision(format, p)];
  if (peak === null) throw new Error(`profile ${profileId} has no ${format} math path`);
  return peak * 1000 * DEFAULT_EFFICIENCY.groupedGemm;
}

/** Measures the grouped GEMM on `gpu` with one layer of the run's shape (one warm-up + one timed run), on `host` weights when given. */
export async function measureDilation(
  gpu: Gpu,
  cfg: MoeConfig,
  o: GroupRunOptions,
  tokens: number,
  host?: HostLayerWeights,
): Promise<Dilation> {
  const profile = o.timeDilation!.profile;
  const r = await runLayer(gpu, cfg, { format: o.format, tokens, seed: o.seed, runs: 1, variant: o.variant, host });
  // Without timestamp-query the stages are not separated: the whole layer's host time stands in.
  const gemmMs = (r.stageMs.get('gate_up') ?? 0) + (r.stageMs.get('down') ?? 0) || r.totalMs;
  return { ...dilationFor(profile, o.format, r.flops.routed / gemmMs / 1e6), measuredInRun: true };
}
