// Serving level: a stream of prefill requests on a rack of ranks, under DEP or DWDP.
//
// Requests (src/sim/workload.ts) are taken in arrival order and batched up to
// `maxTokensPerBatch` input tokens and `maxBatchRequests` requests per rank and step (a request
// longer than the token cap gets a batch of its own; chunked prefill is not modeled). With
// routing skew, each request's tokens draw their hot experts from a stream of their own (the
// seed's hot-expert stream forked by request id: the same request, the same draws, whichever
// rank and strategy serve it), and a step carries the sum over its requests (src/sim/routing.ts). Who takes the next batch is decided ahead of
// the simulation by list scheduling on the cost model's estimate of each step (compute, plus
// for DWDP the part of the prefetch that compute cannot hide): DWDP ranks take batches one by
// one, whichever rank is free first; a DEP group takes one batch per rank at a time, since its
// ranks step together (a rank with nothing left runs an empty batch and still joins every
// all-to-all). The scheduler then gives the real timelines, contention and barriers included.
//
// Reported (all modeled):
//   TPS/GPU  input tokens ÷ Σ over ranks of the time each rank was in use (its last step's
//            end): context-phase throughput per GPU, not penalized for the ragged end of a
//            finite run. With a backlog (all requests at t = 0) this is capacity.
//   TTFT     end of the step that prefilled the request − its arrival (first token = end of
//            prefill; the decode phase runs elsewhere in disaggregated serving, so the output
//            length does not enter the context-phase numbers).

import { makePlacement, type Placement } from '../dwdp/placement.ts';
import type { MoeConfig } from '../model/config.ts';
import type { WeightFormat } from '../model/formats.ts';
import { expectedExpertsTouched, type CostModel } from './cost-model.ts';
import { knobsCostModel, type DwdpKnobs } from './experiment.ts';
import { breakdownOf, zeroBreakdown, type Breakdown } from '../timeline/categories.ts';
import type { HardwareProfile } from '../hardware/profiles.ts';
import { IdSpace, depPrograms, dwdpOptions, dwdpPrograms, type RankStep } from './programs.ts';
import { simulateGroups, type LinkEngineClass, type Schedule } from '../timeline/scheduler.ts';
import type { Op } from '../timeline/ops.ts';
import { generateRequests, type Request, type StreamLengths } from './workload.ts';
import { HotExperts, SKEW_STREAM } from '../workload/skew.ts';
import { Rng } from '../util/random.ts';
import { isSkewed } from './routing.ts';

/** Tokens per batch at most when a serving run names no cap. */
export const DEFAULT_SERVING_MAX_TOKENS = 16384;

export interface ServingParams extends DwdpKnobs {
  profile: HardwareProfile;
  model: MoeConfig;
  format: WeightFormat;
  /** Ranks in the rack (e.g. 72), split into groups of groupSize. */
  ranks: number;
  requests: number;
  isl: StreamLengths;
  osl: StreamLengths;
  /** Tokens per batch at most (default DEFAULT_SERVING_MAX_TOKENS). */
  maxTokensPerBatch?: number;
  /** Requests per batch at most (default: no cap). */
  maxBatchRequests?: number;
  /** Poisson arrivals (requests/s for the whole rack); absent: a backlog at t = 0. */
  arrivalRatePerS?: number;
}

export interface ServingResult {
  strategy: 'dep' | 'dwdp';
  tpsPerGpu: number;
  ttftMs: { mean: number; p50: number; p90: number; p99: number };
  makespanMs: number;
  /** Forward steps run, summed over ranks (DEP: empty steps of idle ranks included). */
  rankSteps: number;
  /** Mean requests and tokens per non-empty rank step. */
  meanBatchRequests: number;
  meanBatchTokens: number;
  /** Mean per non-empty rank step, ms, and where that time goes. */
  stepMs: number;
  computeMsPerStep: number;
  breakdownPerStep: Breakdown;
  hiddenPullFraction: number;
  schedule: Schedule;
}

interface Plan {
  /** steps[r] = the forward steps of rank r. */
  steps: RankStep[][];
  /** Requests of each step, keyed by the step's mark. */
  members: Map<string, Request[]>;
}

/** Take the next batch from the queue (requests arrived by `at`), at least one request if any has arrived. */
function takeBatch(
  queue: Request[],
  head: { i: number },
  at: number,
  maxTokens: number,
  maxRequests: number,
): Request[] {
  const out: Request[] = [];
  let tokens = 0;
  while (head.i < queue.length && out.length < maxRequests) {
    const q = queue[head.i];
    if (q.arrivalMs > at) break;
    if (out.length > 0 && tokens + q.inputLen > maxTokens) break;
    out.push(q);
    tokens += q.inputLen;
    head.i++;
  }
  return out;
}

function stepComputeEstimate(
  cost: CostModel,
  lengths: readonly number[],
  strategy: 'dep' | 'dwdp',
  groupSize: number,
): number {
  const m = cost.model;
  const T = lengths.reduce((a, b) => a + b, 0);
  if (T === 0) return 0;
  const perLayer = cost.attentionMs(lengths) + cost.layerMiscMs(T);
  const moe =
    cost.routerMs(T) +
    cost.sharedExpertMs(T) +
    cost.combineMs(T) +
    (strategy === 'dwdp'
      ? cost.expertGemmMs(T * m.topK, expectedExpertsTouched(m.experts, m.topK, T))
      : cost.expertGemmMs(T * m.topK, expectedExpertsTouched(m.experts, m.topK, T * groupSize, m.experts / groupSize)));
  return (
    m.layers.total * perLayer +
    m.layers.dense * cost.denseMlpMs(T) +
    m.layers.moe * moe +
    cost.lmHeadMs(T, lengths.length)
  );
}

function plan(
  p: ServingParams,
  cost: CostModel,
  placement: Placement,
  strategy: 'dep' | 'dwdp',
  requests: Request[],
): Plan {
  const G = p.groupSize;
  const groups = Math.floor(p.ranks / G);
  const steps: RankStep[][] = Array.from({ length: groups * G }, () => []);
  const members = new Map<string, Request[]>();
  const head = { i: 0 };
  const maxTokens = p.maxTokensPerBatch ?? DEFAULT_SERVING_MAX_TOKENS;
  const maxRequests = p.maxBatchRequests ?? Infinity;
  // Skewed routing: each request's hot-expert counts, from its own stream.
  const skew = isSkewed(p.routingSkew);
  const hotOf = (q: Request): Float64Array =>
    new HotExperts(
      p.model.experts,
      p.routingSkew!,
      p.seed,
      new Rng(p.seed).fork(SKEW_STREAM).fork(`request ${q.id}`),
    ).counts(q.inputLen);
  // Pull time per step with the link to itself (a lower bound under contention).
  const pullPerStep =
    (p.model.layers.moe * placement.pullBytesPerLayer(cost.expertBytes)) / (cost.link(true).egressGBps as number) / 1e6;
  const record = (r: number, batch: Request[]) => {
    const mark = `r${r}s${steps[r].length}`;
    const notBefore = batch.length > 0 ? Math.max(...batch.map((q) => q.arrivalMs)) : undefined;
    let hot: Float64Array | undefined;
    if (skew) {
      hot = new Float64Array(p.model.experts);
      for (const q of batch) {
        const h = hotOf(q);
        for (let e = 0; e < h.length; e++) hot[e] += h[e];
      }
    }
    steps[r].push({
      lengths: batch.map((q) => q.inputLen),
      mark,
      ...(hot ? { hot } : {}),
      ...(notBefore !== undefined && notBefore > 0 ? { notBeforeMs: notBefore } : {}),
    });
    members.set(mark, batch);
  };
  if (strategy === 'dwdp') {
    const free = new Array<number>(groups * G).fill(0);
    while (head.i < requests.length) {
      let r = 0;
      for (let k = 1; k < free.length; k++) if (free[k] < free[r]) r = k;
      const start = Math.max(free[r], requests[head.i].arrivalMs);
      const batch = takeBatch(requests, head, start, maxTokens, maxRequests);
      record(r, batch);
      const compute = stepComputeEstimate(
        cost,
        batch.map((q) => q.inputLen),
        'dwdp',
        G,
      );
      free[r] = start + Math.max(compute, pullPerStep);
    }
  } else {
    const free = new Array<number>(groups).fill(0);
    while (head.i < requests.length) {
      let g = 0;
      for (let k = 1; k < groups; k++) if (free[k] < free[g]) g = k;
      const start = Math.max(free[g], requests[head.i].arrivalMs);
      let est = 0;
      for (let i = 0; i < G; i++) {
        const batch = takeBatch(requests, head, start, maxTokens, maxRequests);
        record(g * G + i, batch);
        est = Math.max(
          est,
          stepComputeEstimate(
            cost,
            batch.map((q) => q.inputLen),
            'dep',
            G,
          ),
        );
      }
      free[g] = start + est;
    }
  }
  return { steps, members };
}

/** Serve the request stream with one strategy (opts.linkEngine: the scheduler's, default LinkFluid; bench:sim passes another to time both). */
export function runServing(
  p: ServingParams,
  strategy: 'dep' | 'dwdp',
  opts: { intervals?: boolean; linkEngine?: LinkEngineClass } = {},
): ServingResult {
  if (!(p.ranks >= p.groupSize && p.groupSize >= 1))
    throw new Error(`serving: ${p.ranks} ranks cannot hold a group of ${p.groupSize}`);
  if (p.maxTokensPerBatch !== undefined && !(p.maxTokensPerBatch >= 1))
    throw new Error(`serving: maxTokensPerBatch must be ≥ 1, got ${p.maxTokensPerBatch}`);
  if (p.maxBatchRequests !== undefined && !(Number.isInteger(p.maxBatchRequests) && p.maxBatchRequests >= 1))
    throw new Error(`serving: maxBatchRequests must be an integer ≥ 1, got ${p.maxBatchRequests}`);
  const cost = knobsCostModel(p);
  const requests = generateRequests({
    count: p.requests,
    isl: p.isl,
    osl: p.osl,
    arrivalRatePerS: p.arrivalRatePerS,
    seed: p.seed,
  });
  const G = p.groupSize;
  const placement = makePlacement(p.model.experts, G, p.local, p.pull);
  const { steps, members } = plan(p, cost, placement, strategy, requests);
  const groups = steps.length / G;
  const ids = new IdSpace();
  // One group's programs at a time (groups are independent): never all ~10⁶ ops alive at once.
  const build = (g: number): Op[][] => {
    const group = Array.from({ length: G }, (_, i) => g * G + i);
    const mine = group.map((r) => steps[r]);
    return strategy === 'dwdp'
      ? dwdpPrograms(cost, group, mine, dwdpOptions(placement, p))
      : depPrograms(cost, group, mine, ids, { dispatch: p.depDispatch });
  };
  const schedule = simulateGroups(
    groups,
    G,
    build,
    cost.link(p.contentionFix, strategy === 'dep' ? 'all-to-all' : 'pulls'),
    { intervals: opts.intervals ?? false, linkEngine: opts.linkEngine, ...cost.schedulerOptions() },
  );

  const ttft: number[] = [];
  let tokens = 0;
  let busySteps = 0;
  let batchRequests = 0;
  for (const [mark, batch] of members) {
    if (batch.length === 0) continue;
    busySteps++;
    batchRequests += batch.length;
    const end = schedule.marks.get(mark)!;
    for (const q of batch) {
      ttft.push(end - q.arrivalMs);
      tokens += q.inputLen;
    }
  }
  ttft.sort((a, b) => a - b);
  const pct = (x: number) => ttft[Math.min(ttft.length - 1, Math.floor(x * ttft.length))];
  const gpuMs = schedule.ranks.reduce((a, m) => a + m.endMs, 0);
  const b = schedule.ranks.map(breakdownOf).reduce((acc, x) => {
    for (const k of Object.keys(acc) as (keyof Breakdown)[]) acc[k] += x[k] / busySteps;
    return acc;
  }, zeroBreakdown());
  const busyMs = schedule.ranks.reduce((a, m) => a + m.computeMs + m.waitMs + m.syncMs + m.commMs, 0);
  return {
    strategy,
    tpsPerGpu: (tokens / gpuMs) * 1000,
    ttftMs: { mean: ttft.reduce((a, x) => a + x, 0) / ttft.length, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99) },
    makespanMs: schedule.makespanMs,
    rankSteps: steps.reduce((a, s) => a + s.length, 0),
    meanBatchRequests: batchRequests / busySteps,
    meanBatchTokens: tokens / busySteps,
    stepMs: busyMs / busySteps,
    computeMsPerStep: schedule.ranks.reduce((a, m) => a + m.computeMs, 0) / busySteps,
    breakdownPerStep: b,
    hiddenPullFraction: schedule.hiddenPullFraction,
    schedule,
  };
}
