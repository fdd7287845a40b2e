// Named rack-model scenarios and the JSON scenario files users write: what to sweep, on which
// hardware profile, and how each row is computed (src/sim/experiment.ts for forward steps,
// src/sim/serving.ts for a request stream). Everything a scenario produces is modeled.
//
// A scenario file (JSON):
//   { "name": "my-sweep", "description": "…", "mode": "step" | "serving",
//     "profile": "gb200-nvl72" | "h200-hgx" | "h100-hgx" | "b200-hgx" | "gb300-nvl72",
//     "model": "deepseek-r1" | "models/config.json",    // a preset, or an HF config.json (path
//                                                        // relative to the scenario file)
//     "base":  { "isl": 8192, "groupSize": 4, … },                 // ScenarioParams, optional (src/options/scenario.ts)
//     "sweep": { "param": "isl", "values": [1024, 8192] }           // one row per value, or
//     "rows":  [ { "contentionFix": false }, { "contentionFix": true } ] }   // explicit rows

import { configSummary, type MoeConfig } from '../model/config.ts';
import { OptionError, d } from '../options/error.ts';
import {
  SCENARIO_MODEL,
  EXPERT_LOADS,
  TOP_KEYS,
  checkScenarioProfile,
  checkScenarioValue,
  isModelPath,
  parseScenarioParams,
  resolveScenarioModel,
  scenarioParamDefaults,
  scenarioRowErrors,
} from '../options/scenario.ts';
import { deepseekR1, runStepRow, type DwdpKnobs, type StepParams, type StepRow } from './experiment.ts';
import { getProfile, type HardwareProfile } from '../hardware/profiles.ts';
import { runServing, type ServingParams, type ServingResult } from './serving.ts';
import { expertLoadsLabel } from './routing.ts';

/**
 * A scenario row's parameters, declared where they are read: the step experiment's (StepParams; its
 * batch caps are the serving run's too) and the serving run's (ServingParams).
 */
export interface ScenarioParams
  extends
    DwdpKnobs,
    Pick<
      StepParams,
      'format' | 'isl' | 'cv' | 'lengthLaw' | 'islRatio' | 'batch' | 'steps' | 'maxTokensPerBatch' | 'maxBatchRequests'
    >,
    Pick<ServingParams, 'ranks' | 'requests' | 'arrivalRatePerS'> {
  /** Serving: output lengths, mean and CV across requests. */
  osl: number;
  oslCv: number;
}

/** Every parameter's default, from its declaration (src/options/scenario.ts). */
export const DEFAULT_SCENARIO_PARAMS: ScenarioParams = scenarioParamDefaults() as unknown as ScenarioParams;

export type SweepParam = Exclude<keyof ScenarioParams, 'efficiency'>;

export interface ScenarioSpec {
  name: string;
  description?: string;
  mode?: 'step' | 'serving';
  profile?: string;
  /** A preset id or a config.json path relative to the scenario file (src/options/scenario.ts SCENARIO_MODEL). */
  model?: string;
  base?: Partial<ScenarioParams>;
  sweep?: { param: SweepParam; values: (number | boolean | string)[] };
  rows?: Partial<ScenarioParams>[];
}

export interface ServingSide {
  tpsPerGpu: number;
  ttftMs: { mean: number; p50: number; p90: number; p99: number };
  makespanMs: number;
  meanBatchRequests: number;
  meanBatchTokens: number;
  hiddenPullFraction: number;
}

export type ScenarioRow = StepRow & { serving?: { dep: ServingSide; dwdp: ServingSide } };

export interface Crossover {
  param: string;
  /** Where DWDP/DEP changes sign: between these two values (DWDP ahead on the `dwdpAhead` side). */
  between: [number, number];
  /** Where the ratio crosses 1 between them, by linear interpolation (the ratio: depOverDwdp
   *  for step scenarios, TPS/GPU DWDP ÷ DEP for serving ones; > 1 means DWDP is ahead). */
  estimate: number;
  dwdpAhead: 'above' | 'below';
}

export interface ScenarioResult {
  scenario: string;
  modeled: true;
  description: string;
  mode: 'step' | 'serving';
  profile: { id: string; name: string; measured: boolean };
  /** The model the rows ran (configSummary: name, family, shapes, routing, layers). */
  model: string;
  /** The parameter the rows vary, when exactly one does (a sweep). */
  varies: string | null;
  /** Every parameter that differs between rows. */
  varying: string[];
  rows: ScenarioRow[];
  crossover: Crossover | null;
  /** Efficiency keys some row sets itself (its `efficiency` object), which the profile's calibration then does not decide. */
  efficiencyOverrides: string[];
}

const sweep = (param: SweepParam, values: (number | boolean | string)[]) => ({ param, values });

export const SCENARIOS: Readonly<Record<string, ScenarioSpec>> = {
  'r1-isl-sweep': {
    name: 'r1-isl-sweep',
    description: 'DeepSeek-R1 NVFP4, DWDP4 vs DEP4, batch 1 per rank, input length 1K–32K',
    base: { groupSize: 4, batch: 1, cv: 0 },
    sweep: sweep('isl', [1024, 8192, 16384, 32768]),
  },
  'r1-imbalance': {
    name: 'r1-imbalance',
    description:
      'ISL 8K, batch 1, N=4: per-rank input lengths vary with CV 0–40% (DEP waits for the slowest rank every MoE layer)',
    base: { groupSize: 4, batch: 1, isl: 8192, steps: 16 },
    sweep: sweep('cv', [0, 0.1, 0.2, 0.3, 0.4]),
  },
  'r1-group-size': {
    name: 'r1-group-size',
    description: 'ISL 8K, batch 1: group size N = 2, 4, 8 (L = P = E/N; DWDP pulls (N−1)/N of every layer)',
    base: { batch: 1, isl: 8192 },
    sweep: sweep('groupSize', [2, 4, 8]),
  },
  'r1-contention': {
    name: 'r1-contention',
    description: 'ISL 8K, N=4: copy-engine contention fix (2 MiB slices round-robin) off/on, balanced and with CV 20%',
    base: { groupSize: 4, batch: 1, isl: 8192, steps: 8 },
    rows: [
      { contentionFix: false, cv: 0 },
      { contentionFix: true, cv: 0 },
      { contentionFix: false, cv: 0.2 },
      { contentionFix: true, cv: 0.2 },
    ],
  },
  'r1-batch-sweep': {
    name: 'r1-batch-sweep',
    description: 'ISL 4K, N=4: requests per rank per step 1–8 (more tokens per layer hide the pull)',
    base: { groupSize: 4, isl: 4096 },
    sweep: sweep('batch', [1, 2, 4, 8]),
  },
  'r1-link-sweep': {
    name: 'r1-link-sweep',
    description: 'ISL 8K, N=4, batch 1: link bandwidth per direction (GB/s) — where DWDP stops paying',
    base: { groupSize: 4, batch: 1, isl: 8192 },
    sweep: sweep('linkGBps', [225, 450, 900, 1800]),
  },
  'r1-format': {
    name: 'r1-format',
    description: 'ISL 8K, N=4, batch 1: routed-expert weight format (bytes pulled per expert)',
    base: { groupSize: 4, batch: 1, isl: 8192 },
    sweep: sweep('format', ['nvfp4', 'fp8']),
  },
  'h200-isl-sweep': {
    name: 'h200-isl-sweep',
    description: 'For contrast: H200 HGX, DWDP8 vs DEP8 (NVFP4 weights expanded to FP8 math), batch 1, ISL 1K–32K',
    profile: 'h200-hgx',
    base: { groupSize: 8, batch: 1, cv: 0 },
    sweep: sweep('isl', [1024, 8192, 16384, 32768]),
  },
  'r1-nvl72-serving': {
    name: 'r1-nvl72-serving',
    mode: 'serving',
    description:
      'Full rack: 72 GPUs in groups of 4, 1000 requests (ISL 8K, CV 20%, OSL 1K), up to 16K tokens per batch, backlog',
    base: { groupSize: 4, ranks: 72, requests: 1000, isl: 8192, cv: 0.2, maxTokensPerBatch: 16384 },
  },
  'r1-serving-isl': {
    name: 'r1-serving-isl',
    mode: 'serving',
    description: 'Full rack, 1000 requests with CV 20%, groups of 4, up to 32K tokens per batch: mean ISL 2K–16K',
    base: { groupSize: 4, ranks: 72, requests: 1000, cv: 0.2, maxTokensPerBatch: 32768 },
    sweep: sweep('isl', [2048, 4096, 8192, 16384]),
  },
};

/** Check and normalize a parameter object; errors (OptionError) name the key's path. */
export function parseParams(x: unknown, where: string): Partial<ScenarioParams> {
  return parseScenarioParams(x, where) as Partial<ScenarioParams>;
}

/** A scenario from parsed JSON (a file's content); errors name the key at fault. */
export function parseScenario(json: unknown, fallbackName = 'scenario'): ScenarioSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error('scenario: expected a JSON object');
  const j = json as Record<string, unknown>;
  const known = ['name', 'description', 'mode', 'profile', SCENARIO_MODEL.key, 'base', 'sweep', 'rows'];
  for (const k of Object.keys(j))
    if (!known.includes(k)) throw new Error(`scenario.${k}: unknown key (known: ${known.join(', ')})`);
  const name = j.name === undefined ? fallbackName : String(j.name);
  if (j.mode !== undefined && j.mode !== 'step' && j.mode !== 'serving')
    throw new Error(`scenario.mode: expected "step" or "serving", got ${JSON.stringify(j.mode)}`);
  checkScenarioProfile(j.profile);
  // A preset is checked here; a config.json path is read where the file is known (resolveScenarioModel).
  if (j.model !== undefined && (typeof j.model !== 'string' || !isModelPath(j.model)))
    resolveScenarioModel(j.model, undefined);
  const spec: ScenarioSpec = {
    name,
    description: j.description === undefined ? undefined : String(j.description),
    mode: j.mode as ScenarioSpec['mode'],
    profile: j.profile === undefined ? undefined : String(j.profile),
    model: j.model as string | undefined,
    base: parseParams(j.base, 'scenario.base'),
  };
  if (j.sweep !== undefined && j.rows !== undefined)
    throw new Error('scenario: give either "sweep" or "rows", not both');
  if (j.sweep !== undefined) {
    const s = j.sweep as Record<string, unknown>;
    if (
      typeof s !== 'object' ||
      s === null ||
      typeof s.param !== 'string' ||
      !Array.isArray(s.values) ||
      s.values.length === 0
    ) {
      throw new Error('scenario.sweep: expected {"param": name, "values": [at least one value]}');
    }
    // Each value must be a valid value of that parameter.
    const sweepable = TOP_KEYS.filter((k) => k !== 'efficiency' && k !== EXPERT_LOADS.key);
    if (!sweepable.includes(s.param))
      throw new OptionError(
        'scenario.sweep.param',
        s.param,
        d`is not a parameter a sweep can vary (known: ${sweepable.join(', ')})`,
      );
    s.values.forEach((v, i) => parseParams({ [s.param as string]: v }, `scenario.sweep.values[${i}]`));
    spec.sweep = { param: s.param as SweepParam, values: s.values as (number | boolean | string)[] };
  }
  if (j.rows !== undefined) {
    if (!Array.isArray(j.rows) || j.rows.length === 0)
      throw new Error('scenario.rows: expected a non-empty array of parameter objects');
    spec.rows = j.rows.map((r, i) => parseParams(r, `scenario.rows[${i}]`));
  }
  return spec;
}

/**
 * Checks a whole scenario before any work: every value against its declaration (built-in
 * scenarios included), then each full row against the rules between keys and the work limit
 * (src/options/scenario.ts). Throws the first problem as an OptionError naming the key's path.
 */
export function checkScenario(spec: ScenarioSpec, experts: number): void {
  const mode = spec.mode ?? 'step';
  const typed = (obj: object | undefined, where: string) => {
    for (const [k, v] of Object.entries(obj ?? {})) {
      if (k === 'efficiency')
        for (const [ek, ev] of Object.entries(v as object))
          checkScenarioValue(`${where}.efficiency.${ek}`, `efficiency.${ek}`, ev);
      else if (k === EXPERT_LOADS.key) parseScenarioParams({ [k]: v }, where);
      else checkScenarioValue(`${where}.${k}`, k, v);
    }
  };
  typed(spec.base, 'scenario.base');
  spec.rows?.forEach((r, i) => typed(r, `scenario.rows[${i}]`));
  spec.sweep?.values.forEach((v, i) => typed({ [spec.sweep!.param]: v }, `scenario.sweep.values[${i}]`));
  const params = scenarioRows(spec);
  const baseKeys = Object.keys(spec.base ?? {});
  params.forEach((p, i) => {
    const [where, own] = spec.sweep
      ? [`scenario.sweep.values[${i}]`, [spec.sweep.param]]
      : spec.rows
        ? [`scenario.rows[${i}]`, Object.keys(spec.rows[i])]
        : ['scenario.base', []];
    const given = new Set<string>([...baseKeys, ...own]);
    const errors = scenarioRowErrors(mode, p as unknown as Record<string, unknown>, given, where, experts);
    if (errors.length > 0) throw errors[0];
  });
}

/** The parameters of every row of a scenario. */
export function scenarioRows(spec: ScenarioSpec): ScenarioParams[] {
  const base = { ...DEFAULT_SCENARIO_PARAMS, ...spec.base };
  if (spec.sweep) return spec.sweep.values.map((v) => ({ ...base, [spec.sweep!.param]: v }) as ScenarioParams);
  if (spec.rows) return spec.rows.map((r) => ({ ...base, ...r }));
  return [base];
}

/** The parameters whose values differ between rows. */
export function variedParams(rows: readonly ScenarioParams[]): SweepParam[] {
  if (rows.length < 2) return [];
  const keys = new Set(rows.flatMap((r) => Object.keys(r))) as Set<SweepParam>;
  return [...keys].filter((k) => k !== ('efficiency' as string) && rows.some((r) => r[k] !== rows[0][k]));
}

/** Where a DWDP-over-DEP ratio crosses 1 along a numeric parameter, interpolated linearly; null if it never does. */
export function findCrossover(xs: readonly number[], ratios: readonly number[], param: string): Crossover | null {
  for (let i = 0; i + 1 < xs.length; i++) {
    const a = ratios[i] - 1;
    const b = ratios[i + 1] - 1;
    if (a === 0 || b === 0 || a * b < 0) {
      const estimate = a === b ? xs[i] : xs[i] + ((xs[i + 1] - xs[i]) * (0 - a)) / (b - a);
      return { param, between: [xs[i], xs[i + 1]], estimate, dwdpAhead: b > a ? 'above' : 'below' };
    }
  }
  return null;
}

function servingSide(r: ServingResult): ServingSide {
  return {
    tpsPerGpu: r.tpsPerGpu,
    ttftMs: r.ttftMs,
    makespanMs: r.makespanMs,
    meanBatchRequests: r.meanBatchRequests,
    meanBatchTokens: r.meanBatchTokens,
    hiddenPullFraction: r.hiddenPullFraction,
  };
}

export interface RunScenarioOptions {
  /** Replaces the scenario's profile (e.g. this-device). */
  profile?: HardwareProfile;
  /** The model, already resolved (a scenario naming a config.json path needs it: the CLI reads the file). */
  model?: MoeConfig;
  /** Called after each row (progress). */
  onRow?: (row: ScenarioRow, index: number) => void;
}

export function runScenario(spec: ScenarioSpec, o: RunScenarioOptions = {}): ScenarioResult {
  const profile = o.profile ?? getProfile(spec.profile ?? 'gb200-nvl72');
  const model = o.model ?? (spec.model === undefined ? deepseekR1() : resolveScenarioModel(spec.model, undefined));
  const mode = spec.mode ?? 'step';
  checkScenario(spec, model.experts);
  const params = scenarioRows(spec);
  const varying = variedParams(params);
  const rows: ScenarioRow[] = params.map((p, i) => {
    const step = runStepRow({ ...p, profile, model, steps: mode === 'serving' ? 1 : p.steps }).row;
    let row: ScenarioRow = step;
    if (mode === 'serving') {
      const sp = {
        ...p,
        profile,
        model,
        isl:
          p.lengthLaw === 'uniform-ratio'
            ? { law: p.lengthLaw, isl: p.isl, islRatio: p.islRatio ?? 1 }
            : { law: p.lengthLaw, mean: p.isl, cv: p.cv },
        osl: { mean: p.osl, cv: p.oslCv },
      };
      const dep = runServing(sp, 'dep');
      const dwdp = runServing(sp, 'dwdp');
      // Per-step times from the stream (mean over non-empty rank steps); compute/prefetch from the step row.
      row = {
        ...step,
        batch: dwdp.meanBatchRequests,
        tCompute: dwdp.computeMsPerStep,
        computeOverPrefetch: step.tPrefetch > 0 ? dwdp.computeMsPerStep / step.tPrefetch : Infinity,
        tDep: dep.stepMs,
        tDwdp: dwdp.stepMs,
        depOverDwdp: dep.stepMs / dwdp.stepMs,
        breakdown: { dep: dep.breakdownPerStep, dwdp: dwdp.breakdownPerStep },
        tpsPerGpu: { dep: dep.tpsPerGpu, dwdp: dwdp.tpsPerGpu },
        hiddenPullFraction: dwdp.hiddenPullFraction,
        serving: { dep: servingSide(dep), dwdp: servingSide(dwdp) },
      };
    }
    // Every varied parameter the row's own fields do not report (splitMerge, depDispatch, …), so tables and JSON show it.
    // Given loads are shown by a label (the arrays are the scenario's, not the table's).
    for (const k of varying)
      if (!(k in row))
        (row as unknown as Record<string, unknown>)[k] =
          k === EXPERT_LOADS.key && p.expertLoads ? expertLoadsLabel(p.expertLoads) : p[k];
    o.onRow?.(row, i);
    return row;
  });
  const varies = varying.length === 1 ? varying[0] : null;
  let crossover: Crossover | null = null;
  if (varies && params.every((p) => typeof p[varies] === 'number')) {
    crossover = findCrossover(
      params.map((p) => p[varies] as number),
      rows.map((r) => (mode === 'serving' ? r.tpsPerGpu.dwdp / r.tpsPerGpu.dep : r.depOverDwdp)),
      varies,
    );
  }
  return {
    scenario: spec.name,
    modeled: true,
    description: spec.description ?? '',
    mode,
    profile: { id: profile.id, name: profile.name, measured: profile.measured },
    model: configSummary(model),
    varies,
    varying,
    rows,
    crossover,
    efficiencyOverrides: [...new Set(params.flatMap((p) => Object.keys(p.efficiency ?? {})))].sort(),
  };
}
