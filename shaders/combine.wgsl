// Combine: gather each token's K expert outputs back from expert-sorted order, weight
// them, and add the shared expert:
//
//   out[t, :] = Σ_{k=0..K-1} topk_weight[t,k] · y[inv[t·K + k], :]  +  g(t) · s[t, :]
//
// g(t) = 1 for plain shared experts (DeepSeek), sigmoid(x[t, :] · gate_w) for Qwen2-MoE's
// shared_expert_gate, and there is no second term without shared experts (SHARED = 0/1/2).
//
// One workgroup of WG = 64 threads per token. Thread j owns columns j, j + WG, … of the
// row, in units of V: a generated prelude defines `V` as vec4<f32> when H % 4 == 0 (16-byte
// loads and stores) and as f32 otherwise, with VW = 4 or 1 and lane_sum(v) the sum of its
// components. HV = H / VW is the row length in units of V.
//
// Deterministic, no atomics: each output element is one thread's sum over k in slot order
// 0..K-1, then + g·s. The gate dot product is a fixed tree reduction over the workgroup.
//
// Bindings: 0 sizes {tokens}; 1 y [T·K, H] (sorted rows); 2 inv [T·K] u32;
// 3 topk_weight [T·K] f32; 4 s [T, H] (shared expert output; a dummy when SHARED = 0);
// 5 x [T, H] and 6 gate_w [H] (read only when SHARED = 2); 7 out [T, H].
// Token t = wid.x + wid.y·num_workgroups.x.

struct Sizes {
  tokens: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> y: array<V>;
@group(0) @binding(2) var<storage, read> inv: array<u32>;
@group(0) @binding(3) var<storage, read> topk_weight: array<f32>;
@group(0) @binding(4) var<storage, read> shared_out: array<V>;
@group(0) @binding(5) var<storage, read> x: array<V>;
@group(0) @binding(6) var<storage, read> gate_w: array<V>;
@group(0) @binding(7) var<storage, read_write> out: array<V>;

override HV: u32;
override TOP_K: u32;
override SHARED: u32 = 0u; // 0 none, 1 plain, 2 sigmoid-gated

const WG: u32 = 64u;

var<workgroup> rows: array<u32, TOP_K>;
var<workgroup> weights: array<f32, TOP_K>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tok = wid.x + wid.y * nwg.x;
  if (tok >= sizes.tokens) { return; }

  // The token's K sorted rows and weights, read once per workgroup.
  for (var k = lid; k < TOP_K; k += WG) {
    rows[k] = inv[tok * TOP_K + k] * HV;
    weights[k] = topk_weight[tok * TOP_K + k];
  }

  var g = 1.0;
  if (SHARED == 2u) {
    var part = 0.0;
    for (var h = lid; h < HV; h += WG) { part += lane_sum(x[tok * HV + h] * gate_w[h]); }
    red[lid] = part;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s) { red[lid] += red[lid + s]; }
      workgroupBarrier();
    }
    g = 1.0 / (1.0 + exp(-red[0]));
  }
  workgroupBarrier(); // rows / weights visible to all

  let o = tok * HV;
  for (var h = lid; h < HV; h += WG) {
    var acc = V(0.0);
    for (var k = 0u; k < TOP_K; k++) {
      acc += weights[k] * y[rows[k] + h];
    }
    if (SHARED != 0u) { acc += g * shared_out[o + h]; }
    out[o + h] = acc;
  }
}
