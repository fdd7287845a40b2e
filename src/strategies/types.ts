// What a group run takes and what it gives back: the contract between the strategies and
// their shells (CLI, benchmark page, benches). Plain data; no GPU types.
import type { Interval, RankMetrics } from '../timeline/scheduler.ts';
import type { Provenance } from '../timeline/provenance.ts';
import type { KernelChoice } from '../tuning/tuning-cache.ts';

// The options themselves are declared with their limits in src/options/group.ts.
export { CLOCKS, RANK_MODES, STRATEGIES } from '../options/group.ts';
export type {
  ClockMode,
  DwdpOptions,
  GroupRunOptions,
  LinkOptions,
  RankMode,
  StrategyName,
  TimeDilation,
} from '../options/group.ts';
import type { ClockMode, RankMode, StrategyName } from '../options/group.ts';

/** A scale-model factor: a plain number and the reason for it. */
export interface ScaleFactor {
  value: number;
  why: string;
}

/** What a scaled run stands for and how it was scaled (every factor modeled; the durations it scales measured here). */
export interface SimilarityReport {
  target: { model: string; profile: string };
  /** The target workload in target tokens (the rack model's isl, cv, batch, group size, seed and its per-rank draw). */
  workload: { isl: number; cv: number; batch: number; groupSize: number; seed: number; lengths: number[][] };
  /** Target tokens per emulated token. */
  tokenScale: number;
  /** σ: emulated ms per target ms (grouped GEMM measured here ÷ modeled). */
  timeScale: number;
  link: ScaleFactor;
  activations: ScaleFactor;
  /** Dilation of measured compute per category (attention, router, combine, …). */
  categories: Record<string, ScaleFactor>;
  /**
   * The target's copy interference s (modeled: the profile's calibrated value), and whether the
   * run's timeline applied it (the virtual clock does; the wall clock cannot).
   */
  copyInterference: ScaleFactor & { applied: boolean };
  layers: { measured: number; scheduledAs: number; why: string };
  /** The factors in words, one per line ("link ×…: why"). */
  lines: string[];
  /** The rack-model parameters of the target (a scenario's base for npm run sim). */
  params: import('../similarity/scale-model.ts').CounterpartParams;
}

/** A rank's time accounting (from the scheduler or the wall clock) plus what it ran and held. */
export interface RankReport extends RankMetrics {
  tokens: number;
  requestLengths: number[];
  residentWeightBytes: number;
  prefetchBufferBytes: number;
}

export interface GroupRunResult {
  strategy: StrategyName;
  clock: ClockMode;
  rankMode: RankMode;
  ranks: RankReport[];
  makespanMs: number;
  tpsPerGpu: number;
  tpsPerUser: number;
  hiddenPullFraction: number;
  /** Per-rank timeline: lane 'compute' (ops, waits, barriers) and lane 'copy' (its copy engine). */
  intervals: Interval[];
  /** Routed-expert bytes of a full replica per rank (for the memory comparison). */
  replicaWeightBytes: number;
  bytesPerExpert: number;
  placement?: { local: number; pull: number };
  /** The link as applied (after time dilation). */
  link: {
    gbps: number;
    latencyUs: number;
    contentionFix: boolean;
    /** measuredInRun: the GEMM rate was measured at the start of this run (else it was given). */
    dilation?: { profile: string; factor: number; deviceGflops: number; profileGflops: number; measuredInRun: boolean };
  };
  /** The scale model the run followed (time dilation with a target), else undefined. */
  similarity?: SimilarityReport;
  /**
   * DEP runs: per layer, per expert, the group's routed slots (the router's counts the ranks read
   * back and exchange before the dispatch). The counterpart's expertLoads come from them.
   */
  routedSlots?: number[][];
  /** Where the times come from, as data (badges and provenance lines are derived from it). */
  provenance: Provenance;
  /** The same in words, for printing: timeSourceText(provenance), adapterText(provenance). */
  timeSource: string;
  adapter: string;
  /** Measured runs: the router's and grouped GEMM's configurations, one entry per kernel and distinct choice with the ranks that ran it. */
  kernelVariants?: (KernelChoice & { ranks: number[] })[];
}

/** Progress callbacks from a run (for the page and the CLI). */
export interface RunProgress {
  phase: 'setup' | 'run' | 'schedule' | 'done';
  rank?: number;
  layer?: number;
  message: string;
}
