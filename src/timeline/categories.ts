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
// Breakdown columns are the paper's per-iteration breakdown (its Table 3, exact JSON keys):
// attention (attention kernels only), groupedGemm (routed experts), denseGemm (attention
// projections, dense MLPs, shared expert, router logits: a GEMM), others (norms, RoPE, quantize,
// permute, combine, the router's top-k selection, weight merge, embed/LM head), communication (DEP's all-to-all), synchronization
// (waiting for a slower peer), p2pExposed (the stream blocked on a DWDP pull) — these seven add
// up to the step's time — and p2pBusy (copy-stream busy time: wall time during which a pull
// into the rank moved bytes), outside the sum, as the paper reports it.

/** What the stream computes. */
export type ComputeCategory = 'attention' | 'router' | 'gemm' | 'dense' | 'merge' | 'combine' | 'collective' | 'other';
/** Why the stream is blocked. */
export type StreamCategory = 'wait' | 'sync' | 'comm';
/** What the copy engine moves. */
export type CopyCategory = 'pull' | 'send';
/** Every span of a timeline. */
export type SpanCategory = ComputeCategory | StreamCategory | CopyCategory | 'idle';

/** The seven columns that add up to a step's time. */
export type SummedBreakdownKey =
  'attention' | 'groupedGemm' | 'denseGemm' | 'others' | 'communication' | 'synchronization' | 'p2pExposed';
/** Every column: the seven summed ones and the copy stream's busy time (not in the sum). */
export type BreakdownKey = SummedBreakdownKey | 'p2pBusy';
export type Breakdown = Record<BreakdownKey, number>;

export interface CategoryInfo {
  lane: 'compute' | 'stream' | 'copy' | 'none';
  /** What the page's legend calls it. */
  label: string;
  color: string;
  /** The breakdown column its time adds to; null: not stream time (copy engine, idle). */
  breakdown: SummedBreakdownKey | null;
}

/** The table, in legend order. */
export const CATEGORIES: Readonly<Record<SpanCategory, CategoryInfo>> = {
  attention: { lane: 'compute', label: 'attention', color: '#0072b2', breakdown: 'attention' },
  router: { lane: 'compute', label: 'router top-k', color: '#88ccee', breakdown: 'others' },
  gemm: { lane: 'compute', label: 'grouped expert GEMM', color: '#009e73', breakdown: 'groupedGemm' },
  dense: {
    lane: 'compute',
    label: 'dense GEMM (shared expert, dense MLP, router logits)',
    color: '#ddcc77',
    breakdown: 'denseGemm',
  },
  combine: { lane: 'compute', label: 'combine', color: '#117733', breakdown: 'others' },
  merge: { lane: 'compute', label: 'merge weights (split off)', color: '#000000', breakdown: 'others' },
  collective: {
    lane: 'compute',
    label: 'all-to-all kernels (pack, local rows, launch)',
    color: '#cc79a7',
    breakdown: 'communication',
  },
  other: { lane: 'compute', label: 'other compute', color: '#bbbbbb', breakdown: 'others' },
  wait: { lane: 'stream', label: 'waiting for a pull', color: '#d55e00', breakdown: 'p2pExposed' },
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

/** The breakdown's columns, in the order tables print them, with their headers; `inSum`: adds up to the step. */
export const BREAKDOWN_COLUMNS: readonly { key: BreakdownKey; label: string; inSum: boolean }[] = [
  { key: 'attention', label: 'attention', inSum: true },
  { key: 'groupedGemm', label: 'grouped GEMM', inSum: true },
  { key: 'denseGemm', label: 'dense GEMM', inSum: true },
  { key: 'others', label: 'others', inSum: true },
  { key: 'communication', label: 'comm', inSum: true },
  { key: 'synchronization', label: 'sync', inSum: true },
  { key: 'p2pExposed', label: 'P2P exposed', inSum: true },
  { key: 'p2pBusy', label: 'P2P busy', inSum: false },
];

/** The seven columns that add up to the step, in table order. */
export const SUMMED_BREAKDOWN_KEYS = BREAKDOWN_COLUMNS.filter((c) => c.inSum).map(
  (c) => c.key,
) as readonly SummedBreakdownKey[];

export function isSpanCategory(s: string): s is SpanCategory {
  return Object.prototype.hasOwnProperty.call(CATEGORIES, s);
}

export function isComputeCategory(s: string): s is ComputeCategory {
  return isSpanCategory(s) && CATEGORIES[s].lane === 'compute';
}

export function zeroBreakdown(): Breakdown {
  return {
    attention: 0,
    groupedGemm: 0,
    denseGemm: 0,
    others: 0,
    communication: 0,
    synchronization: 0,
    p2pExposed: 0,
    p2pBusy: 0,
  };
}

/**
 * A rank's time by breakdown column (ms): its compute per category filed by the table, its
 * blocked stream time (wait, sync, comm), and its copy stream's busy time (`pullMs`, not in the sum).
 */
export function breakdownOf(m: {
  computeByCategory: Partial<Record<ComputeCategory, number>>;
  waitMs: number;
  syncMs: number;
  commMs: number;
  pullMs?: number;
}): Breakdown {
  const b = zeroBreakdown();
  for (const c of COMPUTE_CATEGORIES) b[CATEGORIES[c].breakdown!] += m.computeByCategory[c] ?? 0;
  b.p2pExposed += m.waitMs;
  b.p2pBusy += m.pullMs ?? 0;
  b.synchronization += m.syncMs;
  b.communication += m.commMs;
  return b;
}
