// The grouped expert GEMM's tile variants: the grammar, parsed once at the edge (CLI flag,
// lab field, tuning cache entry) into a typed GemmVariant that the code generator and the
// host consume; nothing below the edge handles variant strings.
//
//   variant  = 'naive' | kind ':' rows 'x' cols ':' groupRows 'x' groupCols [':loop'] [':quad'] [':f16']
//            | 'sgm' ':' rows 'x' cols [':' M 'x' N 'x' K] [':f16']
//   kind     = 'tile' | 'sx4' | 'sw4' | 'wg'
//
// `rows × cols` is ONE invocation's register tile (rows of one expert × output columns per
// matrix); a workgroup is groupRows × groupCols subgroups of 4 lanes (sx4, sw4) or
// invocations (tile):
// - 'sx4' (inputs shared in subgroups of 4): the 4 lanes work on the same `rows` rows and own
//   `cols` columns each; each lane loads a quarter of the rows' inputs and subgroupBroadcast
//   hands them to the others. tileRows = groupRows·rows, tileCols = groupCols·4·cols.
// - 'sw4' (weights shared in subgroups of 4): the 4 lanes own `rows` rows each and share
//   `cols` columns; each lane loads and decodes a quarter of the weights and subgroupBroadcast
//   hands the decoded values to the others, so a decoded weight serves 4·rows rows.
//   tileRows = groupRows·4·rows, tileCols = groupCols·cols.
// - 'tile': portable register tile, no subgroup operations. tileRows = groupRows·rows,
//   tileCols = groupCols·cols.
// - 'wg' (workgroup-memory tile): the same register tiles as 'tile', but per chunk of
//   WG_CHUNK reduction values the workgroup first stages its tile's inputs and its decoded
//   weights (scales applied once per code word) in workgroup memory, then every invocation
//   multiplies from there: each compressed weight is decoded exactly once per workgroup tile
//   and serves all tileRows rows. tileRows = groupRows·rows, tileCols = groupCols·cols.
// - ':loop' (compressed formats only): the 4 code words of a 16/32-value step are walked by a
//   run-time loop instead of unrolled (a quarter of the code; the f32 kernel has no such step
//   and ignores it, and so does 'wg', which decodes whole words into workgroup memory).
// - ':quad' (sx4 and sw4): the same tiles on quads, groups of 4 lanes inside a subgroup of
//   any size that is a multiple of 4 (NVIDIA's 32, AMD's 32 or 64, SwiftShader's 4): lane l
//   exchanges values with subgroupShuffle(x, (l & ~3) | j) instead of subgroupBroadcast(x, j),
//   and each quad's role (its rows and columns) is taken from a workgroup counter by the
//   quad's first lane and shuffled to the other three, so every role is taken by exactly one
//   quad whatever the mapping of invocations to subgroup lanes (the host's conditions:
//   subgroupQuadProblem in expert-gemm.ts). Without ':quad', sx4/sw4 need subgroups of
//   exactly 4 lanes and keep subgroupBroadcast (the code measured on SwiftShader); on such an
//   adapter a quad is the whole subgroup, so ':quad' runs the shuffle code on the same lanes.
// - ':f16' ('wg' and 'sgm', adapters with shader-f16): the staged operands are f16 (half the
//   workgroup memory and its traffic), products and sums stay f32.
// - 'sgm' (subgroup-matrix tile, Dawn's chromium-experimental-subgroup-matrix): staged like
//   'wg' (decoded weights and inputs in workgroup memory, WG_CHUNK or K values per chunk),
//   multiplied by the hardware's subgroup matrices: subgroup_matrix_left (M×K inputs),
//   subgroup_matrix_right (K×N weights), subgroupMatrixMultiplyAccumulate into f32
//   subgroup_matrix_result (M×N). `rows × cols` counts result matrices per matrix (gate, up,
//   down), so tileRows = rows·M, tileCols = cols·N; M×N×K is one of the adapter's
//   subgroupMatrixConfigs (f32 or f16 operands, f32 results), given or picked by
//   pickMatrixConfig; the workgroup is one subgroup of the adapter's subgroupMaxSize lanes
//   (`lanes`, filled in from the adapter), as the feature requires.
//
// The shader key (`shaderKey`) names exactly what changes the generated code: the variant's
// fields that matter for the format, the weight format, H, F, E and, for fp8
// only, the scale block. Two variants with one key compile to one pipeline.
//
// Tile rows follow rows per expert (`fitRowsPerExpert`): a tile of 16 rows on an expert with
// 4 rows computes 12 rows of padding, so the default's row groups are folded into column
// groups (same invocations per workgroup) until the tile is no taller than needed.
//
// Pure module (Node and browser): no GPU.
import type { SubgroupMatrixConfig } from '../gpu/device.ts';
import type { WeightFormat } from '../model/formats.ts';

export type TileKind = 'tile' | 'sx4' | 'sw4' | 'wg' | 'sgm';
export const TILE_KINDS: readonly TileKind[] = ['tile', 'sx4', 'sw4', 'wg', 'sgm'];

/** Precision of the operands a 'wg' or 'sgm' tile stages in workgroup memory; accumulation is always f32. */
export type OperandType = 'f32' | 'f16';

/** Reduction values a 'wg' tile stages per chunk (a multiple of 8: one nvfp4 code word holds 8). */
export const WG_CHUNK = 16;

/** A register-tiled variant; see the header for what each field means. */
export interface TileVariant {
  kind: TileKind;
  rows: number;
  cols: number;
  groupRows: number;
  groupCols: number;
  /** Compressed formats: walk the 4 code words of a step in a run-time loop. */
  loopWords?: boolean;
  /** sx4/sw4: quads inside subgroups of any multiple of 4 lanes, values exchanged by subgroupShuffle. */
  quad?: boolean;
  /** 'wg' and 'sgm': operands staged as f16 (needs the shader-f16 feature). Omitted: f32. */
  operands?: OperandType;
  /** 'sgm' only: the subgroup-matrix shape (left M×K, right K×N, result M×N); omitted: picked from the adapter. */
  matrix?: MatrixShape;
  /** 'sgm' only: lanes per workgroup, the adapter's subgroupMaxSize (filled in by the host). */
  lanes?: number;
}

/** One subgroup-matrix multiply: left M×K, right K×N, result M×N. */
export interface MatrixShape {
  m: number;
  n: number;
  k: number;
}

/** Largest subgroup-matrix side accepted, and result matrices per side of an 'sgm' tile. */
export const MAX_MATRIX_SIDE = 64;
export const MAX_SGM_FRAGMENTS = 4;

export type GemmVariant = { kind: 'naive' } | TileVariant;

/** Largest register-tile side and workgroup size a variant may ask for. */
export const MAX_TILE_SIDE = 64;
export const MAX_INVOCATIONS = 256;

/** Rows of one expert a workgroup covers (TILE_ROWS), its output columns and invocations. */
export function tileShape(v: TileVariant): { tileRows: number; tileCols: number; threads: number } {
  switch (v.kind) {
    case 'sx4':
      return {
        tileRows: v.groupRows * v.rows,
        tileCols: v.groupCols * 4 * v.cols,
        threads: 4 * v.groupRows * v.groupCols,
      };
    case 'sw4':
      return {
        tileRows: v.groupRows * 4 * v.rows,
        tileCols: v.groupCols * v.cols,
        threads: 4 * v.groupRows * v.groupCols,
      };
    case 'tile':
    case 'wg':
      return { tileRows: v.groupRows * v.rows, tileCols: v.groupCols * v.cols, threads: v.groupRows * v.groupCols };
    case 'sgm': {
      if (!v.matrix)
        throw new Error(`sgm variant ${variantName(v)} has no subgroup-matrix shape yet (pickMatrixConfig)`);
      return { tileRows: v.rows * v.matrix.m, tileCols: v.cols * v.matrix.n, threads: v.lanes ?? 0 };
    }
  }
}

/** Reduction values an 'sgm' tile stages per chunk: a multiple of WG_CHUNK and of K. */
export function sgmChunk(m: MatrixShape): number {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  return (WG_CHUNK * m.k) / gcd(WG_CHUNK, m.k);
}

export function usesSubgroups(v: GemmVariant): boolean {
  return v.kind === 'sx4' || v.kind === 'sw4';
}

/** What the adapter must offer for a variant to run (the host turns each into a check and a reason). */
export interface VariantNeeds {
  /** sx4/sw4: subgroups of exactly 4 lanes. */
  subgroupsOf4: boolean;
  /** sx4/sw4 ':quad': subgroups of a multiple of 4 lanes, this many invocations per workgroup (0: none needed). */
  subgroupQuads: number;
  /** ':f16': the shader-f16 feature. */
  shaderF16: boolean;
  /** 'sgm': the chromium-experimental-subgroup-matrix feature, and a config of the variant's operand type. */
  subgroupMatrix: boolean;
}

export function variantNeeds(v: GemmVariant): VariantNeeds {
  return {
    subgroupsOf4: usesSubgroups(v) && !(v as TileVariant).quad,
    subgroupQuads: usesSubgroups(v) && (v as TileVariant).quad ? tileShape(v as TileVariant).threads : 0,
    shaderF16: (v.kind === 'wg' || v.kind === 'sgm') && v.operands === 'f16',
    subgroupMatrix: v.kind === 'sgm',
  };
}

const showConfig = (c: SubgroupMatrixConfig) => `${c.m}x${c.n}x${c.k} ${c.componentType}→${c.resultComponentType}`;

/**
 * The 'sgm' variant with its subgroup-matrix shape checked against (or, when omitted, picked
 * from) the adapter's configs: operands of the variant's type (f32, or f16 with ':f16'),
 * f32 results; among several, the largest M·N·K. Throws naming the configs there are.
 */
export function pickMatrixConfig(v: TileVariant, configs: readonly SubgroupMatrixConfig[]): TileVariant {
  if (v.kind !== 'sgm') return v;
  const want = v.operands ?? 'f32';
  const usable = configs.filter((c) => c.componentType === want && c.resultComponentType === 'f32');
  const have = configs.length ? configs.map(showConfig).join(', ') : 'none';
  if (v.matrix) {
    const { m, n, k } = v.matrix;
    if (!usable.some((c) => c.m === m && c.n === n && c.k === k))
      throw new Error(
        `${variantName(v)}: the adapter has no ${m}x${n}x${k} ${want}→f32 subgroup-matrix config (it has: ${have})`,
      );
    return v;
  }
  if (!usable.length)
    throw new Error(`${variantName(v)}: the adapter has no ${want}→f32 subgroup-matrix config (it has: ${have})`);
  const best = usable.reduce((a, c) => (c.m * c.n * c.k > a.m * a.n * a.k ? c : a));
  return { ...v, matrix: { m: best.m, n: best.n, k: best.k } };
}

/**
 * Workgroup memory a variant declares, in bytes: 'wg' stages WG_CHUNK values of tileRows
 * inputs and of tileCols × matrices weight rows, plus one input offset per tile row.
 */
export function workgroupBytes(v: GemmVariant, matrices: number): number {
  if (v.kind !== 'wg' && v.kind !== 'sgm') return 0;
  const { tileRows, tileCols } = tileShape(v);
  const value = v.operands === 'f16' ? 2 : 4;
  // 'sgm' also holds the f32 results (tileRows × tileCols × matrices) for the epilogue.
  const chunk = v.kind === 'sgm' ? sgmChunk(v.matrix!) : WG_CHUNK;
  const results = v.kind === 'sgm' ? 4 * tileRows * tileCols * matrices : 0;
  return (tileRows + tileCols * matrices) * chunk * value + 4 * tileRows + results;
}

export function variantName(v: GemmVariant): string {
  if (v.kind === 'naive') return 'naive';
  const f16 = v.operands === 'f16' ? ':f16' : '';
  if (v.kind === 'sgm') {
    const mm = v.matrix ? `:${v.matrix.m}x${v.matrix.n}x${v.matrix.k}` : '';
    return `sgm:${v.rows}x${v.cols}${mm}${f16}`;
  }
  return `${v.kind}:${v.rows}x${v.cols}:${v.groupRows}x${v.groupCols}${v.loopWords ? ':loop' : ''}${v.quad ? ':quad' : ''}${f16}`;
}

const GRAMMAR =
  "'naive', kind:rows×cols:groupRows×groupCols[:loop][:quad][:f16] with kind tile, sx4, sw4 or wg, " +
  "or sgm:rows×cols[:M×N×K][:f16], e.g. 'sx4:8x4:2x2', 'sx4:8x4:4x4:quad', 'wg:4x4:8x8:f16' or 'sgm:2x2:16x16x16:f16'";

/**
 * 'naive', '<tile|sx4|sw4|wg>:<rows>x<cols>:<groupRows>x<groupCols>[:loop][:quad][:f16]' (e.g.
 * 'sx4:8x4:2x2', 'sw4:4x8:4x4:quad') or 'sgm:<rows>x<cols>[:<M>x<N>x<K>][:f16]' (e.g. 'sgm:2x2:f16').
 */
export function parseVariant(s: string): GemmVariant {
  if (s.trim() === 'naive') return { kind: 'naive' };
  const g = /^sgm:(\d+)x(\d+)(?::(\d+)x(\d+)x(\d+))?(:f16)?$/.exec(s.trim());
  if (g)
    return checkVariant({
      kind: 'sgm',
      rows: +g[1],
      cols: +g[2],
      groupRows: 1,
      groupCols: 1,
      ...(g[3] ? { matrix: { m: +g[3], n: +g[4], k: +g[5] } } : {}),
      ...(g[6] ? { operands: 'f16' as const } : {}),
    });
  const m = /^(tile|sx4|sw4|wg):(\d+)x(\d+):(\d+)x(\d+)(:loop)?(:quad)?(:f16)?$/.exec(s.trim());
  if (!m) throw new Error(`bad GEMM variant '${s}' (expected ${GRAMMAR})`);
  return checkVariant({
    kind: m[1] as TileKind,
    rows: +m[2],
    cols: +m[3],
    groupRows: +m[4],
    groupCols: +m[5],
    ...(m[6] ? { loopWords: true } : {}),
    ...(m[7] ? { quad: true } : {}),
    ...(m[8] ? { operands: 'f16' as const } : {}),
  });
}

/** Why `s` is not a variant parseVariant accepts (its message), or undefined when it is: for checks that name their own flag or field. */
export function variantTextProblem(s: string): string | undefined {
  try {
    parseVariant(s);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The variant itself when it is well formed, else an error naming the field and its limit. */
export function checkVariant(v: GemmVariant): GemmVariant {
  if (v.kind === 'naive') return v;
  if (!TILE_KINDS.includes(v.kind))
    throw new Error(`bad GEMM variant kind '${(v as TileVariant).kind}' (expected ${GRAMMAR})`);
  for (const k of ['rows', 'cols', 'groupRows', 'groupCols'] as const) {
    const n = v[k];
    if (!Number.isInteger(n) || n < 1 || n > MAX_TILE_SIDE)
      throw new Error(`bad GEMM variant ${JSON.stringify(v)}: ${k} = ${n} must be an integer in 1..${MAX_TILE_SIDE}`);
  }
  if (v.kind === 'sx4' && v.rows % 4 !== 0)
    throw new Error(
      `bad GEMM variant ${variantName(v)}: sx4 rows must be a multiple of 4 (e.g. ${v.rows + 4 - (v.rows % 4)})`,
    );
  if (v.operands !== undefined && v.operands !== 'f32' && v.operands !== 'f16')
    throw new Error(`bad GEMM variant ${JSON.stringify(v)}: operands must be 'f32' or 'f16'`);
  if (v.operands === 'f16' && v.kind !== 'wg' && v.kind !== 'sgm')
    throw new Error(
      `bad GEMM variant ${variantName(v)}: f16 operands are staged in workgroup memory, so only the wg and sgm kinds take ':f16' ` +
        `(e.g. wg:${v.rows}x${v.cols}:${v.groupRows}x${v.groupCols}:f16)`,
    );
  if (v.quad !== undefined && v.quad !== true)
    throw new Error(`bad GEMM variant ${JSON.stringify(v)}: quad must be true or omitted`);
  if (v.quad && !usesSubgroups(v))
    throw new Error(
      `bad GEMM variant ${variantName(v)}: only the subgroup kinds sx4 and sw4 take ':quad' ` +
        `(e.g. sx4:${4 * Math.ceil(v.rows / 4)}x${v.cols}:${v.groupRows}x${v.groupCols}:quad)`,
    );
  if (v.kind === 'sgm') return checkSubgroupMatrixVariant(v);
  if (v.matrix !== undefined || v.lanes !== undefined)
    throw new Error(`bad GEMM variant ${variantName(v)}: only sgm variants have a subgroup-matrix shape or lanes`);
  const { threads } = tileShape(v);
  if (threads > MAX_INVOCATIONS)
    throw new Error(
      `bad GEMM variant ${variantName(v)}: ${threads} invocations per workgroup, at most ${MAX_INVOCATIONS}`,
    );
  return v;
}

function checkSubgroupMatrixVariant(v: TileVariant): TileVariant {
  const name = variantName(v);
  for (const k of ['rows', 'cols'] as const)
    if (v[k] > MAX_SGM_FRAGMENTS)
      throw new Error(
        `bad GEMM variant ${name}: ${k} = ${v[k]} result matrices, at most ${MAX_SGM_FRAGMENTS} (e.g. sgm:2x2)`,
      );
  if (v.groupRows !== 1 || v.groupCols !== 1 || v.loopWords)
    throw new Error(
      `bad GEMM variant ${name}: sgm tiles are one subgroup (groupRows = groupCols = 1) and take no ':loop'`,
    );
  if (v.matrix)
    for (const k of ['m', 'n', 'k'] as const) {
      const x = v.matrix[k];
      if (!Number.isInteger(x) || x < 1 || x > MAX_MATRIX_SIDE || x % 4 !== 0)
        throw new Error(
          `bad GEMM variant ${name}: subgroup-matrix ${k.toUpperCase()} = ${x} must be a multiple of 4 in 4..${MAX_MATRIX_SIDE}`,
        );
    }
  if (v.lanes !== undefined && !(Number.isInteger(v.lanes) && v.lanes >= 1 && v.lanes <= MAX_INVOCATIONS))
    throw new Error(`bad GEMM variant ${name}: lanes = ${v.lanes} must be an integer in 1..${MAX_INVOCATIONS}`);
  return v;
}

/**
 * The variant with its row groups folded into column groups (same invocations per
 * workgroup) while the tile is taller than `rowsPerExpert` needs: the smallest power-of-two
 * fold whose tile still covers rowsPerExpert rows, or groupRows = 1. Unknown or
 * non-positive rowsPerExpert, and 'naive', leave it as it is.
 */
export function fitRowsPerExpert<V extends GemmVariant>(v: V, rowsPerExpert: number | undefined): V {
  if (v.kind === 'naive' || rowsPerExpert === undefined || !(rowsPerExpert > 0)) return v;
  let t: TileVariant = v;
  while (t.groupRows % 2 === 0 && tileShape(t).tileRows / 2 >= rowsPerExpert)
    t = { ...t, groupRows: t.groupRows / 2, groupCols: t.groupCols * 2 };
  return t as V;
}

/** Everything the generated WGSL depends on besides the projection. */
export interface ShaderKeyInput {
  format: WeightFormat;
  hidden: number;
  expertHidden: number;
  experts: number;
  block: readonly [number, number];
}

/**
 * The pipeline cache key of a variant on a problem: exactly the fields that change the
 * generated code (':loop' only for compressed formats outside 'wg', ':quad', ':f16' only on 'wg' and 'sgm',
 * the scale block only for fp8).
 */
export function shaderKey(v: GemmVariant, p: ShaderKeyInput): string {
  const parts =
    v.kind === 'naive'
      ? ['naive']
      : [
          v.kind,
          `${v.rows}x${v.cols}`,
          `${v.groupRows}x${v.groupCols}`,
          v.loopWords && p.format !== 'f32' && v.kind !== 'wg' ? 'loop' : '',
          v.quad ? 'quad' : '',
          (v.kind === 'wg' || v.kind === 'sgm') && v.operands === 'f16' ? 'f16' : '',
          v.kind === 'sgm' && v.matrix ? `M${v.matrix.m}x${v.matrix.n}x${v.matrix.k}` : '',
          v.kind === 'sgm' ? `L${v.lanes ?? 0}` : '',
        ];
  return [
    ...parts.filter(Boolean),
    p.format,
    `H${p.hidden}`,
    `F${p.expertHidden}`,
    `E${p.experts}`,
    ...(p.format === 'fp8' ? [`B${p.block.join('x')}`] : []),
  ].join(' ');
}
