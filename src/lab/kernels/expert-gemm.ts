// Lab: the grouped expert GEMM (src/kernels/expert-gemm.ts) on a routed problem
// (gemm-tuning.ts buildGemmProblem): 'gate-up' (SwiGLU fused), 'down', or both.
// Variants are the GEMM's ('sx4:8x4:2x2', 'tile:4x4:8x8', 'naive', …); without one the GEMM
// takes the tuning cache's winner for the shape class, else its per-format default.
import { readF32, type Gpu } from '../../gpu/index.ts';
import {
  DEFAULT_SUBGROUP_VARIANTS,
  DEFAULT_TILE_VARIANT,
  GroupedExpertGemm,
  expertGemmReference,
  hasSubgroupQuads,
  hasSubgroupsOf4,
  variantName,
  variantProblem,
  type GemmVariant,
} from '../../kernels/expert-gemm.ts';
import { variantTextProblem } from '../../kernels/gemm-variant.ts';
import {
  F16_SWEEP_CANDIDATES,
  QUAD_SWEEP_CANDIDATES,
  SGM_SWEEP_CANDIDATES,
  SUBGROUP_SWEEP_CANDIDATES,
  TILE_SWEEP_CANDIDATES,
  buildGemmProblem,
  type GemmProblem,
  type GemmShape,
} from '../../kernels/gemm-tuning.ts';
import { Rng } from '../../util/random.ts';
import { checkClose } from '../checks.ts';
import { gemmShapeClass } from '../../tuning/shape-class.ts';
import type { CheckResult, GemmStage, LabKernel, LabProblem, LabShape } from '../types.ts';

/** Above this many multiply-adds the reference checks a sample of rows instead of all. */
const FULL_CHECK_MACS = 5e7;
const SAMPLED_ROWS = 64;
/** f32 accumulation over H or F products vs float64 (measured ~4e-7 at H=512). */
export const GEMM_TOLERANCE = 1e-4;
/**
 * f16 operands (':f16'): every input and decoded weight is rounded to f16 (relative error
 * ≤ 2^-11 each) before f32 products and sums, and gate/up's f16-rounded h feeds down; on
 * random inputs those roundings leave ≈ 2^-11 of norm-wise error. 8 × 2^-11 ≈ 3.9e-3 keeps a
 * margin and still fails any wrong row, weight or scale (errors of order 1).
 */
export const GEMM_F16_TOLERANCE = 8 * 2 ** -11;

/**
 * The tolerance of a variant's check: its operands' precision. Subgroup matrices ('sgm') get
 * the f16 one whatever their operands: the extension leaves the precision of their multiply
 * unspecified (f32 operands may run as TF32, which keeps f16's 10 mantissa bits).
 */
export function gemmTolerance(v: GemmVariant): number {
  return v.kind === 'sgm' || (v.kind === 'wg' && v.operands === 'f16') ? GEMM_F16_TOLERANCE : GEMM_TOLERANCE;
}

/** The checked rows of the GEMM's output and their float64 reference values. */
export interface GemmReferenceRows {
  rows: number[];
  /** Output width per row (F for gate-up, H otherwise). */
  width: number;
  want: Float64Array;
}

export function gemmStageFlops(s: GemmShape, stage: GemmStage): number {
  const per = s.tokens * s.topK * s.hidden * s.expertHidden * 2;
  return stage === 'gate-up' ? 2 * per : stage === 'down' ? per : 3 * per;
}

/** Reference for `rows` of the sorted output (stage 'down' reads the given h). */
export function gemmReferenceRows(
  p: GemmProblem,
  stage: GemmStage,
  rows: number[],
  h?: Float32Array,
): GemmReferenceRows {
  const { topK: K, hidden: H, expertHidden: F } = p.shape;
  const width = stage === 'gate-up' ? F : H;
  const want = new Float64Array(rows.length * width);
  rows.forEach((row, j) => {
    let e = 0;
    while (p.offsets[e + 1] <= row) e++;
    const t = Math.floor(p.perm[row] / K);
    const one = { tokens: 1, topK: 1, hidden: H, expertHidden: F, experts: [p.decoded[e]] };
    const out =
      stage === 'down'
        ? expertGemmReference({ ...one, h: h!.subarray(row * F, row * F + F) }, 'down')
        : expertGemmReference({ ...one, x: p.x.subarray(t * H, t * H + H) }, stage === 'gate-up' ? 'gate_up' : 'mlp');
    want.set(out, j * width);
  });
  return { rows, width, want };
}

/** Compares the checked rows of a full output ([T·K, width], sorted order). */
export function checkGemm(
  ref: GemmReferenceRows,
  out: Float32Array,
  totalRows: number,
  tolerance = GEMM_TOLERANCE,
): CheckResult {
  if (out.length !== totalRows * ref.width) {
    return {
      ok: false,
      relErr: Infinity,
      tolerance,
      detail: `output holds ${out.length} values, expected ${totalRows * ref.width}`,
    };
  }
  const got = new Float32Array(ref.rows.length * ref.width);
  ref.rows.forEach((row, j) => got.set(out.subarray(row * ref.width, (row + 1) * ref.width), j * ref.width));
  const what =
    ref.rows.length === totalRows ? `all ${totalRows} rows` : `${ref.rows.length} of ${totalRows} rows (sampled)`;
  return checkClose(what, got, ref.want, tolerance);
}

/** Rows to check: all when cheap, else a seeded sample that includes both ends. */
function rowsToCheck(rng: Rng, total: number, macsPerRow: number): number[] {
  if (total * macsPerRow <= FULL_CHECK_MACS || total <= SAMPLED_ROWS) return [...Array(total).keys()];
  const pick = new Set([0, total - 1]);
  while (pick.size < SAMPLED_ROWS) pick.add(rng.int(total));
  return [...pick].sort((a, b) => a - b);
}

export const expertGemmLab: LabKernel<Float32Array> = {
  name: 'expert-gemm',
  summary: 'grouped expert GEMM over routed rows: gate/up with SwiGLU fused, down (FLOPs 2·T·K·3·H·F for both)',
  bound: 'compute',
  uses: ['tokens', 'hidden', 'expertHidden', 'experts', 'topK', 'skew', 'format', 'stage'],
  shapeClass: (s) => gemmShapeClass(s),
  variantProblem(v) {
    // 'default' (the format's) and 'auto' (the tuning cache's, else the default) are the GEMM's own words.
    return v === 'default' || v === 'auto' ? undefined : variantTextProblem(v);
  },
  sweepCandidates(gpu: Gpu, s: LabShape): string[] {
    const subgroups = hasSubgroupsOf4(gpu);
    const list = subgroups
      ? [DEFAULT_SUBGROUP_VARIANTS[s.format], ...SUBGROUP_SWEEP_CANDIDATES]
      : [DEFAULT_TILE_VARIANT, ...TILE_SWEEP_CANDIDATES];
    // Wider subgroups of a multiple of 4 lanes: the quad variants whose workgroup is whole subgroups.
    if (!subgroups && hasSubgroupQuads(gpu))
      list.push(...QUAD_SWEEP_CANDIDATES.filter((v) => variantProblem(gpu, v) === undefined));
    if (gpu.f16) list.push(...F16_SWEEP_CANDIDATES);
    if (gpu.subgroupMatrixConfigs.length)
      list.push(...SGM_SWEEP_CANDIDATES.filter((v) => variantProblem(gpu, v) === undefined));
    // ':loop' changes nothing for f32 (no code words to walk).
    const named = list.map((v) => (s.format === 'f32' ? v.replace(/:loop(?=:|$)/, '') : v));
    return [...new Set(named)];
  },
  async prepare(gpu: Gpu, s: LabShape, opts): Promise<LabProblem<Float32Array>> {
    const shape: GemmShape = {
      tokens: s.tokens,
      hidden: s.hidden,
      expertHidden: s.expertHidden,
      experts: s.experts,
      topK: s.topK,
    };
    const { tokens: T, topK: K, hidden: H, expertHidden: F, experts: E } = shape;
    const rows = T * K;
    const stage = s.stage;
    const rng = new Rng(opts.seed);
    const p = buildGemmProblem(gpu, shape, s.format, { seed: opts.seed, skew: s.skew });
    let h: Float32Array | undefined;
    if (stage === 'down') {
      h = rng.fork('h').normals(rows * F, 1);
      gpu.device.queue.writeBuffer(p.buffers.h, 0, h);
    }
    const ref = gemmReferenceRows(
      p,
      stage,
      rowsToCheck(rng.fork('check'), rows, stage === 'gate-up' ? 2 * H * F : stage === 'down' ? H * F : 3 * H * F),
      h,
    );
    const make = (variant: string | undefined) =>
      GroupedExpertGemm.create(gpu, {
        hidden: H,
        expertHidden: F,
        experts: E,
        format: s.format,
        variant,
        rowsPerExpert: rows / E,
      });
    let gemm: GroupedExpertGemm;
    try {
      gemm = await make(opts.variant);
    } catch (e) {
      p.destroy();
      throw e;
    }
    const touched = [...Array(E).keys()].filter((e) => p.offsets[e + 1] > p.offsets[e]).length;
    const weightShare = stage === 'gate-up' ? 2 / 3 : stage === 'down' ? 1 / 3 : 1;
    const activations = 4 * rows * (stage === 'gate-up' ? H + F : stage === 'down' ? F + H : 2 * H + 2 * F);
    const common = {
      topK: K,
      tokens: T,
      weights: p.buffers.weights,
      expertTable: p.buffers.table,
      offsets: p.buffers.offsets,
    };
    const gateUpArgs = { ...common, x: p.buffers.x, perm: p.buffers.perm, h: p.buffers.h };
    const downArgs = { ...common, h: p.buffers.h, y: p.buffers.y };
    const problem: LabProblem<Float32Array> = {
      kernel: 'expert-gemm',
      shape: { tokens: T, hidden: H, expertHidden: F, experts: E, topK: K, skew: s.skew, format: s.format, stage },
      variant: variantName(gemm.variant),
      variantSource: gemm.variantSource,
      bound: 'compute',
      flops: gemmStageFlops(shape, stage),
      bytes: Math.round(touched * p.bytesPerExpert * weightShare) + activations,
      passes: stage === 'both' ? 2 : 1,
      outputs: stage === 'gate-up' ? [p.buffers.h] : stage === 'down' ? [p.buffers.y] : [p.buffers.h, p.buffers.y],
      encode(enc, timer) {
        if (stage === 'both') gemm.encodeMlp(enc, { ...gateUpArgs, y: p.buffers.y }, timer);
        else if (stage === 'gate-up') gemm.encodeGateUp(enc, gateUpArgs, timer);
        else gemm.encodeDown(enc, downArgs, timer);
      },
      read: () => (stage === 'gate-up' ? readF32(gpu, p.buffers.h, rows * F) : readF32(gpu, p.buffers.y, rows * H)),
      check: (out) => checkGemm(ref, out, rows, gemmTolerance(gemm.variant)),
      async setVariant(v) {
        const next = await make(v);
        gemm.destroy();
        gemm = next;
        problem.variant = variantName(gemm.variant);
        problem.variantSource = gemm.variantSource;
      },
      destroy() {
        gemm.destroy();
        p.destroy();
      },
    };
    return problem;
  },
};
