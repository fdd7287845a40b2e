// A dense f32 GEMM, y [T, N] = x [T, K] · W [N, K]ᵀ, run by the grouped expert GEMM's tiled
// kernels (expert-gemm-codegen.ts) as their down projection over ONE expert that owns
// every row: no perm, no offsets, an expert table of one entry (word 0) and a
// layout whose down matrix starts at word 0 of W. The router's logits use it.
//
// W rows must be 16-byte multiples (K % 4 == 0): the tiled kernels read f32 weights as vec4f.
// The float64 reference is expertGemmReference's 'down' stage on one expert.
import { ComputeProgram, createBuffer, createBufferWith, wgslProgram, type Gpu, type GpuTimer } from '../gpu/index.ts';
import { expertLayout } from '../model/formats.ts';
import { tiledGrid } from './expert-gemm.ts';
import { PROJECTION_BINDINGS, byBinding, tiledProgramPart } from './expert-gemm-codegen.ts';
import { checkVariant, fitRowsPerExpert, shaderKey, variantName, type TileVariant } from './gemm-variant.ts';
import { SizeUniforms } from './routing-params.ts';

export interface DenseGemmParams {
  /** Reduction length K (a multiple of 4). */
  inner: number;
  /** Output columns N (rows of W). */
  outputs: number;
  /** The tiled variant to run (the grouped GEMM's f32 default for the adapter is a good start). */
  variant: TileVariant;
  /** Expected rows T per call, to fit the tile's rows (gemm-variant.ts fitRowsPerExpert). */
  rows?: number;
}

export class DenseGemm {
  private readonly params: SizeUniforms;
  private readonly empty: GPUBuffer;
  private readonly table: GPUBuffer;

  private constructor(
    private readonly gpu: Gpu,
    readonly inner: number,
    readonly outputs: number,
    readonly variant: TileVariant,
    private readonly program: ComputeProgram,
  ) {
    this.params = new SizeUniforms(gpu.device, 'dense gemm params');
    this.empty = createBuffer(gpu, 16, 'dense gemm: no offsets');
    this.table = createBufferWith(gpu, new Uint32Array([0]), 'dense gemm expert table');
  }

  static async create(gpu: Gpu, p: DenseGemmParams): Promise<DenseGemm> {
    for (const k of ['inner', 'outputs'] as const) {
      if (!Number.isInteger(p[k]) || p[k] < 1)
        throw new Error(`DenseGemm: ${k} must be a positive integer, got ${p[k]}`);
    }
    if (p.inner % 4 !== 0)
      throw new Error(`DenseGemm: inner = ${p.inner} must be a multiple of 4 (W rows are read as vec4f)`);
    const checked = checkVariant(p.variant);
    if (checked.kind === 'naive') throw new Error("DenseGemm: variant 'naive' has no dense form; give a tiled one");
    const variant = fitRowsPerExpert(checked, p.rows);
    // The f32 expert layout with hidden = N outputs and expertHidden = K; only its down matrix is read, from word 0.
    const l = expertLayout('f32', p.outputs, p.inner);
    const layout = { ...l, down: { ...l.down, codes: 0 } };
    const key = `dense_gemm ${shaderKey(variant, { format: 'f32', hidden: p.outputs, expertHidden: p.inner, experts: 1, block: l.block })}`;
    const program = await ComputeProgram.create(
      gpu,
      key,
      async () => ({
        program: await wgslProgram(
          tiledProgramPart({ layout, experts: 1 }, variant, 'down'),
          'weight_decode.wgsl',
          'expert_gemm.wgsl',
        ),
      }),
      { uses: PROJECTION_BINDINGS.down },
    );
    return new DenseGemm(gpu, p.inner, p.outputs, variant, program);
  }

  /** Records one compute pass (timed as `label`): y = x · Wᵀ for `rows` rows. */
  encode(
    enc: GPUCommandEncoder,
    b: { x: GPUBuffer; weight: GPUBuffer; y: GPUBuffer; rows: number },
    timer?: GpuTimer,
    label = 'dense gemm',
  ): void {
    const { rows } = b;
    if (!Number.isInteger(rows) || rows < 0)
      throw new Error(`DenseGemm: rows must be a non-negative integer (got ${rows})`);
    const grid = tiledGrid(this.variant, this.outputs, rows, 1, this.gpu.device.limits, label);
    const bind = this.program.bindGroup(
      byBinding('down', {
        params: this.params.get(rows, 1, 0, 0),
        input: b.x,
        offsets: this.empty,
        table: this.table,
        output: b.y,
        weights: b.weight,
      }),
      label,
    );
    const pass = enc.beginComputePass({ label, timestampWrites: timer?.writes(label) });
    if (rows > 0) this.program.dispatch(pass, bind, grid);
    pass.end();
  }

  get name(): string {
    return variantName(this.variant);
  }

  destroy(): void {
    this.params.destroy();
    this.empty.destroy();
    this.table.destroy();
  }
}
