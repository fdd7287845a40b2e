// The fluid link engine as it was before its speed-up (src/timeline/link.ts), frozen: the
// oracle of test/link.test.ts (the engine today gives the same completions, pull-busy times,
// copy activity and copy-engine pieces on any transfer set, since max-min fair rates are a
// function of the set of moving transfers however they are computed) and the "before" column
// of `npm run bench:sim -- --page`. Production never imports it. It recomputes max-min rates
// over every served transfer at every event (landings included), splits every source's time
// into pieces at every step, and scans every transfer for a rank's copy activity.
import {
  egressBytesPerMs,
  ingressBytesPerMs,
  validateLinkSpec,
  type EnginePiece,
  type LinkSpec,
  type TransferKind,
} from './link.ts';

// Reused buffers of maxMinRates (it runs at every change of the moving set).
let scratch = {
  out: new Int32Array(64),
  inn: new Int32Array(64),
  fixed: new Uint8Array(64),
  /** Flows by capacity (CSR): the flows of capacity k are byKey[at[k] … at[k + 1]), ascending. */
  byKey: new Int32Array(128),
};
/** Capacity key → its index in this call's list, valid where keyCall[key] is this call's number. */
let keySlot = new Int32Array(256);
let keyCall = new Int32Array(256);
let call = 0;

export function previousMaxMinRates(
  flows: readonly { src: number; dst: number }[],
  egress: (rank: number) => number,
  ingress: (rank: number) => number,
  out_?: Float64Array,
): Float64Array {
  const n = flows.length;
  const rate = out_ ?? new Float64Array(n);
  if (n === 0) return rate;
  // Capacities as a list in first-use order: key 2·rank egress, 2·rank+1 ingress.
  // (Plain loops, no closures: this runs at every change of the set of moving transfers.)
  const keys: number[] = [];
  const cap: number[] = [];
  const cnt: number[] = [];
  if (scratch.out.length < n)
    scratch = {
      out: new Int32Array(2 * n),
      inn: new Int32Array(2 * n),
      fixed: new Uint8Array(2 * n),
      byKey: new Int32Array(4 * n),
    };
  const { out, inn, fixed, byKey } = scratch;
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
      ko = keySlot[eo] = keys.push(eo) - 1;
      keyCall[eo] = call;
      cap.push(egress(f.src));
      cnt.push(0);
    }
    let ki = keyCall[ei] === call ? keySlot[ei] : -1;
    if (ki < 0) {
      ki = keySlot[ei] = keys.push(ei) - 1;
      keyCall[ei] = call;
      cap.push(ingress(f.dst));
      cnt.push(0);
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
  const K = keys.length;
  const at = new Int32Array(K + 1);
  for (let k = 0; k < K; k++) at[k + 1] = at[k] + cnt[k];
  const fill = at.slice(0, K);
  for (let i = 0; i < n; i++) {
    byKey[fill[out[i]]++] = i;
    byKey[fill[inn[i]]++] = i;
  }
  fixed.fill(0, 0, n);
  for (let left = n; left > 0;) {
    let best = -1;
    let share = Infinity;
    for (let k = 0; k < K; k++) {
      if (cnt[k] === 0) continue;
      const s = cap[k] / cnt[k];
      if (s < share) {
        share = s;
        best = k;
      }
    }
    for (let j = at[best]; j < at[best + 1]; j++) {
      const i = byKey[j];
      if (fixed[i]) continue;
      fixed[i] = 1;
      left--;
      rate[i] = share;
      cap[out[i]] = Math.max(0, cap[out[i]] - share);
      cnt[out[i]]--;
      cap[inn[i]] = Math.max(0, cap[inn[i]] - share);
      cnt[inn[i]]--;
    }
  }
  return rate;
}

// ---------------------------------------------------------------------------------------
// The fluid engine (used by the scheduler)

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
}

// Bytes below this are rounding noise (rates × times in doubles), not data.
const BYTE_EPS = 1e-3;

/**
 * Transfers in continuous time. The caller submits transfers at the engine's current time,
 * asks when the next completion is, and advances time; completions come back as the keys it
 * gave. Deterministic: ties are broken by submission order.
 */
export class PreviousLinkFluid {
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
  /** All bytes moved; lands at deliveredMs + latency. */
  private landing: Flow[] = [];
  private readonly active: Flow[] = [];
  /** allocate()'s scratch: fix on, (src, dst) pairs already served; fix off, engines in use per source. */
  private readonly taken = new Map<number, number>();
  private rates = new Float64Array(64);
  private readonly seen: number[] = [];
  private readonly done: number[] = [];
  private readonly landed: Flow[] = [];
  private readonly pullBusy: number[] = [];
  private readonly latencyMs: number;
  private readonly egress: (r: number) => number;
  private readonly ingress: (r: number) => number;

  constructor(
    readonly spec: LinkSpec,
    private readonly onPiece?: (p: EnginePiece) => void,
  ) {
    validateLinkSpec(spec);
    this.latencyMs = spec.latencyUs / 1000;
    this.egress = (r) => egressBytesPerMs(spec, r);
    this.ingress = (r) => ingressBytesPerMs(spec, r);
  }

  get timeMs(): number {
    return this.now;
  }

  /** Wall time during which at least one pull into `rank` was moving bytes. */
  pullBusyMs(rank: number): number {
    return this.pullBusy[rank] ?? 0;
  }

  /** True while a pull into or out of `rank` moves bytes (its copy engine or its ingress is busy with one). */
  pullActive(rank: number): boolean {
    this.allocate();
    for (const f of this.active) if (f.kind === 'pull' && f.rate > 0 && (f.src === rank || f.dst === rank)) return true;
    return false;
  }

  /** True while some transfer is queued, moving or landing. */
  get busy(): boolean {
    return this.ready.length > 0 || this.landing.length > 0 || this.streams.size > 0;
  }

  /** Submit a transfer now. `key` is the caller's handle, returned on completion. */
  submit(key: number, kind: TransferKind, src: number, dst: number, bytes: number): void {
    if (!(bytes >= 0) || !Number.isFinite(bytes))
      throw new Error(`link model: transfer ${key} has invalid size ${bytes}`);
    if (src === dst) throw new Error(`link model: transfer ${key} from rank ${src} to itself`);
    this.egress(src);
    this.ingress(dst);
    const f: Flow = {
      key,
      kind,
      src,
      dst,
      bytes,
      remaining: bytes,
      seq: this.seq++,
      readyMs: Infinity,
      rate: 0,
      deliveredMs: Infinity,
      served: false,
    };
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
    for (const f of this.active) if (f.rate > 0) t = Math.min(t, this.now + f.remaining / f.rate);
    for (const f of this.landing) t = Math.min(t, f.deliveredMs + this.latencyMs);
    this.next = t;
    this.nextValid = true;
    return t;
  }

  /**
   * Move time forward to `t`; returns the keys of transfers that completed (landed) on the way,
   * in order. The array is reused: read it before the next call.
   */
  advanceTo(t: number): readonly number[] {
    if (t < this.now) throw new Error(`link model: time goes backwards (${t} < ${this.now})`);
    const done = this.done;
    done.length = 0;
    for (;;) {
      const next = this.nextEventMs();
      if (t < next) {
        // Nothing completes before t: bytes just move.
        if (t > this.now) this.flow(t);
        this.now = t;
        return done;
      }
      if (next > this.now) this.flow(next);
      this.now = next;
      this.settle(done);
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

  /** Which ready flows are being served, and at what rates. */
  private allocate(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.nextValid = false; // new rates: the cached next event is stale
    const act = this.active;
    act.length = 0;
    const fix = this.spec.contentionFix;
    const engines = this.spec.copyEngines;
    // fix off: engines taken at each source; fix on: (src, dst) pairs whose head is chosen.
    const taken = this.taken;
    taken.clear();
    for (const f of this.ready) {
      f.rate = 0;
      f.served = false;
      if (f.kind === 'send') act.push(f);
      else if (fix) {
        const k = f.src * 65536 + f.dst;
        if (!taken.has(k)) {
          taken.set(k, 1);
          act.push(f);
        }
      } else {
        const used = taken.get(f.src) ?? 0;
        if (used < engines) {
          taken.set(f.src, used + 1);
          act.push(f);
        }
      }
    }
    if (this.rates.length < act.length) this.rates = new Float64Array(2 * act.length);
    const rates = previousMaxMinRates(act, this.egress, this.ingress, this.rates);
    for (let i = 0; i < act.length; i++) {
      act[i].rate = rates[i];
      act[i].served = true;
    }
  }

  /** Bytes move from now to te at the current rates. */
  private flow(te: number): void {
    this.allocate();
    const dt = te - this.now;
    // Pull time counts once per destination however many of its pulls move (the list is short).
    const seen = this.seen;
    seen.length = 0;
    for (const f of this.active) {
      if (f.rate <= 0) continue;
      f.remaining -= f.rate * dt;
      if (f.kind !== 'pull' || seen.includes(f.dst)) continue;
      seen.push(f.dst);
      this.pullBusy[f.dst] = (this.pullBusy[f.dst] ?? 0) + dt;
    }
    if (this.onPiece) this.pieces(te, dt);
  }

  /**
   * The source's engine time in [now, te) is split among its transfers in proportion to their
   * rates: the time-multiplexed picture that round-robin slicing really draws.
   */
  private pieces(te: number, dt: number): void {
    const bySrc = new Map<number, Flow[]>();
    for (const f of this.active) if (f.rate > 0) (bySrc.get(f.src) ?? bySrc.set(f.src, []).get(f.src)!).push(f);
    for (const [src, fs] of bySrc) {
      const total = fs.reduce((s, f) => s + f.rate, 0);
      let t0 = this.now;
      fs.forEach((f, i) => {
        const t1 = i === fs.length - 1 ? te : t0 + (dt * f.rate) / total;
        this.onPiece!({ key: f.key, src, dst: f.dst, kind: f.kind, startMs: t0, endMs: t1, bytes: f.rate * dt });
        t0 = t1;
      });
    }
  }

  /** Deliveries and landings at the current time. */
  private settle(done: number[]): void {
    this.nextValid = false;
    for (let changed = true; changed;) {
      changed = false;
      this.allocate();
      // Only a served transfer can finish (a zero-byte one queued behind others waits its
      // turn). One whose completion defines this event is done; so is a rounding crumb.
      let w = 0;
      for (const f of this.ready) {
        if (
          f.served &&
          (f.remaining <= BYTE_EPS || (f.rate > 0 && f.remaining / f.rate <= 1e-12 * Math.max(1, this.now)))
        ) {
          f.remaining = 0;
          f.deliveredMs = this.now;
          this.landing.push(f);
          this.dirty = true;
          changed = true;
        } else this.ready[w++] = f;
      }
      this.ready.length = w;
      const landed = this.landed;
      landed.length = 0;
      w = 0;
      for (const f of this.landing) {
        if (f.deliveredMs + this.latencyMs <= this.now) landed.push(f);
        else this.landing[w++] = f;
      }
      this.landing.length = w;
      if (landed.length === 0) continue;
      this.dirty = true;
      landed.sort((a, b) => a.seq - b.seq);
      for (const f of landed) {
        done.push(f.key);
        if (f.kind === 'pull' && !this.spec.contentionFix) {
          this.streamBusy.delete(f.dst);
          this.pumpStream(f.dst);
        }
      }
      changed = true;
    }
  }
}
