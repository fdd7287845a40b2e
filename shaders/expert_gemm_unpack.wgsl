// Unpacks one matrix (gate, up or down) of one compressed expert block to f32, with the
// same decoders the grouped expert GEMM uses in its load path (weight_decode.wgsl).
// Tests compare it code for code with the CPU decoder; the lab uses it to show weights.
//
// Bindings: 0 the expert block (u32 words, binding starts at the block), 1 the f32 output
// [rows, cols] row-major, 2 the matrix's layout, format and shape (uniform). One invocation
// per code word; a word holds 1 (f32), 4 (int8, fp8) or 8 (nvfp4, mxfp4) consecutive values
// of one row.

// The matrix's layout first: a struct member of a uniform starts at a multiple of 16 bytes.
struct Unpack {
  matrix: MatrixLayout, // matrix_layout.wgsl, composed before this file
  format: u32,          // 0 f32, 1 int8, 2 fp8, 3 nvfp4, 4 mxfp4
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> block: array<u32>;
@group(0) @binding(1) var<storage, read_write> unpacked: array<f32>;
@group(0) @binding(2) var<uniform> p: Unpack;

fn put(r: u32, c: u32, v: f32) {
  if (c < p.cols) {
    unpacked[r * p.cols + c] = v;
  }
}

fn put4(r: u32, c: u32, v: vec4f) {
  put(r, c, v.x);
  put(r, c + 1u, v.y);
  put(r, c + 2u, v.z);
  put(r, c + 3u, v.w);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let m = p.matrix;
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.rows * m.row_words) {
    return;
  }
  let r = i / m.row_words;
  let cw = i % m.row_words;
  let w = block[m.codes + i];
  switch p.format {
    case 0u: {
      put(r, cw, bitcast<f32>(w));
    }
    case 1u: {
      put4(r, 4u * cw, dec_i8x4(w) * bitcast<f32>(block[m.scales + r]));
    }
    case 2u: {
      let c = 4u * cw;
      let s = bitcast<f32>(block[m.scales + (r / m.block_rows) * m.blocks_per_row + c / m.block_cols]);
      put4(r, c, dec_e4m3x4(w) * s);
    }
    case 4u: {
      let c = 8u * cw;
      let group = c / 32u;
      let code = (block[m.scales + r * m.scale_row_words + group / 4u] >> (8u * (group % 4u))) & 0xffu;
      let v = dec_e2m1x8(w, mxfp4_scale(code));
      put4(r, c, v.lo);
      put4(r, c + 4u, v.hi);
    }
    default: {
      let c = 8u * cw;
      let group = c / 16u;
      let code = (block[m.scales + r * m.scale_row_words + group / 4u] >> (8u * (group % 4u))) & 0xffu;
      let v = dec_e2m1x8(w, nvfp4_group_scale(code, bitcast<f32>(block[m.tensor_scale])));
      put4(r, c, v.lo);
      put4(r, c + 4u, v.hi);
    }
  }
}
