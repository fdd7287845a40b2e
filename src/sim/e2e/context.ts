// The context (prefill) pool of a disaggregated deployment, as the end-to-end model sees it:
// a step time per GPU as a function of the requests a GPU prefills per step, for DEP servers
// (N GPUs, attention data-parallel, experts split N ways, all-to-all) and DWDP groups (N GPUs,
// each a full replica that pulls the remote experts). Both come from the context-phase rack
// model's public entry point (src/sim/experiment.ts `runStepRow`: cost model, step programs,
// event scheduler), one run per batch size 1 … bMax; nothing is recomputed here.
//
// Request lengths: the benchmarks' input-ratio convention draws lengths uniformly in
// [ratio·ISL, ISL]; the step model draws log-normal lengths of a mean and a CV, so it is given
// the uniform distribution's mean ISL·(1 + ratio)/2 and CV (1 − ratio)/(√3·(1 + ratio)).
//
// Requests per step: a context server takes up to `maxBatch` requests per GPU and
// `maxTokens` tokens (the reproduction's `ctx_max_bs` 4 and `ctx_max_num_tokens` 33000), so
// bMax = min(maxBatch, ⌊maxTokens / ISL⌋) — every batch of bMax requests fits the token cap.

import type { MoeConfig } from '../../model/config.ts';
import type { WeightFormat } from '../../model/formats.ts';
import type { Efficiency } from '../../hardware/efficiency.ts';
import { runStepRow } from '../experiment.ts';
import type { HardwareProfile } from '../../hardware/profiles.ts';

export type Strategy = 'dep' | 'dwdp';

export interface ContextPoolParams {
  profile: HardwareProfile;
  model: MoeConfig;
  format: WeightFormat;
  isl: number;
  inputRatio: number;
  /** GPUs per DEP server and per DWDP group (N). */
  groupSize: number;
  maxBatch: number;
  maxTokens: number;
  contentionFix: boolean;
  /** DWDP L and P; default the minimal-memory choice. */
  local?: number;
  pull?: number;
  steps: number;
  seed: number;
  efficiency?: Partial<Efficiency>;
}

/** Step time of one context GPU (ms) with b = 1 … bMax requests per step: stepMs[b − 1]. */
export interface ContextCurve {
  strategy: Strategy;
  groupSize: number;
  bMax: number;
  stepMs: number[];
  /** Mean input length of a request. */
  meanIsl: number;
  dwdpLocal: number;
  dwdpPull: number;
  /** Whether a rank's weights and KV cache fit HBM at bMax. */
  fits: boolean;
}

/** Mean and CV of lengths uniform in [ratio·isl, isl]. */
export function uniformLengths(isl: number, ratio: number): { mean: number; cv: number } {
  return { mean: (isl * (1 + ratio)) / 2, cv: (1 - ratio) / (Math.sqrt(3) * (1 + ratio)) };
}

export function contextBatchLimit(p: Pick<ContextPoolParams, 'maxBatch' | 'maxTokens' | 'isl'>): number {
  const b = Math.min(p.maxBatch, Math.floor(p.maxTokens / p.isl));
  if (!(b >= 1))
    throw new Error(
      `e2e.ctxMaxTokens: ${p.maxTokens} tokens cannot hold one request of ISL ${p.isl}; try ctxMaxTokens ≥ ${p.isl}`,
    );
  return b;
}

/** Both strategies' curves from one set of context-phase runs (DEP and DWDP run the same batches). */
export function contextCurves(p: ContextPoolParams): Record<Strategy, ContextCurve> {
  const bMax = contextBatchLimit(p);
  const { mean, cv } = uniformLengths(p.isl, p.inputRatio);
  const dep: number[] = [];
  const dwdp: number[] = [];
  let fits = { dep: true, dwdp: true };
  let local = 0;
  let pull = 0;
  for (let b = 1; b <= bMax; b++) {
    const row = runStepRow({
      profile: p.profile,
      model: p.model,
      format: p.format,
      isl: Math.round(mean),
      cv,
      batch: b,
      groupSize: p.groupSize,
      steps: p.steps,
      seed: p.seed,
      contentionFix: p.contentionFix,
      splitWeights: true,
      prefetchDepth: 2,
      local: p.local,
      pull: p.pull,
      efficiency: p.efficiency,
    }).row;
    dep.push(row.tDep);
    dwdp.push(row.tDwdp);
    if (b === bMax) fits = row.fits;
    local = row.dwdpLocal;
    pull = row.dwdpPull;
  }
  const mk = (strategy: Strategy, stepMs: number[]): ContextCurve => ({
    strategy,
    groupSize: p.groupSize,
    bMax,
    stepMs,
    meanIsl: mean,
    dwdpLocal: local,
    dwdpPull: pull,
    fits: fits[strategy],
  });
  return { dep: mk('dep', dep), dwdp: mk('dwdp', dwdp) };
}

/** Step time at a mean of b requests per GPU: linear between integers, a one-request step below 1. */
export function contextStepMs(c: ContextCurve, b: number): number {
  if (b <= 1) return c.stepMs[0];
  if (b >= c.bMax) return c.stepMs[c.bMax - 1];
  const i = Math.floor(b);
  const f = b - i;
  return c.stepMs[i - 1] * (1 - f) + c.stepMs[i] * f;
}
