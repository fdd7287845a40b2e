// Combine (shaders/combine.wgsl): out[t,:] = Σ_k topkWeight[t,k]·y[inv[t·K+k],:] + g(t)·s[t,:]
// with g = 1 ('plain' shared experts, DeepSeek) or sigmoid(x[t,:]·sharedGateW) ('gated',
// Qwen2-MoE's shared_expert_gate); plus its float64 CPU reference.
import { ComputeProgram, wgslProgram, workgroupGrid, type Gpu, type GpuTimer } from '../gpu/index.ts';
import { SizeUniforms } from './routing-params.ts';

export type SharedMode = 'none' | 'plain' | 'gated';

export interface CombineParams {
  hidden: number;
  topK: number;
  shared: SharedMode;
}

export interface CombineBuffers {
  /** [T·K, H] expert outputs in sorted-row order. */
  y: GPUBuffer;
  /** [T·K] u32, inv[p] = sorted row of pair p. */
  inv: GPUBuffer;
  /** [T, K] f32 */
  topkWeight: GPUBuffer;
  /** [T, H] f32 */
  out: GPUBuffer;
  /** [T, H] shared-expert output (shared ≠ 'none'). */
  shared?: GPUBuffer;
  /** [T, H] layer input (shared = 'gated'). */
  x?: GPUBuffer;
  /** [H] shared_expert_gate weight (shared = 'gated'). */
  sharedGateW?: GPUBuffer;
  tokens: number;
}

/** vec4 rows when H allows 16-byte accesses, scalars otherwise. */
function vectorPrelude(vw: 1 | 4): { file: string; code: string } {
  const code =
    vw === 4
      ? 'alias V = vec4<f32>;\nfn lane_sum(v: V) -> f32 { return v.x + v.y + v.z + v.w; }\n'
      : 'alias V = f32;\nfn lane_sum(v: V) -> f32 { return v; }\n';
  return { file: `<combine prelude, ${vw === 4 ? 'vec4' : 'scalar'}>`, code };
}

export class CombineKernel {
  private readonly sizes: SizeUniforms;
  private readonly dummy: GPUBuffer;

  private constructor(
    private readonly gpu: Gpu,
    readonly params: CombineParams,
    private readonly program: ComputeProgram,
  ) {
    this.sizes = new SizeUniforms(gpu.device, 'combine');
    this.dummy = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'combine unused input' });
  }

  static async create(gpu: Gpu, p: CombineParams): Promise<CombineKernel> {
    if (!Number.isInteger(p.hidden) || p.hidden < 1)
      throw new Error(`combine: hidden must be a positive integer (got ${p.hidden})`);
    if (!Number.isInteger(p.topK) || p.topK < 1)
      throw new Error(`combine: topK must be a positive integer (got ${p.topK})`);
    if (p.topK > 1024) throw new Error(`combine: topK = ${p.topK} is above the supported maximum 1024`);
    if (!['none', 'plain', 'gated'].includes(p.shared))
      throw new Error(`combine: shared must be 'none', 'plain' or 'gated' (got '${String(p.shared)}')`);
    const vw = p.hidden % 4 === 0 ? 4 : 1;
    const constants = { HV: p.hidden / vw, TOP_K: p.topK, SHARED: ['none', 'plain', 'gated'].indexOf(p.shared) };
    const key = `combine:v${vw}:${Object.values(constants).join(',')}`;
    const program = await ComputeProgram.create(
      gpu,
      key,
      async () => ({ program: await wgslProgram(vectorPrelude(vw), 'combine.wgsl'), constants }),
      { label: 'combine' },
    );
    return new CombineKernel(gpu, p, program);
  }

  /** Records one compute pass ('combine'). */
  encode(encoder: GPUCommandEncoder, b: CombineBuffers, timer?: GpuTimer): void {
    const { hidden: H, topK: K, shared } = this.params;
    const T = b.tokens;
    if (!Number.isInteger(T) || T < 0) throw new Error(`combine: tokens must be a non-negative integer (got ${T})`);
    const need = (buf: GPUBuffer | undefined, bytes: number, what: string): GPUBuffer => {
      if (!buf) throw new Error(`combine: shared = '${shared}' needs the ${what} buffer`);
      if (buf.size < bytes) throw new Error(`combine: ${what} buffer holds ${buf.size} bytes, needs ${bytes}`);
      return buf;
    };
    need(b.y, T * K * H * 4, 'y');
    need(b.inv, T * K * 4, 'inv');
    need(b.topkWeight, T * K * 4, 'topkWeight');
    need(b.out, T * H * 4, 'out');
    const s = shared === 'none' ? this.dummy : need(b.shared, T * H * 4, 'shared');
    const x = shared === 'gated' ? need(b.x, T * H * 4, 'x') : this.dummy;
    const gw = shared === 'gated' ? need(b.sharedGateW, H * 4, 'sharedGateW') : this.dummy;
    const grid = workgroupGrid(T, this.gpu.device.limits, () => `combine of ${T} tokens`);
    const bind = this.program.bindGroup([this.sizes.get(T), b.y, b.inv, b.topkWeight, s, x, gw, b.out]);
    const pass = encoder.beginComputePass({ label: 'combine', timestampWrites: timer?.writes('combine') });
    if (T > 0) this.program.dispatch(pass, bind, grid);
    pass.end();
  }

  destroy(): void {
    this.sizes.destroy();
    this.dummy.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// float64 CPU reference

export interface CombineInputs {
  y: Float32Array;
  inv: Uint32Array;
  topkWeight: Float32Array;
  shared?: Float32Array;
  x?: Float32Array;
  sharedGateW?: Float32Array;
}

export function combineReference(p: CombineParams, tokens: number, inp: CombineInputs): Float64Array {
  const { hidden: H, topK: K, shared } = p;
  if (shared !== 'none' && !inp.shared)
    throw new Error(`combineReference: shared = '${shared}' needs the shared output`);
  if (shared === 'gated' && (!inp.x || !inp.sharedGateW))
    throw new Error("combineReference: shared = 'gated' needs x and sharedGateW");
  const out = new Float64Array(tokens * H);
  for (let t = 0; t < tokens; t++) {
    let g = 1;
    if (shared === 'gated') {
      let dot = 0;
      for (let h = 0; h < H; h++) dot += inp.x![t * H + h] * inp.sharedGateW![h];
      g = 1 / (1 + Math.exp(-dot));
    }
    for (let h = 0; h < H; h++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += inp.topkWeight[t * K + k] * inp.y[inp.inv[t * K + k] * H + h];
      if (shared !== 'none') acc += g * inp.shared![t * H + h];
      out[t * H + h] = acc;
    }
  }
  return out;
}
