// MoE router: logits = x·Wᵀ, scoring, (grouped) top-k, routing weights.
//
// One workgroup of WG = 128 threads per token; nothing is tied to the expert count, which
// only sizes the workgroup arrays (E ≤ ~1900 fits 16 KiB of workgroup memory).
//
//   1. Logits. The workgroup is ROWS = 16 rows × LANES = 8 lanes: a row owns one expert at
//      a time, its 8 lanes read W[e, lane + 8j] and x[t, lane + 8j] (adjacent lanes,
//      adjacent floats) and a 3-step tree sums the 8 partials. Experts are covered in
//      blocks of 16, so E = 512 is 32 blocks.
//   2. Scoring into prob[e]: sigmoid(logit) (DeepSeek-V3), or softmax over all E (max and
//      sum by a tree reduction over the 128 threads; fixed order, so deterministic).
//      Selection score sel[e] = prob[e] + bias[e] (noaux_tc), else prob[e].
//   3. Grouped top-k (N_GROUP > 1): group score = sum of the two largest sel in the group
//      when a bias is present, else the group max. A group is kept when fewer than
//      TOPK_GROUP groups beat it (higher score, or equal score and lower group index);
//      the experts of dropped groups get sel = NEG and so can never be chosen.
//   4. Top-k: TOP_K rounds of a workgroup argmax over sel; each round's winner is recorded
//      in chosen[k] and knocked out with NEG. Order within a token: descending selection
//      score, exact ties broken by the LOWER expert index (that comparison is `better`).
//   5. Weights: w_k = prob[chosen[k]] (the unbiased score); with NORM_TOPK_PROB divided by
//      Σ_k w_k (+1e-20 for sigmoid, as HF DeepSeek-V3 does); then × ROUTED_SCALING.
//
// Bindings: 0 sizes {tokens}; 1 x [T,H] f32; 2 W [E,H] f32; 3 bias [E] f32 (a dummy when
// HAS_BIAS is false); 4 topk_idx [T,K] i32 (out); 5 topk_weight [T,K] f32 (out).
// Token t = wid.x + wid.y·num_workgroups.x (2-D grid past 65535 tokens).

struct Sizes {
  tokens: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> topk_idx: array<i32>;
@group(0) @binding(5) var<storage, read_write> topk_weight: array<f32>;

override HIDDEN: u32;
override EXPERTS: u32;
override TOP_K: u32;
override N_GROUP: u32 = 1u;
override TOPK_GROUP: u32 = 1u;
override SIGMOID: bool = false;
override HAS_BIAS: bool = false;
override NORM_TOPK_PROB: bool = false;
override ROUTED_SCALING: f32 = 1.0;

const WG: u32 = 128u;
const LANES: u32 = 8u;
const ROWS: u32 = WG / LANES;
// Below every real selection score: marks dropped groups and already chosen experts.
const NEG: f32 = -0x1.fffffep+127f; // -FLT_MAX

var<workgroup> prob: array<f32, EXPERTS>;
var<workgroup> sel: array<f32, EXPERTS>;
var<workgroup> group_score: array<f32, N_GROUP>;
var<workgroup> chosen: array<u32, TOP_K>;
var<workgroup> red_v: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;

// The selection order: higher score first, equal scores by lower index.
fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return v > bv || (v == bv && i < bi);
}

// Tree reductions over all WG threads; every thread must call them (they hold barriers).
fn workgroup_sum(lid: u32, v: f32) -> f32 {
  red_v[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_v[lid] += red_v[lid + s]; }
    workgroupBarrier();
  }
  let r = red_v[0];
  workgroupBarrier(); // red_v is reused by the next reduction
  return r;
}

fn workgroup_max(lid: u32, v: f32) -> f32 {
  red_v[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_v[lid] = max(red_v[lid], red_v[lid + s]); }
    workgroupBarrier();
  }
  let r = red_v[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tok = wid.x + wid.y * nwg.x;
  if (tok >= sizes.tokens) { return; }

  // 1. Logits: ROWS experts at a time, LANES threads per dot product.
  let lane = lid % LANES;
  let row = lid / LANES;
  let x0 = tok * HIDDEN;
  for (var base = 0u; base < EXPERTS; base += ROWS) {
    let e = base + row;
    var acc = 0.0;
    if (e < EXPERTS) {
      let w0 = e * HIDDEN;
      for (var h = lane; h < HIDDEN; h += LANES) {
        acc += x[x0 + h] * w[w0 + h];
      }
    }
    red_v[lid] = acc;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
      if (lane < s) { red_v[lid] += red_v[lid + s]; }
      workgroupBarrier();
    }
    if (lane == 0u && e < EXPERTS) { prob[e] = red_v[lid]; }
    workgroupBarrier();
  }

  // 2. Scores (prob) and selection scores (sel).
  if (SIGMOID) {
    for (var e = lid; e < EXPERTS; e += WG) {
      prob[e] = 1.0 / (1.0 + exp(-prob[e]));
    }
  } else {
    var m = NEG;
    for (var e = lid; e < EXPERTS; e += WG) { m = max(m, prob[e]); }
    m = workgroup_max(lid, m);
    var part = 0.0;
    for (var e = lid; e < EXPERTS; e += WG) {
      let p = exp(prob[e] - m);
      prob[e] = p;
      part += p;
    }
    let total = workgroup_sum(lid, part);
    for (var e = lid; e < EXPERTS; e += WG) { prob[e] = prob[e] / total; }
  }
  for (var e = lid; e < EXPERTS; e += WG) {
    var s = prob[e];
    if (HAS_BIAS) { s += bias[e]; }
    sel[e] = s;
  }
  workgroupBarrier();

  // 3. Grouped top-k: knock out the experts of all but the TOPK_GROUP best groups.
  if (N_GROUP > 1u) {
    let per = EXPERTS / N_GROUP;
    for (var g = lid; g < N_GROUP; g += WG) {
      var top1 = NEG;
      var top2 = NEG;
      for (var j = 0u; j < per; j++) {
        let v = sel[g * per + j];
        if (v > top1) { top2 = top1; top1 = v; } else if (v > top2) { top2 = v; }
      }
      group_score[g] = select(top1, top1 + top2, HAS_BIAS);
    }
    workgroupBarrier();
    for (var g = lid; g < N_GROUP; g += WG) {
      var rank = 0u;
      for (var h = 0u; h < N_GROUP; h++) {
        if (better(group_score[h], h, group_score[g], g)) { rank++; }
      }
      if (rank >= TOPK_GROUP) {
        for (var j = 0u; j < per; j++) { sel[g * per + j] = NEG; }
      }
    }
    workgroupBarrier();
  }

  // 4. Top-k: TOP_K rounds of argmax over (sel, index).
  for (var k = 0u; k < TOP_K; k++) {
    var bv = NEG;
    var bi = 0xffffffffu;
    for (var e = lid; e < EXPERTS; e += WG) {
      if (better(sel[e], e, bv, bi)) { bv = sel[e]; bi = e; }
    }
    red_v[lid] = bv;
    red_i[lid] = bi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s && better(red_v[lid + s], red_i[lid + s], red_v[lid], red_i[lid])) {
        red_v[lid] = red_v[lid + s];
        red_i[lid] = red_i[lid + s];
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      chosen[k] = red_i[0];
      sel[red_i[0]] = NEG;
    }
    workgroupBarrier();
  }

  // 5. Weights from the unbiased scores; every slot sums the chosen in the same order.
  if (lid < TOP_K) {
    var wk = prob[chosen[lid]];
    if (NORM_TOPK_PROB) {
      var den = 0.0;
      for (var j = 0u; j < TOP_K; j++) { den += prob[chosen[j]]; }
      if (SIGMOID) { den += 1e-20; }
      wk = wk / den;
    }
    let o = tok * TOP_K + lid;
    topk_idx[o] = i32(chosen[lid]);
    topk_weight[o] = wk * ROUTED_SCALING;
  }
}
