// Decoders of the compressed expert weight codes (see src/model/formats.ts for the layout).
// Shared by the grouped expert GEMM's load path and the unpack kernel the tests run, so
// the values a GEMM multiplies with are the values the tests check, code for code.
//
// The minifloats are decoded by building f32 bit patterns with integer arithmetic, four
// codes per vec4: each code's exponent/mantissa bits are moved into an f32's exponent/
// mantissa fields by a multiplication (a left shift that SIMD CPUs do natively: the CPU
// Vulkan driver turns WGSL's vector shifts into per-lane scalar code) and the exponent is
// rebiased by an addition. Codes too high in the word to move left are moved right by a
// constant shift of the scalar word (one SIMD shift; an exact i32 → f32 → integer round
// trip did the same work slower). No f32 subnormals are involved (CPU drivers flush those to
// zero): e2m1's subnormal codes get the exponent one higher and subtract its implicit 1,
// e4m3's are formed from the code read as a normal number (see dec_e4m3x4_finite).

// A quiet NaN made at run time: a NaN constant expression is a WGSL compile error.
fn qnan(anything: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (anything & 0u));
}

// Four int8 codes (byte j = value j) as f32 integers in [-128, 127].
fn dec_i8x4(w: u32) -> vec4f {
  return vec4f(bitcast<vec4i>(vec4u(w) << vec4u(24u, 16u, 8u, 0u)) >> vec4u(24u));
}

// Four E4M3FN codes (byte j = value j) as f32, for the GEMM: packExpert never writes the
// NaN codes (S.1111.111), so they are not checked here (see dec_e4m3x4).
fn dec_e4m3x4_finite(w: u32) -> vec4f {
  let wv = vec4u(w);
  // Magnitude bits EEEEMMM of each byte to f32 bits 20..26; byte 3 by a right shift.
  var mb = (wv & vec4u(0x7fu, 0x7f00u, 0x7f0000u, 0u)) * vec4u(1048576u, 4096u, 16u, 0u);
  mb.w = (w >> 4u) & 0x07f00000u;
  // Read as a normal number (exponent E + 120): x = 2^(E-7)·(1 + M/8), the value for E ≥ 1.
  // E = 0 is M·2^-9 = 2x − 2^-6 = x + t with t = x − 2^-6 < 0, and E ≥ 1 has t ≥ 0: so
  // v = x + min(t, 0) = x + (t − |t|)/2, each step exact, |t| an AND of the sign bit. No compare
  // and select (measured here: even with them within the noise, no gain claimed); `min` costs ~5
  // adds on SwiftShader, and a sign mask by an arithmetic shift of t measured slower.
  let x = bitcast<vec4f>(mb + vec4u(0x3c000000u));
  let t = x - vec4f(0x1p-6f);
  let v = x + (t - bitcast<vec4f>(bitcast<vec4u>(t) & vec4u(0x7fffffffu))) * 0.5;
  let sign = (wv & vec4u(0x80u, 0x8000u, 0x800000u, 0x80000000u)) * vec4u(16777216u, 65536u, 256u, 1u);
  return bitcast<vec4f>(bitcast<vec4u>(v) | sign);
}

// Four E4M3FN codes as f32; S.1111.111 decodes to NaN.
fn dec_e4m3x4(w: u32) -> vec4f {
  let m = vec4u(0x7fu, 0x7f00u, 0x7f0000u, 0x7f000000u);
  return select(dec_e4m3x4_finite(w), vec4f(qnan(w)), (vec4u(w) & m) == m);
}

// One E4M3FN code (low byte of b) as f32 (NaN for S.1111.111).
fn dec_e4m3(b: u32) -> f32 {
  return dec_e4m3x4(b & 0xffu).x;
}

// NVFP4 group scale: round_f32(e4m3(code) × tensor scale), formed once per 16 values.
fn nvfp4_group_scale(code: u32, tensor_scale: f32) -> f32 {
  return dec_e4m3(code) * tensor_scale;
}

// MXFP4 group scale: an e8m0 code is 2^(code − 127), formed once per 32 values; 255 is NaN.
// Code 0 reads as 0 here (2^-127 is an f32 subnormal, which CPU drivers flush): packExpert
// never writes a code below 2, so every e2m1 × scale product is a normal f32.
fn mxfp4_scale(code: u32) -> f32 {
  return select(bitcast<f32>(code << 23u), qnan(code), code == 255u);
}

// Four e2m1 magnitudes already at f32 bits 22..24 (E at 23..24, M at 22) and their sign
// bits at 31: the values, times `scale`.
fn e2m1x4_from_bits(mb: vec4u, sign: vec4u, scale: f32) -> vec4f {
  // E ≥ 1: exponent E + 126 gives 2^(E-1)·(1 + M/2). E = 0: exponent 127 gives 1 + M/2,
  // minus 1 leaves M/2.
  let normal = bitcast<vec4f>(mb + vec4u(0x3f000000u));
  let subnormal = bitcast<vec4f>(mb + vec4u(0x3f800000u)) - vec4f(1.0);
  let v = select(normal, subnormal, bitcast<vec4i>(mb) < vec4i(0x800000));
  return bitcast<vec4f>(bitcast<vec4u>(v) | sign) * scale;
}

// Eight e2m1 codes (nibble j = value j) times a group scale (nvfp4_group_scale, mxfp4_scale):
// values 0..3 in lo, 4..7 in hi (each product rounded once, like the CPU decoder).
struct E2m1x8 {
  lo: vec4f,
  hi: vec4f,
}

fn dec_e2m1x8(w: u32, scale: f32) -> E2m1x8 {
  let wv = vec4u(w);
  let lo = (wv & vec4u(0x7u, 0x70u, 0x700u, 0x7000u)) * vec4u(4194304u, 262144u, 16384u, 1024u);
  var hi = (wv & vec4u(0x70000u, 0x700000u, 0u, 0u)) * vec4u(64u, 4u, 0u, 0u);
  // Nibbles 6 and 7 sit above bit 22: moved down by a right shift.
  hi.z = (w >> 2u) & 0x01c00000u;
  hi.w = (w >> 6u) & 0x01c00000u;
  let sign_lo = (wv & vec4u(0x8u, 0x80u, 0x800u, 0x8000u)) * vec4u(268435456u, 16777216u, 1048576u, 65536u);
  let sign_hi = (wv & vec4u(0x80000u, 0x800000u, 0x8000000u, 0x80000000u)) * vec4u(4096u, 256u, 16u, 1u);
  return E2m1x8(e2m1x4_from_bits(lo, sign_lo, scale), e2m1x4_from_bits(hi, sign_hi, scale));
}
