// Routing skew: hot experts. A trained router sends many more tokens to some experts than
// to others; here each token is pushed toward one expert drawn from a Zipf law over a
// seeded popularity order (p ∝ 1/rank^s), by adding that expert's router direction to the
// token, then restoring the row's RMS. Selection then follows the skew while the layer
// stays an ordinary MoE on ordinary inputs — every strategy sees the same tokens.
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

/** Pushes every token of x [tokens, H] toward a Zipf-drawn hot expert (in place). */
export function applyRoutingSkew(
  cfg: MoeConfig,
  x: Float32Array,
  tokens: number,
  router: Float32Array,
  exponent: number,
  seed: number,
): void {
  if (!(exponent >= 0) || !Number.isFinite(exponent))
    throw new Error(`routing skew must be a Zipf exponent ≥ 0 (got ${exponent})`);
  const { hidden: H, experts: E } = cfg;
  const rng = new Rng(seed).fork('workload/skew');
  const order = popularityOrder(E, seed);
  const cdf = zipf(E, exponent);
  for (let i = 1; i < E; i++) cdf[i] += cdf[i - 1];
  for (let t = 0; t < tokens; t++) {
    const u = rng.next() * cdf[E - 1];
    let k = 0;
    while (k < E - 1 && cdf[k] < u) k++;
    const e = order[k];
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
