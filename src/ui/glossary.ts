// The page's vocabulary: every metric, column and legend term with its definition and, where
// it is computed, its formula. The summary's headers, the cards, the legends and the glossary
// section all read it, so a term means one thing everywhere it appears.
//
// Pure module (Node and browser).
import type { MoeConfig } from '../model/config.ts';

export interface Term {
  term: string;
  meaning: string;
  /** How it is computed, in symbols defined in `meaning` or elsewhere in the glossary. */
  formula?: string;
}

export const GLOSSARY = {
  strategy: {
    term: 'strategy',
    meaning:
      'DP: every rank holds every expert; DEP: experts sharded, tokens exchanged in an all-to-all every MoE layer; ' +
      'DWDP: each rank holds L experts and pulls the rest from its peers ahead of use, with no barriers',
  },
  tpsGpu: {
    term: 'TPS/GPU',
    meaning: 'prefill throughput per GPU: tokens the whole group processed per second of its makespan, per rank',
    formula: 'Σ tokens ÷ makespan ÷ N',
  },
  tpsUser: {
    term: 'TPS/user',
    meaning: 'what one request sees: the mean over requests of its tokens over the time its rank took to finish it',
    formula: 'mean over requests (tokens ÷ its rank’s finish time)',
  },
  vsDep: {
    term: 'vs DEP',
    meaning: 'the same metric divided by DEP’s at the same point: above 1 the strategy is faster than DEP',
    formula: 'metric ÷ metric of DEP',
  },
  counterpart: {
    term: 'modeled counterpart',
    meaning:
      'the target a scaled emulated run stands for (a model on a hardware profile, its requests in target tokens), ' +
      'run through the rack model; its ratios under the same names as the measured ones, and how far the measured ones differ',
    formula: 'difference = measured ratio ÷ modeled ratio − 1',
  },
  makespan: {
    term: 'makespan',
    meaning: 'time from the step’s start until its slowest rank finishes; every rate is over this',
    formula: 'max over ranks of its end time',
  },
  compute: { term: 'compute / rank', meaning: 'time a rank’s stream spent running kernels, mean over ranks' },
  pullWait: {
    term: 'pull wait / rank',
    meaning: 'time a rank’s stream stood still waiting for a DWDP pull to land (exposed pull time), mean over ranks',
  },
  barrierWait: {
    term: 'barrier wait / rank',
    meaning: 'time a rank stood still at DEP’s all-to-all barrier waiting for a slower peer, mean over ranks',
  },
  idle: {
    term: 'idle / rank',
    meaning: 'time a rank had nothing to do: it finished before the slowest rank (mean over ranks)',
    formula: 'makespan − rank’s end time (+ gaps)',
  },
  hiddenPull: {
    term: 'hidden pull',
    meaning: 'DWDP: the share of pull time that overlapped the rank’s own compute, so cost nothing',
    formula: '1 − exposed pull wait ÷ total pull time',
  },
  pulled: {
    term: 'pulled / rank',
    meaning: 'bytes of remote expert weights each rank pulled over the step, mean over ranks',
  },
  weights: {
    term: 'weights / rank',
    meaning: 'routed-expert weight memory of the largest rank: resident experts plus DWDP’s prefetch buffers',
  },
  ofReplica: {
    term: 'of replica',
    meaning: 'weights / rank as a share of a full replica (every routed expert, as DP holds)',
    formula: 'weights / rank ÷ (E × bytes per expert × MoE layers)',
  },
  hbm: {
    term: 'memory / GPU',
    meaning:
      'modeled: weights (routed experts as placed, the rest replicated) plus the KV cache of the step, against the profile’s HBM',
  },
  dilation: {
    term: 'time dilation',
    meaning:
      'measured runs with a hardware profile: the link is slowed by the ratio of this device’s GEMM rate to the ' +
      'profile’s, so compute : link matches the profile; rates on a dilated link are then read back at the profile’s speed',
    formula: 'link factor = device GFLOP/s ÷ profile GFLOP/s',
  },
  crossover: {
    term: 'crossover',
    meaning:
      'where DWDP ÷ DEP TPS/GPU crosses 1 along a numeric sweep (interpolated between the two points that bracket it)',
  },
  baseline: {
    term: 'baseline',
    meaning:
      'a finished run pinned with “pin as baseline” (with its configuration and where its numbers came from); ' +
      'it stays while the form changes and later runs are set beside it. Kept in this browser across reloads',
  },
  vsBaseline: {
    term: '× baseline',
    meaning: 'the current run’s value divided by the baseline’s: above 1 the current run is higher',
    formula: 'current ÷ baseline',
  },
  breakdownDelta: {
    term: 'breakdown Δ',
    meaning:
      'the change in a breakdown column (mean per rank: attention, grouped GEMM, dense GEMM, others, comm, sync, ' +
      'P2P exposed add up to the step; P2P busy is the copy stream, outside the sum) from the baseline to the current run',
    formula: 'Δ = current − baseline; Δ% = Δ ÷ baseline',
  },
  withinSpread: {
    term: 'within the runs’ spread',
    meaning:
      'both runs repeated (Repeat > 1): the ranges min–max over each side’s repetitions overlap, so these runs do ' +
      'not tell the two apart',
    formula: 'baseline min ≤ current max and current min ≤ baseline max',
  },
  mixedProvenance: {
    term: 'mixed provenance',
    meaning:
      'the baseline and the current run got their numbers from different places (measured here vs modeled, another ' +
      'adapter, timer or clock, another hardware profile or calibration): a ratio across them mixes the two',
  },
} as const satisfies Record<string, Term>;

export type TermKey = keyof typeof GLOSSARY;

/** The text of a tooltip: "TPS/GPU: … = Σ tokens ÷ makespan ÷ N". */
export function tooltip(key: TermKey): string {
  const t: Term = GLOSSARY[key];
  return `${t.term}: ${t.meaning}${t.formula ? `. = ${t.formula}` : ''}`;
}

/** A dilation factor in words: "1/6.29 million (×1.59e-7)", "×2.5". */
export function dilationWords(factor: number): string {
  if (!(factor > 0) || !Number.isFinite(factor)) return `×${factor}`;
  if (factor >= 1) return `×${factor.toPrecision(3)}`;
  const inv = 1 / factor;
  const scaled =
    inv >= 1e9
      ? `${(inv / 1e9).toPrecision(3)} billion`
      : inv >= 1e6
        ? `${(inv / 1e6).toPrecision(3)} million`
        : inv >= 1e3
          ? `${(inv / 1e3).toPrecision(3)} thousand`
          : inv.toPrecision(3);
  return `1/${scaled} (×${factor.toExponential(2)})`;
}

/** A model's parsed shape in one line: "deepseek_v3: H=7168 F=2048 E=256 K=8, 58 MoE of 61 layers". */
export function modelShape(m: MoeConfig): string {
  const type = typeof m.raw.model_type === 'string' ? m.raw.model_type : m.family;
  const shared = m.sharedHidden > 0 ? ` Fs=${m.sharedHidden}` : '';
  return `${type}: H=${m.hidden} F=${m.expertHidden} E=${m.experts} K=${m.topK}${shared}, ${m.layers.moe} MoE of ${m.layers.total} layers`;
}
