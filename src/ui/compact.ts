// What a run sends from the worker to the page: its timeline compacted, so that a large group
// neither stalls the page while the message is copied nor while the views draw it.
//
// A copy engine's timeline comes out of the link model as many slices: the fluid model cuts a
// transfer wherever its share of the source's bandwidth changes, and the contention fix
// interleaves slices round-robin across peers. A 16-rank modeled DeepSeek-R1 step held about
// 750 000 such slices per strategy (≈120 MB as JSON), and a 64-rank one ran out of memory; the
// modeled source now asks the scheduler for one span per transfer (`copySpans: 'transfers'`,
// 38 000 intervals for DEP at 16 ranks, each from its first byte to its landing), measured
// runs still come in slices. Even one span per
// transfer is more than the page can copy, index or draw within a frame at 64 ranks. So:
//
//   N < AGGREGATE_FROM_RANKS   copy slices of one transfer — same rank, peer, layer, kind and
//                              label — become one span from its first slice's start to its last
//                              slice's end, carrying their summed bytes (its mean rate). Spans of
//                              different peers then overlap in time, as the transfers did.
//   N ≥ AGGREGATE_FROM_RANKS   copy slices of one rank, layer and kind become one span (peer
//                              dropped, label "serving pulls to k peers"): the Gantt draws one
//                              row per rank and the topology a busy ring per copy engine.
//
// In both cases the bytes each rank sent to each other rank over the run are kept exactly
// (`pairBytes`), compute intervals are kept as they are, and every total the views read (bytes
// per rank, busy time per class on the compute stream) is unchanged. Metrics were computed by
// the scheduler from the full timeline before this runs.
//
// Pure module (Node, browser, worker).
import type { Interval } from '../timeline/scheduler.ts';
import type { GroupRunResult } from '../strategies/types.ts';
import type { Capacity } from './modeled.ts';

/** From this many ranks up, copy spans are aggregated per rank and layer (see the header). */
export const AGGREGATE_FROM_RANKS = 8;

export interface CompactTimeline {
  /** True when copy spans are per rank and layer (peer dropped), false when per transfer. */
  aggregated: boolean;
  /** Copy-lane intervals in the run before compaction. */
  sourceCopyIntervals: number;
  /** Bytes moved from each rank to each other over the run: pairBytes[from][to]. */
  pairBytes: number[][];
}

/** A run as the page holds it: the library's result, its timeline compacted, and (modeled) its memory against HBM. */
export type PageRun = GroupRunResult & { compact?: CompactTimeline; capacity?: Capacity };

/** The result with its copy lane compacted (see the header); a no-op on an already compacted run. */
export function compactRun<T extends GroupRunResult>(r: T): T & { compact: CompactTimeline } {
  const existing = (r as PageRun).compact;
  if (existing) return r as T & { compact: CompactTimeline };
  const n = r.ranks.length;
  const aggregated = n >= AGGREGATE_FROM_RANKS;
  const pairBytes = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const merged = new Map<string, Interval & { peers?: Set<number> }>();
  const out: Interval[] = [];
  let copies = 0;
  for (const iv of r.intervals) {
    if (iv.lane !== 'copy') {
      out.push(iv);
      continue;
    }
    copies++;
    if (iv.peer !== undefined && iv.rank < n && iv.peer < n) pairBytes[iv.rank][iv.peer] += iv.bytes ?? 0;
    const key = aggregated
      ? `${iv.rank}|${iv.category}|${iv.layer ?? ''}`
      : `${iv.rank}|${iv.category}|${iv.layer ?? ''}|${iv.peer ?? ''}|${iv.label}`;
    const m = merged.get(key);
    if (!m) {
      const first = { ...iv, ...(aggregated ? { peers: new Set<number>() } : {}) };
      if (aggregated && iv.peer !== undefined) first.peers!.add(iv.peer);
      merged.set(key, first);
      continue;
    }
    m.startMs = Math.min(m.startMs, iv.startMs);
    m.endMs = Math.max(m.endMs, iv.endMs);
    if (iv.bytes !== undefined) m.bytes = (m.bytes ?? 0) + iv.bytes;
    if (aggregated && iv.peer !== undefined) m.peers!.add(iv.peer);
  }
  for (const m of merged.values()) {
    const { peers, ...span } = m;
    if (aggregated) {
      delete span.peer;
      const k = peers?.size ?? 0;
      span.label = `${span.category === 'send' ? 'sending to' : 'serving pulls to'} ${k} peer${k === 1 ? '' : 's'}`;
    }
    out.push(span);
  }
  return { ...r, intervals: out, compact: { aggregated, sourceCopyIntervals: copies, pairBytes } };
}
