// MoE router selection with one invocation per token (router.ts variant 'pt:N'): the scoring,
// grouped top-k and weights of router.wgsl's steps 2–5 with the same order and tie rule, but
// no workgroup memory and no barriers. Each invocation reads its token's E logits (written by
// the logits GEMM pass before this one) and works through them serially; router.wgsl's
// workgroups cooperate through workgroup memory and barriers instead, which a CPU adapter
// pays per thread.
//
// One workgroup of PT invocations per PT tokens; invocation lid of token block
// b = wid.x + wid.y·num_workgroups.x routes token b·PT + lid (past the last token: nothing).
// Per token, passes over its E logits in expert order:
//   a. Softmax only: the max m, then the normalizer Σ_e exp(l_e − m).
//   b. Grouped only (N_GROUP > 1): each group's score from its members' selection scores
//      (the two largest summed when a bias is present, else the largest, as router.wgsl);
//      a group is kept when fewer than TOPK_GROUP groups are `better` than it.
//   c. Top-k by insertion: experts in ascending order (those of dropped groups skipped), each
//      inserted into the list of the K best so far (descending) when it beats the list's
//      last. An expert moves ahead only of strictly lower scores, so of equal scores the one
//      seen first, the lower index, stays ahead: the list is in `better` order exactly, the
//      order of router.wgsl and of the float64 reference (router.ts).
//   d. Weights as router.wgsl's step 5, from the unbiased scores of the K chosen.
// A score is recomputed from its logit in every pass that needs it rather than kept in an
// E-long array, so the private arrays are nGroup and K long only: perTokenBytes in router.ts
// checks them and main's scalar vars (PER_TOKEN_SCALAR_VARS) against WGSL's limit on
// function-address-space storage.
//
// A generated prelude defines PT (the workgroup size), TOPK_CAP = K and GROUP_CAP = nGroup
// (private arrays are sized by them, so they must be constants). The rest are the override
// constants of router_common.wgsl, composed before this file.

// The unbiased score of expert e's logit l: the logit itself (TOPK_SOFTMAX), its sigmoid, or
// its softmax share given the max m and the normalizer total.
fn prob_of(l: f32, m: f32, total: f32) -> f32 {
  if (TOPK_SOFTMAX) { return l; }
  if (SIGMOID) { return 1.0 / (1.0 + exp(-l)); }
  return exp(l - m) / total;
}

// The selection score: the unbiased score plus the noaux_tc bias; NEG for a NaN, which would
// break the total order.
fn sel_of(p: f32, e: u32) -> f32 {
  var s = p;
  if (HAS_BIAS) { s += bias[e]; }
  return select(s, NEG, s != s);
}

@compute @workgroup_size(PT)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tok = (wid.x + wid.y * nwg.x) * PT + lid;
  if (tok >= sizes.tokens) { return; }
  let row0 = tok * EXPERTS;

  // a. The softmax's max and normalizer.
  var m = NEG;
  var total = 1.0;
  if (!TOPK_SOFTMAX && !SIGMOID) {
    for (var e = 0u; e < EXPERTS; e++) { m = max(m, logits[row0 + e]); }
    total = 0.0;
    for (var e = 0u; e < EXPERTS; e++) { total += exp(logits[row0 + e] - m); }
  }

  // b. The groups kept.
  let per = EXPERTS / N_GROUP;
  var group_score: array<f32, GROUP_CAP>;
  var kept: array<bool, GROUP_CAP>;
  if (N_GROUP > 1u) {
    for (var g = 0u; g < N_GROUP; g++) {
      var top1 = NEG;
      var top2 = NEG;
      for (var e = g * per; e < (g + 1u) * per; e++) {
        let v = sel_of(prob_of(logits[row0 + e], m, total), e);
        if (v > top1) { top2 = top1; top1 = v; } else if (v > top2) { top2 = v; }
      }
      group_score[g] = select(top1, top1 + top2, HAS_BIAS);
    }
    for (var g = 0u; g < N_GROUP; g++) {
      var rank = 0u;
      for (var h = 0u; h < N_GROUP; h++) {
        if (better(group_score[h], h, group_score[g], g)) { rank++; }
      }
      kept[g] = rank < TOPK_GROUP;
    }
  }

  // c. Top-k by insertion into top_v / top_i (n filled, descending in `better` order).
  var top_v: array<f32, TOPK_CAP>;
  var top_i: array<u32, TOPK_CAP>;
  var n = 0u;
  for (var e = 0u; e < EXPERTS; e++) {
    if (N_GROUP > 1u && !kept[e / per]) { continue; }
    let v = sel_of(prob_of(logits[row0 + e], m, total), e);
    if (n == TOP_K && !(v > top_v[TOP_K - 1u])) { continue; }
    // Shift the strictly lower scores down a slot (when full, the last falls off).
    var j = min(n, TOP_K - 1u);
    while (j > 0u && v > top_v[j - 1u]) {
      top_v[j] = top_v[j - 1u];
      top_i[j] = top_i[j - 1u];
      j--;
    }
    top_v[j] = v;
    top_i[j] = e;
    n = min(n + 1u, TOP_K);
  }

  // d. Weights; every slot's normalizer sums the chosen in slot order.
  let o = tok * TOP_K;
  if (TOPK_SOFTMAX) {
    let top = logits[row0 + top_i[0]];
    var den = 0.0;
    for (var j = 0u; j < TOP_K; j++) { den += exp(logits[row0 + top_i[j]] - top); }
    for (var k = 0u; k < TOP_K; k++) {
      topk_idx[o + k] = i32(top_i[k]);
      topk_weight[o + k] = exp(logits[row0 + top_i[k]] - top) / den * ROUTED_SCALING;
    }
    return;
  }
  var den = 0.0;
  if (NORM_TOPK_PROB) {
    for (var j = 0u; j < TOP_K; j++) { den += prob_of(logits[row0 + top_i[j]], m, total); }
    if (SIGMOID) { den += 1e-20; }
  }
  for (var k = 0u; k < TOP_K; k++) {
    let p = prob_of(logits[row0 + top_i[k]], m, total);
    topk_idx[o + k] = i32(top_i[k]);
    topk_weight[o + k] = select(p, p / den, NORM_TOPK_PROB) * ROUTED_SCALING;
  }
}
