// Rate matching of a context pool and a generation pool, with queueing: the operating point of
// a disaggregated deployment under a closed-loop benchmark.
//
// The queueing model (closed network, fluid / mean-value): C requests are always in the system
// (the benchmark's concurrency; the reproduction sets it to the generation server's
// batch × GPUs). Each cycles: context (wait for a step, prefill) → KV transfer → generation
// (OSL − 1 decode tokens; the context step emits the first) → a new request takes its place.
// Every station's throughput is a function of how many requests it holds, and the operating
// point is the one throughput X (requests/s) at which the populations add up to C:
//
//   generation  b_g requests per GPU on G GPUs; X = G·b_g·a / (τ(b_g)·(OSL − 1)), a = accepted
//               tokens per step, τ the decode step (ms → ×1000); at most b_g = B (max batch)
//   context     a server steps whenever requests wait; requests arriving during a step wait for
//               its end (deterministic step: mean residual t/2 while busy) and then join the next
//               step, so with b_c requests per GPU and step, X = Gc·b_c / t(b_c) and the context
//               holds X·(t(b_c) + min(1, b_c)·t(b_c)/2) requests (Little's law); b_c ≤ bMax
//   transfer    X·t_kv requests in flight
//
// If the context pool cannot reach the X the generation pool would draw (X_ctx(bMax) below it),
// the context saturates at X_ctx(bMax) and the rest of the population queues before it: that
// queue is what makes TTFT grow when fewer context GPUs feed the same generation pool. In a
// fluid model every request sees the same wait, so its TTFT is the mean:
//   TTFT = (requests at the context) / X + t_kv.
// The TTFT a result reports is not this one: it is the median of a discrete simulation of the
// benchmark run at the deployment (ttft-queue.ts); this one stays as E2ePoint.ttftFluidMs.
// TPS/user, as the benchmark defines it (`tpsPerUserMetric` 'benchmark', the default): the
// reproduction's load generator, TensorRT-LLM's benchmark_serving, reports "User throughput" =
// the mean over requests of output tokens ÷ the request's end-to-end latency (send to last
// token, TTFT included); TensorRT-LLM's perf scripts file that number as "TPS/User". In the closed
// loop every request is in the system from its send to its last token, so by Little's law the
// mean end-to-end latency is C / X, and in a fluid model (every request alike)
//   TPS/user = OSL ÷ (C / X) = X·OSL / C        (output TPS per client).
// 'decode' reads TPS/user as the decode rate alone, a·1000 / τ(b_g) (TTFT left out).
// What it leaves out: the spread of waits (a discrete queue's median is below its mean when
// the distribution is skewed), per-server imbalance of the router's request assignment, and
// the ramp of a finite benchmark run.

/** What TPS/user means: the benchmark's OSL ÷ end-to-end latency, or the decode rate alone. */
export type TpsPerUserMetric = 'benchmark' | 'decode';

export interface LoopInput {
  /** Requests in the system (closed loop). */
  concurrency: number;
  ctxGpus: number;
  /** Context step time (ms) with b requests per GPU (b may be fractional), and its batch limit. */
  ctxStepMs: (b: number) => number;
  ctxBMax: number;
  genGpus: number;
  /** Max requests per generation GPU. */
  genBatch: number;
  /** Decode step time (ms) with b requests per GPU. */
  genStepMs: (b: number) => number;
  /** Accepted tokens per request and decode step. */
  tokensPerStep: number;
  osl: number;
  kvTransferMs: number;
  /** Which TPS/user the point reports (default 'benchmark'). */
  tpsPerUserMetric?: TpsPerUserMetric;
}

export interface OperatingPoint {
  requestsPerS: number;
  /** Mean requests per context GPU and step, and per generation GPU. */
  ctxBatch: number;
  genBatch: number;
  /** Requests queued before the context pool beyond those a step can take (0 unless it saturates). */
  ctxQueue: number;
  ttftMs: number;
  /** TPS/user by `tpsPerUserMetric`. */
  tpsPerUser: number;
  /** The decode rate of one request, accepted tokens per second of decode (TTFT left out). */
  decodeTpsPerUser: number;
  /** The benchmark's TPS/user: OSL ÷ mean end-to-end latency (C / X), tokens/s. */
  benchmarkTpsPerUser: number;
  /** Output tokens per second of the whole deployment, and per GPU of it (context + generation). */
  outputTps: number;
  tpsPerGpu: number;
  bottleneck: 'context' | 'generation';
}

const ITER = 100;

/**
 * Where an increasing f crosses `target` in [0, hi]: the bracket [lo, hi] left after ITER halvings.
 * Once a halving leaves the bracket as it was (the midpoint is an end in floating point, and f
 * sends it to the same side), every later one would too — the same midpoint, the same f — so the
 * loop stops there: the bracket is bit for bit the one ITER halvings leave, in about 60 of them.
 */
export function bisect(f: (b: number) => number, target: number, hi: number): [number, number] {
  let lo = 0;
  for (let i = 0; i < ITER; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < target) {
      if (lo === mid) break;
      lo = mid;
    } else {
      if (hi === mid) break;
      hi = mid;
    }
  }
  return [lo, hi];
}

/** Requests/s the generation pool emits with b requests per GPU. */
export function genThroughput(x: LoopInput, b: number): number {
  if (!(b > 0)) return 0;
  return (x.genGpus * b * x.tokensPerStep * 1000) / (x.genStepMs(b) * (x.osl - 1));
}

/** Requests/s the context pool serves with b requests per GPU and step. */
export function ctxThroughput(x: Pick<LoopInput, 'ctxGpus' | 'ctxStepMs'>, b: number): number {
  if (!(b > 0)) return 0;
  return (x.ctxGpus * b * 1000) / x.ctxStepMs(b);
}

/** Requests at the context pool when it serves X requests/s below its capacity. */
function ctxPopulation(x: LoopInput, X: number): { n: number; b: number } {
  // b_c with X_ctx(b_c) = X, by bisection (X_ctx increases with b_c).
  const [lo, hi] = bisect((b) => ctxThroughput(x, b), X, x.ctxBMax);
  const b = (lo + hi) / 2;
  const t = x.ctxStepMs(b);
  return { n: (X * (t + (Math.min(1, b) * t) / 2)) / 1000, b };
}

export function operatingPoint(x: LoopInput): OperatingPoint {
  if (!(x.osl >= 2)) throw new Error(`e2e.osl: the generation pool needs OSL ≥ 2 (got ${x.osl})`);
  const C = x.concurrency;
  const capCtx = ctxThroughput(x, x.ctxBMax);
  const result = (
    bg: number,
    X: number,
    nCtx: number,
    bc: number,
    queue: number,
    bottleneck: OperatingPoint['bottleneck'],
  ) => {
    const outputTps = X * x.osl;
    const decodeTpsPerUser = (x.tokensPerStep * 1000) / x.genStepMs(bg);
    const benchmarkTpsPerUser = outputTps / C;
    return {
      requestsPerS: X,
      ctxBatch: bc,
      genBatch: bg,
      ctxQueue: queue,
      ttftMs: (nCtx / X) * 1000 + x.kvTransferMs,
      tpsPerUser: (x.tpsPerUserMetric ?? 'benchmark') === 'decode' ? decodeTpsPerUser : benchmarkTpsPerUser,
      decodeTpsPerUser,
      benchmarkTpsPerUser,
      outputTps,
      tpsPerGpu: outputTps / (x.ctxGpus + x.genGpus),
      bottleneck,
    };
  };
  // Total population at generation occupancy bg, or Infinity once the context cannot keep up.
  const population = (bg: number): number => {
    const X = genThroughput(x, bg);
    if (X >= capCtx) return Infinity;
    return ctxPopulation(x, X).n + (X * x.kvTransferMs) / 1000 + x.genGpus * bg;
  };
  // Generation occupancy at which the context saturates (X_gen(bg) = capCtx), if below the max batch.
  let bgSat = x.genBatch;
  if (genThroughput(x, x.genBatch) >= capCtx) {
    bgSat = bisect((b) => genThroughput(x, b), capCtx, x.genBatch)[0];
    // Context-bound: the context runs full batches and the rest of the population queues before it.
    const X = capCtx;
    const tFull = x.ctxStepMs(x.ctxBMax);
    const atCtxMin = (X * 1.5 * tFull) / 1000; // requests a saturated context holds without a queue
    const rest = C - (X * x.kvTransferMs) / 1000 - x.genGpus * bgSat;
    if (rest >= atCtxMin) return result(bgSat, X, rest, x.ctxBMax, rest - atCtxMin, 'context');
  }
  if (population(bgSat) <= C) {
    // Generation full and the context keeps up with population to spare (C above B·G): the
    // extra requests wait for a generation slot, outside TTFT.
    const X = genThroughput(x, bgSat);
    const c = ctxPopulation(x, X);
    return result(bgSat, X, c.n, c.b, 0, 'generation');
  }
  const bg = bisect(population, C, bgSat)[0];
  const X = genThroughput(x, bg);
  const c = ctxPopulation(x, X);
  return result(bg, X, c.n, c.b, 0, 'generation');
}
