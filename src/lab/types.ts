// The shader lab's vocabulary: a lab kernel turns a shape into a LabProblem (random inputs
// on the GPU, the kernel object, and a check against the float64 reference); the runner
// (run.ts) checks it, times it and sets it against the adapter's ceiling.
import type { Gpu, GpuTimer } from '../gpu/index.ts';
import type { SharedMode } from '../kernels/combine.ts';
import type { WeightFormat } from '../model/formats.ts';
import type { ShapeClass } from '../tuning/tuning-cache.ts';

export const LAB_KERNELS = [
  'router',
  'permute',
  'expert-gemm',
  'combine',
  'attention',
  'decode',
  'peak',
  'copy',
] as const;
export type LabKernelName = (typeof LAB_KERNELS)[number];

/** Which grouped-GEMM passes the expert-gemm kernel runs. */
export type GemmStage = 'gate-up' | 'down' | 'both';
export const GEMM_STAGES: readonly GemmStage[] = ['gate-up', 'down', 'both'];

/** Every shape knob of every lab kernel; each kernel reads the ones named in its `uses`. */
export interface LabShape {
  tokens: number;
  hidden: number;
  expertHidden: number;
  experts: number;
  topK: number;
  /** Routing skew: 0 uniform top-k, larger = Zipf-like expert popularity (gemm-tuning.ts randomRouting). */
  skew: number;
  heads: number;
  headDim: number;
  /** Attention request lengths (tokens packed back to back). */
  lengths: number[];
  /** Expert weight format (--weights). */
  format: WeightFormat;
  stage: GemmStage;
  /** Combine: shared-expert mode. */
  shared: SharedMode;
  /** Router scoring. */
  scoring: 'softmax' | 'sigmoid';
  /** Copy size in MiB (undefined: 16 on a CPU-emulated adapter, 256 on a hardware GPU). */
  mib?: number;
}

/** The benchmark MoE shape (the command other tools use) and modest attention/copy sizes. */
export const DEFAULT_SHAPE: Readonly<LabShape> = {
  tokens: 256,
  hidden: 512,
  expertHidden: 256,
  experts: 32,
  topK: 4,
  skew: 0.5,
  heads: 4,
  headDim: 64,
  lengths: [256, 128, 64],
  format: 'f32',
  stage: 'both',
  shared: 'plain',
  scoring: 'softmax',
};

export interface CheckResult {
  ok: boolean;
  /** Frobenius relative error against the float64 reference (exact checks: of the integer values). */
  relErr: number;
  /** The largest relErr accepted (0: must match exactly). */
  tolerance: number;
  /** One line: what was compared and, when it failed, the first difference. */
  detail: string;
}

export type Bound = 'compute' | 'memory';

/** One prepared problem: inputs on the GPU, a kernel configuration, and its reference check. */
export interface LabProblem<Out = unknown> {
  kernel: LabKernelName;
  /** The shape fields this kernel used (printed, and written to JSON as "shape"). */
  shape: Record<string, number | string | number[]>;
  /** The configuration running now, and why it is that one. */
  variant: string;
  variantSource: 'given' | 'tuned' | 'default' | 'fixed';
  bound: Bound;
  /** FLOPs of one run (0 when not meaningful) and bytes it must move at least (reads + writes). */
  flops: number;
  bytes: number;
  /** Timed passes one encode records (sizes the timer). */
  passes: number;
  /** Buffers the check reads: the runner fills them with 0xFFFFFFFF (NaN / -1) before the checked run. */
  outputs: GPUBuffer[];
  /** Records the kernel's passes, each with timestampWrites from `timer`. */
  encode(enc: GPUCommandEncoder, timer?: GpuTimer): void | Promise<void>;
  read(): Promise<Out>;
  /** Pure: compares a result (read() or anything else of that type) with the reference. */
  check(out: Out): CheckResult;
  /** Swaps the kernel configuration, keeping the data (sweeps). */
  setVariant?(variant: string): Promise<void>;
  destroy(): void;
}

export interface PrepareOptions {
  variant?: string;
  seed: number;
}

export interface LabKernel<Out = unknown> {
  name: LabKernelName;
  summary: string;
  bound: Bound;
  /** Shape options it reads. */
  uses: readonly (keyof LabShape)[];
  prepare(gpu: Gpu, shape: LabShape, opts: PrepareOptions): Promise<LabProblem<Out>>;
  /**
   * Why `variant` cannot configure this kernel for `shape`, else undefined: the checks that need
   * no device, run before one is opened (prepare still checks what the adapter allows). Absent:
   * the kernel has no variants.
   */
  variantProblem?(variant: string, shape: LabShape): string | undefined;
  /** Configurations a sweep tries on this adapter (absent: nothing to sweep). */
  sweepCandidates?(gpu: Gpu, shape: LabShape): string[];
  /** The tuning cache's class for a shape (kernels whose sweep result is cached). */
  shapeClass?(shape: LabShape): ShapeClass;
}
