// Attention stand-in (shaders/attention.wgsl): causal multi-head self-attention over a
// batch of requests packed back to back, each request attending only to itself; plus its
// float64 CPU reference.
//
// Cost: per head, query i of a request scores i+1 keys and sums i+1 values, each a
// HEAD_DIM-long multiply-add, so one call does Σ_r len_r·(len_r + 1)·D multiply-adds
// (D = heads·headDim), i.e. 2·Σ len_r·(len_r + 1)·D FLOPs: quadratic in each request's own
// length — see attentionFlops. The DWDP strategies use it as the per-rank compute that
// grows with that rank's sequence lengths.
import { ComputeProgram, gridDimension, wgslProgram, type Gpu, type GpuTimer } from '../gpu/index.ts';
import { SizeUniforms } from './routing-params.ts';

const BLOCK_Q = 64; // must match attention.wgsl
// K and V tiles together. Small on purpose: Dawn zero-fills workgroup memory and
// SwiftShader's pipeline compile time grows with it (8 heads × 64: 0.6 s with 4 KiB of
// tiles, 3.5 s with 12 KiB), while run time measured here was flat from 4 to 24 keys per tile.
const TILE_BYTES = 4 * 1024;
export const MAX_HEAD_DIM = 256;

/** Keys per K/V tile when none is asked for: what fits TILE_BYTES, at most 32. */
export function defaultBlockK(headDim: number): number {
  return Math.max(1, Math.min(32, Math.floor(TILE_BYTES / (8 * headDim))));
}

export interface AttentionParams {
  heads: number;
  headDim: number;
}

export interface AttentionBuffers {
  /** [S, heads·headDim] f32 each. */
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** [S, heads·headDim] f32 (written). */
  out: GPUBuffer;
  /** [requests + 1] u32: 0, …, S (non-decreasing) — see packOffsets. */
  seqOffsets: GPUBuffer;
  /** S = Σ lengths */
  tokens: number;
  requests: number;
}

/** Request offsets [0, l0, l0+l1, …, S] for seqOffsets. */
export function packOffsets(lengths: readonly number[]): Uint32Array {
  const off = new Uint32Array(lengths.length + 1);
  lengths.forEach((len, r) => {
    if (!Number.isInteger(len) || len < 0) throw new Error(`attention: request ${r} has length ${len}`);
    off[r + 1] = off[r] + len;
  });
  return off;
}

/** FLOPs of one call: 2·Σ len·(len+1)·d (QKᵀ and PV, causal), d = heads·headDim. */
export function attentionFlops(lengths: readonly number[], d: number): number {
  return lengths.reduce((sum, len) => sum + 2 * len * (len + 1) * d, 0);
}

export class AttentionKernel {
  private readonly sizes: SizeUniforms;

  private constructor(
    private readonly gpu: Gpu,
    readonly params: AttentionParams,
    private readonly program: ComputeProgram,
  ) {
    this.sizes = new SizeUniforms(gpu.device, 'attention');
  }

  /**
   * `blockK` (keys per K/V tile) defaults to what fits TILE_BYTES, at most 32; smaller
   * tiles compile faster on SwiftShader (see TILE_BYTES) and run with more barriers.
   */
  static async create(gpu: Gpu, p: AttentionParams, opts: { blockK?: number } = {}): Promise<AttentionKernel> {
    if (!Number.isInteger(p.heads) || p.heads < 1)
      throw new Error(`attention: heads must be a positive integer (got ${p.heads})`);
    gridDimension(p.heads, gpu.device.limits, `attention with heads = ${p.heads} (one workgroup row per head)`);
    if (!Number.isInteger(p.headDim) || p.headDim < 1 || p.headDim > MAX_HEAD_DIM) {
      throw new Error(`attention: headDim must be an integer in [1, ${MAX_HEAD_DIM}] (got ${p.headDim})`);
    }
    const blockK = opts.blockK ?? defaultBlockK(p.headDim);
    if (
      !Number.isInteger(blockK) ||
      blockK < 1 ||
      8 * blockK * p.headDim > gpu.device.limits.maxComputeWorkgroupStorageSize
    ) {
      throw new Error(`attention: blockK = ${blockK} does not fit workgroup memory with headDim = ${p.headDim}`);
    }
    const prelude = {
      file: '<attention prelude>',
      code: `const HEADS: u32 = ${p.heads}u;\nconst HEAD_DIM: u32 = ${p.headDim}u;\nconst BLOCK_K: u32 = ${blockK}u;\n`,
    };
    const program = await ComputeProgram.create(
      gpu,
      `attention:${p.heads}x${p.headDim}:bk${blockK}`,
      async () => ({ program: await wgslProgram(prelude, 'attention.wgsl') }),
      { label: 'attention' },
    );
    return new AttentionKernel(gpu, p, program);
  }

  /** Records one compute pass ('attention'). */
  encode(encoder: GPUCommandEncoder, b: AttentionBuffers, timer?: GpuTimer): void {
    const S = b.tokens;
    const R = b.requests;
    const d = this.params.heads * this.params.headDim;
    if (!Number.isInteger(S) || S < 0) throw new Error(`attention: tokens must be a non-negative integer (got ${S})`);
    if (!Number.isInteger(R) || R < 1) throw new Error(`attention: requests must be a positive integer (got ${R})`);
    const tiles = gridDimension(
      Math.ceil(S / BLOCK_Q),
      this.gpu.device.limits,
      () => `attention over ${S} tokens (one workgroup per ${BLOCK_Q} queries)`,
    );
    for (const [buf, what] of [
      [b.q, 'q'],
      [b.k, 'k'],
      [b.v, 'v'],
      [b.out, 'out'],
    ] as const) {
      if (buf.size < S * d * 4)
        throw new Error(`attention: ${what} buffer holds ${buf.size} bytes, needs ${S * d * 4}`);
    }
    if (b.seqOffsets.size < (R + 1) * 4)
      throw new Error(`attention: seqOffsets buffer holds ${b.seqOffsets.size} bytes, needs ${(R + 1) * 4}`);
    const bind = this.program.bindGroup([this.sizes.get(S, R), b.q, b.k, b.v, b.seqOffsets, b.out]);
    const pass = encoder.beginComputePass({ label: 'attention', timestampWrites: timer?.writes('attention') });
    if (tiles > 0) this.program.dispatch(pass, bind, [tiles, this.params.heads]);
    pass.end();
  }

  destroy(): void {
    this.sizes.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// float64 CPU reference (plain two-pass softmax per query row)

export function attentionReference(
  p: AttentionParams,
  seqOffsets: Uint32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
): Float64Array {
  const { heads, headDim: hd } = p;
  const d = heads * hd;
  const S = seqOffsets[seqOffsets.length - 1];
  const out = new Float64Array(S * d);
  const scale = 1 / Math.sqrt(hd);
  const s = new Float64Array(S);
  for (let r = 0; r + 1 < seqOffsets.length; r++) {
    const lo = seqOffsets[r];
    for (let i = lo; i < seqOffsets[r + 1]; i++) {
      for (let h = 0; h < heads; h++) {
        const col = h * hd;
        let m = -Infinity;
        for (let j = lo; j <= i; j++) {
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += q[i * d + col + c] * k[j * d + col + c];
          s[j] = dot * scale;
          m = Math.max(m, s[j]);
        }
        let sum = 0;
        for (let j = lo; j <= i; j++) sum += s[j] = Math.exp(s[j] - m);
        for (let c = 0; c < hd; c++) {
          let acc = 0;
          for (let j = lo; j <= i; j++) acc += s[j] * v[j * d + col + c];
          out[i * d + col + c] = acc / sum;
        }
      }
    }
  }
  return out;
}
