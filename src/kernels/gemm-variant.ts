// The grouped expert GEMM's tile variants: the grammar, parsed once at the edge (CLI flag,
// lab field, tuning cache entry) into a typed GemmVariant that the code generator and the
// host consume; nothing below the edge handles variant strings.
//
//   variant  = 'naive' | kind ':' rows 'x' cols ':' groupRows 'x' groupCols [':loop'] [':f16']
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
// - ':f16' ('wg' only, adapters with shader-f16): the staged operands are f16 (half the
//   workgroup memory and its traffic), products and sums stay f32.
//
// The shader key (`shaderKey`) names exactly what changes the generated code: the variant's
// fields that matter for the format, the weight format, H, F, E, the number of weight sources
// and, for fp8 only, the scale block. Two variants with one key compile to one pipeline.
//
// Tile rows follow rows per expert (`fitRowsPerExpert`): a tile of 16 rows on an expert with
// 4 rows computes 12 rows of padding, so the default's row groups are folded into column
// groups (same invocations per workgroup) until the tile is no taller than needed.
//
// Pure module (Node and browser): no GPU.
import type { WeightFormat } from '../model/formats.ts';

export type TileKind = 'tile' | 'sx4' | 'sw4' | 'wg';
export const TILE_KINDS: readonly TileKind[] = ['tile', 'sx4', 'sw4', 'wg'];

/** Precision of the operands a 'wg' tile stages in workgroup memory; accumulation is always f32. */
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
  /** 'wg' only: operands staged as f16 (needs the shader-f16 feature). Omitted: f32. */
  operands?: OperandType;
}

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
  }
}

export function usesSubgroups(v: GemmVariant): boolean {
  return v.kind === 'sx4' || v.kind === 'sw4';
}

/** What the adapter must offer for a variant to run (the host turns each into a check and a reason). */
export interface VariantNeeds {
  /** sx4/sw4: subgroups of exactly 4 lanes. */
  subgroupsOf4: boolean;
  /** ':f16': the shader-f16 feature. */
  shaderF16: boolean;
}

export function variantNeeds(v: GemmVariant): VariantNeeds {
  return { subgroupsOf4: usesSubgroups(v), shaderF16: v.kind === 'wg' && v.operands === 'f16' };
}

/**
 * Workgroup memory a variant declares, in bytes: 'wg' stages WG_CHUNK values of tileRows
 * inputs and of tileCols × matrices weight rows, plus one input offset per tile row.
 */
export function workgroupBytes(v: GemmVariant, matrices: number): number {
  if (v.kind !== 'wg') return 0;
  const { tileRows, tileCols } = tileShape(v);
  const vec4 = v.operands === 'f16' ? 8 : 16;
  return (tileRows + tileCols * matrices) * (WG_CHUNK / 4) * vec4 + 4 * tileRows;
}

export function variantName(v: GemmVariant): string {
  return v.kind === 'naive'
    ? 'naive'
    : `${v.kind}:${v.rows}x${v.cols}:${v.groupRows}x${v.groupCols}${v.loopWords ? ':loop' : ''}${v.operands === 'f16' ? ':f16' : ''}`;
}

const GRAMMAR =
  "'naive' or kind:rows×cols:groupRows×groupCols[:loop][:f16] with kind tile, sx4, sw4 or wg, e.g. 'sx4:8x4:2x2' or 'wg:4x4:8x8:f16'";

/** 'naive', or '<tile|sx4|sw4|wg>:<rows>x<cols>:<groupRows>x<groupCols>[:loop][:f16]' (e.g. 'sx4:8x4:2x2'). */
export function parseVariant(s: string): GemmVariant {
  if (s.trim() === 'naive') return { kind: 'naive' };
  const m = /^(tile|sx4|sw4|wg):(\d+)x(\d+):(\d+)x(\d+)(:loop)?(:f16)?$/.exec(s.trim());
  if (!m) throw new Error(`bad GEMM variant '${s}' (expected ${GRAMMAR})`);
  return checkVariant({
    kind: m[1] as TileKind,
    rows: +m[2],
    cols: +m[3],
    groupRows: +m[4],
    groupCols: +m[5],
    ...(m[6] ? { loopWords: true } : {}),
    ...(m[7] ? { operands: 'f16' as const } : {}),
  });
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
  if (v.operands === 'f16' && v.kind !== 'wg')
    throw new Error(
      `bad GEMM variant ${variantName(v)}: f16 operands are staged in workgroup memory, so only the wg kind takes ':f16' ` +
        `(e.g. wg:${v.rows}x${v.cols}:${v.groupRows}x${v.groupCols}:f16)`,
    );
  const { threads } = tileShape(v);
  if (threads > MAX_INVOCATIONS)
    throw new Error(
      `bad GEMM variant ${variantName(v)}: ${threads} invocations per workgroup, at most ${MAX_INVOCATIONS}`,
    );
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
  sources: number;
  block: readonly [number, number];
}

/**
 * The pipeline cache key of a variant on a problem: exactly the fields that change the
 * generated code (':loop' only for compressed formats outside 'wg', ':f16' only on 'wg',
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
          v.kind === 'wg' && v.operands === 'f16' ? 'f16' : '',
        ];
  return [
    ...parts.filter(Boolean),
    p.format,
    `H${p.hidden}`,
    `F${p.expertHidden}`,
    `E${p.experts}`,
    `S${p.sources}`,
    ...(p.format === 'fp8' ? [`B${p.block.join('x')}`] : []),
  ].join(' ');
}
