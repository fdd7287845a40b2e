// The worker's timeline compaction (src/ui/compact.ts): copy-lane slices of one transfer become
// one span (below 8 ranks) or one span per rank, layer and kind (from 8 ranks), keeping every
// byte — per rank and per pair — and the compute intervals as they were. Random slice sets,
// seeded (the seed is printed on failure; TEST_SEED reruns it), against float64 sums.
import { describe, expect, it } from 'vitest';
import type { Interval } from '../src/timeline/scheduler.ts';
import type { GroupRunResult } from '../src/strategies/types.ts';
import { AGGREGATE_FROM_RANKS, compactRun } from '../src/ui/compact.ts';
import { flowTotals } from '../src/ui/topology.ts';
import { busySpans, timelineRows, classTotals } from '../src/ui/timeline.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const withSeed = (what: string) => `${what} (TEST_SEED=${seed})`;

function rng(s: number) {
  let x = s >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** A fake run: compute ops per rank and layer, and round-robin copy slices to every peer. */
function fakeRun(n: number, layers: number, rand: () => number): GroupRunResult {
  const intervals: Interval[] = [];
  for (let rank = 0; rank < n; rank++) {
    let t = 0;
    for (let layer = 0; layer < layers; layer++) {
      const d = 0.5 + rand();
      intervals.push({ rank, lane: 'compute', label: 'gemm', category: 'gemm', layer, startMs: t, endMs: t + d });
      // Slices of each peer's transfer, interleaved round-robin.
      let c = t;
      const rounds = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < rounds; k++)
        for (let peer = 0; peer < n; peer++) {
          if (peer === rank) continue;
          const dt = 0.01 + 0.05 * rand();
          const bytes = Math.floor(1 + rand() * 1e6);
          intervals.push({
            rank,
            lane: 'copy',
            label: `pull ← r${rank}`,
            category: 'pull',
            layer,
            startMs: c,
            endMs: c + dt,
            peer,
            bytes,
          });
          c += dt;
        }
      t += d;
    }
  }
  const makespanMs = Math.max(...intervals.map((iv) => iv.endMs));
  return {
    strategy: 'dwdp',
    clock: 'virtual',
    rankMode: 'partitions',
    ranks: Array.from({ length: n }, (_, rank) => ({ rank }) as GroupRunResult['ranks'][number]),
    makespanMs,
    tpsPerGpu: 1,
    tpsPerUser: 1,
    hiddenPullFraction: 0,
    intervals,
    replicaWeightBytes: 0,
    bytesPerExpert: 0,
    link: { gbps: 1, latencyUs: 0, contentionFix: true },
    provenance: { kind: 'modeled', profile: 'test', profileName: 'test', calibration: 'test' },
    timeSource: 'test',
    adapter: 'test',
  };
}

describe('timeline compaction', () => {
  const rand = rng(seed);
  for (const n of [2 + Math.floor(rand() * 5), AGGREGATE_FROM_RANKS + Math.floor(rand() * 8)]) {
    it(`keeps every byte and the compute stream, ${n} ranks`, () => {
      const layers = 2 + Math.floor(rand() * 3);
      const r = fakeRun(n, layers, rand);
      const c = compactRun(r);
      const aggregated = n >= AGGREGATE_FROM_RANKS;
      expect(c.compact.aggregated).toBe(aggregated);
      const copies = r.intervals.filter((iv) => iv.lane === 'copy');
      expect(c.compact.sourceCopyIntervals).toBe(copies.length);
      // Per-pair bytes: exact, and what the topology's chords read.
      const pairs = flowTotals(r);
      expect(c.compact.pairBytes).toEqual(pairs);
      expect(flowTotals(c)).toEqual(pairs);
      // Per-rank bytes on the copy lane.
      for (let k = 0; k < n; k++) {
        const sum = (ivs: Interval[]) =>
          ivs.filter((iv) => iv.rank === k && iv.lane === 'copy').reduce((a, iv) => a + (iv.bytes ?? 0), 0);
        expect(sum(c.intervals), withSeed(`rank ${k} bytes`)).toBeCloseTo(sum(r.intervals), 3);
      }
      // Span count: one per transfer, or one per rank and layer.
      const spans = c.intervals.filter((iv) => iv.lane === 'copy');
      expect(spans.length).toBe(aggregated ? n * layers : n * (n - 1) * layers);
      if (aggregated) for (const s of spans) expect(s.peer).toBeUndefined();
      // Compute rows unchanged; the copy engine's busy time covers exactly the slices' union.
      const before = timelineRows(r);
      const after = timelineRows(c);
      expect(classTotals(after.filter((x) => x.lane === 'compute'))).toEqual(
        classTotals(before.filter((x) => x.lane === 'compute')),
      );
      for (let i = 1; i < before.length; i += 2) {
        const union = busySpans(before[i]);
        const merged = busySpans(after[i]);
        expect(merged[0].startMs).toBe(union[0].startMs);
        expect(merged[merged.length - 1].endMs).toBe(union[union.length - 1].endMs);
      }
      // Idempotent.
      expect(compactRun(c)).toBe(c);
    });
  }
});
