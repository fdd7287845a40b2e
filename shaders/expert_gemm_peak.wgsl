// FMA ceiling of the adapter: each invocation runs eight independent vec4 multiply-add
// chains on registers (no memory traffic inside the loop), 64 FLOPs per iteration.
// The benchmark reports kernels as a fraction of this rate, measured in the same run.
//
// Bindings: 0 one f32 per invocation (written so the chains are not optimized away).
// Override constant ITERATIONS: loop trips per invocation.

override ITERATIONS: u32 = 2048u;

@group(0) @binding(0) var<storage, read_write> sink: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let seed = f32(gid.x) * 1e-7;
  var a = vec4f(seed, 0.5, 0.25, 0.125);
  var b = vec4f(1.0, 2.0, 3.0, 4.0) + seed;
  var c = vec4f(0.1, 0.2, 0.3, 0.4) + seed;
  var d = vec4f(0.9, 0.8, 0.7, 0.6) + seed;
  var e = vec4f(0.15, 0.25, 0.35, 0.45) + seed;
  var f = vec4f(0.55, 0.65, 0.75, 0.85) + seed;
  var g = vec4f(1.5, 2.5, 3.5, 4.5) + seed;
  var h = vec4f(0.01, 0.02, 0.03, 0.04) + seed;
  let m = vec4f(0.999, 0.998, 0.997, 0.996);
  let s = vec4f(1e-4);
  for (var i = 0u; i < ITERATIONS; i++) {
    a = a * m + s;
    b = b * m + s;
    c = c * m + s;
    d = d * m + s;
    e = e * m + s;
    f = f * m + s;
    g = g * m + s;
    h = h * m + s;
  }
  sink[gid.x] = dot(a + b + c + d, e + f + g + h);
}
