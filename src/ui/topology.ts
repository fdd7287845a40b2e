// The group's topology for the live view: ranks on a ring, the transfers in flight at a time t
// (who pulls from whom, how many bytes), and the view transform (pan and zoom) as a gl-matrix
// mat3 from ring coordinates (unit circle, y up) to canvas pixels (y down).
//
// Pure module (Node and browser).
import { mat3, vec2 } from 'gl-matrix';
import type { Interval } from '../timeline/scheduler.ts';
import type { GroupRunResult } from '../strategies/types.ts';
import type { CompactTimeline } from './compact.ts';

export interface RankNode {
  rank: number;
  /** Ring coordinates: unit circle, rank 0 at the top, clockwise. */
  x: number;
  y: number;
}

export function ringLayout(ranks: number): RankNode[] {
  return Array.from({ length: ranks }, (_, r) => {
    const a = Math.PI / 2 - (2 * Math.PI * r) / ranks;
    return { rank: r, x: ranks === 1 ? 0 : Math.cos(a), y: ranks === 1 ? 0 : Math.sin(a) };
  });
}

export interface Flow {
  /** The rank whose copy engine moves the bytes (the pulled-from peer, or DEP's sender). */
  from: number;
  /** The rank the bytes land on. */
  to: number;
  kind: 'pull' | 'send';
  /** Bytes of the transfer piece in flight, and its average rate (bytes/ms). */
  bytes: number;
  bytesPerMs: number;
  label: string;
}

/** A transfer's average rate, bytes/ms. */
const rateOf = (iv: Interval) => (iv.bytes ?? 0) / Math.max(1e-12, iv.endMs - iv.startMs);

/** Transfers in flight at time t (copy-engine intervals covering t). */
export function flowsAt(r: Pick<GroupRunResult, 'intervals'>, t: number): Flow[] {
  const out: Flow[] = [];
  for (const iv of r.intervals) {
    if (iv.lane !== 'copy' || iv.peer === undefined || !(t >= iv.startMs && t < iv.endMs)) continue;
    out.push({
      from: iv.rank,
      to: iv.peer,
      kind: iv.category === 'send' ? 'send' : 'pull',
      bytes: iv.bytes ?? 0,
      bytesPerMs: rateOf(iv),
      label: iv.label,
    });
  }
  return out;
}

/**
 * flowsAt over a time index: the copy intervals bucketed into equal time bins, so a lookup
 * scans one bin instead of the whole run (the live view asks once per frame). Same answer as
 * flowsAt, in the run's interval order.
 */
export class FlowIndex {
  private readonly bins: number[][];
  private readonly copies: Interval[];
  private readonly binMs: number;

  constructor(r: Pick<GroupRunResult, 'intervals' | 'makespanMs'>, bins = 512) {
    this.copies = r.intervals.filter((iv) => iv.lane === 'copy' && iv.peer !== undefined);
    const end = Math.max(r.makespanMs, ...this.copies.map((iv) => iv.endMs), 1e-9);
    this.binMs = end / bins;
    this.bins = Array.from({ length: bins }, () => []);
    this.copies.forEach((iv, i) => {
      const a = Math.max(0, Math.min(bins - 1, Math.floor(iv.startMs / this.binMs)));
      const b = Math.max(0, Math.min(bins - 1, Math.floor(iv.endMs / this.binMs)));
      for (let k = a; k <= b; k++) this.bins[k].push(i);
    });
  }

  at(t: number): Flow[] {
    const k = Math.floor(t / this.binMs);
    if (!(k >= 0 && k < this.bins.length)) return [];
    return flowsAt({ intervals: this.bins[k].map((i) => this.copies[i]) }, t);
  }
}

/** The fastest transfer of the run, bytes/ms (what the arrows' widths are scaled by). */
export function peakRate(r: Pick<GroupRunResult, 'intervals'>): number {
  let peak = 1e-12;
  for (const iv of r.intervals) if (iv.lane === 'copy') peak = Math.max(peak, rateOf(iv));
  return peak;
}

/** Bytes moved from each rank to each other over the whole run: totals[from][to]. */
export function flowTotals(r: Pick<GroupRunResult, 'intervals' | 'ranks'> & { compact?: CompactTimeline }): number[][] {
  // A compacted run keeps the exact per-pair totals (its copy spans may have lost their peers).
  if (r.compact) return r.compact.pairBytes.map((row) => [...row]);
  const n = r.ranks.length;
  const totals = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (const iv of r.intervals)
    if (iv.lane === 'copy' && iv.peer !== undefined) totals[iv.rank][iv.peer] += iv.bytes ?? 0;
  return totals;
}

export interface ViewState {
  /** Zoom factor (1 = the ring fills the smaller canvas side with a margin). */
  zoom: number;
  /** Pan in CSS pixels. */
  panX: number;
  panY: number;
}

/** Ring coordinates → canvas pixels for a canvas of width × height device pixels. */
export function viewMatrix(width: number, height: number, v: ViewState, dpr = 1): mat3 {
  const m = mat3.create();
  const scale = 0.36 * Math.min(width, height) * v.zoom;
  mat3.translate(m, m, [width / 2 + v.panX * dpr, height / 2 + v.panY * dpr]);
  mat3.scale(m, m, [scale, -scale]); // y up in ring coordinates, down on the canvas
  return m;
}

export function project(m: mat3, x: number, y: number): [number, number] {
  const p = vec2.transformMat3(vec2.create(), [x, y], m);
  return [p[0], p[1]];
}

/** Canvas pixels → ring coordinates (hit testing). */
export function unproject(m: mat3, px: number, py: number): [number, number] {
  const inv = mat3.invert(mat3.create(), m);
  if (!inv) return [NaN, NaN];
  const p = vec2.transformMat3(vec2.create(), [px, py], inv);
  return [p[0], p[1]];
}

/** Zoom about a canvas point (CSS px) so that the ring point under it stays put. */
export function zoomAbout(
  v: ViewState,
  factor: number,
  cssX: number,
  cssY: number,
  cssWidth: number,
  cssHeight: number,
): ViewState {
  const zoom = Math.min(8, Math.max(0.25, v.zoom * factor));
  const f = zoom / v.zoom;
  const cx = cssWidth / 2;
  const cy = cssHeight / 2;
  // The point under the cursor, relative to the ring centre, scales by f; shift the pan to compensate.
  return { zoom, panX: cssX - cx - (cssX - cx - v.panX) * f, panY: cssY - cy - (cssY - cy - v.panY) * f };
}
