// Routing skew: hot experts. A trained router sends many more tokens to some experts than
// to others; here each token is pushed toward one expert drawn from a Zipf law over a
// seeded popularity order (p ∝ 1/rank^s), by adding that expert's router direction to the
// token, then restoring the row's RMS. Selection then follows the skew while the layer
// stays an ordinary MoE on ordinary inputs — every strategy sees the same tokens.
//
// The draws are one generator (HotExperts), shared with the rack model: the emulation pushes
// token t toward the t-th draw of the seed's stream; the model (src/sim/routing.ts) counts the
// same draws per expert. Same seed, same order of tokens, same hot experts on both sides.
import type { MoeConfig } from '../model/config.ts';
import { Rng } from '../util/random.ts';

/** Logit boost of the drawn expert, in units of the router logits' std (≈1 by construction). */
export const SKEW_BOOST = 2;

/** Zipf probabilities over ranks 1..n with exponent s (s = 0: uniform). */
export function zipf(n: number, s: number): Float64Array {
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[i] = 1 / (i + 1) ** s;
  for (let i = 0; i < n; i++) p[i] /= sum;
  return p;
}

/** The seed's popularity order: order[0] is the hottest expert (a seeded permutation). */
export function popularityOrder(experts: number, seed: number): number[] {
  const rng = new Rng(seed).fork('workload/skew-order');
  const order = Array.from({ length: experts }, (_, i) => i);
  for (let i = experts - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The seed's stream of hot-expert draws (the emulation's and the model's). */
export const SKEW_STREAM = 'workload/skew';

/**
 * Hot experts drawn token by token: draw t is expert order[k] with k ~ Zipf(exponent) over
 * 1..E (p ∝ 1/k^s), `order` the seed's popularity order. Successive calls continue the stream,
 * so drawing a group's tokens rank by rank gives what one call over the stacked tokens gives.
 */
export class HotExperts {
  readonly order: number[];
  private readonly cdf: Float64Array;
  /** guide[b] = the first k with cdf[k] ≥ b·total/E: where the search for a u in bucket b starts. */
  private readonly guide: Int32Array;
  private readonly rng: Rng;

  /** `stream`: the draws' source (default the seed's SKEW_STREAM, what the emulation uses). */
  constructor(
    readonly experts: number,
    readonly exponent: number,
    readonly seed: number,
    stream?: Rng,
  ) {
    if (!(exponent >= 0) || !Number.isFinite(exponent))
      throw new Error(`routing skew must be a Zipf exponent ≥ 0 (got ${exponent})`);
    if (!(Number.isInteger(experts) && experts >= 1))
      throw new Error(`routing skew: experts must be an integer ≥ 1 (got ${experts})`);
    this.rng = stream ?? new Rng(seed).fork(SKEW_STREAM);
    this.order = popularityOrder(experts, seed);
    this.cdf = zipf(experts, exponent);
    for (let i = 1; i < experts; i++) this.cdf[i] += this.cdf[i - 1];
    this.guide = new Int32Array(experts);
    const total = this.cdf[experts - 1];
    for (let b = 0, k = 0; b < experts; b++) {
      // A hair below the bucket's edge, so float rounding of u = r·total never starts past the answer.
      while (k < experts - 1 && this.cdf[k] < ((b * total) / experts) * (1 - 1e-12)) k++;
      this.guide[b] = k;
    }
  }

  /** The next draw: an expert index. */
  next(): number {
    const E = this.experts;
    const r = this.rng.next();
    const u = r * this.cdf[E - 1];
    // The first k with cdf[k] ≥ u (at most E − 1): from the guide of u's bucket (every k before
    // it has cdf[k] < b·total/E ≤ u, up to rounding), then forward — O(1) steps on average.
    let k = this.guide[Math.min(E - 1, Math.floor(r * E))];
    while (k < E - 1 && this.cdf[k] < u) k++;
    return this.order[k];
  }

  /** The next `tokens` draws counted per expert: out[e] = tokens whose hot expert is e. */
  counts(tokens: number, out = new Float64Array(this.experts)): Float64Array {
    for (let t = 0; t < tokens; t++) out[this.next()]++;
    return out;
  }
}

/** Pushes every token of x [tokens, H] toward a Zipf-drawn hot expert (in place). */
export function applyRoutingSkew(
  cfg: MoeConfig,
  x: Float32Array,
  tokens: number,
  router: Float32Array,
  exponent: number,
  seed: number,
): void {
  const { hidden: H, experts: E } = cfg;
  const hot = new HotExperts(E, exponent, seed);
  for (let t = 0; t < tokens; t++) {
    const e = hot.next();
    let norm = 0;
    for (let h = 0; h < H; h++) norm += router[e * H + h] ** 2;
    const a = SKEW_BOOST / Math.max(norm, 1e-30);
    let sq = 0;
    for (let h = 0; h < H; h++) {
      x[t * H + h] += a * router[e * H + h];
      sq += x[t * H + h] ** 2;
    }
    const scale = 1 / Math.sqrt(sq / H);
    for (let h = 0; h < H; h++) x[t * H + h] *= scale;
  }
}
