// The whole MoE layer in float64 on the CPU, token by token: route, run each chosen
// expert's SwiGLU MLP directly, weight and sum, add the shared expert. It shares only the
// routing definition with the kernels' reference (routerReference) and none of the
// permute/GEMM/combine machinery, so it checks their composition independently.
import { routerReference, routingMargin } from '../kernels/router.ts';
import { clearOfRounding } from '../kernels/router-bounds.ts';
import type { MoeConfig } from '../model/config.ts';
import type { DecodedLayerWeights } from './host-weights.ts';
import { routerParams } from './params.ts';

export interface LayerReference {
  out: Float64Array; // [T,H]
  idx: Int32Array; // [T,K]
  weight: Float64Array; // [T,K]
}

const silu = (v: number) => v / (1 + Math.exp(-v));

/** y += scale · down(silu(gate·x) ⊙ up·x) for one token row. */
function mlpInto(
  y: Float64Array,
  x: Float32Array,
  xAt: number,
  gate: Float32Array,
  up: Float32Array,
  down: Float32Array,
  H: number,
  F: number,
  scale: number,
): void {
  const a = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    let g = 0;
    let u = 0;
    for (let h = 0; h < H; h++) {
      g += gate[f * H + h] * x[xAt + h];
      u += up[f * H + h] * x[xAt + h];
    }
    a[f] = silu(g) * u;
  }
  for (let h = 0; h < H; h++) {
    let acc = 0;
    for (let f = 0; f < F; f++) acc += down[h * F + f] * a[f];
    y[h] += scale * acc;
  }
}

/**
 * The layer's output for `tokens` rows of x. `routing` replaces the reference's own
 * expert choice (weights are still computed here in float64 for the given experts): tests
 * pass the GPU's choice where float32 legitimately broke a near-tie the other way.
 */
export function moeLayerReference(
  cfg: MoeConfig,
  tokens: number,
  x: Float32Array,
  w: DecodedLayerWeights,
  routing?: Int32Array,
): LayerReference {
  const p = routerParams(cfg);
  const { hidden: H, expertHidden: F, topK: K } = cfg;
  const ref = routerReference(p, tokens, x, w.router, w.bias);
  const idx = routing ?? ref.idx;
  const weight = routing ? weightsFor(cfg, ref.probs, routing, tokens) : ref.weight;
  const out = new Float64Array(tokens * H);
  for (let t = 0; t < tokens; t++) {
    const y = out.subarray(t * H, (t + 1) * H);
    for (let k = 0; k < K; k++) {
      const e = idx[t * K + k];
      mlpInto(y, x, t * H, w.gate[e], w.up[e], w.down[e], H, F, weight[t * K + k]);
    }
    if (w.shared) {
      let g = 1;
      if (w.shared.expertGate) {
        let dot = 0;
        for (let h = 0; h < H; h++) dot += x[t * H + h] * w.shared.expertGate[h];
        g = 1 / (1 + Math.exp(-dot));
      }
      mlpInto(y, x, t * H, w.shared.gate, w.shared.up, w.shared.down, H, cfg.sharedHidden, g);
    }
  }
  return { out, idx, weight };
}

/** Routing weights of given experts from float64 probabilities (same rule as the router). */
function weightsFor(cfg: MoeConfig, probs: Float64Array, idx: Int32Array, tokens: number): Float64Array {
  const { experts: E, topK: K } = cfg;
  const weight = new Float64Array(tokens * K);
  for (let t = 0; t < tokens; t++) {
    let den = 0;
    for (let k = 0; k < K; k++) den += probs[t * E + idx[t * K + k]];
    if (cfg.scoring === 'sigmoid') den += 1e-20;
    for (let k = 0; k < K; k++) {
      const pr = probs[t * E + idx[t * K + k]];
      weight[t * K + k] = (cfg.normTopkProb ? pr / den : pr) * cfg.routedScalingFactor;
    }
  }
  return weight;
}

/**
 * Compares a device's expert choice with the float64 reference. Tokens where they differ
 * are accepted only when the reference decision is within f32 rounding of a tie (the error
 * bounds derived from the inputs, router-bounds.ts: the kernel's rounding may legitimately
 * decide the other way). Returns the tokens that differed; throws, naming the token, when a
 * difference is not explained by rounding.
 */
export function checkRouting(
  cfg: MoeConfig,
  tokens: number,
  x: Float32Array,
  w: DecodedLayerWeights,
  got: Int32Array,
): number[] {
  const p = routerParams(cfg);
  const ref = routerReference(p, tokens, x, w.router, w.bias);
  const inputs = { x, w: w.router, bias: w.bias };
  const K = cfg.topK;
  const differing: number[] = [];
  for (let t = 0; t < tokens; t++) {
    let same = true;
    for (let k = 0; k < K; k++) same &&= got[t * K + k] === ref.idx[t * K + k];
    if (same) continue;
    if (clearOfRounding(p, inputs, ref, t)) {
      const margin = routingMargin(p, ref, t);
      const g = Array.from(got.subarray(t * K, (t + 1) * K)).join(',');
      const r = Array.from(ref.idx.subarray(t * K, (t + 1) * K)).join(',');
      throw new Error(
        `token ${t}: device chose experts [${g}], reference [${r}], a decision clear of f32 rounding ` +
          `(closest deciding gap ${margin.toExponential(2)}, beyond the error bounds of its inputs)`,
      );
    }
    differing.push(t);
  }
  return differing;
}
