// Requests per rank: each DWDP/DEP rank serves its own batch of prefill requests, whose
// input lengths vary with a coefficient of variation (CV) — the imbalance DEP's per-layer
// barrier pays for and DWDP does not. Everything is drawn from the seed.
import { Rng } from '../util/random.ts';

export interface WorkloadSpec {
  ranks: number;
  /** Mean tokens per rank (the CLI's --tokens). */
  tokensPerRank: number;
  /** Requests per rank (prefill batch); their lengths sum to the rank's tokens. */
  requestsPerRank: number;
  /** Coefficient of variation of request input lengths (0 = all equal). */
  lengthCv: number;
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
}

/**
 * Gamma-distributed lengths with the requested mean and CV (shape 1/CV²), rounded to
 * whole tokens (at least 1). Gamma keeps lengths positive and right-skewed like real
 * prompt-length distributions; CV = 0 gives every request exactly the mean.
 */
export function makeWorkload(spec: WorkloadSpec): RankWork[] {
  checkWorkloadSpec(spec);
  const rng = new Rng(spec.seed).fork('workload/lengths');
  const mean = spec.tokensPerRank / spec.requestsPerRank;
  const out: RankWork[] = [];
  let first = 0;
  for (let r = 0; r < spec.ranks; r++) {
    const lengths: number[] = [];
    for (let q = 0; q < spec.requestsPerRank; q++) {
      const len = spec.lengthCv === 0 ? mean : gamma(rng, 1 / spec.lengthCv ** 2) * mean * spec.lengthCv ** 2;
      lengths.push(Math.max(1, Math.round(len)));
    }
    if (spec.lengthCv === 0) spreadRemainder(lengths, spec.tokensPerRank);
    const tokens = lengths.reduce((a, b) => a + b, 0);
    out.push({ rank: r, lengths, tokens, firstToken: first });
    first += tokens;
  }
  return out;
}

/** With CV 0 the lengths must sum exactly to the requested tokens (mean may be fractional). */
function spreadRemainder(lengths: number[], total: number): void {
  const base = Math.floor(total / lengths.length);
  let extra = total - base * lengths.length;
  for (let i = 0; i < lengths.length; i++) lengths[i] = base + (extra-- > 0 ? 1 : 0);
}

/** Marsaglia–Tsang gamma(shape, 1) sampler; shape < 1 via the boost Gamma(a+1)·U^(1/a). */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Total tokens across ranks (rows of the stacked x). */
export function totalTokens(work: RankWork[]): number {
  return work.reduce((a, w) => a + w.tokens, 0);
}
