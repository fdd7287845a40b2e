// Chrome trace-event JSON of a whole comparison (opens in Perfetto / chrome://tracing): one
// process per run (point × strategy), one thread per rank's compute stream and one per its
// copy engine, complete ('X') events in µs with the span's kind, layer and bytes as args.
//
// Pure module (Node and browser).
import type { GroupRunResult } from '../strategies/types.ts';
import type { Comparison } from './compare.ts';
import { classify } from './timeline.ts';
import { provenance } from './summary.ts';

export interface TraceEvent {
  name: string;
  ph: 'X' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  metadata: Record<string, unknown>;
}

/** Events of one run under process id `pid`. */
export function runTraceEvents(r: GroupRunResult, pid: number, processName: string): TraceEvent[] {
  const events: TraceEvent[] = [{ name: 'process_name', ph: 'M', pid, tid: 0, args: { name: processName } }];
  const tid = (rank: number, lane: 'compute' | 'copy') => 2 * rank + (lane === 'copy' ? 1 : 0);
  for (const k of r.ranks) {
    events.push({ name: 'thread_name', ph: 'M', pid, tid: tid(k.rank, 'compute'), args: { name: `rank ${k.rank} compute` } });
    events.push({ name: 'thread_name', ph: 'M', pid, tid: tid(k.rank, 'copy'), args: { name: `rank ${k.rank} copy engine` } });
  }
  for (const iv of r.intervals) {
    events.push({
      name: iv.label,
      cat: classify(iv),
      ph: 'X',
      pid,
      tid: tid(iv.rank, iv.lane),
      ts: iv.startMs * 1000,
      dur: (iv.endMs - iv.startMs) * 1000,
      args: { category: iv.category, ...(iv.layer !== undefined ? { layer: iv.layer } : {}), ...(iv.peer !== undefined ? { to: iv.peer, bytes: iv.bytes } : {}) },
    });
  }
  return events;
}

export function comparisonTrace(c: Comparison): ChromeTrace {
  const traceEvents: TraceEvent[] = [];
  let pid = 1;
  for (const p of c.points) {
    for (const r of p.results) {
      const at = c.sweep && p.value !== null ? ` @ ${c.sweep.field}=${p.value}` : '';
      traceEvents.push(...runTraceEvents(r, pid++, `${r.strategy.toUpperCase()}${at}`));
    }
  }
  const first = c.points[0]?.results[0];
  return { traceEvents, displayTimeUnit: 'ms', metadata: { source: first ? provenance(first) : c.provenance, query: c.query, startedAt: c.startedAt } };
}
