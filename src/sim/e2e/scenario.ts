// End-to-end scenarios: a disaggregated deployment (context pool + generation pool) searched
// over its configurations, each strategy's Pareto frontier of output TPS/GPU against TPS/user,
// and the best configuration per TPS/user band. Everything here is modeled.
//
// Flow: scenario → context curves (the context-phase rack model, src/sim/e2e/context.ts) and
// decode-step tables (src/sim/e2e/generation.ts) → for every deployment (context servers or
// groups × generation EP, batch, MTP, EPLB) the closed-loop operating point
// (src/sim/e2e/rate-match.ts) → frontier and bands (src/sim/e2e/pareto.ts) → result (JSON,
// text, validation rows, TensorRT-LLM export).
//
// A scenario file (JSON), "mode": "e2e":
//   { "name": "my-e2e", "mode": "e2e", "profile": "gb200-nvl72", "model": "deepseek-r1",
//     "e2e": { "isl": 8192, "osl": 1024, "inputRatio": 0.8, "bands": [[20, 30], [40, 50]],
//              "genEp": [8, 16], "genBatch": [32, 64, 128], "mtp": [1, 3], … } }
// Every key of "e2e" is optional (E2eParams, src/sim/e2e/params.ts) and declared once with its
// range in the option table (src/options/e2e.ts); a bad value stops with one message naming it.

import type { MoeConfig } from '../../model/config.ts';
import { calibrationText } from '../../hardware/efficiency.ts';
import { CostModel } from '../cost-model.ts';
import { deepseekR1 } from '../experiment.ts';
import { getProfile, type HardwareProfile } from '../../hardware/profiles.ts';
import { contextCurves, contextStepMs, type ContextCurve, type Strategy } from './context.ts';
import {
  DEFAULT_GENERATION_PARAMS,
  decodeAttentionEfficiencyOf,
  acceptedTokens,
  decodeContextLengths,
  decodeStep,
  generationMemoryBytes,
  routingSkewImbalance,
  type GenerationConfig,
  type GenerationParams,
} from './generation.ts';
import { kvTransfer, type KvTransfer } from './kv-transfer.ts';
import { bestInBand, inBand, paretoFrontier } from './pareto.ts';
import { ctxThroughput, operatingPoint, type OperatingPoint } from './rate-match.ts';
import { simulateTtft, type TtftStats } from './ttft-queue.ts';
import { DEFAULT_E2E_PARAMS, type E2eParams } from './params.ts';
import { parseE2eParams } from '../../options/e2e.ts';
import { checkScenarioProfile, isModelPath, resolveScenarioModel } from '../../options/scenario.ts';

export { DEFAULT_E2E_PARAMS, type E2eParams, parseE2eParams };

export interface E2eSpec {
  name: string;
  description?: string;
  mode: 'e2e';
  profile?: string;
  /** A model preset (src/model/presets.ts); default deepseek-r1. */
  model?: string;
  e2e: Partial<E2eParams>;
}

export const E2E_SCENARIOS: Readonly<Record<string, E2eSpec>> = {
  'r1-e2e-pareto': {
    name: 'r1-e2e-pareto',
    mode: 'e2e',
    description:
      'DeepSeek-R1 NVFP4 on GB200 NVL72, disaggregated: DEP4 servers or DWDP4 groups for context, wide-EP generation; ' +
      'ISL 8K, OSL 1K, input ratio 0.8; output TPS/GPU vs TPS/user per band',
    profile: 'gb200-nvl72',
    model: 'deepseek-r1',
    e2e: {},
  },
};

export interface DeploymentConfig {
  strategy: Strategy;
  /** DEP servers or DWDP groups, of groupSize GPUs each. */
  ctxUnits: number;
  groupSize: number;
  gen: GenerationConfig;
  concurrency: number;
}

export interface E2ePoint {
  strategy: Strategy;
  /** TPS/user of the fluid operating point by `tpsPerUserMetric` (the search's axis; the bands hold points by it). */
  tpsPerUser: number;
  /** The decode rate of one request (accepted tokens ÷ decode step), tokens/s. */
  decodeTpsPerUser: number;
  /**
   * The benchmark's TPS/user of the simulated run (mean over requests of OSL ÷ end-to-end
   * latency; ttft-queue.ts), for every point a result reports; absent before the simulation.
   */
  tpsPerUserRun?: number;
  tpsPerGpu: number;
  ctxGpus: number;
  genGpus: number;
  /**
   * Median TTFT, ms: of the simulated benchmark run (ttft-queue.ts) for every point a result
   * reports (band bests, frontiers, reproduction rows); the fluid model's TTFT (ttftFluidMs)
   * for a point straight from E2eEvaluator.evaluate.
   */
  ttftMedianMs: number;
  /** TTFT of the fluid operating point (every request waits the mean), ms. */
  ttftFluidMs: number;
  /** 90th percentile of the simulated run's TTFT, ms (absent before the simulation). */
  ttftP90Ms?: number;
  requestsPerS: number;
  ctxBatch: number;
  genBatch: number;
  ctxQueue: number;
  bottleneck: OperatingPoint['bottleneck'];
  config: DeploymentConfig;
}

export interface E2eBand {
  tpsPerUser: [number, number];
  dep: E2ePoint | null;
  dwdp: E2ePoint | null;
  speedupTpsPerGpu: number | null;
}

/**
 * Which model reading a published end-to-end number is compared with: the best TPS/GPU the
 * model's own search finds in the band (`best-in-band`), or the deployment of TensorRT-LLM's
 * public reproduction config that the published band maps to (`reproduction-deployment`, the
 * paper's own setting as far as it is public).
 */
export type E2eComparison = 'best-in-band' | 'reproduction-deployment';

/**
 * What an end-to-end row measures: a median TTFT (a waiting time: it holds the context queue, so
 * it moves with the load) or a ratio of output TPS/GPU (throughputs: bounded by the stations'
 * rates, it moves at most in proportion to them).
 */
export type E2eMeasure = 'median-ttft' | 'tps-per-gpu-ratio';

export interface ValidationRow {
  quantity: string;
  measure: E2eMeasure;
  setting: string;
  published: number;
  source: string;
  modeled: number | null;
  /** modeled ÷ published − 1; null when the model has no point there. */
  error: number | null;
  kind: 'validation';
  comparison: E2eComparison;
  /** The reproduction experiment the modeled value is read at (reproduction-deployment rows that map to one; else null). */
  experiment: string | null;
  /** Where the modeled reading departs from the published one (for reproduction rows: the band → experiment mapping and its uncertainty). */
  differs: string[];
  /** Why there is no modeled value (null when there is one). */
  notModeled: string | null;
}

export interface E2eResult {
  scenario: string;
  modeled: true;
  mode: 'e2e';
  description: string;
  profile: { id: string; name: string; measured: boolean };
  model: string;
  provenance: string;
  params: E2eParams;
  generation: GenerationParams;
  context: Record<Strategy, ContextCurve>;
  kvTransfer: KvTransfer;
  pointsSearched: number;
  bands: E2eBand[];
  frontier: Record<Strategy, E2ePoint[]>;
  /** The reproduction matrix's deployments, modeled (at the published setting only; else empty). */
  reproduction: (ReproRow & { modeled: E2ePoint | null })[];
}

// ---------------------------------------------------------------------------------------
// Parsing (every key of "e2e" is declared once, in src/options/e2e.ts)

/** Work limits a scenario is checked against before any work (the keys' own ranges are the option table's). */
export const E2E_LIMITS = { deployments: 500_000 } as const;

/** An e2e setting that cannot run (on this profile): the key at fault, found before any work. */
export class E2eScenarioError extends Error {
  override name = 'E2eScenarioError';
  constructor(
    readonly key: string,
    readonly detail: string,
  ) {
    super(`scenario.e2e.${key}: ${detail}`);
  }
}

function fail(key: string, detail: string): never {
  throw new E2eScenarioError(key, detail);
}

/** An end-to-end scenario from parsed JSON; errors name the key at fault. */
export function parseE2eScenario(json: unknown, fallbackName = 'scenario'): E2eSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error('scenario: expected a JSON object');
  const j = json as Record<string, unknown>;
  const known = ['name', 'description', 'mode', 'profile', 'model', 'e2e'];
  for (const k of Object.keys(j))
    if (!known.includes(k))
      throw new Error(`scenario.${k}: unknown key for an e2e scenario (known: ${known.join(', ')})`);
  if (j.mode !== 'e2e') throw new Error(`scenario.mode: expected "e2e", got ${JSON.stringify(j.mode)}`);
  checkScenarioProfile(j.profile);
  // A preset is checked here; a config.json path is read where the file is known (the CLI), as in step and serving files.
  if (j.model !== undefined && (typeof j.model !== 'string' || !isModelPath(j.model)))
    resolveScenarioModel(j.model, undefined);
  return {
    name: j.name === undefined ? fallbackName : String(j.name),
    description: j.description === undefined ? undefined : String(j.description),
    mode: 'e2e',
    profile: j.profile === undefined ? undefined : String(j.profile),
    model: j.model === undefined ? undefined : String(j.model),
    e2e: parseE2eParams(j.e2e),
  };
}

/** True when parsed JSON declares an end-to-end scenario. */
export function isE2eJson(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as Record<string, unknown>).mode === 'e2e';
}

// ---------------------------------------------------------------------------------------
// Running

export interface RunE2eOptions {
  profile?: HardwareProfile;
  model?: MoeConfig;
}

/** Piecewise-linear decode step time over integer batches 1 … n (a one-request step below 1). */
function stepTable(f: (b: number) => number, n: number): (b: number) => number {
  const t = Array.from({ length: n }, (_, i) => f(i + 1));
  return (b: number) => {
    if (b <= 1) return t[0];
    if (b >= n) return t[n - 1];
    const i = Math.floor(b);
    return t[i - 1] + (t[i] - t[i - 1]) * (b - i);
  };
}

/** Everything a deployment's evaluation needs, computed once per scenario. */
export interface E2eEvaluator {
  profile: HardwareProfile;
  model: MoeConfig;
  params: E2eParams & { maxGpus: number };
  generation: GenerationParams;
  context: Record<Strategy, ContextCurve>;
  kvTransfer: KvTransfer;
  /**
   * The operating point of one deployment; null when its generation GPUs or its context GPUs do
   * not fit HBM.
   */
  evaluate(strategy: Strategy, ctxUnits: number, gen: GenerationConfig): E2ePoint | null;
  /**
   * The simulated benchmark run's TTFT of a deployment evaluate returned. `ctxScale` (default 1)
   * multiplies every context step time of the run: the validation's rate-equivalent error
   * (ttftConditioning) searches over it; an analysis hook, never a model parameter.
   */
  queuedTtft(pt: E2ePoint, ctxScale?: number): TtftStats;
}

/**
 * Requests of the benchmark run at concurrency C: the reproduction sends C × multi_round prompts,
 * multi_round = max(1, ⌊num_prompts / C⌋) (examples/dwdp/reproduce.py `build_full_config`;
 * examples/disaggregated/slurm/benchmark/run_benchmark.sh: `--num-prompts concurrency × multi_round`).
 */
export function benchmarkRequests(concurrency: number, numPrompts: number): number {
  return concurrency * Math.max(1, Math.floor(numPrompts / concurrency));
}

export function e2eEvaluator(spec: E2eSpec, o: RunE2eOptions = {}): E2eEvaluator {
  const profile = o.profile ?? getProfile(spec.profile ?? 'gb200-nvl72');
  const model =
    o.model ??
    (spec.model === undefined || spec.model === 'deepseek-r1'
      ? deepseekR1()
      : resolveScenarioModel(spec.model, undefined));
  const p: E2eParams = { ...DEFAULT_E2E_PARAMS, ...spec.e2e };
  const g: GenerationParams = { ...DEFAULT_GENERATION_PARAMS, ...p.generation };
  const maxGpus = p.maxGpus ?? profile.gpusPerDomain;
  if (p.groupSize < 2) fail('groupSize', `DWDP needs at least 2 GPUs per group, got ${p.groupSize}`);
  if (p.groupSize > maxGpus) fail('groupSize', `${p.groupSize} GPUs exceed the ${maxGpus} the deployment may use`);
  if (p.osl < 2) fail('osl', `the generation pool needs OSL ≥ 2, got ${p.osl}`);
  for (const ep of p.genEp)
    if (ep > maxGpus - p.groupSize)
      fail('genEp', `${ep} generation GPUs leave no room for one context unit of ${p.groupSize} in ${maxGpus} GPUs`);
  const cost = new CostModel({ model, profile, format: p.format, efficiency: p.efficiency });
  const context = contextCurves({
    profile,
    model,
    format: p.format,
    isl: p.isl,
    inputRatio: p.inputRatio,
    groupSize: p.groupSize,
    maxBatch: p.ctxMaxBatch,
    maxTokens: p.ctxMaxTokens,
    contentionFix: p.contentionFix,
    local: p.local,
    pull: p.pull,
    steps: p.steps,
    seed: p.seed,
    efficiency: p.efficiency,
  });
  const meanIsl = context.dep.meanIsl;
  const kv = kvTransfer(cost, model, meanIsl, g.kvBytes);
  // Cached context of a request over its decode: input uniform in [ratio·ISL, ISL] + its position in [0, OSL].
  const decodeContext = decodeContextLengths(p.inputRatio * p.isl, p.isl, p.osl);
  const maxContext = p.isl + p.osl;
  const maxBatch = Math.max(...p.genBatch);

  // No-EPLB imbalance per EP size from the rack model's routing skew, when the scenario sets it.
  const skews = new Map<number, number>();
  const skewAt = (G: number) => {
    let x = skews.get(G);
    if (x === undefined) skews.set(G, (x = routingSkewImbalance(model, G, p.routingSkew!, p.seed)));
    return x;
  };
  // Decode tables per (EP, MTP, EPLB), over the largest batch asked for so far.
  const tables = new Map<string, { n: number; f: (b: number) => number }>();
  const table = (gen: GenerationConfig) => {
    const key = `${gen.ep}/${gen.mtp}/${gen.eplb}`;
    let t = tables.get(key);
    if (!t || t.n < gen.batch) {
      const n = Math.max(maxBatch, gen.batch);
      const gp = p.routingSkew === undefined ? g : { ...g, noEplbSkew: skewAt(gen.ep) };
      t = { n, f: stepTable((b) => decodeStep(cost, { ...gen, batch: n }, b, decodeContext, gp).stepMs, n) };
      tables.set(key, t);
    }
    return t.f;
  };
  const evaluate = (strategy: Strategy, ctxUnits: number, gen: GenerationConfig): E2ePoint | null => {
    const curve = context[strategy];
    if (!curve.fits || !generationMemoryBytes(cost, gen, maxContext, g).fits) return null;
    const ctxGpus = ctxUnits * p.groupSize;
    const concurrency = Math.max(1, Math.round(p.concurrencyFactor * gen.batch * gen.ep));
    const op = operatingPoint({
      concurrency,
      ctxGpus,
      ctxStepMs: (b: number) => contextStepMs(curve, b),
      ctxBMax: curve.bMax,
      genGpus: gen.ep,
      genBatch: gen.batch,
      genStepMs: table(gen),
      tokensPerStep: acceptedTokens(gen.mtp, g.mtpAcceptance),
      osl: p.osl,
      kvTransferMs: kv.ms,
      tpsPerUserMetric: p.tpsPerUserMetric,
    });
    return {
      strategy,
      tpsPerUser: op.tpsPerUser,
      decodeTpsPerUser: op.decodeTpsPerUser,
      tpsPerGpu: op.tpsPerGpu,
      ctxGpus,
      genGpus: gen.ep,
      ttftMedianMs: op.ttftMs,
      ttftFluidMs: op.ttftMs,
      requestsPerS: op.requestsPerS,
      ctxBatch: op.ctxBatch,
      genBatch: op.genBatch,
      ctxQueue: op.ctxQueue,
      bottleneck: op.bottleneck,
      config: { strategy, ctxUnits, groupSize: p.groupSize, gen, concurrency },
    };
  };
  const queuedTtft = (pt: E2ePoint, ctxScale = 1): TtftStats => {
    const c = pt.config;
    const curve = context[c.strategy];
    const dep = c.strategy === 'dep';
    return simulateTtft({
      concurrency: c.concurrency,
      requests: benchmarkRequests(c.concurrency, p.ttftRequests),
      seed: p.seed,
      workers: dep ? c.ctxUnits : c.ctxUnits * c.groupSize,
      gpusPerWorker: dep ? c.groupSize : 1,
      capPerGpu: curve.bMax,
      ctxStepMs: (b) => contextStepMs(curve, b) * ctxScale,
      lengthLo: p.inputRatio * p.isl,
      lengthHi: p.isl,
      kvTransferMs: kv.ms,
      genGpus: c.gen.ep,
      genSlots: c.gen.batch * c.gen.ep,
      genStepMs: table(c.gen),
      mtp: c.gen.mtp,
      mtpAcceptance: g.mtpAcceptance,
      osl: p.osl,
    });
  };
  return { profile, model, params: { ...p, maxGpus }, generation: g, context, kvTransfer: kv, evaluate, queuedTtft };
}

const fmt3 = (x: number) => String(Math.round(x * 1000) / 1000);

/** The closed loop's client count C as printed: the generation pool's batch × GPUs, times concurrencyFactor where that is not 1. */
export function clientsExpr(p: Pick<E2eParams, 'concurrencyFactor'>): string {
  return p.concurrencyFactor === 1 ? 'batch × GPUs' : `round(${p.concurrencyFactor} × batch × GPUs)`;
}

export function runE2e(spec: E2eSpec, o: RunE2eOptions = {}): E2eResult {
  return runE2eEvaluated(spec, o).result;
}

/** runE2e, with the evaluator its result came from (for analyses that rerun its deployments). */
export function runE2eEvaluated(spec: E2eSpec, o: RunE2eOptions = {}): { result: E2eResult; evaluator: E2eEvaluator } {
  const p0 = { ...DEFAULT_E2E_PARAMS, ...spec.e2e };
  const gpus = p0.maxGpus ?? (o.profile ?? getProfile(spec.profile ?? 'gb200-nvl72')).gpusPerDomain;
  const deployments =
    2 * p0.genEp.length * p0.genBatch.length * p0.mtp.length * p0.eplb.length * Math.floor(gpus / p0.groupSize);
  if (deployments > E2E_LIMITS.deployments)
    fail(
      'genBatch',
      `the search would evaluate up to ${deployments} deployments (2 strategies × genEp × genBatch × mtp × eplb × ` +
        `context units), more than ${E2E_LIMITS.deployments}; shorten a list or lower maxGpus`,
    );
  const ev = e2eEvaluator(spec, o);
  const p = ev.params;
  const points: Record<Strategy, E2ePoint[]> = { dep: [], dwdp: [] };
  let searched = 0;
  for (const strategy of ['dep', 'dwdp'] as const)
    for (const ep of p.genEp)
      for (const batch of p.genBatch)
        for (const mtp of p.mtp)
          for (const eplb of p.eplb)
            for (let units = 1; units * p.groupSize + ep <= p.maxGpus; units++) {
              searched++;
              const pt = ev.evaluate(strategy, units, { ep, batch, mtp, eplb });
              if (pt === null) break; // does not fit: no other context size changes that
              points[strategy].push(pt);
            }
  // Every point the result reports gets the simulated run's TTFT: one simulation per deployment
  // (a band's best is often a frontier point, and a reproduction row the same deployment as one:
  // the run depends on the deployment alone, so it is looked up by it; so does the point, which
  // evaluate computes from the deployment alone).
  const simulated = new Map<string, E2ePoint>();
  const queued = <P extends E2ePoint | null>(pt: P): P => {
    if (pt === null) return pt;
    const c = pt.config;
    const key = `${c.strategy}/${c.ctxUnits}/${c.gen.ep}/${c.gen.batch}/${c.gen.mtp}/${c.gen.eplb}/${c.concurrency}`;
    let out = simulated.get(key);
    if (!out) {
      const t = ev.queuedTtft(pt);
      simulated.set(key, (out = { ...pt, ttftMedianMs: t.medianMs, ttftP90Ms: t.p90Ms, tpsPerUserRun: t.userTps }));
    }
    return out as P;
  };
  const bands: E2eBand[] = p.bands.map((band) => {
    const dep = queued(bestInBand(points.dep, band));
    const dwdp = queued(bestInBand(points.dwdp, band));
    return {
      tpsPerUser: [band[0], band[1]],
      dep,
      dwdp,
      speedupTpsPerGpu: dep && dwdp ? dwdp.tpsPerGpu / dep.tpsPerGpu : null,
    };
  });
  const g = ev.generation;
  const res: E2eResult = {
    scenario: spec.name,
    modeled: true,
    mode: 'e2e',
    description: spec.description ?? '',
    profile: { id: ev.profile.id, name: ev.profile.name, measured: ev.profile.measured },
    model: ev.model.name,
    provenance:
      `modeled on ${ev.profile.id} (${ev.profile.name}): context steps from the context-phase rack model ` +
      `(roofline + event scheduler; ${calibrationText(ev.profile)}), decode steps from the same roofline with ` +
      `DEFAULT_GENERATION_PARAMS (MTP acceptance per draft ${g.mtpAcceptance.map(fmt3).join(', ')}, no-EPLB skew ` +
      `${p.routingSkew === undefined ? g.noEplbSkew : `from the rack model's routingSkew ${p.routingSkew}`}, per-layer floor ` +
      `${g.minLayerUs} µs, MTP pass ≥ ${g.mtpPassUs} µs, decode attention at ${fmt3(decodeAttentionEfficiencyOf(g, ev.profile))} of peak, ` +
      `all-to-all ${g.dispatchUs} + ${g.combineUs} µs a MoE layer beyond its bytes, ` +
      `attention-DP step set by the busiest GPU's cached tokens, KV cache within ${g.kvMemoryFraction} of the memory ` +
      `the weights leave); median TTFT of a simulated benchmark run of each reported ` +
      `deployment (C = ${clientsExpr(p)} clients, C × max(1, ⌊${p.ttftRequests} / C⌋) requests, closed loop, round-robin ` +
      `context routing, seed ${p.seed}); TPS/user ${
        p.tpsPerUserMetric === 'benchmark'
          ? 'as the benchmark defines it (OSL ÷ end-to-end latency, TTFT included)'
          : 'the decode rate alone (TTFT left out)'
      }; ` +
      `uncalibrated end to end: no constant fitted to any published end-to-end number (those are validation only)`,
    params: p,
    generation: g,
    context: ev.context,
    kvTransfer: ev.kvTransfer,
    pointsSearched: searched,
    bands,
    frontier: { dep: paretoFrontier(points.dep).map(queued), dwdp: paretoFrontier(points.dwdp).map(queued) },
    reproduction: [],
  };
  if (isPublishedSetting(res))
    res.reproduction = REPRO_MATRIX.map((r) => ({
      ...r,
      modeled: queued(
        ev.evaluate(r.strategy, r.ctxGpus / p.groupSize, {
          ep: r.genEp,
          batch: r.batch,
          mtp: r.mtp,
          eplb: r.eplb,
        }),
      ),
    }));
  return { result: res, evaluator: ev };
}

/**
 * What of the setting of the published end-to-end results a result differs in, e.g.
 * "concurrencyFactor 2 (published: 1)"; empty at that setting, the only one they validate.
 * The closed loop's concurrency is part of it: the published runs kept batch × generation GPUs
 * clients, and another concurrency moves every deployment's TPS/user (hence its band), TPS/GPU
 * and queueing TTFT, so an error against them would be the setting's difference, not the model's.
 */
export function publishedSettingDifferences(res: Pick<E2eResult, 'model' | 'profile' | 'params'>): string[] {
  const p = res.params;
  const setting: [string, unknown, unknown][] = [
    ['model', res.model, 'deepseek-r1'],
    ['profile', res.profile.id, 'gb200-nvl72'],
    ['isl', p.isl, 8192],
    ['osl', p.osl, 1024],
    ['inputRatio', p.inputRatio, 0.8],
    ['groupSize', p.groupSize, 4],
    ['format', p.format, 'nvfp4'],
    ['contentionFix', Boolean(p.contentionFix), false],
    ['concurrencyFactor', p.concurrencyFactor, 1],
  ];
  return setting
    .filter(([, got, published]) => got !== published)
    .map(([k, got, pub]) => `${k} ${String(got)} (published: ${String(pub)})`);
}

/** True when a result is at the setting of the published end-to-end results (the only setting they validate). */
export function isPublishedSetting(res: Pick<E2eResult, 'model' | 'profile' | 'params'>): boolean {
  return publishedSettingDifferences(res).length === 0;
}

/** One deployment of TensorRT-LLM's public reproduction matrix (docs/validation-sources.md §1, REPRO). */
export interface ReproRow {
  experiment: string;
  /** The TPS/user band the experiment is named for (the authors' target, not a measurement). */
  band: [number, number];
  strategy: Strategy;
  ctxGpus: number;
  genEp: number;
  batch: number;
  mtp: number;
  eplb: boolean;
}

const repro = (
  experiment: string,
  band: [number, number],
  strategy: Strategy,
  ctxGpus: number,
  genEp: number,
  batch: number,
  mtp: number,
  eplb: boolean,
): ReproRow => ({
  experiment,
  band,
  strategy,
  ctxGpus,
  genEp,
  batch,
  mtp,
  eplb,
});

/** examples/dwdp/dwdp_reproduce.yaml at commit 6ed140e9 (the 19 end-to-end rows). */
export const REPRO_MATRIX: readonly ReproRow[] = [
  repro('e2e_20_40_dep', [20, 40], 'dep', 20, 8, 256, 1, true),
  repro('e2e_20_40_dep_minus_1', [20, 40], 'dep', 16, 8, 256, 1, true),
  repro('e2e_20_40_dwdp', [20, 40], 'dwdp', 20, 8, 256, 1, true),
  repro('e2e_20_40_dwdp_minus_1', [20, 40], 'dwdp', 16, 8, 256, 1, true),
  repro('e2e_40_60_dep', [40, 60], 'dep', 16, 8, 128, 1, false),
  repro('e2e_40_60_dep_minus_1', [40, 60], 'dep', 12, 8, 128, 1, false),
  repro('e2e_40_60_dwdp', [40, 60], 'dwdp', 16, 8, 128, 1, false),
  repro('e2e_40_60_dwdp_minus_1', [40, 60], 'dwdp', 12, 8, 128, 1, false),
  repro('e2e_60_80_dep', [60, 80], 'dep', 28, 16, 64, 1, true),
  repro('e2e_60_80_dep_minus_1', [60, 80], 'dep', 24, 16, 64, 1, true),
  repro('e2e_60_80_dwdp', [60, 80], 'dwdp', 28, 16, 64, 1, true),
  repro('e2e_60_80_dwdp_minus_1', [60, 80], 'dwdp', 24, 16, 64, 1, true),
  repro('e2e_60_80_dwdp_minus_2', [60, 80], 'dwdp', 20, 16, 64, 1, true),
  repro('e2e_80_100_dep', [80, 100], 'dep', 16, 16, 32, 3, true),
  repro('e2e_80_100_dwdp', [80, 100], 'dwdp', 16, 16, 32, 3, true),
  repro('e2e_80_100_dwdp_minus_1', [80, 100], 'dwdp', 12, 16, 32, 3, true),
  repro('e2e_160_180_dep', [160, 180], 'dep', 8, 32, 2, 3, false),
  repro('e2e_160_180_dwdp', [160, 180], 'dwdp', 8, 32, 2, 3, false),
  repro('e2e_160_180_dwdp_minus_1', [160, 180], 'dwdp', 4, 32, 2, 3, false),
];

// ---------------------------------------------------------------------------------------
// Validation against the published end-to-end results (never fitted)

const BLOG = 'TensorRT-LLM tech blog 19 (DWDP), Evaluation › End-to-End';
/** BLOG Table 4 / Table 5 (docs/validation-sources.md §1): TPS/GPU speedup and median TTFT DEP → DWDP. */
export const PUBLISHED_E2E: readonly { band: [number, number]; speedup: number; ttftDep: number; ttftDwdp: number }[] =
  [
    { band: [20, 30], speedup: 1.1, ttftDep: 2538, ttftDwdp: 8314 },
    { band: [40, 50], speedup: 1.08, ttftDep: 1919, ttftDwdp: 7012 },
    { band: [60, 70], speedup: 1.1, ttftDep: 965, ttftDwdp: 1640 },
    { band: [80, 90], speedup: 1.06, ttftDep: 1669, ttftDwdp: 2280 },
    { band: [170, 180], speedup: 0.97, ttftDep: 494, ttftDwdp: 660 },
  ];
/** The headline: +8.8 % output TPS/GPU at comparable TPS/user, 20–100 (BLOG intro; paper abstract). */
export const PUBLISHED_HEADLINE = 1.088;

/**
 * The reproduction experiments a published band maps to, for one strategy. The published bands
 * (20–30, 40–50, 60–70, 80–90, 170–180) are not the reproduction's (20–40, 40–60, 60–80, 80–100,
 * 160–180) and the blog does not say which deployment each published point came from; each
 * published band lies within exactly one experiment range, so the mapping is by containment.
 * Within the range the `base` experiment is the one named without a `_minus_k` suffix (the
 * range's reference deployment, most context GPUs); the `variants` are the others (fewer context
 * GPUs). `base` is null when no experiment of the strategy covers the band.
 */
export function reproductionFor(
  band: readonly [number, number],
  strategy: Strategy,
): { base: ReproRow | null; variants: ReproRow[] } {
  const all = REPRO_MATRIX.filter((r) => r.strategy === strategy && r.band[0] <= band[0] && band[1] <= r.band[1]);
  const base = all.find((r) => r.experiment === `e2e_${r.band[0]}_${r.band[1]}_${strategy}`) ?? null;
  return { base, variants: all.filter((r) => r !== base) };
}

/** Where the best-in-band speedup rows depart from the published reading (the model's own assumptions included). */
const BEST_IN_BAND_DIFFERS = [
  'comparison: best vs best in the band — the model’s own best TPS/GPU deployment of each strategy; the published value ' +
    'averages several paired points of similar TPS/user at deployments the blog does not state',
  'assumed: no-EPLB routing skew 1.25; MTP acceptance per draft position and decode floor from B200 batch-1 measurements ' +
    '(TensorRT-LLM tech blog 1; docs/e2e.md)',
];

/**
 * A reported point's TPS/user as the result defines it: the simulated run's (the benchmark's
 * definition, when that is the metric and the run exists), else the fluid point's.
 */
export function reportedTpsPerUser(pt: E2ePoint, metric: E2eParams['tpsPerUserMetric']): number {
  return metric === 'benchmark' && pt.tpsPerUserRun !== undefined ? pt.tpsPerUserRun : pt.tpsPerUser;
}

/** One row per published end-to-end number the result can be compared with (quantity, setting, published, modeled, error). */
export function e2eValidation(res: E2eResult): ValidationRow[] {
  const rows: ValidationRow[] = [];
  if (!isPublishedSetting(res)) return rows;
  const setting = (b: readonly [number, number]) =>
    `${res.model}, ${res.profile.id}, ISL ${res.params.isl}, OSL ${res.params.osl}, ratio ${res.params.inputRatio}, TPS/user ${b[0]}–${b[1]}`;
  const row = (
    quantity: string,
    measure: E2eMeasure,
    s: string,
    published: number,
    source: string,
    modeled: number | null,
    extra: Pick<ValidationRow, 'comparison' | 'experiment' | 'differs' | 'notModeled'>,
  ): ValidationRow => ({
    quantity,
    measure,
    setting: s,
    published,
    source,
    modeled,
    error: modeled === null ? null : modeled / published - 1,
    kind: 'validation',
    ...extra,
  });
  const noBest = 'no deployment the model searched lands in this TPS/user band (docs/e2e.md says why)';
  const clientsAt =
    res.params.concurrencyFactor === 1
      ? "the reproduction's concurrency (batch × generation GPUs"
      : `C = ${clientsExpr(res.params)} (not the reproduction's concurrency`;
  const userTps = (pt: E2ePoint) => reportedTpsPerUser(pt, res.params.tpsPerUserMetric);
  const modeledRepro = (experiment: string) =>
    res.reproduction.find((r) => r.experiment === experiment)?.modeled ?? null;
  /** Median TTFT at the reproduction deployment the band maps to, with the mapping stated. */
  const ttftRow = (pub: (typeof PUBLISHED_E2E)[number], strategy: Strategy): ValidationRow => {
    const name = strategy === 'dep' ? 'DEP' : 'DWDP';
    const { base, variants } = reproductionFor(pub.band, strategy);
    const quantity = `median TTFT ${name}, ms (at the reproduction's deployment)`;
    const published = strategy === 'dep' ? pub.ttftDep : pub.ttftDwdp;
    const source = `${BLOG}, Table 5`;
    if (base === null)
      return row(quantity, 'median-ttft', setting(pub.band), published, source, null, {
        comparison: 'reproduction-deployment',
        experiment: null,
        differs: [],
        notModeled: `no ${name} experiment of the reproduction config (dwdp_reproduce.yaml) covers this band; none is substituted`,
      });
    const pt = modeledRepro(base.experiment);
    const fmtMs = (x: number) => x.toFixed(0);
    const others = variants.map((v) => {
      const m = modeledRepro(v.experiment);
      return `${v.experiment} (${v.ctxGpus} context GPUs) ${m === null ? 'does not fit' : `${fmtMs(m.ttftMedianMs)} ms`}`;
    });
    const differs = [
      `comparison: at the reproduction's deployment ${base.experiment} (${base.ctxGpus} context + ${base.genEp} generation GPUs, ` +
        `EP${base.genEp} batch ${base.batch} MTP${base.mtp}${base.eplb ? ' EPLB' : ''}; dwdp_reproduce.yaml at 6ed140e)`,
      `mapping: the published band ${pub.band[0]}–${pub.band[1]} lies within the experiment range ${base.band[0]}–${base.band[1]}, ` +
        `the only one containing it; which experiment of that range gave the published point is not stated — the one named ` +
        `without a suffix is taken` +
        (others.length > 0 ? `; the range's other ${name} experiments model ${others.join(', ')}` : ''),
      pt === null
        ? 'the deployment does not fit the model’s memory budget'
        : `the model's TPS/user at this deployment: ${userTps(pt).toFixed(1)} ` +
          `(${inBand(userTps(pt), pub.band) ? 'inside' : 'outside'} the published band; ` +
          `${res.params.tpsPerUserMetric === 'benchmark' ? "the benchmark's OSL ÷ end-to-end latency in the simulated run; " : ''}` +
          `decode rate ${pt.decodeTpsPerUser.toFixed(1)}; bound by ${pt.bottleneck}); TTFT: median of a simulated benchmark ` +
          `run at ${clientsAt} clients, src/sim/e2e/ttft-queue.ts)`,
      'the blog’s runs used TensorRT-LLM commit 3a89495, the reproduction config is read at 6ed140e: that it names the deployments ' +
        'the blog measured is an assumption (the blog does not list its deployments)',
    ];
    return row(quantity, 'median-ttft', setting(pub.band), published, source, pt?.ttftMedianMs ?? null, {
      comparison: 'reproduction-deployment',
      experiment: base.experiment,
      differs,
      notModeled:
        pt === null ? `${base.experiment} does not fit the model's memory budget (generation or context HBM)` : null,
    });
  };
  const inBands: number[] = [];
  for (const pub of PUBLISHED_E2E) {
    const b = res.bands.find((x) => x.tpsPerUser[0] === pub.band[0] && x.tpsPerUser[1] === pub.band[1]);
    if (!b) continue;
    const note = pub.band[0] === 60 ? ' (Table 5: 1.12)' : '';
    rows.push(
      row(
        'TPS/GPU speedup DWDP/DEP (model: best vs best in the band)',
        'tps-per-gpu-ratio',
        setting(pub.band),
        pub.speedup,
        `${BLOG}, Table 4${note}`,
        b.speedupTpsPerGpu,
        {
          comparison: 'best-in-band',
          experiment: null,
          differs: BEST_IN_BAND_DIFFERS,
          notModeled: b.speedupTpsPerGpu === null ? noBest : null,
        },
      ),
    );
    rows.push(ttftRow(pub, 'dep'), ttftRow(pub, 'dwdp'));
    if (pub.band[1] <= 100 && b.speedupTpsPerGpu !== null) inBands.push(b.speedupTpsPerGpu);
  }
  if (inBands.length > 0)
    rows.push(
      row(
        'output TPS/GPU gain, mean over the bands within 20–100 (model: best vs best in each band)',
        'tps-per-gpu-ratio',
        `${res.model}, ${res.profile.id}, ISL ${res.params.isl}, OSL ${res.params.osl}`,
        PUBLISHED_HEADLINE,
        'TensorRT-LLM tech blog 19, introduction; arXiv:2604.01621 abstract (+8.8 %)',
        inBands.reduce((a, x) => a + x, 0) / inBands.length,
        { comparison: 'best-in-band', experiment: null, differs: BEST_IN_BAND_DIFFERS, notModeled: null },
      ),
    );
  return rows;
}

// ---------------------------------------------------------------------------------------
// How ill-conditioned a TTFT row is (an analysis of the model at the row's deployment: nothing
// in the model changes, and nothing found here is used as a parameter)
//
// Station load, from the fluid operating point's own quantities (rate-match.ts):
//   context     ρ_ctx = X / X_ctx(bMax),  X_ctx(bMax) = ctxGpus · bMax · 1000 / t(bMax)
//               (the context pool's capacity at its full batch; 1 exactly when it is the bound)
//   generation  ρ_gen = requests in generation / (batch × GPUs) = b_g / batch
//
// Rate-equivalent error: the scale s on every context step time of the simulated run (which reads
// the deployment, not its fluid point) at which its median TTFT equals the published one, by bisection
// over [lo, hi] (RATE_EQUIVALENT). f(s) = median TTFT at scale s; f(1) is the row's modeled
// value. The bracket starts at [lo, 1] when f(1) > target and [1, hi] when f(1) < target, needs
// f(lo) < target (resp. f(hi) ≥ target) — else "not reachable within [lo, hi]" — and keeps
// f(a) < target ≤ f(b) while halving until b − a ≤ tolerance: at most
// ⌈log2(max(1 − lo, hi − 1) / tolerance)⌉ + 2 simulated runs. f is a median of a finite seeded
// run, so it need not be monotone: every sample is kept and the result says whether they are
// non-decreasing in s (a crossing found where they are not is one crossing, not the only one).

/**
 * The context step-time scales the rate-equivalent search spans, and the bracket width it stops at:
 * a factor of two either way (a miss that needs more is not one of conditioning, and is reported
 * as not reachable), and 0.001 — the printed resolution, a tenth of a percent of step time.
 */
export const RATE_EQUIVALENT = { lo: 0.5, hi: 2, tolerance: 0.001 } as const;

/** A deployment's station loads at its fluid operating point. */
export interface StationLoad {
  /** Throughput ÷ the context pool's capacity at its full batch. */
  context: number;
  /** Requests in generation ÷ (batch × generation GPUs). */
  generation: number;
  /** The station that bounds the fluid point. */
  bottleneck: OperatingPoint['bottleneck'];
}

/** The station loads of a point `evaluate` returned. */
export function stationLoad(res: Pick<E2eResult, 'context'>, pt: E2ePoint): StationLoad {
  const curve = res.context[pt.strategy];
  const capacity = ctxThroughput({ ctxGpus: pt.ctxGpus, ctxStepMs: (b) => contextStepMs(curve, b) }, curve.bMax);
  return {
    context: pt.requestsPerS / capacity,
    generation: pt.genBatch / pt.config.gen.batch,
    bottleneck: pt.bottleneck,
  };
}

/** One evaluation of the search: a context step-time scale and the simulated median TTFT there. */
export interface ScaleSample {
  scale: number;
  ttftMs: number;
}

export interface RateEquivalent {
  /** The published value searched for, ms. */
  target: number;
  range: [number, number];
  /** The final bracket, f(a) < target ≤ f(b) (both ends equal when f(1) = target); null when not reachable in range. */
  bracket: [ScaleSample, ScaleSample] | null;
  /** The bracket's midpoint (context step time × scale); null when not reachable. */
  scale: number | null;
  /** scale − 1: the relative change of every context step time that gives the published TTFT; null when not reachable. */
  change: number | null;
  /** Every evaluation, s = 1 (the modeled value) included, by scale. */
  samples: ScaleSample[];
  /**
   * How ill-conditioned the row is: ln(target / f(1)) ÷ ln(scale), the secant elasticity of the
   * median TTFT to the context step time between the model's point and the crossing (1: TTFT in
   * proportion to the step; 10: a 1 % slower context, 10 % longer TTFT); null when not reachable
   * or the scale is 1.
   */
  elasticity: number | null;
  /** Whether the samples' median TTFT is non-decreasing in the scale. */
  monotone: boolean;
  /** Simulated runs the search took (s = 1 is the row's own). */
  runs: number;
}

/**
 * The scale s at which f(s) crosses `target`, by bisection (see above). `atOne` is f(1), known
 * already. Pure: f is called at most ⌈log2(max(1 − lo, hi − 1) / tolerance)⌉ + 2 times.
 */
export function scaleForTarget(
  f: (scale: number) => number,
  target: number,
  atOne: number,
  range: { lo: number; hi: number; tolerance: number } = RATE_EQUIVALENT,
): RateEquivalent {
  const { lo, hi, tolerance } = range;
  if (!(lo > 0 && lo < 1 && hi > 1 && Number.isFinite(hi)))
    throw new Error(`rate equivalent: the range must satisfy 0 < lo < 1 < hi, got [${lo}, ${hi}]; e.g. [0.5, 2]`);
  if (!(tolerance > 0)) throw new Error(`rate equivalent: tolerance must be > 0, got ${tolerance}; e.g. 0.001`);
  if (!(target > 0 && Number.isFinite(target)))
    throw new Error(`rate equivalent: target must be a positive number, got ${target}`);
  if (!Number.isFinite(atOne)) throw new Error(`rate equivalent: f(1) must be finite, got ${atOne}`);
  const samples: ScaleSample[] = [{ scale: 1, ttftMs: atOne }];
  const at = (scale: number): ScaleSample => {
    const ttftMs = f(scale);
    if (!Number.isFinite(ttftMs)) throw new Error(`rate equivalent: f(${scale}) is not finite (${ttftMs})`);
    const x = { scale, ttftMs };
    samples.push(x);
    return x;
  };
  let bracket: [ScaleSample, ScaleSample] | null;
  if (atOne === target) bracket = [samples[0], samples[0]];
  else {
    bracket = atOne > target ? [at(lo), samples[0]] : [samples[0], at(hi)];
    if (!(bracket[0].ttftMs < target && target <= bracket[1].ttftMs)) bracket = null;
    const cap = Math.ceil(Math.log2(Math.max(1 - lo, hi - 1) / tolerance)) + 1;
    for (let i = 0; bracket !== null && bracket[1].scale - bracket[0].scale > tolerance && i < cap; i++) {
      const mid = at((bracket[0].scale + bracket[1].scale) / 2);
      bracket = mid.ttftMs < target ? [mid, bracket[1]] : [bracket[0], mid];
    }
  }
  samples.sort((a, b) => a.scale - b.scale);
  const scale = bracket === null ? null : (bracket[0].scale + bracket[1].scale) / 2;
  return {
    target,
    range: [lo, hi],
    bracket,
    scale,
    change: scale === null ? null : scale - 1,
    elasticity: scale === null || scale === 1 ? null : Math.log(target / atOne) / Math.log(scale),
    samples,
    monotone: samples.every((x, i) => i === 0 || samples[i - 1].ttftMs <= x.ttftMs),
    runs: samples.length - 1,
  };
}

/** A TTFT row's conditioning at its deployment: the station loads and the rate-equivalent error. */
export interface TtftConditioning {
  load: StationLoad;
  /** Null when not searched (`rateEquivalent: false`). */
  rateEquivalent: RateEquivalent | null;
}

/**
 * The conditioning of a median-TTFT row of `res` (its reproduction deployment rerun through the
 * evaluator `res` came from, runE2eEvaluated); null for any other row or one without a modeled point.
 * `rateEquivalent: false` skips the search (the loads alone cost no simulated run).
 */
export function ttftConditioning(
  res: E2eResult,
  ev: E2eEvaluator,
  row: ValidationRow,
  o: { rateEquivalent?: boolean } = {},
): TtftConditioning | null {
  if (row.measure !== 'median-ttft' || row.experiment === null || row.modeled === null) return null;
  const pt = res.reproduction.find((r) => r.experiment === row.experiment)?.modeled ?? null;
  if (pt === null) return null;
  // The simulated run reads the deployment (pt.config) alone, never the fluid point, and whether it
  // fits does not depend on the scale: each sample is one simulated run, no fluid point re-solved.
  const ttftAt = (s: number): number => ev.queuedTtft(pt, s).medianMs;
  return {
    load: stationLoad(res, pt),
    rateEquivalent: (o.rateEquivalent ?? true) ? scaleForTarget(ttftAt, row.published, pt.ttftMedianMs) : null,
  };
}
