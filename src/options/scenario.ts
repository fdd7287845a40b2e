// The rack model's scenario parameters, declared once: every key a scenario file's "base",
// "rows" and "sweep" may set, with its kind, range, default, unit, help and the modes that
// read it, and the rules between keys (a serving rack is whole groups; a DWDP placement is
// valid; the work a row asks for is estimated and refused before it starts). src/sim/scenarios.ts
// parses files and checks built-in scenarios with it; errors are OptionError data whose option
// is the key's path in the file ("base.groupSize", "rows[2].efficiency.gemm").
//
// Pure module (Node and browser).
import { PlacementError, makePlacement } from '../dwdp/placement.ts';
import { WEIGHT_FORMATS } from '../model/formats.ts';
import { ConfigError, parseMoeConfig, type MoeConfig } from '../model/config.ts';
import { PRESETS, loadPreset } from '../model/presets.ts';
import { parseJsonText } from '../util/json.ts';
import { MAX_SEED } from '../util/random.ts';
import { LENGTH_LAWS } from '../workload/lengths.ts';
import { DEFAULT_EFFICIENCY, ROOFLINE_TEXT } from '../hardware/efficiency.ts';
import { PROFILES } from '../hardware/profiles.ts';
import { DEFAULT_STEP_PARAMS as S } from '../sim/experiment.ts';
import { DEP_DISPATCHES } from '../sim/cost-model.ts';
import { SPLIT_MERGES } from '../sim/programs.ts';
import { expertLoadsProblem } from '../sim/routing.ts';
import { DEFAULT_SERVING_MAX_TOKENS } from '../sim/serving.ts';
import { OptionError, d, ref } from './error.ts';
import { checkValue, parseJson, type OptionDecl, type OptionValue } from './schema.ts';

export type ScenarioMode = 'step' | 'serving';

export interface ScenarioParamDecl extends OptionDecl {
  /** Modes that read it (absent: both). */
  modes?: readonly ScenarioMode[];
}

const STEP: readonly ScenarioMode[] = ['step'];
const SERVING: readonly ScenarioMode[] = ['serving'];

/** Fractions of peak: above 0 (0 would make every op take forever) and at most 1. */
const fraction = (key: keyof typeof DEFAULT_EFFICIENCY, help: string): ScenarioParamDecl => ({
  key: `efficiency.${key}`,
  kind: 'number',
  min: 0,
  minExclusive: true,
  max: 1,
  default: DEFAULT_EFFICIENCY[key],
  label: `efficiency.${key}`,
  help,
});

/**
 * Every scenario parameter. Step and efficiency defaults are the model's own (src/sim/experiment.ts,
 * src/hardware/efficiency.ts); an efficiency key's declared default is the sourced one, which a
 * profile's calibration replaces (gb200-nvl72: the Table 3 fit, src/hardware/gb200-nvl72-fit.json).
 */
export const SCENARIO_PARAMS: readonly ScenarioParamDecl[] = [
  {
    key: 'format',
    kind: 'choice',
    choices: WEIGHT_FORMATS,
    default: S.format,
    label: 'format',
    help: 'routed-expert weight format',
  },
  {
    key: 'isl',
    kind: 'int',
    min: 1,
    max: 1 << 20,
    default: S.isl,
    unit: 'tokens',
    label: 'isl',
    help: 'mean input length',
  },
  {
    key: 'cv',
    kind: 'number',
    min: 0,
    max: 2,
    default: S.cv,
    label: 'cv',
    help: 'coefficient of variation of input lengths',
  },
  {
    key: 'lengthLaw',
    kind: 'choice',
    choices: LENGTH_LAWS,
    default: 'lognormal',
    label: 'lengthLaw',
    help: "law of input lengths (src/workload/lengths.ts): lognormal, gamma (the emulation's), uniform-ratio (TensorRT-LLM)",
  },
  {
    key: 'islRatio',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1,
    default: 1,
    label: 'islRatio',
    help: 'uniform-ratio: lengths uniform in [islRatio·isl, isl], isl the longest',
  },
  {
    key: 'batch',
    kind: 'int',
    min: 1,
    max: 1024,
    default: S.batch,
    modes: STEP,
    label: 'batch',
    help: 'requests per rank per step',
  },
  {
    key: 'groupSize',
    kind: 'int',
    min: 1,
    max: 256,
    default: S.groupSize,
    label: 'groupSize',
    help: 'ranks per DWDP/DEP group',
  },
  {
    key: 'steps',
    kind: 'int',
    min: 1,
    max: 1024,
    default: S.steps,
    modes: STEP,
    label: 'steps',
    help: 'forward steps per row',
  },
  {
    key: 'seed',
    kind: 'int',
    min: 0,
    max: MAX_SEED,
    default: S.seed,
    label: 'seed',
    help: 'seed of lengths and arrivals',
  },
  {
    key: 'contentionFix',
    kind: 'onoff',
    default: S.contentionFix,
    label: 'contentionFix',
    help: 'slice pulls round-robin across peers',
  },
  {
    key: 'interference',
    kind: 'onoff',
    default: true,
    label: 'interference',
    help: 'compute slows by efficiency.interference while a pull into or out of its rank moves bytes (off: never)',
  },
  {
    key: 'straggle',
    kind: 'onoff',
    default: true,
    label: 'straggle',
    help: 'each rank’s MoE layer takes a random extra time (mean efficiency.straggle × its compute); DEP’s all-to-all waits for the slowest (off: never)',
  },
  {
    key: 'roofline',
    kind: 'onoff',
    default: false,
    label: 'roofline',
    help: `roofline mode: ${ROOFLINE_TEXT} — the model’s FLOPs and bytes alone, as a roofline estimate is defined (off: calibrated)`,
  },
  {
    key: 'splitWeights',
    kind: 'onoff',
    default: S.splitWeights,
    label: 'splitWeights',
    help: 'grouped GEMM reads each source in place',
  },
  {
    key: 'prefetch',
    kind: 'onoff',
    default: true,
    label: 'prefetch',
    help: 'DWDP prefetches every remote expert into the slots (on), or pulls the routed ones after routing (off)',
  },
  {
    key: 'prefetchDepth',
    kind: 'int',
    min: 1,
    max: 8,
    default: S.prefetchDepth,
    label: 'prefetchDepth',
    help: 'prefetch slots',
  },
  {
    key: 'linkGBps',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1e6,
    unit: 'GB/s',
    label: 'linkGBps',
    help: "link bandwidth per direction (default: the profile's)",
  },
  {
    key: 'local',
    kind: 'int',
    min: 1,
    max: 1 << 16,
    label: 'local',
    help: 'DWDP L, experts held (default: minimal memory)',
  },
  { key: 'pull', kind: 'int', min: 0, max: 1 << 16, label: 'pull', help: 'DWDP P, experts pulled per peer' },
  {
    key: 'ranks',
    kind: 'int',
    min: 1,
    max: 4096,
    default: 72,
    modes: SERVING,
    label: 'ranks',
    help: 'ranks in the rack',
  },
  {
    key: 'requests',
    kind: 'int',
    min: 1,
    max: 1e6,
    default: 1000,
    modes: SERVING,
    label: 'requests',
    help: 'requests served',
  },
  {
    key: 'osl',
    kind: 'int',
    min: 1,
    max: 1 << 20,
    default: 1024,
    modes: SERVING,
    label: 'osl',
    help: 'mean output length',
  },
  {
    key: 'oslCv',
    kind: 'number',
    min: 0,
    max: 2,
    default: 0,
    modes: SERVING,
    label: 'oslCv',
    help: 'CV of output lengths',
  },
  {
    key: 'maxTokensPerBatch',
    kind: 'int',
    min: 1,
    max: 1 << 22,
    unit: 'tokens',
    label: 'maxTokensPerBatch',
    help:
      `tokens per batch at most, batches filled from the request queue (default: ${DEFAULT_SERVING_MAX_TOKENS} in serving; ` +
      'in step mode giving it replaces batch)',
  },
  {
    key: 'maxBatchRequests',
    kind: 'int',
    min: 1,
    max: 1 << 20,
    label: 'maxBatchRequests',
    help: 'requests per batch at most, batches filled from the request queue (default: no cap; in step mode giving it replaces batch)',
  },
  {
    key: 'routingSkew',
    kind: 'number',
    min: 0,
    max: 4,
    default: 0,
    label: 'routingSkew',
    help: "Zipf exponent of hot experts, the emulation's generator (0: uniform routing; no EPLB)",
  },
  {
    key: 'depDispatch',
    kind: 'choice',
    choices: DEP_DISPATCHES,
    default: 'all-to-all',
    label: 'depDispatch',
    help: "DEP's exchange: all-to-all (TensorRT-LLM) or allgather + reduce-scatter (SGLang's DP-attention EP)",
  },
  {
    key: 'splitMerge',
    kind: 'choice',
    choices: SPLIT_MERGES,
    default: 'local',
    label: 'splitMerge',
    help: "splitWeights off: the merge copies the local shard into a full-size buffer (local, TensorRT-LLM's baseline) or the pulled experts",
  },
  {
    key: 'arrivalRatePerS',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1e9,
    modes: SERVING,
    label: 'arrivalRatePerS',
    help: 'Poisson arrivals per second (default: a backlog at t = 0)',
  },
  fraction('gemm', 'dense GEMM fraction of peak'),
  fraction('groupedGemm', 'grouped GEMM fraction of peak'),
  fraction('attention', 'attention fraction of peak'),
  fraction('memory', 'HBM fraction of peak'),
  fraction('link', 'link fraction of peak (one-sided pulls)'),
  fraction('allToAll', 'link fraction of peak reached by DEP all-to-all (dispatch, combine)'),
  {
    key: 'efficiency.launchUs',
    kind: 'number',
    min: 0,
    max: 1e6,
    default: DEFAULT_EFFICIENCY.launchUs,
    unit: 'µs',
    label: 'efficiency.launchUs',
    help: 'per kernel',
  },
  {
    key: 'efficiency.collectiveUs',
    kind: 'number',
    min: 0,
    max: 1e6,
    default: DEFAULT_EFFICIENCY.collectiveUs,
    unit: 'µs',
    label: 'efficiency.collectiveUs',
    help: 'per all-to-all phase',
  },
  {
    key: 'efficiency.othersPasses',
    kind: 'number',
    min: 0,
    max: 1e4,
    default: DEFAULT_EFFICIENCY.othersPasses,
    unit: 'passes',
    label: 'efficiency.othersPasses',
    help: 'small kernels per layer (norms, RoPE, quantize, permute) as read+write passes over the hidden state',
  },
  {
    key: 'efficiency.interference',
    kind: 'number',
    min: 0,
    max: 10,
    default: DEFAULT_EFFICIENCY.interference,
    label: 'efficiency.interference',
    help: 'compute runs 1/(1 + this) as fast while its rank’s pulls move bytes',
  },
  {
    key: 'efficiency.straggle',
    kind: 'number',
    min: 0,
    max: 10,
    default: DEFAULT_EFFICIENCY.straggle,
    label: 'efficiency.straggle',
    help: 'mean random extra time of a rank’s MoE layer (exponential), as a fraction of the layer’s compute',
  },
];

/**
 * The one scenario key whose value is not a scalar: the routing a run had, as data
 * (src/sim/routing.ts). Checked here (shape, signs, sums; the expert count per row), not by the
 * scalar schema.
 */
export const EXPERT_LOADS = {
  key: 'expertLoads',
  modes: STEP,
  help:
    'given routing: per MoE layer, per expert, fractions of the layer’s routed slots (each layer sums to 1; ' +
    'cycled over the model’s MoE layers); replaces uniform and routingSkew routing (default: none)',
} as const;

export const SCENARIO_PARAM: Readonly<Record<string, ScenarioParamDecl>> = Object.fromEntries(
  SCENARIO_PARAMS.map((p) => [p.key, p]),
);

/** Keys a sweep or a row may set at the top level (efficiency is an object of its own keys). */
export const TOP_KEYS: readonly string[] = [
  ...SCENARIO_PARAMS.filter((p) => !p.key.startsWith('efficiency.')).map((p) => p.key),
  'efficiency',
  EXPERT_LOADS.key,
];
const EFFICIENCY_KEYS = SCENARIO_PARAMS.filter((p) => p.key.startsWith('efficiency.')).map((p) => p.key.slice(11));

/** An error about the parameter at `path` (e.g. "rows[1].isl"). */
const at = (path: string, e: OptionError) =>
  new OptionError(
    path,
    e.value,
    e.detail,
    e.suggestion.map((s) => ({ ...s, option: path })),
  );

/** Checks a JSON object of parameters (a file's "base" or one of its "rows"); errors name the key's path. */
export function parseScenarioParams(x: unknown, where: string): Record<string, OptionValue | Record<string, number>> {
  if (x === undefined) return {};
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw new OptionError(where, JSON.stringify(x), d`must be an object of parameters (${TOP_KEYS.join(', ')})`);
  const out: Record<string, OptionValue | Record<string, number>> = {};
  for (const [k, v] of Object.entries(x)) {
    const path = `${where}.${k}`;
    if (k === 'efficiency') {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new OptionError(path, JSON.stringify(v), d`must be an object of ${EFFICIENCY_KEYS.join(', ')}`);
      const e: Record<string, number> = {};
      for (const [ek, ev] of Object.entries(v)) {
        const decl = SCENARIO_PARAM[`efficiency.${ek}`];
        if (!decl)
          throw new OptionError(
            `${path}.${ek}`,
            undefined,
            d`is not a parameter (known: ${EFFICIENCY_KEYS.join(', ')})`,
          );
        e[ek] = checkedJson(decl, ev, `${path}.${ek}`) as number;
      }
      out[k] = e;
      continue;
    }
    if (k === EXPERT_LOADS.key) {
      // Shape and sums here; the expert count is the model's, checked per row (scenarioRowErrors).
      const width = Array.isArray(v) && Array.isArray(v[0]) ? (v[0] as unknown[]).length : 0;
      const problem = expertLoadsProblem(v, width, Infinity);
      if (problem) throw new OptionError(path, JSON.stringify(v)?.slice(0, 80), d`${problem}`);
      out[k] = v as OptionValue;
      continue;
    }
    const decl = SCENARIO_PARAM[k];
    if (!decl) throw new OptionError(path, undefined, d`is not a parameter (known: ${TOP_KEYS.join(', ')})`);
    out[k] = checkedJson(decl, v, path);
  }
  return out;
}

function checkedJson(decl: ScenarioParamDecl, v: unknown, path: string): OptionValue {
  try {
    return parseJson(decl, v);
  } catch (e) {
    throw e instanceof OptionError ? at(path, e) : e;
  }
}

// ---------------------------------------------------------------------------------------
// Rules of a whole row, and the work it asks for

/**
 * Work limit per row, in rank-steps (one rank's forward step through every layer, scheduled
 * for DEP and for DWDP). A step row costs 2·groupSize·steps of them; a serving row about
 * 2·groupSize·batches + ranks, batches = ⌈requests ÷ min(maxBatchRequests, max(1, ⌊maxTokensPerBatch ÷ isl⌋))⌉.
 * Measured here (2 shared CPU cores, DeepSeek-R1 on GB200): 256 step-mode rank-steps took
 * about 1 s and 60 MB of heap, 1 608 serving rank-steps about 0.9 s; the limits keep a row
 * to roughly 15–20 s and about 1 GB.
 */
export const MAX_RANK_STEPS: Readonly<Record<ScenarioMode, number>> = { step: 4096, serving: 32768 };

/**
 * Requests a step row may draw when its batches are filled from the queue (groupSize × steps ×
 * requests per batch at the mean length): about 0.1 s of draws here, and what a fixed `batch`
 * at its limits asks for.
 */
export const MAX_STEP_REQUESTS = 1 << 21;

/** The mean request length of a row's law: isl, or for uniform-ratio the middle of [islRatio·isl, isl]. */
function meanRequestLength(p: Record<string, unknown>): number {
  const isl = p.isl as number;
  return p.lengthLaw === 'uniform-ratio' ? (isl * (1 + ((p.islRatio as number | undefined) ?? 1))) / 2 : isl;
}

/** Requests a queue-filled step row draws, at about the mean length (see MAX_STEP_REQUESTS). */
export function stepRowRequests(p: Record<string, unknown>): number {
  const mean = meanRequestLength(p);
  const tokens = p.maxTokensPerBatch as number | undefined;
  const cap = (p.maxBatchRequests as number | undefined) ?? Infinity;
  const perBatch = Math.min(cap, tokens === undefined ? Infinity : Math.max(1, Math.floor(tokens / mean)));
  return (p.groupSize as number) * (p.steps as number) * perBatch;
}

/** Requests a serving batch holds at about the mean length (see MAX_RANK_STEPS). */
function requestsPerBatch(p: Record<string, unknown>): number {
  const tokens = (p.maxTokensPerBatch as number | undefined) ?? DEFAULT_SERVING_MAX_TOKENS;
  const cap = (p.maxBatchRequests as number | undefined) ?? Infinity;
  return Math.min(cap, Math.max(1, Math.floor(tokens / (p.isl as number))));
}

/** The rank-steps a row asks for (see MAX_RANK_STEPS). */
export function rowRankSteps(mode: ScenarioMode, p: Record<string, unknown>): number {
  const G = p.groupSize as number;
  if (mode === 'step') return 2 * G * (p.steps as number);
  const perBatch = requestsPerBatch(p);
  return 2 * G * Math.ceil((p.requests as number) / perBatch) + (p.ranks as number);
}

/**
 * Problems of one full row (defaults merged): keys the mode does not read that the scenario
 * set (`given`), a serving rack that is not whole groups, a DWDP placement that does not
 * exist, DEP groups larger than the experts, and work beyond MAX_RANK_STEPS.
 * `where` names the row ("rows[2]", "sweep.values[1]"); `experts` is the model's E.
 */
export function scenarioRowErrors(
  mode: ScenarioMode,
  row: Record<string, unknown>,
  given: ReadonlySet<string>,
  where: string,
  experts: number,
): OptionError[] {
  const out: OptionError[] = [];
  const key = (k: string) => `${where}.${k}`;
  for (const k of given) {
    const decl = SCENARIO_PARAM[k];
    if (decl?.modes && !decl.modes.includes(mode))
      out.push(
        new OptionError(
          key(k),
          row[k],
          d`is read only by ${decl.modes.join(', ')} scenarios, and this one is ${mode}: remove it`,
        ),
      );
  }
  // A token cap below the mean request: most requests would overflow it, each then a batch of its own.
  const OVER_CAP = 'one over the cap is a batch of its own; chunked prefill is not modeled';
  const mean = Math.ceil(meanRequestLength(row));
  if (given.has('maxTokensPerBatch') && (row.maxTokensPerBatch as number) < mean)
    out.push(
      new OptionError(
        key('maxTokensPerBatch'),
        row.maxTokensPerBatch,
        d`is below the mean request of ${mean} tokens (${ref(key('isl'))} ${row.isl as number}): most requests would not fit a batch (${OVER_CAP})`,
        [{ option: key('maxTokensPerBatch'), value: mean }],
      ),
    );
  const caps = ['maxTokensPerBatch', 'maxBatchRequests'].filter((k) => given.has(k));
  if (mode === 'step' && given.has('batch') && caps.length > 0)
    out.push(
      new OptionError(
        key('batch'),
        row.batch,
        d`fixes the requests per rank-step, and ${ref(key(caps[0]))} fills batches from the request queue instead: give one or the other`,
      ),
    );
  // islRatio shapes only the uniform-ratio law; beside another law it would be ignored without a word.
  if (given.has('islRatio') && row.lengthLaw !== 'uniform-ratio')
    out.push(
      new OptionError(
        key('islRatio'),
        row.islRatio,
        d`is read only by ${ref(key('lengthLaw'))} uniform-ratio, and this row's is ${String(row.lengthLaw)}: set that law or remove islRatio`,
        [{ option: key('lengthLaw'), value: 'uniform-ratio' }],
      ),
    );
  if (given.has(EXPERT_LOADS.key)) {
    const loads = row[EXPERT_LOADS.key];
    const problem = expertLoadsProblem(loads, experts, Infinity);
    if (mode !== 'step')
      out.push(
        new OptionError(
          key(EXPERT_LOADS.key),
          '[…]',
          d`is read only by step scenarios, and this one is ${mode}: remove it`,
        ),
      );
    else if (problem)
      out.push(new OptionError(key(EXPERT_LOADS.key), '[…]', d`${problem} (the model has ${experts} experts)`));
    if (((row.routingSkew as number | undefined) ?? 0) > 0)
      out.push(
        new OptionError(
          key('routingSkew'),
          row.routingSkew,
          d`and ${ref(key(EXPERT_LOADS.key))} both set the routing: give one`,
          [{ option: key('routingSkew'), value: 0 }],
        ),
      );
  }
  const eff = Object.keys((row.efficiency as object | undefined) ?? {});
  if (row.roofline === true && eff.length > 0)
    out.push(
      new OptionError(
        key(`efficiency.${eff[0]}`),
        (row.efficiency as Record<string, unknown>)[eff[0]],
        d`sets an efficiency, and ${ref(key('roofline'))} runs every op at the profile’s peaks: give one or the other`,
        [{ option: key('roofline'), value: false }],
      ),
    );
  const G = row.groupSize as number;
  if (mode === 'serving') {
    const R = row.ranks as number;
    if (R < G || R % G !== 0) {
      const whole = Math.max(G, Math.round(R / G) * G);
      out.push(
        new OptionError(key('ranks'), R, d`is not a whole number of groups of ${ref(key('groupSize'))} ${G}`, [
          { option: key('ranks'), value: whole },
        ]),
      );
    }
  }
  if (G > experts)
    out.push(
      new OptionError(
        key('groupSize'),
        G,
        d`is more ranks than the model's ${experts} experts (DEP gives every rank at least one)`,
        [{ option: key('groupSize'), value: experts }],
      ),
    );
  else if (G >= 2 && (row.local !== undefined || row.pull !== undefined)) {
    try {
      makePlacement(experts, G, row.local as number | undefined, row.pull as number | undefined);
    } catch (e) {
      if (!(e instanceof PlacementError)) throw e;
      const which = row.local === undefined ? 'pull' : 'local';
      out.push(
        new OptionError(key(which), row[which], d`makes no DWDP placement for E=${experts}, N=${G}: ${e.problem}`, [
          { option: key('local'), value: e.near.local },
          { option: key('pull'), value: e.near.pull },
        ]),
      );
    }
  }
  if (mode === 'step' && caps.length > 0 && stepRowRequests(row) > MAX_STEP_REQUESTS) {
    const culprit = given.has('maxTokensPerBatch') ? 'maxTokensPerBatch' : 'maxBatchRequests';
    const n = stepRowRequests(row);
    const per = Math.round(n / ((row.groupSize as number) * (row.steps as number)));
    out.push(
      new OptionError(
        key(culprit),
        row[culprit],
        d`fills batches of about ${per} requests, ${n} over groupSize × steps, over the limit of ${MAX_STEP_REQUESTS} for a step row: make the batches smaller`,
      ),
    );
  }
  const work = rowRankSteps(mode, row);
  if (work > MAX_RANK_STEPS[mode]) {
    const perBatch = requestsPerBatch(row);
    const what =
      mode === 'step'
        ? `2 strategies × groupSize ${G} × steps ${row.steps as number}`
        : `2 strategies × groupSize ${G} × ${Math.ceil((row.requests as number) / perBatch)} batches ` +
          `(requests ${row.requests as number}, ${perBatch} per batch) + ranks ${row.ranks as number}`;
    const culprit = mode === 'step' ? (G > (row.steps as number) ? 'groupSize' : 'steps') : 'requests';
    out.push(
      new OptionError(
        key(culprit),
        row[culprit],
        d`asks for ${what} = ${work} rank-steps of work, over the limit of ${MAX_RANK_STEPS[mode]} for a ${mode} row: make the row smaller`,
      ),
    );
  }
  return out;
}

/** The default of every declared parameter that has one. */
export function scenarioParamDefaults(): Record<string, OptionValue> {
  return Object.fromEntries(
    SCENARIO_PARAMS.filter((p) => p.default !== undefined && !p.key.startsWith('efficiency.')).map((p) => [
      p.key,
      p.default!,
    ]),
  );
}

/** Checks typed values (a built-in scenario's) against their declarations. */
export function checkScenarioValue(path: string, key: string, v: unknown): void {
  const decl = SCENARIO_PARAM[key];
  if (!decl) throw new OptionError(path, undefined, d`is not a parameter (known: ${TOP_KEYS.join(', ')})`);
  try {
    checkValue(decl, v);
  } catch (e) {
    throw e instanceof OptionError ? at(path, e) : e;
  }
}

// ---------------------------------------------------------------------------------------
// The model a scenario runs: its top-level "model" key

/**
 * A scenario file's top-level `"model"`: a preset id (src/model/presets.ts) or the path of a
 * Hugging Face config.json, relative to the scenario file's folder (absolute paths as given).
 * The rack model builds its layer program from that config (src/model/config.ts).
 */
export const SCENARIO_MODEL = {
  key: 'model',
  default: 'deepseek-r1',
  help: 'a preset id, or the path of an HF config.json relative to the scenario file',
} as const;

/** A scenario file's `profile` (undefined: the default), refused by name unless it is a profile id. */
export function checkScenarioProfile(value: unknown): void {
  if (value !== undefined && !(typeof value === 'string' && Object.hasOwn(PROFILES, value)))
    throw new OptionError(
      'scenario.profile',
      typeof value === 'string' ? value : JSON.stringify(value),
      d`is not a hardware profile (profiles: ${Object.keys(PROFILES).join(', ')}; this-device is the --profile flag's, with measured numbers)`,
    );
}

/** Whether a `model` value is a config.json path (else it must be a preset id). */
export function isModelPath(v: string): boolean {
  return v.endsWith('.json') || v.includes('/') || v.includes('\\');
}

/** `value` resolved against the folder of `scenarioFile` (plain string work: this module runs in the browser too). */
export function modelPathFrom(value: string, scenarioFile: string | undefined): string {
  if (/^([a-zA-Z]:)?[\\/]/.test(value) || scenarioFile === undefined) return value;
  const cut = Math.max(scenarioFile.lastIndexOf('/'), scenarioFile.lastIndexOf('\\'));
  return cut < 0 ? value : `${scenarioFile.slice(0, cut + 1)}${value}`;
}

/**
 * The model a scenario's `model` names (`value` undefined: the default preset). A path is read
 * with `readText` (the CLI passes a file reader; without one a path is refused). Every problem —
 * not a string, an unknown preset, an unreadable file, a config this project cannot read — is
 * one OptionError on `option` (default "scenario.model") whose detail names the file.
 */
export function resolveScenarioModel(
  value: unknown,
  scenarioFile: string | undefined,
  readText?: (path: string) => string,
  option = `scenario.${SCENARIO_MODEL.key}`,
): MoeConfig {
  const v = value ?? SCENARIO_MODEL.default;
  const where = scenarioFile === undefined ? '' : ` (in ${scenarioFile})`;
  const fail = (detail: string): never => {
    throw new OptionError(option, typeof v === 'string' ? v : JSON.stringify(v), d`${detail}${where}`);
  };
  if (typeof v !== 'string' || v.trim() === '')
    return fail(`must be ${SCENARIO_MODEL.help} (presets: ${Object.keys(PRESETS).join(', ')})`);
  if (!isModelPath(v)) {
    if (Object.hasOwn(PRESETS, v)) return loadPreset(v);
    return fail(`is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a path to a config.json`);
  }
  const path = modelPathFrom(v, scenarioFile);
  if (!readText) return fail('is a config.json path, which only the command line reads: name a preset here');
  let text: string;
  try {
    text = readText(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`cannot read ${path}: ${code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = parseJsonText(text, path);
  } catch (e) {
    return fail((e as Error).message);
  }
  try {
    return parseMoeConfig(json, { name: v.replace(/^.*[\\/]/, '').replace(/\.json$/, '') });
  } catch (e) {
    if (e instanceof ConfigError) return fail(`${path} is not a config this project reads: ${e.message}`);
    throw e;
  }
}
