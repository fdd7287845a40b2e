// The scale model (src/similarity): its factors keep the target's dimensionless ratios, the
// measured layers reschedule as the target's layer count without breaking the prefetch or the
// all-to-all, and the counterpart scenario is one the rack model accepts, with the comparison's
// ratio names. No GPU: the factors are pure, the runs are fabricated from them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expertLayout } from '../src/model/formats.ts';
import { loadPreset } from '../src/model/presets.ts';
import { CostModel, tokenReachesRankProbability } from '../src/sim/cost-model.ts';
import { getProfile } from '../src/hardware/profiles.ts';
import { checkScenario, parseScenario, runScenario } from '../src/sim/scenarios.ts';
import { simulate } from '../src/timeline/scheduler.ts';
import type { Op } from '../src/timeline/ops.ts';
import { linkSpec } from '../src/timeline/link.ts';
import { counterpartScenario, modeledRates } from '../src/similarity/counterpart.ts';
import { ScaleModel, addDenseLayers, dilate, extendLayers } from '../src/similarity/scale-model.ts';
import { scaleTarget, targetWorkload, withRoutedTarget, type EmulatedShape } from '../src/similarity/target.ts';
import { comparisonRatios, counterpartOf, type ComparisonPoint } from '../src/ui/compare.ts';
import type { GroupRunResult, StrategyName } from '../src/strategies/types.ts';
import { Rng } from '../src/util/random.ts';
import { deepseekR1, runStepRow, stepBatches, stepLengths } from '../src/sim/experiment.ts';
import { dwdpPrograms } from '../src/sim/programs.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import { LENGTH_LAWS, meanLength } from '../src/workload/lengths.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;
const rng = new Rng(seed);

function shape(over: Partial<EmulatedShape> = {}): EmulatedShape {
  return {
    cfg: loadPreset('tiny-mixtral'),
    format: 'nvfp4',
    ranks: 4,
    layers: 4,
    tokensPerRank: 64 * (1 + rng.int(16)),
    requestsPerRank: 1 + rng.int(4),
    lengthCv: [0, 0.2, 0.4][rng.int(3)],
    lengthLaw: LENGTH_LAWS[rng.int(LENGTH_LAWS.length)],
    seed: rng.int(1000),
    prefetch: true,
    prefetchDepth: 2,
    splitWeights: true,
    contentionFix: true,
    ...over,
  };
}

describe('scale model factors', () => {
  it('keep compute : pull and compute : all-to-all at the target’s values', () => {
    const e = shape();
    const gflops = 0.05 + rng.next() * 5;
    const s = ScaleModel.create(scaleTarget({ model: 'deepseek-r1', profile: 'gb200-nvl72' }, e), gflops);
    const r1 = loadPreset('deepseek-r1');
    const cost = new CostModel({ model: r1, profile: getProfile('gb200-nvl72') });
    const N = e.ranks;
    // Independent float64 sums: same tokens per expert, bytes pulled = (N−1)·(E/N) experts.
    const Tt = (e.tokensPerRank * e.cfg.topK * r1.experts) / (e.cfg.experts * r1.topK);
    const Be = (N - 1) * (e.cfg.experts / N) * expertLayout('nvfp4', e.cfg.hidden, e.cfg.expertHidden).bytes;
    const Bt = (N - 1) * (r1.experts / N) * cost.expertBytes;
    const ge = (2 * e.tokensPerRank * e.cfg.topK * 3 * e.cfg.hidden * e.cfg.expertHidden) / (gflops * 1e6);
    const gt = ge / s.timeScale;
    const bwT = cost.linkGBps * cost.efficiency.link; // GB/s achieved on the target
    const bwE = cost.linkGBps * s.link.value; // the emulation's link: --link-gbps (the profile's) × link factor
    expect((Be / bwE / ge) * (gt / (Bt / bwT)), `pull ÷ GEMM ${at}`).toBeCloseTo(1, 9);
    const reach = (E: number, K: number) => tokenReachesRankProbability(E, K, N);
    // The emulated DEP sends a row per routed slot, (N−1)/N of its T·K to other ranks; the target a row per token reached.
    const Ae = ((N - 1) / N) * e.tokensPerRank * e.cfg.topK * e.cfg.hidden;
    const At = (N - 1) * Tt * reach(r1.experts, r1.topK) * r1.hidden;
    const ce = (s.activations.value * Ae) / bwE;
    const bwA = cost.linkGBps * cost.efficiency.allToAll; // the target's all-to-all runs slower than its pulls
    expect(cost.efficiency.allToAll).not.toBe(cost.efficiency.link);
    expect((ce / ge) * (gt / (At / bwA)), `all-to-all ÷ GEMM ${at}`).toBeCloseTo(1, 9);
    expect(s.tokenScale, at).toBeCloseTo(Tt / e.tokensPerRank, 12);
    expect(s.layers.scheduledAs).toBe(r1.layers.moe);
    // Copy interference: the target profile's calibrated s, kept equal (dimensionless), printed as applied in the virtual timeline.
    const ci = getProfile('gb200-nvl72').calibration!.efficiency.interference!;
    expect(s.copyInterference).toBe(ci);
    expect(s.describe()).toContain(s.interferenceLine('virtual'));
    expect(s.interferenceLine('virtual')).toMatch(
      new RegExp(
        `^copy interference s = ${ci}, applied in the emulated timeline: .*\\(modeled: the gb200-nvl72 profile.s, calibrated`,
      ),
    );
    expect(s.describe(undefined, 'wall')).toContain(s.interferenceLine('wall'));
    expect(s.interferenceLine('wall')).toMatch(/NOT applied — wall clock/);
    expect(s.describe(undefined, 'wall').some((l) => l.startsWith('layers 4 → 58'))).toBe(false);
    for (const line of ['link ×', 'activations ×', 'layers 4 → 58'])
      expect(
        s.describe().some((l) => l.startsWith(line)),
        line,
      ).toBe(true);
  });

  it('draws the target’s requests with the run’s law by the one generator, as its counterpart scenario does, and scales them down', () => {
    const r1 = loadPreset('deepseek-r1');
    for (const lengthLaw of LENGTH_LAWS) {
      const e = shape({ lengthCv: 0.3, lengthLaw });
      const t = targetWorkload(r1, e);
      const params = scaleTarget({ model: 'deepseek-r1', profile: 'gb200-nvl72' }, e).params;
      expect(params.lengthLaw, at).toBe(lengthLaw);
      // What `npm run sim -- --scenario` draws for the counterpart: the same requests.
      expect(
        stepBatches(params).map((steps) => steps[0].lengths),
        `${lengthLaw} ${at}`,
      ).toEqual(t.workload.lengths);
      // The law's mean is the target's ISL (uniform-ratio: isl is its longest, islRatio set by the CV).
      const d = stepLengths(params);
      expect(meanLength(d) / t.workload.isl, `${lengthLaw} ${at}`).toBeCloseTo(1, 2);
      if (lengthLaw === 'uniform-ratio') expect(params.islRatio! * params.isl).toBeLessThan(params.isl);
    }
    const e = shape({ lengthCv: 0.3 });
    const t = targetWorkload(r1, e);
    // The printout names the ISL the counterpart runs (uniform-ratio: the law's longest) and the mean request.
    const first = (lengthLaw: (typeof LENGTH_LAWS)[number]) => {
      const st = scaleTarget({ model: 'deepseek-r1', profile: 'gb200-nvl72' }, { ...e, lengthLaw });
      return { line: ScaleModel.create(st, 1).describe()[0], st };
    };
    const uni = first('uniform-ratio');
    const { isl, islRatio } = uni.st.params;
    expect(uni.st.workload.isl).not.toBe(isl);
    expect(uni.line, at).toContain(
      `ISL ${isl} (lengths uniform in [${Math.ceil(islRatio! * isl)}, ${isl}], ratio ${Number(islRatio!.toPrecision(4))}; ` +
        `mean request ${uni.st.workload.isl}) × ${e.requestsPerRank} requests per rank`,
    );
    const gamma = first('gamma');
    expect(gamma.st.params.isl).toBe(gamma.st.workload.isl);
    expect(gamma.line, at).toContain(`ISL ${gamma.st.params.isl} × ${e.requestsPerRank} requests per rank`);
    expect(t.workload.lengths).toHaveLength(e.ranks);
    expect(t.workload.batch).toBe(e.requestsPerRank);
    t.emulatedLengths.forEach((ls, r) =>
      ls.forEach((x, i) => {
        expect(Number.isInteger(x) && x >= 1, at).toBe(true);
        expect(Math.abs(x - t.workload.lengths[r][i] / t.tokenScale), at).toBeLessThanOrEqual(0.5 + 1e-9);
      }),
    );
  });
});

/** A DWDP rank's recorded program: the emulation's order (src/strategies/dwdp.ts). */
function dwdpProgram(rank: number, ranks: number, layers: number, depth: number, ms: () => number): Op[] {
  const peers = Array.from({ length: ranks }, (_, p) => p).filter((p) => p !== rank);
  const ops: Op[] = [];
  const issue = (l: number) => {
    for (const p of peers)
      ops.push({ kind: 'pull', id: `L${l}:${p}->${rank}`, from: p, bytes: 1e5, layer: l, label: `pull L${l}` });
  };
  for (let l = 0; l < Math.min(depth, layers); l++) issue(l);
  for (let l = 0; l < layers; l++) {
    ops.push({ kind: 'compute', label: `attention L${l}`, category: 'attention', durationMs: ms(), layer: l });
    ops.push({ kind: 'waitPull', ids: peers.map((p) => `L${l}:${p}->${rank}`), layer: l });
    ops.push({ kind: 'compute', label: `router L${l}`, category: 'router', durationMs: ms(), layer: l });
    ops.push({ kind: 'compute', label: `gate_up L${l}`, category: 'gemm', durationMs: ms(), layer: l });
    if (l + depth < layers) issue(l + depth);
    ops.push({ kind: 'compute', label: `combine L${l}`, category: 'combine', durationMs: ms(), layer: l });
  }
  return ops;
}

/** A DEP rank's recorded program: barrier, dispatch sends, wait, GEMM, combine sends, wait. */
function depProgram(rank: number, ranks: number, layers: number, ms: () => number): Op[] {
  const ops: Op[] = [];
  const peers = Array.from({ length: ranks }, (_, p) => p).filter((p) => p !== rank);
  for (let l = 0; l < layers; l++) {
    ops.push({ kind: 'compute', label: `attention L${l}`, category: 'attention', durationMs: ms(), layer: l });
    ops.push({ kind: 'barrier', id: `L${l}/dispatch`, layer: l });
    for (const p of peers) ops.push({ kind: 'send', id: `L${l}/dispatch/${rank}->${p}`, to: p, bytes: 1e4, layer: l });
    ops.push({ kind: 'waitRecv', ids: peers.map((p) => `L${l}/dispatch/${p}->${rank}`), layer: l });
    ops.push({ kind: 'compute', label: `experts L${l}`, category: 'gemm', durationMs: ms(), layer: l });
    for (const p of peers) ops.push({ kind: 'send', id: `L${l}/combine/${rank}->${p}`, to: p, bytes: 1e4, layer: l });
    ops.push({ kind: 'waitRecv', ids: peers.map((p) => `L${l}/combine/${p}->${rank}`), layer: l });
  }
  return ops;
}

describe('layers scheduled as the target’s count', () => {
  const link = linkSpec({ egressGBps: 1, latencyUs: 1 });
  const ms = () => 0.1 + rng.next();

  it('DWDP: every layer’s pull issued once, before its wait, prefetch re-issued by the repeated bodies', () => {
    const measured = 4 + rng.int(3);
    const target = measured + 1 + rng.int(60);
    const progs = [0, 1, 2].map((r) => extendLayers(dwdpProgram(r, 3, measured, 2, ms), measured, target));
    progs.forEach((p, r) => {
      const attn = p.filter((op) => op.kind === 'compute' && op.category === 'attention');
      expect(
        attn.map((op) => (op.kind === 'compute' ? op.layer : -1)),
        at,
      ).toEqual(Array.from({ length: target }, (_, l) => l));
      for (let l = 0; l < target; l++) {
        const issued = p.findIndex((op) => op.kind === 'pull' && op.layer === l);
        const waited = p.findIndex((op) => op.kind === 'waitPull' && op.layer === l);
        expect(
          p.filter((op) => op.kind === 'pull' && op.layer === l),
          `rank ${r} L${l} ${at}`,
        ).toHaveLength(2);
        expect(issued, `rank ${r} L${l} ${at}`).toBeLessThan(waited);
        // The pull of l ≥ 2 is issued inside layer l − 2's body (after its GEMM), as measured.
        if (l >= 2) expect(p[issued - 1], at).toMatchObject({ kind: 'compute', layer: l - 2, category: 'gemm' });
      }
    });
    const s = simulate(progs, link);
    expect(s.ranks.every((m) => m.endMs > 0)).toBe(true);
  });

  it('DEP: barriers and all-to-all ids stay matched across ranks, so the extended step schedules', () => {
    const measured = 3 + rng.int(3);
    const target = measured + 1 + rng.int(60);
    const progs = [0, 1, 2, 3].map((r) => extendLayers(depProgram(r, 4, measured, ms), measured, target));
    const s = simulate(progs, link);
    expect(s.ranks).toHaveLength(4);
    expect(progs[0].filter((op) => op.kind === 'barrier')).toHaveLength(target);
    const dense = addDenseLayers(progs[0], { head: 5, tail: 1 }, 3);
    expect(dense[0]).toMatchObject({ kind: 'compute', category: 'dense', durationMs: 5 });
    expect(dense.at(-1)).toMatchObject({ kind: 'compute', category: 'other', durationMs: 1 });
  });

  it('dilation over the scheduled layers: each category’s scheduled total is σ × the target’s, whichever body repeats', () => {
    const e = shape({ ranks: 3, layers: 4 + rng.int(3) });
    const sm = ScaleModel.create(scaleTarget({ model: 'deepseek-r1', profile: 'gb200-nvl72' }, e), 0.1 + rng.next());
    const { measured, scheduledAs } = sm.layers;
    // Measured durations that differ from layer to layer (one layer 10× the others at random).
    const slow = rng.int(measured);
    const progs = [0, 1, 2].map((r) =>
      extendLayers(
        dwdpProgram(r, 3, measured, 2, ms).map((op) =>
          op.kind === 'compute' && op.layer === slow ? { ...op, durationMs: op.durationMs * 10 } : op,
        ),
        measured,
        scheduledAs,
      ),
    );
    const f = sm.categoryFactors('dwdp', progs, scheduledAs);
    const dilated = progs.map((p) => dilate(p, f));
    for (const cat of ['router', 'gemm', 'combine'] as const) {
      let total = 0;
      for (const p of dilated)
        for (const op of p) if (op.kind === 'compute' && op.category === cat) total += op.durationMs;
      let want = 0;
      for (let r = 0; r < 3; r++) want += sm.timeScale * sm.targetMs(cat, 'dwdp', r, false) * scheduledAs;
      expect(total / want, `${cat}: slow layer ${slow} of ${measured} → ${scheduledAs} ${at}`).toBeCloseTo(1, 9);
    }
  });

  it('leaves a prefetch that no body re-issues (layers ≤ depth) as measured', () => {
    const p = dwdpProgram(0, 2, 2, 2, ms);
    expect(extendLayers(p, 2, 58)).toEqual(p);
  });
});

describe('counterpart', () => {
  const e = shape({ tokensPerRank: 256, requestsPerRank: 2, lengthCv: 0.2 });
  const sm = ScaleModel.create(scaleTarget({ model: 'deepseek-r1', profile: 'gb200-nvl72' }, e), 0.5);
  const strategies: StrategyName[] = ['dp', 'dep', 'dwdp'];
  const fake = (tps: number, similar: boolean): GroupRunResult =>
    ({
      tpsPerGpu: tps,
      tpsPerUser: tps / 2,
      similarity: similar
        ? {
            target: sm.target && { model: 'deepseek-r1', profile: 'gb200-nvl72' },
            workload: sm.workload,
            params: sm.target.params,
          }
        : undefined,
    }) as unknown as GroupRunResult;
  const points: ComparisonPoint[] = [
    { value: null, results: strategies.map((_, i) => fake(1 + i + rng.next(), true)) },
  ];

  it('carries the measured ratios’ names with the model’s values, and only name and value', () => {
    const c = counterpartOf(strategies, points, null)!;
    expect(c.ratios.map((r) => r.name)).toEqual(comparisonRatios(strategies, points, null).map((r) => r.name));
    for (const r of c.ratios) expect(Object.keys(r).sort()).toEqual(['name', 'value']);
    const m = modeledRates(sm.target.params, 'gb200-nvl72');
    expect(c.ratios.find((r) => r.name === 'dwdp/dep TPS/GPU')!.value).toBeCloseTo(
      m.dwdp.tpsPerGpu / m.dep.tpsPerGpu,
      12,
    );
    // Unscaled runs have no counterpart.
    expect(
      counterpartOf(strategies, [{ value: null, results: strategies.map(() => fake(1, false)) }], null),
    ).toBeUndefined();
  });

  it('carries the emulation’s routing skew into the scenario, where the rack model routes with it', () => {
    const skew = 0.5 + rng.next();
    const skewed = scaleTarget({ model: 'deepseek-r1', profile: 'gb200-nvl72' }, { ...e, routingSkew: skew }).params;
    expect(skewed.routingSkew, at).toBe(skew);
    expect(sm.target.params.routingSkew, at).toBeUndefined();
    const spec = parseScenario(
      JSON.parse(JSON.stringify(counterpartScenario([skewed], { model: 'r1', profile: 'gb200-nvl72' }))),
    );
    expect(spec.base?.routingSkew, at).toBe(skew);
    // Hot experts load DEP's owners unevenly: its step takes longer than under uniform routing.
    expect(modeledRates(skewed, 'gb200-nvl72').dep.makespanMs, at).toBeGreaterThan(
      modeledRates(sm.target.params, 'gb200-nvl72').dep.makespanMs,
    );
  });

  it('carries the DEP run’s routed counts as the scenario’s expertLoads, every owner’s share kept, in place of routingSkew', () => {
    const E = e.cfg.experts;
    const counts = Array.from({ length: e.layers }, () => Array.from({ length: E }, () => 1 + rng.int(200)));
    const skewed = { ...sm.target.params, routingSkew: 1 };
    const withCounts = (r: GroupRunResult, i: number): GroupRunResult =>
      ({
        ...r,
        similarity: { ...r.similarity!, params: skewed },
        ...(strategies[i] === 'dep' ? { routedSlots: counts } : {}),
      }) as GroupRunResult;
    const c = counterpartOf(strategies, [{ value: null, results: points[0].results.map(withCounts) }], null)!;
    const base = c.scenario.base;
    expect(base.routingSkew, at).toBeUndefined();
    const r1 = loadPreset('deepseek-r1');
    const loads = base.expertLoads!;
    expect(loads).toHaveLength(e.layers);
    loads.forEach((f, k) => {
      expect(f).toHaveLength(r1.experts);
      const total = counts[k].reduce((a, b) => a + b, 0);
      for (let j = 0; j < e.ranks; j++) {
        let target = 0;
        for (let x = 0; x < r1.experts; x++) if (Math.floor((x * e.ranks) / r1.experts) === j) target += f[x];
        let source = 0;
        for (let x = 0; x < E; x++) if (Math.floor((x * e.ranks) / E) === j) source += counts[k][x];
        expect(Math.abs(target - source / total), `layer ${k} owner ${j} ${at}`).toBeLessThan(1e-12);
      }
    });
    // The scenario file is one the rack model accepts for its model, and the ratios were modeled with these loads.
    const spec = parseScenario(JSON.parse(JSON.stringify(c.scenario)));
    checkScenario(spec, r1.experts);
    const m = modeledRates({ ...sm.target.params, expertLoads: loads }, 'gb200-nvl72');
    expect(c.ratios.find((r) => r.name === 'dwdp/dep TPS/GPU')!.value, at).toBeCloseTo(
      m.dwdp.tpsPerGpu / m.dep.tpsPerGpu,
      12,
    );
  });

  it('is scheduled as the rack model schedules its step: with the profile’s copy interference, every strategy', () => {
    // A fresh workload of the run's shape, its law drawn at random.
    const p = scaleTarget(
      { model: 'deepseek-r1', profile: 'gb200-nvl72' },
      shape({ tokensPerRank: 256 * (1 + rng.int(8)), lengthCv: 0.1 + 0.3 * rng.next() }),
    ).params;
    const profile = getProfile('gb200-nvl72');
    const s = profile.calibration!.efficiency.interference!;
    expect(s, 'the calibration fits an interference').toBeGreaterThan(0);
    const m = modeledRates(p, 'gb200-nvl72');
    // The rack model's own step run (src/sim/experiment.ts, scheduled with cost.schedulerOptions()).
    const rack = runStepRow({ ...p, profile, model: deepseekR1() });
    for (const [name, mine, theirs] of [
      ['dwdp', m.dwdp, rack.dwdp],
      ['dep', m.dep, rack.dep],
    ] as const)
      mine.ranks.forEach((rank, r) => {
        expect(Math.abs(rank.endMs / theirs.ranks[r].endMs - 1), `${name} rank ${r} ${at}`).toBeLessThan(1e-12);
        expect(
          Math.abs((rank.interferenceMs ?? 0) - (theirs.ranks[r].interferenceMs ?? 0)),
          `${name} ${at}`,
        ).toBeLessThan(1e-9);
      });
    // DWDP's pulls overlap its compute: interference added time, and its step is longer than without it.
    const cost = new CostModel({ model: deepseekR1(), profile, format: p.format });
    expect(cost.schedulerOptions().copyInterference).toBe(s);
    const group = Array.from({ length: p.groupSize }, (_, r) => r);
    const batches = stepBatches({ ...p, experts: 256, moeLayers: deepseekR1().layers.moe });
    const opts = {
      placement: makePlacement(256, p.groupSize),
      contentionFix: p.contentionFix,
      splitWeights: p.splitWeights,
      prefetchDepth: p.prefetchDepth,
    };
    const without = simulate(dwdpPrograms(cost, group, batches, opts), cost.link(p.contentionFix), {
      intervals: false,
    });
    // Every rank's pulls overlap its compute (the step's first pulls run under the dense layers):
    // interference stretched it, by exactly the time the schedule says it added.
    m.dwdp.ranks.forEach((k, r) => {
      expect(k.interferenceMs!, `rank ${r} ${at}`).toBeGreaterThan(0);
      expect(Math.abs(k.computeMs - without.ranks[r].computeMs - k.interferenceMs!), `rank ${r} ${at}`).toBeLessThan(
        1e-9 * k.computeMs,
      );
    });
  });

  it('is a scenario the rack model accepts: parsed, run, and through npm run sim', () => {
    const scenario = counterpartScenario([sm.target.params], { model: 'deepseek-r1', profile: 'gb200-nvl72' });
    const spec = parseScenario(JSON.parse(JSON.stringify(scenario)));
    const res = runScenario(spec);
    expect(res.rows).toHaveLength(1);
    expect(res.rows[0].isl).toBe(sm.target.params.isl);
    const dir = mkdtempSync(join(tmpdir(), 'counterpart-'));
    const file = join(dir, 'counterpart.json');
    writeFileSync(file, JSON.stringify(scenario));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--scenario', file, '--json'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.modeled).toBe(true);
    expect(out.rows[0].tDwdp).toBeCloseTo(res.rows[0].tDwdp, 9);
  });
});

describe('padded tiles: the dilation target under the run’s routing', () => {
  it('is each expert’s rows in whole 128-row tiles, per strategy, rank and layer (random loads, float64 roofline)', () => {
    const e = shape({ tokensPerRank: 128 * (1 + rng.int(16)), requestsPerRank: 1 + rng.int(4) });
    const t = scaleTarget({ model: 'deepseek-r1', profile: 'gb200-nvl72' }, e);
    const Ee = e.cfg.experts;
    // Random routed counts, some experts idle in some layers (a DEP owner may get no rows at all).
    const counts = Array.from({ length: e.layers }, () =>
      Array.from({ length: Ee }, () => (rng.next() < 0.15 ? 0 : rng.int(400))),
    );
    counts.forEach((c) => (c[rng.int(Ee)] += 1));
    const routed = withRoutedTarget(t, counts);
    // Independent float64: target expert x stands for emulated ⌊x·E_e/E_t⌋ and takes an equal part of its fraction.
    const r1 = loadPreset('deepseek-r1');
    const cost = new CostModel({ model: r1, profile: getProfile('gb200-nvl72'), format: e.format });
    const Et = r1.experts;
    const K = r1.topK;
    const H = r1.hidden;
    const F = r1.expertHidden;
    const peak = getProfile('gb200-nvl72').peakTflops[cost.expertPrecision]! * 1e9; // FLOP per ms
    const hbm = getProfile('gb200-nvl72').hbmGBps * 1e6; // bytes per ms
    const eff = cost.efficiency;
    const gemm = (slots: number[], touched: number) => {
      let real = 0;
      let padded = 0;
      for (const c of slots)
        if (c > 0) {
          real += c;
          padded += 128 * Math.ceil(c / 128 - 1e-9);
        }
      if (real === 0) return 0; // no rows: no kernel runs
      const flops = 2 * padded * 3 * H * F;
      const bytes = touched * cost.expertBytes + real * (2 * H + 2 * F) * cost.precision.activationBytes;
      return Math.max(flops / (peak * eff.groupedGemm), bytes / (hbm * eff.memory)) + (3 * eff.launchUs) / 1000;
    };
    const Ts = t.workload.lengths.map((S) => S.reduce((a, b) => a + b, 0));
    const totalT = Ts.reduce((a, b) => a + b, 0);
    counts.forEach((c, k) => {
      const total = c.reduce((a, b) => a + b, 0);
      const f = Array.from({ length: Et }, (_, x) => c[Math.floor((x * Ee) / Et)] / total / (Et / Ee));
      const touched = (T: number, xs: number[]) =>
        xs.reduce((u, x) => u + (f[x] > 0 ? 1 - (1 - f[x]) ** (T * K) : 0), 0);
      const all = Array.from({ length: Et }, (_, x) => x);
      Ts.forEach((T, r) => {
        const want = gemm(
          f.map((fx) => fx * T * K),
          touched(T, all),
        );
        for (const s of ['dp', 'dwdp'] as const)
          expect(Math.abs(routed.gemmByLayer![s][r][k] - want), `${s} rank ${r} layer ${k} ${at}`).toBeLessThanOrEqual(
            1e-12 * want,
          );
        // DEP: owner r's experts, with the whole group's slots.
        const owned = all.filter((x) => Math.floor((x * e.ranks) / Et) === r);
        const wantDep = gemm(
          owned.map((x) => f[x] * totalT * K),
          touched(totalT, owned),
        );
        expect(
          Math.abs(routed.gemmByLayer!.dep[r][k] - wantDep),
          `dep owner ${r} layer ${k} ${at}`,
        ).toBeLessThanOrEqual(1e-12 * wantDep);
      });
    });
    expect(routed.params.expertLoads, at).toHaveLength(e.layers);
    expect(() => withRoutedTarget(t, counts.slice(1))).toThrow(/routed slots give 3 layers, the run measured 4/);
  });

  it('counts the counterpart’s work: the scheduled GEMM total per rank is the rack model’s, layer k using loads k mod L', () => {
    const e = shape({ tokensPerRank: 256 * (1 + rng.int(4)), requestsPerRank: 1 + rng.int(4) });
    const t = scaleTarget({ model: 'deepseek-r1', profile: 'gb200-nvl72' }, e);
    const counts = Array.from({ length: e.layers }, () =>
      Array.from({ length: e.cfg.experts }, () => 1 + rng.int(300)),
    );
    const sm = ScaleModel.create(withRoutedTarget(t, counts), 0.1 + rng.next());
    const m = modeledRates(sm.target.params, 'gb200-nvl72');
    const moe = loadPreset('deepseek-r1').layers.moe;
    // DP and DEP: the model's GEMM ops are never stretched by copy interference (DP pulls nothing;
    // DEP's sends are not pulls), so its per-rank GEMM total is the cost model's sum.
    for (const s of ['dp', 'dep'] as const)
      m[s].ranks.forEach((rank, r) =>
        expect(
          Math.abs(sm.targetTotalMs('gemm', s, r, moe) / rank.computeByCategory.gemm! - 1),
          `${s} rank ${r} ${at}`,
        ).toBeLessThan(1e-9),
      );
    // The dilation takes that total: σ × Σ_r target ÷ the measured GEMM, over the layers as scheduled.
    const programs: Op[][] = Array.from({ length: e.ranks }, () =>
      Array.from({ length: moe }, (_, l) => ({
        kind: 'compute' as const,
        label: `gate_up L${l}`,
        category: 'gemm' as const,
        durationMs: rng.uniform(1, 9),
        layer: l,
      })),
    );
    const measured = programs.flat().reduce((a, op) => a + (op.kind === 'compute' ? op.durationMs : 0), 0);
    for (const s of ['dp', 'dep', 'dwdp'] as const) {
      let target = 0;
      for (let r = 0; r < e.ranks; r++)
        for (let l = 0; l < moe; l++) target += sm.target.gemmByLayer![s][r][l % e.layers];
      const want = (sm.timeScale * target) / measured;
      const got = sm.categoryFactors(s, programs, moe).get('gemm')!.value;
      expect(Math.abs(got / want - 1), `${s} ${at}`).toBeLessThan(1e-12);
    }
  });
});
