// A deterministic discrete-event scheduler in virtual time over per-rank programs.
//
// Each rank runs one program: a list of plain-data ops executed in order on the rank's
// compute stream. Transfers (DWDP pulls, DEP sends) are asynchronous: issuing one does not
// block the stream; the link model (src/dwdp/link-model.ts, fluid engine) decides when it
// completes, sharing each source's copy engine and each rank's ingress among the transfers in
// flight. Waits block the stream until their transfers have landed; barriers block until
// every rank that has the barrier in its program has reached it.
//
// The scheduler knows nothing about hardware: op durations come with the program (from a
// cost model, or from kernel timestamps measured on the emulated GPU), bandwidths come with
// the link spec. Ranks that never exchange data or share a barrier are independent and are
// simulated one connected group at a time (same result, less work).
//
// Time accounting per rank (all in ms, they add up to the makespan):
//   computeMs  the stream runs compute ops
//   waitMs     blocked in waitPull                      ("pull wait", exposed P2P copy)
//   syncMs     blocked at a barrier, or in waitRecv before every awaited send was even issued
//              (a peer was late: synchronization)
//   commMs     blocked in waitRecv after all awaited sends were issued (the transfer itself)
//   idleMs     everything else: waiting for a notBefore time, or finished before the makespan
// pullMs is not stream time: it is the wall time during which some copy engine was moving
// bytes INTO this rank (several peers at once count once), so 1 − waitMs/pullMs is the
// fraction of the pull time hidden under other work.

import { LinkFluid, type EnginePiece, type LinkSpec } from '../dwdp/link-model.ts';

export type OpCategory = 'attention' | 'router' | 'gemm' | 'dense' | 'combine' | 'merge' | 'other' | (string & {});

export interface ComputeOp {
  kind: 'compute';
  label: string;
  category: OpCategory;
  durationMs: number;
  layer?: number;
}
/** Asynchronous one-sided pull of `bytes` from rank `from` into this rank; `id` unique within the program. */
export interface PullOp {
  kind: 'pull';
  id: string;
  from: number;
  bytes: number;
  layer?: number;
  label?: string;
}
export interface WaitPullOp {
  kind: 'waitPull';
  ids: readonly string[];
  layer?: number;
}
/** Asynchronous send of `bytes` to rank `to`; `id` unique across all programs. */
export interface SendOp {
  kind: 'send';
  id: string;
  to: number;
  bytes: number;
  layer?: number;
  label?: string;
}
/** Blocks until the sends with these ids (all addressed to this rank) have landed. */
export interface WaitRecvOp {
  kind: 'waitRecv';
  ids: readonly string[];
  layer?: number;
}
/** Every rank whose program holds this id must arrive before any of them goes on. */
export interface BarrierOp {
  kind: 'barrier';
  id: string;
  layer?: number;
}
/** The stream does nothing before `atMs` (a request that has not arrived yet). */
export interface NotBeforeOp {
  kind: 'notBefore';
  atMs: number;
}

export type Op = ComputeOp | PullOp | WaitPullOp | SendOp | WaitRecvOp | BarrierOp | NotBeforeOp;
export type Program = readonly Op[];

export interface Interval {
  rank: number;
  lane: 'compute' | 'copy';
  label: string;
  /** Compute ops: their category. Stream blocked: 'wait' | 'sync' | 'comm'. Copy lane: 'pull' | 'send'. */
  category: string;
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
  computeByCategory: Record<string, number>;
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
  /** 1 − Σ waitMs / Σ pullMs over all ranks (1 when nothing was pulled). */
  hiddenPullFraction: number;
  /** Barrier id → the time it released (every participant went on at that time). */
  barrierRelease: Map<string, number>;
}

export interface SimulateOptions {
  /** Record intervals for traces (default true). Metrics are computed either way. */
  intervals?: boolean;
}

/** Run every rank's program to the end in virtual time. */
export function simulate(programs: readonly Program[], link: LinkSpec, opts: SimulateOptions = {}): Schedule {
  const meta = validate(programs);
  const record = opts.intervals ?? true;
  const ranks = programs.map((_, r) => emptyMetrics(r));
  const intervals: Interval[] = [];
  const barrierRelease = new Map<string, number>();
  for (const group of components(programs, meta)) {
    new GroupRun(programs, group, link, meta, ranks, record ? intervals : null, barrierRelease).run();
  }
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
    barrierRelease,
  };
}

function emptyMetrics(rank: number): RankMetrics {
  return { rank, computeMs: 0, computeByCategory: {}, pullMs: 0, waitMs: 0, syncMs: 0, commMs: 0, idleMs: 0, endMs: 0, bytesPulled: 0, bytesSent: 0 };
}

// ---------------------------------------------------------------------------------------
// Validation and independent groups

interface ProgramMeta {
  /** Barrier id → participating ranks. */
  barriers: Map<string, number[]>;
  /** Send id → [sender, receiver]. */
  sends: Map<string, [number, number]>;
}

function validate(programs: readonly Program[]): ProgramMeta {
  const barriers = new Map<string, number[]>();
  const sends = new Map<string, [number, number]>();
  const R = programs.length;
  const checkRank = (r: number, what: string, me: number) => {
    if (!Number.isInteger(r) || r < 0 || r >= R) throw new Error(`scheduler: rank ${me}: ${what} names rank ${r}, outside [0, ${R})`);
    if (r === me) throw new Error(`scheduler: rank ${me}: ${what} names the rank itself`);
  };
  programs.forEach((ops, r) => {
    const pulls = new Set<string>();
    const seenBarriers = new Set<string>();
    ops.forEach((op, i) => {
      const where = `rank ${r} op ${i} (${op.kind})`;
      switch (op.kind) {
        case 'compute':
          if (!(op.durationMs >= 0) || !Number.isFinite(op.durationMs)) throw new Error(`scheduler: ${where} '${op.label}' has duration ${op.durationMs}`);
          break;
        case 'pull':
          checkRank(op.from, `pull '${op.id}'`, r);
          if (pulls.has(op.id)) throw new Error(`scheduler: ${where}: pull id '${op.id}' used twice`);
          if (!(op.bytes >= 0)) throw new Error(`scheduler: ${where}: pull '${op.id}' has ${op.bytes} bytes`);
          pulls.add(op.id);
          break;
        case 'waitPull':
          for (const id of op.ids) if (!pulls.has(id)) throw new Error(`scheduler: ${where} waits for pull '${id}', which is not issued before it`);
          break;
        case 'send':
          checkRank(op.to, `send '${op.id}'`, r);
          if (sends.has(op.id)) throw new Error(`scheduler: ${where}: send id '${op.id}' used twice`);
          if (!(op.bytes >= 0)) throw new Error(`scheduler: ${where}: send '${op.id}' has ${op.bytes} bytes`);
          sends.set(op.id, [r, op.to]);
          break;
        case 'barrier': {
          if (seenBarriers.has(op.id)) throw new Error(`scheduler: ${where}: barrier '${op.id}' twice in one program`);
          seenBarriers.add(op.id);
          const b = barriers.get(op.id);
          if (b) b.push(r);
          else barriers.set(op.id, [r]);
          break;
        }
        case 'waitRecv':
        case 'notBefore':
          break;
        default:
          throw new Error(`scheduler: ${where}: unknown op kind`);
      }
    });
  });
  programs.forEach((ops, r) =>
    ops.forEach((op) => {
      if (op.kind !== 'waitRecv') return;
      for (const id of op.ids) {
        const s = sends.get(id);
        if (!s) throw new Error(`scheduler: rank ${r} waits for send '${id}', which no rank sends`);
        if (s[1] !== r) throw new Error(`scheduler: rank ${r} waits for send '${id}', which goes to rank ${s[1]}`);
      }
    }),
  );
  return { barriers, sends };
}

/** Ranks linked by transfers or barriers, as sorted groups. */
function components(programs: readonly Program[], meta: ProgramMeta): number[][] {
  const parent = programs.map((_, r) => r);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  const join = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  programs.forEach((ops, r) => {
    for (const op of ops) if (op.kind === 'pull') join(r, op.from);
  });
  for (const [s, d] of meta.sends.values()) join(s, d);
  for (const rs of meta.barriers.values()) for (const r of rs) join(rs[0], r);
  const groups = new Map<number, number[]>();
  programs.forEach((_, r) => {
    const root = find(r);
    const g = groups.get(root);
    if (g) g.push(r);
    else groups.set(root, [r]);
  });
  return [...groups.values()];
}

// ---------------------------------------------------------------------------------------
// One connected group of ranks

interface TransferMeta {
  kind: 'pull' | 'send';
  id: string;
  src: number;
  dst: number;
  bytes: number;
  layer?: number;
  label: string;
}

type Blocked =
  | { kind: 'waitPull' | 'waitRecv'; since: number; ids: readonly string[]; layer?: number }
  | { kind: 'barrier'; since: number; id: string; layer?: number }
  | { kind: 'notBefore'; since: number; at: number };

interface RankState {
  pc: number;
  computeEnd: number;
  blocked: Blocked | null;
  pullsDone: Set<string>;
}

class GroupRun {
  private now = 0;
  private readonly engine: LinkFluid;
  private readonly transfers: TransferMeta[] = [];
  private readonly state = new Map<number, RankState>();
  private readonly sendIssued = new Map<string, number>();
  private readonly sendsDone = new Set<string>();
  private readonly arrived = new Map<string, number[]>();
  private readonly lastPiece = new Map<number, Interval>();

  constructor(
    private readonly programs: readonly Program[],
    private readonly group: number[],
    link: LinkSpec,
    private readonly meta: ProgramMeta,
    private readonly metrics: RankMetrics[],
    private readonly intervals: Interval[] | null,
    private readonly barrierRelease: Map<string, number>,
  ) {
    this.engine = new LinkFluid(link, intervals ? (p) => this.piece(p) : undefined);
    for (const r of group) this.state.set(r, { pc: 0, computeEnd: Infinity, blocked: null, pullsDone: new Set() });
  }

  run(): void {
    for (;;) {
      this.progress();
      let tNext = this.engine.nextEventMs();
      let running = false;
      for (const r of this.group) {
        const s = this.state.get(r)!;
        if (s.pc < this.programs[r].length) running = true;
        if (s.computeEnd < tNext) tNext = s.computeEnd;
        if (s.blocked?.kind === 'notBefore' && s.blocked.at < tNext) tNext = s.blocked.at;
      }
      if (!running && !this.engine.busy) break;
      if (tNext === Infinity) {
        if (!running) break; // transfers nobody waits for can never be stuck; they were submitted with finite rates
        throw new Error(`scheduler: deadlock at ${this.now.toFixed(6)} ms: ${this.describeBlocked()}`);
      }
      for (const key of this.engine.advanceTo(tNext)) this.landed(key);
      this.now = tNext;
      for (const r of this.group) {
        const s = this.state.get(r)!;
        if (s.computeEnd <= this.now) {
          s.computeEnd = Infinity;
          s.pc++;
          this.metrics[r].endMs = this.now;
        }
      }
    }
    for (const r of this.group) this.metrics[r].pullMs = this.engine.pullBusyMs(r);
  }

  /** Run every rank as far as it can go at the current time. */
  private progress(): void {
    for (let changed = true; changed; ) {
      changed = false;
      for (const r of this.group) while (this.step(r)) changed = true;
    }
  }

  /** Try to move rank r by one op; true if something happened. */
  private step(r: number): boolean {
    const s = this.state.get(r)!;
    const ops = this.programs[r];
    if (s.computeEnd !== Infinity || s.pc >= ops.length) return false;
    if (s.blocked) return this.tryUnblock(r, s);
    const op = ops[s.pc];
    const m = this.metrics[r];
    switch (op.kind) {
      case 'compute':
        if (op.durationMs > 0) {
          s.computeEnd = this.now + op.durationMs;
          m.computeMs += op.durationMs;
          m.computeByCategory[op.category] = (m.computeByCategory[op.category] ?? 0) + op.durationMs;
          this.intervals?.push({ rank: r, lane: 'compute', label: op.label, category: op.category, layer: op.layer, startMs: this.now, endMs: s.computeEnd });
          return false; // the stream is busy until computeEnd
        }
        s.pc++;
        m.endMs = this.now;
        return true;
      case 'pull': {
        const key = this.transfers.length;
        this.transfers.push({ kind: 'pull', id: op.id, src: op.from, dst: r, bytes: op.bytes, layer: op.layer, label: op.label ?? `pull ${op.id}` });
        m.bytesPulled += op.bytes;
        this.engine.submit(key, 'pull', op.from, r, op.bytes);
        s.pc++;
        return true;
      }
      case 'send': {
        const key = this.transfers.length;
        this.transfers.push({ kind: 'send', id: op.id, src: r, dst: op.to, bytes: op.bytes, layer: op.layer, label: op.label ?? `send ${op.id}` });
        m.bytesSent += op.bytes;
        this.sendIssued.set(op.id, this.now);
        this.engine.submit(key, 'send', r, op.to, op.bytes);
        s.pc++;
        return true;
      }
      case 'waitPull':
      case 'waitRecv':
        s.blocked = { kind: op.kind, since: this.now, ids: op.ids, layer: op.layer };
        return this.tryUnblock(r, s) || true;
      case 'barrier': {
        s.blocked = { kind: 'barrier', since: this.now, id: op.id, layer: op.layer };
        const a = this.arrived.get(op.id) ?? [];
        a.push(r);
        this.arrived.set(op.id, a);
        if (a.length === this.meta.barriers.get(op.id)!.length) {
          this.barrierRelease.set(op.id, this.now);
          for (const q of a) this.release(q, this.state.get(q)!);
        }
        return true;
      }
      case 'notBefore':
        s.blocked = { kind: 'notBefore', since: this.now, at: op.atMs };
        return this.tryUnblock(r, s) || true;
    }
  }

  private tryUnblock(r: number, s: RankState): boolean {
    const b = s.blocked!;
    switch (b.kind) {
      case 'waitPull':
        if (!b.ids.every((id) => s.pullsDone.has(id))) return false;
        break;
      case 'waitRecv':
        if (!b.ids.every((id) => this.sendsDone.has(id))) return false;
        break;
      case 'notBefore':
        if (this.now < b.at) return false;
        break;
      case 'barrier':
        return false; // released by the last arrival
    }
    this.release(r, s);
    return true;
  }

  /** Account the blocked time and move past the blocking op. */
  private release(r: number, s: RankState): void {
    const b = s.blocked!;
    const m = this.metrics[r];
    const t0 = b.since;
    const t1 = this.now;
    const span = (category: string, label: string, from: number, to: number) => {
      if (to > from) this.intervals?.push({ rank: r, lane: 'compute', label, category, layer: 'layer' in b ? b.layer : undefined, startMs: from, endMs: to });
    };
    switch (b.kind) {
      case 'waitPull':
        m.waitMs += t1 - t0;
        span('wait', 'wait pull', t0, t1);
        break;
      case 'barrier':
        m.syncMs += t1 - t0;
        span('sync', `barrier ${b.id}`, t0, t1);
        break;
      case 'waitRecv': {
        // Until the last awaited send was issued a peer was late (sync); after that, transfer.
        const issued = Math.max(...b.ids.map((id) => this.sendIssued.get(id)!));
        const split = Math.min(t1, Math.max(t0, issued));
        m.syncMs += split - t0;
        m.commMs += t1 - split;
        span('sync', 'wait for peers', t0, split);
        span('comm', 'receive', split, t1);
        break;
      }
      case 'notBefore':
        break;
    }
    s.blocked = null;
    s.pc++;
    m.endMs = this.now;
  }

  private landed(key: number): void {
    const t = this.transfers[key];
    if (t.kind === 'pull') this.state.get(t.dst)!.pullsDone.add(t.id);
    else this.sendsDone.add(t.id);
  }

  private piece(p: EnginePiece): void {
    const t = this.transfers[p.key];
    const last = this.lastPiece.get(p.key);
    if (last && Math.abs(last.endMs - p.startMs) <= 1e-12 * Math.max(1, p.startMs)) {
      last.endMs = p.endMs;
      last.bytes! += p.bytes;
      return;
    }
    const iv: Interval = { rank: p.src, lane: 'copy', label: t.label, category: t.kind, layer: t.layer, startMs: p.startMs, endMs: p.endMs, peer: p.dst, bytes: p.bytes };
    this.intervals!.push(iv);
    this.lastPiece.set(p.key, iv);
  }

  private describeBlocked(): string {
    return this.group
      .map((r) => {
        const s = this.state.get(r)!;
        if (s.pc >= this.programs[r].length) return null;
        const b = s.blocked;
        if (!b) return `rank ${r} at op ${s.pc}`;
        const what = b.kind === 'barrier' ? `barrier '${b.id}'` : b.kind === 'notBefore' ? `notBefore ${b.at}` : `${b.kind} [${b.ids.join(', ')}]`;
        return `rank ${r} blocked in ${what}`;
      })
      .filter(Boolean)
      .join('; ');
  }
}
