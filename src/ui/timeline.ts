// Per-rank timeline data for the Gantt view: two rows per rank — its compute stream and its
// copy engine — with every span classified, and the stream's gaps made explicit as idle.
//
// Classes (what the legend shows) are the timeline's span categories, in the order, with the
// labels and colours, of their one table (src/timeline/categories.ts): the compute kinds, the
// stream's blocked time (wait, sync, comm), idle, and the copy engine's pulls and sends.
//
// Pure module (Node and browser).
import type { Interval } from '../timeline/scheduler.ts';
import type { GroupRunResult } from '../strategies/types.ts';
import { CATEGORIES, SPAN_CATEGORIES, isSpanCategory, type SpanCategory } from '../timeline/categories.ts';

export type SpanClass = SpanCategory;

export const SPAN_CLASSES: readonly { cls: SpanClass; label: string; color: string }[] = SPAN_CATEGORIES.map((cls) => ({
  cls,
  label: CATEGORIES[cls].label,
  color: CATEGORIES[cls].color,
}));

export const CLASS_COLOR: Readonly<Record<SpanClass, string>> = Object.fromEntries(
  SPAN_CLASSES.map((c) => [c.cls, c.color]),
) as Record<SpanClass, string>;

/** An interval's class: its category, by lane; a category outside the table (a results file of an older build) shows as other. */
export function classify(iv: Interval): SpanClass {
  if (iv.lane === 'copy') return iv.category === 'send' ? 'send' : 'pull';
  return isSpanCategory(iv.category) && CATEGORIES[iv.category].lane !== 'copy' ? iv.category : 'other';
}

export interface Span {
  cls: SpanClass;
  startMs: number;
  endMs: number;
  label: string;
  layer?: number;
  /** Copy rows: the destination rank and the bytes moved. */
  peer?: number;
  bytes?: number;
}

export interface TimelineRow {
  rank: number;
  lane: 'compute' | 'copy';
  /** 'r0 compute', 'r0 copy engine'. */
  name: string;
  spans: Span[];
}

/**
 * Rows in display order (rank 0 compute, rank 0 copy, rank 1 compute, …). Compute rows are
 * tiled from 0 to the makespan: every gap becomes an idle span.
 */
export function timelineRows(r: Pick<GroupRunResult, 'intervals' | 'makespanMs' | 'ranks'>): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const eps = 1e-9 * Math.max(1, r.makespanMs);
  const byRank = new Map<number, Interval[]>();
  for (const iv of r.intervals) {
    let list = byRank.get(iv.rank);
    if (!list) byRank.set(iv.rank, (list = []));
    list.push(iv);
  }
  for (const rank of r.ranks.map((x) => x.rank).sort((a, b) => a - b)) {
    const mine = byRank.get(rank) ?? [];
    const span = (iv: Interval): Span => ({
      cls: classify(iv),
      startMs: iv.startMs,
      endMs: iv.endMs,
      label: iv.label,
      ...(iv.layer !== undefined ? { layer: iv.layer } : {}),
      ...(iv.peer !== undefined ? { peer: iv.peer } : {}),
      ...(iv.bytes !== undefined ? { bytes: iv.bytes } : {}),
    });
    const compute = mine
      .filter((iv) => iv.lane === 'compute')
      .map(span)
      .sort((a, b) => a.startMs - b.startMs);
    const tiled: Span[] = [];
    let t = 0;
    for (const s of compute) {
      if (s.startMs > t + eps) tiled.push({ cls: 'idle', startMs: t, endMs: s.startMs, label: 'idle' });
      tiled.push(s);
      t = Math.max(t, s.endMs);
    }
    if (r.makespanMs > t + eps) tiled.push({ cls: 'idle', startMs: t, endMs: r.makespanMs, label: 'idle' });
    rows.push({ rank, lane: 'compute', name: `r${rank} compute`, spans: tiled });
    const copy = mine
      .filter((iv) => iv.lane === 'copy')
      .map(span)
      .sort((a, b) => a.startMs - b.startMs);
    rows.push({ rank, lane: 'copy', name: `r${rank} copy engine`, spans: copy });
  }
  return rows;
}

/** Total time per class over a row set (ms): what the legend's totals say. */
export function classTotals(rows: readonly TimelineRow[]): Record<SpanClass, number> {
  const out = Object.fromEntries(SPAN_CLASSES.map((c) => [c.cls, 0])) as Record<SpanClass, number>;
  for (const row of rows) for (const s of row.spans) out[s.cls] += s.endMs - s.startMs;
  return out;
}

/** The span of `row` under time t, if any (binary search; spans of a row do not overlap on compute rows). */
export function spanAt(row: TimelineRow, t: number): Span | undefined {
  let lo = 0;
  let hi = row.spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = row.spans[mid];
    if (t < s.startMs) hi = mid - 1;
    else if (t >= s.endMs) lo = mid + 1;
    else return s;
  }
  // Copy rows can overlap (several transfers share an engine): fall back to a scan.
  return row.spans.find((s) => t >= s.startMs && t < s.endMs);
}

/** The union of a row's spans: when the copy engine was busy at all (aggregated Gantt rows). */
export function busySpans(row: TimelineRow): { startMs: number; endMs: number }[] {
  const spans = [...row.spans].sort((a, b) => a.startMs - b.startMs);
  const out: { startMs: number; endMs: number }[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last && s.startMs <= last.endMs) last.endMs = Math.max(last.endMs, s.endMs);
    else out.push({ startMs: s.startMs, endMs: s.endMs });
  }
  return out;
}

/** A span with where it sits: its row's index in the row list. */
export interface PlacedSpan {
  row: number;
  span: Span;
}

/**
 * The pull ↔ wait links of a timeline. A DWDP rank waits at layer l for the pulls of layer l
 * into it, one from each peer (the waitPull op's ids; src/sim/programs.ts, the runtimes): a
 * pull (copy row of its source, `peer` = the rank that pulls, `layer`) feeds the wait spans of
 * that rank's compute row at the same layer; a wait is fed by every pull into its rank at its
 * layer. Exact by layer and rank, whatever the drawn times (a modeled pull is drawn from its
 * first byte to its landing; a measured one as its source's time-shared engine served it, so
 * there the drawn end is not the landing time). Empty
 * for spans without layer or peer (aggregated rows, other categories).
 */
export function pullWaitLinks(rows: readonly TimelineRow[], at: PlacedSpan): PlacedSpan[] {
  const { span } = at;
  if (span.layer === undefined) return [];
  const out: PlacedSpan[] = [];
  if (span.cls === 'pull' && span.peer !== undefined) {
    rows.forEach((row, i) => {
      if (row.lane !== 'compute' || row.rank !== span.peer) return;
      for (const s of row.spans) if (s.cls === 'wait' && s.layer === span.layer) out.push({ row: i, span: s });
    });
  } else if (span.cls === 'wait') {
    const rank = rows[at.row].rank;
    rows.forEach((row, i) => {
      if (row.lane !== 'copy') return;
      for (const s of row.spans)
        if (s.cls === 'pull' && s.peer === rank && s.layer === span.layer) out.push({ row: i, span: s });
    });
  }
  return out;
}
