// Tuning that reaches the page's workers: a sweep in the lab's worker records its winner in
// a relayed copy of the page's tuning document, the page stores what comes back, and a later
// request in another worker (the benchmark runs) carries that document and runs the winner.
import { afterEach, describe, expect, it } from 'vitest';
import { GroupedExpertGemm } from '../src/kernels/expert-gemm.ts';
import { DEFAULT_SHAPE } from '../src/lab/types.ts';
import { TuningCache, adapterKey, memoryStore, relayStore } from '../src/tuning/tuning-cache.ts';
import { adapterLabel } from '../src/gpu/index.ts';
import { setDefaultTuningCache } from '../src/tuning/tuning-store.ts';
import { GpuWorker, type WorkerIn, type WorkerOut } from '../src/ui/gpu-runner.ts';
import { LabSession } from '../src/ui/lab-runner.ts';
import { RouterKernel } from '../src/kernels/router.ts';
import { labRouterParams } from '../src/lab/kernels/router.ts';
import { kernelVariantText } from '../src/ui/summary.ts';
import { Rng } from '../src/util/random.ts';
import { documentedRouterDefault, testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const because = (what: string) => `${what} (seed ${seed})`;
const shape = { ...DEFAULT_SHAPE, tokens: 12 + rng.int(8), hidden: 32, expertHidden: 24, experts: 4, topK: 2 };
// Two portable candidates, neither of them any adapter's default: a tuned run is visible.
const candidates = ['tile:2x2:2x2', 'tile:1x2:4x2'];

afterEach(() => setDefaultTuningCache(null));

describe('tuning relayed between the page and its workers', () => {
  it('a lab sweep is stored by the page and used by a later run in another worker', async () => {
    // The lab worker: the page had no document yet.
    const posted: string[] = [];
    setDefaultTuningCache(new TuningCache(relayStore(undefined, (t) => posted.push(t))));
    const sweep = await new LabSession(testGpu).sweep({ kernel: 'expert-gemm', shape, seed, runs: 1, candidates });
    if (!sweep.ok) throw new Error(because(`sweep failed: ${sweep.failure.message}`));
    const best = sweep.report.best;
    expect(best, because('a correct winner')).toBeDefined();
    expect(candidates).toContain(best!.variant);
    expect(posted, because('one document posted back')).toHaveLength(1);

    // The page stores it (GpuWorker does this on the 'tuning' message).
    const page = memoryStore();
    await page.write(posted[0]);

    // The benchmark worker, later: it gets the page's document with the request.
    setDefaultTuningCache(new TuningCache(relayStore(await page.read(), () => {})));
    const later = await new LabSession(testGpu).programs({ kernel: 'expert-gemm', shape, seed });
    expect(later.failure).toBeNull();
    expect([later.variant, later.variantSource]).toEqual([best!.variant, 'tuned']);
    const gpu = await testGpu();
    const gemm = await GroupedExpertGemm.create(gpu, {
      hidden: shape.hidden,
      expertHidden: shape.expertHidden,
      experts: shape.experts,
      format: shape.format,
      rowsPerExpert: (shape.tokens * shape.topK) / shape.experts,
    });
    expect(gemm.variantSource).toBe('tuned');
    // Named by the sweep that chose it: this adapter, when.
    const recorded = JSON.parse(posted[0]).adapters[adapterKey(gpu.info)].entries;
    expect(gemm.origin).toMatchObject({
      source: 'tuned',
      adapter: adapterLabel(gpu.info),
      measuredAt: (Object.values(recorded)[0] as { measuredAt: string }).measuredAt,
    });
    gemm.destroy();

    // Without the page's document the same request runs the default.
    setDefaultTuningCache(new TuningCache(relayStore(undefined, () => {})));
    const fresh = await new LabSession(testGpu).programs({ kernel: 'expert-gemm', shape, seed });
    expect(fresh.variantSource).toBe('default');
  });

  it("a router sweep's winner is what the MoE layer's router (tuned: true) runs, named as tuned", async () => {
    const posted: string[] = [];
    setDefaultTuningCache(new TuningCache(relayStore(undefined, (t) => posted.push(t))));
    // Neither is a default (tb:4 or pt:64 with the logits GEMM pass, per adapter).
    const routerCandidates = ['tb:2', 'fused:tb:1'];
    const rshape = { ...shape, hidden: 32, experts: 16, topK: 4, scoring: 'sigmoid' as const };
    const sweep = await new LabSession(testGpu).sweep({
      kernel: 'router',
      shape: rshape,
      seed,
      runs: 1,
      candidates: routerCandidates,
    });
    if (!sweep.ok) throw new Error(because(`sweep failed: ${sweep.failure.message}`));
    const best = sweep.report.best!.variant;
    expect(routerCandidates).toContain(best);
    setDefaultTuningCache(new TuningCache(relayStore(posted[posted.length - 1], () => {})));
    const gpu = await testGpu();
    const p = labRouterParams(rshape);
    const tuned = await RouterKernel.create(gpu, p, { tuned: true, expectedTokens: rshape.tokens });
    expect([tuned.variantName, tuned.origin.source], because('tuned router')).toEqual([best, 'tuned']);
    expect(tuned.origin).toMatchObject({ adapter: adapterLabel(gpu.info) });
    tuned.destroy();
    // Without tuned: the built-in default, whatever the cache holds.
    const plain = await RouterKernel.create(gpu, p);
    // The documented rule, read off the adapter (not through the router's own defaultSelection).
    expect([plain.variantName, plain.origin.source]).toEqual([documentedRouterDefault(gpu), 'given']);
    plain.destroy();
  });

  it("GpuWorker sends the page's document with each request and stores what a sweep posts back", async () => {
    const sent: WorkerIn[] = [];
    const made: { onmessage: ((e: { data: WorkerOut }) => void) | null }[] = [];
    const g = globalThis as { Worker?: unknown };
    const saved = g.Worker;
    g.Worker = class {
      onmessage: ((e: { data: WorkerOut }) => void) | null = null;
      onerror = null;
      constructor() {
        made.push(this);
      }
      postMessage(m: WorkerIn) {
        sent.push(m);
      }
      terminate() {}
    };
    try {
      const store = memoryStore('{"page": "document"}');
      const w = new GpuWorker('test', store);
      const answer = w.labSweep({ kernel: 'expert-gemm', shape, seed, runs: 1 });
      await new Promise((r) => setTimeout(r, 0));
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ type: 'lab-sweep', tuning: '{"page": "document"}' });
      const id = sent[0].id;
      made[0].onmessage!({ data: { type: 'tuning', id, text: '{"swept": true}' } });
      await new Promise((r) => setTimeout(r, 0));
      expect(store.text).toBe('{"swept": true}');
      const failure = { kind: 'error' as const, message: 'x', diagnostics: [] };
      made[0].onmessage!({ data: { type: 'lab-result', id, result: { ok: false, failure } } });
      expect(await answer).toEqual({ ok: false, failure });
      // The next request carries the stored document.
      void w.labSweep({ kernel: 'expert-gemm', shape, seed, runs: 1 });
      await new Promise((r) => setTimeout(r, 0));
      expect(sent[1]).toMatchObject({ type: 'lab-sweep', tuning: '{"swept": true}' });
    } finally {
      g.Worker = saved;
    }
  });
});

describe('the page says which kernel variants a run used and where they came from', () => {
  const tuned = {
    source: 'tuned' as const,
    adapter: 'Some GPU',
    measuredAt: '2026-05-06T07:08:09.000Z',
    store: "the page's tuning store (localStorage)",
  };
  const router = { kernel: 'router', variant: 'tb:4', origin: { source: 'default' as const }, ranks: [0, 1] };
  it('once when every strategy ran the same, per strategy (and rank) where they differ, nothing for modeled runs', () => {
    const gemm = { kernel: 'grouped GEMM', variant: 'tile:2x2:2x2', origin: tuned, ranks: [0, 1] };
    const dep = { strategy: 'dep' as const, kernelVariants: [router, gemm] };
    const dwdp = { ...dep, strategy: 'dwdp' as const };
    expect(kernelVariantText([dep, dwdp])).toBe(
      'Kernel variants: router tb:4 (default for this adapter), ' +
        'grouped GEMM tile:2x2:2x2 (tuned here on Some GPU at 2026-05-06 07:08 UTC)',
    );
    const mixed = {
      strategy: 'dwdp' as const,
      kernelVariants: [
        router,
        { ...gemm, ranks: [0] },
        { kernel: 'grouped GEMM', variant: 'sx4:8x4:2x2', origin: { source: 'default' as const }, ranks: [1] },
      ],
    };
    expect(kernelVariantText([dep, mixed])).toBe(
      'Kernel variants: DEP router tb:4 (default for this adapter), grouped GEMM tile:2x2:2x2 (tuned here on Some GPU at 2026-05-06 07:08 UTC); ' +
        'DWDP router tb:4 (default for this adapter), grouped GEMM tile:2x2:2x2 (tuned here on Some GPU at 2026-05-06 07:08 UTC; rank 0), ' +
        'grouped GEMM sx4:8x4:2x2 (default for this adapter; rank 1)',
    );
    expect(kernelVariantText([{ strategy: 'dep', kernelVariants: undefined }])).toBeUndefined();
  });
});
