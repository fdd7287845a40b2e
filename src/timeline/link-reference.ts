// The slice-by-slice reference of the link model (src/timeline/link.ts): how a destination
// cuts and orders its pulls into slices, a slice's time under equal shares, and
// `simulateSliced`, which moves pulls one slice at a time per copy engine. Production never
// calls this file: it is the test oracle the fluid engine (`LinkFluid`) is compared against at
// small scale, where materializing ~10⁷ slices is affordable.
//
// Units: bytes, milliseconds, GB/s (1 GB/s = 10⁶ bytes/ms). Pure module: no I/O.

import {
  BYTE_EPS,
  egressBytesPerMs,
  ingressBytesPerMs,
  maxMinRates,
  pullIssueOrder,
  validateLinkSpec,
  type LinkSpec,
  type Transfer,
} from './link.ts';

/** Sizes of the slices of a `bytes` transfer: full slices then the remainder. */
export function sliceSizes(bytes: number, sliceBytes: number): number[] {
  if (bytes <= 0) return [];
  const n = Math.ceil(bytes / sliceBytes);
  const out = new Array<number>(n).fill(sliceBytes);
  out[n - 1] = bytes - (n - 1) * sliceBytes;
  return out;
}

export interface PullRequest {
  id: string;
  from: number;
  bytes: number;
}

export interface IssuedSlice {
  /** The request this slice belongs to. */
  id: string;
  from: number;
  /** Byte offset inside the request, and length. */
  offset: number;
  bytes: number;
  /** True for the request's last slice (the request is complete when it lands). */
  last: boolean;
}

/**
 * The slices `rank` submits for a batch of pull requests, in submission order.
 * Fix off: requests by ascending peer (stable), each one's slices back to back.
 * Fix on: one queue per peer (requests in the given order), peers in `pullIssueOrder`,
 * and one slice from each peer in turn until all are drained.
 */
export function issueSlices(
  rank: number,
  requests: readonly PullRequest[],
  spec: Pick<LinkSpec, 'sliceBytes' | 'contentionFix'>,
): IssuedSlice[] {
  const perPeer = new Map<number, IssuedSlice[]>();
  for (const r of requests) {
    let q = perPeer.get(r.from);
    if (!q) perPeer.set(r.from, (q = []));
    let offset = 0;
    const sizes = sliceSizes(r.bytes, spec.sliceBytes);
    sizes.forEach((b, i) => {
      q!.push({ id: r.id, from: r.from, offset, bytes: b, last: i === sizes.length - 1 });
      offset += b;
    });
  }
  const order = pullIssueOrder(rank, [...perPeer.keys()], spec.contentionFix);
  if (!spec.contentionFix) return order.flatMap((p) => perPeer.get(p)!);
  const out: IssuedSlice[] = [];
  const heads = order.map(() => 0);
  for (let left = true; left;) {
    left = false;
    order.forEach((p, k) => {
      const q = perPeer.get(p)!;
      if (heads[k] < q.length) {
        out.push(q[heads[k]++]);
        left = true;
      }
    });
  }
  return out;
}

/**
 * How long one slice takes on the wire when its source serves `sourceShare` destinations and
 * its destination receives from `destShare` sources at the same time (equal shares), plus
 * the latency when `withLatency`.
 */
export function sliceDurationMs(
  spec: LinkSpec,
  s: { from: number; to: number; bytes: number; sourceShare?: number; destShare?: number; withLatency?: boolean },
): number {
  const rate = Math.min(
    egressBytesPerMs(spec, s.from) / (s.sourceShare ?? 1),
    ingressBytesPerMs(spec, s.to) / (s.destShare ?? 1),
  );
  return s.bytes / rate + (s.withLatency ? spec.latencyUs / 1000 : 0);
}

/**
 * Completion time (ms) of every pull, slice by slice. The test oracle for LinkFluid.
 * Fix off: each source's copy engine(s) serve FIFO whole transfers; destinations issue
 * their pulls as in-order streams. Fix on: a copy engine moves one slice at a time and a
 * destination's NVLink ingress takes one slice at a time, each at the full link rate; an
 * idle engine takes the next destination in its round-robin order (starting after itself)
 * that has a slice waiting for it and a free ingress, FIFO within a destination. This
 * time-shares matchings between sources and destinations, whose long-run rates are the
 * max-min fair rates the fluid engine uses directly.
 */
export function simulateSliced(transfers: readonly Transfer[], spec: LinkSpec): number[] {
  validateLinkSpec(spec);
  const n = transfers.length;
  const fix = spec.contentionFix;
  const lat = spec.latencyUs / 1000;
  const done = new Array<number>(n).fill(NaN);
  const slices = transfers.map((t) => sliceSizes(t.bytes, spec.sliceBytes));
  const next = new Array<number>(n).fill(0); // next slice to move
  const finished = new Uint8Array(n); // all bytes moved
  // Fix off: a destination's pulls form a stream; only its head is ready.
  const readyAt = transfers.map((t, i) => (fix || streamPrev(transfers, i) < 0 ? t.submitMs : Infinity));
  const ranks = Math.max(0, ...transfers.flatMap((t) => [t.src, t.dst])) + 1;
  const lastDst = Array.from({ length: ranks }, (_, s) => s);
  interface Moving {
    i: number;
    remaining: number;
    rate: number;
  }
  const engines: Moving[][] = Array.from({ length: ranks }, () => []);
  const portBusy = new Uint8Array(ranks);
  const landing: { i: number; at: number }[] = [];
  const owned = new Uint8Array(n); // fix off: transfer held by an engine until its last slice
  let now = 0;
  const waiting = (i: number) => !finished[i] && readyAt[i] <= now && !owned[i];
  const land = (i: number) => {
    finished[i] = 1;
    landing.push({ i, at: now + lat });
  };
  const lastSrc = Array.from({ length: ranks }, (_, d) => d);
  const after = (x: number, last: number) => (x - last - 1 + ranks) % ranks;
  // Fix on: pair idle engines with free ingresses, round-robin on both sides (each free
  // destination offers itself to the next idle source in its turn; a source offered several
  // takes the next destination in its own turn), until no pair is left.
  const matchSlices = () => {
    // A zero-byte pull lands as soon as it heads its (source, destination) queue.
    for (let i = 0; i < n; i++) {
      if (!waiting(i) || slices[i].length > 0) continue;
      let head = true;
      for (let j = 0; j < i && head; j++)
        if (transfers[j].src === transfers[i].src && transfers[j].dst === transfers[i].dst && !finished[j])
          head = false;
      if (head) land(i);
    }
    for (;;) {
      const offers = new Map<number, number>(); // source → destination it takes
      for (let d = 0; d < ranks; d++) {
        if (portBusy[d]) continue;
        let src = -1;
        for (let i = 0; i < n; i++) {
          const t = transfers[i];
          if (t.dst !== d || !waiting(i) || engines[t.src].length > 0) continue;
          if (src < 0 || after(t.src, lastSrc[d]) < after(src, lastSrc[d])) src = t.src;
        }
        if (src < 0) continue;
        const prev = offers.get(src);
        if (prev === undefined || after(d, lastDst[src]) < after(prev, lastDst[src])) offers.set(src, d);
      }
      if (offers.size === 0) return;
      for (const [src, d] of offers) {
        let pick = -1;
        for (let i = 0; i < n && pick < 0; i++)
          if (transfers[i].src === src && transfers[i].dst === d && waiting(i)) pick = i;
        portBusy[d] = 1;
        lastDst[src] = d;
        lastSrc[d] = src;
        owned[pick] = 1;
        engines[src].push({ i: pick, remaining: slices[pick][next[pick]], rate: 0 });
      }
    }
  };

  for (let guard = 0; guard < 50_000_000; guard++) {
    // Start work on idle engines.
    if (fix) matchSlices();
    else {
      for (let s = 0; s < ranks; s++) {
        while (engines[s].length < spec.copyEngines) {
          let pick = -1;
          for (let i = 0; i < n; i++) {
            if (transfers[i].src !== s || !waiting(i)) continue;
            if (pick < 0 || readyAt[i] < readyAt[pick]) pick = i;
          }
          if (pick < 0) break;
          if (slices[pick].length === 0) {
            land(pick);
            continue;
          }
          owned[pick] = 1;
          engines[s].push({ i: pick, remaining: slices[pick][next[pick]], rate: 0 });
        }
      }
    }
    const moving = engines.flat();
    const rates = maxMinRates(
      moving.map((m) => transfers[m.i]),
      (r) => egressBytesPerMs(spec, r),
      (r) => ingressBytesPerMs(spec, r),
    );
    moving.forEach((m, k) => (m.rate = rates[k]));
    let tNext = Infinity;
    for (const m of moving) tNext = Math.min(tNext, now + m.remaining / m.rate);
    for (const l of landing) tNext = Math.min(tNext, l.at);
    for (let i = 0; i < n; i++)
      if (!finished[i] && readyAt[i] > now && readyAt[i] < Infinity) tNext = Math.min(tNext, readyAt[i]);
    if (tNext === Infinity) break;
    for (const m of moving) m.remaining -= m.rate * (tNext - now);
    now = tNext;
    for (let s = 0; s < ranks; s++) {
      engines[s] = engines[s].filter((m) => {
        if (m.remaining > BYTE_EPS && m.remaining / m.rate > 1e-12 * Math.max(1, now)) return true;
        const i = m.i;
        next[i]++;
        if (next[i] === slices[i].length) {
          owned[i] = 0;
          land(i);
        } else if (!fix) {
          m.remaining = slices[i][next[i]]; // the engine keeps the whole transfer
          return true;
        } else owned[i] = 0; // back to the round-robin
        if (fix) portBusy[transfers[i].dst] = 0;
        return false;
      });
    }
    for (let k = 0; k < landing.length;) {
      const l = landing[k];
      if (l.at > now) {
        k++;
        continue;
      }
      landing.splice(k, 1);
      done[l.i] = l.at;
      const nxt = fix ? -1 : streamNext(transfers, l.i);
      if (nxt >= 0) readyAt[nxt] = Math.max(transfers[nxt].submitMs, l.at);
    }
  }
  return done;
}

function streamPrev(ts: readonly Transfer[], i: number): number {
  for (let j = i - 1; j >= 0; j--) if (ts[j].dst === ts[i].dst) return j;
  return -1;
}

function streamNext(ts: readonly Transfer[], i: number): number {
  for (let j = i + 1; j < ts.length; j++) if (ts[j].dst === ts[i].dst) return j;
  return -1;
}
