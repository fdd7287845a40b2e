// The end-to-end scenario's parameters, declared once: every key of a scenario file's "e2e"
// object (and of its "generation" and "efficiency" objects) with its kind, range, default,
// unit and help. parseE2eParams checks a file's "e2e" object against it; an error is an
// OptionError whose option is the key's path ("scenario.e2e.genEp",
// "scenario.e2e.generation.minLayerUs") and stops at the first bad key.
//
// Lists (the search space, the bands) are declarations with `list`: every element is checked
// as the declaration's kind and range. Defaults are the model's own (src/sim/e2e/params.ts,
// src/sim/e2e/generation.ts, src/hardware/efficiency.ts); a list's default is stated in its help.
//
// Pure module (Node and browser).
import { GB200_NVL72 } from '../hardware/profiles.ts';
import { WEIGHT_FORMATS } from '../model/formats.ts';
import { DEFAULT_GENERATION_PARAMS as G, type GenerationParams } from '../sim/e2e/generation.ts';
import { DEFAULT_E2E_PARAMS as E, GEN_BATCH_MAX, type E2eParams } from '../sim/e2e/params.ts';
import { OptionError, d } from './error.ts';
import { MAX_SEED } from '../util/random.ts';
import { parseJson, rangeText, type OptionDecl } from './schema.ts';
import { SCENARIO_PARAM, SCENARIO_PARAMS } from './scenario.ts';

export interface E2eParamDecl extends OptionDecl {
  /**
   * The value is a list of 1 … maxItems elements of this kind; `pairs`: of [lo, hi] with lo < hi;
   * `scalar`: a single element is accepted too and read as the one-element list [x] (the words say
   * what that means, for the message).
   */
  list?: { maxItems: number; pairs?: boolean; scalar?: string };
}

const PREFIX = 'scenario.e2e';

/** Every key of "e2e"; "generation.*" and "efficiency.*" are the keys of those objects. */
export const E2E_PARAMS: readonly E2eParamDecl[] = [
  {
    key: 'isl',
    kind: 'int',
    min: 1,
    max: 1 << 20,
    default: E.isl,
    unit: 'tokens',
    label: 'isl',
    help: 'longest input length',
  },
  {
    key: 'osl',
    kind: 'int',
    min: 2,
    max: 1 << 20,
    default: E.osl,
    unit: 'tokens',
    label: 'osl',
    help: 'output length',
  },
  {
    key: 'inputRatio',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1,
    default: E.inputRatio,
    label: 'inputRatio',
    help: 'input lengths uniform in [inputRatio·isl, isl]',
  },
  {
    key: 'format',
    kind: 'choice',
    choices: WEIGHT_FORMATS,
    default: E.format,
    label: 'format',
    help: 'routed-expert weights',
  },
  {
    key: 'groupSize',
    kind: 'int',
    min: 2,
    max: 72,
    default: E.groupSize,
    label: 'groupSize',
    help: 'GPUs per context DEP server and per DWDP group',
  },
  {
    key: 'ctxMaxBatch',
    kind: 'int',
    min: 1,
    max: 64,
    default: E.ctxMaxBatch,
    label: 'ctxMaxBatch',
    help: 'requests per context GPU and step at most (max_batch_size)',
  },
  {
    key: 'ctxMaxTokens',
    kind: 'int',
    min: 1,
    max: 1 << 22,
    default: E.ctxMaxTokens,
    unit: 'tokens',
    label: 'ctxMaxTokens',
    help: 'tokens per context GPU and step at most (max_num_tokens)',
  },
  {
    key: 'contentionFix',
    kind: 'onoff',
    default: E.contentionFix,
    label: 'contentionFix',
    help: "DWDP's copy-engine contention fix (contention_opt)",
  },
  {
    key: 'local',
    kind: 'int',
    min: 1,
    max: 4096,
    label: 'local',
    help: 'DWDP L, experts held (default: minimal memory)',
  },
  { key: 'pull', kind: 'int', min: 1, max: 4096, label: 'pull', help: 'DWDP P, experts pulled per peer' },
  {
    key: 'genEp',
    kind: 'int',
    min: 1,
    max: 1024,
    list: { maxItems: 64 },
    label: 'genEp',
    help: `generation EP sizes searched (default ${E.genEp.join(', ')})`,
  },
  {
    key: 'genBatch',
    kind: 'int',
    min: 1,
    max: 4096,
    list: { maxItems: 64 },
    label: 'genBatch',
    help:
      'generation batch per GPU searched (default: the CUDA-graph batch sizes the reproduction captures, up to ' +
      `${GEN_BATCH_MAX}: ${E.genBatch.slice(0, 6).join(', ')}, …, ${E.genBatch[E.genBatch.length - 1]})`,
  },
  {
    key: 'mtp',
    kind: 'int',
    min: 0,
    max: 8,
    list: { maxItems: 64 },
    label: 'mtp',
    help: `MTP draft layers searched (default ${E.mtp.join(', ')})`,
  },
  { key: 'eplb', kind: 'onoff', list: { maxItems: 2 }, label: 'eplb', help: 'EPLB settings searched (default both)' },
  {
    key: 'concurrencyFactor',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1e3,
    default: E.concurrencyFactor,
    label: 'concurrencyFactor',
    help: "closed-loop concurrency ÷ (generation batch × GPUs); the reproduction's is 1",
  },
  {
    key: 'maxGpus',
    kind: 'int',
    min: 1,
    max: 1024,
    label: 'maxGpus',
    help: "GPUs a deployment may use, context + generation (default: the profile's NVLink domain)",
  },
  {
    key: 'bands',
    kind: 'number',
    min: 0,
    max: 1e6,
    list: { maxItems: 64, pairs: true },
    unit: 'TPS/user',
    label: 'bands',
    help: "TPS/user bands [lo, hi] (default the paper's five)",
  },
  {
    key: 'steps',
    kind: 'int',
    min: 1,
    max: 64,
    default: E.steps,
    label: 'steps',
    help: 'context-phase steps per batch size',
  },
  {
    key: 'seed',
    kind: 'int',
    min: 0,
    max: MAX_SEED,
    default: E.seed,
    label: 'seed',
    help: 'seed of lengths and the TTFT run',
  },
  {
    key: 'ttftRequests',
    kind: 'int',
    min: 1,
    max: 200_000,
    default: E.ttftRequests,
    label: 'ttftRequests',
    help: "requests of the simulated benchmark run behind the median TTFT (the reproduction's num_prompts)",
  },
  {
    key: 'tpsPerUserMetric',
    kind: 'choice',
    choices: ['benchmark', 'decode'],
    default: E.tpsPerUserMetric,
    label: 'tpsPerUserMetric',
    help:
      "what TPS/user means: 'benchmark' = output tokens ÷ end-to-end latency, TTFT included, mean over requests " +
      "(benchmark_serving's User throughput); 'decode' = the decode rate alone",
  },
  {
    key: 'generation.mtpAcceptance',
    kind: 'number',
    min: 0,
    max: 1,
    // A number is the earlier format (one α for every draft: the geometric law); scenario files with it keep working.
    list: { maxItems: 16, scalar: 'one acceptance for every draft position, the geometric law' },
    label: 'generation.mtpAcceptance',
    help:
      'per draft position, the probability a draft is accepted given the drafts before it were; later drafts take the ' +
      'last entry, so one number (or a one-entry list) is the same α for every draft: the geometric law; ' +
      `(default ${G.mtpAcceptance.map((a) => a.toFixed(3)).join(', ')}: TensorRT-LLM tech blog 1's measured 1.92, 2.58, 2.82 ` +
      'accepted tokens at MTP 1, 2, 3)',
  },
  {
    key: 'generation.kvBytes',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 8,
    default: G.kvBytes,
    unit: 'B',
    label: 'generation.kvBytes',
    help: 'bytes per KV-cache value',
  },
  {
    key: 'generation.attentionPrecision',
    kind: 'choice',
    choices: ['fp4', 'fp8', 'bf16', 'fp32'],
    default: G.attentionPrecision,
    label: 'generation.attentionPrecision',
    help: 'math precision of the decode attention core',
  },
  {
    key: 'generation.noEplbSkew',
    kind: 'number',
    min: 1,
    max: 64,
    default: G.noEplbSkew,
    label: 'generation.noEplbSkew',
    help: 'max/mean expert load per rank without EPLB (an assumption)',
  },
  {
    key: 'generation.stepOverheadUs',
    kind: 'number',
    min: 0,
    max: 1e6,
    default: G.stepOverheadUs,
    unit: 'µs',
    label: 'generation.stepOverheadUs',
    help: 'host cost per decode iteration',
  },
  {
    key: 'generation.minLayerUs',
    kind: 'number',
    min: 0,
    max: 1e6,
    default: G.minLayerUs,
    unit: 'µs',
    label: 'generation.minLayerUs',
    help: 'shortest decoder-layer forward in a decode step',
  },
  {
    key: 'generation.mtpPassUs',
    kind: 'number',
    min: 0,
    max: 1e6,
    default: G.mtpPassUs,
    unit: 'µs',
    label: 'generation.mtpPassUs',
    help: 'least an MTP draft pass costs beyond its decoder layer',
  },
  {
    key: 'generation.decodeAttentionEfficiency',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1,
    default: undefined,
    label: 'generation.decodeAttentionEfficiency',
    help:
      "fraction of FP8 peak the decode attention core reaches (default: the profile's — TensorRT-LLM's FP8 MLA kernel " +
      `measured on Blackwell, ${GB200_NVL72.decodeAttentionEfficiency?.toFixed(3)} on GB200 NVL72 — or FlashMLA's 660 of 990 TFLOPS on Hopper)`,
  },
  {
    key: 'generation.kvMemoryFraction',
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1,
    default: G.kvMemoryFraction,
    label: 'generation.kvMemoryFraction',
    help: "fraction of the memory the weights leave that the KV cache may take (the reproduction's free_gpu_memory_fraction)",
  },
  {
    key: 'generation.dispatchUs',
    kind: 'number',
    min: 0,
    max: 1e6,
    default: G.dispatchUs,
    unit: 'µs',
    label: 'generation.dispatchUs',
    help: "fixed latency of the decode all-to-all's dispatch (measured at batch 1 on GB200 NVL72)",
  },
  {
    key: 'generation.combineUs',
    kind: 'number',
    min: 0,
    max: 1e6,
    default: G.combineUs,
    unit: 'µs',
    label: 'generation.combineUs',
    help: "fixed latency of the decode all-to-all's combine (measured at batch 1 on GB200 NVL72)",
  },
  {
    key: 'generation.lmHeadTpGpus',
    kind: 'int',
    min: 1,
    max: 1024,
    default: undefined,
    label: 'generation.lmHeadTpGpus',
    help:
      "most GPUs the MTP draft head's vocabulary is split over (TensorRT-LLM: gpus_per_node; default: the profile's, " +
      `${GB200_NVL72.gpusPerNode} on GB200 NVL72)`,
  },
  // The rack model's routing skew, declared there; absent here means `generation.noEplbSkew`.
  {
    ...SCENARIO_PARAM.routingSkew,
    default: undefined,
    help: `${SCENARIO_PARAM.routingSkew.help}; sets the generation pool's no-EPLB imbalance (default: generation.noEplbSkew)`,
  },
  // The rack model's efficiencies, declared there (src/options/scenario.ts).
  ...SCENARIO_PARAMS.filter((p) => p.key.startsWith('efficiency.')),
];

export const E2E_PARAM: Readonly<Record<string, E2eParamDecl>> = Object.fromEntries(E2E_PARAMS.map((p) => [p.key, p]));

const OBJECTS = ['generation', 'efficiency'] as const;
/** The keys "e2e" may hold. */
export const E2E_TOP_KEYS: readonly string[] = [
  ...E2E_PARAMS.filter((p) => !p.key.includes('.')).map((p) => p.key),
  ...OBJECTS,
];
const objectKeys = (o: string) =>
  E2E_PARAMS.filter((p) => p.key.startsWith(`${o}.`)).map((p) => p.key.slice(o.length + 1));

const shown = (v: unknown) => JSON.stringify(v) ?? String(v);

/** One value (or one list) against its declaration; errors carry `path`. */
function checked(decl: E2eParamDecl, v: unknown, path: string): unknown {
  if (!decl.list) {
    try {
      return parseJson(decl, v);
    } catch (e) {
      if (!(e instanceof OptionError)) throw e;
      throw new OptionError(
        path,
        shown(v),
        e.detail,
        e.suggestion.map((s) => ({ ...s, option: path })),
      );
    }
  }
  const { maxItems, pairs, scalar } = decl.list;
  const what = pairs ? `[lo, hi] pairs with lo < hi, each ${checkRange(decl)}` : `values, each ${checkRange(decl)}`;
  const either = scalar ? `${checkRange(decl)} (${scalar}) or ` : '';
  const bad = (why: string) =>
    new OptionError(path, shown(v), d`must be ${either}a list of 1 to ${maxItems} ${what}${why}`);
  const one = (x: unknown) => {
    try {
      return parseJson(decl, x);
    } catch (e) {
      if (e instanceof OptionError) throw bad(`; ${shown(x)} is not`);
      throw e;
    }
  };
  if (scalar && !Array.isArray(v)) return [one(v)];
  if (!Array.isArray(v) || v.length === 0 || v.length > maxItems) throw bad('');
  if (!pairs) return v.map(one);
  return v.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw bad(`; ${shown(pair)} is not a pair`);
    const [lo, hi] = pair.map(one) as number[];
    if (!(lo < hi)) throw bad(`; ${shown(pair)} has lo ≥ hi`);
    return [lo, hi];
  });
}

/** A list element's range in words. */
function checkRange(decl: E2eParamDecl): string {
  if (decl.kind === 'onoff') return 'true or false';
  if (decl.kind === 'choice') return `one of ${decl.choices!.join(', ')}`;
  return rangeText(decl);
}

/** Checks a scenario file's "e2e" object against the table; errors name the key's path. */
export function parseE2eParams(x: unknown): Partial<E2eParams> {
  if (x === undefined) return {};
  if (typeof x !== 'object' || x === null || Array.isArray(x))
    throw new OptionError(PREFIX, shown(x), d`must be an object of ${E2E_TOP_KEYS.join(', ')}`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    const path = `${PREFIX}.${k}`;
    if ((OBJECTS as readonly string[]).includes(k)) {
      const known = objectKeys(k);
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new OptionError(path, shown(v), d`must be an object of ${known.join(', ')}`);
      const o: Record<string, unknown> = {};
      for (const [ok, ov] of Object.entries(v)) {
        const decl = E2E_PARAM[`${k}.${ok}`];
        if (!decl)
          throw new OptionError(`${path}.${ok}`, undefined, d`is not a parameter (known: ${known.join(', ')})`);
        o[ok] = checked(decl, ov, `${path}.${ok}`);
      }
      out[k] = o;
      continue;
    }
    const decl = E2E_PARAM[k];
    if (!decl || k.includes('.'))
      throw new OptionError(path, undefined, d`is not a parameter (known: ${E2E_TOP_KEYS.join(', ')})`);
    out[k] = checked(decl, v, path);
  }
  return out as Partial<E2eParams & { generation: Partial<GenerationParams> }>;
}
