// Hardware profiles for the rack-scale model: per-GPU peaks, memory, and the GPU-to-GPU link.
// Every number is a vendor's published peak (dense, i.e. without 2:4 sparsity) unless it
// says "modeled"; what fraction of a peak real kernels reach is NOT here but in the cost
// model's named efficiency factors (src/sim/cost-model.ts).
//
// Nothing here measures anything: 'this-device' is built from numbers measured elsewhere
// (the lab CLI's GEMM and copy benchmarks) and passed in.

import type { Efficiency } from './efficiency.ts';
import GB200_FIT from './gb200-nvl72-fit.json';

export type Precision = 'fp4' | 'fp8' | 'bf16' | 'fp32';

export interface HardwareProfile {
  id: string;
  name: string;
  /** GPUs in one NVLink domain (the largest possible DWDP/DEP group). */
  gpusPerDomain: number;
  /**
   * GPUs in one node (one host: a compute tray of an NVL72 rack, an HGX board). TensorRT-LLM's
   * `gpus_per_node`: it bounds, for one, how many GPUs the MTP draft head is split over under
   * attention DP (src/sim/e2e/generation.ts).
   */
  gpusPerNode: number;
  /** Dense tensor-core peak per GPU in TFLOP/s; null when the GPU has no such tensor-core path. */
  peakTflops: Record<Precision, number | null>;
  /** HBM bandwidth per GPU, GB/s. */
  hbmGBps: number;
  /** HBM capacity per GPU, GB (10⁹ bytes). */
  hbmCapacityGB: number;
  /** GPU-to-GPU link bandwidth per GPU, per direction, GB/s. */
  linkGBpsPerDirection: number;
  /** Copy engines serving one GPU's outgoing peer copies, as modeled (see the note below). */
  copyEngines: number;
  /** One-way GPU-to-GPU latency, µs. */
  linkLatencyUs: number;
  /** True when the numbers were measured on this machine rather than published. */
  measured: boolean;
  /** Where the numbers come from. */
  sources: string[];
  /**
   * Fraction of the FP8 dense peak the decode attention core (MLA absorbed, DeepSeek's shape) reaches
   * on this GPU: the generation model's `decodeAttentionEfficiency` when the scenario does not set
   * it (src/sim/e2e/generation.ts); absent, that model's own default (FlashMLA's fraction on Hopper).
   */
  decodeAttentionEfficiency?: number;
  /** Efficiencies fitted to published measurements on this hardware (src/sim/fit.ts), and how, in words. */
  calibration?: { efficiency: Partial<Efficiency>; describe: string };
}

// Copy engines: physical NVIDIA GPUs have several (cudaDeviceProp::asyncEngineCount), but the
// DWDP paper's contention effect is that one source serializes its peers' pulls; the model
// keeps ONE engine per source, which is what makes the convoy (and its fix) visible.
const MODELED_COPY_ENGINES = 1;

// Link latency: NVLink GPU-to-GPU latency is a few µs (CUDA sample p2pBandwidthLatencyTest,
// NVIDIA nvbandwidth); every transfer in this model is MBs to GBs, so it hardly matters.
const NVLINK_LATENCY_US = 2; // modeled, order of magnitude

/**
 * TensorRT-LLM's FP8 MLA decode kernel on Blackwell (SM100), TFLOP/s, at DeepSeek-V3/R1's shape: 128
 * query heads over one 576-wide key latent (512 + 64 RoPE) and 512-wide values, FP8 query and KV
 * cache, page size 32, every request 8192 cached tokens. flashinfer-ai/flashinfer PR #2743
 * (commit 31b63bc3, "Add cute dsl mla decode op"), table "FP8 fixed-len": trtllm-gen
 * (`trtllm_batch_decode_with_kv_cache_mla`), CUPTI, CUDA graph, cold L2, median of 30, at batch
 * 256: 0.2825 ms with 1 query token a request, 0.9927 ms with 4. FLOPs = batch × q × 128 heads ×
 * 8192 keys × 2·(576 + 512): 2.068 and 2.354 PFLOP/s; the rate taken is their mean, 2211 TFLOP/s
 * (q = 1 and 4 bracket MTP1's 2; docs/hardware-sources.md, "Decode attention kernel"). The PR names
 * the GPU only as "NVIDIA Blackwell (SM100a)": the rate is carried over as measured to every Blackwell
 * profile (its fraction of each one's own FP8 peak), not scaled by their peaks.
 */
export const TRTLLM_GEN_MLA_DECODE_FP8_TFLOPS =
  (256 * 128 * 8192 * 2 * (576 + 512) * (1 / 0.2825e-3 + 4 / 0.9927e-3)) / 2 / 1e12;

export const GB200_NVL72: HardwareProfile = {
  id: 'gb200-nvl72',
  name: 'GB200 NVL72 (per B200 GPU)',
  // 72 Blackwell GPUs in one NVLink Switch domain — https://www.nvidia.com/en-us/data-center/gb200-nvl72/
  gpusPerDomain: 72,
  // A compute tray holds 2 GB200 superchips = 4 GPUs (docs/hardware-sources.md; the DWDP
  // reproduction's `hardware.gpus_per_node: 4`).
  gpusPerNode: 4,
  peakTflops: {
    // GB200 NVL72 spec table (rack, with sparsity): FP4 1,440 PF, FP8/FP6 720 PF, FP16/BF16 360 PF,
    // TF32 180 PF → per GPU ÷72, dense ÷2: FP4 10, FP8 5, BF16 2.5, TF32 1.25 PFLOP/s.
    // https://www.nvidia.com/en-us/data-center/gb200-nvl72/ ; per-GPU table of the GB200 variant
    // of B200 at https://glennklockwood.com/garden/processors/B200
    fp4: 10_000,
    fp8: 5_000,
    bf16: 2_500,
    fp32: 1_250, // TF32 tensor cores
  },
  // Rack: up to 13.4 TB HBM3e at 576 TB/s → per GPU 186 GB, 8 TB/s (nvidia.com GB200 NVL72 page).
  hbmGBps: 8_000,
  hbmCapacityGB: 186,
  // Fifth-generation NVLink: 1.8 TB/s per GPU bidirectional = 900 GB/s each way; 130 TB/s per rack
  // (nvidia.com GB200 NVL72 page; https://www.nvidia.com/en-us/data-center/nvlink/).
  linkGBpsPerDirection: 900,
  copyEngines: MODELED_COPY_ENGINES,
  linkLatencyUs: NVLINK_LATENCY_US,
  measured: false,
  // TensorRT-LLM's FP8 MLA decode kernel's measured rate ÷ this GPU's FP8 dense peak.
  decodeAttentionEfficiency: TRTLLM_GEN_MLA_DECODE_FP8_TFLOPS / 5_000,
  sources: [
    'https://www.nvidia.com/en-us/data-center/gb200-nvl72/',
    'https://glennklockwood.com/garden/processors/B200',
    'https://www.nvidia.com/en-us/data-center/nvlink/',
  ],
  // The efficiencies fitted to the DWDP paper's measured iteration breakdown (its Table 3) by
  // `npm run sim -- --fit-calibration` (src/sim/fit.ts), which writes gb200-nvl72-fit.json.
  calibration: { efficiency: GB200_FIT.parameters, describe: GB200_FIT.describe },
};

export const H200_HGX: HardwareProfile = {
  id: 'h200-hgx',
  name: 'H200 SXM, HGX 8-GPU',
  gpusPerDomain: 8,
  gpusPerNode: 8, // one HGX board per host (MLPerf H200 system descriptions: 8 per node)
  peakTflops: {
    // H200 SXM datasheet (with sparsity): FP8 3,958 TF, BF16 1,979 TF, TF32 989 TF → dense ÷2.
    // Hopper has no FP4 tensor cores: NVFP4 weights are expanded and multiplied in FP8 (cost model).
    // https://www.nvidia.com/en-us/data-center/h200/
    fp4: null,
    fp8: 1_979,
    bf16: 989,
    fp32: 494, // TF32
  },
  // 141 GB HBM3e at 4.8 TB/s (H200 datasheet).
  hbmGBps: 4_800,
  hbmCapacityGB: 141,
  // NVLink 4: 900 GB/s per GPU bidirectional = 450 GB/s each way, all-to-all through NVSwitch in HGX.
  linkGBpsPerDirection: 450,
  copyEngines: MODELED_COPY_ENGINES,
  linkLatencyUs: NVLINK_LATENCY_US,
  measured: false,
  sources: ['https://www.nvidia.com/en-us/data-center/h200/'],
};

export const H100_HGX: HardwareProfile = {
  id: 'h100-hgx',
  name: 'H100 SXM, HGX 8-GPU',
  gpusPerDomain: 8,
  gpusPerNode: 8, // one HGX board per host
  peakTflops: {
    // H100 SXM datasheet (with sparsity): FP8 3,958 TF, BF16 1,979 TF, TF32 989 TF → dense ÷2.
    // https://www.nvidia.com/en-us/data-center/h100/
    fp4: null,
    fp8: 1_979,
    bf16: 989,
    fp32: 494,
  },
  // 80 GB HBM3 at 3.35 TB/s (H100 SXM datasheet).
  hbmGBps: 3_350,
  hbmCapacityGB: 80,
  // NVLink 4: 900 GB/s bidirectional = 450 GB/s each way.
  linkGBpsPerDirection: 450,
  copyEngines: MODELED_COPY_ENGINES,
  linkLatencyUs: NVLINK_LATENCY_US,
  measured: false,
  sources: ['https://www.nvidia.com/en-us/data-center/h100/'],
};

// Blackwell in an 8-GPU HGX board at 1,000 W: the B200 silicon of GB200 at a lower power limit,
// so its dense peaks are 10 % below GB200's. Sources and derivations: docs/hardware-sources.md
// ([B1]–[B5]; NVIDIA's own HGX page was not reachable, the figures agree across MLPerf system
// descriptions and secondary copies of NVIDIA's tables).
export const B200_HGX: HardwareProfile = {
  id: 'b200-hgx',
  name: 'B200 SXM, HGX 8-GPU',
  // 8 GPUs per node, all-to-all through NVSwitch 5 (MLPerf Inference v6.0, Nebius nebius_b200_n1.json).
  gpusPerDomain: 8,
  gpusPerNode: 8,
  peakTflops: {
    // HGX variant of B200 (1,000 W), dense: FP4 9,000, FP8 4,500, BF16 2,250, TF32 1,100 TFLOP/s
    // (glennklockwood.com B200 table; HGX B200 72 PF FP8 / 36 PF BF16 with sparsity ÷ 8 GPUs ÷ 2).
    fp4: 9_000,
    fp8: 4_500,
    bf16: 2_250,
    fp32: 1_100, // TF32
  },
  // 180 GB usable HBM3e (MLPerf "B200-SXM-180GB"; 192 GB nameplate) at 8 TB/s.
  hbmGBps: 8_000,
  hbmCapacityGB: 180,
  // 18 × NVLink 5, 14.4 TB/s per 8-GPU node → 1.8 TB/s per GPU bidirectional = 900 GB/s each way.
  linkGBpsPerDirection: 900,
  copyEngines: MODELED_COPY_ENGINES,
  linkLatencyUs: NVLINK_LATENCY_US,
  measured: false,
  // TensorRT-LLM's FP8 MLA decode kernel's measured rate ÷ this GPU's FP8 dense peak.
  decodeAttentionEfficiency: TRTLLM_GEN_MLA_DECODE_FP8_TFLOPS / 4_500,
  sources: [
    'https://raw.githubusercontent.com/mlcommons/inference_results_v6.0/main/closed/Nebius/systems/nebius_b200_n1.json',
    'https://glennklockwood.com/garden/processors/B200',
    'https://docs.vultr.com/inference-cookbook/cuda/getting-started/hardware-overview',
  ],
};

// Blackwell Ultra (B300) in a GB300 NVL72 rack: 1.5× GB200's dense FP4, the same FP8/BF16 peaks.
// Rack totals ÷ 72 GPUs; sources and derivations: docs/hardware-sources.md ([G1]–[G5]).
export const GB300_NVL72: HardwareProfile = {
  id: 'gb300-nvl72',
  name: 'GB300 NVL72 (per B300 GPU)',
  // 72 Blackwell Ultra GPUs, non-blocking NVLink P2P through 9 NVSwitch trays (NVIDIA Enterprise
  // Reference Architecture, NVL72 AI factory, "System Hardware & Components").
  gpusPerDomain: 72,
  // A compute tray = 4 Blackwell Ultra GPUs + 2 Grace CPUs (the same reference architecture).
  gpusPerNode: 4,
  peakTflops: {
    // Rack, dense: FP4 1,080 PF ("1.1 exaFLOPS"), FP8 360 PF, BF16 180 PF → ÷ 72: 15,000 / 5,000 / 2,500.
    fp4: 15_000,
    fp8: 5_000,
    bf16: 2_500,
    fp32: 1_250, // TF32
  },
  // Rack 20 TB HBM3e at 576 TB/s → ≈ 278 GB usable, 8 TB/s per GPU (288 GB nameplate).
  hbmGBps: 8_000,
  hbmCapacityGB: 278,
  // 130 TB/s per rack → 1.8 TB/s per GPU bidirectional = 900 GB/s each way.
  linkGBpsPerDirection: 900,
  copyEngines: MODELED_COPY_ENGINES,
  linkLatencyUs: NVLINK_LATENCY_US,
  measured: false,
  // TensorRT-LLM's FP8 MLA decode kernel's measured rate ÷ this GPU's FP8 dense peak.
  decodeAttentionEfficiency: TRTLLM_GEN_MLA_DECODE_FP8_TFLOPS / 5_000,
  sources: [
    'https://docs.nvidia.com/enterprise-reference-architectures/nvl72-ai-factory/latest/components.html',
    'https://glennklockwood.com/garden/processors/B300',
    'https://verda.com/blog/gb300-nvl72-architecture',
  ],
};

export const PROFILES: Readonly<Record<string, HardwareProfile>> = {
  [GB200_NVL72.id]: GB200_NVL72,
  [GB300_NVL72.id]: GB300_NVL72,
  [B200_HGX.id]: B200_HGX,
  [H200_HGX.id]: H200_HGX,
  [H100_HGX.id]: H100_HGX,
};

/** Numbers measured on this machine (by the lab's benchmarks), not here. */
export interface MeasuredDevice {
  /** Achieved GEMM throughput, GFLOP/s (f32 on the emulated GPU: every precision runs at this rate). */
  gemmGflops: number;
  /** Achieved device-memory copy bandwidth, GB/s (used for both memory and the rank-to-rank link). */
  copyGBps: number;
  /** Link bandwidth when it differs from copyGBps (e.g. copies between two devices through staging). */
  linkGBps?: number;
  /** Ranks to model (the emulation's group), default 8. */
  ranks?: number;
  adapter?: string;
  /**
   * Where the rates came from, in words, shown in the profile's name and sources (default
   * 'measured': a calibration file the lab wrote). E.g. the flags that gave them.
   */
  ratesFrom?: string;
}

/**
 * 'this-device': measured rates stand in for peaks. Use it with efficiency factors of 1 (the
 * rates are already achieved, not peak): `thisDeviceEfficiency()` in the cost model.
 */
export function thisDeviceProfile(m: MeasuredDevice): HardwareProfile {
  for (const [k, v] of [
    ['gemmGflops', m.gemmGflops],
    ['copyGBps', m.copyGBps],
  ] as const) {
    if (!(v > 0) || !Number.isFinite(v))
      throw new Error(`this-device profile: ${k} must be a positive number, got ${v}`);
  }
  const tf = m.gemmGflops / 1000;
  // Three significant digits without exponent notation (0.939, 1.65, 50000).
  const sig3 = (x: number) => String(Number(x.toPrecision(3)));
  return {
    id: 'this-device',
    name: `this device${m.adapter ? ` (${m.adapter})` : ''}: ${sig3(m.gemmGflops)} GFLOP/s GEMM, ${sig3(m.copyGBps)} GB/s copy, ${m.ratesFrom ?? 'measured'}`,
    gpusPerDomain: m.ranks ?? 8,
    gpusPerNode: m.ranks ?? 8, // the emulated ranks share this one host
    peakTflops: { fp4: tf, fp8: tf, bf16: tf, fp32: tf },
    hbmGBps: m.copyGBps,
    hbmCapacityGB: Infinity,
    linkGBpsPerDirection: m.linkGBps ?? m.copyGBps,
    copyEngines: 1,
    linkLatencyUs: 0,
    measured: true,
    sources: [m.ratesFrom ?? 'measured on this machine (lab benchmarks); passed in'],
  };
}

export function getProfile(id: string): HardwareProfile {
  const p = PROFILES[id];
  if (!p)
    throw new Error(
      `unknown hardware profile '${id}' (profiles: ${Object.keys(PROFILES).join(', ')}, or this-device with measured numbers)`,
    );
  return p;
}
