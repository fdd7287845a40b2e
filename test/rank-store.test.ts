// DWDP's rank store: the resident shard and the prefetch slots as regions of one buffer per
// slot (src/dwdp/store-layout.ts). The layout against a direct enumeration of its byte
// ranges; the limit refusal and the choice it proposes; the upload and the tables read back;
// and the grouped GEMM over ONE binding per layer — the rank's resident experts and the
// pulled ones interleaved in expert order, at non-zero offsets — against the float64
// reference, on fresh random weights, inputs and routing.
import { describe, expect, it } from 'vitest';
import {
  LimitExceededError,
  createBufferWith,
  deviceNeeds,
  readBuffer,
  readF32,
  resolveLimits,
  type Gpu,
} from '../src/gpu/index.ts';
import { GroupedExpertGemm, expertGemmReference, type DecodedExpert } from '../src/kernels/expert-gemm.ts';
import { permuteReference } from '../src/kernels/permute.ts';
import type { HostLayerWeights } from '../src/layer/host-weights.ts';
import { decodeExpert, expertLayout, packExpert, type WeightFormat } from '../src/model/formats.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import { StoreLayout, alignBinding } from '../src/dwdp/store-layout.ts';
import { createRankStore, sectionRef, shardSizeItem, uploadShard, type RankStore } from '../src/dwdp/weight-store.ts';
import { PrefetchRing } from '../src/timeline/plan.ts';
import { relativeError } from '../src/util/numeric.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;

describe(`rank store layout ${at}`, () => {
  it('gives every expert of every layer its own range in its layer’s buffer; the slot and the sections never overlap', () => {
    const rng = new Rng(seed).fork('layout');
    for (let trial = 0; trial < 40; trial++) {
      const N = 2 + rng.int(5);
      const E = N + rng.int(30);
      const placement = makePlacement(E, N);
      const rank = rng.int(N);
      const layers = 1 + rng.int(9);
      const depth = 1 + rng.int(4);
      const expertBytes = 16 * (1 + rng.int(40));
      const l = new StoreLayout({ placement, rank, expertBytes, layers, depth });
      const what = `E ${E} N ${N} rank ${rank} layers ${layers} depth ${depth} bytes ${expertBytes}`;
      const ring = new PrefetchRing(layers, depth);
      // Byte ranges per buffer: [start, end, who, layer or −1 for the slot (shared by its layers)].
      const ranges: [number, number, string][][] = Array.from({ length: depth }, () => []);
      for (let layer = 0; layer < layers; layer++) {
        const k = l.bufferOf(layer);
        expect(k, what).toBe(ring.slotOf(layer));
        for (let e = 0; e < E; e++) {
          const o = l.expertOffset(layer, e);
          expect(o % 16, what).toBe(0);
          const resident = placement.owns(rank, e);
          // Resident experts lie in their layer's section, past the slot; pulled ones in the slot.
          if (resident) {
            expect(o, what).toBeGreaterThanOrEqual(l.slotBytes);
            ranges[k].push([o, o + expertBytes, `L${layer} e${e}`]);
          } else {
            expect(o + expertBytes, what).toBeLessThanOrEqual(l.slotBytes);
            if (layer === k) ranges[k].push([o, o + expertBytes, `slot e${e}`]);
          }
          expect(o + expertBytes, what).toBeLessThanOrEqual(l.bufferBytes(k));
        }
      }
      for (const list of ranges) {
        list.sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < list.length; i++)
          expect(list[i][0], `${what}: ${list[i - 1][2]} and ${list[i][2]} overlap`).toBeGreaterThanOrEqual(
            list[i - 1][1],
          );
      }
      // Memory: the resident shard (sections padded to the binding alignment) and depth slots, nothing per layer.
      expect(l.totalBytes, what).toBe(layers * alignBinding(placement.local * expertBytes) + depth * l.slotBytes);
      expect(l.payloadBytes, what).toBe(placement.remoteExperts(rank).length * expertBytes);
    }
  });

  it('proposes a layer count that fits a limit, and no larger one fits', () => {
    const rng = new Rng(seed).fork('within');
    for (let trial = 0; trial < 40; trial++) {
      const N = 2 + rng.int(5);
      const placement = makePlacement(N + rng.int(30), N);
      const depth = 1 + rng.int(4);
      const spec = { placement, rank: rng.int(N), expertBytes: 16 * (1 + rng.int(40)), depth };
      const limit = 256 * (1 + rng.int(200));
      const fit = new StoreLayout({ ...spec, layers: 1 }).layersWithin(limit);
      if (fit === 0) {
        expect(new StoreLayout({ ...spec, layers: 1 }).maxBufferBytes).toBeGreaterThan(limit);
        continue;
      }
      expect(new StoreLayout({ ...spec, layers: fit }).maxBufferBytes).toBeLessThanOrEqual(limit);
      expect(new StoreLayout({ ...spec, layers: fit + 1 }).maxBufferBytes).toBeGreaterThan(limit);
    }
  });

  it('refuses a buffer past the binding limit, naming the limit and a layer count that fits', () => {
    const cfgLayout = expertLayout('nvfp4', 48, 80);
    const layout = new StoreLayout({
      placement: makePlacement(8, 4),
      rank: 1,
      expertBytes: cfgLayout.bytes,
      layers: 6,
      depth: 2,
    });
    const limit = layout.slotBytes + 2 * layout.sectionStride; // two sections per buffer fit: 4 layers
    const gpu = {
      device: { limits: { maxStorageBufferBindingSize: limit, maxBufferSize: 2 ** 30 } },
    } as unknown as Gpu;
    const hosts = hostLayers(new Rng(seed).fork('refuse'), 'nvfp4', 48, 80, 8, 6).map((h) => h.host);
    let err: unknown;
    try {
      createRankStore(gpu, hosts, layout);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as Error).message).toMatch(/maxStorageBufferBindingSize = \d+, but this adapter allows at most \d+/);
    expect((err as Error).message).toMatch(/use --layers 4 or fewer/);
  });
});

describe(`DP and DEP resident buffers ${at}`, () => {
  it('the size checked before the run is the buffer uploadShard allocates, limited by maxBufferSize only', async () => {
    const rng = new Rng(seed).fork('shard');
    const gpu = await testGpu();
    const E = 4 + rng.int(5);
    const layers = 1 + rng.int(4);
    const first = rng.int(E - 1);
    const shard = { first, count: 1 + rng.int(E - first) };
    const hosts = hostLayers(rng, 'fp8', 128, 64, E, layers).map((h) => h.host);
    const r = uploadShard(gpu, hosts, shard, 'test shard');
    const item = shardSizeItem('the test rank', shard, hosts[0].layout.bytes, layers);
    expect(r.buffer.size).toBe(item.bytes);
    expect(r.layerStride * layers).toBe(item.bytes);
    r.buffer.destroy();
    // Bound a layer at a time: a binding limit below the whole buffer (but above one section) does not refuse it;
    // a buffer limit below it does, naming --layers.
    const needs = deviceNeeds([item]);
    expect(needs.map((n) => n.limit)).toEqual(['maxBufferSize']);
    const limits = (maxBufferSize: number) =>
      ({ maxStorageBufferBindingSize: r.layerStride, maxBufferSize }) as unknown as GPUSupportedLimits;
    expect(() => resolveLimits(limits(item.bytes), needs)).not.toThrow();
    expect(() => resolveLimits(limits(item.bytes - 4), needs)).toThrow(
      /the test rank's resident experts.*fewer --layers/,
    );
  });
});

/** Random experts of `layers` layers, packed as a host replica, with their decoded weights. */
function hostLayers(rng: Rng, format: WeightFormat, H: number, F: number, E: number, layers: number) {
  const layout = expertLayout(format, H, F);
  return Array.from({ length: layers }, (_, layer) => {
    const blocks = new Uint32Array(E * layout.words);
    const decoded: DecodedExpert[] = [];
    for (let e = 0; e < E; e++) {
      const m = (rows: number, cols: number) => rng.normals(rows * cols, 1 / Math.sqrt(cols));
      packExpert(layout, m(F, H), m(F, H), m(H, F), blocks, e * layout.words);
      decoded.push(decodeExpert(layout, blocks, e * layout.words));
    }
    const host: HostLayerWeights = {
      layer,
      format,
      layout,
      router: new Float32Array(0),
      blocks,
      experts: [...Array(E).keys()],
    };
    return { host, decoded };
  });
}

/** The prefetch of layer l into rank r's slot: one copy per serving peer, from its resident section (as the DWDP rank loop does). */
function pullLayer(gpu: Gpu, stores: RankStore[], r: number, l: number): void {
  const me = stores[r];
  const b = me.layout.expertBytes;
  const enc = gpu.device.createCommandEncoder();
  for (const reg of me.layout.regions) {
    const peer = stores[reg.from];
    const src = sectionRef(peer, l);
    const first = reg.experts[0] - peer.layout.first;
    enc.copyBufferToBuffer(
      src.buffer,
      src.offset + first * b,
      me.buffers[me.layout.bufferOf(l)],
      reg.offset,
      reg.bytes,
    );
  }
  gpu.device.queue.submit([enc.finish()]);
}

describe(`grouped GEMM over a rank store: one binding, per-expert offsets ${at}`, () => {
  const cases: { format: WeightFormat; H: number; F: number; E: number; N: number; variant: string }[] = [
    { format: 'nvfp4', H: 48, F: 80, E: 8, N: 4, variant: 'default' }, // L = P = 2: slot, shard, slot
    { format: 'fp8', H: 40, F: 56, E: 8, N: 3, variant: 'default' }, // L = 4 > P = 2
    { format: 'f32', H: 36, F: 20, E: 7, N: 3, variant: 'tile:3x2:4x5' },
    { format: 'int8', H: 36, F: 44, E: 6, N: 2, variant: 'wg:3x2:2x5' },
  ];
  for (const c of cases) {
    const name = `${c.format} E ${c.E} N ${c.N} variant ${c.variant}`;
    it(`${name}: every rank’s layers 3 and 4 (second and third section behind their slot) match the reference`, async () => {
      const gpu = await testGpu();
      const rng = new Rng(seed).fork(JSON.stringify(c));
      const layers = 5;
      const depth = 2;
      const hosts = hostLayers(rng, c.format, c.H, c.F, c.E, layers);
      const placement = makePlacement(c.E, c.N);
      const stores = Array.from({ length: c.N }, (_, rank) =>
        createRankStore(
          gpu,
          hosts.map((h) => h.host),
          new StoreLayout({ placement, rank, expertBytes: hosts[0].host.layout.bytes, layers, depth }),
        ),
      );
      const gemm = await GroupedExpertGemm.create(gpu, {
        hidden: c.H,
        expertHidden: c.F,
        experts: c.E,
        format: c.format,
        variant: c.variant,
      });
      const T = 13 + rng.int(20);
      const K = 2;
      for (let r = 0; r < c.N; r++) {
        const s = stores[r];
        // Resident and pulled experts interleave in expert order unless the rank's range is at an end.
        for (const l of [3, 4]) {
          pullLayer(gpu, stores, r, l);
          // The table's words are the layout's offsets; the section's bytes the host's.
          const table = new Uint32Array(await readBuffer(gpu, s.tables[l], 4 * c.E));
          for (let e = 0; e < c.E; e++) expect(table[e]).toBe(s.layout.expertOffset(l, e) / 4);
          const choice = new Int32Array(T * K);
          for (let t = 0; t < T; t++) {
            const a = rng.int(c.E);
            choice[t * K] = a;
            choice[t * K + 1] = (a + 1 + rng.int(c.E - 1)) % c.E;
          }
          const { perm, offsets } = permuteReference({ experts: c.E, topK: K }, T, choice);
          const x = rng.normals(T * c.H, 1);
          const nan = (n: number) => createBufferWith(gpu, new Float32Array(n).fill(NaN), 'out');
          const h = nan(T * K * c.F);
          const y = nan(T * K * c.H);
          const common = {
            topK: K,
            tokens: T,
            weights: { buffer: s.buffers[s.layout.bufferOf(l)] },
            expertTable: s.tables[l],
            offsets: createBufferWith(gpu, offsets, 'offsets'),
          };
          const enc = gpu.device.createCommandEncoder();
          gemm.encodeGateUp(enc, {
            ...common,
            x: createBufferWith(gpu, x, 'x'),
            perm: createBufferWith(gpu, perm, 'perm'),
            h,
          });
          gemm.encodeDown(enc, { ...common, h, y });
          gpu.device.queue.submit([enc.finish()]);
          const gotH = await readF32(gpu, h, T * K * c.F);
          const gotY = await readF32(gpu, y, T * K * c.H);
          const ref = { tokens: T, topK: K, hidden: c.H, expertHidden: c.F, experts: hosts[l].decoded, perm, offsets };
          const what = `rank ${r} layer ${l} ${JSON.stringify(c)} ${at}`;
          expect(relativeError(gotH, expertGemmReference({ ...ref, x }, 'gate_up')), what).toBeLessThan(1e-4);
          expect(relativeError(gotY, expertGemmReference({ ...ref, h: gotH }, 'down')), what).toBeLessThan(1e-4);
        }
      }
      gemm.destroy();
    });
  }
});
