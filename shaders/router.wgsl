// MoE router: logits = x·Wᵀ, scoring, (grouped) top-k, routing weights.
//
// With FUSED_LOGITS = false (router.ts when H % 4 == 0) the logits come from the grouped
// expert GEMM's tiled kernel run as one dense GEMM in a pass before this one, and this
// kernel is only steps 2–5 (the selection).
//
// One workgroup of WG threads per TB tokens (TB = 4 by default; WG = 128 when this kernel
// computes the logits, else the power of two ≥ E in 32..128); nothing else is tied to
// the expert count E, which only sizes two workgroup arrays (prob, sel).
//
//   1. Logits for the TB tokens, into the global scratch logits [T, E]. The workgroup is
//      ROWS = 16 rows × LANES = 8 lanes: a row owns one expert at a time, its 8 lanes read
//      W[e, lane + 8j] in units of XV (adjacent lanes, adjacent 16-byte vec4s when
//      H % 4 == 0, else floats) and multiply each W element into TB running sums, one per
//      token, so W is read once per TB tokens. Lane tb of the row then adds up token tb's
//      8 partials in lane order. Experts are covered in blocks of 16 (E = 512 is 32
//      blocks). The logits live in global memory rather than workgroup memory because
//      Dawn zero-fills workgroup arrays and SwiftShader's pipeline compile time grows
//      with their size (TB·E floats there made E = 512 take ~6 s to compile).
//   Then, for each of the TB tokens in turn (route_token):
//   2. Scoring into prob[e] (workgroup memory): sigmoid (DeepSeek-V3), or softmax over
//      all E (max and sum over the 128 threads' partials in a fixed order, so
//      deterministic). Selection score sel[e] = prob[e] + bias[e] with a noaux_tc bias,
//      else prob[e].
//   3. Grouped top-k (N_GROUP > 1): group score = sum of the two largest sel in the group
//      when a bias is present, else the group max. A group is kept when fewer than
//      TOPK_GROUP groups beat it (higher score, or equal score and lower group index);
//      the experts of dropped groups get sel = NEG and so can never be chosen.
//   4. Top-k by rank: chosen[r] = the expert that exactly r others beat under `better`.
//      Order within a token: descending selection score, exact ties broken by the LOWER
//      expert index (that comparison is `better`).
//   5. Weights: w_k = prob[chosen[k]] (the unbiased score); with NORM_TOPK_PROB divided by
//      Σ_k w_k (+1e-20 for sigmoid, as HF DeepSeek-V3 does); then × ROUTED_SCALING.
//   TOPK_SOFTMAX (gpt-oss): step 2 keeps the raw logits (no scoring over all E), step 4 picks
//   the K largest logits, and step 5's weights are the softmax over those K:
//   w_k = exp(l_k − l_0) / Σ_j exp(l_j − l_0), l_0 the largest (router.ts validates the rest).
//
// A generated prelude defines TB (a private array is sized by it, so it must be a
// constant), WG (the workgroup size) and the row element XV = vec4<f32> or f32 with dotv(a, b) its dot product;
// HIDDEN_V = H / (4 or 1) is a row's length in XVs. The rest are override constants.
//
// Bindings: 0 sizes {tokens}; 1 x [T,H] f32; 2 W [E,H] f32; 3 bias [E] f32 (a dummy when
// HAS_BIAS is false); 4 topk_idx [T,K] i32 (out); 5 topk_weight [T,K] f32 (out);
// 6 logits [T,E] f32 (scratch). router_per_token.wgsl is the same selection (steps 2–5) with
// one invocation per token and no workgroup memory.
// Token block b = wid.x + wid.y·num_workgroups.x holds tokens [b·TB, b·TB + TB).

// router_common.wgsl (composed before this file) declares the bindings 0 and 3–6, the
// scoring overrides, NEG and `better`; this kernel adds the activations and the router weights.
@group(0) @binding(1) var<storage, read> x: array<XV>;
@group(0) @binding(2) var<storage, read> w: array<XV>;

override HIDDEN_V: u32;
// false: the logits [T, E] were written by a GEMM pass before this one (router.ts), step 1 is skipped.
override FUSED_LOGITS: bool = true;

const LANES: u32 = 8u;
const ROWS: u32 = WG / LANES;

var<workgroup> prob: array<f32, EXPERTS>;
var<workgroup> sel: array<f32, EXPERTS>;
var<workgroup> group_score: array<f32, N_GROUP>;
var<workgroup> chosen: array<u32, TOP_K>;
var<workgroup> red_v: array<f32, TB * WG>;

// Sum and max over all WG threads: partials in red_v, thread 0 folds all WG of them in
// lane order into red_out and every thread reads that (deterministic; WG loads rather than
// WG² when every thread folds, which a CPU adapter pays in full). Every thread must call them.
var<workgroup> red_out: f32;

fn workgroup_sum(lid: u32, v: f32) -> f32 {
  red_v[lid] = v;
  workgroupBarrier();
  if (lid == 0u) {
    var r = 0.0;
    for (var j = 0u; j < WG; j++) { r += red_v[j]; }
    red_out = r;
  }
  workgroupBarrier();
  let r = red_out;
  workgroupBarrier(); // red_v and red_out are reused by the next reduction
  return r;
}

fn workgroup_max(lid: u32, v: f32) -> f32 {
  red_v[lid] = v;
  workgroupBarrier();
  if (lid == 0u) {
    var r = NEG;
    for (var j = 0u; j < WG; j++) { r = max(r, red_v[j]); }
    red_out = r;
  }
  workgroupBarrier();
  let r = red_out;
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tok0 = (wid.x + wid.y * nwg.x) * TB;
  if (tok0 >= sizes.tokens) { return; }
  let n_tok = min(TB, sizes.tokens - tok0);

  // 1. Logits: ROWS experts at a time, LANES threads per dot product, TB tokens per W load.
  let lane = lid % LANES;
  let row = lid / LANES;
  for (var base = 0u; FUSED_LOGITS && base < EXPERTS; base += ROWS) {
    let e = base + row;
    var acc: array<f32, TB>;
    // Zeroed explicitly: Dawn does not re-zero a `var` declared in a loop body on each
    // iteration (seen on SwiftShader and on NVIDIA), so acc would keep the last block's sums.
    for (var tb = 0u; tb < TB; tb++) { acc[tb] = 0.0; }
    if (e < EXPERTS) {
      let w0 = e * HIDDEN_V;
      for (var h = lane; h < HIDDEN_V; h += LANES) {
        let wv = w[w0 + h];
        for (var tb = 0u; tb < TB; tb++) {
          // Rows past the last token repeat it; their sums are never stored.
          acc[tb] += dotv(x[(tok0 + min(tb, n_tok - 1u)) * HIDDEN_V + h], wv);
        }
      }
    }
    // Lane partials to workgroup memory; lane tb then sums token tb's 8 in lane order.
    for (var tb = 0u; tb < TB; tb++) { red_v[tb * WG + lid] = acc[tb]; }
    workgroupBarrier();
    if (e < EXPERTS) {
      for (var tb = lane; tb < n_tok; tb += LANES) {
        let r0 = tb * WG + row * LANES;
        var sum = 0.0;
        for (var j = 0u; j < LANES; j++) { sum += red_v[r0 + j]; }
        logits[(tok0 + tb) * EXPERTS + e] = sum;
      }
    }
    workgroupBarrier(); // red_v is rewritten by the next block
  }
  storageBarrier(); // logits written above are read by other threads below

  for (var tb = 0u; tb < n_tok; tb++) {
    route_token(lid, tok0 + tb);
  }
}

// Steps 2–5 for one token.
fn route_token(lid: u32, tok: u32) {
  let row0 = tok * EXPERTS;
  // 2. Scores (prob, in place) and selection scores (sel).
  if (TOPK_SOFTMAX) {
    for (var e = lid; e < EXPERTS; e += WG) { prob[e] = logits[row0 + e]; }
  } else if (SIGMOID) {
    for (var e = lid; e < EXPERTS; e += WG) {
      prob[e] = 1.0 / (1.0 + exp(-logits[row0 + e]));
    }
  } else {
    var m = NEG;
    for (var e = lid; e < EXPERTS; e += WG) { m = max(m, logits[row0 + e]); }
    m = workgroup_max(lid, m);
    var part = 0.0;
    for (var e = lid; e < EXPERTS; e += WG) {
      let p = exp(logits[row0 + e] - m);
      prob[e] = p;
      part += p;
    }
    let total = workgroup_sum(lid, part);
    for (var e = lid; e < EXPERTS; e += WG) { prob[e] = prob[e] / total; }
  }
  for (var e = lid; e < EXPERTS; e += WG) {
    var s = prob[e];
    if (HAS_BIAS) { s += bias[e]; }
    sel[e] = select(s, NEG, s != s); // a NaN would break the total order below
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

  // 4. Top-k by rank: expert e's rank is the number of experts `better` than it. `better`
  //    is a strict total order, so the ranks are a permutation and ranks 0..K-1 fill
  //    chosen[] exactly once, with one barrier instead of K argmax rounds. Counting stops
  //    at K, so only the few experts that end up chosen scan all E.
  for (var e = lid; e < EXPERTS; e += WG) {
    let v = sel[e];
    var rank = 0u;
    for (var j = 0u; j < EXPERTS && rank < TOP_K; j++) {
      if (better(sel[j], j, v, e)) { rank++; }
    }
    if (rank < TOP_K) { chosen[rank] = e; }
  }
  workgroupBarrier();

  // 5. Weights from the unbiased scores; every slot sums the chosen in the same order.
  if (lid < TOP_K && TOPK_SOFTMAX) {
    let top = prob[chosen[0]];
    var den = 0.0;
    for (var j = 0u; j < TOP_K; j++) { den += exp(prob[chosen[j]] - top); }
    let o = tok * TOP_K + lid;
    topk_idx[o] = i32(chosen[lid]);
    topk_weight[o] = exp(prob[chosen[lid]] - top) / den * ROUTED_SCALING;
  } else if (lid < TOP_K) {
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
  workgroupBarrier(); // the next token reuses prob, sel and chosen
}
