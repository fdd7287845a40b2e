// The page's side of the end-to-end worker (e2e-worker.ts): one request per scenario run,
// answered in order of ids. The model is pure arithmetic; it runs in a worker only so the page
// stays responsive while it searches thousands of deployments.
import type { E2eResult, E2eSpec, ValidationRow } from '../sim/e2e/scenario.ts';
import type { ExportFile } from '../sim/export-trtllm.ts';

export interface E2eWorkerIn {
  id: number;
  spec: E2eSpec;
}

/** What the page gets back: the result with its validation rows and export files, or why not. */
export type E2eWorkerOut =
  | {
      id: number;
      ok: true;
      result: E2eResult;
      validation: ValidationRow[];
      /** The TensorRT-LLM hand-off (as `--export-trtllm` writes it), or why it cannot be written. */
      exported: { files: ExportFile[] } | { error: string };
      /** Wall time of the model in the worker (measured here). */
      elapsedMs: number;
    }
  | { id: number; ok: false; error: string };

export type E2eRun = Extract<E2eWorkerOut, { ok: true }>;

export class E2eRunner {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: E2eRun): void; reject(e: Error): void }>();

  private get w(): Worker {
    if (!this.worker) {
      this.worker = new Worker(new URL('./e2e-worker.ts', import.meta.url), { type: 'module', name: 'dwdp-e2e' });
      this.worker.onmessage = (e: MessageEvent<E2eWorkerOut>) => {
        const p = this.pending.get(e.data.id);
        if (!p) return;
        this.pending.delete(e.data.id);
        if (e.data.ok) p.resolve(e.data);
        else p.reject(new Error(e.data.error));
      };
      this.worker.onerror = (e) => {
        const err = new Error(`end-to-end worker failed: ${e.message || 'could not load'}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        this.worker = null;
      };
    }
    return this.worker;
  }

  run(spec: E2eSpec): Promise<E2eRun> {
    const id = this.nextId++;
    return new Promise<E2eRun>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.w.postMessage({ id, spec } satisfies E2eWorkerIn);
    });
  }
}
