// The emulation as a scale model of a target deployment (model, hardware profile, workload).
//
// A wind-tunnel model is trustworthy when it keeps the dimensionless numbers that decide the
// flow. What decides DWDP against DEP are five ratios; a scaled-down emulated run keeps each at
// its target's value as follows. Notation, per rank and MoE layer: T tokens, K top-k, E experts,
// H hidden, F expert hidden, N ranks, P experts pulled from each peer, b bytes per weight.
// Subscript t is the target (modeled on its hardware profile), e the emulation (measured here).
//
//   time scale       σ = g_e / g_t: the emulated grouped GEMM's time (its FLOPs at this device's
//                    measured GEMM rate) over the target's (the cost model's, at the target's T).
//                    Target time × σ is emulated time.
//   tokens           T_t = T_e · (K_e/E_e) / (K_t/E_t): the same tokens per expert (DESIGN §2);
//                    request lengths are drawn in target tokens (the rack model's generator, same
//                    seed) and divided by s = T_t/T_e, so per-rank imbalance is the target's.
//   link (×)         compute : weight pull. p = B/bw with B = (N−1)·P·bytes per expert pulled per
//                    layer; keeping p_e/g_e = p_t/g_t gives bw_e = bw_t·η_link·(B_e/B_t)/σ (η_link:
//                    the link efficiency the model applies). With equal tokens per expert and b this
//                    is the older dilation (device GEMM rate ÷ profile GEMM rate), times η_link.
//                    Latency: λ_e = σ·λ_t.
//   activations (×)  compute : all-to-all. DEP moves A = (N−1)·T·reach·H values per layer and
//                    direction (reach = 1 − C(E−E/N, K)/C(E, K)). On the link above, keeping
//                    c_e/g_e = c_t/g_t gives α = (A_t/A_e)·(B_e/B_t): the emulation charges its
//                    activation bytes (at the target's FP8 dispatch / BF16 combine) times α.
//   attention (×)    attention : MoE. The attention stand-in (heads × head dim, no projections)
//                    is not R1's MLA at the target's lengths; its measured time is DILATED (not
//                    resized, which would make runs slow): β = σ·Σ_r att_t(S_r) / Σ_r att_e,r over
//                    the run's ranks and layers, where att_t is the model's attention + norms of
//                    rank r at its target lengths, + its shared expert when the emulated model has
//                    none (the work that precedes the pull wait in both schedules; a shared expert
//                    measured here is dilated on its own, as 'dense'). Per-rank and per-layer variation stays measured.
//                    Router and combine get the same treatment (SwiftShader's router runs ~11×
//                    slower than its roofline; docs/rack-model.md), DEP's pack/local copies the
//                    model's fixed all-to-all cost, the split-off merge the model's HBM copy.
//   grouped GEMM (×) compute : compute across strategies. At the target's token counts its grouped
//                    GEMM is bound by reading expert weights from HBM, and a DP/DWDP rank reads
//                    all E experts where a DEP rank reads E/N (docs/rack-model.md: 1.37 against
//                    0.96 ms at 8K); the CPU-emulated adapter, whose "HBM" is host RAM, has no
//                    such ratio. So the GEMM is dilated like attention: σ × the model's GEMM of
//                    the strategy ÷ the run's measured GEMM (σ itself stays the common unit).
//                    Under the run's routing (target.ts withRoutedTarget) the model's GEMM is the
//                    counterpart's: every expert's rows in whole tiles, the last padded, per layer
//                    — padded target work for the emulated kernel's padded work.
//   dense layers     The target's dense layers (R1: 3 of 61) and its embedding + LM head have no
//                    counterpart here; they are added as modeled compute (σ × the cost model's time
//                    at the rank's target lengths) before the first MoE layer and at the end of the
//                    step, where the model has them: the first prefetches hide behind them.
//   copy interference compute : compute while a pull moves bytes. The target's compute runs 1/(1 + s)
//                    as fast while a pull into or out of its rank moves bytes (s = the profile's
//                    calibrated efficiency.interference: 0.195 on gb200-nvl72, fitted to the paper's
//                    Table 3; docs/rack-model.md). s is dimensionless, so the scale model keeps it
//                    equal: the virtual clock schedules the dilated programs with the target's s,
//                    the same scheduler and the same mechanism as the rack model. The wall clock
//                    cannot apply it (compute is timed as it ran): there it is printed as not applied.
//   layers           pipeline start-up. The prefetch exposes the first `depth` layers' pulls at
//                    step start; with 4 layers that is half of them, with R1's 58 MoE layers 2/58.
//                    The measured layers are SCHEDULED as the target's MoE layer count: layer
//                    bodies (attention to attention) repeat, relabeled, the ones that issue a
//                    prefetch for the middle layers and the last `depth` for the end, so the
//                    prefetch pipeline starts and drains once, as in the target.
//
// Every factor is a plain number with its reason (`why`), printed with the run; the durations
// it scales stay measured here, the factors are modeled (cost model on the profile).
//
// Two halves: src/similarity/target.ts computes the target's side with the rack model's cost
// model (a ScaleTarget: plain data, built by the shells — CLI, page, benches); this module does
// the measured side and the scheduling, and stands only on the timeline's ops, so the
// emulation's rank loops use it without reaching the rack model.

import type { WeightFormat } from '../model/formats.ts';
import type { Op } from '../timeline/ops.ts';
import { uniformRatioMin, type LengthLaw } from '../workload/lengths.ts';

/** The model a time-dilated run stands for unless told otherwise: the rack model's. */
export const DEFAULT_TARGET_MODEL = 'deepseek-r1';

/** What an emulated run stands for. */
export interface TargetSpec {
  /** Model preset of the target (the rack model's: deepseek-r1). */
  model: string;
  /** Hardware profile id (e.g. gb200-nvl72). */
  profile: string;
}

/** The target workload in target tokens. */
export interface TargetWorkload {
  /** Mean input length and CV of a request, requests per rank (the rack model's isl, cv, batch). */
  isl: number;
  cv: number;
  /** The law the lengths are drawn from, as the rack model's scenario keys (uniform-ratio: isl is its longest). */
  law: { isl: number; cv: number; lengthLaw: LengthLaw; islRatio?: number };
  batch: number;
  groupSize: number;
  seed: number;
  /** Per rank, its requests' lengths in target tokens (the rack model's draw for one step). */
  lengths: number[][];
}

/** The rack-model scenario parameters a scaled run stands for (a subset of src/sim/scenarios.ts ScenarioParams). */
export interface CounterpartParams {
  isl: number;
  cv: number;
  lengthLaw: LengthLaw;
  islRatio?: number;
  /** The emulation's routing skew (Zipf exponent of hot experts), when it has one and no routed counts were recorded. */
  routingSkew?: number;
  /** The emulation's router's own loads, carried to the target's experts (src/sim/routing.ts, loadsFromCounts). */
  expertLoads?: number[][];
  batch: number;
  groupSize: number;
  steps: number;
  seed: number;
  format: WeightFormat;
  contentionFix: boolean;
  splitWeights: boolean;
  prefetchDepth: number;
}

/** Categories whose measured time is dilated to the target's share. */
export const DILATED_CATEGORIES = ['attention', 'router', 'dense', 'gemm', 'combine', 'collective', 'merge'] as const;
export type DilatedCategory = (typeof DILATED_CATEGORIES)[number];
export type ScaledStrategy = 'dp' | 'dep' | 'dwdp';

/**
 * The target's side of a scale model, modeled on its profile (src/similarity/target.ts builds
 * it): plain data, so it travels in a run's options (and to a worker).
 */
export interface ScaleTarget {
  spec: TargetSpec;
  /** The target model's name, and its MoE and dense layer counts. */
  modelName: string;
  moeLayers: number;
  denseLayers: number;
  workload: TargetWorkload;
  /** Target tokens per emulated token (T_t/T_e), and the emulated request lengths (target ÷ that, ≥ 1). */
  tokenScale: number;
  emulatedLengths: number[][];
  /** The emulation's grouped-GEMM FLOPs of a rank at its mean tokens, and the target's GEMM time there (ms, modeled). */
  emulatedGemmFlops: number;
  targetGemmMs: number;
  targetTokens: number;
  /** Weight bytes pulled per layer and rank: B_e, B_t; the model's link efficiency η_link (one-sided pulls). */
  pulledBytes: { emulated: number; target: number };
  linkEfficiency: number;
  /** The model's all-to-all efficiency η_a2a: the target's activation exchange runs at η_a2a, its pulls at η_link. */
  allToAllEfficiency: number;
  /** Activation values DEP moves per layer, rank and direction: A_e, A_t. */
  activationValues: { emulated: number; target: number };
  /** Per rank (target lengths), per MoE layer, modeled ms of every dilated category; gemm per strategy. */
  perLayerMs: {
    attention: number[];
    /** The shared expert (category 'dense' when the emulated model has one, else counted with attention). */
    shared: number[];
    router: number[];
    combine: number[];
    gemm: Record<ScaledStrategy, number[]>;
    /** DEP's fixed cost of two all-to-all phases. */
    collective: number;
    /** The split-off merge of one layer's pulled experts. */
    merge: number;
  };
  /**
   * With the routing the run had (withRoutedTarget, src/similarity/target.ts): per strategy, rank
   * and MoE layer of the loads, the target's grouped GEMM with every expert's rows in whole
   * tiles, the last one padded (the counterpart's work). Layer k of the target uses entry
   * k mod its length, as the counterpart cycles the loads; it replaces perLayerMs.gemm.
   */
  gemmByLayer?: Record<ScaledStrategy, number[][]>;
  /** Per rank, modeled ms of the dense layers before the MoE layers and of the step's tail (embed + LM head). */
  denseHeadMs: number[];
  tailMs: number[];
  /** Measured layers, and how many they are scheduled as. */
  layers: { measured: number; scheduledAs: number; why: string };
  /**
   * The target's copy interference s (compute runs 1/(1 + s) as fast while a pull into or out of
   * its rank moves bytes): the cost model's (CostModel.schedulerOptions), 0 where the profile
   * calibrates none; `source` says how the profile's efficiencies were set (calibrationText).
   */
  copyInterference: { value: number; source: string };
  /** What differs in shape, for the reasons printed. */
  shapes: { emulated: { F: number; K: number }; target: { F: number; K: number } };
  /** The rack-model parameters of the target (a scenario's base for npm run sim). */
  params: CounterpartParams;
}

export interface Factor {
  value: number;
  why: string;
}

export class ScaleModel {
  private constructor(
    readonly target: ScaleTarget,
    /** σ: emulated ms per target ms. */
    readonly timeScale: number,
    readonly link: Factor,
    readonly activations: Factor,
  ) {}

  get tokenScale(): number {
    return this.target.tokenScale;
  }

  get workload(): TargetWorkload {
    return this.target.workload;
  }

  get layers(): ScaleTarget['layers'] {
    return this.target.layers;
  }

  /**
   * The factors of `t` on a device whose grouped GEMM runs at `deviceGflops` (measured here):
   * σ = (emulated GEMM FLOPs ÷ rate) ÷ the target's GEMM time; link = η_link·(B_e/B_t)/σ;
   * activations = (A_t/A_e)·(B_e/B_t)·(η_link/η_a2a) — the emulation's one link carries both, so
   * the activation bytes are scaled by how much slower the target's all-to-all runs than its pulls.
   */
  static create(t: ScaleTarget, deviceGflops: number): ScaleModel {
    if (!(deviceGflops > 0) || !Number.isFinite(deviceGflops))
      throw new Error(`scale model: the device GEMM rate must be a positive GFLOP/s (got ${deviceGflops})`);
    const ge = t.emulatedGemmFlops / (deviceGflops * 1e6);
    const sigma = ge / t.targetGemmMs;
    const { emulated: Be, target: Bt } = t.pulledBytes;
    const { emulated: Ae, target: At } = t.activationValues;
    const eta = t.linkEfficiency;
    const etaA = t.allToAllEfficiency;
    const f = (x: number) => x.toPrecision(3);
    return new ScaleModel(
      t,
      sigma,
      {
        value: (eta * (Be / Bt)) / sigma,
        why:
          `compute : pull of ${t.modelName} on ${t.spec.profile}: η_link ${eta} × bytes pulled ${f(Be)} ÷ ${f(Bt)} ÷ σ ${f(sigma)} ` +
          `(σ = grouped GEMM measured here ${f(ge)} ms ÷ modeled ${f(t.targetGemmMs)} ms at ${Math.round(t.targetTokens)} target tokens)`,
      },
      {
        value: Ae > 0 ? (At / Ae) * (Be / Bt) * (eta / etaA) : 1,
        why:
          `compute : all-to-all: activation values ${f(At)} ÷ ${f(Ae)} × weight bytes ${f(Be)} ÷ ${f(Bt)} ` +
          `× η_link ${eta} ÷ η_all-to-all ${etaA} ` +
          `(F ${t.shapes.target.F} vs ${t.shapes.emulated.F}, K ${t.shapes.target.K} vs ${t.shapes.emulated.K})`,
      },
    );
  }

  /** Target per-rank, per-layer time (modeled, ms) of a dilated category for a strategy. */
  targetMs(category: DilatedCategory, strategy: ScaledStrategy, rank: number, sharedApart = false): number {
    const m = this.target.perLayerMs;
    switch (category) {
      case 'attention':
        return m.attention[rank] + (sharedApart ? 0 : m.shared[rank]);
      case 'dense':
        return m.shared[rank];
      case 'gemm': {
        // With the run's routing: the mean over the loads' layers (targetTotalMs sums them as scheduled).
        const byLayer = this.target.gemmByLayer?.[strategy][rank];
        return byLayer ? byLayer.reduce((a, b) => a + b, 0) / byLayer.length : m.gemm[strategy][rank];
      }
      case 'collective':
        return strategy === 'dep' ? m.collective : 0;
      case 'merge':
        return m.merge;
      default:
        return m[category][rank];
    }
  }

  /**
   * Target time (modeled, ms) of a dilated category over `layers` MoE layers of rank r: the
   * per-layer time × layers, or with per-layer GEMMs (gemmByLayer) their sum, layer k taking
   * entry k mod their count.
   */
  targetTotalMs(
    category: DilatedCategory,
    strategy: ScaledStrategy,
    rank: number,
    layers: number,
    sharedApart = false,
  ): number {
    const byLayer = this.target.gemmByLayer?.[strategy][rank];
    if (category !== 'gemm' || !byLayer) return this.targetMs(category, strategy, rank, sharedApart) * layers;
    let ms = 0;
    for (let k = 0; k < layers; k++) ms += byLayer[k % byLayer.length];
    return ms;
  }

  /** Modeled compute (emulated ms: σ × target) of rank r's dense layers before the MoE layers, and of its step tail. */
  denseMs(rank: number): { head: number; tail: number } {
    return { head: this.timeScale * this.target.denseHeadMs[rank], tail: this.timeScale * this.target.tailMs[rank] };
  }

  /**
   * Dilation of each category for one run: σ × the target's total ÷ the measured total over
   * `programs` holding `layers` MoE layers each: the programs as scheduled (after extendLayers,
   * so a repeated body weighs as often as it runs and each category's scheduled total is σ × the
   * target's), or as recorded with the measured layer count. Categories absent get no factor.
   */
  categoryFactors(
    strategy: ScaledStrategy,
    programs: readonly (readonly Op[])[],
    layers = this.target.layers.measured,
  ): Map<DilatedCategory, Factor> {
    const out = new Map<DilatedCategory, Factor>();
    const measuredMs = (cat: string) => {
      let ms = 0;
      for (const p of programs)
        for (const op of p) if (op.kind === 'compute' && op.category === cat) ms += op.durationMs;
      return ms;
    };
    // The target's shared expert: its own category when the emulated model has one, else part of attention.
    const sharedApart = measuredMs('dense') > 0;
    for (const cat of DILATED_CATEGORIES) {
      const measured = measuredMs(cat);
      if (!(measured > 0)) continue;
      let target = 0;
      programs.forEach((_, r) => (target += this.targetTotalMs(cat, strategy, r, layers, sharedApart)));
      const value = (this.timeScale * target) / measured;
      out.set(cat, {
        value,
        why: `${cat} : MoE of the target: σ × modeled ${target.toPrecision(3)} ms ÷ measured ${measured.toPrecision(3)} ms`,
      });
    }
    return out;
  }

  /** The target's copy interference s (modeled), a dimensionless ratio the scale model keeps equal. */
  get copyInterference(): number {
    return this.target.copyInterference.value;
  }

  /**
   * The copy interference line of the printout: the target's s, where it comes from, and whether
   * the run applied it — the virtual clock schedules with it, the wall clock cannot.
   */
  interferenceLine(clock: 'virtual' | 'wall' = 'virtual'): string {
    const { value: s, source } = this.target.copyInterference;
    const from = `(modeled: the ${this.target.spec.profile} profile's, ${source})`;
    if (s === 0) return `copy interference s = 0: none, compute never slows under a pull, as in the rack model ${from}`;
    return clock === 'wall'
      ? `copy interference s = ${s}: NOT applied — wall clock: compute is timed as it ran (the virtual clock applies it) ${from}`
      : `copy interference s = ${s}, applied in the emulated timeline: compute runs 1/(1 + s) as fast while a pull ` +
          `into or out of its rank moves bytes ${from}`;
  }

  /** The target workload's lengths in words: the law's ISL, and the mean request where the two differ (uniform-ratio). */
  private islText(): string {
    const w = this.target.workload;
    const { isl, islRatio, lengthLaw } = w.law;
    if (lengthLaw !== 'uniform-ratio' || islRatio === undefined) return `ISL ${w.isl}`;
    const lo = uniformRatioMin(isl, islRatio);
    return `ISL ${isl} (lengths uniform in [${lo}, ${isl}], ratio ${Number(islRatio.toPrecision(4))}; mean request ${w.isl})`;
  }

  /**
   * One line per factor, for the run's printout. On the wall clock the layers run as they are and
   * copy interference is not applied (both need the virtual clock's schedule).
   */
  describe(categories?: Map<DilatedCategory, Factor>, clock: 'virtual' | 'wall' = 'virtual'): string[] {
    const f = (x: number) => (x >= 0.01 && x < 1000 ? x.toFixed(3) : x.toExponential(2));
    const t = this.target;
    const w = t.workload;
    const lines = [
      `stands for ${t.modelName} on ${t.spec.profile} (modeled), ${this.islText()} × ${w.batch} requests per rank, ` +
        `CV ${w.cv} (${w.law.lengthLaw}), N ${w.groupSize}: 1 token here = ${t.tokenScale.toFixed(2)} target tokens, ` +
        `σ ${f(this.timeScale)} ms here per target ms`,
      `link ×${f(this.link.value)}: ${this.link.why}`,
      `activations ×${f(this.activations.value)}: ${this.activations.why}`,
    ];
    for (const [cat, v] of categories ?? []) lines.push(`${cat} ×${f(v.value)}: ${v.why}`);
    lines.push(this.interferenceLine(clock));
    lines.push(
      clock === 'wall'
        ? `layers ${t.layers.measured}: wall clock: the layers ran as they are (rescheduling needs the virtual clock)`
        : `layers ${t.layers.measured} → ${t.layers.scheduledAs}: ${t.layers.why}`,
    );
    if (t.denseLayers > 0)
      lines.push(
        clock === 'wall'
          ? `dense layers: the target's ${t.denseLayers} and its embed + LM head not added (wall clock)`
          : `dense layers: the target's ${t.denseLayers} and its embed + LM head added as modeled compute (σ × cost model)`,
      );
    return lines;
  }
}

// ---------------------------------------------------------------------------------------
// Scheduling the measured layers as the target's layer count

const LAYER_TAG = /\bL(\d+)\b/g;
const relabel = (s: string, delta: number) => s.replace(LAYER_TAG, (_, n: string) => `L${Number(n) + delta}`);

function shift(op: Op, delta: number): Op {
  if (delta === 0) return op;
  const layer = 'layer' in op && op.layer !== undefined ? op.layer + delta : undefined;
  const id = (x: string | number) => (typeof x === 'string' ? relabel(x, delta) : x);
  switch (op.kind) {
    case 'compute':
      return { ...op, label: relabel(op.label, delta), layer };
    case 'pull':
      return { ...op, id: id(op.id), label: op.label && relabel(op.label, delta), layer };
    case 'send':
      return { ...op, id: id(op.id), label: op.label && relabel(op.label, delta), layer };
    case 'waitPull':
    case 'waitRecv':
      return { ...op, ids: op.ids.map(id), layer };
    case 'barrier':
      return { ...op, id: id(op.id), layer };
    case 'notBefore':
      return op;
  }
}

/**
 * A rank's recorded program of `measured` layers scheduled as `target` layers. A layer's body
 * runs from its attention to the next layer's attention. Bodies that issue pulls (a prefetch
 * for a later layer) repeat, relabeled, for every middle layer; the trailing bodies that issue
 * none end the step. Ids and labels carry the layer as `L<n>`, which is shifted. Programs
 * whose layers cannot be told apart come back unchanged.
 */
export function extendLayers(program: readonly Op[], measured: number, target: number): Op[] {
  if (target <= measured) return [...program];
  // A prefetch that no layer body re-issues (layers ≤ depth) cannot be extended.
  const waits = program.some((op) => op.kind === 'waitPull');
  const starts: number[] = [];
  program.forEach((op, i) => {
    if (op.kind === 'compute' && op.category === 'attention') starts.push(i);
  });
  if (starts.length !== measured) return [...program];
  const prologue = program.slice(0, starts[0]);
  const bodies = starts.map((s, l) => program.slice(s, l + 1 < measured ? starts[l + 1] : program.length));
  const issues = bodies.map((b) => b.some((op) => op.kind === 'pull'));
  if (waits && !issues.some(Boolean) && prologue.some((op) => op.kind === 'pull')) return [...program];
  let tail = 0;
  while (tail < measured && !issues[measured - 1 - tail] && issues.some(Boolean)) tail++;
  const head = measured - tail;
  const out: Op[] = [...prologue];
  for (let j = 0; j < target - tail; j++) {
    const src = j % head;
    for (const op of bodies[src]) out.push(shift(op, j - src));
  }
  for (let i = 0; i < tail; i++) {
    const src = head + i;
    for (const op of bodies[src]) out.push(shift(op, target - tail + i - src));
  }
  return out;
}

/**
 * The target's dense layers before the first MoE layer (after the step's first pulls are issued)
 * and its embedding + LM head at the end, as modeled compute ops of the given durations.
 */
export function addDenseLayers(program: readonly Op[], ms: { head: number; tail: number }, layers: number): Op[] {
  const first = program.findIndex((op) => op.kind === 'compute');
  const at = first < 0 ? program.length : first;
  const head: Op[] =
    ms.head > 0
      ? [{ kind: 'compute', label: `${layers} dense layers (modeled)`, category: 'dense', durationMs: ms.head }]
      : [];
  const tail: Op[] =
    ms.tail > 0
      ? [{ kind: 'compute', label: 'embed + LM head (modeled)', category: 'other', durationMs: ms.tail }]
      : [];
  return [...program.slice(0, at), ...head, ...program.slice(at), ...tail];
}

/** Multiplies the duration of every compute op of a dilated category by its factor. */
export function dilate(program: readonly Op[], factors: ReadonlyMap<string, Factor>): Op[] {
  return program.map((op) => {
    if (op.kind !== 'compute') return op;
    const f = factors.get(op.category);
    return f ? { ...op, durationMs: op.durationMs * f.value } : op;
  });
}
