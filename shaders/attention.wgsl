// Attention stand-in: causal multi-head self-attention over a batch of requests packed
// back to back (varlen, no padding). Request r owns tokens [seq_offsets[r], seq_offsets[r+1]);
// query i of request r attends to keys j with seq_offsets[r] ≤ j ≤ i:
//
//   o[i, h] = Σ_j softmax_j( q[i, h] · k[j, h] / √HEAD_DIM ) · v[j, h]      (per head h)
//
// q, k, v, o are [S, D] f32 with D = HEADS · HEAD_DIM; head h is columns [h·HEAD_DIM, +HEAD_DIM).
// Work ∝ Σ_r len_r² · D: the per-rank compute that grows with each rank's own sequences.
//
// Tiling (FlashAttention-style, one pass, no S×S matrix): a workgroup owns BLOCK_Q = 64
// consecutive query rows of one head (grid: x = query tile, y = head) and one thread owns
// one query row. The tile's keys run from the start of its first row's request up to its
// last row; they stream through workgroup memory BLOCK_K rows at a time (K and V tiles,
// loaded by all 64 threads, contiguous in global memory). Each thread scores the keys of
// the block that are inside its own causal window, then folds them into an online softmax:
// running max m, running sum l and accumulator acc[HEAD_DIM] are rescaled by exp(m_old −
// m_new) once per block. A tile that spans two requests simply has rows whose window
// starts later. Rows past S load nothing and write nothing.
//
// A generated prelude defines HEADS, HEAD_DIM and BLOCK_K (by default the two tiles take
// 4 KiB; see attention.ts); private arrays need them as constants, not overrides.
//
// Bindings: 0 sizes {tokens S, requests R}; 1 q; 2 k; 3 v [S, D]; 4 seq_offsets [R+1] u32
// (0, …, S, non-decreasing; empty requests allowed); 5 o [S, D] (out).

struct Sizes {
  tokens: u32,
  requests: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> seq_offsets: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;

const BLOCK_Q: u32 = 64u;
const D: u32 = HEADS * HEAD_DIM;
const NEG: f32 = -0x1.fffffep+127f; // -FLT_MAX: exp(NEG - m) is exactly 0

var<workgroup> k_tile: array<f32, BLOCK_K * HEAD_DIM>;
var<workgroup> v_tile: array<f32, BLOCK_K * HEAD_DIM>;
var<workgroup> tile_lo: u32;

// First token of the request holding token i: binary search keeping
// seq_offsets[lo] ≤ i < seq_offsets[hi], which skips empty requests.
fn request_start(i: u32) -> u32 {
  var lo = 0u;
  var hi = sizes.requests;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (seq_offsets[mid] <= i) { lo = mid; } else { hi = mid; }
  }
  return seq_offsets[lo];
}

@compute @workgroup_size(BLOCK_Q)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let S = sizes.tokens;
  let q0 = wid.x * BLOCK_Q;
  if (q0 >= S) { return; }
  let col = wid.y * HEAD_DIM;
  let i = q0 + lid;
  let valid = i < S;
  let start = request_start(min(i, S - 1u));
  if (lid == 0u) { tile_lo = start; }
  let k_lo = workgroupUniformLoad(&tile_lo);
  let k_hi = min(q0 + BLOCK_Q, S); // exclusive

  let scale = inverseSqrt(f32(HEAD_DIM));
  var qv: array<f32, HEAD_DIM>;
  var acc: array<f32, HEAD_DIM>;
  if (valid) {
    for (var c = 0u; c < HEAD_DIM; c++) { qv[c] = q[i * D + col + c] * scale; }
  }
  var m = NEG;
  var l = 0.0;

  for (var kb = k_lo; kb < k_hi; kb += BLOCK_K) {
    for (var e = lid; e < BLOCK_K * HEAD_DIM; e += BLOCK_Q) {
      let j = kb + e / HEAD_DIM;
      var kv = 0.0;
      var vv = 0.0;
      if (j < k_hi) {
        let g = j * D + col + e % HEAD_DIM;
        kv = k[g];
        vv = v[g];
      }
      k_tile[e] = kv;
      v_tile[e] = vv;
    }
    workgroupBarrier();

    let j0 = max(kb, start);
    let j1 = min(kb + BLOCK_K, i + 1u);
    if (valid && j0 < j1) {
      var s: array<f32, BLOCK_K>;
      var m_new = m;
      for (var j = j0; j < j1; j++) {
        let r = (j - kb) * HEAD_DIM;
        var d = 0.0;
        for (var c = 0u; c < HEAD_DIM; c++) { d += qv[c] * k_tile[r + c]; }
        s[j - kb] = d;
        m_new = max(m_new, d);
      }
      let corr = exp(m - m_new);
      l *= corr;
      for (var c = 0u; c < HEAD_DIM; c++) { acc[c] *= corr; }
      for (var j = j0; j < j1; j++) {
        let p = exp(s[j - kb] - m_new);
        l += p;
        let r = (j - kb) * HEAD_DIM;
        for (var c = 0u; c < HEAD_DIM; c++) { acc[c] += p * v_tile[r + c]; }
      }
      m = m_new;
    }
    workgroupBarrier(); // tiles are overwritten by the next block
  }

  if (valid) {
    let inv_l = 1.0 / l;
    for (var c = 0u; c < HEAD_DIM; c++) { o[i * D + col + c] = acc[c] * inv_l; }
  }
}
