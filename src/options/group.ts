// A group run's options, declared once: every option's key, CLI flag, page field and URL
// parameter, label, kind, range or choices, default, unit, help, and which strategies and
// sources read it. The CLI parser and --help (src/cli/moe-group.ts), the page's fields and
// validate-as-you-type (src/ui/fields.ts, src/ui/config.ts) and the library's check
// (checkGroupOptions, called by runGroup) all derive from GROUP_OPTIONS and the rule functions below (unusedOptionErrors, ruleErrors).
//
// Rules between options (declared once, used by every surface):
//   requests ≤ tokens                      (every request has at least one token)
//   DWDP: ranks ≥ 2                        (one rank is DP)
//   DEP:  ranks ≤ E                        (every rank owns at least one expert)
//   DWDP: L + (N−1)·P = E, P ≤ L ≤ E       (src/dwdp/placement.ts; the error suggests a valid L, P)
//   an option set explicitly must be read by the run: DWDP-only options need DWDP, the
//   prefetch depth needs prefetch on, the link needs a strategy that communicates, and on the
//   page emulation-only options need the measured source.
//
// Pure module (Node and browser). Below the strategies and the page: imports neither.
import type { ScaleTarget } from '../similarity/scale-model.ts';
import { PlacementError, makePlacement } from '../dwdp/placement.ts';
import type { MoeConfig } from '../model/config.ts';
import { WEIGHT_FORMATS, type WeightFormat } from '../model/formats.ts';
import { RANK_MODES, type RankMode } from '../dwdp/transport.ts';
import { PROFILES } from '../hardware/profiles.ts';
import { LENGTH_LAWS, UNIFORM_RATIO_MAX_CV, type LengthLaw } from '../workload/lengths.ts';
import { OptionError, d, ref } from './error.ts';
import { MAX_SEED } from '../util/random.ts';
import { checkValue, defaultText, parseText, rangeText, type OptionDecl, type OptionValue } from './schema.ts';

export type StrategyName = 'dp' | 'dep' | 'dwdp';
export const STRATEGIES: readonly StrategyName[] = ['dp', 'dep', 'dwdp'];

// How ranks are made (N separate GPUDevices, or N partitions of one device's buffers) is the
// transport's concept; the option table offers its choices.
export { RANK_MODES, type RankMode } from '../dwdp/transport.ts';

/**
 * wall: ranks really run concurrently and copies are really paced by the link model;
 * virtual: kernels run for real, their GPU-timestamp durations and the link model feed
 * the event scheduler, which computes every rank's timeline deterministically.
 */
export type ClockMode = 'wall' | 'virtual';
export const CLOCKS: readonly ClockMode[] = ['wall', 'virtual'];

/** Where the page's numbers come from: the emulation (measured) or the rack model (modeled). */
export type Source = 'measured' | 'modeled';

export interface DwdpOptions {
  /** L: experts held per rank (default: minimal-memory placement). */
  local?: number;
  /** P: experts pulled from each peer. */
  pull?: number;
  /** Prefetch all (N−1)·P remote experts into ping-pong slots (true), or pull routed ones after routing. */
  prefetch: boolean;
  /** Prefetch slots (2 = ping-pong, as in the paper). */
  prefetchDepth: number;
  /** The grouped GEMM reads the resident shard and the prefetch slot (the peers' regions) in place (true) or a merged copy. */
  splitWeights: boolean;
}

export interface LinkOptions {
  /** Per-rank egress and ingress bandwidth, GB/s (before time dilation). */
  gbps: number;
  latencyUs: number;
  /**
   * Slice pulls (2 MiB) and interleave them round-robin across peers. The link model treats
   * the interleaving as continuous sharing of the source's bandwidth (the limit of fine
   * slices; docs/rack-model.md gives its error against slice-by-slice), so there is no slice size to set.
   */
  contentionFix: boolean;
}

/**
 * Time dilation: scale the link by (this device's measured GEMM rate ÷ the profile's), so
 * compute-to-transfer ratios match the modeled hardware. Off when undefined.
 */
export interface TimeDilation {
  /** Hardware profile id (src/hardware/profiles.ts), e.g. 'gb200-nvl72'. */
  profile: string;
  /**
   * This device's grouped-GEMM rate, GFLOP/s, if already measured (say by the first run of a
   * comparison, so every strategy sees the same link); measured at the start of the run when absent.
   */
  deviceGflops?: number;
  /**
   * What the run stands for as a scale model (src/similarity): link, activations, per-category
   * compute and layers scaled to the target's ratios on `profile`. A ScaleTarget (the modeled
   * side, built by withScaleTarget in src/similarity/target.ts) applies it; a preset name or
   * undefined asks the shells to build one (default 'deepseek-r1'); null, or a run that reaches
   * runGroup without a ScaleTarget, dilates the link only (device GEMM rate ÷ the profile's).
   */
  target?: string | null | ScaleTarget;
}

export interface GroupRunOptions {
  /** Model preset name or parsed config (see src/model). */
  model: string | MoeConfig;
  format: WeightFormat;
  seed: number;
  strategy: StrategyName;
  ranks: number;
  rankMode: RankMode;
  layers: number;
  /** Mean tokens per rank. */
  tokensPerRank: number;
  requestsPerRank: number;
  /** Coefficient of variation of request input lengths. */
  lengthCv: number;
  /** Law of the request input lengths (src/workload/lengths.ts), the same for the emulation and the model. */
  lengthLaw: LengthLaw;
  /** Zipf exponent of hot experts (0: the router's own preferences only). */
  routingSkew: number;
  dwdp: DwdpOptions;
  link: LinkOptions;
  clock: ClockMode;
  timeDilation?: TimeDilation;
  /** Attention stand-in shape (heads × headDim); cost grows with Σ len². */
  attention: { heads: number; headDim: number };
  /** Grouped-GEMM tile variant; default best known for the adapter. */
  variant?: string;
  /** Virtual clock: submissions per step, each pass keeping its minimum (src/strategies/runtime.ts StepTiming). Default 1. */
  timingRepeats?: number;
}

export type GroupOptionKey =
  | 'seed'
  | 'format'
  | 'strategy'
  | 'ranks'
  | 'rankMode'
  | 'layers'
  | 'tokens'
  | 'requests'
  | 'lengthCv'
  | 'lengthLaw'
  | 'routingSkew'
  | 'dwdpLocal'
  | 'dwdpPull'
  | 'prefetch'
  | 'prefetchDepth'
  | 'splitWeights'
  | 'linkGbps'
  | 'linkLatencyUs'
  | 'contentionFix'
  | 'clock'
  | 'timeDilation'
  | 'attentionHeads'
  | 'attentionHeadDim';

/** Panel groups on the page. */
export type FieldGroup = 'run' | 'model' | 'workload' | 'group' | 'dwdp' | 'link' | 'time' | 'sweep';

export interface GroupOptionDecl extends OptionDecl {
  key: GroupOptionKey;
  /** CLI flag, without the dashes. */
  flag: string;
  /** The page's field (key, URL parameter: shared links depend on it), its panel group, and its default where the page's differs. */
  field?: {
    key: string;
    param: string;
    group: FieldGroup;
    default?: string;
    choiceLabels?: Readonly<Record<string, string>>;
  };
  /** Strategies that read it (absent: every strategy). */
  usedBy?: readonly StrategyName[];
  /** Page sources that read it (absent: both). */
  sources?: readonly Source[];
  /** It is read only when another option has this value. */
  needs?: { option: GroupOptionKey; value: OptionValue };
  /** The option's value in a run's options (undefined when automatic). */
  get(o: GroupRunOptions): OptionValue | undefined;
}

const PROFILE_IDS = Object.keys(PROFILES);
const DWDP: readonly StrategyName[] = ['dwdp'];
const MEASURED: readonly Source[] = ['measured'];

/** Every group-run option. Page-only fields (source, model, strategies, link profile, sweep) live in src/ui/fields.ts. */
export const GROUP_OPTIONS: readonly GroupOptionDecl[] = [
  {
    key: 'seed',
    flag: 'seed',
    field: { key: 'seed', param: 'seed', group: 'model' },
    label: 'Seed',
    kind: 'int',
    min: 0,
    max: MAX_SEED,
    default: 1,
    help: 'Weights, tokens and request lengths all derive from it.',
    get: (o) => o.seed,
  },
  {
    key: 'format',
    flag: 'weights',
    field: { key: 'format', param: 'fmt', group: 'model' },
    label: 'Expert weight format',
    kind: 'choice',
    choices: WEIGHT_FORMATS,
    default: 'nvfp4',
    help: 'Bytes per expert weight: what every pull moves.',
    get: (o) => o.format,
  },
  {
    key: 'strategy',
    flag: 'strategy',
    label: 'Strategy',
    kind: 'choice',
    choices: STRATEGIES,
    default: 'dwdp',
    help: 'dp (full replica), dep (all-to-all, barrier per layer) or dwdp.',
    get: (o) => o.strategy,
  },
  {
    key: 'ranks',
    flag: 'ranks',
    field: { key: 'ranks', param: 'n', group: 'group' },
    label: 'Ranks N',
    kind: 'int',
    min: 1,
    max: 64,
    default: 4,
    help: 'GPUs in the group.',
    get: (o) => o.ranks,
  },
  {
    key: 'rankMode',
    flag: 'rank-mode',
    field: {
      key: 'rankMode',
      param: 'rm',
      group: 'group',
      choiceLabels: { partitions: 'partitions of one device', devices: 'separate GPUDevices' },
    },
    label: 'Rank mode',
    kind: 'choice',
    choices: RANK_MODES,
    default: 'partitions',
    sources: MEASURED,
    help: 'How the emulation stands in for N GPUs: partitions of one device or separate GPUDevices.',
    get: (o) => o.rankMode,
  },
  {
    key: 'layers',
    flag: 'layers',
    field: { key: 'layers', param: 'layers', group: 'model' },
    label: 'Layers',
    kind: 'int',
    min: 1,
    max: 256,
    default: 4,
    sources: MEASURED,
    help: 'MoE layers run per forward step, each with its own weights (emulation; the modeled source runs the model’s full depth).',
    get: (o) => o.layers,
  },
  {
    key: 'tokens',
    flag: 'tokens',
    field: { key: 'tokens', param: 't', group: 'workload', default: '1024' },
    label: 'Tokens per rank',
    unit: 'tokens',
    kind: 'int',
    min: 1,
    max: 1 << 20,
    default: 64,
    help: 'Mean prefill tokens each rank processes.',
    get: (o) => o.tokensPerRank,
  },
  {
    key: 'requests',
    flag: 'requests',
    field: { key: 'requests', param: 'req', group: 'workload', default: '4' },
    label: 'Requests per rank',
    kind: 'int',
    min: 1,
    max: 1 << 20,
    default: 1,
    help: 'Their lengths sum to the rank’s tokens.',
    get: (o) => o.requestsPerRank,
  },
  {
    key: 'lengthCv',
    flag: 'length-cv',
    field: { key: 'cv', param: 'cv', group: 'workload', default: '0.2' },
    label: 'Input-length CV',
    kind: 'number',
    min: 0,
    max: 2,
    default: 0,
    help: 'Coefficient of variation of request lengths (0 = all equal): the imbalance DEP’s barrier pays for.',
    get: (o) => o.lengthCv,
  },
  {
    key: 'lengthLaw',
    flag: 'length-law',
    field: {
      key: 'lengthLaw',
      param: 'law',
      group: 'workload',
      choiceLabels: { gamma: 'gamma', lognormal: 'log-normal', 'uniform-ratio': 'uniform ratio (TensorRT-LLM)' },
    },
    label: 'Input-length law',
    kind: 'choice',
    choices: LENGTH_LAWS,
    default: 'gamma',
    help:
      'How request lengths are drawn at that mean and CV: gamma, log-normal (heavier tail), or TensorRT-LLM’s ' +
      `uniform ratio (uniform in [r·max, max], r set by the CV, which must stay below ${UNIFORM_RATIO_MAX_CV.toFixed(3)}). ` +
      'The emulation and the modeled counterpart draw the same requests.',
    get: (o) => o.lengthLaw,
  },
  {
    key: 'routingSkew',
    flag: 'routing-skew',
    field: { key: 'skew', param: 'skew', group: 'workload' },
    label: 'Routing skew',
    kind: 'number',
    min: 0,
    max: 4,
    default: 0,
    sources: MEASURED,
    help: 'Zipf exponent of hot experts (0: the router’s own preferences).',
    get: (o) => o.routingSkew,
  },
  {
    key: 'dwdpLocal',
    flag: 'dwdp-local',
    field: { key: 'local', param: 'L', group: 'dwdp', default: '' },
    label: 'L (experts held)',
    kind: 'int',
    min: 1,
    max: 1 << 16,
    usedBy: DWDP,
    help: 'Experts each rank holds (automatic: the minimal-memory placement; E = L + (N−1)·P).',
    get: (o) => o.dwdp.local,
  },
  {
    key: 'dwdpPull',
    flag: 'dwdp-pull',
    field: { key: 'pull', param: 'P', group: 'dwdp', default: '' },
    label: 'P (pulled per peer)',
    kind: 'int',
    min: 0,
    max: 1 << 16,
    usedBy: DWDP,
    help: 'Experts pulled from each peer; E = L + (N−1)·P.',
    get: (o) => o.dwdp.pull,
  },
  {
    key: 'prefetch',
    flag: 'prefetch',
    field: { key: 'prefetch', param: 'pf', group: 'dwdp' },
    label: 'Prefetch',
    kind: 'onoff',
    default: true,
    usedBy: DWDP,
    sources: MEASURED,
    help: 'On: pull all remote experts into ping-pong slots ahead of time. Off: pull the routed ones after routing.',
    get: (o) => o.dwdp.prefetch,
  },
  {
    key: 'prefetchDepth',
    flag: 'prefetch-depth',
    field: { key: 'depth', param: 'pd', group: 'dwdp' },
    label: 'Prefetch slots',
    kind: 'int',
    min: 1,
    max: 8,
    default: 2,
    usedBy: DWDP,
    needs: { option: 'prefetch', value: true },
    help: 'Prefetch slots; 2 = ping-pong, as in the paper.',
    get: (o) => o.dwdp.prefetchDepth,
  },
  {
    key: 'splitWeights',
    flag: 'split-weights',
    field: { key: 'split', param: 'split', group: 'dwdp' },
    label: 'Split weights',
    kind: 'onoff',
    default: true,
    usedBy: DWDP,
    help: 'On: the grouped GEMM reads each source in place. Off: merge into one buffer first (timed).',
    get: (o) => o.dwdp.splitWeights,
  },
  {
    key: 'linkGbps',
    flag: 'link-gbps',
    field: { key: 'gbps', param: 'gbps', group: 'link' },
    label: 'Link bandwidth',
    unit: 'GB/s',
    kind: 'number',
    min: 0,
    minExclusive: true,
    default: 900,
    usedBy: ['dep', 'dwdp'],
    help: 'Per rank, each direction (before time dilation).',
    get: (o) => o.link.gbps,
  },
  {
    key: 'linkLatencyUs',
    flag: 'link-latency-us',
    field: { key: 'latency', param: 'lat', group: 'link' },
    label: 'Link latency',
    unit: 'µs',
    kind: 'number',
    min: 0,
    max: 1e6,
    default: 2,
    usedBy: ['dep', 'dwdp'],
    help: 'Per transfer.',
    get: (o) => o.link.latencyUs,
  },
  {
    key: 'contentionFix',
    flag: 'contention-fix',
    field: { key: 'fix', param: 'fix', group: 'link' },
    label: 'Contention fix',
    kind: 'onoff',
    default: true,
    usedBy: DWDP,
    help: 'Slice pulls (2 MiB) and interleave them round-robin across peers, so no source’s copy engine is hit by everyone at once.',
    get: (o) => o.link.contentionFix,
  },
  {
    key: 'clock',
    flag: 'clock',
    field: {
      key: 'clock',
      param: 'clock',
      group: 'time',
      choiceLabels: { virtual: 'virtual (timestamps → event scheduler)', wall: 'wall (ranks really concurrent)' },
    },
    label: 'Clock',
    kind: 'choice',
    choices: ['virtual', 'wall'],
    default: 'virtual',
    sources: MEASURED,
    help: 'How time is read from the emulation: virtual (measured steps, scheduled) or wall (real concurrency, paced copies).',
    get: (o) => o.clock,
  },
  {
    key: 'timeDilation',
    flag: 'time-dilation',
    field: {
      key: 'dilation',
      param: 'dil',
      group: 'run',
      choiceLabels: { off: 'off', ...Object.fromEntries(Object.values(PROFILES).map((p) => [p.id, p.name])) },
    },
    label: 'Hardware profile',
    kind: 'choice',
    choices: ['off', ...PROFILE_IDS],
    default: 'gb200-nvl72',
    help:
      'The machine the numbers stand for. Modeled: the hardware the rack model runs on. Measured: the time dilation target — ' +
      'the link is scaled by (this device’s GEMM rate ÷ the profile’s) so compute-to-pull ratios match that hardware; off: no scaling.',
    get: (o) => o.timeDilation?.profile ?? 'off',
  },
  {
    key: 'attentionHeads',
    flag: 'attention-heads',
    field: { key: 'heads', param: 'heads', group: 'time' },
    label: 'Attention heads',
    kind: 'int',
    min: 1,
    max: 64,
    default: 4,
    sources: MEASURED,
    help: 'Attention stand-in shape: heads.',
    get: (o) => o.attention.heads,
  },
  {
    key: 'attentionHeadDim',
    flag: 'attention-head-dim',
    field: { key: 'headDim', param: 'hd', group: 'time' },
    label: 'Head dim',
    kind: 'int',
    min: 1,
    max: 256,
    default: 32,
    sources: MEASURED,
    help: 'Attention stand-in shape: head size.',
    get: (o) => o.attention.headDim,
  },
];

export const GROUP_OPTION: Readonly<Record<GroupOptionKey, GroupOptionDecl>> = Object.fromEntries(
  GROUP_OPTIONS.map((o) => [o.key, o]),
) as Record<GroupOptionKey, GroupOptionDecl>;

export function isGroupOptionKey(k: string): k is GroupOptionKey {
  return Object.hasOwn(GROUP_OPTION, k);
}

/** Option values by key: what a surface parsed, or the defaults. */
export type GroupValues = { [K in GroupOptionKey]?: OptionValue };

/** The library's defaults (the CLI's), from the table. */
export function groupDefaults(): GroupValues {
  return Object.fromEntries(GROUP_OPTIONS.filter((o) => o.default !== undefined).map((o) => [o.key, o.default]));
}

/** A run's options from option values (missing ones at their defaults). */
export function groupRunOptions(model: string | MoeConfig, values: GroupValues): GroupRunOptions {
  const v = { ...groupDefaults(), ...values };
  const dil = v.timeDilation as string;
  return {
    model,
    format: v.format as WeightFormat,
    seed: v.seed as number,
    strategy: v.strategy as StrategyName,
    ranks: v.ranks as number,
    rankMode: v.rankMode as RankMode,
    layers: v.layers as number,
    tokensPerRank: v.tokens as number,
    requestsPerRank: v.requests as number,
    lengthCv: v.lengthCv as number,
    lengthLaw: v.lengthLaw as LengthLaw,
    routingSkew: v.routingSkew as number,
    dwdp: {
      ...(v.dwdpLocal !== undefined ? { local: v.dwdpLocal as number } : {}),
      ...(v.dwdpPull !== undefined ? { pull: v.dwdpPull as number } : {}),
      prefetch: v.prefetch as boolean,
      prefetchDepth: v.prefetchDepth as number,
      splitWeights: v.splitWeights as boolean,
    },
    link: {
      gbps: v.linkGbps as number,
      latencyUs: v.linkLatencyUs as number,
      contentionFix: v.contentionFix as boolean,
    },
    clock: v.clock as ClockMode,
    ...(dil !== 'off' ? { timeDilation: { profile: dil } } : {}),
    attention: { heads: v.attentionHeads as number, headDim: v.attentionHeadDim as number },
  };
}

/** Defaults of a group run (the CLI's), minus the model. */
export const DEFAULT_GROUP_OPTIONS: Omit<GroupRunOptions, 'model'> = (() => {
  const { model: _model, ...rest } = groupRunOptions('', {});
  return rest;
})();

/** One option's value parsed from text (a flag, a field); throws OptionError. */
export function parseGroupOption(key: GroupOptionKey, raw: string): OptionValue {
  return parseText(GROUP_OPTION[key], raw);
}

/** The help line of an option: its help, range and default. */
export function optionHelp(o: GroupOptionDecl): string {
  const range = o.kind === 'int' || o.kind === 'number' ? rangeText(o) : '';
  const dflt = o.default === undefined ? 'default: automatic' : defaultText(o);
  const used = o.usedBy ? `${o.usedBy.join('/')} only; ` : '';
  return `${o.help} (${used}${range ? `${range}, ` : ''}${dflt})`;
}

// ---------------------------------------------------------------------------------------
// Rules between options

/** What the run is: which strategies read the options, and on the page which source. */
export interface RunContext {
  strategies: readonly StrategyName[];
  /** The page's source; the CLI is always measured. */
  source?: Source;
}

/**
 * Options given explicitly that the run would not read: each is refused, naming the option
 * and why (a strategy that does not use it, an option it needs, a source that ignores it).
 */
export function unusedOptionErrors(given: GroupValues, ctx: RunContext): OptionError[] {
  const out: OptionError[] = [];
  const values = { ...groupDefaults(), ...given };
  for (const o of GROUP_OPTIONS) {
    if (!Object.hasOwn(given, o.key) || given[o.key] === undefined) continue;
    const value = given[o.key];
    if (o.usedBy && !ctx.strategies.some((s) => o.usedBy!.includes(s))) {
      const chosen = `${ctx.strategies.length > 1 ? 'strategies are' : 'strategy is'} ${ctx.strategies.join(', ')}`;
      const users = o.usedBy.join(', ');
      out.push(
        new OptionError(o.key, value, d`is read only by ${users}, and the ${chosen}: remove it or choose ${users}`),
      );
    } else if (o.needs && values[o.needs.option] !== o.needs.value) {
      const want = typeof o.needs.value === 'boolean' ? (o.needs.value ? 'on' : 'off') : String(o.needs.value);
      out.push(
        new OptionError(
          o.key,
          value,
          d`is read only with ${ref(o.needs.option)} ${want}: remove it or set ${ref(o.needs.option)} ${want}`,
        ),
      );
    } else if (o.sources && ctx.source && !o.sources.includes(ctx.source)) {
      out.push(
        new OptionError(
          o.key,
          value,
          d`is read only by the ${o.sources.join(', ')} source: reset it or switch the source`,
        ),
      );
    }
  }
  return out;
}

/** The rules between the options of one run of one strategy on a model with `experts` routed experts. */
export function ruleErrors(experts: number, o: GroupRunOptions): OptionError[] {
  const out: OptionError[] = [];
  if (o.requestsPerRank > o.tokensPerRank)
    out.push(
      new OptionError(
        'requests',
        o.requestsPerRank,
        d`cannot exceed ${ref('tokens')} (${o.tokensPerRank}): every request has at least one token`,
        [{ option: 'requests', value: o.tokensPerRank }],
      ),
    );
  const MAX_CV = UNIFORM_RATIO_MAX_CV.toFixed(3);
  if (o.lengthLaw === 'uniform-ratio' && !(o.lengthCv < UNIFORM_RATIO_MAX_CV))
    out.push(
      new OptionError(
        'lengthCv',
        o.lengthCv,
        d`is out of reach of the uniform-ratio ${ref('lengthLaw')}: its CV stays below ${MAX_CV} (1/√3); or draw it from gamma or lognormal`,
        [{ option: 'lengthCv', value: 0.5 }],
      ),
    );
  if (o.strategy === 'dwdp' && o.ranks < 2)
    out.push(
      new OptionError('ranks', o.ranks, d`is too few for DWDP, which needs at least 2 ranks (with 1 rank it is dp)`, [
        { option: 'ranks', value: 2 },
      ]),
    );
  if (o.strategy === 'dep' && o.ranks > experts)
    out.push(
      new OptionError(
        'ranks',
        o.ranks,
        d`is too many for DEP, which gives every rank at least one expert: at most ${experts} ranks for ${experts} experts`,
        [{ option: 'ranks', value: experts }],
      ),
    );
  if (o.strategy === 'dwdp' && o.ranks >= 2) {
    const { local, pull } = o.dwdp;
    try {
      makePlacement(experts, o.ranks, local, pull);
    } catch (e) {
      if (!(e instanceof PlacementError)) throw e;
      const at: GroupOptionKey = local === undefined && pull !== undefined ? 'dwdpPull' : 'dwdpLocal';
      out.push(
        new OptionError(
          at,
          at === 'dwdpPull' ? pull : local,
          d`makes no DWDP placement for E=${experts}, N=${o.ranks}: ${e.problem}`,
          [
            { option: 'dwdpLocal', value: e.near.local },
            { option: 'dwdpPull', value: e.near.pull },
          ],
        ),
      );
    }
  }
  return out;
}

/** Every problem with a run's options: each option's range, then the rules between them. */
export function groupOptionErrors(cfg: MoeConfig, o: GroupRunOptions): OptionError[] {
  const out: OptionError[] = [];
  for (const decl of GROUP_OPTIONS) {
    const v = decl.get(o);
    if (v === undefined) continue;
    try {
      checkValue(decl, v);
    } catch (e) {
      out.push(e as OptionError);
    }
  }
  if (o.timeDilation && o.timeDilation.deviceGflops !== undefined && !(o.timeDilation.deviceGflops > 0))
    out.push(new OptionError('timeDilation', o.timeDilation.deviceGflops, d`needs a positive measured GEMM rate`));
  if (
    o.timingRepeats !== undefined &&
    !(Number.isInteger(o.timingRepeats) && o.timingRepeats >= 1 && o.timingRepeats <= 16)
  )
    out.push(new OptionError('timeDilation', o.timingRepeats, d`timing repeats must be an integer from 1 to 16`));
  if (out.length > 0) return out;
  return ruleErrors(cfg.experts, o);
}

/** Throws the first problem with a run's options as an OptionError (see groupOptionErrors). */
export function checkGroupOptions(cfg: MoeConfig, o: GroupRunOptions): void {
  const errors = groupOptionErrors(cfg, o);
  if (errors.length > 0) throw errors[0];
}
