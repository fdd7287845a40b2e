// Naive grouped expert GEMM: one invocation per output element, the same data and weight
// formats as the tiled kernel, no tiling and no reuse. It is the yardstick the tiled
// kernel's speed is measured against (and a second, simple implementation to test it by).
//
// Included after weight_decode.wgsl, expert_gemm.wgsl and matrix_layout.wgsl; the generated prefix defines
// H, F, EXPERTS, TILE_ROWS, FORMAT (0 f32, 1 int8, 2 fp8, 3 nvfp4, 4 mxfp4), the matrices GATE,
// UP, DOWN (MatrixLayout values), the bindings input_rows (1), output_rows
// (5), weights (6) and the accessors weight_word(word), weight_quad(word / 4) and inputs4(row base, k, row length) (vec4 loads where rows are aligned).
//
// Dispatch: ceil(rows · outputs / 64) workgroups of 64 invocations, as a 2-D (x, y) grid
// (src/gpu/program.ts workgroupGrid); output i = gid.x + gid.y · 64 · num_workgroups.x, ids past the end return.

// Columns 4q .. 4q+3 of output row n of matrix m, decoded (rows are zero-padded).
fn weights4(block: u32, m: MatrixLayout, n: u32, q: u32) -> vec4f {
  switch FORMAT {
    case 0u: {
      return bitcast<vec4f>(weight_quad((block + m.codes + n * m.row_words) / 4u + q));
    }
    case 1u: {
      let scale = bitcast<f32>(weight_word(block + m.scales + n));
      return dec_i8x4(weight_word(block + m.codes + n * m.row_words + q)) * scale;
    }
    case 2u: {
      let s = (n / m.block_rows) * m.blocks_per_row + (4u * q) / m.block_cols;
      let scale = bitcast<f32>(weight_word(block + m.scales + s));
      return dec_e4m3x4(weight_word(block + m.codes + n * m.row_words + q)) * scale;
    }
    case 4u: {
      let group = q / 8u; // 32 values = 8 quads per e8m0 scale
      let code = (weight_word(block + m.scales + n * m.scale_row_words + group / 4u) >> (8u * (group % 4u))) & 0xffu;
      let v = dec_e2m1x8(weight_word(block + m.codes + n * m.row_words + q / 2u), mxfp4_scale(code));
      return select(v.lo, v.hi, q % 2u == 1u);
    }
    default: {
      let group = q / 4u; // 16 values = 4 quads per e4m3 scale
      let code = (weight_word(block + m.scales + n * m.scale_row_words + group / 4u) >> (8u * (group % 4u))) & 0xffu;
      let scale = nvfp4_group_scale(code, bitcast<f32>(weight_word(block + m.tensor_scale)));
      let v = dec_e2m1x8(weight_word(block + m.codes + n * m.row_words + q / 2u), scale);
      return select(v.lo, v.hi, q % 2u == 1u);
    }
  }
}

fn output_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

@compute @workgroup_size(64)
fn gate_up(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = output_index(gid, nwg);
  if (i >= params.rows * F) {
    return;
  }
  let row = i / F;
  let n = i % F;
  let block = expert_table[expert_of_row(row)];
  let x = token_of(row) * H;
  var g = 0.0;
  var u = 0.0;
  for (var q = 0u; q < (H + 3u) / 4u; q++) {
    let xv = inputs4(x, 4u * q, H);
    g += dot(weights4(block, GATE, n, q), xv);
    u += dot(weights4(block, UP, n, q), xv);
  }
  output_rows[i] = silu(g) * u;
}

@compute @workgroup_size(64)
fn down(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = output_index(gid, nwg);
  if (i >= params.rows * H) {
    return;
  }
  let row = i / H;
  let n = i % H;
  let block = expert_table[expert_of_row(row)];
  var y = 0.0;
  for (var q = 0u; q < (F + 3u) / 4u; q++) {
    y += dot(weights4(block, DOWN, n, q), inputs4(row * F, 4u * q, F));
  }
  output_rows[i] = y;
}
