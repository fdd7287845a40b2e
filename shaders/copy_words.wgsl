// Word copy: dst[dst_at + i] = src[src_at + i] for i < count.
//
// DWDP with --split-weights off merges a layer's resident shard and the peers' prefetched
// experts into one contiguous buffer before the grouped GEMM — the ~3% copy the paper's
// split-weight GEMM removes. Doing it as a compute pass (not copyBufferToBuffer) lets the
// GPU timer measure it like every other step. 256 threads × 4 words (one vec4 each) per
// workgroup; 16-byte aligned offsets and counts (expert blocks are whole vec4s).
// Bindings: 0 params {src_at, dst_at, count} in vec4 units; 1 src; 2 dst.
// Workgroup w = wid.x + wid.y·num_workgroups.x.

struct Params {
  src_at: u32,
  dst_at: u32,
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < params.count) {
    dst[params.dst_at + i] = src[params.src_at + i];
  }
}
