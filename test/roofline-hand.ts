// One MoE layer of DeepSeek-R1 on gb200-nvl72 at batch 1, DWDP4 against DEP4, in roofline terms,
// written out by hand in float64 from R1's published shapes (config.json) and the profile's
// published peaks: the independent reference the tests hold the model's roofline mode to
// (src/hardware/efficiency.ts ROOFLINE_EFFICIENCY, src/sim/experiment.ts moeLayerTimes). Every
// op's FLOPs and bytes are below; its time is max(FLOPs ÷ peak, bytes ÷ HBM); T_DWDP =
// max(T_compute, T_prefetch); T_DEP = DEP's compute with its all-to-all on the critical path
// (the shared expert runs during the return).

// gb200-nvl72 per GPU (NVIDIA's GB200 NVL72 page: rack figures ÷ 72, dense = sparse ÷ 2).
export const PEAK = { fp4: 10e15, fp8: 5e15, bf16: 2.5e15 }; // FLOP/s
export const HBM = 8e12; // B/s
export const LINK = 900e9; // B/s per direction
// DeepSeek-R1 config.json.
const H = 7168;
export const HEADS = 128;
const Q_LORA = 1536;
const KV_LORA = 512;
export const NOPE = 128;
export const ROPE = 64;
export const V = 128;
const F = 2048; // moe_intermediate_size (routed and shared expert)
const E = 256;
const K = 8;
export const N = 4; // DWDP4 / DEP4
const PULLED = (N - 1) * (E / N); // 192 experts pulled per layer (L = P = 64)
const ACT = 2; // BF16 activations
// One NVFP4 expert: three H×F matrices of 4-bit codes, one e4m3 scale per 16 values, and a
// 4-byte tensor scale padded to 16 bytes.
export const EXPERT_BYTES = 3 * ((H * F) / 2 + (H * F) / 16 + 16);
const OTHERS_PASSES = 4; // norm, RoPE, two residual adds (the sourced count; roofline mode keeps it)

type P = keyof typeof PEAK;
const op = (flops: number, bytes: number, p: P) => Math.max(flops / PEAK[p], bytes / HBM) * 1e3; // ms

/** One MoE layer of one rank with one request of S tokens, in ms. */
export function handLayer(S: number) {
  const T = S;
  // Attention projections in FP8 (q_a, q_b, kv_a with the RoPE key, kv_b), one op.
  const projMats = [
    [H, Q_LORA],
    [Q_LORA, HEADS * (NOPE + ROPE)],
    [H, KV_LORA + ROPE],
    [KV_LORA, HEADS * (NOPE + V)],
  ];
  const projParams = projMats.reduce((a, [i, o]) => a + i * o, 0);
  const projIo = projMats.reduce((a, [i, o]) => a + i + o, 0);
  const proj = op(2 * T * projParams, projParams * 1 + T * projIo * ACT, 'fp8');
  // o_proj in FP4 (the NVFP4 v2 checkpoint quantizes wo): 0.5625 bytes per weight.
  const oParams = HEADS * V * H;
  const oProj = op(2 * T * oParams, oParams * 0.5625 + T * (HEADS * V + H) * ACT, 'fp4');
  // Attention core, BF16, causal: S(S+1)/2 pairs × heads × (QKᵀ over 192 + PV over 128) MACs.
  const pairs = (S * (S + 1)) / 2;
  const core = op(2 * HEADS * (NOPE + ROPE + V) * pairs, T * 2 * HEADS * (NOPE + ROPE + V) * ACT, 'bf16');
  const misc = op(2.5 * OTHERS_PASSES * T * H, 2 * OTHERS_PASSES * T * H * ACT, 'bf16');
  const routerLogits = op(2 * T * H * E, H * E * 2 + T * (H * ACT + E * 4), 'bf16');
  const routerSelect = op(4 * T * E, T * (E * 4 + K * 8), 'bf16');
  const shared = op(2 * T * 3 * H * F, 3 * H * F * 1 + T * (2 * H + 2 * F) * ACT, 'fp8');
  const combine = op(2 * T * (K + 1) * H, T * (K + 2) * H * ACT, 'bf16');
  const gemm = (slots: number, touched: number) =>
    op(2 * slots * 3 * H * F, touched * EXPERT_BYTES + slots * (2 * H + 2 * F) * ACT, 'fp4');
  const head = proj + oProj + core + misc + routerLogits + routerSelect;
  // DWDP: own T·K slots over all E experts; expected distinct experts touched by T tokens.
  const dwdpGemm = gemm(T * K, E * (1 - Math.pow(1 - K / E, T)));
  const tCompute = head + shared + dwdpGemm + combine;
  // All 192 pulled experts come in over the rank's ingress.
  const tPrefetch = ((PULLED * EXPERT_BYTES) / LINK) * 1e3;
  // DEP: the group's N·T tokens' slots for the rank's E/N experts; a token goes to a peer when one
  // of its K experts lives there: 1 − C(E − E/N, K)/C(E, K). Each rank sends N − 1 peers that
  // many rows (FP8 dispatch, BF16 return) and receives as many: (N − 1)·rows·H·bytes over the link.
  let none = 1;
  for (let i = 0; i < K; i++) none *= (E - E / N - i) / (E - i);
  const rows = T * (1 - none);
  const dispatch = (((N - 1) * rows * H * 1) / LINK) * 1e3;
  const ret = (((N - 1) * rows * H * 2) / LINK) * 1e3;
  const depGemm = gemm((N * T * K) / N, (E / N) * (1 - Math.pow(1 - K / E, N * T)));
  const tDep = head + dispatch + depGemm + Math.max(ret, shared) + combine;
  return { tCompute, tPrefetch, tDwdp: Math.max(tCompute, tPrefetch), tDep };
}
