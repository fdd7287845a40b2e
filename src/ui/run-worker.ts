// Runs happen here, off the page's main thread, so the page stays responsive: runGroup on
// this worker's own GPUDevice(s) while SwiftShader grinds (progress posted back, a cancel
// message aborts the run in flight), and the rack model for the modeled source (no GPU
// needed). Messages: see gpu-runner.ts.
import { adapterLabel, getGpu } from '../gpu/index.ts';
import { runGroup } from '../strategies/run.ts';
import { modeledRun } from './modeled.ts';
import type { WorkerIn, WorkerOut } from './gpu-runner.ts';

const scope = self as unknown as { postMessage(m: WorkerOut): void; onmessage: ((e: MessageEvent<WorkerIn>) => void) | null };
const running = new Map<number, AbortController>();

scope.onmessage = (e) => {
  const msg = e.data;
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
      scope.postMessage({ type: 'result', id: msg.id, result: modeledRun(msg.config, msg.strategy) });
    } catch (err) {
      const e = err as Error;
      scope.postMessage({ type: 'error', id: msg.id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err) } });
    }
    return;
  }
  void run(msg.id, msg.options);
};

async function probe(id: number): Promise<void> {
  try {
    const gpu = await getGpu({ label: 'probe' });
    scope.postMessage({ type: 'probe', id, ok: true, adapter: adapterLabel(gpu.info), software: gpu.info.software, timestamps: gpu.timestamps });
    gpu.destroy();
  } catch (err) {
    scope.postMessage({ type: 'probe', id, ok: false, reason: (err as Error).message });
  }
}

async function run(id: number, options: Extract<WorkerIn, { type: 'run' }>['options']): Promise<void> {
  const ctl = new AbortController();
  running.set(id, ctl);
  try {
    const r = await runGroup(options, { signal: ctl.signal, onProgress: (progress) => scope.postMessage({ type: 'progress', id, progress }) });
    // The parsed config and outputs stay here: the page needs the timeline and the numbers.
    const { outputs: _o, config: _c, ...result } = r;
    scope.postMessage({ type: 'result', id, result });
  } catch (err) {
    const e = err as Error;
    scope.postMessage({ type: 'error', id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err) } });
  } finally {
    running.delete(id);
  }
}
