// Weight formats of the routed and shared experts, and the byte layout of one expert.
//
// One expert is ONE contiguous block of u32 words holding gate, up and down (codes and
// scales), because a DWDP pull moves whole experts: `bytes` is what travels over the wire.
// The GEMM kernels read these blocks in place and decode them in their load path;
// decodeExpert gives exactly the f32 values those kernels multiply with.
//
// Formats (HF layout: gate/up [F,H], down [H,F]; a row is an output channel, the
// reduction runs along a row):
//   f32    4 B/param.
//   int8   symmetric, one f32 scale per output row.                 ≈1 B/param
//   fp8    OCP E4M3FN codes, one f32 scale per block (DeepSeek: 128×128,
//          `quantization_config.weight_block_size`, [rows, cols]).   ≈1 B/param
//   nvfp4  e2m1 codes, one e4m3 scale per 16 values along a row, one f32 scale per
//          tensor (NVIDIA's two-level NVFP4).                        ≈0.5625 B/param
//   mxfp4  e2m1 codes, one e8m0 scale (a power of two) per 32 values along a row
//          (OCP Microscaling MXFP4; gpt-oss ships its experts so).  ≈0.53125 B/param
//
// Word layout of a matrix section (all offsets in u32 words from the expert block start,
// every section start a multiple of 4 words so kernels may use vec4 loads):
//   codes   row-major, each row padded to a multiple of 16 bytes with zero codes
//           (f32: 1 value/word; int8, fp8: 4 per word, byte j = column 4w+j;
//           nvfp4, mxfp4: 8 per word, nibble j = column 8w+j)
//   scales  int8: f32 per row; fp8: f32 per block, row-major over the block grid;
//           nvfp4: e4m3 bytes per (row, 16 columns), each row's bytes padded to whole
//           words (byte j of word w of row r = group 4w+j), then one f32 tensor scale;
//           mxfp4: e8m0 bytes per (row, 32 columns), laid out as nvfp4's, no tensor scale.

import type { Rng } from '../util/random.ts';

export type WeightFormat = 'f32' | 'int8' | 'fp8' | 'nvfp4' | 'mxfp4';

export const WEIGHT_FORMATS: readonly WeightFormat[] = ['f32', 'int8', 'fp8', 'nvfp4', 'mxfp4'];

export function parseWeightFormat(s: string): WeightFormat {
  const f = s.trim().toLowerCase();
  if ((WEIGHT_FORMATS as readonly string[]).includes(f)) return f as WeightFormat;
  throw new Error(`unknown weight format '${s}' (valid: ${WEIGHT_FORMATS.join(', ')})`);
}

/** DeepSeek-V3/R1's fp8 block ([rows, cols] of the HF weight), used when none is given. */
export const DEFAULT_FP8_BLOCK: readonly [number, number] = [128, 128];

/** Values per nvfp4 scale (along the reduction dimension). */
export const NVFP4_GROUP = 16;
/** Values per mxfp4 scale (along the reduction dimension; OCP MX block size). */
export const MXFP4_GROUP = 32;

/** Values per scale along a row for the e2m1 formats (nvfp4 16, mxfp4 32); undefined for the others. */
export function fp4Group(format: WeightFormat): number | undefined {
  return format === 'nvfp4' ? NVFP4_GROUP : format === 'mxfp4' ? MXFP4_GROUP : undefined;
}

/** Where one matrix of an expert lives inside the expert block. */
export interface MatrixLayout {
  /** Output channels (rows) and reduction length (columns) of the HF weight. */
  rows: number;
  cols: number;
  /** Word offset of the codes and u32 words per (padded) row of codes. */
  codes: number;
  rowWords: number;
  /** Word offset of the scales (int8/fp8: f32; nvfp4: packed e4m3) and words per scale row (nvfp4). */
  scales: number;
  scaleRowWords: number;
  /** fp8: block grid [rows, cols] and blocks per block-row. */
  blockRows: number;
  blockCols: number;
  blocksPerRow: number;
  /** nvfp4: word offset of the f32 tensor scale. */
  tensorScale: number;
  /** Words this matrix takes (a multiple of 4). */
  words: number;
}

export interface ExpertLayout {
  format: WeightFormat;
  hidden: number;
  expertHidden: number;
  /** u32 words per expert block (a multiple of 4, so consecutive blocks stay 16-byte aligned). */
  words: number;
  /** Bytes per expert block: what a DWDP pull moves. */
  bytes: number;
  /** Bytes per parameter, including scales and padding. */
  bytesPerParam: number;
  /** fp8 block shape [rows, cols] (also recorded for other formats, unused there). */
  block: readonly [number, number];
  gate: MatrixLayout;
  up: MatrixLayout;
  down: MatrixLayout;
}

export interface LayoutOptions {
  /** fp8 scale block [rows, cols] (HF `weight_block_size`); default 128×128. Columns must be a multiple of 4. */
  block?: readonly [number, number];
}

const align4 = (n: number): number => Math.ceil(n / 4) * 4;

/** Values stored per code word. */
export function valuesPerWord(format: WeightFormat): number {
  return format === 'f32' ? 1 : fp4Group(format) !== undefined ? 8 : 4;
}

function matrixLayout(
  format: WeightFormat,
  rows: number,
  cols: number,
  at: number,
  block: readonly [number, number],
): MatrixLayout {
  const vpw = valuesPerWord(format);
  // Rows padded to 16 bytes: 4 words whatever the format.
  const rowWords = align4(Math.ceil(cols / vpw));
  const codes = at;
  const scales = codes + rows * rowWords;
  let scaleWords = 0;
  let scaleRowWords = 0;
  let tensorScale = 0;
  const [bR, bC] = block;
  const blocksPerRow = Math.ceil(cols / bC);
  if (format === 'int8') scaleWords = rows;
  else if (format === 'fp8') scaleWords = Math.ceil(rows / bR) * blocksPerRow;
  else if (format === 'nvfp4') {
    scaleRowWords = Math.ceil(cols / NVFP4_GROUP / 4);
    tensorScale = scales + rows * scaleRowWords;
    scaleWords = rows * scaleRowWords + 1;
  } else if (format === 'mxfp4') {
    scaleRowWords = Math.ceil(cols / MXFP4_GROUP / 4);
    scaleWords = rows * scaleRowWords;
  }
  const words = align4(rows * rowWords + scaleWords);
  return {
    rows,
    cols,
    codes,
    rowWords,
    scales,
    scaleRowWords,
    blockRows: bR,
    blockCols: bC,
    blocksPerRow,
    tensorScale,
    words,
  };
}

export function expertLayout(
  format: WeightFormat,
  hidden: number,
  expertHidden: number,
  opts: LayoutOptions = {},
): ExpertLayout {
  for (const [name, v] of [
    ['hidden', hidden],
    ['expertHidden', expertHidden],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`expertLayout: ${name} must be a positive integer, got ${v}`);
    const group = fp4Group(format);
    if (group !== undefined && v % group !== 0) {
      const scale = format === 'nvfp4' ? 'e4m3' : 'e8m0';
      throw new Error(
        `expertLayout: ${format} needs ${name} to be a multiple of ${group} (one ${scale} scale per ${group} values), got ${v}`,
      );
    }
  }
  const block = opts.block ?? DEFAULT_FP8_BLOCK;
  if (format === 'fp8') {
    const [bR, bC] = block;
    if (!(Number.isInteger(bR) && bR >= 1 && Number.isInteger(bC) && bC >= 4 && bC % 4 === 0)) {
      throw new Error(`expertLayout: fp8 block must be [rows ≥ 1, cols a positive multiple of 4], got [${bR}, ${bC}]`);
    }
  }
  const gate = matrixLayout(format, expertHidden, hidden, 0, block);
  const up = matrixLayout(format, expertHidden, hidden, gate.words, block);
  const down = matrixLayout(format, hidden, expertHidden, gate.words + up.words, block);
  const words = gate.words + up.words + down.words;
  return {
    format,
    hidden,
    expertHidden,
    words,
    bytes: words * 4,
    bytesPerParam: (words * 4) / (3 * hidden * expertHidden),
    block: [block[0], block[1]],
    gate,
    up,
    down,
  };
}

// ---------------------------------------------------------------------------------------
// Minifloat codes. E4M3FN (OCP FP8): bias 7, no infinities, S.1111.111 = NaN, max 448.
// E2M1 (OCP MX FP4): bias 1, values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}.

export function decodeE4M3(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const e = (code >> 3) & 0xf;
  const m = code & 7;
  if (e === 15 && m === 7) return NaN;
  return sign * (e === 0 ? (m / 8) * 2 ** -6 : (1 + m / 8) * 2 ** (e - 7));
}

export function decodeE2M1(code: number): number {
  const sign = code & 8 ? -1 : 1;
  const e = (code >> 1) & 3;
  const m = code & 1;
  return sign * (e === 0 ? m * 0.5 : (1 + m / 2) * 2 ** (e - 1));
}

/**
 * E8M0 (OCP MX scale): 2^(code − 127), code 255 = NaN. Codes 0 and 1 are 2^-127 and 2^-126;
 * packExpert never writes a scale below 2^-125, so every e2m1 × scale product is a normal f32
 * (GPUs may flush subnormals to zero) and the kernels' products equal decodeExpert's exactly.
 */
export function decodeE8M0(code: number): number {
  return code === 255 ? NaN : 2 ** (code - 127);
}

/** The lowest e8m0 scale code packExpert writes (2^-125: see decodeE8M0). */
export const E8M0_MIN_PACKED = 2;

/** Non-negative finite magnitudes in code order (code = index), for nearest-even search. */
const E4M3_MAGNITUDES = Array.from({ length: 0x7f }, (_, c) => decodeE4M3(c)); // 0x7f is NaN
const E2M1_MAGNITUDES = Array.from({ length: 8 }, (_, c) => decodeE2M1(c));

/**
 * Round |x| to the nearest entry of an ascending magnitude table, ties to the even code
 * (even mantissa), saturating at the largest entry. Returns the code (index).
 */
function nearestEven(table: readonly number[], a: number): number {
  const last = table.length - 1;
  if (!(a < table[last])) return last; // saturate (also +Infinity)
  let lo = 0;
  let hi = last; // table[lo] <= a < table[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid] <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - table[lo];
  const dHi = table[hi] - a;
  if (dLo < dHi) return lo;
  if (dHi < dLo) return hi;
  return lo % 2 === 0 ? lo : hi;
}

function signed(x: number, what: string): { neg: boolean; a: number } {
  if (Number.isNaN(x)) throw new RangeError(`${what}: cannot encode NaN`);
  return { neg: x < 0 || Object.is(x, -0), a: Math.abs(x) };
}

/** Nearest E4M3FN code (ties to even), saturating at ±448; never returns a NaN code. */
export function encodeE4M3(x: number): number {
  const { neg, a } = signed(x, 'encodeE4M3');
  return (neg ? 0x80 : 0) | nearestEven(E4M3_MAGNITUDES, a);
}

/** Nearest E2M1 code (ties to even), saturating at ±6. */
export function encodeE2M1(x: number): number {
  const { neg, a } = signed(x, 'encodeE2M1');
  return (neg ? 8 : 0) | nearestEven(E2M1_MAGNITUDES, a);
}

/** Round half to even (Math.round rounds halves up). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const f32 = Math.fround;
const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);
const toBits = (v: number): number => ((f32Bits[0] = v), u32Bits[0]);
const fromBits = (b: number): number => ((u32Bits[0] = b >>> 0), f32Bits[0]);

// ---------------------------------------------------------------------------------------
// Packing (quantization) and decoding of one matrix.

function maxAbs(m: Float32Array, r0: number, r1: number, c0: number, c1: number, cols: number): number {
  let a = 0;
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) a = Math.max(a, Math.abs(m[r * cols + c]));
  return a;
}

function setByte(out: Uint32Array, word: number, byte: number, v: number): void {
  out[word] = (out[word] & ~(0xff << (8 * byte))) | ((v & 0xff) << (8 * byte));
}

function packMatrix(
  format: WeightFormat,
  ml: MatrixLayout,
  m: Float32Array,
  out: Uint32Array,
  base: number,
  what: string,
): void {
  const { rows, cols, rowWords } = ml;
  if (m.length !== rows * cols) throw new Error(`packExpert: ${what} has ${m.length} values, expected ${rows}×${cols}`);
  for (let i = 0; i < m.length; i++) {
    if (!Number.isFinite(m[i]))
      throw new RangeError(`packExpert: ${what}[${Math.floor(i / cols)}, ${i % cols}] is ${m[i]}`);
  }
  out.fill(0, base + ml.codes, base + ml.codes + ml.words);
  const codes = base + ml.codes;
  const scales = base + ml.scales;
  switch (format) {
    case 'f32':
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) out[codes + r * rowWords + c] = toBits(m[r * cols + c]);
      return;
    case 'int8':
      for (let r = 0; r < rows; r++) {
        const s = f32(maxAbs(m, r, r + 1, 0, cols, cols) / 127);
        out[scales + r] = toBits(s);
        for (let c = 0; c < cols; c++) {
          const q = s === 0 ? 0 : Math.max(-127, Math.min(127, roundEven(m[r * cols + c] / s)));
          setByte(out, codes + r * rowWords + (c >> 2), c & 3, q);
        }
      }
      return;
    case 'fp8': {
      const { blockRows: bR, blockCols: bC, blocksPerRow } = ml;
      for (let br = 0; br * bR < rows; br++) {
        for (let bc = 0; bc < blocksPerRow; bc++) {
          const r0 = br * bR,
            r1 = Math.min(rows, r0 + bR);
          const c0 = bc * bC,
            c1 = Math.min(cols, c0 + bC);
          const s = f32(maxAbs(m, r0, r1, c0, c1, cols) / 448);
          out[scales + br * blocksPerRow + bc] = toBits(s);
          for (let r = r0; r < r1; r++) {
            for (let c = c0; c < c1; c++) {
              const q = s === 0 ? 0 : encodeE4M3(m[r * cols + c] / s);
              setByte(out, codes + r * rowWords + (c >> 2), c & 3, q);
            }
          }
        }
      }
      return;
    }
    case 'nvfp4': {
      // Tensor scale maps the largest group scale onto e4m3's top (448) and e2m1's top (6).
      const g = f32(maxAbs(m, 0, rows, 0, cols, cols) / (6 * 448));
      out[base + ml.tensorScale] = toBits(g);
      for (let r = 0; r < rows; r++) {
        for (let grp = 0; grp < cols / NVFP4_GROUP; grp++) {
          const c0 = grp * NVFP4_GROUP;
          const sCode = g === 0 ? 0 : encodeE4M3(maxAbs(m, r, r + 1, c0, c0 + NVFP4_GROUP, cols) / 6 / g);
          setByte(out, scales + r * ml.scaleRowWords + (grp >> 2), grp & 3, sCode);
          const gs = f32(decodeE4M3(sCode) * g);
          for (let c = c0; c < c0 + NVFP4_GROUP; c++) {
            const q = gs === 0 ? 0 : encodeE2M1(m[r * cols + c] / gs);
            const w = codes + r * rowWords + (c >> 3);
            const sh = 4 * (c & 7);
            out[w] = (out[w] & ~(0xf << sh)) | (q << sh);
          }
        }
      }
      return;
    }
    case 'mxfp4': {
      // Per 32 values: the smallest power of two 2^e with 6·2^e ≥ the block's largest magnitude
      // (no clipping at e2m1's top), then each value rounded to e2m1 (ties to even) at that scale.
      for (let r = 0; r < rows; r++) {
        for (let grp = 0; grp < cols / MXFP4_GROUP; grp++) {
          const c0 = grp * MXFP4_GROUP;
          const code = mxfp4ScaleCode(maxAbs(m, r, r + 1, c0, c0 + MXFP4_GROUP, cols));
          setByte(out, scales + r * ml.scaleRowWords + (grp >> 2), grp & 3, code);
          const s = decodeE8M0(code);
          for (let c = c0; c < c0 + MXFP4_GROUP; c++) {
            const q = encodeE2M1(m[r * cols + c] / s);
            const w = codes + r * rowWords + (c >> 3);
            const sh = 4 * (c & 7);
            out[w] = (out[w] & ~(0xf << sh)) | (q << sh);
          }
        }
      }
      return;
    }
  }
}

/** The e8m0 code of a block whose largest magnitude is `amax`: 6·2^(code−127) ≥ amax, as small as allowed. */
export function mxfp4ScaleCode(amax: number): number {
  if (!(amax > 0)) return 127; // an all-zero block: scale 1, codes 0
  let e = Math.ceil(Math.log2(amax / 6));
  while (6 * 2 ** e < amax) e++; // log2 may round either way
  while (6 * 2 ** (e - 1) >= amax) e--;
  return Math.min(254, Math.max(E8M0_MIN_PACKED, e + 127));
}

function decodeMatrix(format: WeightFormat, ml: MatrixLayout, words: Uint32Array, base: number): Float32Array {
  const { rows, cols, rowWords } = ml;
  const out = new Float32Array(rows * cols);
  const codes = base + ml.codes;
  const scales = base + ml.scales;
  const byteAt = (word: number, byte: number): number => (words[word] >>> (8 * byte)) & 0xff;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let v: number;
      switch (format) {
        case 'f32':
          v = fromBits(words[codes + r * rowWords + c]);
          break;
        case 'int8':
          v = f32(((byteAt(codes + r * rowWords + (c >> 2), c & 3) << 24) >> 24) * fromBits(words[scales + r]));
          break;
        case 'fp8': {
          const s = fromBits(
            words[scales + Math.floor(r / ml.blockRows) * ml.blocksPerRow + Math.floor(c / ml.blockCols)],
          );
          v = f32(decodeE4M3(byteAt(codes + r * rowWords + (c >> 2), c & 3)) * s);
          break;
        }
        case 'nvfp4': {
          // value = e2m1 × round_f32(e4m3 × tensor scale): the group scale is formed once, in f32.
          const grp = c >> 4;
          const sCode = byteAt(scales + r * ml.scaleRowWords + (grp >> 2), grp & 3);
          const gs = f32(decodeE4M3(sCode) * fromBits(words[base + ml.tensorScale]));
          v = f32(decodeE2M1((words[codes + r * rowWords + (c >> 3)] >>> (4 * (c & 7))) & 0xf) * gs);
          break;
        }
        case 'mxfp4': {
          // value = e2m1 × 2^(e8m0 − 127): exact in f32 for every scale packExpert writes.
          const grp = c >> 5;
          const s = decodeE8M0(byteAt(scales + r * ml.scaleRowWords + (grp >> 2), grp & 3));
          v = f32(decodeE2M1((words[codes + r * rowWords + (c >> 3)] >>> (4 * (c & 7))) & 0xf) * s);
          break;
        }
      }
      out[r * cols + c] = v;
    }
  }
  return out;
}

function checkRoom(l: ExpertLayout, out: Uint32Array, atWord: number, what: string): void {
  if (!Number.isInteger(atWord) || atWord < 0 || atWord + l.words > out.length) {
    throw new RangeError(`${what}: expert block [${atWord}, ${atWord + l.words}) does not fit in ${out.length} words`);
  }
}

/** Quantizes gate [F,H], up [F,H], down [H,F] into out[atWord .. atWord + l.words). */
export function packExpert(
  l: ExpertLayout,
  gate: Float32Array,
  up: Float32Array,
  down: Float32Array,
  out: Uint32Array,
  atWord: number,
): void {
  checkRoom(l, out, atWord, 'packExpert');
  packMatrix(l.format, l.gate, gate, out, atWord, 'gate');
  packMatrix(l.format, l.up, up, out, atWord, 'up');
  packMatrix(l.format, l.down, down, out, atWord, 'down');
}

/**
 * Packs one expert of fresh random weights at the init scale, gate and up [F,H] ~ N(0, 1/H) and
 * down [H,F] ~ N(0, 1/F) (fan-in scaling: unit-variance inputs give unit-order outputs), drawn
 * from `rng` in that order, into out[atWord .. atWord + l.words); returns what the kernels will
 * multiply with (decodeExpert of the block).
 */
export function packRandomExpert(
  l: ExpertLayout,
  rng: Rng,
  out: Uint32Array,
  atWord: number,
): { gate: Float32Array; up: Float32Array; down: Float32Array } {
  const { hidden: H, expertHidden: F } = l;
  packExpert(
    l,
    rng.normals(F * H, 1 / Math.sqrt(H)),
    rng.normals(F * H, 1 / Math.sqrt(H)),
    rng.normals(H * F, 1 / Math.sqrt(F)),
    out,
    atWord,
  );
  return decodeExpert(l, out, atWord);
}

/** Exactly the f32 values the kernels multiply with (NaN codes decode to NaN). */
export function decodeExpert(
  l: ExpertLayout,
  words: Uint32Array,
  atWord: number,
): { gate: Float32Array; up: Float32Array; down: Float32Array } {
  checkRoom(l, words, atWord, 'decodeExpert');
  return {
    gate: decodeMatrix(l.format, l.gate, words, atWord),
    up: decodeMatrix(l.format, l.up, words, atWord),
    down: decodeMatrix(l.format, l.down, words, atWord),
  };
}
