// A deterministic discrete-event scheduler in virtual time over per-rank programs.
//
// Each rank runs one program (ops.ts): a list of plain-data ops executed in order on the rank's
// compute stream. Transfers (DWDP pulls, DEP sends) are asynchronous: issuing one does not
// block the stream; the link model (link.ts, fluid engine) decides when it
// completes, sharing each source's copy engine and each rank's ingress among the transfers in
// flight. Waits block the stream until their transfers have landed; barriers block until
// every rank that has the barrier in its program has reached it.
//
// The scheduler knows nothing about hardware: op durations come with the program (from a
// cost model, or from kernel timestamps measured on the emulated GPU), bandwidths come with
// the link spec. Ranks that never exchange data or share a barrier are independent and are
// simulated one connected group at a time (same result, less work); simulateGroups takes such
// groups' programs one group at a time from a builder, so a rack's ops need not all exist at once.
//
// Time accounting per rank (all in ms, they add up to the makespan):
//   computeMs  the stream runs compute ops
//   waitMs     blocked in waitPull                      ("pull wait", exposed P2P copy)
//   syncMs     blocked at a barrier, or in waitRecv before every awaited send was even issued
//              (a peer was late: synchronization); at a barrier with stragglers (BarrierOp.straggleMs)
//              this includes the expected wait for the slowest participant's delay beyond the mean
//              delay (straggle.ts, stragglerRelease)
//   commMs     blocked in waitRecv after all awaited sends were issued (the transfer itself)
//   idleMs     everything else: waiting for a notBefore time, or finished before the makespan
// pullMs is not stream time: it is the wall time during which some copy engine was moving
// bytes INTO this rank (several peers at once count once), so 1 − waitMs/pullMs is the
// fraction of the pull time hidden under other work.
//
// Copy interference (`copyInterference` = s, a hardware parameter the caller passes, 0 by
// default): while a pull into or out of a rank moves bytes, that rank's compute runs at
// 1/(1 + s) of its speed. A compute op's duration is then its nominal work stretched over the
// stretches of copy activity it overlaps; the rate changes only at link events, and only at
// those that turn the rank's copy activity on or off (the ranks stop at these and at landings,
// the link runs through its other events: LinkFluid.advanceToActivity), so each compute block
// keeps its breakpoints and its ops are timed from them when it ends. `interferenceMs` is the
// wall time this added (computeMs includes it).

import { LinkFluid, type EnginePiece, type LinkSpec, type PieceMode } from './link.ts';
import { stragglerRelease } from './straggle.ts';
import type { ComputeOp, Op, OpId, Program, PullOp, SendOp } from './ops.ts';
import { COMPUTE_CATEGORIES, type ComputeCategory, type SpanCategory, type StreamCategory } from './categories.ts';

export interface Interval {
  rank: number;
  lane: 'compute' | 'copy';
  label: string;
  /** Compute ops: their category. Stream blocked: 'wait' | 'sync' | 'comm'. Copy lane: 'pull' | 'send' (categories.ts). */
  category: SpanCategory;
  layer?: number;
  startMs: number;
  endMs: number;
  /** Copy lane: the other end of the transfer (destination of a pull served by this rank's engine). */
  peer?: number;
  bytes?: number;
}

export interface RankMetrics {
  rank: number;
  computeMs: number;
  computeByCategory: Partial<Record<ComputeCategory, number>>;
  /** Compute time added by copy interference (included in computeMs); absent where none is modeled (measured timelines). */
  interferenceMs?: number;
  pullMs: number;
  waitMs: number;
  syncMs: number;
  commMs: number;
  idleMs: number;
  /** When the rank's last op finished. */
  endMs: number;
  bytesPulled: number;
  bytesSent: number;
}

export interface Schedule {
  ranks: RankMetrics[];
  /** Sorted by rank, lane, start. Empty when intervals were not requested. */
  intervals: Interval[];
  makespanMs: number;
  /** 1 − Σ waitMs / Σ pullMs over all ranks, clamped to [0, 1] (a wait can outlast the pull's busy time by its latency); 1 when nothing was pulled. */
  hiddenPullFraction: number;
  /** Barrier id → the time it released (every participant went on at that time). */
  barrierRelease: Map<OpId, number>;
  /** Compute ops' `mark` → the time the op ended. */
  marks: Map<string, number>;
}

export interface SimulateOptions {
  /** Record intervals for traces (default true). Metrics are computed either way. */
  intervals?: boolean;
  /** Compute runs 1/(1 + this) as fast while a pull into or out of its rank moves bytes (default 0: never slower). */
  copyInterference?: number;
  /**
   * Copy-lane intervals: 'pieces' (default) files each stretch of a transfer's share of its
   * source's copy engine (the time-multiplexed picture round-robin slicing draws: a transfer
   * sharing its source with k others becomes many pieces); 'transfers' files one interval per
   * transfer, from the time its first byte moved to the time it landed (what a wait for it
   * sees), carrying all its bytes — O(transfers) memory instead of O(transfers × rate
   * changes), what a 64-rank all-to-all needs to fit at all. A piece's drawn end is not when
   * its transfer's bytes landed (the source's time is split among its transfers), a span's is.
   */
  copySpans?: 'pieces' | 'transfers';
  /** The link engine (default LinkFluid); a benchmark or test passes another (the previous one, or one without shortcuts) to compare on one run. */
  linkEngine?: LinkEngineClass;
}

/** What the scheduler asks of a link engine (LinkFluid's interface). */
export interface LinkEngine {
  readonly timeMs: number;
  readonly busy: boolean;
  submit(key: number, kind: 'pull' | 'send', src: number, dst: number, bytes: number): void;
  nextEventMs(): number;
  advanceTo(t: number): readonly number[];
  /**
   * advanceTo(t), but returning at the first landing before t, or after the first event that turns pullActive of one of
   * ranks[0 … n) on or off (timeMs: where it stopped), its other events processed on the way.
   */
  advanceToActivity?(t: number, ranks: ArrayLike<number>, n: number): readonly number[];
  pullActive(rank: number): boolean;
  pullBusyMs(rank: number): number;
  /** True when it reports each transfer once, whole, as it lands (LinkFluid in 'transfers' mode). */
  readonly wholeTransfers?: boolean;
}
export type LinkEngineClass = new (spec: LinkSpec, onPiece?: (p: EnginePiece) => void, mode?: PieceMode) => LinkEngine;

/** Run every rank's program to the end in virtual time. */
export function simulate(programs: readonly Program[], link: LinkSpec, opts: SimulateOptions = {}): Schedule {
  const meta = validate(programs);
  const run = new ScheduleRun(programs.length, link, opts);
  run.add(programs, meta, components(programs, meta));
  return run.finish();
}

/**
 * simulate() for a rack whose ranks fall into `groups` independent groups of `groupSize`
 * consecutive ranks (group g: ranks g·groupSize … (g+1)·groupSize − 1), no transfer or barrier
 * from one group to another, with each group's programs built only when it is simulated:
 * `build(g)` gives the programs of group g's ranks, in rank order (ops name global ranks).
 * The Schedule is simulate()'s on all the programs at once, bit for bit: simulate() runs
 * independent groups one at a time too, in this order. What it saves is memory: a rack's ~10⁶
 * ops are never all alive at once, so the garbage collector does not trace and copy them at
 * every collection (about a fifth of the full NVL72 scenario's run time went there).
 * A transfer to a rank outside its group, or a send or barrier id used in two groups (which
 * simulate() would reject or treat as one barrier joining the groups), throws.
 */
export function simulateGroups(
  groups: number,
  groupSize: number,
  build: (g: number) => readonly Program[],
  link: LinkSpec,
  opts: SimulateOptions = {},
): Schedule {
  if (!(Number.isInteger(groups) && groups >= 0 && Number.isInteger(groupSize) && groupSize >= 1))
    throw new Error(`scheduler: groups (${groups}) must be an integer ≥ 0 and groupSize (${groupSize}) one ≥ 1`);
  const R = groups * groupSize;
  const run = new ScheduleRun(R, link, opts);
  const none: Program = [];
  // Ids seen in earlier groups (send and barrier ids are unique across all programs).
  const sendIds = new IdIndex();
  const barrierIds = new IdIndex();
  for (let g = 0; g < groups; g++) {
    const lo = g * groupSize;
    const hi = lo + groupSize;
    const mine = build(g);
    if (mine.length !== groupSize)
      throw new Error(`scheduler: group ${g} has ${mine.length} programs, expected groupSize ${groupSize}`);
    // Every other rank's program is empty here (it runs in its own group's turn).
    const programs = new Array<Program>(R).fill(none);
    for (let i = 0; i < groupSize; i++) programs[lo + i] = mine[i];
    const meta = validate(programs);
    const outside = (what: string, rank: number, peer: number, id: OpId) => {
      if (peer < lo || peer >= hi)
        throw new Error(
          `scheduler: rank ${rank}'s ${what} '${id}' names rank ${peer}, outside its group [${lo}, ${hi})`,
        );
    };
    // (Indexed loops: a group has ~10⁴ sends, and entries() makes a pair for each.)
    for (let k = 0; k < meta.pulls.length; k++) {
      const op = meta.pulls[k];
      outside('pull', meta.pullRanks[k], op.from, op.id);
    }
    for (let k = 0; k < meta.sends.length; k++) {
      const op = meta.sends[k];
      outside('send', meta.sendRanks[k], op.to, op.id);
      if (sendIds.has(op.id))
        throw new Error(`scheduler: send id '${op.id}' used in two groups (group ${g} and an earlier one)`);
      sendIds.set(op.id, g);
    }
    for (const { id } of meta.barriers) {
      if (barrierIds.has(id))
        throw new Error(`scheduler: barrier id '${id}' used in two groups (group ${g} and an earlier one)`);
      barrierIds.set(id, g);
    }
    // (Every transfer and barrier of this group is among its ranks, checked above; the other ranks' programs are empty.)
    run.add(programs, meta, components(programs, meta, lo, hi));
  }
  return run.finish();
}

/** One simulation's results, filled by independent groups of ranks in turn, then finished. */
class ScheduleRun {
  private readonly record: boolean;
  private readonly slow: number;
  private readonly ranks: RankMetrics[];
  private readonly intervals: Interval[] = [];
  private readonly barrierRelease = new Map<OpId, number>();
  private readonly marks = new Map<string, number>();

  constructor(
    R: number,
    private readonly link: LinkSpec,
    private readonly opts: SimulateOptions,
  ) {
    this.record = opts.intervals ?? true;
    this.slow = opts.copyInterference ?? 0;
    if (!(this.slow >= 0) || !Number.isFinite(this.slow))
      throw new Error(`scheduler: copyInterference must be a finite number ≥ 0, got ${this.slow}`);
    this.ranks = Array.from({ length: R }, (_, r) => emptyMetrics(r));
  }

  /** Run these connected groups of `programs` (validated as `meta`), in order. */
  add(programs: readonly Program[], meta: ProgramMeta, groups: number[][]): void {
    const state: RunState = {
      pullDone: new Uint8Array(meta.pulls.length),
      sendDone: new Uint8Array(meta.sends.length),
      sendIssued: new Float64Array(meta.sends.length),
      arrived: meta.barriers.map(() => []),
    };
    for (const group of groups) {
      new GroupRun(
        programs,
        group,
        this.link,
        meta,
        state,
        this.ranks,
        this.record ? this.intervals : null,
        this.barrierRelease,
        this.marks,
        {
          wholeTransfers: this.opts.copySpans === 'transfers',
          engine: this.opts.linkEngine ?? LinkFluid,
        },
        this.slow,
      ).run();
    }
  }

  finish(): Schedule {
    const { ranks, intervals } = this;
    const makespanMs = Math.max(0, ...ranks.map((m) => m.endMs));
    for (const m of ranks) m.idleMs = Math.max(0, makespanMs - m.computeMs - m.waitMs - m.syncMs - m.commMs);
    const pull = ranks.reduce((s, m) => s + m.pullMs, 0);
    const wait = ranks.reduce((s, m) => s + m.waitMs, 0);
    const laneOrder = (l: Interval['lane']) => (l === 'compute' ? 0 : 1);
    intervals.sort((a, b) => a.rank - b.rank || laneOrder(a.lane) - laneOrder(b.lane) || a.startMs - b.startMs);
    return {
      ranks,
      intervals,
      makespanMs,
      hiddenPullFraction: pull > 0 ? Math.min(1, Math.max(0, 1 - wait / pull)) : 1,
      barrierRelease: this.barrierRelease,
      marks: this.marks,
    };
  }
}

function emptyMetrics(rank: number): RankMetrics {
  return {
    rank,
    computeMs: 0,
    computeByCategory: {},
    interferenceMs: 0,
    pullMs: 0,
    waitMs: 0,
    syncMs: 0,
    commMs: 0,
    idleMs: 0,
    endMs: 0,
    bytesPulled: 0,
    bytesSent: 0,
  };
}

// ---------------------------------------------------------------------------------------
// Validation, id resolution and independent groups

/**
 * Programs with every id resolved to a dense integer once, so the run itself never hashes
 * strings: refs[r][i] is, for op i of rank r, its pull/send/barrier index, for a wait where
 * the indices it waits for start in waitIds (op.ids.length of them), for a compute op its
 * category's code (CATEGORY_CODE).
 * Flat typed arrays and parallel lists rather than an object or array per op: these live as
 * long as the run, and every object that does is copied by the garbage collector's scavenges.
 */
interface ProgramMeta {
  refs: Int32Array[];
  waitIds: number[];
  pulls: PullOp[];
  /** The rank whose program issues pulls[k]. */
  pullRanks: number[];
  sends: SendOp[];
  sendRanks: number[];
  /** Per barrier: its participants and the mean straggler delay every one of them carries (ms, 0: none). */
  barriers: { id: OpId; ranks: number[]; straggleMs: number }[];
}

/**
 * Id → index. Integer ids in [base, base + DENSE_IDS), base being the first integer id set, go
 * to an array (no hashing), others to a Map. The base matters when programs are validated one
 * group at a time (simulateGroups): a later group's ids start high, and an array from 0 would
 * be filled up to them again for every group.
 */
class IdIndex {
  private base = -1;
  /** index + 1 per id from `base` on (0: not set); typed, so growing it needs no filling. */
  private dense = new Int32Array(0);
  private readonly map = new Map<OpId, number>();
  /** The id's place in `dense`, or −1 when it goes to the Map. */
  private slot(id: OpId): number {
    if (typeof id !== 'number' || !Number.isInteger(id) || this.base < 0) return -1;
    const k = id - this.base;
    return k >= 0 && k < DENSE_IDS ? k : -1;
  }
  get(id: OpId): number | undefined {
    const k = this.slot(id);
    if (k < 0) return this.map.get(id);
    return k < this.dense.length && this.dense[k] > 0 ? this.dense[k] - 1 : undefined;
  }
  has(id: OpId): boolean {
    return this.get(id) !== undefined;
  }
  set(id: OpId, index: number): void {
    if (this.base < 0 && typeof id === 'number' && Number.isInteger(id)) this.base = id;
    const k = this.slot(id);
    if (k < 0) {
      this.map.set(id, index);
      return;
    }
    if (k >= this.dense.length) {
      const grown = new Int32Array(Math.min(DENSE_IDS, Math.max(k + 1, 2 * this.dense.length, 1024)));
      grown.set(this.dense);
      this.dense = grown;
    }
    this.dense[k] = index + 1;
  }
}
const DENSE_IDS = 1 << 24;

/**
 * Compute category → its code, its index in COMPUTE_CATEGORIES (the one list of them): codes
 * index per-rank accumulators, so the run adds each op's time to a typed array instead of a
 * property looked up by name.
 */
const CATEGORY_CODE = new Map<ComputeCategory, number>(COMPUTE_CATEGORIES.map((c, k) => [c, k]));

function validate(programs: readonly Program[]): ProgramMeta {
  const R = programs.length;
  const pulls: PullOp[] = [];
  const pullRanks: number[] = [];
  const sends: SendOp[] = [];
  const sendRanks: number[] = [];
  const waitIds: number[] = [];
  const barriers: ProgramMeta['barriers'] = [];
  const sendIndex = new IdIndex();
  const barrierIndex = new IdIndex();
  const refs: ProgramMeta['refs'] = [];
  const fail = (r: number, i: number, op: Op, what: string): never => {
    throw new Error(`scheduler: rank ${r} op ${i} (${op.kind}): ${what}`);
  };
  /** A pull or send: its peer in range and not itself, its id new in `index`, its size ≥ 0. Returns its index in `list`. */
  const transfer = <T extends PullOp | SendOp>(
    r: number,
    i: number,
    op: T,
    peer: number,
    index: Pick<IdIndex, 'has' | 'set'>,
    list: T[],
    ranks: number[],
  ): number => {
    // (The message is built only on failure: formatting it for each of ~10⁵ transfers showed in
    // profiles, and so did a closure made for each.)
    if (!Number.isInteger(peer) || peer < 0 || peer >= R)
      fail(r, i, op, `${op.kind} '${op.id}' names rank ${peer}, outside [0, ${R})`);
    if (peer === r) fail(r, i, op, `${op.kind} '${op.id}' names the rank itself`);
    if (index.has(op.id)) fail(r, i, op, `${op.kind} id '${op.id}' used twice`);
    if (!(op.bytes >= 0)) fail(r, i, op, `${op.kind} '${op.id}' has ${op.bytes} bytes`);
    index.set(op.id, list.length);
    list.push(op);
    ranks.push(r);
    return list.length - 1;
  };
  // Plain loops: the programs of a rack run hold ~10⁶ ops.
  for (let r = 0; r < R; r++) {
    const ops = programs[r];
    const ref = new Int32Array(ops.length).fill(-1);
    const pullIndex = new Map<OpId, number>();
    const seenBarriers = new Set<OpId>();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      switch (op.kind) {
        case 'compute':
          if (!(op.durationMs >= 0) || !Number.isFinite(op.durationMs))
            fail(r, i, op, `'${op.label}' has duration ${op.durationMs}`);
          ref[i] =
            CATEGORY_CODE.get(op.category) ??
            fail(r, i, op, `'${op.label}' has category '${op.category}', not one of ${COMPUTE_CATEGORIES.join(', ')}`);
          break;
        case 'pull':
          ref[i] = transfer(r, i, op, op.from, pullIndex, pulls, pullRanks);
          break;
        case 'waitPull': {
          ref[i] = waitIds.length;
          for (let k = 0; k < op.ids.length; k++) {
            const x = pullIndex.get(op.ids[k]);
            if (x === undefined) fail(r, i, op, `waits for pull '${op.ids[k]}', which is not issued before it`);
            waitIds.push(x!);
          }
          break;
        }
        case 'send':
          ref[i] = transfer(r, i, op, op.to, sendIndex, sends, sendRanks);
          break;
        case 'barrier': {
          if (seenBarriers.has(op.id)) fail(r, i, op, `barrier '${op.id}' twice in one program`);
          seenBarriers.add(op.id);
          const straggle = op.straggleMs ?? 0;
          if (!(straggle >= 0) || !Number.isFinite(straggle))
            fail(r, i, op, `barrier '${op.id}' has straggleMs ${straggle} (a finite number ≥ 0)`);
          let b = barrierIndex.get(op.id);
          if (b === undefined) {
            b = barriers.length;
            barrierIndex.set(op.id, b);
            barriers.push({ id: op.id, ranks: [], straggleMs: straggle });
          } else if (barriers[b].straggleMs !== straggle)
            fail(
              r,
              i,
              op,
              `barrier '${op.id}' has straggleMs ${straggle}, another participant ${barriers[b].straggleMs}`,
            );
          barriers[b].ranks.push(r);
          ref[i] = b;
          break;
        }
        case 'waitRecv':
        case 'notBefore':
          break;
        default:
          fail(r, i, op, 'unknown op kind');
      }
    }
    refs.push(ref);
  }
  for (let r = 0; r < R; r++) {
    const ops = programs[r];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op.kind !== 'waitRecv') continue;
      refs[r][i] = waitIds.length;
      for (let k = 0; k < op.ids.length; k++) {
        const id = op.ids[k];
        const x = sendIndex.get(id);
        if (x === undefined) throw new Error(`scheduler: rank ${r} waits for send '${id}', which no rank sends`);
        if (sends[x].to !== r)
          throw new Error(`scheduler: rank ${r} waits for send '${id}', which goes to rank ${sends[x].to}`);
        waitIds.push(x);
      }
    }
  }
  return { refs, waitIds, pulls, pullRanks, sends, sendRanks, barriers };
}

/**
 * Ranks linked by transfers or barriers, as sorted groups: those of ranks lo … hi − 1 (default
 * all), every transfer and barrier of `meta` being among them.
 */
function components(programs: readonly Program[], meta: ProgramMeta, lo = 0, hi = programs.length): number[][] {
  const parent = Array.from({ length: hi - lo }, (_, k) => k);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  const join = (a: number, b: number) => {
    const ra = find(a - lo);
    const rb = find(b - lo);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  for (let k = 0; k < meta.pulls.length; k++) join(meta.pullRanks[k], meta.pulls[k].from);
  for (let k = 0; k < meta.sends.length; k++) join(meta.sendRanks[k], meta.sends[k].to);
  for (const { ranks } of meta.barriers) for (const r of ranks) join(ranks[0], r);
  const groups = new Map<number, number[]>();
  for (let r = lo; r < hi; r++) {
    const root = find(r - lo);
    const g = groups.get(root);
    if (g) g.push(r);
    else groups.set(root, [r]);
  }
  return [...groups.values()];
}

/** Run-wide state shared by the groups (indexed by the resolved ids). */
interface RunState {
  pullDone: Uint8Array;
  sendDone: Uint8Array;
  sendIssued: Float64Array;
  arrived: number[][];
}

// ---------------------------------------------------------------------------------------
// One connected group of ranks

/**
 * What a rank's stream is blocked in, since when: read only while RankState.blocked. One per
 * rank, reused by each blocking op in turn (a rack run blocks ~10⁵ times); the fields a kind
 * does not use keep stale values.
 */
class Blocked {
  kind: 'waitPull' | 'waitRecv' | 'barrier' | 'notBefore' = 'notBefore';
  since = 0;
  layer: number | undefined = undefined;
  /**
   * Waits: the awaited indices are meta.waitIds[from … end); those before `at` have landed
   * already (landing is final, so a later check starts there instead of rescanning them).
   */
  from = 0;
  at = 0;
  end = 0;
  /** Barrier: its index, and its release time when the last participant arrived and stragglers put it later (else Infinity). */
  index = 0;
  releaseAt = Infinity;
  /** notBefore: the time the stream may go on. */
  untilMs = 0;

  wait(kind: 'waitPull' | 'waitRecv', since: number, from: number, end: number, layer: number | undefined): void {
    this.kind = kind;
    this.since = since;
    this.from = this.at = from;
    this.end = end;
    this.layer = layer;
  }

  barrier(since: number, index: number, layer: number | undefined): void {
    this.kind = 'barrier';
    this.since = since;
    this.index = index;
    this.releaseAt = Infinity;
    this.layer = layer;
  }

  notBefore(since: number, untilMs: number): void {
    this.kind = 'notBefore';
    this.since = since;
    this.untilMs = untilMs;
    this.layer = undefined;
  }
}

interface RankState {
  pc: number;
  /** End of the compute block in progress (Infinity when none), and the op after it. */
  computeEnd: number;
  afterCompute: number;
  /** Whether the stream is blocked at op `pc` (in what: `blockedIn`). */
  blocked: boolean;
  /** The rank's one Blocked, reused by each blocking op in turn. */
  readonly blockedIn: Blocked;
  /**
   * The rank's one SlowBlock, reused by each of its blocks in turn (a rack run times ~10⁵ blocks).
   * With copy interference every compute block runs as one, so it is in progress exactly while
   * `computeEnd` is finite; without, it is never used.
   */
  readonly slowBlock: SlowBlock;
}

/** A compute block under copy interference: ops [first, afterCompute) of nominal work `work` ms. */
class SlowBlock {
  first = 0;
  work = 0;
  /** Breakpoints k < n: from wall time t[k] on, with w[k] nominal ms done, the block ran at rates[k]. */
  n = 0;
  t = new Float64Array(4);
  w = new Float64Array(4);
  rates = new Float64Array(4);

  /** Start over at wall time `t0` with `work` nominal ms to do at `rate`. */
  start(first: number, work: number, rate: number, t0: number): void {
    this.first = first;
    this.work = work;
    this.n = 0;
    this.breakpoint(t0, 0, rate);
  }

  /** The rate it runs at now: its last breakpoint's. */
  get rate(): number {
    return this.rates[this.n - 1];
  }

  breakpoint(t: number, w: number, rate: number): void {
    if (this.n === this.t.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(2 * a.length);
        b.set(a);
        return b;
      };
      this.t = grow(this.t);
      this.w = grow(this.w);
      this.rates = grow(this.rates);
    }
    this.t[this.n] = t;
    this.w[this.n] = w;
    this.rates[this.n] = rate;
    this.n++;
  }
}

class GroupRun {
  private now = 0;
  private readonly engine: LinkEngine;
  private readonly state: RankState[] = [];
  private readonly lastPiece = new Map<number, Interval>();
  /**
   * Per rank: compute time by category code, and the codes in the order first met (the order
   * computeByCategory gets its keys in when the group ends: a rank is simulated in one group).
   */
  private readonly byCategory: { ms: Float64Array; seen: Uint8Array; order: number[] }[] = [];
  private readonly pullCount: number;
  /**
   * Copy interference can change a compute rate here: it is on and some rank of this group
   * issues a pull. Otherwise (off, or DEP: sends only) every rate stays 1, and the per-step
   * rate checks (retime) are skipped (with it on, compute blocks are still timed the
   * interference way, so the arithmetic is the same).
   */
  private readonly interferes: boolean;
  /** retime(): the ranks inside a compute block, watch[0 … watching) (their copy activity is what the link must stop at). */
  private readonly watch: Int32Array;
  private watching = 0;

  constructor(
    private readonly programs: readonly Program[],
    private readonly group: number[],
    link: LinkSpec,
    private readonly meta: ProgramMeta,
    private readonly run_: RunState,
    private readonly metrics: RankMetrics[],
    private readonly intervals: Interval[] | null,
    private readonly barrierRelease: Map<OpId, number>,
    private readonly marks: Map<string, number>,
    private readonly spans: { wholeTransfers: boolean; engine: LinkEngineClass } = {
      wholeTransfers: false,
      engine: LinkFluid,
    },
    private readonly slow = 0,
  ) {
    this.pullCount = meta.pulls.length;
    this.engine = new spans.engine(
      link,
      intervals ? (p) => this.piece(p) : undefined,
      spans.wholeTransfers ? 'transfers' : 'pieces',
    );
    for (const r of group)
      this.state[r] = {
        pc: 0,
        computeEnd: Infinity,
        afterCompute: 0,
        blocked: false,
        blockedIn: new Blocked(),
        slowBlock: new SlowBlock(),
      };
    this.interferes = slow > 0 && meta.pullRanks.some((r) => this.state[r] !== undefined);
    this.watch = new Int32Array(group.length);
    const C = COMPUTE_CATEGORIES.length;
    for (const r of group) this.byCategory[r] = { ms: new Float64Array(C), seen: new Uint8Array(C), order: [] };
  }

  run(): void {
    // Only landings (which end waits) matter to the ranks, and the link's other events
    // (deliveries, rate changes) to a compute rate only through copy interference, that is
    // only where they turn the copy activity (pullActive) of a rank inside a compute block on
    // or off: with an engine that can, the link runs on to its next landing (without
    // interference here) or to its next landing or change of those ranks' activity (with)
    // inside one step of this loop, instead of stopping the ranks at each of its events (where
    // none of them could move, and retime would change no rate). The link does the same
    // arithmetic either way, and the ranks stop at the same times otherwise, so every
    // breakpoint and every time is the same.
    // (Without interference here no rank is watched: watching stays 0, and the link stops at landings only.)
    const skip = this.engine.advanceToActivity !== undefined;
    // (Indexed loops here and in progress and retime, which run at every step: an iterator
    // that escape analysis does not remove is an allocation each time.)
    for (;;) {
      this.progress();
      let tNext = skip ? Infinity : this.engine.nextEventMs();
      if (this.interferes) this.retime();
      let running = false;
      for (let g = 0; g < this.group.length; g++) {
        const r = this.group[g];
        const s = this.state[r];
        if (s.pc < this.programs[r].length) running = true;
        if (s.computeEnd < tNext) tNext = s.computeEnd;
        if (s.blocked) {
          const bl = s.blockedIn;
          if (bl.kind === 'notBefore' && bl.untilMs < tNext) tNext = bl.untilMs;
          if (bl.kind === 'barrier' && bl.releaseAt < tNext) tNext = bl.releaseAt;
        }
      }
      if (!running && !this.engine.busy) break;
      if (tNext === Infinity && (!skip || this.engine.nextEventMs() === Infinity)) {
        if (!running) break;
        throw new Error(`scheduler: deadlock at ${this.now.toFixed(6)} ms: ${this.describeBlocked()}`);
      }
      const landed = skip
        ? this.engine.advanceToActivity!(tNext, this.watch, this.watching)
        : this.engine.advanceTo(tNext);
      for (let k = 0; k < landed.length; k++) this.landed(landed[k]);
      this.now = skip ? this.engine.timeMs : tNext;
      for (let g = 0; g < this.group.length; g++) {
        const r = this.group[g];
        const s = this.state[r];
        if (s.computeEnd <= this.now) {
          if (this.slow > 0) this.endSlowBlock(r, s);
          s.computeEnd = Infinity;
          s.pc = s.afterCompute;
          this.metrics[r].endMs = this.now;
        }
      }
    }
    for (const r of this.group) {
      const m = this.metrics[r];
      m.pullMs = this.engine.pullBusyMs(r);
      const acc = this.byCategory[r];
      for (const k of acc.order) m.computeByCategory[COMPUTE_CATEGORIES[k]] = acc.ms[k];
    }
  }

  /** Run every rank as far as it can go at the current time. */
  private progress(): void {
    for (let changed = true; changed;) {
      changed = false;
      for (let g = 0; g < this.group.length; g++) {
        const r = this.group[g];
        // (A rank inside a compute block cannot move: skipped without a call.)
        if (this.state[r].computeEnd !== Infinity) continue;
        while (this.step(r)) changed = true;
      }
    }
  }

  /** Try to move rank r by one op; true if something happened. */
  private step(r: number): boolean {
    const s = this.state[r];
    const ops = this.programs[r];
    if (s.computeEnd !== Infinity || s.pc >= ops.length) return false;
    if (s.blocked) return this.tryUnblock(r, s);
    const op = ops[s.pc];
    const ref = this.meta.refs[r][s.pc];
    const m = this.metrics[r];
    switch (op.kind) {
      case 'compute': {
        if (this.slow > 0) return this.startSlowBlock(r, s);
        // Consecutive compute ops are one busy block: nothing can happen on this stream in
        // between, so they are timed together (one event instead of one per op).
        let t = this.now;
        let j = s.pc;
        for (; j < ops.length; j++) {
          const c = ops[j];
          if (c.kind !== 'compute') break;
          if (c.durationMs > 0) {
            this.recordCompute(r, c, this.meta.refs[r][j], t, t + c.durationMs, c.durationMs);
            t += c.durationMs;
          }
          if (c.mark !== undefined) this.marks.set(c.mark, t);
        }
        if (t > this.now) {
          s.computeEnd = t;
          s.afterCompute = j;
          return false; // the stream is busy until computeEnd
        }
        s.pc = j;
        m.endMs = this.now;
        return true;
      }
      case 'pull':
        m.bytesPulled += op.bytes;
        this.engine.submit(ref, 'pull', op.from, r, op.bytes);
        s.pc++;
        return true;
      case 'send':
        m.bytesSent += op.bytes;
        this.run_.sendIssued[ref] = this.now;
        this.engine.submit(this.pullCount + ref, 'send', r, op.to, op.bytes);
        s.pc++;
        return true;
      case 'waitPull':
      case 'waitRecv':
        s.blockedIn.wait(op.kind, this.now, ref, ref + op.ids.length, op.layer);
        s.blocked = true;
        this.tryUnblock(r, s);
        return true;
      case 'barrier': {
        const b = ref;
        s.blockedIn.barrier(this.now, b, op.layer);
        s.blocked = true;
        const a = this.run_.arrived[b];
        a.push(r);
        if (a.length === this.meta.barriers[b].ranks.length) this.lastArrival(op.id, b, a);
        return true;
      }
      case 'notBefore':
        s.blockedIn.notBefore(this.now, op.atMs);
        s.blocked = true;
        this.tryUnblock(r, s);
        return true;
    }
  }

  /**
   * The last participant `arrived` at barrier b (id `id`): release them all now, or set their
   * release time where stragglers put it later. (Apart from step(): a closure there would
   * make every call of step allocate its context.)
   */
  private lastArrival(id: OpId, b: number, arrived: number[]): void {
    const straggle = this.meta.barriers[b].straggleMs;
    const at =
      straggle > 0
        ? stragglerRelease(
            arrived.map((q) => this.state[q].blockedIn.since),
            straggle,
          )
        : this.now;
    this.barrierRelease.set(id, Math.max(this.now, at));
    if (at > this.now) {
      // Everyone stays blocked until the expected slowest participant is ready.
      for (const q of arrived) this.state[q].blockedIn.releaseAt = at;
    } else for (const q of arrived) this.release(q, this.state[q]);
  }

  /** Compute speed of rank r now: slowed while a pull into or out of it moves bytes. */
  private rateOf(r: number): number {
    return this.interferes && this.engine.pullActive(r) ? 1 / (1 + this.slow) : 1;
  }

  /** Start a compute block under copy interference; its ops are timed when it ends. */
  private startSlowBlock(r: number, s: RankState): boolean {
    const ops = this.programs[r];
    let work = 0;
    let j = s.pc;
    for (; j < ops.length; j++) {
      const c = ops[j];
      if (c.kind !== 'compute') break;
      work += c.durationMs;
    }
    if (work > 0) {
      const rate = this.rateOf(r);
      s.slowBlock.start(s.pc, work, rate, this.now);
      s.computeEnd = this.now + work / rate;
      s.afterCompute = j;
      return false;
    }
    for (let i = s.pc; i < j; i++) {
      const c = ops[i];
      if (c.kind === 'compute' && c.mark !== undefined) this.marks.set(c.mark, this.now);
    }
    s.pc = j;
    this.metrics[r].endMs = this.now;
    return true;
  }

  /**
   * Copy activity changed (or not) at this time: every running block continues at its rank's
   * new rate. Lists the ranks with a running block in watch[0 … watching): until one of them
   * ends (at its computeEnd, a time the ranks stop at), only their copy activity decides a rate.
   */
  private retime(): void {
    this.watching = 0;
    for (let g = 0; g < this.group.length; g++) {
      const r = this.group[g];
      const s = this.state[r];
      if (s.computeEnd === Infinity) continue;
      this.watch[this.watching++] = r;
      const b = s.slowBlock;
      const rate = this.rateOf(r);
      if (rate === b.rate) continue;
      const k = b.n - 1;
      const done = Math.min(b.work, b.w[k] + (this.now - b.t[k]) * b.rate);
      b.breakpoint(this.now, done, rate);
      s.computeEnd = this.now + (b.work - done) / rate;
    }
  }

  /** Wall time at which block b had done `work` nominal ms. */
  private static wallAt(b: SlowBlock, work: number): number {
    let k = b.n - 1;
    while (k > 0 && b.w[k] > work) k--;
    return b.t[k] + (work - b.w[k]) / b.rates[k];
  }

  /** Files compute op `c` of rank `r`, run from `start` to `end` (`d` ms): its metrics and its interval. */
  private recordCompute(r: number, c: ComputeOp, code: number, start: number, end: number, d: number): void {
    const m = this.metrics[r];
    m.computeMs += d;
    const acc = this.byCategory[r];
    if (acc.seen[code] === 0) {
      acc.seen[code] = 1;
      acc.order.push(code);
    }
    acc.ms[code] += d;
    this.intervals?.push({
      rank: r,
      lane: 'compute',
      label: c.label,
      category: c.category,
      layer: c.layer,
      startMs: start,
      endMs: end,
    });
  }

  /** A block under interference ended now: time its ops from the breakpoints and record them. */
  private endSlowBlock(r: number, s: RankState): void {
    const b = s.slowBlock;
    const ops = this.programs[r];
    const m = this.metrics[r];
    let w = 0;
    let t = b.t[0];
    for (let i = b.first; i < s.afterCompute; i++) {
      const c = ops[i];
      if (c.kind !== 'compute') break;
      if (c.durationMs > 0) {
        w += c.durationMs;
        const end = i === s.afterCompute - 1 ? this.now : Math.min(this.now, GroupRun.wallAt(b, w));
        const d = end - t;
        m.interferenceMs = (m.interferenceMs ?? 0) + d - c.durationMs;
        this.recordCompute(r, c, this.meta.refs[r][i], t, end, d);
        t = end;
      }
      if (c.mark !== undefined) this.marks.set(c.mark, t);
    }
  }

  private tryUnblock(r: number, s: RankState): boolean {
    const b = s.blockedIn;
    switch (b.kind) {
      case 'waitPull':
        for (const ids = this.meta.waitIds, done = this.run_.pullDone; b.at < b.end; b.at++)
          if (!done[ids[b.at]]) return false;
        break;
      case 'waitRecv':
        for (const ids = this.meta.waitIds, done = this.run_.sendDone; b.at < b.end; b.at++)
          if (!done[ids[b.at]]) return false;
        break;
      case 'notBefore':
        if (this.now < b.untilMs) return false;
        break;
      case 'barrier':
        // Released by the last arrival, or, with stragglers, at the release time it set.
        if (this.now < b.releaseAt) return false;
        break;
    }
    this.release(r, s);
    return true;
  }

  /** Account the blocked time and move past the blocking op. */
  private release(r: number, s: RankState): void {
    const b = s.blockedIn;
    const m = this.metrics[r];
    const t0 = b.since;
    const t1 = this.now;
    switch (b.kind) {
      case 'waitPull':
        m.waitMs += t1 - t0;
        this.span(r, b, 'wait', 'wait pull', t0, t1);
        break;
      case 'barrier':
        m.syncMs += t1 - t0;
        if (this.intervals) this.span(r, b, 'sync', `barrier ${this.meta.barriers[b.index].id}`, t0, t1);
        break;
      case 'waitRecv': {
        // Until the last awaited send was issued a peer was late (sync); after that, transfer.
        let issued = -Infinity;
        for (let k = b.from; k < b.end; k++) issued = Math.max(issued, this.run_.sendIssued[this.meta.waitIds[k]]);
        const split = Math.min(t1, Math.max(t0, issued));
        m.syncMs += split - t0;
        m.commMs += t1 - split;
        this.span(r, b, 'sync', 'wait for peers', t0, split);
        this.span(r, b, 'comm', 'receive', split, t1);
        break;
      }
      case 'notBefore':
        break;
    }
    s.blocked = false;
    s.pc++;
    m.endMs = this.now;
  }

  /** A blocked stretch of the stream, drawn on the compute lane. */
  private span(r: number, b: Blocked, category: StreamCategory, label: string, from: number, to: number): void {
    if (this.intervals && to > from)
      this.intervals.push({
        rank: r,
        lane: 'compute',
        label,
        category,
        layer: b.layer,
        startMs: from,
        endMs: to,
      });
  }

  private landed(key: number): void {
    if (key < this.pullCount) this.run_.pullDone[key] = 1;
    else this.run_.sendDone[key - this.pullCount] = 1;
  }

  private piece(p: EnginePiece): void {
    // Whole transfers: the engine reports each once, when it lands (nothing to merge); an
    // engine that reports pieces has them merged here.
    const whole = this.engine.wholeTransfers === true;
    const last = whole ? undefined : this.lastPiece.get(p.key);
    if (last && (this.spans.wholeTransfers || Math.abs(last.endMs - p.startMs) <= 1e-12 * Math.max(1, p.startMs))) {
      last.endMs = p.endMs;
      last.bytes! += p.bytes;
      return;
    }
    const isPull = p.key < this.pullCount;
    const op = isPull ? this.meta.pulls[p.key] : this.meta.sends[p.key - this.pullCount];
    const label = op.label ?? (isPull ? `pull ← r${(op as PullOp).from}` : `send → r${(op as SendOp).to}`);
    const iv: Interval = {
      rank: p.src,
      lane: 'copy',
      label,
      category: op.kind,
      layer: op.layer,
      startMs: p.startMs,
      endMs: p.endMs,
      peer: p.dst,
      bytes: p.bytes,
    };
    this.intervals!.push(iv);
    if (!whole) this.lastPiece.set(p.key, iv);
  }

  private describeBlocked(): string {
    return this.group
      .map((r) => {
        const s = this.state[r];
        if (s.pc >= this.programs[r].length) return null;
        if (!s.blocked) return `rank ${r} at op ${s.pc}`;
        const op = this.programs[r][s.pc];
        const what =
          op.kind === 'barrier'
            ? `barrier '${op.id}'`
            : op.kind === 'notBefore'
              ? `notBefore ${op.atMs}`
              : op.kind === 'waitPull' || op.kind === 'waitRecv'
                ? `${op.kind} [${op.ids.join(', ')}]`
                : op.kind;
        return `rank ${r} blocked in ${what}`;
      })
      .filter(Boolean)
      .join('; ');
  }
}
