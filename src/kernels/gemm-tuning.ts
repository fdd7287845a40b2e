// Measuring the grouped expert GEMM: random routed problems, timed runs (timestamp
// queries, median after warm-up), and the candidate variants a sweep tries. Used by bench/kernels.ts and the lab (src/lab/kernels/expert-gemm.ts).
import { GpuTimer, createBuffer, createBufferWith, readF32, type Gpu } from '../gpu/index.ts';
import { expertLayout, packRandomExpert, type WeightFormat } from '../model/formats.ts';
import { Rng } from '../util/random.ts';
import { median } from '../util/stats.ts';
import { permuteReference } from './permute.ts';
import { GroupedExpertGemm, createExpertTable, type DecodedExpert } from './expert-gemm.ts';

export interface GemmShape {
  tokens: number;
  hidden: number;
  expertHidden: number;
  experts: number;
  topK: number;
}

export const shapeLabel = (s: GemmShape): string =>
  `T=${s.tokens} H=${s.hidden} F=${s.expertHidden} E=${s.experts} K=${s.topK}`;

/** FLOPs of gate + up + down: 2·T·K·3·H·F. */
export const gemmFlops = (s: GemmShape): number => 2 * s.tokens * s.topK * 3 * s.hidden * s.expertHidden;

/** The grouped GEMM for a shape, its default variant's tile rows fitted to T·K/E as the MoE layer does. */
export function createShapeGemm(
  gpu: Gpu,
  s: GemmShape,
  format: WeightFormat,
  variant?: string,
): Promise<GroupedExpertGemm> {
  return GroupedExpertGemm.create(gpu, {
    hidden: s.hidden,
    expertHidden: s.expertHidden,
    experts: s.experts,
    format,
    variant,
    rowsPerExpert: (s.tokens * s.topK) / s.experts,
  });
}

/**
 * Top-k routing with distinct experts per token. skew = 0 is uniform; larger values draw
 * experts from a Zipf-like popularity (p_e ∝ 1/(e+1)^skew) like a trained router's imbalance.
 */
export function randomRouting(
  rng: Rng,
  s: GemmShape,
  skew = 0,
): { choice: Uint32Array; perm: Uint32Array; offsets: Uint32Array; counts: Uint32Array } {
  const { tokens: T, topK: K, experts: E } = s;
  if (K > E) throw new Error(`routing: topK ${K} > experts ${E}`);
  const weight = Array.from({ length: E }, (_, e) => 1 / (e + 1) ** skew);
  const order = [...Array(E).keys()].sort(() => rng.next() - 0.5); // popularity not tied to expert index
  const choice = new Uint32Array(T * K);
  for (let t = 0; t < T; t++) {
    const taken = new Set<number>();
    for (let k = 0; k < K; k++) {
      let total = 0;
      for (let i = 0; i < E; i++) if (!taken.has(i)) total += weight[i];
      let r = rng.next() * total;
      let pick = -1;
      for (let i = 0; i < E; i++) {
        if (taken.has(i)) continue;
        pick = i;
        r -= weight[i];
        if (r < 0) break;
      }
      taken.add(pick);
      choice[t * K + k] = order[pick];
    }
  }
  const { perm, offsets, counts } = permuteReference({ experts: E, topK: K }, T, new Int32Array(choice));
  return { choice, perm, offsets, counts };
}

/** A routed problem on the GPU: inputs, sorting, weights (one buffer, per-expert offsets) and outputs. */
export interface GemmProblem {
  shape: GemmShape;
  format: WeightFormat;
  x: Float32Array;
  perm: Uint32Array;
  offsets: Uint32Array;
  decoded: DecodedExpert[];
  buffers: {
    x: GPUBuffer;
    perm: GPUBuffer;
    offsets: GPUBuffer;
    h: GPUBuffer;
    y: GPUBuffer;
    table: GPUBuffer;
    weights: GPUBufferBinding;
  };
  /** Compressed bytes per expert. */
  bytesPerExpert: number;
  destroy(): void;
}

export function buildGemmProblem(
  gpu: Gpu,
  shape: GemmShape,
  format: WeightFormat,
  opts: {
    seed?: number;
    skew?: number;
    /** Expert e's block at byte expertOffsets[e] of the weight buffer (multiples of 16; default e · bytes per expert). */
    expertOffsets?: readonly number[];
  } = {},
): GemmProblem {
  const rng = new Rng(opts.seed ?? 1);
  const { hidden: H, expertHidden: F, experts: E, tokens: T, topK: K } = shape;
  const layout = expertLayout(format, H, F);
  const at = opts.expertOffsets ?? Array.from({ length: E }, (_, e) => e * layout.bytes);
  if (at.length !== E || at.some((o) => !Number.isInteger(o) || o < 0 || o % 16 !== 0))
    throw new Error(`buildGemmProblem: expertOffsets needs ${E} byte offsets, multiples of 16`);
  const wrng = rng.fork('weights');
  const words = new Uint32Array((Math.max(...at) + layout.bytes) / 4);
  const decoded: DecodedExpert[] = [];
  for (let e = 0; e < E; e++) decoded.push(packRandomExpert(layout, wrng, words, at[e] / 4));
  const x = rng.fork('x').normals(T * H, 1);
  const { perm, offsets } = randomRouting(rng.fork('routing'), shape, opts.skew ?? 0);
  const weightBuffer = createBufferWith(gpu, words, 'weights');
  const buffers = {
    x: createBufferWith(gpu, x, 'x'),
    perm: createBufferWith(gpu, perm, 'perm'),
    offsets: createBufferWith(gpu, offsets, 'offsets'),
    h: createBuffer(gpu, T * K * F * 4, 'h'),
    y: createBuffer(gpu, T * K * H * 4, 'y'),
    table: createExpertTable(
      gpu,
      at.map((o) => o / 4),
    ),
    weights: { buffer: weightBuffer },
  };
  return {
    shape,
    format,
    x,
    perm,
    offsets,
    decoded,
    buffers,
    bytesPerExpert: layout.bytes,
    destroy() {
      for (const b of [buffers.x, buffers.perm, buffers.offsets, buffers.h, buffers.y, buffers.table, weightBuffer])
        b.destroy();
    },
  };
}

/** Records gate_up then down for the whole problem. */
export function encodeProblem(gemm: GroupedExpertGemm, p: GemmProblem, enc: GPUCommandEncoder, timer?: GpuTimer): void {
  const b = p.buffers;
  const common = {
    topK: p.shape.topK,
    tokens: p.shape.tokens,
    weights: b.weights,
    expertTable: b.table,
    offsets: b.offsets,
  };
  gemm.encodeMlp(enc, { ...common, x: b.x, perm: b.perm, h: b.h, y: b.y }, timer);
}

export interface Timing {
  /** Median over runs of gate_up + down (ms), and each part's median. */
  medianMs: number;
  minMs: number;
  gateUpMs: number;
  downMs: number;
  runs: number;
  source: GpuTimer['source'];
}

/** Times `runs` submissions of gate_up + down after `warmup` untimed ones. */
export async function timeGemm(
  gpu: Gpu,
  gemm: GroupedExpertGemm,
  p: GemmProblem,
  runs = 5,
  warmup = 1,
): Promise<Timing> {
  const timer = new GpuTimer(gpu);
  const totals: number[] = [];
  const gateUp: number[] = [];
  const down: number[] = [];
  for (let r = 0; r < warmup + runs; r++) {
    const enc = gpu.device.createCommandEncoder();
    encodeProblem(gemm, p, enc, timer);
    timer.resolve(enc);
    if (timer.source === 'host') {
      const t0 = performance.now();
      gpu.device.queue.submit([enc.finish()]);
      await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
      if (r >= warmup) totals.push(performance.now() - t0);
      continue;
    }
    gpu.device.queue.submit([enc.finish()]);
    const t = await timer.read();
    if (r < warmup) continue;
    gateUp.push(t.get('gate_up') ?? 0);
    down.push(t.get('down') ?? 0);
    totals.push((t.get('gate_up') ?? 0) + (t.get('down') ?? 0));
  }
  timer.destroy();
  return {
    medianMs: median(totals),
    minMs: Math.min(...totals),
    gateUpMs: gateUp.length ? median(gateUp) : NaN,
    downMs: down.length ? median(down) : NaN,
    runs,
    source: timer.source,
  };
}

/** Reads y (sorted order [T·K, H]) after the last run. */
export function readY(gpu: Gpu, p: GemmProblem): Promise<Float32Array> {
  return readF32(gpu, p.buffers.y, p.shape.tokens * p.shape.topK * p.shape.hidden);
}

/**
 * One representative per tile kind, for the benchmark's every-variant table: each kind's
 * measured best on the adapters it was built for (docs/expert-gemm.md). Where the adapter
 * cannot run one (variantProblem), the benchmark prints it as skipped with the reason.
 */
export const VARIANT_FAMILIES: readonly { what: string; variant: string }[] = [
  { what: 'portable register tile', variant: 'tile:4x4:8x8' },
  { what: 'inputs shared in subgroups of 4', variant: 'sx4:8x4:2x2' },
  { what: 'weights shared in subgroups of 4', variant: 'sw4:4x8:2x2' },
  // 64 invocations: whole subgroups of 4, 32 or 64 lanes (subgroupQuadProblem).
  { what: 'inputs shared in quads of any multiple-of-4 subgroup (subgroupShuffle)', variant: 'sx4:8x4:4x4:quad' },
  { what: 'weights shared in quads of any multiple-of-4 subgroup (subgroupShuffle)', variant: 'sw4:4x8:4x4:quad' },
  { what: 'workgroup-memory tile, weights decoded once per workgroup', variant: 'wg:8x4:4x8' },
  { what: 'workgroup-memory tile, f16 operands', variant: 'wg:8x4:4x8:f16' },
  { what: 'subgroup-matrix tile, f32 operands (M×N×K from the adapter)', variant: 'sgm:2x2' },
  { what: 'subgroup-matrix tile, f16 operands (M×N×K from the adapter)', variant: 'sgm:2x2:f16' },
];

/**
 * Variants worth sweeping on adapters with subgroups of 4 (SwiftShader), around the measured
 * optimum (docs/expert-gemm.md); ':loop' applies to compressed formats only.
 */
export const SUBGROUP_SWEEP_CANDIDATES: readonly string[] = [
  'sx4:8x4:2x2',
  'sx4:8x4:2x2:loop',
  'sx4:4x8:2x2',
  'sx4:8x4:1x4',
  'sx4:8x4:1x2',
  'sx4:12x4:2x2:loop',
  'sx4:16x4:1x2:loop',
  'sw4:4x8:2x2',
  'sw4:4x8:2x2:loop',
  'sw4:4x16:2x1:loop',
  'sw4:8x8:1x2:loop',
];

/**
 * With subgroups wider than 4 whose sizes are multiples of 4 (NVIDIA 32, AMD 32/64): the
 * sx4/sw4 shapes measured best on SwiftShader on quads (':quad'), with 32, 64 and 128
 * invocations per workgroup; the sweep keeps those whose workgroup is whole subgroups
 * (subgroupQuadProblem). Not measured on such a GPU yet (docs/expert-gemm.md).
 */
export const QUAD_SWEEP_CANDIDATES: readonly string[] = [
  'sx4:8x4:2x4:quad',
  'sx4:8x4:4x4:quad',
  'sx4:8x4:2x8:loop:quad',
  'sx4:4x8:4x4:quad',
  'sx4:16x4:2x4:loop:quad',
  'sw4:4x8:4x2:quad',
  'sw4:4x8:4x4:quad',
  'sw4:4x8:4x4:loop:quad',
  'sw4:8x8:2x4:loop:quad',
  'sw4:4x16:4x4:loop:quad',
];

/**
 * Portable candidates (no subgroups): register tiles, and workgroup-memory tiles from the
 * 32 × 32 one best on SwiftShader to the 64 × 64 ones GPUs with real workgroup memory favour.
 */
export const TILE_SWEEP_CANDIDATES: readonly string[] = [
  'tile:4x4:8x8',
  'tile:4x4:16x4',
  'tile:8x4:8x8',
  'tile:4x8:8x4',
  'tile:2x4:16x8',
  'wg:8x4:4x8',
  'wg:4x4:8x8',
  'wg:8x4:8x16',
  'wg:4x4:16x16',
];

/**
 * With chromium-experimental-subgroup-matrix: subgroup-matrix tiles of 2×2 to 4×2 result
 * matrices (M×N×K from the adapter), f32 and f16 operands; the sweep keeps those the adapter
 * can run (its configs, shader-f16, workgroup memory).
 */
export const SGM_SWEEP_CANDIDATES: readonly string[] = [
  'sgm:2x2',
  'sgm:2x2:f16',
  'sgm:4x2:f16',
  'sgm:2x4:f16',
  'sgm:4x4:f16',
];

/** With shader-f16: the workgroup-memory candidates again with f16 operands. */
export const F16_SWEEP_CANDIDATES: readonly string[] = ['wg:8x4:4x8:f16', 'wg:8x4:8x16:f16', 'wg:4x4:16x16:f16'];
