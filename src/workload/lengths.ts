// Request input lengths, drawn from a seed: the one generator behind the emulation's requests
// per rank (workload.ts) and the rack model's batches and request streams (src/sim), so that
// the same seed and law give the same requests on both sides.
//
// Laws:
//   gamma          mean m, coefficient of variation c: Gamma(shape 1/c², scale m·c²). Positive
//                  and right-skewed like real prompt lengths. The emulation's default.
//   lognormal      mean m, CV c: exp(N(ln m − s²/2, s²)) with s² = ln(1 + c²). Also positive and
//                  right-skewed, with a heavier tail. The rack model's scenarios' default.
//   uniform-ratio  TensorRT-LLM's benchmark convention: lengths uniform over the integers
//                  [⌈islRatio·isl⌉, isl], `isl` being the MAXIMUM (mean isl·(1 + islRatio)/2,
//                  CV (1 − islRatio) / ((1 + islRatio)·√3)).
// CV 0 (gamma, lognormal) or islRatio 1 gives every request the same length; a batch then
// splits its tokens as evenly as whole tokens allow, so it holds exactly round(mean × batch).
// Draws are rounded to whole tokens, at least 1.
import { Rng } from '../util/random.ts';

export type LengthLaw = 'gamma' | 'lognormal' | 'uniform-ratio';
export const LENGTH_LAWS: readonly LengthLaw[] = ['gamma', 'lognormal', 'uniform-ratio'];

export type LengthDist =
  { law: 'gamma' | 'lognormal'; mean: number; cv: number } | { law: 'uniform-ratio'; isl: number; islRatio: number };

/** The seed's stream for request lengths (the emulation and the model fork the same one). */
export const LENGTH_STREAM = 'workload/lengths';

export function checkLengthDist(d: LengthDist): void {
  if (d.law === 'uniform-ratio') {
    if (!(Number.isInteger(d.isl) && d.isl >= 1))
      throw new Error(`workload: isl must be an integer ≥ 1 (the longest request), got ${d.isl}`);
    if (!(d.islRatio > 0 && d.islRatio <= 1))
      throw new Error(
        `workload: islRatio must be in (0, 1] (lengths uniform in [islRatio·isl, isl]), got ${d.islRatio}`,
      );
    return;
  }
  if (d.law !== 'gamma' && d.law !== 'lognormal')
    throw new Error(
      `workload: length law must be one of ${LENGTH_LAWS.join(', ')}, got '${(d as { law: string }).law}'`,
    );
  if (!(d.mean >= 1) || !Number.isFinite(d.mean)) throw new Error(`workload: mean length must be ≥ 1, got ${d.mean}`);
  if (!(d.cv >= 0 && d.cv <= 2)) throw new Error(`workload: length CV must be in [0, 2], got ${d.cv}`);
}

/** The largest CV the uniform-ratio law reaches (islRatio → 0): 1/√3. */
export const UNIFORM_RATIO_MAX_CV = 1 / Math.sqrt(3);

/**
 * The islRatio r whose uniform-ratio law has coefficient of variation `cv`: CV = (1 − r)/((1 + r)·√3)
 * solved for r, how one CV knob sets TensorRT-LLM's convention (before rounding to whole tokens).
 */
export function islRatioForCv(cv: number): number {
  if (!(cv >= 0 && cv < UNIFORM_RATIO_MAX_CV))
    throw new Error(
      `workload: uniform-ratio lengths reach a CV below ${UNIFORM_RATIO_MAX_CV.toFixed(3)} (1/√3, islRatio → 0), got ${cv}`,
    );
  const a = cv * Math.sqrt(3);
  return (1 - a) / (1 + a);
}

/**
 * The law `law` with mean `mean` and coefficient of variation `cv`: gamma and lognormal as they
 * are; uniform-ratio with islRatio = islRatioForCv(cv) (or `islRatio` when given) and its
 * longest length isl = round(2·mean / (1 + islRatio)).
 */
export function lengthsWithMean(law: LengthLaw, mean: number, cv: number, islRatio?: number): LengthDist {
  if (law !== 'uniform-ratio') return { law, mean, cv };
  const r = islRatio ?? islRatioForCv(cv);
  return { law, isl: Math.max(1, Math.round((2 * mean) / (1 + r))), islRatio: r };
}

/** The rack model's scenario keys of a law (src/sim/experiment.ts stepLengths reads them back). */
export function lengthKeys(d: LengthDist): { isl: number; cv: number; lengthLaw: LengthLaw; islRatio?: number } {
  if (d.law !== 'uniform-ratio') return { isl: d.mean, cv: d.cv, lengthLaw: d.law };
  return {
    isl: d.isl,
    cv: (1 - d.islRatio) / ((1 + d.islRatio) * Math.sqrt(3)),
    lengthLaw: d.law,
    islRatio: d.islRatio,
  };
}

/** Mean length of the law (before rounding). */
export function meanLength(d: LengthDist): number {
  return d.law === 'uniform-ratio' ? (d.isl * (1 + d.islRatio)) / 2 : d.mean;
}

/** The uniform-ratio law's shortest length: ⌈islRatio·isl⌉, at least 1 token. */
export function uniformRatioMin(isl: number, islRatio: number): number {
  return Math.max(1, Math.ceil(islRatio * isl));
}

/** True when every draw is the same length. */
export function isConstant(d: LengthDist): boolean {
  return d.law === 'uniform-ratio' ? uniformRatioMin(d.isl, d.islRatio) >= d.isl : d.cv === 0;
}

/** One length, a whole number of tokens ≥ 1 (clamped to [min, max] when given). */
export function sampleLength(rng: Rng, d: LengthDist, clamp: { min?: number; max?: number } = {}): number {
  let x: number;
  if (d.law === 'uniform-ratio') {
    const lo = uniformRatioMin(d.isl, d.islRatio);
    x = lo + Math.floor(rng.next() * (d.isl - lo + 1));
  } else if (d.cv === 0) x = d.mean;
  else if (d.law === 'gamma') x = gamma(rng, 1 / d.cv ** 2) * d.mean * d.cv ** 2;
  else {
    const s2 = Math.log(1 + d.cv * d.cv);
    x = Math.exp(Math.log(d.mean) - s2 / 2 + Math.sqrt(s2) * rng.normal());
  }
  return Math.min(clamp.max ?? Infinity, Math.max(clamp.min ?? 1, Math.round(x)));
}

/** `n` lengths; a constant law splits round(mean·n) tokens as evenly as whole tokens allow. */
export function sampleBatch(rng: Rng, d: LengthDist, n: number): number[] {
  if (isConstant(d)) {
    const total = Math.max(n, Math.round(meanLength(d) * n));
    const base = Math.floor(total / n);
    let extra = total - base * n;
    return Array.from({ length: n }, () => base + (extra-- > 0 ? 1 : 0));
  }
  return Array.from({ length: n }, () => sampleLength(rng, d));
}

export interface BatchesSpec {
  seed: number;
  ranks: number;
  /** Forward steps per rank (the emulation runs one). */
  steps: number;
  /** Requests per step of a rank. */
  batch: number;
  lengths: LengthDist;
}

/** Each of `counts` an integer ≥ 1; else an error naming the first that is not. */
function checkCounts(counts: Record<string, number>): void {
  for (const [k, v] of Object.entries(counts))
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`workload: ${k} must be an integer ≥ 1, got ${v}`);
}

/**
 * lengths[rank][step] = that step's request lengths, drawn rank by rank, step by step, from
 * the seed's LENGTH_STREAM: what the emulation's ranks and the model's programs both serve.
 */
export function drawBatches(s: BatchesSpec): number[][][] {
  checkLengthDist(s.lengths);
  checkCounts({ ranks: s.ranks, steps: s.steps, batch: s.batch });
  const rng = new Rng(s.seed).fork(LENGTH_STREAM);
  return Array.from({ length: s.ranks }, () =>
    Array.from({ length: s.steps }, () => sampleBatch(rng, s.lengths, s.batch)),
  );
}

export interface QueueBatchesSpec {
  seed: number;
  ranks: number;
  steps: number;
  lengths: LengthDist;
  /** Tokens per batch at most (a request longer than that gets a batch of its own). */
  maxTokens?: number;
  /** Requests per batch at most. */
  maxRequests?: number;
}

/**
 * Batches as servers fill them: one queue of requests, drawn one by one from the seed's
 * LENGTH_STREAM (the same draws, in the same order, as the emulation's requests for a law whose
 * lengths vary), and step by step, rank by rank, each batch takes the queue's head while the next
 * request fits both caps — at least one request, so ranks carry different request counts and
 * tokens. lengths[rank][step] as drawBatches returns them.
 */
export function fillBatches(s: QueueBatchesSpec): number[][][] {
  checkLengthDist(s.lengths);
  checkCounts({ ranks: s.ranks, steps: s.steps });
  const maxTokens = s.maxTokens ?? Infinity;
  const maxRequests = s.maxRequests ?? Infinity;
  if (!(maxTokens >= 1)) throw new Error(`workload: maxTokensPerBatch must be ≥ 1, got ${s.maxTokens}`);
  if (!(maxRequests >= 1)) throw new Error(`workload: maxBatchRequests must be ≥ 1, got ${s.maxRequests}`);
  if (maxTokens === Infinity && maxRequests === Infinity)
    throw new Error('workload: a queue-filled batch needs maxTokensPerBatch or maxBatchRequests');
  const rng = new Rng(s.seed).fork(LENGTH_STREAM);
  let head: number | null = null;
  const take = () => {
    const x = head ?? sampleLength(rng, s.lengths);
    head = null;
    return x;
  };
  const out: number[][][] = Array.from({ length: s.ranks }, () => []);
  for (let step = 0; step < s.steps; step++) {
    for (let r = 0; r < s.ranks; r++) {
      const batch = [take()];
      let tokens = batch[0];
      while (batch.length < maxRequests) {
        const x = take();
        if (tokens + x > maxTokens) {
          head = x;
          break;
        }
        batch.push(x);
        tokens += x;
      }
      out[r].push(batch);
    }
  }
  return out;
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
