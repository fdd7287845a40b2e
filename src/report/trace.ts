// Chrome trace-event export of scheduler timelines (src/timeline/scheduler.ts), for Perfetto
// (ui.perfetto.dev) and chrome://tracing.
//
// Layout: one process per rank ("rank 3"), two threads in it: "compute" (the rank's stream:
// kernels, and the stretches it spent blocked on pulls, peers or barriers) and "copy engine"
// (transfers this rank's engine served, pulls for peers and sends). Every interval becomes a
// complete event ('X') with its time in microseconds, as the format requires; its `cat` is the
// span category and `args.kind` the legend's words for it (src/timeline/categories.ts, the
// table the page's legend reads too); names come from metadata events ('M'). Format: "Trace Event Format", Google, docs.google.com/document/
// d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU.

import type { Interval } from '../timeline/scheduler.ts';
import { CATEGORIES, isSpanCategory } from '../timeline/categories.ts';

export interface TraceMeta {
  /** Shown in the trace's metadata (otherData). */
  title?: string;
  /** True when the times come from a model, not a measurement; always recorded. */
  modeled?: boolean;
  /** Process names per rank (default "rank r"). */
  rankName?: (rank: number) => string;
  /** Anything else worth keeping with the trace (profile, scenario, parameters). */
  [key: string]: unknown;
}

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
  otherData: Record<string, unknown>;
}

export const COMPUTE_TID = 0;
export const COPY_TID = 1;

/** Trace-event JSON (an object; JSON.stringify it to write the file). */
export function toChromeTrace(intervals: readonly Interval[], meta: TraceMeta = {}): ChromeTrace {
  const ranks = [...new Set(intervals.map((i) => i.rank))].sort((a, b) => a - b);
  const name = meta.rankName ?? ((r: number) => `rank ${r}`);
  const events: TraceEvent[] = [];
  for (const r of ranks) {
    events.push(
      { name: 'process_name', ph: 'M', pid: r, tid: 0, args: { name: name(r) } },
      { name: 'process_sort_index', ph: 'M', pid: r, tid: 0, args: { sort_index: r } },
      { name: 'thread_name', ph: 'M', pid: r, tid: COMPUTE_TID, args: { name: 'compute' } },
      { name: 'thread_sort_index', ph: 'M', pid: r, tid: COMPUTE_TID, args: { sort_index: 0 } },
      { name: 'thread_name', ph: 'M', pid: r, tid: COPY_TID, args: { name: 'copy engine' } },
      { name: 'thread_sort_index', ph: 'M', pid: r, tid: COPY_TID, args: { sort_index: 1 } },
    );
  }
  for (const iv of intervals) {
    const args: Record<string, unknown> = {};
    if (iv.layer !== undefined) args.layer = iv.layer;
    if (iv.peer !== undefined) args.peer = iv.peer;
    if (iv.bytes !== undefined) args.bytes = Math.round(iv.bytes);
    if (isSpanCategory(iv.category)) args.kind = CATEGORIES[iv.category].label;
    events.push({
      name: iv.layer !== undefined ? `${iv.label} L${iv.layer}` : iv.label,
      cat: iv.category,
      ph: 'X',
      pid: iv.rank,
      tid: iv.lane === 'compute' ? COMPUTE_TID : COPY_TID,
      ts: iv.startMs * 1000,
      dur: Math.max(0, (iv.endMs - iv.startMs) * 1000),
      args,
    });
  }
  const otherData: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (k !== 'rankName') otherData[k] = v;
  otherData.modeled = meta.modeled ?? false;
  return { traceEvents: events, displayTimeUnit: 'ms', otherData };
}
