// Runs happen here, off the page's main thread, so the page stays responsive: runGroup on
// this worker's own GPUDevice(s) while SwiftShader grinds (progress posted back, a cancel
// message aborts the run in flight), the rack model for the modeled source (no GPU
// needed), and the shader lab (lab-runner.ts: its pipeline overrides must be set in the
// realm where the pipelines compile — this one). Messages: see gpu-runner.ts.
import { withScaleTarget } from '../similarity/target.ts';
import { routingHooks, type RoutedSlots } from '../similarity/routed-runs.ts';
import { adapterLabel, getGpu } from '../gpu/index.ts';
import { resolveConfig, runGroup } from '../strategies/run.ts';
import { LabSession } from './lab-runner.ts';
import { modeledRun } from './modeled.ts';
import { compactRun } from './compact.ts';
import type { WorkerIn, WorkerOut } from './gpu-runner.ts';
import type { LabProgress } from './lab-runner.ts';
import { TuningCache, relayStore } from '../tuning/tuning-cache.ts';
import { setDefaultTuningCache } from '../tuning/tuning-store.ts';

const scope = self as unknown as {
  postMessage(m: WorkerOut): void;
  onmessage: ((e: MessageEvent<WorkerIn>) => void) | null;
};
const running = new Map<number, AbortController>();
let lab: LabSession | undefined;

/**
 * The page's tuning document for this request becomes the kernels' tuning cache here (a
 * worker has no localStorage); what a sweep records is posted back for the page to store.
 */
function adoptTuning(id: number, text: string | undefined): void {
  setDefaultTuningCache(
    new TuningCache(
      relayStore(
        text,
        (next) => scope.postMessage({ type: 'tuning', id, text: next }),
        "the page's tuning store (localStorage)",
      ),
    ),
  );
}

scope.onmessage = (e) => {
  const msg = e.data;
  if ('tuning' in msg) adoptTuning(msg.id, msg.tuning);
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort(new DOMException('cancelled', 'AbortError'));
    return;
  }
  if (msg.type === 'probe') {
    void probe(msg.id);
    return;
  }
  if (msg.type === 'model') {
    try {
      scope.postMessage({ type: 'result', id: msg.id, result: compactRun(modeledRun(msg.config, msg.strategy)) });
    } catch (err) {
      postError(msg.id, err);
    }
    return;
  }
  if (msg.type === 'lab-programs' || msg.type === 'lab-run' || msg.type === 'lab-sweep') {
    void labRequest(msg);
    return;
  }
  void run(msg.id, msg.options, msg.routedSlots);
};

/** A failed request's error, by name and message (an AbortError stays one on the page's side). */
function postError(id: number, err: unknown): void {
  const e = err as Error;
  scope.postMessage({ type: 'error', id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err) } });
}

async function labRequest(msg: Extract<WorkerIn, { type: 'lab-programs' | 'lab-run' | 'lab-sweep' }>): Promise<void> {
  const ctl = new AbortController();
  running.set(msg.id, ctl);
  const hooks = {
    signal: ctl.signal,
    onProgress: (progress: LabProgress) => scope.postMessage({ type: 'lab-progress', id: msg.id, progress }),
  };
  try {
    lab ??= new LabSession();
    const result =
      msg.type === 'lab-run'
        ? await lab.run(msg.request, hooks)
        : msg.type === 'lab-sweep'
          ? await lab.sweep(msg.request, hooks)
          : await lab.programs(msg.spec, hooks);
    scope.postMessage({ type: 'lab-result', id: msg.id, result });
  } catch (err) {
    postError(msg.id, err);
  } finally {
    running.delete(msg.id);
  }
}

async function probe(id: number): Promise<void> {
  try {
    const gpu = await getGpu({ label: 'probe' });
    scope.postMessage({
      type: 'probe',
      id,
      ok: true,
      adapter: adapterLabel(gpu.info),
      software: gpu.info.software,
      timestamps: gpu.timestamps,
    });
    gpu.destroy();
  } catch (err) {
    scope.postMessage({ type: 'probe', id, ok: false, reason: (err as Error).message });
  }
}

async function run(
  id: number,
  options: Extract<WorkerIn, { type: 'run' }>['options'],
  routedSlots?: RoutedSlots,
): Promise<void> {
  const ctl = new AbortController();
  running.set(id, ctl);
  try {
    // A time-dilated run stands for its target as a scale model (src/similarity), its grouped GEMM
    // under the routing it had: its own router counts (DEP) or those its point's DEP run recorded.
    const r = await runGroup(withScaleTarget(options, resolveConfig(options.model)), {
      signal: ctl.signal,
      onProgress: (progress) => scope.postMessage({ type: 'progress', id, progress }),
      ...routingHooks(routedSlots ? { slots: Promise.resolve(routedSlots) } : {}),
    });
    // The parsed config and outputs stay here: the page needs the timeline (compacted) and the numbers.
    const { outputs: _o, config: _c, ...result } = r;
    scope.postMessage({ type: 'result', id, result: compactRun(result) });
  } catch (err) {
    postError(id, err);
  } finally {
    running.delete(id);
  }
}
