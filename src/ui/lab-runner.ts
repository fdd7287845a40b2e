// The shader lab's engine, run where the pipelines compile (the page's lab worker; Node in
// the tests): the unedited kernel and the edited one, side by side on the same seeded inputs.
//
//   1. original: every override cleared; prepare the problem while watching which pipeline
//      keys it requests (an encode that is never submitted catches pipelines made lazily);
//      check against the float64 reference, time, and measure the adapter's ceiling;
//   2. edited (when an edit names one of those keys): the edits set as pipeline overrides
//      (src/gpu/shaders.ts), the same kernel, seed and variant prepared again, checked and
//      timed; the rate is set against the ceiling measured in step 1 (an edited peak or copy
//      kernel must not become its own ceiling); the overrides are cleared again;
//   3. A/B (when both sides ran): the two prepared kernels timed in interleaved rounds —
//      unedited, edited, unedited, edited… (`runs` rounds, at least 5) — so a drift of the
//      adapter's speed (a loaded CPU, a clock change) reaches both sides alike; the speed and
//      its spread come from these paired rounds (lab-summary.ts `labAb`).
//
// Failures come back as data, in words: a WGSL compile error with its diagnostics (line and
// column in the edited text), a validation error, out of memory, a lost device (the next
// request opens a fresh one). Requests run one at a time: overrides are process-wide.
import {
  DeviceLostError,
  GpuOutOfMemoryError,
  GpuValidationError,
  LimitExceededError,
  ShaderCompileError,
  adapterLabel,
  builtProgram,
  getGpu,
  setPipelineOverride,
  watchPipelineKeys,
  withErrorScopes,
  type Gpu,
  type ShaderDiagnostic,
} from '../gpu/index.ts';
import { noteCeiling } from '../lab/ceilings.ts';
import { labKernel } from '../lab/registry.ts';
import { checkLabSizes } from '../lab/sizes.ts';
import { measureProblem, type LabResult } from '../lab/run.ts';
import { timeProblem } from '../lab/measure.ts';
import type { LabKernel, LabKernelName, LabProblem, LabShape } from '../lab/types.ts';
import { sweepLab, type SweepReport } from '../lab/sweep.ts';
import { defaultTuningCache } from '../tuning/tuning-store.ts';
import { programOrigins, type ProgramOrigin } from './lab-diagnostics.ts';

/** The exact WGSL a pipeline was built from (generated parts included) and where its lines came from. */
export interface LabPipeline {
  key: string;
  code: string;
  origins: ProgramOrigin[];
}

export type LabFailureKind =
  'compile' | 'validation' | 'out-of-memory' | 'device-lost' | 'limit' | 'cancelled' | 'error';

export interface LabFailure {
  kind: LabFailureKind;
  message: string;
  /** Compile errors: file `<edited: KEY>` for edited pipelines, with the editor's line and column. */
  diagnostics: ShaderDiagnostic[];
}

export type LabSide = { ok: true; result: LabResult } | { ok: false; failure: LabFailure };

export interface LabProblemSpec {
  kernel: LabKernelName;
  shape: LabShape;
  /** Undefined: the kernel's tuned or default configuration. */
  variant?: string;
  seed: number;
}

export interface LabRunRequest extends LabProblemSpec {
  runs: number;
  /** Edited WGSL by pipeline key. */
  edits: Record<string, string>;
}

export interface LabProgramsReport {
  kernel: LabKernelName;
  adapter: string;
  /** Empty when loading failed. */
  pipelines: LabPipeline[];
  variant: string | null;
  /** Why that variant: given, tuned (the tuning cache), default or fixed; null when loading failed. */
  variantSource: LabProblem['variantSource'] | null;
  failure: LabFailure | null;
}

export interface LabRunReport {
  kernel: LabKernelName;
  seed: number;
  adapter: string;
  /** The pipelines the unedited kernel ran, in the order it requested them. */
  pipelines: LabPipeline[];
  original: LabSide;
  /** Null when no edit applies to these pipelines. */
  edited: LabSide | null;
  /** Edits that were compiled in place of their pipeline. */
  editedKeys: string[];
  /** Edits of pipeline keys this run did not use (another shape or variant makes other keys). */
  ignoredEdits: string[];
  /** Interleaved rounds (unedited, edited, …): one time per side per round, ms. Null unless both sides ran. */
  ab: { originalMs: number[]; editedMs: number[] } | null;
}

/** Interleaved A/B rounds of a lab run: at least this many, else the request's `runs`. */
export const MIN_AB_ROUNDS = 5;

export interface LabProgress {
  phase: 'load' | 'original' | 'edited' | 'ab';
  message: string;
}

export interface LabHooks {
  onProgress?: (p: LabProgress) => void;
  signal?: AbortSignal;
}

/** A thrown error, as the page shows it. */
export function labFailure(e: unknown): LabFailure {
  const message = (e as Error)?.message ?? String(e);
  const kind: LabFailureKind =
    e instanceof ShaderCompileError
      ? 'compile'
      : e instanceof GpuValidationError
        ? 'validation'
        : e instanceof GpuOutOfMemoryError
          ? 'out-of-memory'
          : e instanceof DeviceLostError
            ? 'device-lost'
            : e instanceof LimitExceededError
              ? 'limit'
              : (e as Error)?.name === 'AbortError'
                ? 'cancelled'
                : 'error';
  return { kind, message, diagnostics: e instanceof ShaderCompileError ? e.diagnostics : [] };
}

export class LabSession {
  private gpu: Promise<Gpu> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Keys whose override this session set (cleared before every request). */
  private readonly overridden = new Set<string>();

  constructor(private readonly open: () => Promise<Gpu> = () => getGpu({ label: 'shader lab' })) {}

  /** The pipelines a kernel runs at a shape, unedited (no timing). */
  programs(spec: LabProblemSpec, hooks: LabHooks = {}): Promise<LabProgramsReport> {
    return this.serial(async () => {
      const gpu = await this.device();
      this.clearOverrides();
      hooks.onProgress?.({ phase: 'load', message: `building ${spec.kernel}` });
      try {
        const { problem, keys } = await withErrorScopes(gpu, `${spec.kernel} (unedited)`, () => this.load(gpu, spec));
        problem.destroy();
        return {
          kernel: spec.kernel,
          adapter: adapterLabel(gpu.info),
          pipelines: pipelinesOf(keys),
          variant: problem.variant,
          variantSource: problem.variantSource,
          failure: null,
        };
      } catch (e) {
        this.forgetLostDevice(gpu);
        return {
          kernel: spec.kernel,
          adapter: adapterLabel(gpu.info),
          pipelines: [],
          variant: null,
          variantSource: null,
          failure: labFailure(e),
        };
      }
    });
  }

  /** The unedited kernel, then the edited one, on the same inputs. */
  run(req: LabRunRequest, hooks: LabHooks = {}): Promise<LabRunReport> {
    return this.serial(async () => {
      const gpu = await this.device();
      const say = hooks.onProgress ?? (() => {});
      this.clearOverrides();
      const report: LabRunReport = {
        kernel: req.kernel,
        seed: req.seed,
        adapter: adapterLabel(gpu.info),
        pipelines: [],
        original: { ok: false, failure: labFailure(new Error('not run')) },
        edited: null,
        editedKeys: [],
        ignoredEdits: [],
        ab: null,
      };
      const ctx = { gpu, runs: req.runs, seed: req.seed, signal: hooks.signal };

      say({ phase: 'original', message: `${req.kernel}: unedited — building, checking, timing ${req.runs} run(s)` });
      let keys: string[] = [];
      // Both prepared kernels stay alive until the A/B rounds are timed.
      const kept: LabProblem[] = [];
      try {
        report.original = await this.side(ctx, `${req.kernel} (unedited)`, req, (k) => (keys = k), undefined, kept);
        report.pipelines = pipelinesOf(keys);
        if (!report.original.ok) return report;
        const original = report.original.result;

        report.editedKeys = Object.keys(req.edits).filter((k) => keys.includes(k));
        report.ignoredEdits = Object.keys(req.edits).filter((k) => !keys.includes(k));
        if (report.editedKeys.length === 0) return report;

        say({
          phase: 'edited',
          message: `${req.kernel}: edited (${report.editedKeys.length} pipeline(s)) — compiling, checking, timing`,
        });
        const edits = () => {
          for (const k of report.editedKeys) {
            setPipelineOverride(k, req.edits[k]);
            this.overridden.add(k);
          }
        };
        edits();
        try {
          // The same configuration as the unedited run, so both build the same pipeline keys.
          const variant = original.variantSource === 'fixed' ? undefined : original.variant;
          report.edited = await this.side(ctx, `${req.kernel} (edited)`, { ...req, variant }, () => {}, original, kept);
        } finally {
          this.clearOverrides();
        }
        if (!report.edited.ok || kept.length !== 2) return report;
        // Interleaved rounds; pipelines are cached per edited text, so switching the overrides
        // between the sides compiles nothing (a pipeline made lazily at encode time follows them).
        const rounds = Math.max(MIN_AB_ROUNDS, req.runs);
        const ab = { originalMs: [] as number[], editedMs: [] as number[] };
        try {
          for (let i = 0; i < rounds; i++) {
            hooks.signal?.throwIfAborted();
            say({ phase: 'ab', message: `${req.kernel}: interleaved timing, round ${i + 1}/${rounds}` });
            ab.originalMs.push((await timeProblem(gpu, kept[0], 1, 0)).medianMs);
            edits();
            try {
              ab.editedMs.push((await timeProblem(gpu, kept[1], 1, 0)).medianMs);
            } finally {
              this.clearOverrides();
            }
          }
          report.ab = ab;
        } catch (e) {
          // The sides' own results stand; the rounds are only missing (a cancel, a lost device).
          this.forgetLostDevice(gpu);
          if ((e as Error)?.name !== 'AbortError') throw e;
        }
        return report;
      } finally {
        for (const p of kept) p.destroy();
      }
    });
  }

  /**
   * Every configuration the kernel offers at this shape (or `candidates`), each checked and
   * timed on the same inputs; the fastest correct one is recorded in the process-wide
   * tuning cache (in the page's worker: a copy of the page's, relayed back to be stored).
   */
  sweep(
    spec: LabProblemSpec & { runs: number; candidates?: string[] },
    hooks: LabHooks = {},
  ): Promise<{ ok: true; report: SweepReport } | { ok: false; failure: LabFailure }> {
    return this.serial(async () => {
      const gpu = await this.device();
      this.clearOverrides();
      const kernel = labKernel(spec.kernel);
      try {
        const report = await sweepLab(gpu, kernel as LabKernel<never>, spec.shape, {
          seed: spec.seed,
          runs: spec.runs,
          candidates: spec.candidates,
          cache: await defaultTuningCache(),
          onRow: (row) => {
            hooks.signal?.throwIfAborted();
            hooks.onProgress?.({
              phase: 'original',
              message: `${spec.kernel} sweep: ${row.variant} ${row.ok ? `${row.medianMs.toFixed(2)} ms` : 'failed'}`,
            });
          },
        });
        return { ok: true as const, report };
      } catch (e) {
        this.forgetLostDevice(gpu);
        return { ok: false as const, failure: labFailure(e) };
      }
    });
  }

  destroy(): void {
    this.clearOverrides();
    void this.gpu?.then((g) => g.destroy()).catch(() => {});
    this.gpu = undefined;
  }

  /** One side: prepare (watching pipeline keys), check, time; failures as data. */
  private async side(
    ctx: { gpu: Gpu; runs: number; seed: number; signal?: AbortSignal },
    what: string,
    spec: LabProblemSpec,
    onKeys: (keys: string[]) => void,
    original?: LabResult,
    /** Receives the prepared problem (and must destroy it) instead of its being destroyed here. */
    keep?: LabProblem[],
  ): Promise<LabSide> {
    const { gpu } = ctx;
    try {
      ctx.signal?.throwIfAborted();
      const result = await withErrorScopes(gpu, what, async () => {
        const { problem, keys } = await this.load(gpu, spec);
        onKeys(keys);
        let kept = false;
        try {
          ctx.signal?.throwIfAborted();
          const r = await measureProblem(gpu, problem, {
            seed: ctx.seed,
            runs: ctx.runs,
            warmup: 1,
            ceiling: original === undefined,
          });
          if (keep) {
            keep.push(problem);
            kept = true;
          }
          return r;
        } finally {
          if (!kept) problem.destroy();
        }
      });
      return { ok: true, result: original ? againstCeilingOf(result, original, gpu) : result };
    } catch (e) {
      this.forgetLostDevice(gpu);
      return { ok: false, failure: labFailure(e) };
    }
  }

  /** Prepares the problem and records every pipeline key it requests, lazily made ones included. */
  private async load(gpu: Gpu, spec: LabProblemSpec): Promise<{ problem: LabProblem; keys: string[] }> {
    const watch = watchPipelineKeys();
    let problem: LabProblem | undefined;
    try {
      checkLabSizes(gpu, spec.kernel, spec.shape);
      problem = await labKernel(spec.kernel).prepare(gpu, spec.shape, { seed: spec.seed, variant: spec.variant });
      await problem.encode(
        gpu.device.createCommandEncoder({ label: `lab ${spec.kernel} (pipelines only, not submitted)` }),
      );
      return { problem, keys: watch.stop() };
    } catch (e) {
      watch.stop();
      problem?.destroy();
      throw e;
    }
  }

  private device(): Promise<Gpu> {
    this.gpu ??= this.open();
    const p = this.gpu;
    p.catch(() => {
      if (this.gpu === p) this.gpu = undefined;
    });
    return p;
  }

  private forgetLostDevice(gpu: Gpu): void {
    if (gpu.lostInfo && this.gpu) this.gpu = undefined;
  }

  private clearOverrides(): void {
    for (const k of this.overridden) setPipelineOverride(k, undefined);
    this.overridden.clear();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }
}

function pipelinesOf(keys: string[]): LabPipeline[] {
  const out: LabPipeline[] = [];
  for (const key of keys) {
    const p = builtProgram(key);
    if (p) out.push({ key, code: p.code, origins: programOrigins(p.lineMap) });
  }
  return out;
}

/**
 * The edited rate against the unedited run's ceiling. measureProblem remembers a checked peak
 * or copy run as the ceiling; an edited one must not replace the adapter's, so it is put back.
 */
function againstCeilingOf(r: LabResult, original: LabResult, gpu: Gpu): LabResult {
  if (original.ceilingGflops !== null) noteCeiling(gpu, 'gflops', original.ceilingGflops);
  if (original.ceilingGbps !== null) noteCeiling(gpu, 'gbps', original.ceilingGbps);
  const ceilingGflops = original.ceilingGflops;
  const ceilingGbps = original.ceilingGbps;
  const fractionOfCeiling =
    r.bound === 'compute'
      ? r.gflops && ceilingGflops
        ? r.gflops / ceilingGflops
        : null
      : r.gbps && ceilingGbps
        ? r.gbps / ceilingGbps
        : null;
  return { ...r, ceilingGflops, ceilingGbps, fractionOfCeiling };
}
