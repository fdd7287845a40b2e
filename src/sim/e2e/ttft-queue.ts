// TTFT of a disaggregated deployment by discrete-event simulation of the benchmark itself: a
// closed loop of `concurrency` clients sending `requests` requests in all (the reproduction's
// benchmark: concurrency = generation batch × GPUs, 20,000 prompts), each request
//
//   arrives → the router assigns it round-robin to a context worker (a DEP server of
//   `gpusPerWorker` GPUs, or one DWDP GPU) → waits in that worker's queue → joins the worker's
//   next step, which takes what is queued up to the caps (`capPerGpu` requests per GPU) →
//   the step ends (its first token) → KV transfer (`kvTransferMs`) → the generation pool
//   admits it at its next step boundary (in-flight batching; `genSlots` requests at most) →
//   it decodes until it has OSL − 1 more tokens → its client sends the next request at once.
//
// TTFT = end of its context step − arrival + KV transfer. The median is over every request of
// the run, the first burst (all clients sending at t = 0) included, as the benchmark reports it.
// The run also reports the benchmark's TPS/user: the mean over requests of OSL ÷ (the end of the
// decode step that gives the request its last token − its arrival).
//
// Step times come from the models the fluid operating point uses (rate-match.ts): a context
// step with b requests on its busiest GPU (b = ⌈n / gpusPerWorker⌉: attention DP places the n
// requests of a DEP server's step evenly, and DEP steps together) takes ctxStepMs(b) × the
// batch's mean length ÷ the mean length (prefill time taken as linear in tokens); a decode step
// with n requests in the pool takes genStepMs(n / genGpus).
//
// Randomness (seeded): input lengths uniform in [lo, hi], and each request's decode steps. With
// m drafts, draft i accepted with probability α_i given the drafts before it, a step accepts
// 1 + K tokens, K the run of accepted drafts (P(K ≥ i) = α_1·…·α_i, i ≤ m); the steps to reach OSL − 1 tokens are drawn from the normal law
// renewal theory gives for their count (mean (OSL − 1)/μ, variance (OSL − 1)·σ²/μ³, μ and σ² the
// per-step token mean and variance), rounded, at least 1.
//
// Pure: the same input and seed give the same result.

import { Rng } from '../../util/random.ts';
import { draftAcceptance } from './generation.ts';

export interface TtftSimInput {
  /** Clients of the closed loop (requests in the system). */
  concurrency: number;
  /** Requests sent in all (the horizon). */
  requests: number;
  seed: number;
  /** Context workers the router cycles through, GPUs per worker and requests per GPU and step. */
  workers: number;
  gpusPerWorker: number;
  capPerGpu: number;
  /** Context step time (ms) with b requests on the busiest GPU, at the mean input length. */
  ctxStepMs: (b: number) => number;
  /** Input lengths uniform in [lengthLo, lengthHi]; their mean scales ctxStepMs. */
  lengthLo: number;
  lengthHi: number;
  kvTransferMs: number;
  genGpus: number;
  /** Requests the generation pool holds at most (batch × GPUs). */
  genSlots: number;
  /** Decode step time (ms) with b requests per generation GPU. */
  genStepMs: (b: number) => number;
  mtp: number;
  /** Per-draft conditional acceptance (GenerationParams.mtpAcceptance). */
  mtpAcceptance: readonly number[];
  osl: number;
}

export interface TtftStats {
  medianMs: number;
  meanMs: number;
  p90Ms: number;
  requests: number;
  /** Requests per second over the run (first arrival to last completion of a context step). */
  ctxRequestsPerS: number;
  /**
   * The benchmark's TPS/user ("User throughput" of TensorRT-LLM's benchmark_serving): the mean
   * over every request of OSL ÷ its end-to-end latency (send to last token), tokens/s.
   */
  userTps: number;
}

/**
 * Mean and variance of the tokens one request accepts per decode step (1 + K, K the run of
 * accepted drafts): P(K ≥ k) = α_1·…·α_k (draftAcceptance), P(K = k) = P(K ≥ k) − P(K ≥ k + 1)
 * for k < m, P(K = m) = P(K ≥ m).
 */
export function acceptedTokenMoments(mtp: number, alpha: readonly number[]): { mean: number; variance: number } {
  let mean = 0;
  let second = 0;
  let atLeast = 1; // P(K ≥ k)
  for (let k = 0; k <= mtp; k++) {
    const next = k < mtp ? atLeast * draftAcceptance(alpha, k + 1) : 0;
    const p = atLeast - next;
    mean += p * (1 + k);
    second += p * (1 + k) * (1 + k);
    atLeast = next;
  }
  return { mean, variance: Math.max(0, second - mean * mean) };
}

/**
 * The k-th smallest value of a (0-based; NaN-free), as a[k] after an ascending sort: Hoare's
 * selection, partially reordering `a` in place; expected linear time.
 */
export function nthSmallest(a: Float64Array, k: number): number {
  if (!(Number.isInteger(k) && k >= 0 && k < a.length))
    throw new Error(`nthSmallest: rank ${k} outside 0 … ${a.length - 1}`);
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const x = a[i];
        a[i] = a[j];
        a[j] = x;
        i++;
        j--;
      }
    }
    // Now a[lo … j] ≤ pivot ≤ a[i … hi], and every element between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** `to` (a longer array of the same kind) with `from`'s values at its start. */
function grown<A extends Float64Array | Int32Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

/**
 * A binary min-heap of events by (time, order of insertion), in typed arrays that double when
 * full (the heap is rebuilt for every simulated run; typed arrays keep its elements unboxed).
 */
class EventHeap {
  private t = new Float64Array(64);
  private seq = new Float64Array(64);
  private kind = new Int32Array(64);
  private arg = new Int32Array(64);
  private n = 0;
  private next = 0;

  get size(): number {
    return this.n;
  }

  private grow(): void {
    const m = this.t.length * 2;
    this.t = grown(this.t, new Float64Array(m));
    this.seq = grown(this.seq, new Float64Array(m));
    this.kind = grown(this.kind, new Int32Array(m));
    this.arg = grown(this.arg, new Int32Array(m));
  }

  push(time: number, kind: number, arg: number): void {
    if (this.n === this.t.length) this.grow();
    const { t, seq } = this;
    const s = this.next++;
    // Sift up with a hole: parents move down until the new event's place is found.
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!(time < t[p] || (time === t[p] && s < seq[p]))) break;
      t[i] = t[p];
      seq[i] = seq[p];
      this.kind[i] = this.kind[p];
      this.arg[i] = this.arg[p];
      i = p;
    }
    t[i] = time;
    seq[i] = s;
    this.kind[i] = kind;
    this.arg[i] = arg;
  }

  /** The kind and argument of the event pop() removed last. */
  kindOut = 0;
  argOut = 0;

  /** Removes the earliest event and returns its time (its kind and argument: kindOut, argOut; no tuple per event). */
  pop(): number {
    const { t, seq, kind, arg } = this;
    const top = t[0];
    this.kindOut = kind[0];
    this.argOut = arg[0];
    const n = --this.n;
    if (n > 0) {
      // Sift the last event down from the root with a hole.
      const lt = t[n];
      const ls = seq[n];
      const lk = kind[n];
      const la = arg[n];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (t[r] < t[l] || (t[r] === t[l] && seq[r] < seq[l])) ? r : l;
        if (!(t[c] < lt || (t[c] === lt && seq[c] < ls))) break;
        t[i] = t[c];
        seq[i] = seq[c];
        kind[i] = kind[c];
        arg[i] = arg[c];
        i = c;
      }
      t[i] = lt;
      seq[i] = ls;
      kind[i] = lk;
      arg[i] = la;
    }
    return top;
  }
}

/** A min-heap of (decode-step count at which an active request finishes, its id), by count. */
class FinishHeap {
  private k: number[] = [];
  private v: number[] = [];
  get size(): number {
    return this.k.length;
  }
  peek(): number {
    return this.k[0];
  }
  /** Id of the request peek() belongs to. */
  peekId(): number {
    return this.v[0];
  }
  push(key: number, id: number): void {
    const { k, v } = this;
    let i = k.push(key) - 1;
    v.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (k[p] <= key) break;
      k[i] = k[p];
      v[i] = v[p];
      i = p;
    }
    k[i] = key;
    v[i] = id;
  }
  pop(): void {
    const { k, v } = this;
    const lastK = k.pop()!;
    const lastV = v.pop()!;
    if (k.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= k.length) break;
        const c = l + 1 < k.length && k[l + 1] < k[l] ? l + 1 : l;
        if (k[c] >= lastK) break;
        k[i] = k[c];
        v[i] = v[c];
        i = c;
      }
      k[i] = lastK;
      v[i] = lastV;
    }
  }
}

const KICK = 0; // a context worker looks at its queue (after every arrival at the same instant)
const CTX_DONE = 1;
const KV_DONE = 2;
const GEN_STEP = 3;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`ttft queue: ${what}`);
}

export function simulateTtft(x: TtftSimInput): TtftStats {
  check(Number.isInteger(x.requests) && x.requests >= 1, `requests must be a positive integer, got ${x.requests}`);
  check(x.concurrency >= 1, `concurrency must be ≥ 1, got ${x.concurrency}`);
  check(Number.isInteger(x.workers) && x.workers >= 1, `workers must be a positive integer, got ${x.workers}`);
  check(x.gpusPerWorker >= 1 && x.capPerGpu >= 1, 'every context worker takes at least one request per step');
  check(x.genSlots >= 1 && x.genGpus >= 1, 'the generation pool holds at least one request');
  check(x.osl >= 2, `OSL must be ≥ 2, got ${x.osl}`);
  check(
    x.lengthLo > 0 && x.lengthHi >= x.lengthLo,
    `lengths must satisfy 0 < lo ≤ hi, got [${x.lengthLo}, ${x.lengthHi}]`,
  );
  const rng = new Rng(x.seed);
  const lengthRng = rng.fork('lengths');
  const decodeRng = rng.fork('decode');
  const N = x.requests;
  const C = Math.min(Math.round(x.concurrency), N);
  const W = x.workers;
  const cap = x.capPerGpu * x.gpusPerWorker;
  const meanLength = (x.lengthLo + x.lengthHi) / 2;
  const tok = acceptedTokenMoments(x.mtp, x.mtpAcceptance);
  const need = x.osl - 1;
  const stepsMean = need / tok.mean;
  const stepsSd = Math.sqrt((need * tok.variance) / Math.pow(tok.mean, 3));

  const arrival = new Float64Array(N);
  const length = new Float64Array(N);
  const ttft = new Float64Array(N);
  // The router is round-robin and request ids are issued in order, so worker w's queue is the
  // ids w, w + W, w + 2W, … in order: a queue is two counters (ids routed to w, ids started by
  // w) and a batch is a run of it (its first index and its size), with no per-request array.
  const routed = new Int32Array(W);
  const started = new Int32Array(W);
  const busy = new Uint8Array(W);
  // A KICK for worker w is waiting in the event queue. Every KICK is handled at the instant it
  // was sent, and the first one takes whatever is queued by then; the ones an idle worker would
  // get from the other requests routed to it at that instant (the whole first burst, C of them)
  // would find it busy and do nothing, so they are not sent (the events that remain keep their
  // order: ties go by order of sending).
  const kicked = new Uint8Array(W);
  const batchFirst = new Int32Array(W); // index in worker w's queue of its running batch's first id
  const batchSize = new Int32Array(W);
  // Batches in KV transfer, by slot (a batch's requests reach the generation pool together):
  // the worker, first queue index and size of each.
  const xferWorker: number[] = [];
  const xferFirst: number[] = [];
  const xferSize: number[] = [];
  const freeSlots: number[] = [];
  const ev = new EventHeap();
  let issued = 0;
  let done = 0;
  let lastCtxDone = 0;
  let userTpsSum = 0; // Σ over finished requests of OSL ÷ end-to-end latency, tokens/s

  const issue = (t: number) => {
    const id = issued++;
    arrival[id] = t;
    length[id] = x.lengthLo + (x.lengthHi - x.lengthLo) * lengthRng.next();
    const w = id % W;
    routed[w]++;
    if (!busy[w] && !kicked[w]) {
      kicked[w] = 1;
      ev.push(t, KICK, w);
    }
  };

  const startCtx = (w: number, t: number) => {
    const n = Math.min(routed[w] - started[w], cap);
    if (busy[w] || n <= 0) return;
    const first = started[w];
    started[w] += n;
    let tokens = 0;
    for (let k = 0; k < n; k++) tokens += length[w + (first + k) * W];
    const dur = x.ctxStepMs(Math.ceil(n / x.gpusPerWorker)) * (tokens / n / meanLength);
    busy[w] = 1;
    batchFirst[w] = first;
    batchSize[w] = n;
    ev.push(t + dur, CTX_DONE, w);
  };

  // Generation: every active request advances one step per decode step; a request admitted
  // before step s + 1 finishes when the step count reaches s + its steps. Between admissions
  // and completions the pool's steps are all alike, so they run as one event: a run of
  // `runSteps` steps of `runTau` ms from `runStart`, cut short at the first step boundary after
  // a KV transfer ends (the new requests join there).
  const finish = new FinishHeap();
  // Requests out of KV transfer waiting for a generation slot, first in first out: every id
  // enters once, so a plain array of N with two cursors holds them (no shifting, no growth).
  const pending = new Int32Array(N);
  let pendingHead = 0;
  let pendingTail = 0;
  let steps = 0;
  let genRunning = false;
  let runStart = 0;
  let runTau = 0;
  let runSteps = 0;
  let runId = 0;
  const drawSteps = () => {
    const u1 = 1 - decodeRng.next();
    const u2 = decodeRng.next();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.max(1, Math.round(stepsMean + stepsSd * z));
  };
  const startGenRun = (t: number) => {
    while (pendingHead < pendingTail && finish.size < x.genSlots) {
      finish.push(steps + drawSteps(), pending[pendingHead++]);
    }
    genRunning = finish.size > 0;
    if (!genRunning) return;
    runStart = t;
    runTau = x.genStepMs(finish.size / x.genGpus);
    runSteps = Math.max(1, finish.peek() - steps);
    ev.push(t + runSteps * runTau, GEN_STEP, ++runId);
  };
  const joinAtNextBoundary = (t: number) => {
    if (!genRunning) return startGenRun(t);
    const j = Math.floor((t - runStart) / runTau) + 1; // the step in flight ends at runStart + j·τ
    if (j < runSteps) {
      runSteps = j;
      ev.push(runStart + j * runTau, GEN_STEP, ++runId);
    }
  };

  for (let i = 0; i < C; i++) issue(0);
  while (ev.size > 0) {
    const t = ev.pop();
    const kind = ev.kindOut;
    const arg = ev.argOut;
    if (kind === KICK) {
      kicked[arg] = 0;
      startCtx(arg, t);
    } else if (kind === CTX_DONE) {
      const first = batchFirst[arg];
      const n = batchSize[arg];
      for (let k = 0; k < n; k++) {
        const id = arg + (first + k) * W;
        ttft[id] = t - arrival[id] + x.kvTransferMs;
      }
      const slot = freeSlots.length > 0 ? freeSlots.pop()! : xferWorker.length;
      xferWorker[slot] = arg;
      xferFirst[slot] = first;
      xferSize[slot] = n;
      ev.push(t + x.kvTransferMs, KV_DONE, slot);
      done += n;
      lastCtxDone = t;
      busy[arg] = 0;
      startCtx(arg, t);
    } else if (kind === KV_DONE) {
      const w = xferWorker[arg];
      const first = xferFirst[arg];
      const n = xferSize[arg];
      for (let k = 0; k < n; k++) pending[pendingTail++] = w + (first + k) * W;
      freeSlots.push(arg);
      joinAtNextBoundary(t);
    } else if (arg === runId) {
      steps += runSteps;
      while (finish.size > 0 && finish.peek() <= steps) {
        userTpsSum += (x.osl * 1000) / (t - arrival[finish.peekId()]);
        finish.pop();
        if (issued < N) issue(t);
      }
      startGenRun(t);
    }
  }
  check(done === N, `simulated ${done} of ${N} requests`);
  // Order statistics by selection: the values a full sort would put at these ranks.
  const sorted = Float64Array.from(ttft);
  const q = (p: number) => nthSmallest(sorted, Math.min(N - 1, Math.floor(p * N)));
  const median =
    N % 2 ? nthSmallest(sorted, (N - 1) / 2) : (nthSmallest(sorted, N / 2 - 1) + nthSmallest(sorted, N / 2)) / 2;
  let sum = 0;
  for (const v of ttft) sum += v;
  return {
    medianMs: median,
    meanMs: sum / N,
    p90Ms: q(0.9),
    requests: N,
    ctxRequestsPerS: lastCtxDone > 0 ? (N / lastCtxDone) * 1000 : Infinity,
    userTps: userTpsSum / N,
  };
}
