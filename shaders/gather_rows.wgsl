// Row gather: out[i, :] = src[idx[i] / DIV, :] for i < rows.
//
// DEP's all-to-all moves token rows between ranks in expert-sorted order: the sender packs
// x rows by the permutation (idx = perm, DIV = top-k, so pair p = t·K + k reads token t),
// the expert owner unpacks its outputs back into each sender's order (DIV = 1).
//
// One workgroup of 64 threads per output row; thread j copies columns j, j + 64, … in
// units of V (vec4<f32> when the row length is a multiple of 4, f32 otherwise — a
// generated prelude defines V and HV = columns / VW). Rows past `rows` exit at once, so a
// dispatch sized by an upper bound is safe. Bindings: 0 sizes {rows}; 1 idx [rows] u32;
// 2 src [*, H]; 3 out [rows, H]. Row i = wid.x + wid.y·num_workgroups.x.

struct Sizes {
  rows: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<V>;
@group(0) @binding(3) var<storage, read_write> out: array<V>;

override HV: u32;
override DIV: u32 = 1u;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= sizes.rows) { return; }
  let at = (idx[row] / DIV) * HV;
  let to = row * HV;
  for (var c = lid; c < HV; c += WG) {
    out[to + c] = src[at + c];
  }
}
