// Permute (shaders/permute.wgsl): topkIdx [T,K] → counts [E], offsets [E+1], perm [T·K],
// inv [T·K], the expert-sorted order the grouped GEMMs read; plus its CPU reference.
// Sorted row i holds pair p = t·K + k; experts ascending, within an expert p ascending.
import { ComputeProgram, ScratchBuffer, wgslProgram, workgroupGrid, type Gpu, type GpuTimer } from '../gpu/index.ts';
import { SizeUniforms } from './routing-params.ts';

const CHUNK = 256; // must match permute.wgsl

export interface PermuteParams {
  experts: number;
  topK: number;
}

export interface PermuteBuffers {
  topkIdx: GPUBuffer;
  counts: GPUBuffer;
  offsets: GPUBuffer;
  perm: GPUBuffer;
  inv: GPUBuffer;
  tokens: number;
}

type Stage = 'count_chunks' | 'scan' | 'scatter';

// Bindings: 0 sizes, 1 topkIdx, 2 chunk bases (scratch), 3 counts, 4 offsets, 5 perm, 6 inv.
// Each entry point's 'auto' layout holds only the bindings it uses.
const USES: Record<Stage, readonly number[]> = {
  count_chunks: [0, 1, 2],
  scan: [0, 2, 3, 4],
  scatter: [0, 1, 2, 5, 6],
};

export class PermuteKernel {
  private readonly sizes: SizeUniforms;
  /** Chunk bases [chunks, E] u32. */
  private readonly chunkBases: ScratchBuffer;

  private constructor(
    private readonly gpu: Gpu,
    readonly params: PermuteParams,
    private readonly stages: Record<Stage, ComputeProgram>,
  ) {
    this.sizes = new SizeUniforms(gpu.device, 'permute');
    this.chunkBases = new ScratchBuffer(gpu.device, 'permute chunk bases');
  }

  static async create(gpu: Gpu, p: PermuteParams): Promise<PermuteKernel> {
    if (!Number.isInteger(p.experts) || p.experts < 1)
      throw new Error(`permute: experts must be a positive integer (got ${p.experts})`);
    if (!Number.isInteger(p.topK) || p.topK < 1)
      throw new Error(`permute: topK must be a positive integer (got ${p.topK})`);
    const wgBytes = 4 * (p.experts + 2 * CHUNK);
    const limit = gpu.device.limits.maxComputeWorkgroupStorageSize;
    if (wgBytes > limit) {
      throw new Error(
        `permute: experts = ${p.experts} needs ${wgBytes} bytes of workgroup memory, this device allows ${limit} (maxComputeWorkgroupStorageSize)`,
      );
    }
    const stage = (entryPoint: Stage) =>
      ComputeProgram.create(
        gpu,
        `permute.${entryPoint}:${p.experts}`,
        async () => ({ program: await wgslProgram('permute.wgsl'), entryPoint, constants: { EXPERTS: p.experts } }),
        { uses: USES[entryPoint], label: `permute.${entryPoint}` },
      );
    const [count_chunks, scan, scatter] = await Promise.all([stage('count_chunks'), stage('scan'), stage('scatter')]);
    return new PermuteKernel(gpu, p, { count_chunks, scan, scatter });
  }

  /** Records one compute pass ('permute') of three dispatches. */
  encode(encoder: GPUCommandEncoder, b: PermuteBuffers, timer?: GpuTimer): void {
    const { experts: E, topK: K } = this.params;
    const T = b.tokens;
    if (!Number.isInteger(T) || T < 0) throw new Error(`permute: tokens must be a non-negative integer (got ${T})`);
    const pairs = T * K;
    const chunks = Math.ceil(pairs / CHUNK);
    const need: [GPUBuffer, number, string][] = [
      [b.topkIdx, pairs * 4, 'topkIdx'],
      [b.counts, E * 4, 'counts'],
      [b.offsets, (E + 1) * 4, 'offsets'],
      [b.perm, pairs * 4, 'perm'],
      [b.inv, pairs * 4, 'inv'],
    ];
    for (const [buf, bytes, what] of need) {
      if (buf.size < bytes) throw new Error(`permute: ${what} buffer holds ${buf.size} bytes, needs ${bytes}`);
    }
    const grid = workgroupGrid(
      chunks,
      this.gpu.device.limits,
      () => `permute of ${pairs} pairs (${CHUNK} per workgroup)`,
    );
    const all = [
      this.sizes.get(pairs, chunks),
      b.topkIdx,
      this.chunkBases.get(
        chunks * E * 4,
        `permute of ${pairs} pairs (its chunk bases [${chunks} chunks, E = ${E}] u32)`,
      ),
      b.counts,
      b.offsets,
      b.perm,
      b.inv,
    ];
    const { count_chunks, scan, scatter } = this.stages;
    const pass = encoder.beginComputePass({ label: 'permute', timestampWrites: timer?.writes('permute') });
    if (chunks > 0) count_chunks.dispatch(pass, count_chunks.bindGroup(all), grid);
    scan.dispatch(pass, scan.bindGroup(all), [1]);
    if (chunks > 0) scatter.dispatch(pass, scatter.bindGroup(all), grid);
    pass.end();
  }

  destroy(): void {
    this.sizes.destroy();
    this.chunkBases.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// CPU reference (integers: exact)

export interface PermuteReference {
  counts: Uint32Array;
  offsets: Uint32Array;
  perm: Uint32Array;
  inv: Uint32Array;
}

/** The stable counting sort of pairs p = t·K + k by expert topkIdx[p]. */
export function permuteReference(p: PermuteParams, tokens: number, topkIdx: Int32Array): PermuteReference {
  const { experts: E, topK: K } = p;
  const pairs = tokens * K;
  const counts = new Uint32Array(E);
  for (let i = 0; i < pairs; i++) {
    const e = topkIdx[i];
    if (!(e >= 0 && e < E)) throw new Error(`permuteReference: pair ${i} has expert ${e}, outside [0, ${E})`);
    counts[e]++;
  }
  const offsets = new Uint32Array(E + 1);
  for (let e = 0; e < E; e++) offsets[e + 1] = offsets[e] + counts[e];
  const next = offsets.slice(0, E);
  const perm = new Uint32Array(pairs);
  const inv = new Uint32Array(pairs);
  for (let i = 0; i < pairs; i++) {
    const row = next[topkIdx[i]]++;
    perm[row] = i;
    inv[i] = row;
  }
  return { counts, offsets, perm, inv };
}
