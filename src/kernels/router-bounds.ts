// How far the f32 router (router.ts) may stray from its float64 reference, derived from the
// inputs, and whether a token's routing is decided by more than that: what a check of the
// kernel holds it to (the router tests, the lab's router check).
//
// Logits: x·w over H products in f32 errs by at most γ(H+1)·Σ|x_h·w_h| in any summation
// order (γ(n) = nu/(1 − nu), u = 2⁻²⁴), whichever kernel sums them (the GEMM pass's tiles or
// the one-pass kernel's lanes). A sigmoid passes on σ'(l) = p(1 − p) times that, a softmax at
// most p_e·(δ_e + max δ) (its own logit and the normalizer), to first order. exp is accurate
// to 3 + 2|x| ulps in WGSL; the divisions, the normalizer's sum over E and the bias add cost
// an ulp each. A token is clear of rounding when every adjacent pair that decides it (the
// kept groups and the first dropped one, the K chosen experts and the best one left out)
// differs by more than the two error bounds together; exactly equal scores are true ties
// (duplicate router rows) that the kernel computes identically and breaks by index like the
// reference, so they need no gap.
//
// Routing 'topk-softmax' (gpt-oss) selects on the logits themselves (the reference's scores):
// their bound is the logit bound plus an ulp. Its weights are the softmax over the K chosen:
// ln w_k = l_k − ln Σ_j exp(l_j), which a logit error δ moves by δ_k − Σ_j w_j δ_j, at most
// |δ_k| + max_j |δ_j|; the f32 difference l_j − l_0 rounds by |l_j − l_0| ulps, its exp errs by
// 3 + 2|l_j − l_0| ulps (numerator and normalizer: twice), the sum over K, the division and
// the scale by an ulp each.
import { routerReference, type RouterReference } from './router.ts';
import type { RouterParams } from './routing-params.ts';

/** f32 unit roundoff. */
export const F32_UNIT_ROUNDOFF = 2 ** -24;
const U = F32_UNIT_ROUNDOFF;

/** The router's inputs as the reference takes them: x [T,H], W [E,H], bias [E]. */
export interface RouterInputs {
  x: Float32Array;
  w: Float32Array;
  bias?: Float32Array;
}

/** Bounds on the f32 kernel's error in token t's probabilities and selection scores ([E] each). */
export function routerScoreBounds(
  p: RouterParams,
  inp: RouterInputs,
  ref: RouterReference,
  t: number,
): { prob: Float64Array; sel: Float64Array } {
  const { hidden: H, experts: E } = p;
  const gammaH = ((H + 1) * U) / (1 - (H + 1) * U);
  const logitErr = new Float64Array(E);
  let maxLogit = 0;
  for (let e = 0; e < E; e++) {
    let abs = 0;
    let dot = 0;
    for (let h = 0; h < H; h++) {
      const v = inp.x[t * H + h] * inp.w[e * H + h];
      abs += Math.abs(v);
      dot += v;
    }
    logitErr[e] = gammaH * abs;
    maxLogit = Math.max(maxLogit, Math.abs(dot));
  }
  const maxErr = Math.max(...logitErr);
  if (p.routing === 'topk-softmax') {
    const sel = Float64Array.from(logitErr, (err, e) => err + U * Math.abs(ref.scores[t * E + e]));
    return { prob: logitErr, sel }; // prob: the logits' bounds, which routerWeightBounds reads
  }
  const ulps = 8 + 2 * maxLogit + (p.scoring === 'softmax' ? E : 0);
  const prob = new Float64Array(E);
  const sel = new Float64Array(E);
  for (let e = 0; e < E; e++) {
    const pe = ref.probs[t * E + e];
    prob[e] = (p.scoring === 'sigmoid' ? pe * (1 - pe) * logitErr[e] : pe * (logitErr[e] + maxErr)) + ulps * U * pe;
    sel[e] = prob[e] + U * Math.abs(ref.scores[t * E + e]);
  }
  return { prob, sel };
}

/** Whether token t's routing is decided by more than the kernel's rounding can move (see the header). */
export function clearOfRounding(p: RouterParams, inp: RouterInputs, ref: RouterReference, t: number): boolean {
  const { experts: E, topK: K, nGroup: G, topkGroup } = p;
  const per = E / G;
  const err = routerScoreBounds(p, inp, ref, t).sel;
  const s = ref.scores.subarray(t * E, (t + 1) * E);
  const apart = (a: number, ea: number, b: number, eb: number) => a === b || Math.abs(a - b) > ea + eb;
  let candidates = Array.from({ length: E }, (_, e) => e);
  if (G > 1) {
    // A group's score (its best, or best two with a bias) moves by at most its members' worst error (twice).
    const gs = ref.groupScores.subarray(t * G, (t + 1) * G);
    const gErr = Array.from({ length: G }, (_, g) => {
      const worst = Math.max(...err.subarray(g * per, (g + 1) * per));
      return p.hasBias ? 2 * worst + U * Math.abs(gs[g]) : worst;
    });
    const order = Array.from({ length: G }, (_, g) => g).sort((a, b) => gs[b] - gs[a] || a - b);
    for (let k = 0; k < Math.min(topkGroup, G - 1); k++) {
      if (!apart(gs[order[k]], gErr[order[k]], gs[order[k + 1]], gErr[order[k + 1]])) return false;
    }
    const kept = new Set(order.slice(0, topkGroup));
    candidates = candidates.filter((e) => kept.has(Math.floor(e / per)));
  }
  const order = candidates.sort((a, b) => s[b] - s[a] || a - b);
  for (let k = 0; k < Math.min(K, order.length - 1); k++) {
    if (!apart(s[order[k]], err[order[k]], s[order[k + 1]], err[order[k + 1]])) return false;
  }
  return true;
}

/**
 * Bounds on the error of token t's K weights, from the probability bounds: the scale, and
 * with norm_topk_prob the quotient by the chosen probabilities' sum (first order), plus an
 * ulp per operation.
 */
export function routerWeightBounds(p: RouterParams, inp: RouterInputs, ref: RouterReference, t: number): number[] {
  const { experts: E, topK: K, routedScalingFactor: S } = p;
  const errP = routerScoreBounds(p, inp, ref, t).prob;
  const chosen = Array.from(ref.idx.subarray(t * K, (t + 1) * K));
  const w = (k: number) => Math.abs(ref.weight[t * K + k]);
  if (p.routing === 'topk-softmax') {
    const maxErr = Math.max(...chosen.map((e) => errP[e]));
    const spread = ref.scores[t * E + chosen[0]] - ref.scores[t * E + chosen[K - 1]];
    return chosen.map((e, k) => Math.abs(S) * w(k) * (errP[e] + maxErr + (8 + 6 * spread + K) * U));
  }
  if (!p.normTopkProb) return chosen.map((e, k) => Math.abs(S) * errP[e] + 2 * U * w(k));
  const prob = chosen.map((e) => ref.probs[t * E + e]);
  const den = prob.reduce((a, b) => a + b, 0);
  const denErr = chosen.reduce((a, e) => a + errP[e], 0);
  return chosen.map((e, k) => Math.abs(S) * (errP[e] / den + (prob[k] * denErr) / den ** 2) + (K + 3) * U * w(k));
}

/**
 * Redraws (with `draw`) the activations of every token whose routing is not clear of f32
 * rounding, or that `accept` refuses, until it is, so the kernel can be held to the
 * reference on every token; `inp.x` is changed in place. Near-ties are a few percent of
 * random tokens. Throws, naming the token, after `maxDraws` draws for one token.
 */
export function clearRouterInputs(
  p: RouterParams,
  tokens: number,
  inp: RouterInputs,
  draw: () => Float32Array,
  { accept = (_ref: RouterReference): boolean => true, maxDraws = 1000 } = {},
): RouterInputs {
  const H = p.hidden;
  for (let t = 0; t < tokens; t++) {
    for (let tries = 0; ; tries++) {
      const one = { ...inp, x: inp.x.subarray(t * H, (t + 1) * H) };
      const ref = routerReference(p, 1, one.x, inp.w, inp.bias);
      if (clearOfRounding(p, one, ref, 0) && accept(ref)) break;
      if (tries === maxDraws)
        throw new Error(`router inputs: token ${t} has no routing clear of f32 rounding in ${maxDraws} draws`);
      inp.x.set(draw(), t * H);
    }
  }
  return inp;
}
