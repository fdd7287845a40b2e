// Grouped expert GEMM (host side): pipelines, bindings and dispatch sizing for the
// gate/up projection with SwiGLU fused and the down projection, over all experts in one
// dispatch each, with compressed weights read in place from one binding at per-expert
// offsets (the expert table): a DP replica, or a DWDP rank's resident section and prefetch
// slot as regions of one buffer (src/dwdp/store-layout.ts; DWDP's split-weight GEMM, no merge).
// The float64 reference the tests and the lab check against is at the bottom.
import {
  ComputeProgram,
  createBuffer,
  createBufferWith,
  gridDimension,
  wgslProgram,
  workgroupGrid,
  SUBGROUP_MATRIX_FEATURE,
  type Gpu,
  type GpuTimer,
  type GridLimits,
} from '../gpu/index.ts';
import { expertLayout, type ExpertLayout, type WeightFormat } from '../model/formats.ts';
import { PROJECTION_BINDINGS, byBinding, tiledProgramPart, type Projection } from './expert-gemm-codegen.ts';
import {
  checkVariant,
  fitRowsPerExpert,
  parseVariant,
  pickMatrixConfig,
  shaderKey,
  tileShape,
  variantName,
  variantNeeds,
  workgroupBytes,
  type GemmVariant,
  type TileVariant,
} from './gemm-variant.ts';
import { naiveProgram } from './naive-gemm.ts';
import { SizeUniforms } from './routing-params.ts';
import { adapterKey, tunedOrigin, type VariantOrigin } from '../tuning/tuning-cache.ts';
import { defaultTuningCache } from '../tuning/tuning-store.ts';
import { gemmClassBase } from '../tuning/shape-class.ts';

export { parseVariant, variantName, type GemmVariant, type TileVariant } from './gemm-variant.ts';

/**
 * Defaults per weight format on adapters with subgroups of exactly 4 lanes (SwiftShader),
 * the fastest measured there (docs/expert-gemm.md); a tuning sweep may pick others.
 */
export const DEFAULT_SUBGROUP_VARIANTS: Record<WeightFormat, string> = {
  f32: 'sx4:8x4:2x2',
  int8: 'sx4:8x4:2x2',
  fp8: 'sx4:8x4:2x2',
  // e2m1 codes unrolled: 8–16 % faster than ':loop' here (docs/expert-gemm.md), at about twice its compile time.
  nvfp4: 'sw4:4x8:2x2',
  // Inputs shared, 2 subgroups per workgroup: 5–8 % faster than sw4:4x8:2x2 per round in three processes (docs/expert-gemm.md).
  mxfp4: 'sx4:8x4:1x2',
};
/** Portable default for every other adapter. */
export const DEFAULT_TILE_VARIANT = 'tile:4x4:8x8';

export interface ExpertGemmParams {
  hidden: number;
  expertHidden: number;
  experts: number;
  format: WeightFormat;
  /**
   * 'naive', a tile variant ('sx4:8x4:2x2', 'sw4:4x4:2x2', 'tile:4x4:8x8', …) or its object.
   * Omitted or 'auto': the tuning cache's winner for this adapter and shape class
   * (`npm run lab -- expert-gemm --sweep`), else defaultVariant. 'default': defaultVariant.
   */
  variant?: string | GemmVariant;
  /**
   * Expected T·K/E: picks the tuning cache's entry (unknown: its largest rows bucket) and
   * folds the default variant's row groups into column groups while its tile is taller
   * than this (gemm-variant.ts fitRowsPerExpert). Given and tuned variants run as named.
   */
  rowsPerExpert?: number;
  /** fp8 scale block [rows, cols]; default 128×128 (DeepSeek's weight_block_size). */
  block?: readonly [number, number];
  /**
   * 'sgm' variants only: run the subgroup matrices emulated in plain WGSL (every invocation
   * holds whole matrices), which checks the generated staging, offsets and epilogue on
   * adapters without chromium-experimental-subgroup-matrix; f32 operands, an explicit M×N×K,
   * no speed meaning. Tests only.
   */
  emulateSubgroupMatrix?: boolean;
}

export interface GateUpBindings {
  /** x [T, H] f32. */
  x: GPUBuffer;
  /** [T·K] u32 sorted row → pair t·K + k; identity when omitted. */
  perm?: GPUBuffer;
  /** [E+1] u32 exclusive scan of rows per expert; one expert owning all rows when omitted. */
  offsets?: GPUBuffer;
  topK: number;
  tokens: number;
  /** The binding every expert block lives in. */
  weights: GPUBufferBinding;
  /** From createExpertTable: per expert, the word offset of its block within `weights`. */
  expertTable: GPUBuffer;
  /** h [T·K, F] f32, written. */
  h: GPUBuffer;
}

export interface DownBindings {
  /** h [T·K, F] f32 in sorted order. */
  h: GPUBuffer;
  offsets?: GPUBuffer;
  topK: number;
  tokens: number;
  weights: GPUBufferBinding;
  expertTable: GPUBuffer;
  /** y [T·K, H] f32, written (sorted order). */
  y: GPUBuffer;
}

/** gate/up then down over the same rows: gate/up's bindings and down's output. */
export interface MlpBindings extends GateUpBindings {
  /** y [T·K, H] f32, written (sorted order). */
  y: GPUBuffer;
}

/** What the subgroup variants read of an adapter: the subgroups feature and adapter.info's sizes. */
export interface SubgroupSizes {
  subgroups: boolean;
  minSize?: number;
  maxSize?: number;
}

export function subgroupSizes(gpu: Gpu): SubgroupSizes {
  const info = gpu.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return { subgroups: gpu.subgroups, minSize: info.subgroupMinSize, maxSize: info.subgroupMaxSize };
}

/** The subgroup-of-4 variants need SwiftShader-like subgroups: exactly 4 lanes, always. */
export function hasSubgroupsOf4(gpu: Gpu): boolean {
  const s = subgroupSizes(gpu);
  return s.subgroups && s.minSize === 4 && s.maxSize === 4;
}

/** The start of every quad refusal (the GPU bundle's run script reports those runs as skipped). */
export const QUAD_REFUSAL = 'runs on quads of subgroup lanes';

/**
 * Why sx4/sw4 ':quad' variants of `threads` invocations per workgroup cannot run on an
 * adapter with these subgroups, or undefined where they can. The generated code relies on
 * every subgroup being whole quads, all active at the kernel's start: the subgroup size is a
 * multiple of 4 (subgroupMinSize is; sizes are powers of two between subgroupMinSize and
 * subgroupMaxSize on Vulkan, D3D12 and Metal, so every size the adapter runs is), and no
 * subgroup is partial (the workgroup size is a multiple of subgroupMaxSize, hence of every
 * smaller power of two). Nothing is assumed about how invocations map to lanes.
 */
export function subgroupQuadProblem(s: SubgroupSizes, threads: number, name = 'a :quad variant'): string | undefined {
  const head = `${name} ${QUAD_REFUSAL}`;
  if (!s.subgroups) return `${head}: it needs the subgroups feature, which this adapter lacks (use a 'tile:…' variant)`;
  const { minSize: min, maxSize: max } = s;
  if (min === undefined || max === undefined)
    return `${head}: the adapter reports no subgroupMinSize/subgroupMaxSize, so whole quads cannot be checked (use a 'tile:…' variant)`;
  if (!(Number.isInteger(min) && min >= 4 && min % 4 === 0 && Number.isInteger(max) && max >= min && max % 4 === 0))
    return (
      `${head}: the adapter's subgroups are ${min} to ${max} lanes, and a subgroup whose size is not a multiple of 4 ` +
      "has a partial quad (subgroupMinSize must be a multiple of 4; use a 'tile:…' variant)"
    );
  if (threads % max !== 0) {
    const groups = max >= 16 ? `${max / 16}x4` : `1x${max / 4}`; // max / 4 quads per workgroup
    return (
      `${head}: its ${threads} invocations per workgroup are not a multiple of the adapter's subgroupMaxSize ${max}, ` +
      `so a subgroup could be partial (use groupRows × groupCols a multiple of ${max / 4}, e.g. sx4:8x4:${groups}:quad)`
    );
  }
  return undefined;
}

/** Whether some ':quad' variant runs here: subgroups of a multiple of 4 lanes (4 on SwiftShader, 32 on NVIDIA, 32 or 64 on AMD). */
export function hasSubgroupQuads(gpu: Gpu): boolean {
  const s = subgroupSizes(gpu);
  return subgroupQuadProblem(s, s.maxSize ?? 4) === undefined;
}

/** The per-format default for this adapter, its tile rows fitted to rowsPerExpert when known. */
export function defaultVariant(gpu: Gpu, format: WeightFormat, rowsPerExpert?: number): GemmVariant {
  const v = parseVariant(hasSubgroupsOf4(gpu) ? DEFAULT_SUBGROUP_VARIANTS[format] : DEFAULT_TILE_VARIANT);
  return fitRowsPerExpert(v, rowsPerExpert);
}

/** Why a GEMM runs the variant it runs. */
export type VariantSource = 'given' | 'tuned' | 'default';

/** Error message when `variant` cannot run on this adapter, else undefined. */
export function variantProblem(gpu: Gpu, variant: string | GemmVariant): string | undefined {
  try {
    const given = typeof variant === 'string' ? parseVariant(variant) : checkVariant(variant);
    const needs = variantNeeds(given);
    if (needs.subgroupsOf4 && !hasSubgroupsOf4(gpu))
      return (
        `${variantName(given)} needs subgroups of exactly 4 lanes; this adapter has none ` +
        `(${hasSubgroupQuads(gpu) ? `add ':quad' for quads inside its wider subgroups, or use` : 'use'} a 'tile:…' variant)`
      );
    if (needs.subgroupQuads) {
      const problem = subgroupQuadProblem(subgroupSizes(gpu), needs.subgroupQuads, variantName(given));
      if (problem !== undefined) return problem;
    }
    if (needs.subgroupMatrix && !gpu.subgroupMatrixConfigs.length)
      return (
        `${variantName(given)} needs the ${SUBGROUP_MATRIX_FEATURE} feature, which this adapter lacks ` +
        "(adapter.info.subgroupMatrixConfigs is empty; use a 'wg:…' variant)"
      );
    if (needs.shaderF16 && !gpu.f16)
      return `${variantName(given)} needs the shader-f16 feature, which this adapter lacks (drop ':f16' for f32 operands)`;
    const v = resolveOnAdapter(gpu, given);
    // The larger of gate_up's (2 matrices) and down's (1) staging.
    const bytes = workgroupBytes(v, 2);
    const limit = gpu.device.limits.maxComputeWorkgroupStorageSize;
    if (bytes > limit)
      return (
        `${variantName(v)} stages ${bytes} bytes of workgroup memory, maxComputeWorkgroupStorageSize is ${limit} ` +
        '(use fewer rows or columns per workgroup)'
      );
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * An 'sgm' variant completed for this adapter: its M×N×K checked against (or picked from)
 * the adapter's subgroupMatrixConfigs, its lanes the adapter's subgroupMaxSize (4 where unreported). Other
 * variants as they are. `emulated` skips the configs (the emulation takes any shape).
 */
function resolveOnAdapter(gpu: Gpu, v: GemmVariant, emulated = false): GemmVariant {
  if (v.kind !== 'sgm') return v;
  if (emulated && !v.matrix)
    throw new Error(`${variantName(v)}: an emulated sgm variant needs its M×N×K (e.g. sgm:2x2:8x8x8)`);
  const withShape = emulated ? v : pickMatrixConfig(v, gpu.subgroupMatrixConfigs);
  return checkVariant({ ...withShape, lanes: subgroupSizes(gpu).maxSize ?? 4 });
}

async function resolveVariant(gpu: Gpu, p: ExpertGemmParams): Promise<{ variant: GemmVariant; origin: VariantOrigin }> {
  const v = p.variant;
  if (v === 'default')
    return { variant: defaultVariant(gpu, p.format, p.rowsPerExpert), origin: { source: 'default' } };
  if (v === undefined || v === 'auto') {
    const cache = await defaultTuningCache();
    const base = gemmClassBase(p.format, p.hidden, p.expertHidden);
    const tuned = await cache?.lookup(
      adapterKey(gpu.info),
      { kernel: 'expert-gemm', base, rows: p.rowsPerExpert },
      (name) => variantProblem(gpu, name),
    );
    if (tuned) return { variant: parseVariant(tuned.variant), origin: tunedOrigin(tuned, cache!) };
    return { variant: defaultVariant(gpu, p.format, p.rowsPerExpert), origin: { source: 'default' } };
  }
  const given = typeof v === 'string' ? parseVariant(v) : checkVariant(v);
  if (p.emulateSubgroupMatrix) {
    if (given.kind !== 'sgm' || given.operands === 'f16')
      throw new Error(
        `GEMM variant: emulateSubgroupMatrix is for sgm variants with f32 operands, not ${variantName(given)}`,
      );
    return { variant: resolveOnAdapter(gpu, given, true), origin: { source: 'given' } };
  }
  const problem = variantProblem(gpu, given);
  if (problem !== undefined) throw new Error(`GEMM variant: ${problem}`);
  return { variant: resolveOnAdapter(gpu, given), origin: { source: 'given' } };
}

export class GroupedExpertGemm {
  /** Per-call params (rows, top-k, has perm, has offsets), one uniform per distinct value. */
  private readonly callParams: SizeUniforms;
  private readonly empty: GPUBuffer;

  private constructor(
    private readonly gpu: Gpu,
    readonly params: Readonly<ExpertGemmParams>,
    readonly layout: ExpertLayout,
    readonly variant: GemmVariant,
    /** Given (params.variant), tuned (the tuning cache: by which sweep) or the default (defaultVariant). */
    readonly origin: VariantOrigin,
    private readonly gateUp: ComputeProgram,
    private readonly down: ComputeProgram,
  ) {
    this.empty = createBuffer(gpu, 16, 'expert gemm: no perm/offsets');
    this.callParams = new SizeUniforms(gpu.device, 'expert gemm params');
  }

  /** 'given', 'tuned' or 'default' (origin.source). */
  get variantSource(): VariantSource {
    return this.origin.source;
  }

  static async create(gpu: Gpu, p: ExpertGemmParams): Promise<GroupedExpertGemm> {
    for (const k of ['hidden', 'expertHidden', 'experts'] as const) {
      if (!Number.isInteger(p[k]) || p[k] < 1)
        throw new Error(`GroupedExpertGemm: ${k} must be a positive integer, got ${p[k]}`);
    }
    if (p.rowsPerExpert !== undefined && !(Number.isFinite(p.rowsPerExpert) && p.rowsPerExpert >= 0))
      throw new Error(`GroupedExpertGemm: rowsPerExpert must be a finite number ≥ 0 (T·K/E), got ${p.rowsPerExpert}`);
    const layout = expertLayout(p.format, p.hidden, p.expertHidden, p.block ? { block: p.block } : {});
    const { variant, origin } = await resolveVariant(gpu, p);
    const emulated = !!p.emulateSubgroupMatrix;
    const problem = { layout, experts: p.experts, emulateSubgroupMatrix: emulated };
    const key = shaderKey(variant, { ...p, block: layout.block }) + (emulated ? ' emulated' : '');
    const build = (proj: Projection) =>
      ComputeProgram.create(
        gpu,
        `expert_gemm ${proj} ${key}`,
        async () =>
          variant.kind === 'naive'
            ? { program: await naiveProgram(problem, proj), entryPoint: proj }
            : {
                program: await wgslProgram(
                  tiledProgramPart(problem, variant, proj),
                  'weight_decode.wgsl',
                  'expert_gemm.wgsl',
                ),
              },
        { uses: PROJECTION_BINDINGS[proj], label: `expert gemm ${proj}` },
      );
    const [gateUp, down] = await Promise.all([build('gate_up'), build('down')]);
    return new GroupedExpertGemm(gpu, { ...p }, layout, variant, origin, gateUp, down);
  }

  /** gate/up with SwiGLU: h = silu(Wg·x) ⊙ (Wu·x) for every sorted row, one dispatch. */
  encodeGateUp(enc: GPUCommandEncoder, b: GateUpBindings, timer?: GpuTimer): void {
    const rows = this.rows('gate_up', b);
    this.encodePass(enc, 'gate_up', b, rows, this.grid('gate_up', rows), b.x, b.h, b.perm, timer);
  }

  /** down: y = Wd·h for every sorted row, one dispatch. */
  encodeDown(enc: GPUCommandEncoder, b: DownBindings, timer?: GpuTimer): void {
    const rows = this.rows('down', b);
    this.encodePass(enc, 'down', b, rows, this.grid('down', rows), b.h, b.y, undefined, timer);
  }

  /**
   * gate/up then down over the same rows (h written, then read): both grids are sized before
   * either pass is encoded, so a grid past the device's limit refuses the pair with nothing encoded.
   */
  encodeMlp(enc: GPUCommandEncoder, b: MlpBindings, timer?: GpuTimer): void {
    const rows = this.rows('gate_up', b);
    const gateUp = this.grid('gate_up', rows);
    const down = this.grid('down', rows);
    this.encodePass(enc, 'gate_up', b, rows, gateUp, b.x, b.h, b.perm, timer);
    this.encodePass(enc, 'down', b, rows, down, b.h, b.y, undefined, timer);
  }

  /** FLOPs of gate+up+down for `rows` = T·K sorted rows: 2·rows·3·H·F. */
  flops(rows: number): number {
    return 2 * rows * 3 * this.params.hidden * this.params.expertHidden;
  }

  /** T·K sorted rows, tokens and topK checked. */
  private rows(proj: Projection, b: { tokens: number; topK: number }): number {
    const { tokens, topK } = b;
    if (!Number.isInteger(tokens) || tokens < 0 || !Number.isInteger(topK) || topK < 1) {
      throw new Error(`GroupedExpertGemm.${proj}: bad tokens ${tokens} / topK ${topK}`);
    }
    return tokens * topK;
  }

  /** One projection's pass on its sized grid; `b` holds what both projections take (offsets, weights, table). */
  private encodePass(
    enc: GPUCommandEncoder,
    proj: Projection,
    b: DownBindings | GateUpBindings,
    rows: number,
    grid: readonly number[],
    input: GPUBuffer,
    output: GPUBuffer,
    perm: GPUBuffer | undefined,
    timer: GpuTimer | undefined,
  ): void {
    const { topK, offsets } = b;
    const program = proj === 'gate_up' ? this.gateUp : this.down;
    const shared = {
      params: this.callParams.get(rows, topK, +!!perm, +!!offsets),
      input,
      offsets: offsets ?? this.empty,
      table: b.expertTable,
      output,
      weights: b.weights,
    };
    const bindGroup = program.bindGroup(
      proj === 'gate_up' ? byBinding(proj, { ...shared, perm: perm ?? this.empty }) : byBinding(proj, shared),
    );
    const cp = enc.beginComputePass({ label: program.label, timestampWrites: timer?.writes(proj) });
    if (rows > 0) program.dispatch(cp, bindGroup, grid);
    cp.end();
  }

  /** Workgroups for `rows` sorted rows: an upper bound, no knowledge of the routing needed. */
  grid(proj: Projection, rows: number): [number, number, number] {
    const outputs = proj === 'gate_up' ? this.params.expertHidden : this.params.hidden;
    const limits = this.gpu.device.limits;
    if (this.variant.kind === 'naive') {
      const why = () => `expert gemm ${proj} of ${rows} rows`;
      return [...workgroupGrid(Math.ceil((rows * outputs) / 64), limits, why), 1];
    }
    return tiledGrid(this.variant, outputs, rows, this.params.experts, limits, `expert gemm ${proj}`);
  }

  destroy(): void {
    this.empty.destroy();
    this.callParams.destroy();
  }
}

/**
 * The tiled kernels' grid for `rows` sorted rows over `experts` experts: x the tiles of
 * `outputs` columns, (y, z) the row-tile slots (slot = wid.y + wid.z·nwg.y, folded by
 * workgroupGrid). ⌊rows / tileRows⌋ + experts slots bound what any routing needs (each
 * expert's last tile may be partial); the kernel skips the slots past the end. A refusal
 * names `what` (the kernel and pass).
 */
export function tiledGrid(
  variant: TileVariant,
  outputs: number,
  rows: number,
  experts: number,
  limits: GridLimits,
  what = 'the tiled GEMM',
): [number, number, number] {
  const { tileRows, tileCols } = tileShape(variant);
  const x = gridDimension(
    Math.ceil(outputs / tileCols),
    limits,
    () => `${what}: ${outputs} output columns in tiles of ${tileCols}`,
  );
  const slots = Math.floor(rows / tileRows) + experts;
  const why = () => `${what}: ${rows} rows in tiles of ${tileRows} over ${experts} experts`;
  return [x, ...workgroupGrid(slots, limits, why)];
}

/**
 * The expert table: per expert, the u32 word of the weight binding its block starts at.
 * Word offsets must be multiples of 4 (16-byte aligned blocks).
 */
export function createExpertTable(gpu: Gpu, atWords: readonly number[]): GPUBuffer {
  atWords.forEach((atWord, e) => {
    if (!Number.isInteger(atWord) || atWord < 0 || atWord % 4 !== 0 || atWord >= 2 ** 32)
      throw new Error(
        `expert table: expert ${e} block at word ${atWord} — must be a non-negative multiple of 4 (16-byte aligned) below 2^32`,
      );
  });
  return createBufferWith(gpu, Uint32Array.from(atWords), 'expert table');
}

// ---------------------------------------------------------------------------------------
// Float64 reference on decoded weights (formats.ts decodeExpert).

export interface DecodedExpert {
  /** [F, H] */
  gate: Float32Array;
  /** [F, H] */
  up: Float32Array;
  /** [H, F] */
  down: Float32Array;
}

export interface GemmReferenceInput {
  tokens: number;
  topK: number;
  hidden: number;
  expertHidden: number;
  /** Per expert, decoded weights. */
  experts: DecodedExpert[];
  /** Identity when omitted. */
  perm?: ArrayLike<number>;
  /** One expert (0) owning every row when omitted. */
  offsets?: ArrayLike<number>;
  /** x [T, H] (stages 'gate_up' and 'mlp'). */
  x?: ArrayLike<number>;
  /** h [T·K, F] (stage 'down'). */
  h?: ArrayLike<number>;
}

/**
 * stage 'gate_up': h [T·K, F] from x; 'down': y [T·K, H] from the given h;
 * 'mlp' (default): y from x through a float64 h. Rows in sorted order.
 */
export function expertGemmReference(p: GemmReferenceInput, stage: 'gate_up' | 'down' | 'mlp' = 'mlp'): Float64Array {
  const { tokens, topK, hidden: H, expertHidden: F } = p;
  const rows = tokens * topK;
  const E = p.experts.length;
  const begin = (e: number) => (p.offsets ? p.offsets[e] : e === 0 ? 0 : rows);
  let h: ArrayLike<number> | undefined = p.h;
  if (stage !== 'down') {
    if (!p.x) throw new Error('expertGemmReference: x is needed');
    const x = p.x;
    const out = new Float64Array(rows * F);
    for (let e = 0; e < E; e++) {
      const { gate, up } = p.experts[e];
      for (let i = begin(e); i < begin(e + 1); i++) {
        const t = Math.floor((p.perm ? p.perm[i] : i) / topK);
        for (let f = 0; f < F; f++) {
          let g = 0;
          let u = 0;
          for (let k = 0; k < H; k++) {
            g += gate[f * H + k] * x[t * H + k];
            u += up[f * H + k] * x[t * H + k];
          }
          out[i * F + f] = (g / (1 + Math.exp(-g))) * u;
        }
      }
    }
    if (stage === 'gate_up') return out;
    h = out;
  }
  if (!h) throw new Error('expertGemmReference: h is needed');
  const y = new Float64Array(rows * H);
  for (let e = 0; e < E; e++) {
    const { down } = p.experts[e];
    for (let i = begin(e); i < begin(e + 1); i++) {
      for (let n = 0; n < H; n++) {
        let s = 0;
        for (let f = 0; f < F; f++) s += down[n * F + f] * h[i * F + f];
        y[i * H + n] = s;
      }
    }
  }
  return y;
}
