// The end-to-end model off the page's main thread: one request is one scenario run (the same
// runE2e as `npm run sim -- --scenario <e2e>`), answered with the result, its validation rows
// and the TensorRT-LLM hand-off files (or the reason they cannot be written). No GPU needed.
import { loadPreset } from '../model/presets.ts';
import { e2eValidation, runE2e, type E2eSpec } from '../sim/e2e/scenario.ts';
import { deepseekR1 } from '../sim/experiment.ts';
import { buildTrtllmExport } from '../sim/export-trtllm.ts';
import type { E2eRun, E2eWorkerIn, E2eWorkerOut } from './e2e-runner.ts';

const scope = self as unknown as {
  postMessage(m: E2eWorkerOut): void;
  onmessage: ((e: MessageEvent<E2eWorkerIn>) => void) | null;
};

function run(spec: E2eSpec): E2eRun {
  const model = spec.model === undefined || spec.model === 'deepseek-r1' ? deepseekR1() : loadPreset(spec.model);
  const t0 = performance.now();
  const result = runE2e(spec, { model });
  const elapsedMs = performance.now() - t0;
  let exported: E2eRun['exported'];
  try {
    exported = { files: buildTrtllmExport(result, model) };
  } catch (e) {
    exported = { error: (e as Error).message };
  }
  return { id: 0, ok: true, result, validation: e2eValidation(result), exported, elapsedMs };
}

scope.onmessage = (e) => {
  const { id, spec } = e.data;
  try {
    scope.postMessage({ ...run(spec), id });
  } catch (err) {
    scope.postMessage({ id, ok: false, error: (err as Error).message });
  }
};
