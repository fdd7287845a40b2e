// Permute: sort the T·K (token, slot) pairs by expert, stably, without float atomics and
// without a host readback. A pair is p = t·K + k and its expert is topk_idx[p].
//
// Outputs (the layer's data contract):
//   counts  [E]    pairs routed to each expert
//   offsets [E+1]  exclusive scan of counts; offsets[E] = T·K
//   perm    [T·K]  sorted row i holds pair p: experts ascending, within an expert p ascending
//   inv     [T·K]  inv[p] = i
//
// Three entry points, dispatched in order in one compute pass. The pairs are cut into
// chunks of CHUNK = 256 consecutive p; `base` is a scratch [chunks, E] u32 array.
//
//   count_chunks  one workgroup per chunk: a workgroup-memory histogram of the chunk's
//                 experts (u32 atomics — integer counts, so the result is deterministic),
//                 written to base[chunk, e].
//   scan          ONE workgroup of 256 threads, looping over experts in blocks of 256 with
//                 a running carry (any E): counts[e] = Σ_chunk base[chunk, e]; offsets by a
//                 Hillis–Steele scan of the block; then base[chunk, e] is rewritten in place
//                 as offsets[e] + Σ_{c < chunk} count(c, e), the first sorted row of
//                 expert e's pairs from that chunk.
//   scatter       one workgroup per chunk: pair p's rank among the chunk's earlier pairs of
//                 the same expert (a scan of the chunk's ids in workgroup memory), so
//                 row = base[chunk, e] + rank; perm[row] = p, inv[p] = row. This is what
//                 makes the order stable: a pair's row depends only on pairs before it.
//
// Expert ids outside [0, E) are skipped (their perm/inv entries are left unwritten and
// offsets[E] < T·K); the router never produces them.
//
// Bindings: 0 sizes {pairs, chunks}; 1 topk_idx [T·K] i32; 2 base [chunks·E] u32 (scratch);
// 3 counts [E]; 4 offsets [E+1]; 5 perm [T·K]; 6 inv [T·K] (all u32).
// Chunk id = wid.x + wid.y·num_workgroups.x (a 2-D grid past the device's
// maxComputeWorkgroupsPerDimension chunks: src/gpu/program.ts workgroupGrid).

struct Sizes {
  pairs: u32,
  chunks: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> topk_idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> base: array<u32>;
@group(0) @binding(3) var<storage, read_write> counts: array<u32>;
@group(0) @binding(4) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(5) var<storage, read_write> perm: array<u32>;
@group(0) @binding(6) var<storage, read_write> inv: array<u32>;

override EXPERTS: u32;

const CHUNK: u32 = 256u;

var<workgroup> hist: array<atomic<u32>, EXPERTS>;
var<workgroup> scan_buf: array<u32, CHUNK>;
var<workgroup> ids: array<i32, CHUNK>;

fn expert_of(p: u32) -> i32 {
  if (p >= sizes.pairs) { return -1; }
  let e = topk_idx[p];
  return select(-1, e, e >= 0 && u32(e) < EXPERTS);
}

@compute @workgroup_size(CHUNK)
fn count_chunks(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x + wid.y * nwg.x;
  if (chunk >= sizes.chunks) { return; }
  for (var e = lid; e < EXPERTS; e += CHUNK) { atomicStore(&hist[e], 0u); }
  workgroupBarrier();
  let e = expert_of(chunk * CHUNK + lid);
  if (e >= 0) { atomicAdd(&hist[u32(e)], 1u); }
  workgroupBarrier();
  for (var j = lid; j < EXPERTS; j += CHUNK) {
    base[chunk * EXPERTS + j] = atomicLoad(&hist[j]);
  }
}

@compute @workgroup_size(CHUNK)
fn scan(@builtin(local_invocation_index) lid: u32) {
  let chunks = sizes.chunks;
  var carry = 0u; // same value in every thread: rows taken by the experts of earlier blocks
  for (var block = 0u; block < EXPERTS; block += CHUNK) {
    let e = block + lid;
    var total = 0u;
    if (e < EXPERTS) {
      for (var c = 0u; c < chunks; c++) { total += base[c * EXPERTS + e]; }
      counts[e] = total;
    }
    // Inclusive Hillis–Steele scan of this block's totals.
    scan_buf[lid] = total;
    workgroupBarrier();
    for (var d = 1u; d < CHUNK; d <<= 1u) {
      var add = 0u;
      if (lid >= d) { add = scan_buf[lid - d]; }
      workgroupBarrier();
      scan_buf[lid] += add;
      workgroupBarrier();
    }
    if (e < EXPERTS) {
      var row = carry + scan_buf[lid] - total;
      offsets[e] = row;
      for (var c = 0u; c < chunks; c++) {
        let n = base[c * EXPERTS + e];
        base[c * EXPERTS + e] = row;
        row += n;
      }
    }
    carry += scan_buf[CHUNK - 1u];
    workgroupBarrier(); // scan_buf is rewritten by the next block
  }
  if (lid == 0u) { offsets[EXPERTS] = carry; }
}

@compute @workgroup_size(CHUNK)
fn scatter(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x + wid.y * nwg.x;
  if (chunk >= sizes.chunks) { return; }
  let p = chunk * CHUNK + lid;
  let e = expert_of(p);
  ids[lid] = e;
  workgroupBarrier();
  if (e < 0) { return; }
  var rank = 0u;
  for (var j = 0u; j < lid; j++) {
    if (ids[j] == e) { rank++; }
  }
  let row = base[chunk * EXPERTS + u32(e)] + rank;
  perm[row] = p;
  inv[p] = row;
}
