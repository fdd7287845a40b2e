// The strategies on emulated ranks: every strategy, rank mode and DWDP option reproduces
// the single-device layer stack; pulled bytes match the placement; DEP's barrier makes the
// slowest rank set every layer's end while DWDP ranks go at their own pace; DEP records the
// router's per-layer expert counts it exchanged.
import { describe, expect, it } from 'vitest';
import { runLayerStack } from '../src/layer/run.ts';
import { loadPreset } from '../src/model/index.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import { DEFAULT_GROUP_OPTIONS } from '../src/strategies/options.ts';
import { runGroup, type GroupRun } from '../src/strategies/run.ts';
import type { GroupRunOptions } from '../src/strategies/types.ts';
import { relativeError } from '../src/util/numeric.ts';
import { makeWorkload } from '../src/workload/workload.ts';
import { setDefaultTuningCache } from '../src/tuning/tuning-store.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();
const cfg = loadPreset('tiny-deepseek');
// Bit-for-bit agreement with the single-device stack needs the same GEMM variant at every
// token count; a tuning cache left by a lab sweep may pick another per rows class, whose
// different rounding can flip a near-tie in a later layer's routing. Tests run untuned.
setDefaultTuningCache(undefined);

type Overrides = Partial<Omit<GroupRunOptions, 'dwdp'>> & { dwdp?: Partial<GroupRunOptions['dwdp']> };

function options(o: Overrides): GroupRunOptions {
  return {
    ...DEFAULT_GROUP_OPTIONS,
    model: cfg,
    seed: SEED,
    ranks: 3,
    layers: 2,
    tokensPerRank: 12,
    timeDilation: undefined,
    link: { ...DEFAULT_GROUP_OPTIONS.link, gbps: 0.01 },
    ...o,
    dwdp: { ...DEFAULT_GROUP_OPTIONS.dwdp, ...o.dwdp },
  };
}

async function expectSameAsOneDevice(r: GroupRun, o: GroupRunOptions): Promise<void> {
  const out = r.outputs!;
  const tokens = out.x.length / cfg.hidden;
  const ref = await runLayerStack(
    await testGpu(),
    cfg,
    { format: o.format, seed: o.seed, layers: o.layers },
    out.x,
    tokens,
  );
  expect(relativeError(out.out, ref.out)).toBeLessThan(1e-5);
  expect(Array.from(out.topkIdx)).toEqual(Array.from(ref.topkIdx));
  if (o.strategy !== 'dep') return void expect(r.routedSlots).toBeUndefined();
  // DEP records its router's per-layer per-expert slots (the counts it exchanges): every layer
  // routes T·K slots, and the last one's are the single-device stack's top-k, counted here.
  const routed = r.routedSlots!;
  expect(routed).toHaveLength(o.layers);
  for (const c of routed) expect(c.reduce((a, b) => a + b, 0)).toBe(tokens * cfg.topK);
  const hist = new Array<number>(cfg.experts).fill(0);
  for (const e of ref.topkIdx) hist[e]++;
  expect(routed[o.layers - 1]).toEqual(hist);
}

describe(`group strategies vs the single-device layer stack (seed ${SEED})`, () => {
  const cases: [string, Overrides][] = [
    ['dp, partitions', { strategy: 'dp' }],
    ['dep, partitions, uneven lengths', { strategy: 'dep', lengthCv: 0.5, requestsPerRank: 2 }],
    ['dwdp prefetch, split weights, partitions', { strategy: 'dwdp' }],
    [
      'dwdp on demand, merged weights, partitions',
      { strategy: 'dwdp', dwdp: { prefetch: false, splitWeights: false } },
    ],
    // The rank store's layouts: several layers' sections behind each slot (4 layers, 2 slots; 4
    // layers, 3 slots, merged) and one buffer for every layer's section and the one slot (no prefetch).
    ['dwdp prefetch, split weights, 4 layers', { strategy: 'dwdp', layers: 4 }],
    [
      'dwdp prefetch depth 3, merged weights, 4 layers',
      { strategy: 'dwdp', layers: 4, dwdp: { prefetchDepth: 3, splitWeights: false } },
    ],
    ['dwdp on demand, split weights, 3 layers', { strategy: 'dwdp', layers: 3, dwdp: { prefetch: false } }],
    ['dep, devices', { strategy: 'dep', rankMode: 'devices', ranks: 2 }],
    [
      'dwdp prefetch, devices, wall clock',
      {
        strategy: 'dwdp',
        rankMode: 'devices',
        ranks: 2,
        clock: 'wall',
        link: { ...DEFAULT_GROUP_OPTIONS.link, gbps: 1 },
      },
    ],
    ['dp, devices, skewed routing', { strategy: 'dp', rankMode: 'devices', ranks: 2, routingSkew: 1.2, layers: 1 }],
  ];
  for (const [name, o] of cases) {
    it(name, async () => {
      const opts = options(o);
      const r = await runGroup(opts, { keepOutputs: true });
      await expectSameAsOneDevice(r, opts);
      expect(r.makespanMs).toBeGreaterThan(0);
      for (const k of r.ranks) expect(k.computeMs).toBeGreaterThan(0);
    });
  }
});

describe(`bytes pulled match the placement (seed ${SEED})`, () => {
  it('prefetch on: layers × (N−1)·P experts per rank', async () => {
    const opts = options({ strategy: 'dwdp', ranks: 4, layers: 3, dwdp: { local: 19, pull: 15 } });
    const r = await runGroup(opts);
    for (const k of r.ranks) expect(k.bytesPulled).toBe(3 * 3 * 15 * r.bytesPerExpert);
    const p = makePlacement(cfg.experts, 4, 19, 15);
    for (const k of r.ranks) {
      expect(k.residentWeightBytes).toBe(3 * 19 * r.bytesPerExpert);
      expect(k.prefetchBufferBytes).toBe(2 * p.pullBytesPerLayer(r.bytesPerExpert));
    }
  });

  it('prefetch off: the distinct routed remote experts', async () => {
    const opts = options({ strategy: 'dwdp', layers: 1, dwdp: { prefetch: false } });
    const r = await runGroup(opts, { keepOutputs: true });
    const p = makePlacement(cfg.experts, opts.ranks);
    const K = cfg.topK;
    for (const k of r.ranks) {
      const first = r.ranks.slice(0, k.rank).reduce((a, q) => a + q.tokens, 0);
      const routed = new Set(r.outputs!.topkIdx.subarray(first * K, (first + k.tokens) * K));
      const remote = [...routed].filter((e) => !p.owns(k.rank, e)).length;
      expect(k.bytesPulled).toBe(remote * r.bytesPerExpert);
    }
  });
});

describe(`synchronization (seed ${SEED})`, () => {
  // Uneven ranks: one request each with lengths drawn at CV 1.2, so ranks carry different
  // token counts and attention work; the slowest one is whoever drew the longest request.
  // About one seed in 80 draws the same length for all three: the workload seed is then the
  // next one that does not (weights and inputs follow it; still fresh every run).
  const spec = { ranks: 3, tokensPerRank: 10, requestsPerRank: 1, lengthCv: 1.2 };
  let seed = SEED;
  while (new Set(makeWorkload({ ...spec, seed }).map((r) => r.tokens)).size === 1) seed = (seed + 1) >>> 0;
  const uneven = (strategy: 'dep' | 'dwdp') =>
    options({ strategy, ...spec, seed, layers: 3, attention: { heads: 8, headDim: 32 } });

  it('DEP: each layer barrier releases every waiting rank at the same time, when the last one arrives', async () => {
    const r = await runGroup(uneven('dep'));
    for (let l = 0; l < 3; l++) {
      const waits = r.intervals.filter(
        (i) => i.category === 'sync' && i.layer === l && i.label === `barrier L${l}/dispatch`,
      );
      // At most N−1 ranks wait; the last to arrive does not; with uneven ranks somebody does.
      expect(waits.length).toBeLessThan(3);
      expect(waits.length).toBeGreaterThan(0);
      for (const w of waits) expect(w.endMs).toBeCloseTo(waits[0].endMs, 6);
    }
    expect(r.ranks.some((k) => k.syncMs > 0)).toBe(true);
  });

  it('DWDP: no rank ever waits for another rank; each ends after its own compute and pull waits', async () => {
    const r = await runGroup(uneven('dwdp'));
    expect(new Set(r.ranks.map((k) => k.tokens)).size).toBeGreaterThan(1);
    for (const k of r.ranks) {
      expect(k.syncMs).toBe(0);
      expect(k.commMs).toBe(0);
      expect(k.endMs).toBeCloseTo(k.computeMs + k.waitMs, 6);
    }
  });
});
