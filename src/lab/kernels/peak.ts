// Lab: the adapter's compute ceiling — shaders/expert_gemm_peak.wgsl, eight independent vec4
// multiply-add chains per invocation on registers (64 FLOPs per iteration, no memory traffic
// in the loop). Its float64 reference is the chains' closed form:
//   a_N = m^N·a_0 + s·(1 − m^N)/(1 − m)   (a ← a·m + s, N times),
// which the f32 loop follows to ~1e-4 (the recurrence contracts, so rounding does not grow).
import { ComputeProgram, createBuffer, readF32, wgslProgram, type Gpu } from '../../gpu/index.ts';
import { checkClose } from '../checks.ts';
import type { LabKernel, LabProblem } from '../types.ts';

export const PEAK_TOLERANCE = 1e-3;
const ITERATIONS = 2048;
const FLOPS_PER_ITERATION = 8 * 4 * 2;

/** The shader's per-invocation result in float64 (keep in step with expert_gemm_peak.wgsl). */
export function peakReference(invocations: number, iterations: number): Float64Array {
  const m = [0.999, 0.998, 0.997, 0.996].map(Math.fround);
  const s = Math.fround(1e-4);
  const starts = [
    [0, 0.5, 0.25, 0.125],
    [1, 2, 3, 4],
    [0.1, 0.2, 0.3, 0.4],
    [0.9, 0.8, 0.7, 0.6],
    [0.15, 0.25, 0.35, 0.45],
    [0.55, 0.65, 0.75, 0.85],
    [1.5, 2.5, 3.5, 4.5],
    [0.01, 0.02, 0.03, 0.04],
  ];
  const mN = m.map((x) => x ** iterations);
  const out = new Float64Array(invocations);
  for (let g = 0; g < invocations; g++) {
    const seed = Math.fround(g) * Math.fround(1e-7);
    // chain 0 starts at (seed, .5, .25, .125); the others at their constants + seed
    const final = starts.map((a0, c) =>
      a0.map((v, lane) => {
        const start = c === 0 ? (lane === 0 ? seed : v) : v + seed;
        return mN[lane] * start + (s * (1 - mN[lane])) / (1 - m[lane]);
      }),
    );
    let dot = 0;
    for (let lane = 0; lane < 4; lane++) {
      const left = final[0][lane] + final[1][lane] + final[2][lane] + final[3][lane];
      const right = final[4][lane] + final[5][lane] + final[6][lane] + final[7][lane];
      dot += left * right;
    }
    out[g] = dot;
  }
  return out;
}

export const peakLab: LabKernel<Float32Array> = {
  name: 'peak',
  summary: "FMA ceiling: a pure multiply-add loop on registers (this adapter's compute ceiling)",
  bound: 'compute',
  uses: [],
  async prepare(gpu: Gpu, _s, opts): Promise<LabProblem<Float32Array>> {
    if (opts.variant !== undefined) throw new Error('peak has no variants');
    // Enough invocations to fill the device: SwiftShader's few threads, or a hardware GPU's SMs.
    const workgroups = gpu.info.software ? 128 : 8192;
    const invocations = workgroups * 64;
    const program = await ComputeProgram.create(gpu, `expert_gemm_peak ${ITERATIONS}`, async () => ({
      program: await wgslProgram('expert_gemm_peak.wgsl'),
      constants: { ITERATIONS },
    }));
    const sink = createBuffer(gpu, invocations * 4, 'lab peak sink');
    const bind = program.bindGroup([sink]);
    const want = peakReference(invocations, ITERATIONS);
    return {
      kernel: 'peak',
      shape: { workgroups, invocations, iterations: ITERATIONS },
      variant: '-',
      variantSource: 'fixed',
      bound: 'compute',
      flops: invocations * ITERATIONS * FLOPS_PER_ITERATION,
      bytes: invocations * 4,
      passes: 1,
      outputs: [sink],
      encode(enc, timer) {
        const pass = enc.beginComputePass({ label: 'lab peak', timestampWrites: timer?.writes('peak') });
        program.dispatch(pass, bind, [workgroups]);
        pass.end();
      },
      read: () => readF32(gpu, sink, invocations),
      check: (out) => checkClose(`${invocations} chain sums`, out, want, PEAK_TOLERANCE),
      destroy() {
        sink.destroy();
      },
    };
  },
};
