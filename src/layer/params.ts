// Kernel parameters derived from a model config (the kernels know nothing of configs).
import type { SharedMode } from '../kernels/combine.ts';
import type { RouterParams } from '../kernels/routing-params.ts';
import type { MoeConfig } from '../model/config.ts';

export function routerParams(cfg: MoeConfig): RouterParams {
  return {
    hidden: cfg.hidden,
    experts: cfg.experts,
    topK: cfg.topK,
    scoring: cfg.scoring,
    nGroup: cfg.nGroup,
    topkGroup: cfg.topkGroup,
    hasBias: cfg.correctionBias,
    normTopkProb: cfg.normTopkProb,
    routedScalingFactor: cfg.routedScalingFactor,
    routing: cfg.routing,
  };
}

export function sharedMode(cfg: MoeConfig): SharedMode {
  if (cfg.sharedHidden === 0) return 'none';
  return cfg.sharedExpertGate ? 'gated' : 'plain';
}
