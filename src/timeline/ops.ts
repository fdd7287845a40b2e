// The timeline's vocabulary: the ops a rank's program is made of, shared by the rack model
// (programs built from cost-model durations) and the emulation (programs built from kernel
// timestamps measured here). The scheduler (scheduler.ts) runs them; nothing here knows about
// hardware, kernels or strategies.

import type { ComputeCategory } from './categories.ts';

/**
 * Ids of pulls (unique within a rank's program), sends and barriers (unique across all
 * programs). Strings read well in traces; small integers are cheaper when programs are huge.
 */
export type OpId = string | number;

export interface ComputeOp {
  kind: 'compute';
  label: string;
  category: ComputeCategory;
  durationMs: number;
  layer?: number;
  /** When set, the op's end time is reported in Schedule.marks under this key. */
  mark?: string;
}
/** Asynchronous one-sided pull of `bytes` from rank `from` into this rank; `id` unique within the program. */
export interface PullOp {
  kind: 'pull';
  id: OpId;
  from: number;
  bytes: number;
  layer?: number;
  label?: string;
}
export interface WaitPullOp {
  kind: 'waitPull';
  ids: readonly OpId[];
  layer?: number;
}
/** Asynchronous send of `bytes` to rank `to`; `id` unique across all programs. */
export interface SendOp {
  kind: 'send';
  id: OpId;
  to: number;
  bytes: number;
  layer?: number;
  label?: string;
}
/** Blocks until the sends with these ids (all addressed to this rank) have landed. */
export interface WaitRecvOp {
  kind: 'waitRecv';
  ids: readonly OpId[];
  layer?: number;
}
/**
 * Every rank whose program holds this id must arrive before any of them goes on. With
 * `straggleMs` θ > 0 each participant is ready an independent Exponential(mean θ) delay after
 * its arrival, whose mean the op durations already include, and the barrier releases at the
 * expected maximum of the ready times less θ (straggle.ts, stragglerRelease); every
 * participant's program carries the same θ.
 */
export interface BarrierOp {
  kind: 'barrier';
  id: OpId;
  layer?: number;
  straggleMs?: number;
}
/** The stream does nothing before `atMs` (a request that has not arrived yet). */
export interface NotBeforeOp {
  kind: 'notBefore';
  atMs: number;
}

export type Op = ComputeOp | PullOp | WaitPullOp | SendOp | WaitRecvOp | BarrierOp | NotBeforeOp;
export type Program = readonly Op[];
