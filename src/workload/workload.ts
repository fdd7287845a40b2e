// Requests per rank: each DWDP/DEP rank serves its own batch of prefill requests, whose
// input lengths vary with a coefficient of variation (CV) — the imbalance DEP's per-layer
// barrier pays for and DWDP does not. Everything is drawn from the seed, by the generator the
// rack model uses too (lengths.ts): the same seed and law give the model the same requests.
import {
  drawBatches,
  fillBatches,
  lengthsWithMean,
  UNIFORM_RATIO_MAX_CV,
  type LengthDist,
  type LengthLaw,
} from './lengths.ts';

export interface WorkloadSpec {
  ranks: number;
  /** Mean tokens per rank (the CLI's --tokens). */
  tokensPerRank: number;
  /** Requests per rank (prefill batch); their lengths sum to the rank's tokens. */
  requestsPerRank: number;
  /** Coefficient of variation of request input lengths (0 = all equal). */
  lengthCv: number;
  /**
   * Law of the lengths (lengths.ts): 'gamma' (the default), 'lognormal', or 'uniform-ratio'
   * (TensorRT-LLM's convention, uniform in [islRatio·isl, isl], isl chosen so that the mean is
   * tokensPerRank / requestsPerRank).
   */
  lengthLaw?: LengthLaw;
  /** uniform-ratio: its ratio; default the one whose CV is lengthCv (lengths.ts islRatioForCv). */
  islRatio?: number;
  /**
   * Batches as servers fill them (lengths.ts, fillBatches — what the rack model's step rows call
   * with the same caps): each rank takes requests from one queue while the next fits both caps,
   * instead of exactly requestsPerRank; lengths keep the law's mean tokensPerRank / requestsPerRank.
   */
  maxTokensPerBatch?: number;
  maxBatchRequests?: number;
  seed: number;
}

export interface RankWork {
  rank: number;
  /** Input lengths of this rank's requests, in order. */
  lengths: number[];
  /** Σ lengths: the tokens this rank's layers process. */
  tokens: number;
  /** First token of this rank in the group's stacked token order. */
  firstToken: number;
}

export function checkWorkloadSpec(s: WorkloadSpec): void {
  const int = (v: number, name: string, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min} (got ${v})`);
  };
  int(s.ranks, 'ranks', 1);
  int(s.tokensPerRank, 'tokens per rank', 1);
  int(s.requestsPerRank, 'requests per rank', 1);
  if (s.requestsPerRank > s.tokensPerRank) {
    throw new Error(`requests per rank (${s.requestsPerRank}) cannot exceed tokens per rank (${s.tokensPerRank})`);
  }
  if (!(s.lengthCv >= 0 && s.lengthCv <= 2)) throw new Error(`length CV must be in [0, 2] (got ${s.lengthCv})`);
  if (s.lengthLaw === 'uniform-ratio' && s.islRatio === undefined && !(s.lengthCv < UNIFORM_RATIO_MAX_CV))
    throw new Error(
      `length CV ${s.lengthCv} is out of reach of the uniform-ratio law (below ${UNIFORM_RATIO_MAX_CV.toFixed(3)}): ` +
        'lower the CV or use gamma or lognormal',
    );
}

/** The emulation's length law when a spec names none. */
export const DEFAULT_WORKLOAD_LAW: LengthLaw = 'gamma';

/** The length law of a spec, with the mean tokensPerRank / requestsPerRank. */
export function workloadLengths(spec: WorkloadSpec): LengthDist {
  const mean = spec.tokensPerRank / spec.requestsPerRank;
  return lengthsWithMean(spec.lengthLaw ?? DEFAULT_WORKLOAD_LAW, mean, spec.lengthCv, spec.islRatio);
}

/**
 * Every rank's requests: lengths from the spec's law (default gamma: shape 1/CV², so CV 0 gives
 * every request the mean, split so that each rank holds exactly its tokens), drawn rank by rank
 * from the seed, as the rack model draws its batches (lengths.ts, drawBatches).
 */
export function makeWorkload(spec: WorkloadSpec): RankWork[] {
  checkWorkloadSpec(spec);
  const common = { seed: spec.seed, ranks: spec.ranks, steps: 1, lengths: workloadLengths(spec) };
  const batches =
    spec.maxTokensPerBatch !== undefined || spec.maxBatchRequests !== undefined
      ? fillBatches({ ...common, maxTokens: spec.maxTokensPerBatch, maxRequests: spec.maxBatchRequests })
      : drawBatches({ ...common, batch: spec.requestsPerRank });
  const out: RankWork[] = [];
  let first = 0;
  batches.forEach(([lengths], r) => {
    const tokens = lengths.reduce((a, b) => a + b, 0);
    out.push({ rank: r, lengths, tokens, firstToken: first });
    first += tokens;
  });
  return out;
}

/** Total tokens across ranks (rows of the stacked x). */
export function totalTokens(work: RankWork[]): number {
  return work.reduce((a, w) => a + w.tokens, 0);
}
