// What a group run takes and what it gives back: the contract between the strategies and
// their shells (CLI, benchmark page, benches). Plain data; no GPU types.
import type { RankMode } from '../dwdp/transport.ts';
import type { Interval, RankMetrics } from '../timeline/scheduler.ts';
import type { Provenance } from '../timeline/provenance.ts';

export type StrategyName = 'dp' | 'dep' | 'dwdp';
export const STRATEGIES: readonly StrategyName[] = ['dp', 'dep', 'dwdp'];

/**
 * wall: ranks really run concurrently and copies are really paced by the link model;
 * virtual: kernels run for real, their GPU-timestamp durations and the link model feed
 * the event scheduler, which computes every rank's timeline deterministically.
 */
export type ClockMode = 'wall' | 'virtual';
export const CLOCKS: readonly ClockMode[] = ['wall', 'virtual'];

export interface DwdpOptions {
  /** L: experts held per rank (default: minimal-memory placement). */
  local?: number;
  /** P: experts pulled from each peer. */
  pull?: number;
  /** Prefetch all (N−1)·P remote experts into ping-pong slots (true), or pull routed ones after routing. */
  prefetch: boolean;
  /** Prefetch slots (2 = ping-pong, as in the paper). */
  prefetchDepth: number;
  /** The grouped GEMM reads the resident shard and each peer's buffer in place (true) or a merged copy. */
  splitWeights: boolean;
}

export interface LinkOptions {
  /** Per-rank egress and ingress bandwidth, GB/s (before time dilation). */
  gbps: number;
  latencyUs: number;
  /**
   * Slice pulls (2 MiB) and interleave them round-robin across peers. The link model treats
   * the interleaving as continuous sharing of the source's bandwidth (the limit of fine
   * slices; docs/rack-model.md gives its error against slice-by-slice), so there is no slice size to set.
   */
  contentionFix: boolean;
}

/**
 * Time dilation: scale the link by (this device's measured GEMM rate ÷ the profile's), so
 * compute-to-transfer ratios match the modeled hardware. Off when undefined.
 */
export interface TimeDilation {
  /** Hardware profile id (src/hardware/profiles.ts), e.g. 'gb200-nvl72'. */
  profile: string;
  /**
   * This device's grouped-GEMM rate, GFLOP/s, if already measured (say by the first run of a
   * comparison, so every strategy sees the same link); measured at the start of the run when absent.
   */
  deviceGflops?: number;
}

export interface GroupRunOptions {
  /** Model preset name or parsed config (see src/model). */
  model: string | import('../model/config.ts').MoeConfig;
  format: import('../model/formats.ts').WeightFormat;
  seed: number;
  strategy: StrategyName;
  ranks: number;
  rankMode: RankMode;
  layers: number;
  /** Mean tokens per rank. */
  tokensPerRank: number;
  requestsPerRank: number;
  /** Coefficient of variation of request input lengths. */
  lengthCv: number;
  /** Zipf exponent of hot experts (0: the router's own preferences only). */
  routingSkew: number;
  dwdp: DwdpOptions;
  link: LinkOptions;
  clock: ClockMode;
  timeDilation?: TimeDilation;
  /** Attention stand-in shape (heads × headDim); cost grows with Σ len². */
  attention: { heads: number; headDim: number };
  /** Grouped-GEMM tile variant; default best known for the adapter. */
  variant?: string;
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
  /** Where the times come from, as data (badges and provenance lines are derived from it). */
  provenance: Provenance;
  /** The same in words, for printing: timeSourceText(provenance), adapterText(provenance). */
  timeSource: string;
  adapter: string;
}

/** Progress callbacks from a run (for the page and the CLI). */
export interface RunProgress {
  phase: 'setup' | 'run' | 'schedule' | 'done';
  rank?: number;
  layer?: number;
  message: string;
}
