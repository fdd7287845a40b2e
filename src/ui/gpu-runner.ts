// The page's side of the run worker (run-worker.ts): runGroup with the same signature as the
// library's, the modeled source's runs, the shader lab's requests, and a probe that says
// whether this browser has WebGPU and on which adapter — all answered by the worker. The
// page keeps the lab in a worker of its own, so a lab edit (a pipeline override) can never
// reach a benchmark run. A cancel that the worker does not honour within a few seconds
// (a kernel in flight on a CPU-emulated GPU can take that long) terminates the worker; the
// next run starts a fresh one.
//
// Tuning: workers have no localStorage, so the page's tuning document (a TuningStore given
// to the constructor, localStorage on the page) travels with every request as text; the
// worker consults its copy (the kernels' tuned variants) and, when a lab sweep records a
// winner, posts the updated document back for the page to store: a sweep in the lab tab
// reaches the benchmark runs that follow it.
import type { TuningStore } from '../tuning/tuning-cache.ts';
import type { RoutedSlots } from '../similarity/routed-runs.ts';
import type { SweepReport } from '../lab/sweep.ts';
import type { GroupRunOptions, GroupRunResult, RunProgress, StrategyName } from '../strategies/types.ts';
import type { RunGroupFn, RunHooks, StrategyRunner } from './compare.ts';
import type { PageConfig } from './config.ts';
import type {
  LabFailure,
  LabHooks,
  LabProblemSpec,
  LabProgramsReport,
  LabProgress,
  LabRunReport,
  LabRunRequest,
} from './lab-runner.ts';

/** A lab sweep's request and answer. */
export type LabSweepRequest = LabProblemSpec & { runs: number; candidates?: string[] };
export type LabSweepOutcome = { ok: true; report: SweepReport } | { ok: false; failure: LabFailure };

/** `tuning`: the page's tuning document (undefined: none stored), the worker's copy for this request. */
export type WorkerIn =
  /** `routedSlots`: the point's DEP run's router counts, for a run that records none (compare.ts RunHooks). */
  | { type: 'run'; id: number; options: GroupRunOptions; routedSlots?: RoutedSlots; tuning?: string }
  | { type: 'model'; id: number; config: PageConfig; strategy: StrategyName }
  | { type: 'lab-programs'; id: number; spec: LabProblemSpec; tuning?: string }
  | { type: 'lab-run'; id: number; request: LabRunRequest; tuning?: string }
  | { type: 'lab-sweep'; id: number; request: LabSweepRequest; tuning?: string }
  | { type: 'cancel'; id: number }
  | { type: 'probe'; id: number };

export type WorkerOut =
  | { type: 'progress'; id: number; progress: RunProgress }
  | { type: 'lab-progress'; id: number; progress: LabProgress }
  | { type: 'result'; id: number; result: GroupRunResult }
  | { type: 'lab-result'; id: number; result: LabProgramsReport | LabRunReport | LabSweepOutcome }
  /** A sweep recorded a winner: the whole updated tuning document, for the page to store. */
  | { type: 'tuning'; id: number; text: string }
  | { type: 'error'; id: number; error: { name: string; message: string } }
  | { type: 'probe'; id: number; ok: true; adapter: string; software: boolean; timestamps: boolean }
  | { type: 'probe'; id: number; ok: false; reason: string };

export type Probe = Extract<WorkerOut, { type: 'probe' }>;

const CANCEL_GRACE_MS = 3000;

/** What to tell a user whose browser has no WebGPU. */
export const WEBGPU_HOWTO =
  'Use a recent Chrome, Edge or Chromium (WebGPU is on by default on Windows, macOS and ChromeOS). ' +
  'On Linux start Chromium with --enable-unsafe-webgpu (and --use-webgpu-adapter=swiftshader on a machine without a GPU); ' +
  'Firefox Nightly and Safari Technology Preview have it behind a flag.';

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (p: RunProgress) => void;
  onLabProgress?: (p: LabProgress) => void;
}

export class GpuWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /**
   * `name` labels the worker in the browser's task manager and devtools; `tuning` is the
   * page's tuning store (sent with each request, updated by the worker's sweeps).
   */
  constructor(
    private readonly name = 'dwdp-emulation',
    private readonly tuning?: TuningStore,
  ) {}

  private get w(): Worker {
    if (!this.worker) {
      this.worker = new Worker(new URL('./run-worker.ts', import.meta.url), { type: 'module', name: this.name });
      this.worker.onmessage = (e: MessageEvent<WorkerOut>) => this.receive(e.data);
      this.worker.onerror = (e) => this.failAll(new Error(`emulation worker failed: ${e.message || 'could not load'}`));
    }
    return this.worker;
  }

  /** Whether WebGPU works in the worker (where the runs happen), and on which adapter. */
  probe(): Promise<Probe> {
    if (typeof navigator === 'undefined' || !(navigator as Navigator).gpu)
      return Promise.resolve({
        type: 'probe',
        id: 0,
        ok: false,
        reason: 'this browser has no WebGPU (navigator.gpu is missing)',
      });
    const id = this.nextId++;
    return new Promise<Probe>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.w.postMessage({ type: 'probe', id } satisfies WorkerIn);
    });
  }

  readonly runGroup: RunGroupFn = (options: GroupRunOptions, hooks: RunHooks = {}) =>
    this.request(
      { type: 'run', id: this.nextId++, options, ...(hooks.routedSlots ? { routedSlots: hooks.routedSlots } : {}) },
      hooks,
    );

  /** The modeled source: one strategy of a parsed config through the rack model. */
  readonly model: StrategyRunner = (config, strategy, hooks) => {
    hooks.onProgress?.({ phase: 'schedule', message: `modeling ${strategy} on ${config.profile}` });
    return this.request({ type: 'model', id: this.nextId++, config, strategy }, hooks);
  };

  /** The shader lab: the pipelines a kernel runs at a shape (their exact WGSL), unedited. */
  labPrograms(spec: LabProblemSpec, hooks: LabHooks = {}): Promise<LabProgramsReport> {
    return this.request<LabProgramsReport>(
      { type: 'lab-programs', id: this.nextId++, spec },
      { signal: hooks.signal, onLabProgress: hooks.onProgress },
    );
  }

  /** The shader lab: a sweep of the kernel's configurations; the winner is stored in the page's tuning store. */
  labSweep(request: LabSweepRequest, hooks: LabHooks = {}): Promise<LabSweepOutcome> {
    return this.request<LabSweepOutcome>(
      { type: 'lab-sweep', id: this.nextId++, request },
      { signal: hooks.signal, onLabProgress: hooks.onProgress },
    );
  }

  /** The shader lab: unedited and edited kernels side by side (lab-runner.ts). */
  labRun(request: LabRunRequest, hooks: LabHooks = {}): Promise<LabRunReport> {
    return this.request<LabRunReport>(
      { type: 'lab-run', id: this.nextId++, request },
      { signal: hooks.signal, onLabProgress: hooks.onProgress },
    );
  }

  private request<T = GroupRunResult>(
    msg: Extract<WorkerIn, { type: 'run' | 'model' | 'lab-programs' | 'lab-run' | 'lab-sweep' }>,
    hooks: RunHooks & { onLabProgress?: (p: LabProgress) => void },
  ): Promise<T> {
    const id = msg.id;
    const signal = hooks.signal;
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: hooks.onProgress,
        onLabProgress: hooks.onLabProgress,
      });
      const onAbort = () => {
        this.worker?.postMessage({ type: 'cancel', id } satisfies WorkerIn);
        setTimeout(() => {
          if (!this.pending.has(id)) return;
          this.terminate();
          reject(signal!.reason);
        }, CANCEL_GRACE_MS);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (msg.type === 'model' || !this.tuning) return this.w.postMessage(msg);
      // The page's tuning document goes with the request (an unreadable one: none).
      this.tuning
        .read()
        .catch(() => undefined)
        .then((tuning) => this.w.postMessage({ ...msg, tuning }));
    });
  }

  terminate(): void {
    this.worker?.terminate();
    this.worker = null;
    this.failAll(new DOMException('the emulation worker was stopped', 'AbortError'));
  }

  private receive(m: WorkerOut): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') return p.onProgress?.(m.progress);
    if (m.type === 'lab-progress') return p.onLabProgress?.(m.progress);
    if (m.type === 'tuning') {
      void this.tuning?.write(m.text).catch((e: Error) => console.warn(`tuning store: ${e.message}`));
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'result' || m.type === 'lab-result') p.resolve(m.result);
    else if (m.type === 'probe') p.resolve(m);
    else if (m.error.name === 'AbortError') p.reject(new DOMException(m.error.message, 'AbortError'));
    else p.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
  }

  private failAll(e: unknown): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
