// What the MoE router's selection kernels share (router.wgsl: a workgroup per TB tokens;
// router_per_token.wgsl: an invocation per token): the bindings they both use, the scoring
// overrides, and the selection order. router.ts composes it before either kernel.
//
// Bindings: 0 sizes {tokens}; 3 bias [E] f32 (a dummy when HAS_BIAS is false);
// 4 topk_idx [T,K] i32 (out); 5 topk_weight [T,K] f32 (out); 6 logits [T,E] f32 (written by
// the logits GEMM pass, or by router.wgsl's first step). router.wgsl adds 1 x and 2 W.

struct Sizes {
  tokens: u32,
}

@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> topk_idx: array<i32>;
@group(0) @binding(5) var<storage, read_write> topk_weight: array<f32>;
@group(0) @binding(6) var<storage, read_write> logits: array<f32>;

override EXPERTS: u32;
override TOP_K: u32;
override N_GROUP: u32 = 1u;
override TOPK_GROUP: u32 = 1u;
override SIGMOID: bool = false;
override HAS_BIAS: bool = false;
override NORM_TOPK_PROB: bool = false;
override ROUTED_SCALING: f32 = 1.0;
// gpt-oss routing: top-k over the logits, then softmax over the K selected.
override TOPK_SOFTMAX: bool = false;

// Below every real selection score: marks the experts of dropped groups (and NaNs).
const NEG: f32 = -0x1.fffffep+127f; // -FLT_MAX

// The selection order: higher score first, equal scores by lower index.
fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return v > bv || (v == bv && i < bi);
}
