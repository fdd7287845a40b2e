// One step plan per strategy: the typed, ordered steps of one MoE layer on one rank, read by
// two interpreters — the emulated rank loops (src/strategies/dp.ts, dep.ts, dwdp.ts: each step
// encodes real kernels or moves real bytes) and the rack model (src/sim/programs.ts: each step
// becomes ops with cost-model durations). Neither interpreter decides an order of its own;
// a test compares the op sequences both produce for every strategy and option.
//
// The order, and why:
//   DP    attention → router → shared expert → grouped GEMM → combine.
//   DWDP  attention → router → shared expert → wait for pull → [merge] → grouped GEMM →
//         issue pull → combine.
//         The paper's pipeline: the pull of layer l+1 hides behind MoE(l) and attention(l+1).
//         Router and shared expert need no remote weights, so they run before the wait and
//         hide the pull too; only the grouped GEMM (and the merge that feeds it, split weights
//         off) needs the slot, so it alone waits for it (read-after-write). The next pull into
//         that slot is issued as soon as the GEMM has consumed it (write-after-read) — not
//         after combine, which reads no expert weights — so it starts as early as it safely can.
//         Without prefetch (routing known first): router → pull the routed remote experts →
//         wait → … (nothing hides that pull).
//   DEP   attention → router → dispatch (barrier, pack, send) → wait for dispatch → grouped
//         GEMM → return (send) → shared expert → wait for return → combine.
//         The dispatch is the group's barrier (an all-to-all is a collective: the routed counts
//         every owner needs are exchanged there). The shared expert needs only the rank's own
//         tokens, so it runs while the return all-to-all is in flight (DeepSeek-V3 overlaps
//         it with communication) instead of before the barrier, where it would only shift
//         the wait.
//
// The prefetch ring (PrefetchRing below) owns the slots: a layer's slot, which layers are
// pulled at step start, and which layer is issued when a layer releases its slot. It guards
// both hazards of the ping-pong buffers where they arise: read-after-write (the GEMM of layer
// l reads slot l % depth only after the pull of l was issued and waited for) and
// write-after-read (the pull of l + depth is issued into that slot only after layer l
// released it).

/** One step of a layer. */
export type PlanStep =
  | 'attention'
  | 'router'
  | 'sharedExpert'
  /** DWDP, no prefetch: read the routing, pull the distinct routed remote experts of this layer. */
  | 'pullRouted'
  /** DWDP: wait until this layer's pulls have landed (read-after-write on its slot). */
  | 'waitPull'
  /** DWDP, split weights off: copy the resident shard and the slot into one contiguous buffer. */
  | 'merge'
  | 'groupedGemm'
  /** DWDP, prefetch: this layer released its slot; issue the pull of the layer that reuses it. */
  | 'issuePull'
  /** DEP: meet the group at the barrier, pack the rows by owner, send each owner its rows. */
  | 'dispatch'
  | 'waitDispatch'
  /** DEP: send every source its rows' expert outputs back. */
  | 'return'
  | 'waitReturn'
  | 'combine';

export type PlanStrategy = 'dp' | 'dep' | 'dwdp';

export interface PlanOptions {
  /** DWDP: prefetch into ping-pong slots (true) or pull the routed experts after routing. */
  prefetch: boolean;
  /** DWDP: the grouped GEMM reads the slot in place (true) or a merged copy. */
  splitWeights: boolean;
  /** DWDP: there is something to pull (false with a full replica, e.g. DP as DWDP with P = 0). */
  pulls: boolean;
  /** DEP: more than one rank (a single rank has no all-to-all). */
  exchange: boolean;
}

/** The steps of one MoE layer, in order. */
export function layerPlan(strategy: PlanStrategy, o: PlanOptions): readonly PlanStep[] {
  switch (strategy) {
    case 'dp':
      return ['attention', 'router', 'sharedExpert', 'groupedGemm', 'combine'];
    case 'dep':
      return o.exchange
        ? [
            'attention',
            'router',
            'dispatch',
            'waitDispatch',
            'groupedGemm',
            'return',
            'sharedExpert',
            'waitReturn',
            'combine',
          ]
        : ['attention', 'router', 'sharedExpert', 'groupedGemm', 'combine'];
    case 'dwdp': {
      const merge: PlanStep[] = o.splitWeights ? [] : ['merge'];
      if (!o.pulls) return ['attention', 'router', 'sharedExpert', ...merge, 'groupedGemm', 'combine'];
      if (!o.prefetch)
        return ['attention', 'router', 'sharedExpert', 'pullRouted', 'waitPull', ...merge, 'groupedGemm', 'combine'];
      return ['attention', 'router', 'sharedExpert', 'waitPull', ...merge, 'groupedGemm', 'issuePull', 'combine'];
    }
  }
}

/**
 * The ping-pong prefetch of one rank over `layers` MoE layers (indices 0 … layers−1) with
 * `depth` slots: layer l lives in slot l % depth. At step start the first `depth` layers are
 * issued; when layer l releases its slot, layer l + depth is issued into it. The methods
 * check the order they are called in and throw on a hazard, so an interpreter that strays
 * from the plan fails loudly instead of reading a slot being overwritten.
 */
export class PrefetchRing {
  private readonly state: ('pending' | 'issued' | 'read' | 'done')[];
  /** Which layer each slot holds (−1: none yet). */
  private readonly holder: number[];

  constructor(
    readonly layers: number,
    readonly depth: number,
  ) {
    if (!(Number.isInteger(layers) && layers >= 0))
      throw new Error(`prefetch: layers must be an integer ≥ 0, got ${layers}`);
    if (!(Number.isInteger(depth) && depth >= 1))
      throw new Error(`prefetch: depth must be an integer ≥ 1 (2 = ping-pong), got ${depth}`);
    this.state = Array.from({ length: layers }, () => 'pending');
    this.holder = Array.from({ length: depth }, () => -1);
  }

  slotOf(layer: number): number {
    this.check(layer);
    return layer % this.depth;
  }

  /** The layers pulled at step start: the first `depth`. */
  prologue(): number[] {
    return Array.from({ length: Math.min(this.depth, this.layers) }, (_, l) => l);
  }

  /**
   * Issue the pull of `layer` into its slot. Write-after-read guard: the slot's previous
   * layer (layer − depth) must have released it, or its GEMM could still be reading it.
   */
  issue(layer: number): number {
    const slot = this.slotOf(layer);
    const prev = this.holder[slot];
    if (this.state[layer] !== 'pending') throw new Error(`prefetch: layer ${layer} issued twice`);
    if (prev >= 0 && this.state[prev] !== 'done')
      throw new Error(
        `prefetch: write-after-read hazard: layer ${layer} issued into slot ${slot} before layer ${prev} released it`,
      );
    this.state[layer] = 'issued';
    this.holder[slot] = layer;
    return slot;
  }

  /** Read-after-write guard: `layer`'s slot is read only after its pull was issued (and waited for). */
  read(layer: number): number {
    const slot = this.slotOf(layer);
    if (this.state[layer] !== 'issued' || this.holder[slot] !== layer)
      throw new Error(`prefetch: read-after-write hazard: layer ${layer} read slot ${slot} before its pull was issued`);
    this.state[layer] = 'read';
    return slot;
  }

  /** `layer` is done with its slot; returns the layer to issue into it next, if any. */
  release(layer: number): number | null {
    this.slotOf(layer);
    if (this.state[layer] !== 'read') throw new Error(`prefetch: layer ${layer} released a slot it never read`);
    this.state[layer] = 'done';
    const next = layer + this.depth;
    return next < this.layers ? next : null;
  }

  private check(layer: number): void {
    if (!(Number.isInteger(layer) && layer >= 0 && layer < this.layers))
      throw new Error(`prefetch: layer ${layer} outside 0 … ${this.layers - 1}`);
  }
}
