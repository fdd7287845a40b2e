// WGSL generation for the grouped expert GEMM: constants, bindings and the register-tiled
// inner kernels (tile, sx4, sw4) or workgroup-memory tiles (wg, f32 or f16 operands),
// specialised per shape, weight format and tile variant.
// The hand-written parts live in shaders/expert_gemm.wgsl (tile → expert mapping),
// shaders/weight_decode.wgsl (decoders) and shaders/naive_gemm.wgsl.
//
// Why generated: on the CPU-emulated adapter (SwiftShader) every load with a run-time
// index is a gather with a branch per lane, while arithmetic is cheap SIMD; the lever is
// values reused from registers, and only fully unrolled register tiles with constant
// names stay in registers. Shapes are fixed per GroupedExpertGemm, so every loop bound,
// stride and section offset is a constant here.
import type { BindingBuffer, WgslPart } from '../gpu/index.ts';
import type { ExpertLayout, MatrixLayout, WeightFormat } from '../model/formats.ts';
import { WG_CHUNK, sgmChunk, tileShape, usesSubgroups, variantName, type TileVariant } from './gemm-variant.ts';

export type Projection = 'gate_up' | 'down';

export interface CodegenProblem {
  layout: ExpertLayout;
  experts: number;
  /** 'sgm' only: emulate the subgroup matrices (a correctness check on adapters without them). */
  emulateSubgroupMatrix?: boolean;
}

export const FORMAT_ID: Record<WeightFormat, number> = { f32: 0, int8: 1, fp8: 2, nvfp4: 3, mxfp4: 4 };

/** Binding numbers shared by every variant (see shaders/expert_gemm.wgsl). */
export const BINDING = { params: 0, input: 1, perm: 2, offsets: 3, table: 4, output: 5, weights: 6 } as const;

export type BindingName = keyof typeof BINDING;

/**
 * The buffers each projection's entry point binds, by name: every one but perm for down
 * (layout 'auto' drops it). The one declaration of what a pass binds: PROJECTION_BINDINGS,
 * ProjectionBuffers and byBinding all derive from it.
 */
const PROJECTION_BUFFERS = {
  gate_up: ['params', 'input', 'perm', 'offsets', 'table', 'output', 'weights'],
  down: ['params', 'input', 'offsets', 'table', 'output', 'weights'],
} as const satisfies Record<Projection, readonly BindingName[]>;

/** The binding numbers each projection's entry point uses (ComputeProgram's `uses`). */
export const PROJECTION_BINDINGS: Record<Projection, readonly number[]> = {
  gate_up: PROJECTION_BUFFERS.gate_up.map((name) => BINDING[name]),
  down: PROJECTION_BUFFERS.down.map((name) => BINDING[name]),
};

/** The buffers one projection's pass binds, named as in BINDING: exactly those, no others. */
export type ProjectionBuffers<P extends Projection> = Record<(typeof PROJECTION_BUFFERS)[P][number], BindingBuffer>;

/** A projection's buffers listed by binding number (ComputeProgram.bindGroup's order); unbound numbers are holes. */
export function byBinding<P extends Projection>(proj: P, named: ProjectionBuffers<P>): BindingBuffer[] {
  const list: BindingBuffer[] = [];
  const buffers: Partial<Record<BindingName, BindingBuffer>> = named;
  for (const name of PROJECTION_BUFFERS[proj]) list[BINDING[name]] = buffers[name]!;
  return list;
}

export function u(n: number): string {
  return `${n}u`;
}

// ---------------------------------------------------------------------------------------
// Tiled kernels.
//
// A "stream" is one weight row (output column) of one matrix an invocation loads and
// decodes: in sx4/tile one per (matrix, own column); in sw4 one per slot, slot s of lane l
// being pair 4s + l of the subgroup's (column, matrix) pairs.

interface Stream {
  id: string;
  /** WGSL expressions: offsets of this stream's matrix sections and its (clamped) column. */
  codes: string;
  scales: string;
  tensorScale: string;
  col: string;
}

interface Ctx {
  v: TileVariant;
  proj: Projection;
  format: WeightFormat;
  /** Reduction length (H for gate_up, F for down) and output columns. */
  kd: number;
  n: number;
  /** The projection's matrices (gate, up or down); same shapes, different offsets. */
  mats: MatrixLayout[];
  /** Inputs are read as vec4 (reduction length a multiple of 4). */
  vecInput: boolean;
  /** Quantized codes are read 4 words (one vec4u) per load; else one u32 word per load. */
  wide: boolean;
  /** Wide steps walk their 4 words in a run-time loop (4× less code) instead of unrolled. */
  loopWords: boolean;
  streams: Stream[];
  /** WGSL expression of the weights' element at index i. */
  weightAt: (i: string) => string;
  /** WGSL expression of u32 word i of the weights (scales). */
  scaleAt: (i: string) => string;
}

/** Values per k step: one weight load per stream per step. */
function stepValues(c: Ctx): number {
  if (c.format === 'f32') return 4;
  return (isFp4(c.format) ? 8 : 4) * (c.wide ? 4 : 1);
}

/** The e2m1 formats: 8 codes per word, decoded by dec_e2m1x8 with a per-group scale. */
const isFp4 = (f: WeightFormat): boolean => f === 'nvfp4' || f === 'mxfp4';

/** Section offset of matrix `mat` (a WGSL u32 expression) among the projection's matrices. */
function sectionOf(c: Ctx, pick: (m: MatrixLayout) => number, mat: number | string): string {
  if (typeof mat === 'number') return u(pick(c.mats[mat]));
  return c.mats.length === 1
    ? u(pick(c.mats[0]))
    : `select(${u(pick(c.mats[0]))}, ${u(pick(c.mats[1]))}, ${mat} == 1u)`;
}

function ctxFor(p: CodegenProblem, v: TileVariant, proj: Projection): Ctx {
  const l = p.layout;
  const gateUp = proj === 'gate_up';
  const kd = gateUp ? l.hidden : l.expertHidden;
  const c: Ctx = {
    v,
    proj,
    format: l.format,
    kd,
    n: gateUp ? l.expertHidden : l.hidden,
    mats: gateUp ? [l.gate, l.up] : [l.down],
    vecInput: kd % 4 === 0,
    // fp8 scales change every block column: a 16-value step must not straddle two blocks.
    wide: l.format !== 'f32' && (l.format !== 'fp8' || l.block[1] % 16 === 0),
    loopWords: !!v.loopWords,
    streams: [],
    // One weight binding, indexed directly (see tiledProgramPart for why one).
    weightAt: (i) => `weights[${i}]`,
    scaleAt: (i) => `scale_word(${i})`,
  };
  const stream = (id: string, mat: number | string, col: string): Stream => ({
    id,
    codes: sectionOf(c, (m) => m.codes, mat),
    scales: sectionOf(c, (m) => m.scales, mat),
    tensorScale: sectionOf(c, (m) => m.tensorScale, mat),
    col,
  });
  if (v.kind === 'sw4') {
    const slots = Math.ceil((v.cols * c.mats.length) / 4);
    for (let s = 0; s < slots; s++) c.streams.push(stream(`s${s}`, `mat_s${s}`, `col_s${s}`));
  } else {
    c.mats.forEach((_, m) => {
      for (let j = 0; j < v.cols; j++) c.streams.push(stream(`m${m}c${j}`, m, `col${j}`));
    });
  }
  return c;
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

/** Accumulator of own row i and output o (o = matrix·cols + column for sx4/tile, pair for sw4). */
const acc = (i: number, o: number) => `acc${i}_${o}`;

/** Outputs per invocation row: sx4/tile (matrix, own column); sw4 (subgroup column, matrix) pairs. */
function outputsPerRow(c: Ctx): number {
  return c.v.cols * c.mats.length;
}

/**
 * One k step at step index `k`: load the inputs and one weight vector per stream, then per
 * group of 4 values decode each stream once and multiply-accumulate it into every row of
 * the register tile. `scale(id, t)` names the scale for values 4t..4t+3 of the step (fp8,
 * nvfp4). `valid` < step values marks the masked tail: inputs past the reduction end read
 * as 0 (padding codes are 0 as well).
 */
function emitStep(
  c: Ctx,
  L: Lines,
  k: string,
  scale: (id: string, t: number) => string | undefined,
  valid?: number,
): void {
  if (c.loopWords && c.wide && valid === undefined) return emitLoopedStep(c, L, k, scale);
  const { v } = c;
  const sv = stepValues(c);
  const quads = sv / 4;
  const live = (t: number) => valid === undefined || 4 * t < valid;
  // Inputs: sx4 lanes load rows 4q + lane of the shared rows; tile/sw4 load their own rows.
  const loaders = v.kind === 'sx4' ? v.rows / 4 : v.rows;
  for (let q = 0; q < loaders; q++) {
    for (let t = 0; t < quads; t++) {
      if (!live(t)) continue;
      if (c.vecInput) {
        L.add(`let x${q}_${t} = input_rows[xr${q} + ${quads === 1 ? k : `${u(quads)} * ${k} + ${u(t)}`}];`);
      } else {
        // Scalar inputs (reduction length not a multiple of 4): components past the end are 0.
        const base = `xr${q} + ${u(sv)} * ${k} + ${u(4 * t)}`;
        const comps = [0, 1, 2, 3].map((j) =>
          valid === undefined || 4 * t + j < valid ? `input_rows[${base} + ${u(j)}]` : '0.0',
        );
        L.add(`let x${q}_${t} = vec4f(${comps.join(', ')});`);
      }
    }
  }
  for (const s of c.streams) L.add(`let W_${s.id} = ${codeLoad(c, s, k)};`);
  const word = (id: string, h: number) => (c.wide ? `W_${id}[${h}]` : `W_${id}`);
  for (let t = 0; t < quads; t++) {
    if (!live(t)) continue;
    // Decode 4 values per stream, once for all rows.
    for (const s of c.streams) {
      const w = `w_${s.id}_${t}`;
      switch (c.format) {
        case 'f32':
          L.add(`let ${w} = W_${s.id};`);
          break;
        case 'int8': // the row scale is applied to the sums (epilogue)
          L.add(`let ${w} = unpack4x8snorm(${word(s.id, t)});`);
          break;
        case 'fp8':
          L.add(`let ${w} = dec_e4m3x4_finite(${word(s.id, t)})${times(scale(s.id, t))};`);
          break;
        case 'nvfp4':
        case 'mxfp4':
          if (t % 2 === 0) L.add(`let e_${s.id}_${t >> 1} = dec_e2m1x8(${word(s.id, t >> 1)}, ${scale(s.id, t)});`);
          L.add(`let ${w} = e_${s.id}_${t >> 1}.${t % 2 ? 'hi' : 'lo'};`);
          break;
      }
    }
    emitFma(c, L, t);
  }
}

/**
 * A wide step of compressed weights with its 4 code words walked in a run-time loop: the
 * same loads and arithmetic as emitStep, a quarter of the code (faster to compile).
 */
function emitLoopedStep(c: Ctx, L: Lines, k: string, scale: (id: string, t: number) => string | undefined): void {
  const { v } = c;
  const perWord = isFp4(c.format) ? 2 : 1; // x vec4s (quads) per code word
  const quads = stepValues(c) / 4;
  for (const s of c.streams) L.add(`let W_${s.id} = ${codeLoad(c, s, k)};`);
  L.open('for (var h = 0u; h < 4u; h++) {');
  const loaders = v.kind === 'sx4' ? v.rows / 4 : v.rows;
  for (let q = 0; q < loaders; q++) {
    for (let t = 0; t < perWord; t++)
      L.add(`let x${q}_${t} = input_rows[xr${q} + ${u(quads)} * ${k} + ${u(perWord)} * h${t ? ` + ${u(t)}` : ''}];`);
  }
  for (const s of c.streams) {
    switch (c.format) {
      case 'int8':
        L.add(`let w_${s.id}_0 = unpack4x8snorm(W_${s.id}[h]);`);
        break;
      case 'fp8':
        L.add(`let w_${s.id}_0 = dec_e4m3x4_finite(W_${s.id}[h])${times(scale(s.id, 0))};`);
        break;
      case 'nvfp4':
        // words 0, 1 hold group 2k, words 2, 3 group 2k+1
        L.add(
          `let e_${s.id} = dec_e2m1x8(W_${s.id}[h], select(${scale(s.id, 0)}, ${scale(s.id, 4)}, h >= 2u));`,
          `let w_${s.id}_0 = e_${s.id}.lo;`,
          `let w_${s.id}_1 = e_${s.id}.hi;`,
        );
        break;
      case 'mxfp4': // the 4 words are one 32-value group: one scale
        L.add(
          `let e_${s.id} = dec_e2m1x8(W_${s.id}[h], ${scale(s.id, 0)});`,
          `let w_${s.id}_0 = e_${s.id}.lo;`,
          `let w_${s.id}_1 = e_${s.id}.hi;`,
        );
        break;
      default:
        throw new Error(`looped steps are for compressed formats, not ${c.format}`);
    }
  }
  for (let t = 0; t < perWord; t++) emitFma(c, L, t);
  L.close();
}

/** ' * scale', or nothing when the scale is applied elsewhere. */
const times = (scale: string | undefined) => (scale === undefined ? '' : ` * ${scale}`);

/** One weight load of stream s at step k; fp8 zeroes the codes of a block whose scale is 0 (see emitKLoop). */
function codeLoad(c: Ctx, s: Stream, k: string): string {
  const load = c.weightAt(`wb_${s.id} + ${k}`);
  if (c.format !== 'fp8') return load;
  return `select(${load}, ${c.wide ? 'vec4u(0u)' : '0u'}, z_${s.id})`;
}

/**
 * `value` as lane j of this invocation's 4 lanes hold it: subgroupBroadcast from lane j where
 * the subgroup is those 4 lanes (sx4, sw4), subgroupShuffle from lane (lane & ~3) | j of its
 * quad where it is wider (':quad'; quad0 = lane & ~3, see tiledProgramPart). Both are called
 * in control flow uniform in the subgroup (for ':quad' by construction: see tiledProgramPart).
 */
function fromLane(c: Ctx, value: string, j: number): string {
  return c.v.quad ? `subgroupShuffle(${value}, quad0 + ${u(j)})` : `subgroupBroadcast(${value}, ${u(j)})`;
}

/** Stream variable `name` of the stream output o multiplies (sw4: from the lane that owns it). */
function perOutput(c: Ctx, name: string, o: number): string {
  return c.v.kind === 'sw4' ? fromLane(c, `${name}_s${o >> 2}`, o & 3) : `${name}_${c.streams[o].id}`;
}

/**
 * The register tile's row groups: own rows g .. g + rows - 1, the first of them `firstRow`
 * rows into the tile. Rows go in groups of 4 (sw4: one own row, which is rows 4g..4g+3 of
 * the subgroup or quad); a group wholly past the expert's last row is skipped (`skip`: every
 * group but a tile's only one), so a partial tile costs its rows, not the tile's.
 */
function rowGroups(v: TileVariant): { g: number; rows: number; firstRow: number; skip: boolean }[] {
  const perGroup = v.kind === 'sw4' ? 1 : 4;
  const groups = [];
  for (let g = 0; g < v.rows; g += perGroup)
    groups.push({
      g,
      rows: Math.min(perGroup, v.rows - g),
      firstRow: v.kind === 'sw4' ? 4 * g : g,
      skip: v.kind === 'sw4' ? g > 0 : v.rows > 4,
    });
  return groups;
}

/**
 * The condition that skips a row group: live_rows > firstRow, a branch uniform in the
 * subgroup for sx4/sw4. ':quad': the subgroup's vote on it (subgroupAny), taken once per
 * tile before the k loop (emitTileFn), so every shuffle stays in subgroup-uniform control
 * flow (see tiledProgramPart) and the innermost loop runs no vote.
 */
const groupLive = (v: TileVariant, firstRow: number) =>
  v.quad ? `any_live_${firstRow}` : `live_rows > ${u(firstRow)}`;

/** Multiply-accumulate quad t (inputs x*_t, decoded weights w_*_t) into the register tile. */
function emitFma(c: Ctx, L: Lines, t: number): void {
  const { v } = c;
  const outs = outputsPerRow(c);
  // The weights each output uses: sw4 broadcasts pair p from lane p % 4's slot p / 4.
  const weightOf = (o: number) => (v.kind === 'sw4' ? `wp${o}_${t}` : `w_${c.streams[o].id}_${t}`);
  if (v.kind === 'sw4')
    for (let o = 0; o < outs; o++) L.add(`let wp${o}_${t} = ${fromLane(c, `w_s${o >> 2}_${t}`, o & 3)};`);
  for (const { g, rows, firstRow, skip } of rowGroups(v)) {
    if (skip) L.open(`if (${groupLive(v, firstRow)}) {`);
    for (let i = g; i < g + rows; i++) {
      const x = v.kind === 'sx4' ? fromLane(c, `x${i >> 2}_${t}`, i & 3) : `x${i}_${t}`;
      L.add(`let r${i}_${t} = ${x};`);
      for (let o = 0; o < outs; o++) L.add(`${acc(i, o)} += dot(r${i}_${t}, ${weightOf(o)});`);
    }
    if (skip) L.close();
  }
}

/** The k loop, by format (scales change per row, block or group). */
function emitKLoop(c: Ctx, L: Lines): void {
  const sv = stepValues(c);
  const fullSteps = Math.floor(c.kd / sv);
  const tail = c.kd - fullSteps * sv;
  const each = (f: (s: Stream) => string) => c.streams.map(f);
  switch (c.format) {
    case 'f32':
    case 'int8': {
      const none = () => undefined;
      L.open(`for (var k = 0u; k < ${u(fullSteps)}; k++) {`);
      emitStep(c, L, 'k', none);
      L.close();
      if (tail) {
        L.open('{');
        emitStep(c, L, u(fullSteps), none, tail);
        L.close();
      }
      return;
    }
    case 'fp8': {
      // One f32 scale per (block row, block column), hoisted out of the steps: the
      // accumulators hold sums in units of se (the scale of the last block with a non-zero
      // scale) and are rescaled by se / s_new when a block starts (one multiply per
      // accumulator per block instead of one per decoded weight); the epilogue multiplies
      // by the final se. A block whose scale is 0 contributes 0: its codes are zeroed at
      // load and se is kept. se starts at 0: the first block needs no rescale.
      const ml = c.mats[0];
      const stepsPerBlock = ml.blockCols / sv;
      const blocks = ml.blocksPerRow;
      const outs = outputsPerRow(c);
      L.add(
        ...each(
          (s) => `let sb_${s.id} = block + ${s.scales} + (${s.col} / ${u(ml.blockRows)}) * ${u(ml.blocksPerRow)};`,
        ),
      );
      L.add(...each((s) => `var se_${s.id} = 0.0;`));
      L.open(`for (var kb = 0u; kb < ${u(blocks)}; kb++) {`);
      L.add(...each((s) => `let sn_${s.id} = bitcast<f32>(${c.scaleAt(`sb_${s.id} + kb`)});`));
      L.add(...each((s) => `let z_${s.id} = sn_${s.id} == 0.0;`));
      L.add(...each((s) => `let r_${s.id} = select(se_${s.id} / sn_${s.id}, 1.0, z_${s.id} || se_${s.id} == 0.0);`));
      L.add(...each((s) => `se_${s.id} = select(sn_${s.id}, se_${s.id}, z_${s.id});`));
      for (let o = 0; o < outs; o++) {
        L.add(`let ro${o} = ${perOutput(c, 'r', o)};`);
        for (let i = 0; i < c.v.rows; i++) L.add(`${acc(i, o)} *= ro${o};`);
      }
      const none = () => undefined;
      L.open(
        `for (var k = kb * ${u(stepsPerBlock)}; k < min(kb * ${u(stepsPerBlock)} + ${u(stepsPerBlock)}, ${u(fullSteps)}); k++) {`,
      );
      emitStep(c, L, 'k', none);
      L.close();
      if (tail) {
        L.open(`if (kb == ${u(blocks - 1)}) {`);
        emitStep(c, L, u(fullSteps), none, tail);
        L.close();
      }
      L.close();
      return;
    }
    case 'nvfp4': {
      // One e4m3 scale per 16 values, 4 of them per scale word; a step holds 32 (wide) or 8.
      const ml = c.mats[0];
      L.add(...each((s) => `let sr_${s.id} = block + ${s.scales} + ${s.col} * ${u(ml.scaleRowWords)};`));
      L.add(...each((s) => `let ts_${s.id} = bitcast<f32>(${c.scaleAt(`block + ${s.tensorScale}`)});`));
      const emitNvStep = (k: string, valid?: number) => {
        L.open('{');
        if (c.wide) {
          // Groups 2k and 2k+1 are bytes 2(k%2), 2(k%2)+1 of scale word k/2: decode its four
          // e4m3 scales at once and keep the pair this step needs.
          L.add(...each((s) => `let gs_${s.id} = dec_e4m3x4(${c.scaleAt(`sr_${s.id} + ${k} / 2u`)}) * ts_${s.id};`));
          const pair = (id: string) =>
            /^\d+u$/.test(k)
              ? parseInt(k) % 2
                ? `gs_${id}.zw`
                : `gs_${id}.xy`
              : `select(gs_${id}.xy, gs_${id}.zw, (${k} & 1u) == 1u)`;
          L.add(...each((s) => `let s_${s.id} = ${pair(s.id)};`));
          emitStep(c, L, k, (id, t) => `s_${id}.${t >> 2 ? 'y' : 'x'}`, valid);
        } else {
          // Group k/2: byte (k/2)%4 of scale word k/8.
          L.add(
            ...each(
              (s) =>
                `let s_${s.id} = nvfp4_group_scale((${c.scaleAt(`sr_${s.id} + ${k} / 8u`)} >> (8u * ((${k} / 2u) % 4u))) & 0xffu, ts_${s.id});`,
            ),
          );
          emitStep(c, L, k, (id) => `s_${id}`, valid);
        }
        L.close();
      };
      L.open(`for (var k = 0u; k < ${u(fullSteps)}; k++) {`);
      emitNvStep('k');
      L.close();
      if (tail) emitNvStep(u(fullSteps), tail);
      return;
    }
    case 'mxfp4': {
      // One e8m0 scale per 32 values (mxfp4_scale, weight_decode.wgsl), 4 per scale word. Steps
      // are always wide here (32 values, 4 code words: exactly group k, byte k%4 of word k/4)
      // and the reduction length is a multiple of 32, so there is no tail step.
      if (!c.wide || tail) throw new Error(`mxfp4 steps must be whole 32-value groups (reduction ${c.kd})`);
      const ml = c.mats[0];
      L.add(...each((s) => `let sr_${s.id} = block + ${s.scales} + ${s.col} * ${u(ml.scaleRowWords)};`));
      L.open(`for (var k = 0u; k < ${u(fullSteps)}; k++) {`);
      L.add(
        ...each(
          (s) => `let s_${s.id} = mxfp4_scale((${c.scaleAt(`sr_${s.id} + k / 4u`)} >> (8u * (k % 4u))) & 0xffu);`,
        ),
      );
      emitStep(c, L, 'k', (id) => `s_${id}`);
      L.close();
      return;
    }
  }
}

/** The tile function: set-up, k loop (weights read at the expert's `block`, see Ctx.weightAt), epilogue. */
function emitTileFn(c: Ctx, L: Lines): void {
  const { v } = c;
  const mats = c.mats.length;
  const outs = outputsPerRow(c);
  // lane: 0..3 within the subgroup (sx4, sw4) or the quad (':quad', whose first lane is quad0).
  L.open(
    `fn ${c.proj}_tile(block: u32, row0: u32, row_end: u32, col_first: u32, lane: u32${v.quad ? ', quad0: u32' : ''}) {`,
  );
  // ':quad': a quad past the tile's end runs on beside its subgroup (no early return), with no live rows.
  L.add(v.quad ? 'let live_rows = select(0u, row_end - row0, row_end > row0);' : 'let live_rows = row_end - row0;');
  // The rows this invocation loads (clamped into the tile: rows past its end are computed, never stored).
  const inputStride = c.vecInput ? c.kd / 4 : c.kd;
  const loadRow = (q: number) =>
    v.kind === 'sx4' ? `row0 + ${u(4 * q)} + lane` : v.kind === 'sw4' ? `row0 + ${u(4 * q)} + lane` : `row0 + ${u(q)}`;
  const ownRow = (i: number) => (v.kind === 'sw4' ? `row0 + ${u(4 * i)} + lane` : `row0 + ${u(i)}`);
  const loaders = v.kind === 'sx4' ? v.rows / 4 : v.rows;
  for (let q = 0; q < loaders; q++) {
    const row = `min(${loadRow(q)}, row_end - 1u)`;
    L.add(`let xr${q} = ${c.proj === 'gate_up' ? `token_of(${row})` : row} * ${u(inputStride)};`);
  }
  // Output columns (clamped for loads; stores check the real column).
  const colOf = (j: number) =>
    v.kind === 'sx4'
      ? `col_first + ${u(4 * j)}`
      : v.kind === 'tile'
        ? `col_first + ${u(v.groupCols * j)}`
        : `col_first + ${u(j)}`;
  if (v.kind === 'sw4') {
    c.streams.forEach((_, slot) => {
      L.add(`let pair_s${slot} = min(${u(4 * slot)} + lane, ${u(outs - 1)});`);
      L.add(`let mat_s${slot} = pair_s${slot} % ${u(mats)};`);
      L.add(`let col_s${slot} = min(col_first + pair_s${slot} / ${u(mats)}, ${u(c.n - 1)});`);
    });
  } else {
    for (let j = 0; j < v.cols; j++) L.add(`let col${j} = min(${colOf(j)}, ${u(c.n - 1)});`);
  }
  const perIndex = c.format === 'f32' || c.wide ? 4 : 1; // words per element of the weight binding
  for (const st of c.streams)
    L.add(`let wb_${st.id} = (block + ${st.codes} + ${st.col} * ${u(c.mats[0].rowWords)}) / ${u(perIndex)};`);
  for (let i = 0; i < v.rows; i++) for (let o = 0; o < outs; o++) L.add(`var ${acc(i, o)} = 0.0;`);
  // ':quad': each skippable row group's vote, once per tile (here every lane of the subgroup is active).
  if (v.quad)
    for (const { firstRow, skip } of rowGroups(v))
      if (skip) L.add(`let ${groupLive(v, firstRow)} = subgroupAny(live_rows > ${u(firstRow)});`);
  emitKLoop(c, L);

  // Epilogue. int8: each output's row scale (× 127, undoing unpack4x8snorm's 1/127).
  const matOf = (o: number) => (v.kind === 'sw4' ? o % mats : Math.floor(o / v.cols));
  const colIdx = (o: number) => (v.kind === 'sw4' ? Math.floor(o / mats) : o % v.cols);
  const scaled = (i: number, o: number) =>
    c.format === 'int8' || c.format === 'fp8' ? `${acc(i, o)} * rs${o}` : acc(i, o);
  // fp8: the accumulators are in units of each stream's last block scale.
  if (c.format === 'fp8') for (let o = 0; o < outs; o++) L.add(`let rs${o} = ${perOutput(c, 'se', o)};`);
  if (c.format === 'int8') {
    for (let o = 0; o < outs; o++) {
      const col = `min(${colOf(colIdx(o))}, ${u(c.n - 1)})`;
      L.add(`let rs${o} = bitcast<f32>(${c.scaleAt(`block + ${u(c.mats[matOf(o)].scales)} + ${col}`)}) * 127.0;`);
    }
  }
  // gate_up: SwiGLU of the gate and up outputs of each column; stores only inside tile and matrix.
  const outOf = (mat: number, j: number) => (v.kind === 'sw4' ? j * mats + mat : mat * v.cols + j);
  for (let i = 0; i < v.rows; i++) {
    L.open(`if (${ownRow(i)} < row_end) {`);
    for (let j = 0; j < v.cols; j++) {
      const value =
        c.proj === 'gate_up' ? `silu(${scaled(i, outOf(0, j))}) * (${scaled(i, outOf(1, j))})` : scaled(i, outOf(0, j));
      L.open(`if (${colOf(j)} < ${u(c.n)}) {`);
      L.add(`output_rows[(${ownRow(i)}) * ${u(c.n)} + ${colOf(j)}] = ${value};`);
      L.close();
    }
    L.close();
  }
  L.close();
}

/** The whole generated part of a tiled kernel (composed with expert_gemm.wgsl and weight_decode.wgsl). */
export function tiledProgramPart(p: CodegenProblem, v: TileVariant, proj: Projection): WgslPart {
  if (v.kind === 'wg') return workgroupProgramPart(p, v, proj);
  if (v.kind === 'sgm') return subgroupMatrixProgramPart(p, v, proj, p.emulateSubgroupMatrix);
  const c = ctxFor(p, v, proj);
  const { tileRows, tileCols, threads } = tileShape(v);
  const sg = usesSubgroups(v);
  const L = new Lines();
  if (sg) L.add('enable subgroups;', 'diagnostic(off, subgroup_uniformity);');
  const kind: Exclude<TileVariant['kind'], 'wg' | 'sgm'> = v.kind;
  const group = v.quad ? 'quad (lanes 4k..4k+3 of a subgroup of any multiple of 4 lanes)' : 'subgroup of 4 lanes';
  const its = v.quad ? 'quad' : 'subgroup';
  const op = v.quad ? 'subgroupShuffle' : 'subgroupBroadcast';
  const how = {
    sx4: `each ${group} shares ${v.rows} rows (lane l loads rows 4q+l, ${op} shares them) and each lane owns ${v.cols} columns`,
    sw4:
      `each lane owns ${v.rows} rows (rows 4i+lane of its ${its}) and the ${group} shares ${v.cols} columns: ` +
      `each lane loads and decodes a quarter of the weights and ${op} shares them`,
    tile: `each invocation loads its own ${v.rows} rows and owns ${v.cols} columns`,
  }[kind];
  L.add(
    `// Generated: ${proj} of the grouped expert GEMM, ${c.format} weights, variant ${variantName(v)}.`,
    `// A workgroup of ${threads} invocations covers ${tileRows} rows of one expert × ${tileCols} output columns;`,
    `// ${how}.`,
    `// Each invocation accumulates ${v.rows} rows × ${outputsPerRow(c)} outputs in registers; the reduction (${c.kd}) runs`,
    `// in steps of ${stepValues(c)} values, weights decoded once per step and reused for every row.`,
    `const EXPERTS = ${u(p.experts)};`,
    `const TILE_ROWS = ${u(tileRows)};`,
    `@group(0) @binding(${BINDING.input}) var<storage, read> input_rows: array<${c.vecInput ? 'vec4f' : 'f32'}>;`,
    `@group(0) @binding(${BINDING.output}) var<storage, read_write> output_rows: array<f32>;`,
  );
  L.add(
    `@group(0) @binding(${BINDING.weights}) var<storage, read> weights: array<${c.format === 'f32' ? 'vec4f' : c.wide ? 'vec4u' : 'u32'}>;`,
  );
  // Scale words (int8/fp8/nvfp4), read outside the innermost loop.
  if (c.format !== 'f32')
    L.add('fn scale_word(i: u32) -> u32 {', `  return weights[${c.wide ? 'i / 4u][i % 4u' : 'i'}];`, '}');
  // One weight binding: every expert's block is at its own word offset (the expert table) in
  // it, wherever it came from (a DWDP rank's resident section or its prefetch slot: one buffer,
  // src/dwdp/store-layout.ts), so a DWDP rank runs DP's kernel. Why one and not one binding per
  // source, measured on SwiftShader: docs/expert-gemm.md and docs/similarity.md.
  emitTileFn(c, L);
  // ':quad': the counter that hands each quad its role (zeroed by the kernel: Dawn's workgroup
  // zero-fill may be off, see src/gpu/device.ts).
  if (v.quad) L.add('var<workgroup> quads_taken: atomic<u32>;');

  // Entry point: find the tile, run the tile function on its expert's block.
  L.add('');
  L.add(`@compute @workgroup_size(${threads})`);
  L.open(
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, ' +
      `@builtin(local_invocation_index) lid: u32${sg ? ', @builtin(subgroup_invocation_id) lane: u32' : ''}) {`,
  );
  L.add('let tile = row_tile(wid.y + wid.z * nwg.y);');
  if (sg) {
    if (v.quad) {
      // Quads: lanes 4k..4k+3 of a subgroup (subgroup_invocation_id), whatever its size. Relied
      // on, and checked by the host (subgroupQuadProblem): the subgroup size is a multiple of 4
      // and every subgroup is full (the workgroup size a multiple of the largest subgroup size;
      // that such a 1-D workgroup is packed into full subgroups is what Vulkan, D3D12 and
      // Metal implementations do, not something WebGPU promises), so every lane's quad has 4
      // active lanes here. Nothing is assumed about which local_invocation_index lands on which
      // lane: the quad's first lane takes the next role from a workgroup counter and shuffles
      // it to the other three, so the 4 lanes share one role and the threads / 4 quads take
      // roles 0 .. threads / 4 - 1 once each. Every
      // shuffle after this runs in subgroup-uniform control flow (the early return below and
      // the row-group skips are subgroupAll / subgroupAny; loops have constant bounds), where
      // WGSL defines them: no lane of a subgroup is inactive, whichever quads it holds.
      L.open('if (lid == 0u) {');
      L.add('atomicStore(&quads_taken, 0u);');
      L.close();
      L.add('workgroupBarrier();', 'let quad0 = lane & ~3u;', 'var role = 0u;');
      L.open('if (lane == quad0) {');
      L.add('role = atomicAdd(&quads_taken, 1u);');
      L.close();
      L.add('let sub = subgroupShuffle(role, quad0);', 'let qlane = lane & 3u;');
    } else {
      // Subgroup index from the local index: SwiftShader's subgroups are consecutive runs of 4.
      L.add('let sub = lid / 4u;');
    }
    const rowsPerSub = v.kind === 'sx4' ? v.rows : 4 * v.rows;
    const colsPerSub = v.kind === 'sx4' ? 4 * v.cols : v.cols;
    const own = v.quad ? 'qlane' : 'lane';
    L.add(`let row0 = tile.begin + (sub / ${u(v.groupCols)}) * ${u(rowsPerSub)};`);
    L.add(
      `let col_first = wid.x * ${u(tileCols)} + (sub % ${u(v.groupCols)}) * ${u(colsPerSub)}${v.kind === 'sx4' ? ` + ${own}` : ''};`,
    );
  } else {
    L.add(`let row0 = tile.begin + (lid / ${u(v.groupCols)}) * ${u(v.rows)};`);
    L.add(`let col_first = wid.x * ${u(tileCols)} + lid % ${u(v.groupCols)};`, 'let lane = 0u;');
  }
  L.open(v.quad ? 'if (subgroupAll(row0 >= tile.end)) {' : 'if (row0 >= tile.end) {');
  L.add('return;');
  L.close();
  L.add(`${proj}_tile(expert_table[tile.expert], row0, tile.end, col_first, ${v.quad ? 'qlane, quad0' : 'lane'});`);
  L.close();
  return { file: `<generated expert_gemm ${proj} ${variantName(v)}>`, code: L.out.join('\n') };
}

// ---------------------------------------------------------------------------------------
// Workgroup-memory tiles ('wg'): per chunk of WG_CHUNK reduction values the workgroup
// stages its tile's inputs and DECODED weights in workgroup memory (each code word decoded
// once per workgroup, its scale applied there), then every invocation multiplies its
// register tile from workgroup memory. Layout is chunk-position-major (xs[q·TILE_ROWS + r],
// ws[q·TILE_OUTS + o]) so neighbouring invocations read neighbouring vec4s.

/**
 * Staging of one code word (f32: one vec4) of a weight row, shared by the 'wg' and 'sgm'
 * tiles: WGSL lines that decode word `kw` of output `col` of matrix `mat` (names the caller
 * defines, with `block` and `live` = the word lies inside the reduction) and the expressions
 * of its decoded vec4s (f32: 1, int8/fp8: 1, e2m1: 2), scales applied, 0 where not live.
 */
function decodedWordLines(
  format: WeightFormat,
  W: string,
  sel: (m: (x: MatrixLayout) => number) => string,
  mats: MatrixLayout[],
  kd: number,
): { lines: string[]; quads: string[] } {
  const rowWords = mats[0].rowWords;
  const lines = [`let row_at = block + ${sel((m) => m.codes)} + col * ${u(rowWords)}; // the weight row's first word`];
  const codeWord = `${W}[row_at + min(kw, ${u(rowWords - 1)})]`;
  const masked = (e: string) => `select(vec4f(0.0), ${e}, live)`;
  switch (format) {
    case 'f32':
      lines.push(`let wv = ${W}[row_at / 4u + min(kw, ${u(rowWords / 4 - 1)})];`);
      return { lines, quads: [masked('wv')] };
    case 'int8': // row scale × 127 undoes unpack4x8snorm's 1/127
      lines.push(`let sc = bitcast<f32>(${W}[block + ${sel((m) => m.scales)} + col]) * 127.0;`);
      return { lines, quads: [masked(`unpack4x8snorm(${codeWord}) * sc`)] };
    case 'fp8': // one f32 scale per block; a word never straddles two (block columns are multiples of 4)
      lines.push(
        `let block_col = min(kw * 4u, ${u(kd - 1)}) / ${u(mats[0].blockCols)};`,
        `let sb = block + ${sel((m) => m.scales)} + (col / ${u(mats[0].blockRows)}) * ${u(mats[0].blocksPerRow)} + block_col;`,
      );
      return { lines, quads: [masked(`dec_e4m3x4_finite(${codeWord}) * bitcast<f32>(${W}[sb])`)] };
    case 'nvfp4':
      // Group kw/2 (16 values = 2 words): byte (kw/2)%4 of scale word kw/8, times the tensor scale.
      lines.push(
        `let g = min(kw, ${u(rowWords - 1)}) / 2u;`,
        `let code = (${W}[block + ${sel((m) => m.scales)} + col * ${u(mats[0].scaleRowWords)} + g / 4u] >> (8u * (g % 4u))) & 0xffu;`,
        `let d = dec_e2m1x8(${codeWord}, nvfp4_group_scale(code, bitcast<f32>(${W}[block + ${sel((m) => m.tensorScale)}])));`,
      );
      return { lines, quads: [masked('d.lo'), masked('d.hi')] };
    case 'mxfp4':
      // Group kw/4 (32 values = 4 words): byte (kw/4)%4 of scale word kw/16, an e8m0 power of two.
      lines.push(
        `let g = min(kw, ${u(rowWords - 1)}) / 4u;`,
        `let code = (${W}[block + ${sel((m) => m.scales)} + col * ${u(mats[0].scaleRowWords)} + g / 4u] >> (8u * (g % 4u))) & 0xffu;`,
        `let d = dec_e2m1x8(${codeWord}, mxfp4_scale(code));`,
      );
      return { lines, quads: [masked('d.lo'), masked('d.hi')] };
  }
}

/**
 * The workgroup-shared kernels' (wg, sgm) four input values at vec4 index k4 of tile row r, zero
 * past the row's end: one vec4 load when the row's length is a multiple of 4, else four scalars.
 */
function inputQuadAt(kd: number, vecInput: boolean): string {
  if (vecInput) return `select(vec4f(0.0), input_rows[xrow[r] + min(k4, ${u(kd / 4 - 1)})], k4 < ${u(kd / 4)})`;
  const comp = (j: number) =>
    `select(0.0, input_rows[xrow[r] + min(4u * k4 + ${u(j)}, ${u(kd - 1)})], 4u * k4 + ${u(j)} < ${u(kd)})`;
  return `vec4f(${[0, 1, 2, 3].map(comp).join(', ')})`;
}

/** Unit e of a chunk's weight staging (wg, sgm): output o, word w of its row (w fastest), its matrix, column, k word, liveness. */
function weightWordUnit(wordsPerChunk: number, tileCols: number, n: number, perWord: number, kd: number): string[] {
  return [
    `let o = e / ${u(wordsPerChunk)};`,
    `let w = e % ${u(wordsPerChunk)};`,
    `let mat = o / ${u(tileCols)};`,
    `let col = min(col0 + o % ${u(tileCols)}, ${u(n - 1)});`,
    `let kw = kc * ${u(wordsPerChunk)} + w; // word of the weight row`,
    `let live = kw * ${u(perWord)} < ${u(kd)};`,
  ];
}

/**
 * The entry point of the workgroup-shared kernels (wg, sgm): one workgroup per (row tile, column
 * tile); the tile and its expert's block are uniform across the workgroup (read-only storage at
 * the workgroup's index), so the barriers inside the tile function stay in uniform control flow.
 */
function emitSharedTileMain(L: Lines, proj: Projection, tileCols: number, threads: number): void {
  L.add('', `@compute @workgroup_size(${threads})`);
  L.open(
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {',
  );
  L.add('let tile = row_tile(wid.y + wid.z * nwg.y);');
  L.open('if (tile.begin >= tile.end) {');
  L.add('return;');
  L.close();
  L.add(`${proj}_tile(expert_table[tile.expert], tile.begin, tile.end, wid.x * ${u(tileCols)}, lid);`);
  L.close();
}

/** The whole generated part of a 'wg' kernel (composed with expert_gemm.wgsl and weight_decode.wgsl). */
export function workgroupProgramPart(p: CodegenProblem, v: TileVariant, proj: Projection): WgslPart {
  if (v.kind !== 'wg') throw new Error(`workgroupProgramPart: variant ${variantName(v)} is not a wg variant`);
  const l = p.layout;
  const gateUp = proj === 'gate_up';
  const kd = gateUp ? l.hidden : l.expertHidden;
  const n = gateUp ? l.expertHidden : l.hidden;
  const mats = gateUp ? [l.gate, l.up] : [l.down];
  const { tileRows, tileCols, threads } = tileShape(v);
  const outs = tileCols * mats.length;
  const kc4 = WG_CHUNK / 4;
  const chunks = Math.ceil(kd / WG_CHUNK);
  const vecInput = kd % 4 === 0;
  const f16 = v.operands === 'f16';
  const ot = f16 ? 'vec4<f16>' : 'vec4f';
  const stage = (e: string) => (f16 ? `vec4<f16>(${e})` : e);
  const use = (e: string) => (f16 ? `vec4f(${e})` : e);
  const format = l.format;
  // Values per weight element of the binding, and elements per chunk per weight row.
  const perWord = isFp4(format) ? 8 : 4;
  const wordsPerChunk = WG_CHUNK / perWord;
  const L = new Lines();
  if (f16) L.add('enable f16;');
  L.add(
    `// Generated: ${proj} of the grouped expert GEMM, ${format} weights, variant ${variantName(v)}.`,
    `// A workgroup of ${threads} invocations covers ${tileRows} rows of one expert × ${tileCols} output columns`,
    `// (× ${mats.length} matrices); per chunk of ${WG_CHUNK} reduction values it stages the rows' inputs and the`,
    `// decoded weights (${f16 ? 'f16' : 'f32'}) in workgroup memory, each code word decoded once; each invocation`,
    `// then accumulates ${v.rows} rows × ${v.cols} columns × ${mats.length} matrices in f32 registers.`,
    `const EXPERTS = ${u(p.experts)};`,
    `const TILE_ROWS = ${u(tileRows)};`,
    `const TILE_OUTS = ${u(outs)};`,
    `@group(0) @binding(${BINDING.input}) var<storage, read> input_rows: array<${vecInput ? 'vec4f' : 'f32'}>;`,
    `@group(0) @binding(${BINDING.output}) var<storage, read_write> output_rows: array<f32>;`,
    `var<workgroup> xs: array<${ot}, ${tileRows * kc4}>;`,
    `var<workgroup> ws: array<${ot}, ${outs * kc4}>;`,
    `var<workgroup> xrow: array<u32, ${tileRows}>;`,
  );
  L.add(
    `@group(0) @binding(${BINDING.weights}) var<storage, read> weights: array<${format === 'f32' ? 'vec4f' : 'u32'}>;`,
  );
  const inputStride = vecInput ? kd / 4 : kd;
  const sel = (m: (x: MatrixLayout) => number) =>
    mats.length === 1 ? u(m(mats[0])) : `select(${u(m(mats[0]))}, ${u(m(mats[1]))}, mat == 1u)`;
  const W = 'weights';
  L.open(`fn ${proj}_tile(block: u32, row0: u32, row_end: u32, col0: u32, lid: u32) {`);
  L.add('let live_rows = row_end - row0;', `let ty = lid / ${u(v.groupCols)};`, `let tx = lid % ${u(v.groupCols)};`);
  // Input offset of each tile row (rows past the tile's end read its last row: computed, never stored).
  L.open(`for (var r = lid; r < ${u(tileRows)}; r += ${u(threads)}) {`);
  L.add('let row = min(row0 + r, row_end - 1u);');
  L.add(`xrow[r] = ${gateUp ? 'token_of(row)' : 'row'} * ${u(inputStride)};`);
  L.close();
  for (let i = 0; i < v.rows; i++) for (let o = 0; o < v.cols * mats.length; o++) L.add(`var ${acc(i, o)} = 0.0;`);
  L.open(`for (var kc = 0u; kc < ${u(chunks)}; kc++) {`);
  L.add('workgroupBarrier(); // xrow written / the previous chunk consumed');
  // Stage inputs: unit e = (tile row r, chunk position q), q fastest: neighbouring
  // invocations load neighbouring vec4s of one row (coalesced on GPUs).
  L.open(`for (var e = lid; e < ${u(tileRows * kc4)}; e += ${u(threads)}) {`);
  L.add(`let r = e / ${u(kc4)};`, `let q = e % ${u(kc4)};`, `let k4 = kc * ${u(kc4)} + q;`);
  L.add(`xs[q * TILE_ROWS + r] = ${stage(inputQuadAt(kd, vecInput))};`);
  L.close();
  // Stage decoded weights: unit e = (output o = mat·TILE_COLS + c, word w of the chunk), w
  // fastest: neighbouring invocations read neighbouring words of one weight row.
  L.open(`for (var e = lid; e < ${u(outs * wordsPerChunk)}; e += ${u(threads)}) {`);
  L.add(...weightWordUnit(wordsPerChunk, tileCols, n, perWord, kd));
  const staged = decodedWordLines(format, W, sel, mats, kd);
  L.add(...staged.lines);
  staged.quads.forEach((d, j) =>
    L.add(`ws[(w * ${u(perWord / 4)}${j ? ` + ${u(j)}` : ''}) * TILE_OUTS + o] = ${stage(d)};`),
  );
  L.close();
  L.add('workgroupBarrier();');
  // Multiply: own rows ty·rows + i, own columns tx + groupCols·j of each matrix.
  for (let q = 0; q < kc4; q++) {
    L.open('{');
    for (let m = 0; m < mats.length; m++)
      for (let j = 0; j < v.cols; j++)
        L.add(`let w${m * v.cols + j} = ${use(`ws[${u(q * outs + m * tileCols + v.groupCols * j)} + tx]`)};`);
    for (let g = 0; g < v.rows; g += 4) {
      const skip = v.rows > 4;
      if (skip) L.open(`if (live_rows > ty * ${u(v.rows)} + ${u(g)}) {`);
      for (let i = g; i < Math.min(g + 4, v.rows); i++) {
        L.add(`let x${i} = ${use(`xs[${u(q * tileRows + i)} + ty * ${u(v.rows)}]`)};`);
        for (let o = 0; o < v.cols * mats.length; o++) L.add(`${acc(i, o)} += dot(x${i}, w${o});`);
      }
      if (skip) L.close();
    }
    L.close();
  }
  L.close();
  // Epilogue: stores only inside the tile and the matrix.
  for (let i = 0; i < v.rows; i++) {
    const row = `row0 + ty * ${u(v.rows)} + ${u(i)}`;
    L.open(`if (${row} < row_end) {`);
    for (let j = 0; j < v.cols; j++) {
      const col = `col0 + tx + ${u(v.groupCols * j)}`;
      const value = gateUp ? `silu(${acc(i, j)}) * ${acc(i, v.cols + j)}` : acc(i, j);
      L.open(`if (${col} < ${u(n)}) {`);
      L.add(`output_rows[(${row}) * ${u(n)} + ${col}] = ${value};`);
      L.close();
    }
    L.close();
  }
  L.close();
  emitSharedTileMain(L, proj, tileCols, threads);
  return { file: `<generated expert_gemm ${proj} ${variantName(v)}>`, code: L.out.join('\n') };
}

// ---------------------------------------------------------------------------------------
// Subgroup-matrix tiles ('sgm'): staged like 'wg' (per chunk of KC reduction values, the
// tile's inputs and decoded weights in workgroup memory, as scalars of the operand type),
// multiplied by subgroup matrices: for each K-slice of the chunk, `rows` left matrices
// (M×K, row-major in xs, stride KC) times `cols` right matrices per weight matrix (K×N:
// weight rows are the right matrix's columns, so column-major in ws, stride KC) accumulate
// into rows·cols·matrices f32 result matrices (M×N). After the last chunk the results go to
// workgroup memory (rs, row-major, stride tileCols·matrices) and the workgroup writes the
// live rows and columns (gate_up applies SwiGLU there). The workgroup is `lanes` invocations,
// the adapter's subgroupMaxSize, as the feature requires; where the adapter runs smaller
// subgroups each computes the whole tile (same values, written twice).
//
// `emulated`: the subgroup-matrix types and builtins are replaced by WGSL functions in which
// every invocation holds whole matrices (same layouts, same loads and stores), so the
// generator's staging, offsets and epilogue can be checked against the float64 reference on
// adapters without the feature (f32 operands only; no speed meaning).

/** The whole generated part of an 'sgm' kernel (composed with expert_gemm.wgsl and weight_decode.wgsl). */
export function subgroupMatrixProgramPart(
  p: CodegenProblem,
  v: TileVariant,
  proj: Projection,
  emulated = false,
): WgslPart {
  if (v.kind !== 'sgm' || !v.matrix || v.lanes === undefined)
    throw new Error(
      `subgroupMatrixProgramPart: variant ${variantName(v)} is not an sgm variant with its matrix shape and lanes resolved`,
    );
  const f16 = v.operands === 'f16';
  if (emulated && f16) throw new Error('subgroupMatrixProgramPart: the emulation covers f32 operands only');
  const { m: M, n: N, k: K } = v.matrix;
  const lanes = v.lanes;
  const l = p.layout;
  const gateUp = proj === 'gate_up';
  const kd = gateUp ? l.hidden : l.expertHidden;
  const n = gateUp ? l.expertHidden : l.hidden;
  const mats = gateUp ? [l.gate, l.up] : [l.down];
  const { tileRows, tileCols } = tileShape(v);
  const outs = tileCols * mats.length;
  const KC = sgmChunk(v.matrix);
  const kc4 = KC / 4;
  const chunks = Math.ceil(kd / KC);
  const vecInput = kd % 4 === 0;
  const format = l.format;
  const perWord = isFp4(format) ? 8 : 4;
  const wordsPerChunk = KC / perWord;
  const T = f16 ? 'f16' : 'f32';
  const stage = (e: string) => (f16 ? `f16(${e})` : e);
  const comps = ['x', 'y', 'z', 'w'];
  // The subgroup-matrix operations, or their emulation.
  const left = `subgroup_matrix_left<${T}, ${K}, ${M}>`;
  const right = `subgroup_matrix_right<${T}, ${N}, ${K}>`;
  const result = `subgroup_matrix_result<f32, ${N}, ${M}>`;
  const op = emulated
    ? {
        zero: 'SgmResult()',
        left: (off: number) => `sgm_load_left(${u(off)})`,
        right: (off: number) => `sgm_load_right(${u(off)})`,
        mma: (a: string, b: string, c: string) => `sgm_mma(${a}, ${b}, ${c})`,
        store: (off: number, c: string) => `sgm_store(${u(off)}, ${c});`,
      }
    : {
        zero: `${result}()`,
        left: (off: number) => `subgroupMatrixLoad<${left}, row_major>(&xs, ${u(off)}, ${u(KC)})`,
        right: (off: number) => `subgroupMatrixLoad<${right}, col_major>(&ws, ${u(off)}, ${u(KC)})`,
        mma: (a: string, b: string, c: string) => `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${c})`,
        store: (off: number, c: string) => `subgroupMatrixStore<row_major>(&rs, ${u(off)}, ${c}, ${u(outs)});`,
      };
  const L = new Lines();
  if (!emulated) L.add(f16 ? 'enable f16;' : '', 'enable chromium_experimental_subgroup_matrix;');
  L.add(
    `// Generated: ${proj} of the grouped expert GEMM, ${format} weights, variant ${variantName(v)}${emulated ? ' (subgroup matrices emulated)' : ''}.`,
    `// A workgroup of ${lanes} invocations (one subgroup) covers ${tileRows} rows of one expert × ${tileCols} output columns`,
    `// (× ${mats.length} matrices) as ${v.rows}×${v.cols * mats.length} result matrices of ${M}×${N}; per chunk of ${KC} reduction values`,
    `// it stages the rows' inputs and the decoded weights (${T}) in workgroup memory, each code word decoded once,`,
    `// then multiplies ${M}×${K} by ${K}×${N} subgroup matrices into f32 results.`,
    `const EXPERTS = ${u(p.experts)};`,
    `const TILE_ROWS = ${u(tileRows)};`,
    `@group(0) @binding(${BINDING.input}) var<storage, read> input_rows: array<${vecInput ? 'vec4f' : 'f32'}>;`,
    `@group(0) @binding(${BINDING.output}) var<storage, read_write> output_rows: array<f32>;`,
    `var<workgroup> xs: array<${T}, ${tileRows * KC}>; // [tile row][chunk position]`,
    `var<workgroup> ws: array<${T}, ${outs * KC}>; // [matrix · tile column][chunk position]`,
    `var<workgroup> rs: array<f32, ${tileRows * outs}>; // [tile row][matrix · tile column]`,
    `var<workgroup> xrow: array<u32, ${tileRows}>;`,
  );
  if (emulated) {
    L.add(
      `struct SgmLeft { v: array<f32, ${M * K}> } // row-major M×K`,
      `struct SgmRight { v: array<f32, ${K * N}> } // row-major K×N`,
      `struct SgmResult { v: array<f32, ${M * N}> } // row-major M×N`,
      `fn sgm_load_left(off: u32) -> SgmLeft {`,
      `  var a: SgmLeft;`,
      `  for (var r = 0u; r < ${u(M)}; r++) { for (var c = 0u; c < ${u(K)}; c++) { a.v[r * ${u(K)} + c] = xs[off + ${u(KC)} * r + c]; } }`,
      `  return a;`,
      `}`,
      `fn sgm_load_right(off: u32) -> SgmRight { // column-major: [r][c] at off + stride·c + r`,
      `  var a: SgmRight;`,
      `  for (var r = 0u; r < ${u(K)}; r++) { for (var c = 0u; c < ${u(N)}; c++) { a.v[r * ${u(N)} + c] = ws[off + ${u(KC)} * c + r]; } }`,
      `  return a;`,
      `}`,
      `fn sgm_mma(a: SgmLeft, b: SgmRight, acc: SgmResult) -> SgmResult {`,
      `  var d = acc;`,
      `  for (var r = 0u; r < ${u(M)}; r++) { for (var c = 0u; c < ${u(N)}; c++) {`,
      `    var s = d.v[r * ${u(N)} + c];`,
      `    for (var k = 0u; k < ${u(K)}; k++) { s += a.v[r * ${u(K)} + k] * b.v[k * ${u(N)} + c]; }`,
      `    d.v[r * ${u(N)} + c] = s;`,
      `  } }`,
      `  return d;`,
      `}`,
      `fn sgm_store(off: u32, a: SgmResult) {`,
      `  for (var r = 0u; r < ${u(M)}; r++) { for (var c = 0u; c < ${u(N)}; c++) { rs[off + ${u(outs)} * r + c] = a.v[r * ${u(N)} + c]; } }`,
      `}`,
    );
  }
  L.add(
    `@group(0) @binding(${BINDING.weights}) var<storage, read> weights: array<${format === 'f32' ? 'vec4f' : 'u32'}>;`,
  );
  const inputStride = vecInput ? kd / 4 : kd;
  const sel = (m: (x: MatrixLayout) => number) =>
    mats.length === 1 ? u(m(mats[0])) : `select(${u(m(mats[0]))}, ${u(m(mats[1]))}, mat == 1u)`;
  const accName = (i: number, mat: number, j: number) => `acc${i}_${mat}_${j}`;
  const W = 'weights';
  L.open(`fn ${proj}_tile(block: u32, row0: u32, row_end: u32, col0: u32, lid: u32) {`);
  L.open(`for (var r = lid; r < ${u(tileRows)}; r += ${u(lanes)}) {`);
  L.add('let row = min(row0 + r, row_end - 1u); // rows past the tile read its last row, never stored');
  L.add(`xrow[r] = ${gateUp ? 'token_of(row)' : 'row'} * ${u(inputStride)};`);
  L.close();
  for (let i = 0; i < v.rows; i++)
    for (let mat = 0; mat < mats.length; mat++)
      for (let j = 0; j < v.cols; j++) L.add(`var ${accName(i, mat, j)} = ${op.zero};`);
  L.open(`for (var kc = 0u; kc < ${u(chunks)}; kc++) {`);
  L.add('workgroupBarrier(); // xrow written / the previous chunk consumed');
  L.open(`for (var e = lid; e < ${u(tileRows * kc4)}; e += ${u(lanes)}) {`);
  L.add(`let r = e / ${u(kc4)};`, `let q = e % ${u(kc4)};`, `let k4 = kc * ${u(kc4)} + q;`);
  L.add(`let xv = ${inputQuadAt(kd, vecInput)};`);
  comps.forEach((c, j) => L.add(`xs[r * ${u(KC)} + 4u * q + ${u(j)}] = ${stage(`xv.${c}`)};`));
  L.close();
  L.open(`for (var e = lid; e < ${u(outs * wordsPerChunk)}; e += ${u(lanes)}) {`);
  L.add(...weightWordUnit(wordsPerChunk, tileCols, n, perWord, kd));
  const staged = decodedWordLines(format, W, sel, mats, kd);
  L.add(...staged.lines);
  staged.quads.forEach((d, j) => {
    L.add(`let d${j} = ${d};`);
    comps.forEach((c, t) => L.add(`ws[o * ${u(KC)} + w * ${u(perWord)} + ${u(4 * j + t)}] = ${stage(`d${j}.${c}`)};`));
  });
  L.close();
  L.add('workgroupBarrier();');
  for (let kk = 0; kk < KC / K; kk++) {
    L.open('{');
    for (let i = 0; i < v.rows; i++) L.add(`let a${i} = ${op.left(i * M * KC + kk * K)};`);
    for (let mat = 0; mat < mats.length; mat++)
      for (let j = 0; j < v.cols; j++) {
        L.add(`let b${mat}_${j} = ${op.right((mat * tileCols + j * N) * KC + kk * K)};`);
        for (let i = 0; i < v.rows; i++)
          L.add(`${accName(i, mat, j)} = ${op.mma(`a${i}`, `b${mat}_${j}`, accName(i, mat, j))};`);
      }
    L.close();
  }
  L.close();
  for (let i = 0; i < v.rows; i++)
    for (let mat = 0; mat < mats.length; mat++)
      for (let j = 0; j < v.cols; j++) L.add(op.store(i * M * outs + mat * tileCols + j * N, accName(i, mat, j)));
  L.add('workgroupBarrier();');
  L.open(`for (var e = lid; e < ${u(tileRows * tileCols)}; e += ${u(lanes)}) {`);
  L.add(`let r = e / ${u(tileCols)};`, `let c = e % ${u(tileCols)};`);
  L.open(`if (row0 + r < row_end && col0 + c < ${u(n)}) {`);
  const value = gateUp
    ? `silu(rs[r * ${u(outs)} + c]) * rs[r * ${u(outs)} + ${u(tileCols)} + c]`
    : `rs[r * ${u(outs)} + c]`;
  L.add(`output_rows[(row0 + r) * ${u(n)} + col0 + c] = ${value};`);
  L.close();
  L.close();
  L.close();
  emitSharedTileMain(L, proj, tileCols, lanes);
  return {
    file: `<generated expert_gemm ${proj} ${variantName(v)}${emulated ? ' emulated' : ''}>`,
    code: L.out.filter((x, i) => x !== '' || i > 0).join('\n'),
  };
}
