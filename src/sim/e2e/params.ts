// The end-to-end scenario's parameters and their defaults (the published setting and the
// reproduction matrix's search space). Their declarations — kind, range, help — are the
// option table's (src/options/e2e.ts), which checks a scenario file's "e2e" object.
import type { Efficiency } from '../../hardware/efficiency.ts';
import type { WeightFormat } from '../../model/formats.ts';
import type { GenerationParams } from './generation.ts';
import type { TpsPerUserMetric } from './rate-match.ts';

export interface E2eParams {
  isl: number;
  osl: number;
  /** Lengths uniform in [inputRatio·ISL, ISL] (the benchmarks' convention). */
  inputRatio: number;
  format: WeightFormat;
  /** GPUs per context DEP server and per DWDP group. */
  groupSize: number;
  /** Context server limits per GPU: requests and tokens per step. */
  ctxMaxBatch: number;
  ctxMaxTokens: number;
  /** DWDP's copy-engine contention fix (`contention_opt`); the published runs had it off. */
  contentionFix: boolean;
  /** DWDP L and P; default the minimal-memory choice (L = P = 64 for E = 256, N = 4). */
  local?: number;
  pull?: number;
  /** Generation server choices searched. */
  genEp: number[];
  genBatch: number[];
  mtp: number[];
  eplb: boolean[];
  /** Closed-loop concurrency as a multiple of the generation server's batch × GPUs (the reproduction: 1). */
  concurrencyFactor: number;
  /** GPUs the deployment may use (context + generation); default the profile's NVLink domain. */
  maxGpus?: number;
  bands: [number, number][];
  /**
   * What TPS/user means (the search's axis and the bands'): 'benchmark' (default) — output
   * tokens ÷ a request's end-to-end latency, TTFT included, averaged over requests: the "User
   * throughput" of TensorRT-LLM's benchmark_serving (tensorrt_llm/serve/scripts/benchmark_serving.py,
   * `calculate_metrics`: `tput_user.append(output_len / latency)`), the tool the reproduction runs,
   * and the number TensorRT-LLM's perf scripts file as "TPS/User"
   * (tests/scripts/perf-sanity/parse_benchmark_results.py); 'decode' — the decode rate alone.
   */
  tpsPerUserMetric: TpsPerUserMetric;
  /**
   * The rack model's routing skew (a Zipf exponent of hot experts, its `routingSkew` key): when
   * set, the no-EPLB load imbalance of the generation pool is derived from it
   * (routingSkewImbalance) instead of `generation.noEplbSkew`.
   */
  routingSkew?: number;
  generation: Partial<GenerationParams>;
  efficiency?: Partial<Efficiency>;
  /** Context-phase steps per batch size, and the seed of their request lengths (and of the TTFT simulation's). */
  steps: number;
  seed: number;
  /**
   * Requests of the simulated benchmark run whose median TTFT is reported (ttft-queue.ts).
   * Default 20000: the reproduction's `num_prompts`; a run at concurrency C sends
   * C × max(1, ⌊num_prompts / C⌋) of them, as the reproduction's benchmark does.
   */
  ttftRequests: number;
}

/**
 * The CUDA-graph batch sizes TensorRT-LLM's DWDP reproduction captures on its generation servers
 * for a `max_num_tokens` (examples/dwdp/reproduce.py `_cuda_graph_batch_sizes`, "following the
 * internal benchmark defaults"): 1, 2, 4, then 8 … min(n, 1024) in steps of 8, then 1040 …
 * min(n, 2048) in steps of 16, and n itself above 2048. With `enable_padding` (the reproduction's)
 * a step of any other request count runs the next captured size's graph.
 */
export function cudaGraphBatchSizes(maxNumTokens: number): number[] {
  const out = [1, 2, 4].filter((b) => b <= maxNumTokens);
  for (let b = 8; b <= Math.min(maxNumTokens, 1024); b += 8) out.push(b);
  for (let b = 1040; b <= Math.min(maxNumTokens, 2048); b += 16) out.push(b);
  if (maxNumTokens > 2048) out.push(maxNumTokens);
  return out;
}

/**
 * The largest generation batch per GPU searched: the reproduction's largest `batch` (256, its
 * 20–40 TPS/user rows; docs/validation-sources.md §1).
 */
export const GEN_BATCH_MAX = 256;

/**
 * The published setting (docs/validation-sources.md §1) and the reproduction matrix's choices.
 * The generation batches searched are the sizes a deployment runs as modeled: the captured
 * CUDA-graph sizes up to GEN_BATCH_MAX (1, 2, 4, 8, 16, 24, …, 256). The decode model times a
 * step at its request count, without the padding to the next captured size, so a pool filled to
 * a size that is not captured would be modeled faster than it runs; every captured size is one a
 * pool can fill. (Before: powers of two only, 1 … 256, a grid with no source.)
 */
export const DEFAULT_E2E_PARAMS: Readonly<E2eParams> = {
  isl: 8192,
  osl: 1024,
  inputRatio: 0.8,
  format: 'nvfp4',
  groupSize: 4,
  ctxMaxBatch: 4,
  ctxMaxTokens: 33000,
  contentionFix: false,
  genEp: [4, 8, 16, 32],
  genBatch: cudaGraphBatchSizes(GEN_BATCH_MAX),
  mtp: [0, 1, 2, 3],
  eplb: [false, true],
  concurrencyFactor: 1,
  tpsPerUserMetric: 'benchmark',
  bands: [
    [20, 30],
    [40, 50],
    [60, 70],
    [80, 90],
    [170, 180],
  ],
  generation: {},
  steps: 4,
  seed: 1,
  ttftRequests: 20000,
};
