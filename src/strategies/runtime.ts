// The two clocks behind one interface. Strategies write each rank as a plain async loop of
// compute / pull / wait / send / barrier steps; the runtime really runs the GPU work and
// really moves the bytes either way, and differs only in how time is read:
//
//  WallRuntime     ranks run concurrently; copies complete no earlier than the link model
//                  (WallLink) allows; every step is timed on the host clock.
//  VirtualRuntime  GPU work runs one step at a time (so each step's GPU timestamps are its
//                  own) and copies run unpaced; each rank's steps are recorded as a program
//                  with the measured durations, and the event scheduler computes every
//                  rank's timeline in virtual time over the same link model, and the same
//                  hardware parameters where the run stands for a target (copy interference:
//                  compute slowed while a pull moves bytes, the target's calibrated s; none on
//                  the wall clock, whose compute is timed as it ran).
import { GpuTimer, type Gpu } from '../gpu/index.ts';
import type { LinkSpec } from '../timeline/link.ts';
import type { CopySegment, Rank, Transport } from '../dwdp/transport.ts';
import { WallLink } from '../dwdp/wall-link.ts';
import {
  simulate,
  type Interval,
  type RankMetrics,
  type Schedule,
  type SimulateOptions,
} from '../timeline/scheduler.ts';
import type { Op } from '../timeline/ops.ts';
import type { PairedSteps } from './paired-steps.ts';
import { CATEGORIES, type ComputeCategory, type SpanCategory } from '../timeline/categories.ts';

/** Encodes one step's GPU work; pass labels recorded on `timer` name its parts. */
export type Encode = (enc: GPUCommandEncoder, timer: GpuTimer | undefined) => void;

/** What a rank's loop may do. Every method is awaited in program order by its rank. */
export interface RankRuntime {
  readonly rank: Rank;
  /** Runs GPU work as one step of `category` (split per timed pass in the virtual clock). */
  compute(label: string, category: ComputeCategory, layer: number, encode: Encode): Promise<void>;
  /** Host work on the rank's behalf (e.g. reading routing back): compute time on the wall clock, none in virtual time. */
  host<T>(label: string, category: ComputeCategory, layer: number, fn: () => Promise<T>): Promise<T>;
  /** Issues an asynchronous one-sided pull of `segments` (from one peer) into this rank. */
  pull(id: string, from: number, segments: CopySegment[], layer: number): void;
  waitPull(ids: string[], layer: number): Promise<void>;
  /**
   * Issues an asynchronous send (DEP all-to-all) of `segments` to rank `to`; ids are global.
   * `wireBytes` is what the link charges when it differs from the bytes physically moved
   * (activations move as f32 for exact outputs but travel at the model's wire precision).
   */
  send(id: string, to: number, segments: CopySegment[], layer: number, wireBytes?: number): void;
  waitRecv(ids: string[], layer: number): Promise<void>;
  barrier(id: string, layer: number): Promise<void>;
}

export interface RunTimeline {
  ranks: RankMetrics[];
  intervals: Interval[];
  makespanMs: number;
  hiddenPullFraction: number;
}

/** What the timed-pass labels of the kernels mean in the breakdown. */
export function categoryOf(passLabel: string, fallback: ComputeCategory): ComputeCategory {
  // The router's logits are a GEMM (dense, the paper's denseGemm); its selection and the permute are small kernels.
  if (passLabel === 'router logits') return 'dense';
  if (passLabel === 'router' || passLabel === 'permute') return 'router';
  // The shared expert is a dense MLP over every token (the layer labels its passes 'shared …').
  if (passLabel.startsWith('shared ')) return 'dense';
  if (/gate_up|down/.test(passLabel)) return 'gemm';
  if (passLabel === 'combine') return 'combine';
  if (passLabel === 'attention') return 'attention';
  return fallback;
}

/** A promise with its settle functions; marked handled so an unawaited failure is not "unhandled". */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Arrival of each send by id, created by whichever side asks first; a failed copy fails its receiver. */
class Mailbox {
  private readonly slots = new Map<string, ReturnType<typeof deferred>>();

  private slot(id: string) {
    let s = this.slots.get(id);
    if (!s) this.slots.set(id, (s = deferred()));
    return s;
  }

  /** Settles `id` when the copy behind it does. */
  follow(id: string, copy: Promise<void>): void {
    const s = this.slot(id);
    copy.then(s.resolve, s.reject);
  }

  wait(id: string): Promise<void> {
    return this.slot(id).promise;
  }
}

/** Rank-count barrier: every id releases once all `n` ranks have arrived. */
class Barriers {
  private readonly arrived = new Map<string, { count: number } & ReturnType<typeof deferred>>();

  constructor(private readonly n: number) {}

  arrive(id: string): Promise<void> {
    let b = this.arrived.get(id);
    if (!b) this.arrived.set(id, (b = { count: 0, ...deferred() }));
    if (++b.count === this.n) b.resolve();
    return b.promise;
  }
}

/** Serializes GPU work across ranks (virtual clock: clean per-step timestamps). */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * One lock for the GPU work of every virtual-clock run in this process: runs started side by
 * side (a benchmark comparing strategies) interleave step by step instead of running at once,
 * so each step's timestamps are its own and a load that drifts over minutes weighs on them
 * alike. Pipeline builds take it too (runGroup's setup), so no compile overlaps a timed step.
 */
const GPU_WORK = new Mutex();

/** Runs fn with the process's GPU work lock held. */
export function exclusiveGpuWork<T>(fn: () => Promise<T>): Promise<T> {
  return GPU_WORK.run(fn);
}

async function submitAndWait(gpu: Gpu, encode: Encode, timer: GpuTimer | undefined): Promise<Map<string, number>> {
  const enc = gpu.device.createCommandEncoder();
  encode(enc, timer);
  timer?.resolve(enc);
  gpu.device.queue.submit([enc.finish()]);
  await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
  return timer ? timer.read() : new Map();
}

abstract class BaseRuntime {
  protected readonly mailbox = new Mailbox();
  protected readonly barriers: Barriers;
  /** Physical completion of every transfer, by id. */
  protected readonly copies = new Map<string, Promise<void>>();

  constructor(
    protected readonly ranks: Rank[],
    protected readonly transport: Transport,
  ) {
    this.barriers = new Barriers(ranks.length);
  }

  protected startCopy(id: string, segments: CopySegment[]): Promise<void> {
    const p = this.transport.copy(segments);
    this.copies.set(id, p);
    return p;
  }
}

// ---------------------------------------------------------------------------------------

export class WallRuntime extends BaseRuntime {
  readonly link: WallLink;
  private readonly intervals: Interval[] = [];
  private readonly bytesPulled: number[];
  private readonly bytesSent: number[];
  private readonly arrivals = new Map<string, Promise<void>>();

  constructor(ranks: Rank[], transport: Transport, spec: LinkSpec) {
    super(ranks, transport);
    this.link = new WallLink(spec);
    this.bytesPulled = ranks.map(() => 0);
    this.bytesSent = ranks.map(() => 0);
  }

  forRank(r: number): RankRuntime {
    const rank = this.ranks[r];
    const span = async <T>(label: string, category: SpanCategory, layer: number, fn: () => Promise<T>): Promise<T> => {
      const start = this.link.now();
      const out = await fn();
      this.intervals.push({ rank: r, lane: 'compute', label, category, layer, startMs: start, endMs: this.link.now() });
      return out;
    };
    const transfer = (
      kind: 'pull' | 'send',
      id: string,
      src: number,
      dst: number,
      segments: CopySegment[],
      wireBytes?: number,
    ) => {
      const bytes = wireBytes ?? segments.reduce((a, s) => a + s.bytes, 0);
      // Lands when both the bytes have really moved and the link model lets them arrive.
      const landed = Promise.all([this.startCopy(id, segments), this.link.transfer(kind, src, dst, bytes)]).then(
        () => undefined,
      );
      landed.catch(() => undefined); // a failed copy surfaces where its rank waits for it
      this.arrivals.set(id, landed);
      return bytes;
    };
    return {
      rank,
      compute: (label, category, layer, encode) =>
        span(label, category, layer, () => submitAndWait(rank.gpu, encode, undefined)).then(() => undefined),
      host: (label, category, layer, fn) => span(label, category, layer, fn),
      pull: (id, from, segments) => {
        this.bytesPulled[r] += transfer('pull', id, from, r, segments);
      },
      waitPull: (ids, layer) =>
        span(`wait pull L${layer}`, 'wait', layer, () => Promise.all(ids.map((id) => this.arrivals.get(id)!))).then(
          () => undefined,
        ),
      send: (id, to, segments, _layer, wireBytes) => {
        this.bytesSent[r] += transfer('send', id, r, to, segments, wireBytes);
        this.mailbox.follow(id, this.arrivals.get(id)!);
      },
      waitRecv: (ids, layer) =>
        span(`wait recv L${layer}`, 'comm', layer, () => Promise.all(ids.map((id) => this.mailbox.wait(id)))).then(
          () => undefined,
        ),
      barrier: (id, layer) => span(`barrier ${id}`, 'sync', layer, () => this.barriers.arrive(id)),
    };
  }

  /** The run's timeline from what happened, in ms since the link was created. */
  timeline(): RunTimeline {
    const n = this.ranks.length;
    const copyLane: Interval[] = this.link.pieces.map((p) => ({
      rank: p.src,
      lane: 'copy',
      label: `${p.kind} → rank ${p.dst}`,
      category: p.kind,
      startMs: p.startMs,
      endMs: p.endMs,
      peer: p.dst,
      bytes: p.bytes,
    }));
    const intervals = [...this.intervals, ...copyLane].sort(
      (a, b) => a.rank - b.rank || (a.lane === b.lane ? 0 : a.lane === 'compute' ? -1 : 1) || a.startMs - b.startMs,
    );
    const ranks: RankMetrics[] = [];
    for (let r = 0; r < n; r++) {
      const own = this.intervals.filter((i) => i.rank === r);
      const sum = (pred: (i: Interval) => boolean) => own.filter(pred).reduce((a, i) => a + (i.endMs - i.startMs), 0);
      const computeByCategory: Partial<Record<ComputeCategory, number>> = {};
      for (const i of own) {
        if (CATEGORIES[i.category].lane !== 'compute') continue;
        const c = i.category as ComputeCategory;
        computeByCategory[c] = (computeByCategory[c] ?? 0) + (i.endMs - i.startMs);
      }
      ranks.push({
        rank: r,
        computeMs: Object.values(computeByCategory).reduce((a, b) => a + (b ?? 0), 0),
        computeByCategory,
        pullMs: this.link.pullBusyMs(r),
        waitMs: sum((i) => i.category === 'wait'),
        syncMs: sum((i) => i.category === 'sync'),
        commMs: sum((i) => i.category === 'comm'),
        idleMs: 0,
        endMs: Math.max(0, ...own.map((i) => i.endMs)),
        bytesPulled: this.bytesPulled[r],
        bytesSent: this.bytesSent[r],
      });
    }
    return finishTimeline(ranks, intervals);
  }
}

// ---------------------------------------------------------------------------------------

/** Host-clock span of one piece of GPU work the virtual runtime ran (for checks of what overlapped what). */
export interface HostSpan {
  kind: 'compute' | 'copy';
  label: string;
  startMs: number;
  endMs: number;
}

/**
 * How the virtual clock times a step. On a CPU-emulated adapter a kernel's timestamps are
 * host time on a shared CPU: one sample carries whatever else loaded the cores meanwhile
 * (other processes, the host thread polling for the GPU), and the first dispatches after a
 * pipeline is built run cold. With `repeats` > 1 the step's GPU work is submitted that many
 * times (every step is idempotent: it rewrites its outputs from unchanged inputs) and each
 * pass keeps its minimum, the usual estimator of a kernel's uncontended time.
 */
export interface StepTiming {
  repeats: number;
  /**
   * Steps of the paired categories timed back to back with other runs' same steps
   * (src/strategies/paired-steps.ts): this run is side `side`; such a step keeps the minimum of
   * its rounds' samples, and `repeats` does not apply to it.
   */
  paired?: { steps: PairedSteps; side: number };
}

/** What the virtual clock's schedule applies beyond the measured durations and the link (scheduler.ts SimulateOptions). */
export type ScheduleOptions = Pick<SimulateOptions, 'copyInterference'>;

export class VirtualRuntime extends BaseRuntime {
  private readonly programs: Op[][];
  private readonly gpuLock = GPU_WORK;
  private readonly timers = new Map<Gpu, GpuTimer>();
  /** Every timed submission and every copy, in host time: copies never overlap a timed step. */
  readonly hostSpans: HostSpan[] = [];

  constructor(
    ranks: Rank[],
    transport: Transport,
    private readonly spec: LinkSpec,
    private readonly timing: StepTiming = { repeats: 1 },
  ) {
    super(ranks, transport);
    this.programs = ranks.map(() => []);
    if (!(Number.isInteger(timing.repeats) && timing.repeats >= 1))
      throw new Error(`timing repeats must be a positive integer (got ${timing.repeats})`);
  }

  /** Runs fn under the GPU lock, logging its host span. */
  private locked<T>(kind: HostSpan['kind'], label: string, fn: () => Promise<T>): Promise<T> {
    return this.gpuLock.run(async () => {
      const startMs = performance.now();
      try {
        return await fn();
      } finally {
        this.hostSpans.push({ kind, label, startMs, endMs: performance.now() });
      }
    });
  }

  private timerFor(gpu: Gpu): GpuTimer | undefined {
    if (!gpu.timestamps) return undefined;
    let t = this.timers.get(gpu);
    if (!t) this.timers.set(gpu, (t = new GpuTimer(gpu)));
    return t;
  }

  forRank(r: number): RankRuntime {
    const rank = this.ranks[r];
    const prog = this.programs[r];
    const occurrences = new Map<string, number>();
    const record = (category: ComputeCategory, layer: number, passes: Map<string, number>) => {
      for (const [pass, ms] of passes)
        prog.push({
          kind: 'compute',
          label: `${pass} L${layer}`,
          category: categoryOf(pass, category),
          durationMs: ms,
          layer,
        });
    };
    // One timed submission of a step: its passes' ms, each pass's minimum so far kept in `passes`.
    const submitTimed = async (label: string, encode: Encode, passes: Map<string, number>) => {
      const timer = this.timerFor(rank.gpu);
      const t0 = performance.now();
      const got = await submitAndWait(rank.gpu, encode, timer);
      // Without timestamp-query the step's host time stands in for its GPU time.
      if (!timer) got.set(label, performance.now() - t0);
      for (const [pass, ms] of got) passes.set(pass, Math.min(ms, passes.get(pass) ?? Infinity));
      return got;
    };
    return {
      rank,
      compute: async (label, category, layer, encode) => {
        const paired = this.timing.paired;
        if (paired?.steps.pairs(category)) {
          const occurrence = occurrences.get(label) ?? 0;
          occurrences.set(label, occurrence + 1);
          const passes = new Map<string, number>();
          // One submission, its host span logged; run under the GPU lock the pairing holds.
          const submit = async () => {
            const t0 = performance.now();
            try {
              const byCategory: Record<string, number> = {};
              for (const [pass, ms] of await submitTimed(label, encode, passes)) {
                const c = categoryOf(pass, category);
                byCategory[c] = (byCategory[c] ?? 0) + ms;
              }
              return byCategory;
            } finally {
              this.hostSpans.push({ kind: 'compute', label, startMs: t0, endMs: performance.now() });
            }
          };
          await paired.steps.arrive(paired.side, { rank: r, label, occurrence }, submit);
          return record(category, layer, passes);
        }
        await this.locked('compute', label, async () => {
          const passes = new Map<string, number>();
          for (let i = 0; i < this.timing.repeats; i++) await submitTimed(label, encode, passes);
          record(category, layer, passes);
        });
      },
      // Host-side bookkeeping is not GPU time; it takes no virtual time.
      host: (_label, _category, _layer, fn) => fn(),
      pull: (id, from, segments, layer) => {
        const bytes = segments.reduce((a, s) => a + s.bytes, 0);
        // A failed copy surfaces in waitPull, which awaits the same promise.
        this.locked('copy', id, () => this.startCopy(id, segments)).catch(() => undefined);
        prog.push({ kind: 'pull', id, from, bytes, layer, label: `pull L${layer} ← rank ${from}` });
      },
      waitPull: async (ids, layer) => {
        await this.locked('copy', `wait ${ids.join(',')}`, () => Promise.all(ids.map((id) => this.copies.get(id)!)));
        prog.push({ kind: 'waitPull', ids, layer });
      },
      send: (id, to, segments, layer, wireBytes) => {
        const bytes = wireBytes ?? segments.reduce((a, s) => a + s.bytes, 0);
        this.mailbox.follow(
          id,
          this.locked('copy', id, () => this.startCopy(id, segments)),
        );
        prog.push({ kind: 'send', id, to, bytes, layer, label: `send L${layer} → rank ${to}` });
      },
      waitRecv: async (ids, layer) => {
        await Promise.all(ids.map((id) => this.mailbox.wait(id)));
        prog.push({ kind: 'waitRecv', ids, layer });
      },
      barrier: async (id, layer) => {
        await this.barriers.arrive(id);
        prog.push({ kind: 'barrier', id, layer });
      },
    };
  }

  /**
   * The recorded programs (or `programs`, e.g. rescaled ones) scheduled on `spec` (default: the
   * runtime's link) with `sched`: the hardware parameters the scheduler applies beyond durations
   * and the link (copy interference: a scaled run passes its target's s; default 0, never slower).
   */
  schedule(
    programs: readonly (readonly Op[])[] = this.programs,
    spec: LinkSpec = this.spec,
    sched: ScheduleOptions = {},
  ): Schedule {
    for (const t of this.timers.values()) t.destroy();
    this.timers.clear();
    return simulate(programs, spec, { copyInterference: sched.copyInterference });
  }

  /** The recorded programs (for tests and for re-scheduling under another link). */
  get recorded(): readonly (readonly Op[])[] {
    return this.programs;
  }

  timeline(programs?: readonly (readonly Op[])[], spec?: LinkSpec, sched?: ScheduleOptions): RunTimeline {
    const s = this.schedule(programs, spec, sched);
    return {
      ranks: s.ranks,
      intervals: s.intervals,
      makespanMs: s.makespanMs,
      hiddenPullFraction: s.hiddenPullFraction,
    };
  }
}

function finishTimeline(ranks: RankMetrics[], intervals: Interval[]): RunTimeline {
  const makespanMs = Math.max(0, ...ranks.map((m) => m.endMs));
  for (const m of ranks) m.idleMs = Math.max(0, makespanMs - m.computeMs - m.waitMs - m.syncMs - m.commMs);
  const pull = ranks.reduce((a, m) => a + m.pullMs, 0);
  const wait = ranks.reduce((a, m) => a + m.waitMs, 0);
  return { ranks, intervals, makespanMs, hiddenPullFraction: pull > 0 ? Math.min(1, Math.max(0, 1 - wait / pull)) : 1 };
}
