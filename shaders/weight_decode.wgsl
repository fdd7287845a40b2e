// Decoders of the compressed expert weight codes (see src/model/formats.ts for the layout).
// Shared by the grouped expert GEMM's load path and the unpack kernel the tests run, so
// the values a GEMM multiplies with are the values the tests check, code for code.
//
// The minifloats are widened through f16 bit patterns: shifting an e4m3 (or e2m1) code
// into the top of an f16's exponent/mantissa fields gives the same number times a fixed
// power of two (2^-8 for e4m3, 2^-14 for e2m1) for normals AND subnormals alike, and
// unpack2x16float widens f16 → f32 exactly. No tables, no branches, four values per word.

// A quiet NaN made at run time: a NaN constant expression is a WGSL compile error.
fn qnan(anything: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (anything & 0u));
}

// Four int8 codes (byte j = value j) as f32 integers in [-128, 127].
fn dec_i8x4(w: u32) -> vec4f {
  return vec4f(bitcast<vec4i>(vec4u(w) << vec4u(24u, 16u, 8u, 0u)) >> vec4u(24u));
}

// Two E4M3FN codes in the low bytes of each 16-bit half → f16 bit patterns of value·2^-8.
fn e4m3_pair_as_f16(pair: u32) -> u32 {
  return ((pair & 0x007f007fu) << 7u) | ((pair & 0x00800080u) << 8u);
}

// Four E4M3FN codes (byte j = value j) as f32; S.1111.111 decodes to NaN.
fn dec_e4m3x4(w: u32) -> vec4f {
  let even = unpack2x16float(e4m3_pair_as_f16(w & 0x00ff00ffu));          // bytes 0, 2
  let odd = unpack2x16float(e4m3_pair_as_f16((w >> 8u) & 0x00ff00ffu));   // bytes 1, 3
  let v = vec4f(even.x, odd.x, even.y, odd.y) * 256.0;
  let is_nan = ((vec4u(w) >> vec4u(0u, 8u, 16u, 24u)) & vec4u(0x7fu)) == vec4u(0x7fu);
  return select(v, vec4f(qnan(w)), is_nan);
}

// One E4M3FN code (low byte of b) as f32.
fn dec_e4m3(b: u32) -> f32 {
  let v = unpack2x16float(e4m3_pair_as_f16(b & 0xffu)).x * 256.0;
  return select(v, qnan(b), (b & 0x7fu) == 0x7fu);
}

// NVFP4 group scale, pre-multiplied by 2^14 for the e2m1 decoders below:
// round_f32(e4m3(code) × tensor scale) × 2^14 (the last factor is exact).
fn nvfp4_group_scale(code: u32, tensor_scale: f32) -> f32 {
  return (dec_e4m3(code) * tensor_scale) * 16384.0;
}

// Two e2m1 codes in the low nibbles of each 16-bit half → f16 bit patterns of value·2^-14.
fn e2m1_pair_as_f16(pair: u32) -> u32 {
  return ((pair & 0x00070007u) << 9u) | ((pair & 0x00080008u) << 12u);
}

// Eight e2m1 codes (nibble j = value j) times a group scale from nvfp4_group_scale:
// values 0..3 in lo, 4..7 in hi (each product rounded once, like the CPU decoder).
struct E2m1x8 {
  lo: vec4f,
  hi: vec4f,
}

fn dec_e2m1x8(w: u32, scale: f32) -> E2m1x8 {
  let a = unpack2x16float(e2m1_pair_as_f16(w & 0x000f000fu));          // nibbles 0, 4
  let b = unpack2x16float(e2m1_pair_as_f16((w >> 4u) & 0x000f000fu));  // nibbles 1, 5
  let c = unpack2x16float(e2m1_pair_as_f16((w >> 8u) & 0x000f000fu));  // nibbles 2, 6
  let d = unpack2x16float(e2m1_pair_as_f16((w >> 12u) & 0x000f000fu)); // nibbles 3, 7
  return E2m1x8(vec4f(a.x, b.x, c.x, d.x) * scale, vec4f(a.y, b.y, c.y, d.y) * scale);
}

// Four E4M3FN codes as f32 times 2^-8 (the caller folds 256 into its scale), for the GEMM's
// load path: packExpert never writes the NaN codes, so they are not checked here.
fn dec_e4m3x4_unscaled(w: u32) -> vec4f {
  let even = unpack2x16float(e4m3_pair_as_f16(w & 0x00ff00ffu));
  let odd = unpack2x16float(e4m3_pair_as_f16((w >> 8u) & 0x00ff00ffu));
  return vec4f(even.x, odd.x, even.y, odd.y);
}
