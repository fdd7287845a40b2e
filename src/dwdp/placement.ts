// DWDP expert placement: which routed experts each rank of a group holds, and from which
// peer it pulls the others.
//
// A group of N ranks shares E routed experts per MoE layer. Every rank permanently holds L
// of them and pulls P from each of its N−1 peers, so E = L + (N−1)·P. Rank r owns the
// contiguous range [r·P, r·P + L). Because (N−1)·P + L = E, rank N−1's range ends exactly at
// E: the ranges never wrap, rank 0 starts at 0, and their union is [0, E). When L > P
// neighbouring ranks hold overlapping copies (this is what lets N not divide E).
//
// Owner rule (who serves a pull). Rank r's remote experts are [0, r·P) ∪ [r·P+L, E). For each
// one, r pulls from its NEAREST owner on that side:
//   e ≥ r·P+L  (above r's range): the lowest owning rank above r,  q = ⌊(e−L)/P⌋ + 1,
//   e <  r·P   (below r's range): the highest owning rank below r, q = ⌊e/P⌋.
// So a peer above r serves the LAST P experts of its range and a peer below r serves the
// FIRST P; every peer serves exactly P experts to every puller, which keeps the copy engines'
// load even (each source sends (N−1)·P experts per layer, each destination receives (N−1)·P).
//
// Default choice for (E, N): the paper's minimal-memory one. A rank stores L experts of every
// MoE layer but only two layers' worth of prefetch slots, so resident memory dominates and
// the smallest valid L wins: P = ⌊E/N⌋ (the largest P with L ≥ P), L = E − (N−1)·P, which
// gives P ≤ L < P + N. E=256, N=4: L=P=64; E=256, N=3: L=86, P=85.
//
// Pure module (runs in the browser): no I/O, no GPU.

export interface PlacementSpec {
  /** E: routed experts per MoE layer. */
  experts: number;
  /** N: ranks in the DWDP group. */
  groupSize: number;
  /** L: experts each rank holds permanently. */
  local: number;
  /** P: experts each rank pulls from each peer. */
  pull: number;
}

/** One peer's share of a rank's remote experts. */
export interface PeerPull {
  /** The rank that serves these experts. */
  from: number;
  /** Expert ids, ascending (a contiguous range: the first or last P of the peer's range). */
  experts: number[];
}

/** Memory of one rank for the routed experts, in bytes. */
export interface PlacementMemory {
  /** L experts × bytes per expert × MoE layers. */
  residentBytes: number;
  /** Prefetch slots × (N−1)·P experts × bytes per expert. */
  prefetchBytes: number;
  /** residentBytes + prefetchBytes. */
  totalBytes: number;
  /** A full replica: E experts × bytes per expert × MoE layers. */
  replicaBytes: number;
  /** totalBytes / replicaBytes. */
  fractionOfReplica: number;
}

export class Placement implements PlacementSpec {
  readonly experts: number;
  readonly groupSize: number;
  readonly local: number;
  readonly pull: number;

  constructor(spec: PlacementSpec) {
    validatePlacement(spec);
    this.experts = spec.experts;
    this.groupSize = spec.groupSize;
    this.local = spec.local;
    this.pull = spec.pull;
  }

  /** First expert of rank r's range; the range is [start, start + L). */
  rangeStart(rank: number): number {
    this.checkRank(rank);
    return rank * this.pull;
  }

  /** Experts rank r holds permanently, ascending. */
  owned(rank: number): number[] {
    const s = this.rangeStart(rank);
    return Array.from({ length: this.local }, (_, i) => s + i);
  }

  owns(rank: number, expert: number): boolean {
    this.checkExpert(expert);
    const s = this.rangeStart(rank);
    return expert >= s && expert < s + this.local;
  }

  /** Every rank holding a copy of `expert`, ascending. */
  owners(expert: number): number[] {
    this.checkExpert(expert);
    const { pull: P, local: L, groupSize: N } = this;
    if (P === 0) return Array.from({ length: N }, (_, q) => q); // full replica everywhere
    // q·P ≤ e < q·P + L  ⇔  (e−L)/P < q ≤ e/P
    const lo = Math.max(0, Math.floor((expert - L) / P) + 1);
    const hi = Math.min(N - 1, Math.floor(expert / P));
    const out: number[] = [];
    for (let q = lo; q <= hi; q++) out.push(q);
    return out;
  }

  /**
   * The rank that `rank` reads `expert` from: itself when it holds the expert, otherwise the
   * nearest owner toward it (see the owner rule at the top of this file).
   */
  owner(expert: number, rank: number): number {
    this.checkExpert(expert);
    const s = this.rangeStart(rank);
    const { pull: P, local: L } = this;
    if (expert >= s && expert < s + L) return rank;
    return expert >= s + L ? Math.floor((expert - L) / P) + 1 : Math.floor(expert / P);
  }

  /** Rank r's (N−1)·P remote experts grouped by the peer that serves them, peers ascending. */
  remote(rank: number): PeerPull[] {
    this.checkRank(rank);
    const { pull: P, local: L, groupSize: N } = this;
    const out: PeerPull[] = [];
    if (P === 0) return out;
    for (let q = 0; q < N; q++) {
      if (q === rank) continue;
      // Below r: the first P of q's range; above r: the last P.
      const first = q < rank ? q * P : q * P + L - P;
      out.push({ from: q, experts: Array.from({ length: P }, (_, i) => first + i) });
    }
    return out;
  }

  /** Remote experts of rank r as a flat ascending list. */
  remoteExperts(rank: number): number[] {
    return this.remote(rank)
      .flatMap((p) => p.experts)
      .sort((a, b) => a - b);
  }

  /** Routed-expert memory of one rank (same for every rank). */
  memory(bytesPerExpert: number, moeLayers: number, prefetchSlots = 2): PlacementMemory {
    const residentBytes = this.local * bytesPerExpert * moeLayers;
    const prefetchBytes = prefetchSlots * (this.groupSize - 1) * this.pull * bytesPerExpert;
    const totalBytes = residentBytes + prefetchBytes;
    const replicaBytes = this.experts * bytesPerExpert * moeLayers;
    return { residentBytes, prefetchBytes, totalBytes, replicaBytes, fractionOfReplica: totalBytes / replicaBytes };
  }

  /** Bytes one rank pulls per MoE layer with the full prefetch ((N−1)·P experts). */
  pullBytesPerLayer(bytesPerExpert: number): number {
    return (this.groupSize - 1) * this.pull * bytesPerExpert;
  }

  toString(): string {
    return `E=${this.experts} N=${this.groupSize} L=${this.local} P=${this.pull}`;
  }

  private checkRank(rank: number): void {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.groupSize) {
      throw new Error(`rank ${rank} is outside the group [0, ${this.groupSize})`);
    }
  }

  private checkExpert(expert: number): void {
    if (!Number.isInteger(expert) || expert < 0 || expert >= this.experts) {
      throw new Error(`expert ${expert} is outside [0, ${this.experts})`);
    }
  }
}

/** The minimal-memory valid (L, P) for E experts on N ranks: P = ⌊E/N⌋, L = E − (N−1)·P. */
export function defaultPlacement(experts: number, groupSize: number): Placement {
  checkPositiveInt('experts (E)', experts);
  checkPositiveInt('group size (N)', groupSize);
  const pull = groupSize === 1 ? 0 : Math.floor(experts / groupSize);
  return new Placement({ experts, groupSize, local: experts - (groupSize - 1) * pull, pull });
}

/**
 * A placement from optional user choices: both given → validated as is; only L or only P →
 * the other follows from E = L + (N−1)·P; neither → defaultPlacement.
 */
export function makePlacement(experts: number, groupSize: number, local?: number, pull?: number): Placement {
  if (local === undefined && pull === undefined) return defaultPlacement(experts, groupSize);
  if (local === undefined && pull !== undefined) local = experts - (groupSize - 1) * pull;
  if (pull === undefined && local !== undefined) {
    pull = groupSize === 1 ? 0 : (experts - local) / (groupSize - 1);
  }
  return new Placement({ experts, groupSize, local: local!, pull: pull! });
}

/** Every valid (L, P) for (E, N), P descending (minimal memory first). */
export function validPlacements(experts: number, groupSize: number): PlacementSpec[] {
  checkPositiveInt('experts (E)', experts);
  checkPositiveInt('group size (N)', groupSize);
  if (groupSize === 1) return [{ experts, groupSize, local: experts, pull: 0 }];
  const out: PlacementSpec[] = [];
  for (let p = Math.floor(experts / groupSize); p >= 0; p--) {
    out.push({ experts, groupSize, local: experts - (groupSize - 1) * p, pull: p });
  }
  return out;
}

/** Throws an Error naming the problem and a valid nearby (L, P) when `spec` is not a DWDP placement. */
export function validatePlacement(spec: PlacementSpec): void {
  const { experts: E, groupSize: N, local: L, pull: P } = spec;
  checkPositiveInt('experts (E)', E);
  checkPositiveInt('group size (N)', N);
  const problems: string[] = [];
  if (!Number.isInteger(L) || L < 1) problems.push(`L=${L} must be a positive integer`);
  if (!Number.isInteger(P) || P < 0) problems.push(`P=${P} must be a non-negative integer`);
  if (problems.length === 0) {
    if (L > E) problems.push(`L=${L} exceeds E=${E}`);
    else if (N === 1 && P !== 0) problems.push(`P=${P} must be 0 in a group of one`);
    else if (N > 1 && L < P) problems.push(`L=${L} < P=${P} (a rank must hold at least what it serves each peer)`);
    if (L + (N - 1) * P !== E) problems.push(`L + (N−1)·P = ${L} + ${N - 1}·${P} = ${L + (N - 1) * P} ≠ E=${E}`);
  }
  if (problems.length > 0) throw new PlacementError(spec, problems.join('; '), nearestValid(E, N, P));
}

/** An invalid placement, as data: what is wrong and the valid (L, P) nearest to it. Shells word the suggestion. */
export class PlacementError extends Error {
  override name = 'PlacementError';
  constructor(
    readonly spec: PlacementSpec,
    /** What is wrong, e.g. "L=3 < P=4 (a rank must hold at least what it serves each peer)". */
    readonly problem: string,
    /** The valid placement for (E, N) whose P is closest to the one asked for. */
    readonly near: PlacementSpec,
  ) {
    const { experts: E, groupSize: N, local: L, pull: P } = spec;
    super(
      `invalid DWDP placement E=${E}, N=${N}, L=${L}, P=${P}: ${problem}. E=${E}, N=${N}: try L=${near.local}, P=${near.pull}`,
    );
  }
}

/** The valid placement whose P is closest to `pull` (ties → larger P, i.e. less memory). */
function nearestValid(experts: number, groupSize: number, pull: number): PlacementSpec {
  const all = validPlacements(experts, groupSize);
  const target = Number.isFinite(pull) ? pull : all[0].pull;
  let best = all[0];
  for (const c of all) if (Math.abs(c.pull - target) < Math.abs(best.pull - target)) best = c;
  return best;
}

function checkPositiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`DWDP placement: ${what} must be a positive integer, got ${v}`);
}
