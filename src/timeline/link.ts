// The NVLink stand-in: how long remote pulls (and DEP's all-to-all sends) take when several
// ranks move data at once. Its fluid engine (`LinkFluid`) is shared by the virtual-time
// scheduler (src/timeline/scheduler.ts) and the emulation's wall-clock link (src/dwdp/wall-link.ts),
// which completes each real buffer copy when this engine says it lands.
//
// Physical picture. Every rank has an egress and an ingress bandwidth (GB/s) and a latency.
// A pull is a one-sided copy performed by the SOURCE rank's copy engine. Transfers are cut
// into slices (default 2 MiB).
//
// Service discipline (this is the whole model; both implementations below follow it):
// - Contention fix OFF (the naive loop): a destination issues its pulls into one in-order
//   stream, so its next pull enters the source's queue only when the previous one has
//   arrived. Each source's copy engine serves its queue FIFO (by the time a request entered
//   it, then submission order), one whole transfer at a time (`copyEngines` at a time when
//   a source has several). When every destination walks its peers in the same ascending
//   order, they all queue on the same source first: the many-to-one convoy of the paper.
// - Contention fix ON: a destination submits a layer's pulls as one batch of slices
//   interleaved round-robin across its peers, so all its pulls are in flight at once. A
//   source's copy engine takes the next slice round-robin across the destinations that have
//   slices waiting for it (FIFO within one destination).
// - DEP sends (all-to-all dispatch/combine) are all in flight at once and share bandwidth.
// - A transfer that is being served moves bytes at a rate set by max-min fairness over two
//   kinds of shared capacity: the source's egress and the destination's ingress. Its
//   completion is reported `latencyUs` after its last byte moved.
//
// Two implementations:
// - `LinkFluid` (this file), the one the scheduler and the wall-clock link use: a fluid
//   (processor-sharing) treatment. With the fix on, round-robin slicing at a source is
//   replaced by sharing the source's bandwidth continuously among the destinations it
//   serves; with the fix off it is exact (whole transfers, FIFO). Its cost is per
//   transfer, not per slice: the NVL72 scenario moves ~10⁷ slices, which an exact slice
//   simulation cannot do in the time budget. Per event it costs one pass over the served
//   transfers, and nothing when a transfer only lands (a landing changes no rate); a rank's
//   copy activity is a counter, not a scan. A new served set's max-min rates (progressive
//   filling over the ≤ 2·ranks capacities, on reused typed arrays) are remembered by its
//   (src, dst) sequence (`MaxMinMemo`): a step's layers repeat the same exchanges, so almost
//   every recomputation is a lookup that returns the very same doubles. A caller to whom
//   only landings matter, and some ranks' copy activity, can let it run through its other
//   events in one call, on to the next landing or change of that activity (`advanceToActivity`,
//   with no ranks: to the next landing; the same arithmetic as stopping at each).
// - `simulateSliced` (link-reference.ts, the test oracle; production never imports it): the
//   slice-by-slice reference (pulls only) that tests compare the fluid engine against at
//   small scale: one slice at a time per copy engine, round-robin pointer per source,
//   ingress shared by max-min among the slices in service.
//
// Units: bytes, milliseconds, GB/s (1 GB/s = 10⁶ bytes/ms). Pure module: no I/O.

export const DEFAULT_SLICE_BYTES = 2 * 1024 * 1024;

export interface LinkSpec {
  /** Egress bandwidth of each rank in GB/s (one number for all, or one per rank). */
  egressGBps: number | readonly number[];
  /** Ingress bandwidth of each rank in GB/s. */
  ingressGBps: number | readonly number[];
  /** Added once to every transfer's completion, in µs. */
  latencyUs: number;
  /** Slice size of the contention fix, as the slice-level reference (`simulateSliced`) cuts
   *  transfers; the fluid engine treats slicing as continuous sharing and does not read it. */
  sliceBytes: number;
  /** Slice + interleave round-robin across peers in one batch (true), or the naive in-order loop. */
  contentionFix: boolean;
  /** Copy engines per source serving pulls FIFO when the fix is off. */
  copyEngines: number;
}

export function linkSpec(s: Partial<LinkSpec> & Pick<LinkSpec, 'egressGBps'>): LinkSpec {
  const spec: LinkSpec = {
    egressGBps: s.egressGBps,
    ingressGBps: s.ingressGBps ?? s.egressGBps,
    latencyUs: s.latencyUs ?? 0,
    sliceBytes: s.sliceBytes ?? DEFAULT_SLICE_BYTES,
    contentionFix: s.contentionFix ?? true,
    copyEngines: s.copyEngines ?? 1,
  };
  validateLinkSpec(spec);
  return spec;
}

export function validateLinkSpec(spec: LinkSpec): void {
  const bw = (name: string, v: number | readonly number[]) => {
    for (const x of typeof v === 'number' ? [v] : v) {
      if (!(x > 0) || !Number.isFinite(x))
        throw new Error(`link model: ${name} must be a positive finite GB/s, got ${x}`);
    }
  };
  bw('egressGBps', spec.egressGBps);
  bw('ingressGBps', spec.ingressGBps);
  if (!(spec.latencyUs >= 0)) throw new Error(`link model: latencyUs must be ≥ 0, got ${spec.latencyUs}`);
  if (!(spec.sliceBytes >= 1) || !Number.isInteger(spec.sliceBytes))
    throw new Error(`link model: sliceBytes must be a positive integer, got ${spec.sliceBytes}`);
  if (!(spec.copyEngines >= 1) || !Number.isInteger(spec.copyEngines))
    throw new Error(`link model: copyEngines must be a positive integer, got ${spec.copyEngines}`);
}

const perRank = (v: number | readonly number[], rank: number, what: string): number => {
  if (typeof v === 'number') return v;
  const x = v[rank];
  if (x === undefined) throw new Error(`link model: no ${what} for rank ${rank} (${v.length} given)`);
  return x;
};

/** Egress of `rank` in bytes per millisecond. */
export const egressBytesPerMs = (spec: LinkSpec, rank: number): number =>
  perRank(spec.egressGBps, rank, 'egressGBps') * 1e6;
/** Ingress of `rank` in bytes per millisecond. */
export const ingressBytesPerMs = (spec: LinkSpec, rank: number): number =>
  perRank(spec.ingressGBps, rank, 'ingressGBps') * 1e6;

// ---------------------------------------------------------------------------------------
// Issue order (which peer a destination submits to first). The programs issue their pulls in
// `pullIssueOrder`, which is what makes the fix-off convoy.

/**
 * The order in which `rank` walks its peers: ascending rank without the fix (the naive loop,
 * so every destination starts on the same source), rotated to start just after `rank` with it
 * (so destinations start on different sources).
 */
export function pullIssueOrder(rank: number, peers: readonly number[], contentionFix: boolean): number[] {
  const sorted = [...new Set(peers)].filter((p) => p !== rank).sort((a, b) => a - b);
  if (!contentionFix) return sorted;
  const i = sorted.findIndex((p) => p > rank);
  return i <= 0 ? sorted : [...sorted.slice(i), ...sorted.slice(0, i)];
}

// ---------------------------------------------------------------------------------------
// Max-min fair rates

/**
 * Max-min fair rates (bytes/ms) for flows (src → dst) under per-source egress and
 * per-destination ingress capacities, by progressive filling: repeatedly find the most
 * constrained capacity (smallest remaining share per unfixed flow), fix its flows at that share.
 */
// Reused buffers of maxMinRates (it runs at every change of the moving set): no allocation per call.
let scratch = {
  out: new Int32Array(64),
  inn: new Int32Array(64),
  fixed: new Uint8Array(64),
  /** Flows by capacity (CSR): the flows of capacity k are byKey[at[k] … at[k + 1]), ascending. */
  byKey: new Int32Array(128),
  /** Per capacity, in first-use order: its remaining bandwidth, its unfixed flows, its CSR start and fill pointer. */
  cap: new Float64Array(128),
  cnt: new Int32Array(128),
  at: new Int32Array(129),
  fill: new Int32Array(128),
  /** Capacities with unfixed flows, ascending (so ties go to the first-used, as a full scan would). */
  live: new Int32Array(128),
  /** cap[k] / cnt[k], kept up to date as flows are fixed (so a step compares, never divides). */
  shr: new Float64Array(128),
};
/** Capacity key → its index in this call's list, valid where keyCall[key] is this call's number. */
let keySlot = new Int32Array(256);
let keyCall = new Int32Array(256);
let call = 0;

export function maxMinRates(
  flows: readonly { src: number; dst: number }[],
  egress: (rank: number) => number,
  ingress: (rank: number) => number,
  out_?: Float64Array,
  /** Only the first n flows (default all): a caller that reuses a longer array passes its count. */
  n = flows.length,
): Float64Array {
  const rate = out_ ?? new Float64Array(n);
  if (n === 0) return rate;
  // Capacities as a list in first-use order: key 2·rank egress, 2·rank+1 ingress; at most 2n of them.
  // (Plain loops over typed arrays, no closures: this runs at every change of the set of moving transfers.)
  if (scratch.out.length < n) {
    const m = 2 * n;
    scratch = {
      out: new Int32Array(m),
      inn: new Int32Array(m),
      fixed: new Uint8Array(m),
      byKey: new Int32Array(2 * m),
      cap: new Float64Array(2 * m),
      cnt: new Int32Array(2 * m),
      at: new Int32Array(2 * m + 1),
      fill: new Int32Array(2 * m),
      live: new Int32Array(2 * m),
      shr: new Float64Array(2 * m),
    };
  }
  const { out, inn, fixed, byKey, cap, cnt, at, fill, live, shr } = scratch;
  let K = 0;
  let matching = true;
  call = (call + 1) | 0 || 1;
  for (let i = 0; i < n; i++) {
    const f = flows[i];
    const eo = 2 * f.src;
    const ei = 2 * f.dst + 1;
    if (Math.max(eo, ei) >= keySlot.length) {
      const size = 2 * Math.max(eo, ei) + 2;
      const slots = new Int32Array(size);
      const calls = new Int32Array(size);
      slots.set(keySlot);
      calls.set(keyCall);
      keySlot = slots;
      keyCall = calls;
    }
    let ko = keyCall[eo] === call ? keySlot[eo] : -1;
    if (ko < 0) {
      ko = keySlot[eo] = K++;
      keyCall[eo] = call;
      cap[ko] = egress(f.src);
      cnt[ko] = 0;
    }
    let ki = keyCall[ei] === call ? keySlot[ei] : -1;
    if (ki < 0) {
      ki = keySlot[ei] = K++;
      keyCall[ei] = call;
      cap[ki] = ingress(f.dst);
      cnt[ki] = 0;
    }
    cnt[ko]++;
    cnt[ki]++;
    if (cnt[ko] > 1 || cnt[ki] > 1) matching = false;
    out[i] = ko;
    inn[i] = ki;
  }
  if (matching) {
    // No two flows share a capacity: each runs at the smaller of its two.
    for (let i = 0; i < n; i++) rate[i] = Math.min(cap[out[i]], cap[inn[i]]);
    return rate;
  }
  // Each capacity's flows, in ascending flow order, so a step visits only the bottleneck's flows.
  at[0] = 0;
  for (let k = 0; k < K; k++) {
    at[k + 1] = at[k] + cnt[k];
    fill[k] = at[k];
    live[k] = k;
    shr[k] = cap[k] / cnt[k];
  }
  let L = K;
  for (let i = 0; i < n; i++) {
    byKey[fill[out[i]]++] = i;
    byKey[fill[inn[i]]++] = i;
  }
  fixed.fill(0, 0, n);
  for (let left = n; left > 0;) {
    let best = -1;
    let share = Infinity;
    // Drop the capacities left without unfixed flows (order kept) while looking for the bottleneck.
    let w = 0;
    for (let j = 0; j < L; j++) {
      const k = live[j];
      if (cnt[k] === 0) continue;
      live[w++] = k;
      if (shr[k] < share) {
        share = shr[k];
        best = k;
      }
    }
    L = w;
    for (let j = at[best]; j < at[best + 1]; j++) {
      const i = byKey[j];
      if (fixed[i]) continue;
      fixed[i] = 1;
      left--;
      rate[i] = share;
      const o = out[i];
      const d = inn[i];
      cap[o] = Math.max(0, cap[o] - share);
      cnt[o]--;
      shr[o] = cap[o] / cnt[o];
      cap[d] = Math.max(0, cap[d] - share);
      cnt[d]--;
      shr[d] = cap[d] / cnt[d];
    }
  }
  return rate;
}

/** One remembered rate vector: the (src, dst) sequence it is for, and the next entry of its hash. */
interface MemoEntry {
  pairs: Int32Array;
  rates: Float64Array;
  next: MemoEntry | undefined;
}

/**
 * maxMinRates remembered by the flows' (src, dst) sequence, for fixed capacities. The rates
 * depend on nothing else (not on the bytes left), and an engine meets the same served sets
 * again and again (each MoE layer of a step repeats its exchange, a group its steps), so
 * most calls are a lookup. An entry holds maxMinRates's own result for its sequence, so a
 * hit returns exactly, bit for bit, what computing it again would. The table is emptied
 * when it holds `limit` entries (memory stays bounded on a run that never repeats).
 */
export class MaxMinMemo {
  private readonly table = new Map<number, MemoEntry>();
  private entries = 0;
  /** This call's sequence: src, dst of flow i at 2i, 2i + 1. */
  private key = new Int32Array(64);
  hits = 0;
  misses = 0;

  constructor(
    private readonly egress: (rank: number) => number,
    private readonly ingress: (rank: number) => number,
    private readonly limit = 1 << 14,
  ) {}

  /** maxMinRates(flows[0 … n), egress, ingress). The array returned is the memo's: read it, never write it. */
  rates(flows: readonly { src: number; dst: number }[], n = flows.length): Float64Array {
    if (this.key.length < 2 * n) this.key = new Int32Array(4 * n);
    const key = this.key;
    // FNV-1a over the ranks (a hash only: entries compare the whole sequence).
    let h = 0x811c9dc5 ^ n;
    for (let i = 0; i < n; i++) {
      const f = flows[i];
      key[2 * i] = f.src;
      key[2 * i + 1] = f.dst;
      h = Math.imul(h ^ f.src, 0x01000193);
      h = Math.imul(h ^ f.dst, 0x01000193);
    }
    const head = this.table.get(h);
    for (let e = head; e !== undefined; e = e.next) {
      const p = e.pairs;
      if (p.length !== 2 * n) continue;
      let same = true;
      for (let j = 0; j < 2 * n && same; j++) same = p[j] === key[j];
      if (same) {
        this.hits++;
        return e.rates;
      }
    }
    this.misses++;
    if (this.entries >= this.limit) {
      this.table.clear();
      this.entries = 0;
    }
    const rates = maxMinRates(flows, this.egress, this.ingress, new Float64Array(n), n);
    this.table.set(h, { pairs: key.slice(0, 2 * n), rates, next: this.table.get(h) });
    this.entries++;
    return rates;
  }
}

// ---------------------------------------------------------------------------------------
// The fluid engine (used by the scheduler)

export type TransferKind = 'pull' | 'send';

/** A piece of a source's copy-engine time spent on one transfer (for traces). */
export interface EnginePiece {
  key: number;
  src: number;
  dst: number;
  kind: TransferKind;
  startMs: number;
  endMs: number;
  bytes: number;
}

interface Flow {
  key: number;
  kind: TransferKind;
  src: number;
  dst: number;
  bytes: number;
  remaining: number;
  seq: number;
  readyMs: number;
  rate: number;
  deliveredMs: number;
  /** Being served (chosen by the discipline), even if at rate 0 for a zero-byte transfer. */
  served: boolean;
  /** When its first byte moved (Infinity until then): the start of its span when spans are whole transfers. */
  firstMs: number;
}

/** A blank Flow (every field set, in one order, so all flows share one shape). */
const newFlow = (): Flow => ({
  key: 0,
  kind: 'pull',
  src: 0,
  dst: 0,
  bytes: 0,
  remaining: 0,
  seq: 0,
  readyMs: Infinity,
  rate: 0,
  deliveredMs: Infinity,
  served: false,
  firstMs: Infinity,
});

/**
 * What the engine reports to `onPiece`: 'pieces', each stretch of a transfer's share of its
 * source's copy engine (the time-multiplexed picture round-robin slicing draws); 'transfers',
 * one piece per transfer when it lands, from its first byte moving to its landing (all its bytes).
 */
export type PieceMode = 'pieces' | 'transfers';

// Bytes below this are rounding noise (rates × times in doubles), not data.
export const BYTE_EPS = 1e-3;

const NO_RANKS: readonly number[] = [];

/**
 * Transfers in continuous time. The caller submits transfers at the engine's current time,
 * asks when the next completion is, and advances time; completions come back as the keys it
 * gave. Deterministic: ties are broken by submission order.
 */
export class LinkFluid {
  private now = 0;
  private seq = 0;
  /** The served set or its rates must be recomputed. */
  private dirty = true;
  /** Absolute time of the next completion or landing, while `nextValid`. */
  private next = Infinity;
  private nextValid = false;
  /** Fix-off pulls waiting for their destination's stream, per destination. */
  private readonly streams = new Map<number, Flow[]>();
  /** Destinations whose stream has a pull between entering a queue and landing. */
  private readonly streamBusy = new Set<number>();
  /** Entered a source queue (or in flight), bytes left to move. Sorted by (readyMs, seq). */
  private ready: Flow[] = [];
  /** All bytes moved; lands at deliveredMs + latency: landing[0 … nLanding) (grow-only, as `active`). */
  private readonly landing: Flow[] = [];
  private nLanding = 0;
  /**
   * The served transfers are active[0 … nActive), in the order of `ready`. The array only
   * grows (entries past nActive are stale): shortening an array frees its backing store, and
   * this one is rebuilt at every change of the served set.
   */
  private readonly active: Flow[] = [];
  private nActive = 0;
  /** allocate(): the served transfers' max-min rates, remembered by served set. */
  private readonly maxMin: MaxMinMemo;
  /** Per-rank scratch, indexed by rank (grown on submit): see ensureRank. */
  private ranks = 0;
  /** allocate(): fix off, copy engines taken at each source (valid where engineStamp is this pass). */
  private engineUsed = new Int32Array(0);
  private engineStamp = new Int32Array(0);
  /** allocate(), fix on: the (src, dst) pairs whose head is already served (pairStamp[src·ranks + dst] is this pass). */
  private pairStamp = new Int32Array(0);
  private pass = 0;
  /**
   * Pulls into or out of each rank moving bytes at the current rates: counted by pullActive, the
   * one reader, once per allocation (movingValid), not by allocate itself (a run with no copy
   * interference never asks).
   */
  private pullMoving = new Int32Array(0);
  private movingValid = false;
  /** advanceToActivity(): each watched rank's pullActive when it was called (1: on). */
  private activityWas = new Uint8Array(0);
  /** flow(): destinations whose pull time this step already counted; pieces(): each source's flows in order. */
  private dstSeen = new Int32Array(0);
  private srcStamp = new Int32Array(0);
  private srcHead = new Int32Array(0);
  private srcTail = new Int32Array(0);
  private srcTotal = new Float64Array(0);
  private srcOrder = new Int32Array(0);
  private nextInSrc = new Int32Array(64);
  private readonly done: number[] = [];
  /** Landed transfers, reused by later submits (a rack run submits ~10⁵). */
  private readonly spare: Flow[] = [];
  /** settle(): the transfers landing at this event (grow-only scratch). */
  private readonly landed: Flow[] = [];
  /** Pull time per destination rank, ms (per-rank scratch: grown with the others). */
  private pullBusy = new Float64Array(0);
  private readonly latencyMs: number;
  private readonly egress: (r: number) => number;
  private readonly ingress: (r: number) => number;

  constructor(
    readonly spec: LinkSpec,
    private readonly onPiece?: (p: EnginePiece) => void,
    private readonly pieceMode: PieceMode = 'pieces',
  ) {
    validateLinkSpec(spec);
    this.latencyMs = spec.latencyUs / 1000;
    this.egress = (r) => egressBytesPerMs(spec, r);
    this.ingress = (r) => ingressBytesPerMs(spec, r);
    this.maxMin = new MaxMinMemo(this.egress, this.ingress);
  }

  get timeMs(): number {
    return this.now;
  }

  /** Reports each transfer once, whole, when it lands (the 'transfers' piece mode). */
  get wholeTransfers(): boolean {
    return this.pieceMode === 'transfers';
  }

  /** Wall time during which at least one pull into `rank` was moving bytes. */
  pullBusyMs(rank: number): number {
    return this.pullBusy[rank] ?? 0; // (a rank past the scratch arrays: none of its pulls ran)
  }

  /** True while a pull into or out of `rank` moves bytes (its copy engine or its ingress is busy with one). */
  pullActive(rank: number): boolean {
    this.allocate();
    if (!this.movingValid) this.countMoving();
    return rank < this.ranks && this.pullMoving[rank] > 0;
  }

  /** pullMoving from the served transfers' current rates. */
  private countMoving(): void {
    const moving = this.pullMoving;
    moving.fill(0);
    const act = this.active;
    for (let i = 0; i < this.nActive; i++) {
      const f = act[i];
      if (f.kind === 'pull' && f.rate > 0) {
        moving[f.src]++;
        moving[f.dst]++;
      }
    }
    this.movingValid = true;
  }

  /** True while some transfer is queued, moving or landing. */
  get busy(): boolean {
    return this.ready.length > 0 || this.nLanding > 0 || this.streams.size > 0;
  }

  /** Submit a transfer now. `key` is the caller's handle, returned on completion. */
  submit(key: number, kind: TransferKind, src: number, dst: number, bytes: number): void {
    if (!(bytes >= 0) || !Number.isFinite(bytes))
      throw new Error(`link model: transfer ${key} has invalid size ${bytes}`);
    if (src === dst) throw new Error(`link model: transfer ${key} from rank ${src} to itself`);
    this.egress(src);
    this.ingress(dst);
    this.ensureRank(Math.max(src, dst));
    const f = this.spare.pop() ?? newFlow();
    f.key = key;
    f.kind = kind;
    f.src = src;
    f.dst = dst;
    f.bytes = bytes;
    f.remaining = bytes;
    f.seq = this.seq++;
    f.readyMs = Infinity;
    f.rate = 0;
    f.deliveredMs = Infinity;
    f.served = false;
    f.firstMs = Infinity;
    if (kind === 'pull' && !this.spec.contentionFix) {
      const q = this.streams.get(dst);
      if (q) q.push(f);
      else this.streams.set(dst, [f]);
      this.pumpStream(dst);
    } else {
      this.makeReady(f);
    }
  }

  /** Time of the next completion (or internal state change), Infinity when idle. */
  nextEventMs(): number {
    if (this.nextValid && !this.dirty) return this.next;
    this.allocate();
    let t = Infinity;
    const act = this.active;
    for (let i = 0; i < this.nActive; i++) {
      const f = act[i];
      if (f.rate > 0) t = Math.min(t, this.now + f.remaining / f.rate);
    }
    for (let i = 0; i < this.nLanding; i++) t = Math.min(t, this.landing[i].deliveredMs + this.latencyMs);
    this.next = t;
    this.nextValid = true;
    return t;
  }

  /**
   * Move time forward to `t`; returns the keys of transfers that completed (landed) on the way,
   * in order. The array is reused: read it before the next call.
   */
  advanceTo(t: number): readonly number[] {
    return this.advance(t, false, NO_RANKS, 0);
  }

  /**
   * advanceTo(t), but stopping at the first time before t at which a transfer lands, or after
   * the first event after which a pull into or out of one of ranks[0 … n) has started or
   * stopped moving bytes (pullActive(rank) differs from what it was when called); read timeMs
   * for the time reached. The engine's events in between (deliveries, rate changes) are
   * processed on the way exactly as advanceTo would, so a caller to whom only landings matter
   * (n = 0), or landings and some ranks' copy activity (copy interference slows their compute
   * while it is on), need not stop at each of them. With t = Infinity it runs to the next stop.
   */
  advanceToActivity(t: number, ranks: ArrayLike<number>, n: number): readonly number[] {
    if (this.activityWas.length < n) this.activityWas = new Uint8Array(2 * n);
    for (let k = 0; k < n; k++) this.activityWas[k] = this.pullActive(ranks[k]) ? 1 : 0;
    return this.advance(t, true, ranks, n);
  }

  /** Whether pullActive of some of ranks[0 … n) differs from activityWas (advanceToActivity's snapshot). */
  private activityChanged(ranks: ArrayLike<number>, n: number): boolean {
    for (let k = 0; k < n; k++) if ((this.pullActive(ranks[k]) ? 1 : 0) !== this.activityWas[k]) return true;
    return false;
  }

  /** Advance to t; with `stop`, returning early after a landing or a change of ranks[0 … n)'s copy activity (advanceToActivity). */
  private advance(t: number, stop: boolean, ranks: ArrayLike<number>, n: number): readonly number[] {
    if (t < this.now) throw new Error(`link model: time goes backwards (${t} < ${this.now})`);
    const done = this.done;
    // (Emptied by pops: setting an array's length is a runtime call that, to 0, frees its backing
    // store, so the next push allocates again; this runs at every event.)
    while (done.length !== 0) done.pop();
    for (;;) {
      const next = this.nextEventMs();
      if (t < next) {
        // Nothing completes before t: bytes just move.
        if (t > this.now) this.flow(t);
        this.now = t;
        return done;
      }
      // Nothing will ever happen (only reached with t = Infinity: the caller sees a deadlock).
      if (next === Infinity) return done;
      if (next > this.now) this.flow(next);
      this.now = next;
      this.settle(done);
      if (stop && (done.length !== 0 || this.activityChanged(ranks, n))) return done;
    }
  }

  private makeReady(f: Flow): void {
    f.readyMs = this.now;
    // Keep `ready` sorted by (readyMs, seq); time only grows, so only equal readyMs can follow.
    let i = this.ready.length;
    while (i > 0 && this.ready[i - 1].readyMs === f.readyMs && this.ready[i - 1].seq > f.seq) i--;
    if (i === this.ready.length) this.ready.push(f);
    else this.ready.splice(i, 0, f);
    this.dirty = true;
  }

  private pumpStream(dst: number): void {
    if (this.streamBusy.has(dst)) return;
    const q = this.streams.get(dst);
    if (!q || q.length === 0) return;
    const f = q.shift()!;
    if (q.length === 0) this.streams.delete(dst);
    this.streamBusy.add(dst);
    this.makeReady(f);
  }

  /** Per-rank scratch arrays large enough for rank `r` (the pair table is ranks²). */
  private ensureRank(r: number): void {
    if (r >= this.ranks) this.growRanks(r);
  }

  /** (Apart from ensureRank, which runs at every submit: its closures would make every call allocate.) */
  private growRanks(r: number): void {
    // (Slack past r: a group's ranks are a few consecutive ones far from 0, and each growth rebuilds the ranks² pair table.)
    const n = Math.max(r + 17, 2 * this.ranks);
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    const i32 = (k: number) => new Int32Array(k);
    this.engineUsed = grow(this.engineUsed, i32);
    this.engineStamp = grow(this.engineStamp, i32);
    this.pullMoving = grow(this.pullMoving, i32);
    this.dstSeen = grow(this.dstSeen, i32);
    this.srcStamp = grow(this.srcStamp, i32);
    this.srcHead = grow(this.srcHead, i32);
    this.srcTail = grow(this.srcTail, i32);
    this.srcOrder = grow(this.srcOrder, i32);
    this.srcTotal = grow(this.srcTotal, (k) => new Float64Array(k));
    this.pullBusy = grow(this.pullBusy, (k) => new Float64Array(k));
    // The pair table is indexed by src·ranks + dst: rebuilt (stamps are per pass, nothing to keep).
    this.pairStamp = new Int32Array(n * n);
    this.ranks = n;
  }

  /** A fresh stamp for the per-pass scratch arrays (they hold the pass that last wrote them). */
  private stamp(): number {
    this.pass = (this.pass + 1) | 0;
    if (this.pass === 0) {
      this.engineStamp.fill(0);
      this.pairStamp.fill(0);
      this.dstSeen.fill(0);
      this.srcStamp.fill(0);
      this.pass = 1;
    }
    return this.pass;
  }

  /** Which ready flows are being served, and at what rates. */
  private allocate(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.nextValid = false; // new rates: the cached next event is stale
    const act = this.active;
    let n = 0;
    const fix = this.spec.contentionFix;
    const engines = this.spec.copyEngines;
    const R = this.ranks;
    // fix off: engines taken at each source; fix on: (src, dst) pairs whose head is chosen.
    const pass = this.stamp();
    const pairStamp = this.pairStamp;
    const engineStamp = this.engineStamp;
    const engineUsed = this.engineUsed;
    const ready = this.ready;
    for (let i = 0; i < ready.length; i++) {
      const f = ready[i];
      f.rate = 0;
      f.served = false;
      if (f.kind === 'send') act[n++] = f;
      else if (fix) {
        const k = f.src * R + f.dst;
        if (pairStamp[k] !== pass) {
          pairStamp[k] = pass;
          act[n++] = f;
        }
      } else {
        if (engineStamp[f.src] !== pass) {
          engineStamp[f.src] = pass;
          engineUsed[f.src] = 0;
        }
        if (engineUsed[f.src] < engines) {
          engineUsed[f.src]++;
          act[n++] = f;
        }
      }
    }
    this.nActive = n;
    const rates = this.maxMin.rates(act, n);
    for (let i = 0; i < n; i++) {
      const f = act[i];
      f.rate = rates[i];
      f.served = true;
    }
    this.movingValid = false;
  }

  /** Bytes move from now to te at the current rates. */
  private flow(te: number): void {
    this.allocate();
    const dt = te - this.now;
    // Pull time counts once per destination however many of its pulls move.
    const pass = this.stamp();
    const seen = this.dstSeen;
    const act = this.active;
    const whole = this.pieceMode === 'transfers';
    for (let i = 0; i < this.nActive; i++) {
      const f = act[i];
      if (f.rate <= 0) continue;
      f.remaining -= f.rate * dt;
      if (whole && f.firstMs === Infinity) f.firstMs = this.now;
      if (f.kind !== 'pull' || seen[f.dst] === pass) continue;
      seen[f.dst] = pass;
      this.pullBusy[f.dst] += dt;
    }
    if (this.onPiece && !whole) this.pieces(te, dt);
  }

  /**
   * The source's engine time in [now, te) is split among its transfers in proportion to their
   * rates: the time-multiplexed picture that round-robin slicing really draws. Sources in the
   * order their first moving transfer appears, each source's transfers in order.
   */
  private pieces(te: number, dt: number): void {
    const act = this.active;
    const n = this.nActive;
    if (this.nextInSrc.length < n) this.nextInSrc = new Int32Array(2 * n);
    const next = this.nextInSrc;
    const pass = this.stamp();
    const { srcStamp, srcHead, srcTail, srcTotal, srcOrder } = this;
    let sources = 0;
    for (let i = 0; i < n; i++) {
      const f = act[i];
      if (f.rate <= 0) continue;
      next[i] = -1;
      if (srcStamp[f.src] !== pass) {
        srcStamp[f.src] = pass;
        srcHead[f.src] = i;
        srcTotal[f.src] = 0;
        srcOrder[sources++] = f.src;
      } else next[srcTail[f.src]] = i;
      srcTail[f.src] = i;
      srcTotal[f.src] += f.rate;
    }
    for (let k = 0; k < sources; k++) {
      const src = srcOrder[k];
      const total = srcTotal[src];
      let t0 = this.now;
      for (let i = srcHead[src]; i >= 0; i = next[i]) {
        const f = act[i];
        const t1 = next[i] < 0 ? te : t0 + (dt * f.rate) / total;
        this.onPiece!({ key: f.key, src, dst: f.dst, kind: f.kind, startMs: t0, endMs: t1, bytes: f.rate * dt });
        t0 = t1;
      }
    }
  }

  /** Deliveries and landings at the current time. */
  private settle(done: number[]): void {
    this.nextValid = false;
    for (let changed = true, first = true; changed; first = false) {
      changed = false;
      // Only a served transfer can finish (a zero-byte one queued behind others waits its
      // turn). One whose completion defines this event is done; so is a rounding crumb. The
      // served ones are `active`, in the order of `ready`. After the first pass, only new
      // rates can make one done.
      const fresh = this.dirty;
      this.allocate();
      let delivered = 0;
      const act = this.active;
      for (let i = 0; i < (first || fresh ? this.nActive : 0); i++) {
        const f = act[i];
        if (
          f.served &&
          f.deliveredMs === Infinity &&
          (f.remaining <= BYTE_EPS || (f.rate > 0 && f.remaining / f.rate <= 1e-12 * Math.max(1, this.now)))
        ) {
          f.remaining = 0;
          f.deliveredMs = this.now;
          this.landing[this.nLanding++] = f;
          delivered++;
        }
      }
      let w = 0;
      if (delivered > 0) {
        this.dirty = true;
        changed = true;
        const ready = this.ready;
        for (let i = 0; i < ready.length; i++) if (ready[i].deliveredMs === Infinity) ready[w++] = ready[i];
        while (this.ready.length > w) this.ready.pop(); // (pops: see advanceTo)
      }
      // Landed now: landed[0 … nLanded), in submission order (an insertion sort: few at a time,
      // and Array.prototype.sort allocates a work array at every call).
      const landed = this.landed;
      const landing = this.landing;
      let nLanded = 0;
      w = 0;
      for (let i = 0; i < this.nLanding; i++) {
        const f = landing[i];
        if (f.deliveredMs + this.latencyMs <= this.now) {
          let j = nLanded++;
          for (; j > 0 && landed[j - 1].seq > f.seq; j--) landed[j] = landed[j - 1];
          landed[j] = f;
        } else landing[w++] = f;
      }
      this.nLanding = w;
      if (nLanded === 0) continue;
      // A landing changes no rate (its bytes had all moved): only a pull it lets into a queue does (makeReady).
      for (let i = 0; i < nLanded; i++) {
        const f = landed[i];
        done.push(f.key);
        if (this.onPiece && this.pieceMode === 'transfers' && f.firstMs !== Infinity)
          this.onPiece({
            key: f.key,
            src: f.src,
            dst: f.dst,
            kind: f.kind,
            startMs: f.firstMs,
            endMs: this.now,
            bytes: f.bytes,
          });
        if (f.kind === 'pull' && !this.spec.contentionFix) {
          this.streamBusy.delete(f.dst);
          this.pumpStream(f.dst);
        }
        // Landed: it left `ready` when delivered, and `active`, which may still hold it (with no
        // latency a transfer lands at its delivery), is rebuilt before it is read again (the
        // delivery made the rates dirty); only submit takes from `spare`: it serves a later one.
        this.spare.push(f);
      }
      changed = true;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Isolated transfer sets: the fluid engine on the input the slice-level reference
// (link-reference.ts) also takes

export interface Transfer {
  src: number;
  dst: number;
  bytes: number;
  /**
   * When the destination submits it (ms). Give transfers in submission order (submitMs
   * ascending): ties and, with the fix off, each destination's stream follow array order.
   */
  submitMs: number;
}

/** Completion time (ms) of every transfer, by the fluid engine. */
export function simulateFluid(transfers: readonly Transfer[], spec: LinkSpec): number[] {
  const engine = new LinkFluid(spec);
  const order = transfers.map((_, i) => i).sort((a, b) => transfers[a].submitMs - transfers[b].submitMs || a - b);
  const done = new Array<number>(transfers.length).fill(NaN);
  let k = 0;
  while (k < order.length || engine.busy) {
    const tSubmit = k < order.length ? transfers[order[k]].submitMs : Infinity;
    const t = Math.min(tSubmit, engine.nextEventMs());
    if (t === Infinity) throw new Error('link model: transfers left that can never complete');
    for (const key of engine.advanceTo(t)) done[key] = t;
    while (k < order.length && transfers[order[k]].submitMs <= t) {
      const i = order[k++];
      engine.submit(i, 'pull', transfers[i].src, transfers[i].dst, transfers[i].bytes);
    }
    for (const key of engine.advanceTo(t)) done[key] = t;
  }
  return done;
}
