// Chrome trace export: one process per rank, a compute and a copy-engine thread, complete
// events in microseconds that match the scheduler's intervals.
import { describe, expect, it } from 'vitest';
import { linkSpec } from '../src/timeline/link.ts';
import { COMPUTE_TID, COPY_TID, toChromeTrace } from '../src/report/trace.ts';
import { simulate } from '../src/timeline/scheduler.ts';
import type { Op } from '../src/timeline/ops.ts';
import { CATEGORIES } from '../src/timeline/categories.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);

function schedule() {
  const N = 2 + rng.int(4);
  const programs: Op[][] = Array.from({ length: N }, (_, r) => {
    const ops: Op[] = [];
    for (let l = 0; l < 4; l++) {
      const peers = [...Array(N).keys()].filter((p) => p !== r);
      for (const p of peers)
        ops.push({ kind: 'pull', id: `${l}:${p}`, from: p, bytes: 1 + rng.int(8 << 20), layer: l });
      ops.push({ kind: 'compute', label: 'gemm', category: 'gemm', durationMs: rng.uniform(0.001, 0.02), layer: l });
      ops.push({ kind: 'waitPull', ids: peers.map((p) => `${l}:${p}`), layer: l });
      ops.push({ kind: 'barrier', id: `b${l}` });
    }
    return ops;
  });
  return simulate(programs, linkSpec({ egressGBps: 300, contentionFix: rng.next() < 0.5 }));
}

describe('toChromeTrace', () => {
  it('names a process per rank and its two threads, and turns every interval into a complete event', () => {
    const s = schedule();
    const t = toChromeTrace(s.intervals, { title: 'test', modeled: true, profile: 'gb200-nvl72' });
    const ranks = [...new Set(s.intervals.map((i) => i.rank))];
    const meta = t.traceEvents.filter((e) => e.ph === 'M');
    for (const r of ranks) {
      expect(meta.find((e) => e.pid === r && e.name === 'process_name')?.args).toEqual({ name: `rank ${r}` });
      expect(meta.find((e) => e.pid === r && e.tid === COMPUTE_TID && e.name === 'thread_name')?.args).toEqual({
        name: 'compute',
      });
      expect(meta.find((e) => e.pid === r && e.tid === COPY_TID && e.name === 'thread_name')?.args).toEqual({
        name: 'copy engine',
      });
    }
    const x = t.traceEvents.filter((e) => e.ph === 'X');
    expect(x.length).toBe(s.intervals.length);
    s.intervals.forEach((iv, k) => {
      const e = x[k];
      expect(e.pid).toBe(iv.rank);
      expect(e.tid).toBe(iv.lane === 'compute' ? COMPUTE_TID : COPY_TID);
      expect(e.ts).toBeCloseTo(iv.startMs * 1000, 9);
      expect(e.dur).toBeCloseTo((iv.endMs - iv.startMs) * 1000, 9);
      expect(e.cat).toBe(iv.category);
      expect(e.args?.kind).toBe(CATEGORIES[iv.category].label);
      if (iv.lane === 'copy') expect(e.args).toMatchObject({ peer: iv.peer, bytes: Math.round(iv.bytes!) });
    });
    // Events on one thread never overlap (Perfetto draws them as one track).
    for (const r of ranks) {
      for (const tid of [COMPUTE_TID, COPY_TID]) {
        const ev = x.filter((e) => e.pid === r && e.tid === tid).sort((a, b) => a.ts! - b.ts!);
        for (let k = 1; k < ev.length; k++)
          expect(ev[k].ts!).toBeGreaterThanOrEqual(ev[k - 1].ts! + ev[k - 1].dur! - 1e-6);
      }
    }
    expect(t.otherData).toMatchObject({ title: 'test', modeled: true, profile: 'gb200-nvl72' });
    expect(t.displayTimeUnit).toBe('ms');
    // Round-trips through JSON (what gets written to disk).
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });

  it('says modeled: false unless told otherwise, and uses given rank names', () => {
    const t = toChromeTrace([{ rank: 3, lane: 'compute', label: 'x', category: 'other', startMs: 1, endMs: 2 }], {
      rankName: (r) => `GPU ${r}`,
    });
    expect(t.otherData.modeled).toBe(false);
    expect(t.traceEvents.find((e) => e.name === 'process_name')?.args).toEqual({ name: 'GPU 3' });
    expect(t.traceEvents.filter((e) => e.ph === 'X')).toEqual([
      { name: 'x', cat: 'other', ph: 'X', pid: 3, tid: 0, ts: 1000, dur: 1000, args: { kind: 'other compute' } },
    ]);
  });
});
