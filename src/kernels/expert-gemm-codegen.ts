// WGSL generation for the grouped expert GEMM: constants, bindings and the register-tiled
// inner kernels, specialised per shape, weight format, tile variant and source count.
// The hand-written parts live in shaders/expert_gemm.wgsl (tile → expert mapping),
// shaders/weight_decode.wgsl (decoders) and shaders/naive_gemm.wgsl.
//
// Why generated: on the CPU-emulated adapter (SwiftShader) every load with a run-time
// index is a gather with a branch per lane, while arithmetic is cheap SIMD; the lever is
// values reused from registers, and only fully unrolled register tiles with constant
// names stay in registers. Shapes are fixed per GroupedExpertGemm, so every loop bound,
// stride and section offset is a constant here.
import type { WgslPart } from '../gpu/index.ts';
import type { ExpertLayout, MatrixLayout, WeightFormat } from '../model/formats.ts';

/**
 * How the output is tiled.
 * - 'sg4': subgroups of 4 lanes share `rows` rows: each lane loads a quarter of the rows'
 *   inputs and subgroupBroadcast hands them to the others (a register shuffle instead of
 *   a gather); each lane owns `cols` columns. Needs subgroups of exactly 4 (SwiftShader).
 * - 'tile': portable register tile, each invocation loads its own `rows` rows and owns
 *   `cols` columns.
 * A workgroup is groupRows × groupCols such subgroups ('sg4') or invocations ('tile').
 */
export interface TileVariant {
  kind: 'tile' | 'sg4';
  rows: number;
  cols: number;
  groupRows: number;
  groupCols: number;
}

export type GemmVariant = { kind: 'naive' } | TileVariant;

export type Projection = 'gate_up' | 'down';

export interface CodegenProblem {
  layout: ExpertLayout;
  experts: number;
  sources: number;
}

/** Rows of one expert a workgroup covers (TILE_ROWS) and its output columns. */
export function tileShape(v: TileVariant): { tileRows: number; tileCols: number; threads: number } {
  const lanes = v.kind === 'sg4' ? 4 : 1;
  return { tileRows: v.groupRows * v.rows, tileCols: v.groupCols * lanes * v.cols, threads: v.groupRows * v.groupCols * lanes };
}

export function variantName(v: GemmVariant): string {
  return v.kind === 'naive' ? 'naive' : `${v.kind}:${v.rows}x${v.cols}:${v.groupRows}x${v.groupCols}`;
}

/** 'naive', or '<tile|sg4>:<rows>x<cols>:<groupRows>x<groupCols>' (e.g. 'sg4:8x4:2x2'). */
export function parseVariant(s: string): GemmVariant {
  if (s === 'naive') return { kind: 'naive' };
  const m = /^(tile|sg4):(\d+)x(\d+):(\d+)x(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`bad GEMM variant '${s}' (expected 'naive' or e.g. 'sg4:8x4:2x2' / 'tile:4x4:8x8' = kind:rows×cols:groupRows×groupCols)`);
  return checkVariant({ kind: m[1] as 'tile' | 'sg4', rows: +m[2], cols: +m[3], groupRows: +m[4], groupCols: +m[5] });
}

export function checkVariant(v: GemmVariant): GemmVariant {
  if (v.kind === 'naive') return v;
  const ok = [v.rows, v.cols, v.groupRows, v.groupCols].every((n) => Number.isInteger(n) && n >= 1 && n <= 64);
  if (!ok) throw new Error(`bad GEMM variant ${JSON.stringify(v)}: sizes must be integers in 1..64`);
  if (v.kind === 'sg4' && v.rows % 4 !== 0) throw new Error(`bad GEMM variant ${variantName(v)}: sg4 rows must be a multiple of 4`);
  if (tileShape(v).threads > 256) throw new Error(`bad GEMM variant ${variantName(v)}: more than 256 invocations per workgroup`);
  return v;
}

export const FORMAT_ID: Record<WeightFormat, number> = { f32: 0, int8: 1, fp8: 2, nvfp4: 3 };

/** Binding numbers shared by every variant (see shaders/expert_gemm.wgsl). */
export const BINDING = { params: 0, input: 1, perm: 2, offsets: 3, table: 4, output: 5, firstWeight: 6 } as const;

export function u(n: number): string {
  return `${n}u`;
}

// ---------------------------------------------------------------------------------------
// Tiled kernels.

interface Ctx {
  v: TileVariant;
  proj: Projection;
  format: WeightFormat;
  /** Reduction length (H for gate_up, F for down) and output columns. */
  kd: number;
  n: number;
  mats: { name: string; m: MatrixLayout }[];
  /** Inputs are read as vec4 (reduction length a multiple of 4). */
  vecInput: boolean;
}

/** Values per step of the k loop: one vec4 of f32 weights, or one u32 code word. */
function stepValues(format: WeightFormat): number {
  return format === 'nvfp4' ? 8 : 4;
}

function ctxFor(p: CodegenProblem, v: TileVariant, proj: Projection): Ctx {
  const l = p.layout;
  const gateUp = proj === 'gate_up';
  return {
    v,
    proj,
    format: l.format,
    kd: gateUp ? l.hidden : l.expertHidden,
    n: gateUp ? l.expertHidden : l.hidden,
    mats: gateUp
      ? [
          { name: 'g', m: l.gate },
          { name: 'u', m: l.up },
        ]
      : [{ name: 'd', m: l.down }],
    vecInput: (gateUp ? l.hidden : l.expertHidden) % 4 === 0,
  };
}

class Lines {
  readonly out: string[] = [];
  private depth = 0;
  add(...ls: string[]): this {
    for (const l of ls) this.out.push('  '.repeat(this.depth) + l);
    return this;
  }
  open(l: string): this {
    this.add(l);
    this.depth++;
    return this;
  }
  close(l = '}'): this {
    this.depth--;
    return this.add(l);
  }
}

/** Input vector names for tile row i at sub-step h (nvfp4 has two vec4 per step). */
const xName = (i: number, h: number) => `x${i}_${h}`;
const accName = (m: string, i: number, j: number) => `acc_${m}${i}_${j}`;
const wName = (m: string, j: number, h: number) => `w${m}${j}_${h}`;

/**
 * One step of the k loop at step index expression `k` (in steps): load inputs and weight
 * words, decode, and multiply-accumulate the whole register tile. `scale(m, j)` names the
 * scale variable to apply (undefined: none). `tailValid` < step values marks the masked tail.
 */
function emitStep(c: Ctx, L: Lines, src: string, k: string, scale: (m: string, j: number) => string | undefined, tailValid?: number): void {
  const { v } = c;
  const sv = stepValues(c.format);
  const halves = sv / 4;
  const sg = v.kind === 'sg4';
  // Inputs: sg4 lanes each load row group q's row (4q + lane); tile invocations load their rows.
  const loaders = sg ? v.rows / 4 : v.rows;
  for (let q = 0; q < loaders; q++) {
    for (let h = 0; h < halves; h++) {
      const name = sg ? `xl${q}_${h}` : xName(q, h);
      if (c.vecInput && tailValid === undefined) {
        L.add(`let ${name} = input_rows[xr${q} + ${halves === 1 ? k : `2u * ${k} + ${u(h)}`}];`);
      } else {
        // Scalar inputs (reduction length not a multiple of 4): components past the end are 0.
        const base = `xr${q} + ${sv}u * ${k} + ${u(4 * h)}`;
        const comps = [0, 1, 2, 3].map((j) => (tailValid === undefined || 4 * h + j < tailValid ? `input_rows[${base} + ${u(j)}]` : '0.0'));
        L.add(`let ${name} = vec4f(${comps.join(', ')});`);
      }
    }
  }
  // Weights: one vec4 (f32) or one code word per (matrix, column), decoded once per step.
  for (const { name: m } of c.mats) {
    for (let j = 0; j < v.cols; j++) {
      const idx = `wb${m}${j} + ${k}`;
      const s = scale(m, j);
      switch (c.format) {
        case 'f32':
          L.add(`let ${wName(m, j, 0)} = ${src}[${idx}];`);
          break;
        case 'int8':
          L.add(`let ${wName(m, j, 0)} = dec_i8x4(${src}[${idx}]) * ${s};`);
          break;
        case 'fp8':
          L.add(`let ${wName(m, j, 0)} = dec_e4m3x4(${src}[${idx}]) * ${s};`);
          break;
        case 'nvfp4':
          L.add(`let q${m}${j} = dec_e2m1x8(${src}[${idx}], ${s});`, `let ${wName(m, j, 0)} = q${m}${j}.lo;`, `let ${wName(m, j, 1)} = q${m}${j}.hi;`);
          break;
      }
    }
  }
  for (let i = 0; i < v.rows; i++) {
    for (let h = 0; h < halves; h++) {
      if (sg) L.add(`let ${xName(i, h)} = subgroupBroadcast(xl${i >> 2}_${h}, ${u(i & 3)});`);
    }
    for (const { name: m } of c.mats) {
      for (let j = 0; j < v.cols; j++) {
        const terms = [...Array(halves).keys()].map((h) => `dot(${xName(i, h)}, ${wName(m, j, h)})`);
        L.add(`${accName(m, i, j)} += ${terms.join(' + ')};`);
      }
    }
  }
}

/** The k loop for one weight source, by format (scales change per row, block or group). */
function emitKLoop(c: Ctx, L: Lines, src: string): void {
  const sv = stepValues(c.format);
  const fullSteps = Math.floor(c.kd / sv);
  const tail = c.kd - fullSteps * sv; // 0 unless the reduction is not a multiple of 4 (never for nvfp4)
  const { v } = c;
  const forCols = (f: (m: string, j: number, ml: MatrixLayout) => string) => c.mats.flatMap(({ name, m }) => [...Array(v.cols).keys()].map((j) => f(name, j, m)));
  switch (c.format) {
    case 'f32':
    case 'int8': {
      if (c.format === 'int8') L.add(...forCols((m, j, ml) => `let s${m}${j} = bitcast<f32>(${src}[block + ${u(ml.scales)} + col${j}]);`));
      const scale = (m: string, j: number) => `s${m}${j}`;
      L.open(`for (var k = 0u; k < ${u(fullSteps)}; k++) {`);
      emitStep(c, L, src, 'k', scale);
      L.close();
      if (tail) {
        L.open('{');
        emitStep(c, L, src, u(fullSteps), scale, tail);
        L.close();
      }
      return;
    }
    case 'fp8': {
      // One f32 scale per (block row, block column): reload it at every block column.
      const ml0 = c.mats[0].m;
      const stepsPerBlock = ml0.blockCols / 4;
      const blocks = ml0.blocksPerRow;
      L.add(...forCols((m, j, ml) => `let sb${m}${j} = block + ${u(ml.scales)} + (col${j} / ${u(ml.blockRows)}) * ${u(ml.blocksPerRow)};`));
      const scale = (m: string, j: number) => `s${m}${j}`;
      L.open(`for (var kb = 0u; kb < ${u(blocks)}; kb++) {`);
      L.add(...forCols((m, j) => `let s${m}${j} = bitcast<f32>(${src}[sb${m}${j} + kb]);`));
      L.open(`for (var k = kb * ${u(stepsPerBlock)}; k < min(kb * ${u(stepsPerBlock)} + ${u(stepsPerBlock)}, ${u(fullSteps)}); k++) {`);
      emitStep(c, L, src, 'k', scale);
      L.close();
      if (tail) {
        L.open(`if (kb == ${u(blocks - 1)}) {`);
        emitStep(c, L, src, u(fullSteps), scale, tail);
        L.close();
      }
      L.close();
      return;
    }
    case 'nvfp4': {
      // One e4m3 scale per 16 values (2 code words); 4 of them per scale word.
      const groups = c.kd / 16;
      const chunks = Math.ceil(groups / 4);
      const lastGroups = groups - 4 * (chunks - 1);
      L.add(...forCols((m, j, ml) => `let sr${m}${j} = block + ${u(ml.scales)} + col${j} * ${u(ml.scaleRowWords)};`));
      L.add(...c.mats.map(({ name, m }) => `let ts${name} = bitcast<f32>(${src}[block + ${u(m.tensorScale)}]);`));
      L.open(`for (var chunk = 0u; chunk < ${u(chunks)}; chunk++) {`);
      L.add(...forCols((m, j) => `let sw${m}${j} = ${src}[sr${m}${j} + chunk];`));
      L.open(`for (var g = 0u; g < select(4u, ${u(lastGroups)}, chunk == ${u(chunks - 1)}); g++) {`);
      L.add(...forCols((m, j) => `let s${m}${j} = nvfp4_group_scale((sw${m}${j} >> (8u * g)) & 0xffu, ts${m});`));
      L.open('for (var k = 8u * chunk + 2u * g; k < 8u * chunk + 2u * g + 2u; k++) {');
      emitStep(c, L, src, 'k', (m, j) => `s${m}${j}`);
      L.close();
      L.close();
      L.close();
      return;
    }
  }
}

/** The tile function for weight source `s`: loads, k loop, epilogue. */
function emitTileFn(c: Ctx, L: Lines, s: number): void {
  const { v } = c;
  const src = `weights${s}`;
  const sg = v.kind === 'sg4';
  L.open(`fn ${c.proj}_source${s}(block: u32, row0: u32, row_end: u32, col_first: u32, lane: u32) {`);
  // Input rows: row (clamped into the tile: rows past the end are computed, not stored).
  const loaders = sg ? v.rows / 4 : v.rows;
  const inputStride = c.vecInput ? (stepValues(c.format) === 8 ? c.kd / 4 : c.kd / 4) : c.kd;
  for (let q = 0; q < loaders; q++) {
    const row = sg ? `row0 + ${u(4 * q)} + lane` : `row0 + ${u(q)}`;
    const token = c.proj === 'gate_up' ? `token_of(min(${row}, row_end - 1u))` : `min(${row}, row_end - 1u)`;
    L.add(`let xr${q} = ${token} * ${u(inputStride)};`);
  }
  // Output columns of this invocation (clamped for loads) and weight row bases.
  const colStep = sg ? 4 : v.groupCols;
  for (let j = 0; j < v.cols; j++) L.add(`let col${j} = min(col_first + ${u(colStep * j)}, ${u(c.n - 1)});`);
  const wordsPerIndex = c.format === 'f32' ? 4 : 1; // f32 weights are read as vec4f
  for (const { name, m } of c.mats) {
    for (let j = 0; j < v.cols; j++) {
      L.add(`let wb${name}${j} = (block + ${u(m.codes)} + col${j} * ${u(m.rowWords)}) / ${u(wordsPerIndex)};`);
    }
  }
  for (const { name } of c.mats) for (let i = 0; i < v.rows; i++) for (let j = 0; j < v.cols; j++) L.add(`var ${accName(name, i, j)} = 0.0;`);
  emitKLoop(c, L, src);
  // Epilogue: SwiGLU for gate_up; stores only inside the tile and the matrix.
  for (let i = 0; i < v.rows; i++) {
    L.open(`if (row0 + ${u(i)} < row_end) {`);
    for (let j = 0; j < v.cols; j++) {
      const value = c.proj === 'gate_up' ? `silu(${accName('g', i, j)}) * ${accName('u', i, j)}` : accName('d', i, j);
      L.open(`if (col_first + ${u(colStep * j)} < ${u(c.n)}) {`);
      L.add(`output_rows[(row0 + ${u(i)}) * ${u(c.n)} + col_first + ${u(colStep * j)}] = ${value};`);
      L.close();
    }
    L.close();
  }
  L.close();
}

/** The whole generated part of a tiled kernel (prepended to expert_gemm.wgsl etc.). */
export function tiledProgramPart(p: CodegenProblem, v: TileVariant, proj: Projection): WgslPart {
  const c = ctxFor(p, v, proj);
  const { tileRows, tileCols, threads } = tileShape(v);
  const sg = v.kind === 'sg4';
  const L = new Lines();
  if (sg) L.add('enable subgroups;', 'diagnostic(off, subgroup_uniformity);');
  L.add(
    `// Generated: ${proj} of a grouped expert GEMM, ${c.format} weights, ${variantName(v)}.`,
    `// Workgroup = ${threads} invocations covering ${tileRows} rows of one expert × ${tileCols} output columns;`,
    sg
      ? `// each subgroup of 4 lanes shares ${v.rows} rows (lane l loads rows 4q+l, subgroupBroadcast shares them),`
      : `// each invocation loads its own ${v.rows} rows`,
    `// and each ${sg ? 'lane' : 'invocation'} accumulates ${v.rows}×${v.cols} outputs${c.mats.length > 1 ? ' per matrix (gate and up)' : ''} in registers.`,
    `// Reduction ${c.kd} in steps of ${stepValues(c.format)} values; weights decoded once per step and reused for all ${v.rows} rows.`,
    `const EXPERTS = ${u(p.experts)};`,
    `const TILE_ROWS = ${u(tileRows)};`,
    `@group(0) @binding(${BINDING.input}) var<storage, read> input_rows: array<${c.vecInput ? 'vec4f' : 'f32'}>;`,
    `@group(0) @binding(${BINDING.output}) var<storage, read_write> output_rows: array<f32>;`,
  );
  for (let s = 0; s < p.sources; s++) {
    L.add(`@group(0) @binding(${BINDING.firstWeight + s}) var<storage, read> weights${s}: array<${c.format === 'f32' ? 'vec4f' : 'u32'}>;`);
  }
  for (let s = 0; s < p.sources; s++) emitTileFn(c, L, s);

  // Entry point: find the tile, pick the weight source once, run its tile function.
  L.add('');
  L.add(`@compute @workgroup_size(${threads})`);
  L.open(
    `fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32${sg ? ', @builtin(subgroup_invocation_id) lane: u32' : ''}) {`,
  );
  L.add('let tile = row_tile(wid.y + wid.z * nwg.y);');
  if (sg) {
    // Subgroup index from the local index: SwiftShader's subgroups are consecutive runs of 4.
    L.add('let sub = lid / 4u;', `let row0 = tile.begin + (sub / ${u(v.groupCols)}) * ${u(v.rows)};`);
    L.add(`let col_first = wid.x * ${u(tileCols)} + (sub % ${u(v.groupCols)}) * ${u(4 * v.cols)} + lane;`);
  } else {
    L.add(`let row0 = tile.begin + (lid / ${u(v.groupCols)}) * ${u(v.rows)};`);
    L.add(`let col_first = wid.x * ${u(tileCols)} + lid % ${u(v.groupCols)};`, 'let lane = 0u;');
  }
  L.open('if (row0 >= tile.end) {');
  L.add('return;');
  L.close();
  L.add('let entry = expert_table[tile.expert];');
  L.open('switch entry.x {');
  for (let s = 0; s < p.sources; s++) L.add(`case ${u(s)}: { ${proj}_source${s}(entry.y, row0, tile.end, col_first, lane); }`);
  L.add('default: {}');
  L.close();
  L.close();
  return { file: `<generated expert_gemm ${proj} ${variantName(v)}>`, code: L.out.join('\n') };
}
