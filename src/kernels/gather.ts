// Row gather (shaders/gather_rows.wgsl): out[i,:] = src[idx[i] / div, :]; plus its reference.
// Used by DEP to pack token rows for the all-to-all and to unpack expert outputs.
import { ComputeProgram, wgslProgram, workgroupGrid, type Gpu, type GpuTimer } from '../gpu/index.ts';
import { SizeUniforms } from './routing-params.ts';

export interface GatherParams {
  /** Row length in f32 (H). */
  columns: number;
  /** Index divisor: top-k to gather tokens by pair index, 1 for plain rows. */
  divisor: number;
}

export interface GatherBuffers {
  idx: GPUBuffer;
  src: GPUBuffer;
  out: GPUBuffer;
  rows: number;
  /** Label of the timed pass (default 'gather'). */
  label?: string;
}

export class GatherKernel {
  private readonly sizes: SizeUniforms;

  private constructor(
    private readonly gpu: Gpu,
    readonly params: GatherParams,
    private readonly program: ComputeProgram,
  ) {
    this.sizes = new SizeUniforms(gpu.device, 'gather');
  }

  static async create(gpu: Gpu, p: GatherParams): Promise<GatherKernel> {
    for (const k of ['columns', 'divisor'] as const) {
      if (!Number.isInteger(p[k]) || p[k] < 1) throw new Error(`gather: ${k} must be a positive integer (got ${p[k]})`);
    }
    const vw = p.columns % 4 === 0 ? 4 : 1;
    const prelude = { file: '<gather prelude>', code: vw === 4 ? 'alias V = vec4<f32>;' : 'alias V = f32;' };
    const program = await ComputeProgram.create(gpu, `gather:${p.columns}:${p.divisor}`, async () => ({
      program: await wgslProgram(prelude, 'gather_rows.wgsl'),
      constants: { HV: p.columns / vw, DIV: p.divisor },
    }));
    return new GatherKernel(gpu, p, program);
  }

  encode(enc: GPUCommandEncoder, b: GatherBuffers, timer?: GpuTimer): void {
    const H = this.params.columns;
    if (!Number.isInteger(b.rows) || b.rows < 0)
      throw new Error(`gather: rows must be a non-negative integer (got ${b.rows})`);
    if (b.out.size < b.rows * H * 4) throw new Error(`gather: out holds ${b.out.size} bytes, needs ${b.rows * H * 4}`);
    if (b.idx.size < b.rows * 4) throw new Error(`gather: idx holds ${b.idx.size} bytes, needs ${b.rows * 4}`);
    const grid = workgroupGrid(b.rows, this.gpu.device.limits, () => `gather of ${b.rows} rows`);
    const label = b.label ?? 'gather';
    const pass = enc.beginComputePass({ label, timestampWrites: timer?.writes(label) });
    if (b.rows > 0) {
      this.program.dispatch(pass, this.program.bindGroup([this.sizes.get(b.rows), b.idx, b.src, b.out]), grid);
    }
    pass.end();
  }

  destroy(): void {
    this.sizes.destroy();
  }
}

export function gatherReference(p: GatherParams, rows: number, idx: Uint32Array, src: Float32Array): Float32Array {
  const H = p.columns;
  const out = new Float32Array(rows * H);
  for (let i = 0; i < rows; i++) {
    const from = Math.floor(idx[i] / p.divisor) * H;
    out.set(src.subarray(from, from + H), i * H);
  }
  return out;
}
