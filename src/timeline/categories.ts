// What a span of a rank's timeline is: one closed set of categories, declared once, in one
// table, and read by every side that files or shows time — the emulation's runtimes (which
// category a kernel's timed pass goes to), the scheduler (stream blocked, copy engine), the rack
// model's breakdown (which column a category adds to), the page's legend (label, colour, order)
// and the Chrome trace (its `cat`).
//
// Three lanes:
//   compute  the rank's stream runs an op of this category
//   stream   the stream is blocked: on a DWDP pull (wait), at a barrier or for a late peer
//            (sync), on DEP's all-to-all transfer itself (comm)
//   copy     the rank's copy engine moves bytes: serving a peer's pull, or an all-to-all send
// plus idle (nothing to do), which only the page's timeline draws.
//
// Colours: drawn from Okabe & Ito's palette and Paul Tol's muted and bright schemes, chosen so
// that what a reader must tell apart stays apart for colour-blind readers: every blocked or idle
// category against everything else on a compute row, and the copy engine's pull against its send,
// differ by at least 15 CIELAB ΔE under simulated protanopia, deuteranopia and tritanopia
// (Machado et al. 2009, full severity); any two categories by at least 10 (test/categories.test.ts).
// Compute is blue / green / sand, waiting is vermillion (a pull), indigo (a barrier) or wine (the
// all-to-all), the copy engine orange (pull) and purple (send).
//
// Breakdown columns are the paper's per-iteration breakdown (its Table 3): attention, grouped
// GEMM, dense GEMM, other, communication, synchronization, P2P copy.

/** What the stream computes. */
export type ComputeCategory = 'attention' | 'router' | 'gemm' | 'dense' | 'merge' | 'combine' | 'collective' | 'other';
/** Why the stream is blocked. */
export type StreamCategory = 'wait' | 'sync' | 'comm';
/** What the copy engine moves. */
export type CopyCategory = 'pull' | 'send';
/** Every span of a timeline. */
export type SpanCategory = ComputeCategory | StreamCategory | CopyCategory | 'idle';

export type BreakdownKey =
  'attention' | 'groupedGemm' | 'denseGemm' | 'other' | 'communication' | 'synchronization' | 'p2pCopy';
export type Breakdown = Record<BreakdownKey, number>;

export interface CategoryInfo {
  lane: 'compute' | 'stream' | 'copy' | 'none';
  /** What the page's legend calls it. */
  label: string;
  color: string;
  /** The breakdown column its time adds to; null: not stream time (copy engine, idle). */
  breakdown: BreakdownKey | null;
}

/** The table, in legend order. */
export const CATEGORIES: Readonly<Record<SpanCategory, CategoryInfo>> = {
  attention: { lane: 'compute', label: 'attention', color: '#0072b2', breakdown: 'attention' },
  router: { lane: 'compute', label: 'router', color: '#88ccee', breakdown: 'other' },
  gemm: { lane: 'compute', label: 'grouped expert GEMM', color: '#009e73', breakdown: 'groupedGemm' },
  dense: { lane: 'compute', label: 'shared expert / dense MLP', color: '#ddcc77', breakdown: 'denseGemm' },
  combine: { lane: 'compute', label: 'combine', color: '#117733', breakdown: 'other' },
  merge: { lane: 'compute', label: 'merge weights (split off)', color: '#000000', breakdown: 'other' },
  collective: {
    lane: 'compute',
    label: 'all-to-all kernels (pack, local rows, launch)',
    color: '#cc79a7',
    breakdown: 'communication',
  },
  other: { lane: 'compute', label: 'other compute', color: '#bbbbbb', breakdown: 'other' },
  wait: { lane: 'stream', label: 'waiting for a pull', color: '#d55e00', breakdown: 'p2pCopy' },
  sync: { lane: 'stream', label: 'waiting at a barrier / for a peer', color: '#332288', breakdown: 'synchronization' },
  comm: { lane: 'stream', label: 'all-to-all transfer', color: '#882255', breakdown: 'communication' },
  idle: { lane: 'none', label: 'idle', color: '#eeeeee', breakdown: null },
  pull: { lane: 'copy', label: 'copy engine: serving a pull', color: '#e69f00', breakdown: null },
  send: { lane: 'copy', label: 'copy engine: all-to-all send', color: '#aa3377', breakdown: null },
};

export const SPAN_CATEGORIES = Object.keys(CATEGORIES) as readonly SpanCategory[];
export const COMPUTE_CATEGORIES = SPAN_CATEGORIES.filter(
  (c) => CATEGORIES[c].lane === 'compute',
) as readonly ComputeCategory[];

/** The breakdown's columns, in the order tables print them, with their headers. */
export const BREAKDOWN_COLUMNS: readonly { key: BreakdownKey; label: string }[] = [
  { key: 'attention', label: 'attention' },
  { key: 'groupedGemm', label: 'grouped GEMM' },
  { key: 'denseGemm', label: 'dense GEMM' },
  { key: 'other', label: 'other' },
  { key: 'communication', label: 'comm' },
  { key: 'synchronization', label: 'sync' },
  { key: 'p2pCopy', label: 'P2P copy' },
];

export function isSpanCategory(s: string): s is SpanCategory {
  return Object.prototype.hasOwnProperty.call(CATEGORIES, s);
}

export function isComputeCategory(s: string): s is ComputeCategory {
  return isSpanCategory(s) && CATEGORIES[s].lane === 'compute';
}

export function zeroBreakdown(): Breakdown {
  return { attention: 0, groupedGemm: 0, denseGemm: 0, other: 0, communication: 0, synchronization: 0, p2pCopy: 0 };
}

/**
 * A rank's time by breakdown column (ms): its compute per category filed by the table, and its
 * blocked stream time (wait, sync, comm).
 */
export function breakdownOf(m: {
  computeByCategory: Partial<Record<ComputeCategory, number>>;
  waitMs: number;
  syncMs: number;
  commMs: number;
}): Breakdown {
  const b = zeroBreakdown();
  for (const c of COMPUTE_CATEGORIES) b[CATEGORIES[c].breakdown!] += m.computeByCategory[c] ?? 0;
  b.p2pCopy += m.waitMs;
  b.synchronization += m.syncMs;
  b.communication += m.commMs;
  return b;
}
