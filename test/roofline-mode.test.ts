// Roofline mode: DeepSeek-R1 DWDP4 vs DEP4 at batch 1 on gb200-nvl72, every op at the profile's
// peaks. The model's layer-wise quantities (moeLayerTimes of a scheduled step) against the float64
// hand computation of test/roofline-hand.ts (every op's FLOPs and bytes written out there).
import { describe, expect, it } from 'vitest';
import { ROOFLINE_EFFICIENCY, thisDeviceEfficiency } from '../src/hardware/efficiency.ts';
import { getProfile } from '../src/hardware/profiles.ts';
import { CostModel } from '../src/sim/cost-model.ts';
import { DEFAULT_STEP_PARAMS, deepseekR1, moeLayerTimes, runStepRow } from '../src/sim/experiment.ts';
import { formatScenario } from '../src/sim/format.ts';
import { checkScenario, runScenario } from '../src/sim/scenarios.ts';
import { Rng } from '../src/util/random.ts';
import { EXPERT_BYTES, HBM, HEADS, LINK, N, NOPE, PEAK, ROPE, V, handLayer } from './roofline-hand.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;

function modelLayer(isl: number) {
  const run = runStepRow(
    {
      ...DEFAULT_STEP_PARAMS,
      profile: getProfile('gb200-nvl72'),
      model: deepseekR1(),
      groupSize: N,
      batch: 1,
      isl,
      cv: 0,
      steps: 1,
      contentionFix: true,
      roofline: true,
    },
    { intervals: true },
  );
  return { layer: moeLayerTimes(run, 1), run };
}

const close = (got: number, want: number, what: string) =>
  expect(Math.abs(got - want) / want, `${what}: model ${got}, hand ${want}`).toBeLessThan(1e-9);

describe('roofline mode against a float64 hand computation (DeepSeek-R1, DWDP4 vs DEP4, batch 1)', () => {
  it('ISL 8192: T_compute, T_prefetch, T_DWDP and T_DEP of one MoE layer', () => {
    const want = handLayer(8192);
    const { layer, run } = modelLayer(8192);
    close(run.cost.expertBytes, EXPERT_BYTES, 'bytes per NVFP4 expert');
    close(layer.tCompute, want.tCompute, 'T_compute');
    close(layer.tPrefetch, want.tPrefetch, 'T_prefetch');
    close(layer.tDwdp, want.tDwdp, 'T_DWDP');
    close(layer.tDep, want.tDep, 'T_DEP');
    // At 8K on a rank the pull is not hidden: the layer waits for it.
    expect(want.tCompute).toBeLessThan(want.tPrefetch);
  });

  it('random ISLs: the ratios follow the accounting, the pull does not depend on the input, T_DWDP is the larger of the two', () => {
    const prefetch: number[] = [];
    for (let t = 0; t < 3; t++) {
      const isl = 512 + Math.floor(rng.next() * 48_000);
      const want = handLayer(isl);
      const { layer } = modelLayer(isl);
      close(
        layer.tCompute / layer.tPrefetch,
        want.tCompute / want.tPrefetch,
        tag(`T_compute/T_prefetch at ISL ${isl}`),
      );
      close(layer.tDep / layer.tDwdp, want.tDep / want.tDwdp, tag(`T_DEP/T_DWDP at ISL ${isl}`));
      // The ratios alone would pass a model off by one common factor: the times themselves too.
      close(layer.tCompute, want.tCompute, tag(`T_compute at ISL ${isl}`));
      close(layer.tPrefetch, want.tPrefetch, tag(`T_prefetch at ISL ${isl}`));
      close(layer.tDep, want.tDep, tag(`T_DEP at ISL ${isl}`));
      close(layer.tDwdp, Math.max(layer.tCompute, layer.tPrefetch), tag(`T_DWDP = max at ISL ${isl}`));
      prefetch.push(layer.tPrefetch);
    }
    for (const p of prefetch) expect(p).toBe(prefetch[0]);
  });

  it('T_compute grows with the input as its parts do: quadratic attention, nothing else above linear', () => {
    // From 32K tokens on, every op of the layer is compute-bound or bound by bytes that are
    // constant or linear in T (the grouped GEMM turns compute-bound at ≈ 23.5K tokens: 6.34 GB of
    // weights at 8 TB/s against (7.05 − 3.69)·10⁻⁸ s per token of compute over activation bytes),
    // so T_compute(S) = c + a·S + b·S(S+1)/2 and at equal steps d the second difference is b·d²,
    // b the attention core per (query, key) pair at BF16 peak; the third difference is 0.
    const S0 = 32_768 + Math.floor(rng.next() * 16_384);
    const step = 1000 + Math.floor(rng.next() * 7000);
    const tc = [0, 1, 2, 3].map((i) => modelLayer(S0 + i * step).layer.tCompute);
    const d2 = [tc[2] - 2 * tc[1] + tc[0], tc[3] - 2 * tc[2] + tc[1]];
    const b = ((2 * HEADS * (NOPE + ROPE + V)) / PEAK.bf16) * 1e3; // ms per pair
    // Rounding: each T_compute (≤ 0.1 s) is good to ~1e-15 relative; b·d² ≥ 0.03 ms.
    for (const x of d2)
      expect(Math.abs(x - b * step * step) / (b * step * step), tag(`Δ² at ${S0}, step ${step}`)).toBeLessThan(1e-7);
  });
});

describe('roofline mode is one declaration, and refuses efficiencies', () => {
  const base = { groupSize: 4, batch: 1, cv: 0, isl: 1024, steps: 1 }; // the scenario tests' one row

  it('the efficiencies are the peaks, with nothing fixed, no interference and no stragglers', () => {
    // Checked by what the cost model does, against the profile's published peaks (test/roofline-hand.ts),
    // not against the declaration: every op kind at every precision, fresh FLOPs, bytes and kernel counts,
    // takes max(FLOPs ÷ peak, bytes ÷ HBM) and nothing per kernel (gemm, groupedGemm, attention, memory: 1; launchUs: 0).
    const cost = new CostModel({ model: deepseekR1(), profile: getProfile('gb200-nvl72'), roofline: true });
    for (const kind of ['gemm', 'groupedGemm', 'attention', 'memory'] as const)
      for (const precision of ['fp4', 'fp8', 'bf16'] as const) {
        // One op bound by its FLOPs (bytes at most half the time), one by its bytes: every efficiency shows on every seed.
        const flops = 1e9 * (1 + rng.next() * 1e4);
        const bytes = 1e6 * (1 + rng.next() * 1e4);
        const ops =
          kind === 'memory'
            ? [{ flops: 0, bytes }]
            : [
                { flops, bytes: (rng.next() * 0.5 * flops * HBM) / PEAK[precision] },
                { flops: (rng.next() * 0.5 * bytes * PEAK[precision]) / HBM, bytes },
              ];
        for (const w of ops) {
          const kernels = 1 + rng.int(8);
          const want = Math.max(w.flops / PEAK[precision], w.bytes / HBM) * 1e3;
          close(
            cost.ms({ ...w, precision, kind, kernels }),
            want,
            tag(`${kind} ${precision}, ${w.flops} FLOPs, ${w.bytes} B`),
          );
        }
      }
    // The link at its per-direction peak for pulls and for the all-to-all (link, allToAll: 1), no latency.
    for (const traffic of ['pulls', 'all-to-all'] as const) {
      const l = cost.link(true, traffic);
      expect([l.egressGBps, l.ingressGBps, l.latencyUs], traffic).toEqual([LINK / 1e9, LINK / 1e9, 0]);
    }
    expect(cost.interference).toBe(0);
    expect(cost.straggle).toBe(0);
    // No fixed cost per all-to-all phase (collectiveUs: 0): DEP's run records no collective span,
    // where the calibrated run records one per phase.
    const dep = (roofline: boolean) =>
      runStepRow(
        { ...DEFAULT_STEP_PARAMS, ...base, profile: getProfile('gb200-nvl72'), model: deepseekR1(), roofline },
        { intervals: true },
      ).dep.intervals.filter((iv) => iv.category === 'collective').length;
    expect(dep(true)).toBe(0);
    expect(dep(false)).toBeGreaterThan(0);
    // One declaration: the cost model's roofline efficiencies and a measured profile's are the same object's.
    expect(thisDeviceEfficiency()).toEqual(ROOFLINE_EFFICIENCY);
    expect(cost.efficiency).toEqual(ROOFLINE_EFFICIENCY);
    expect(cost.link(true).latencyUs).toBe(0);
  });

  it('an efficiency beside roofline mode is refused, naming the key', () => {
    expect(
      () =>
        new CostModel({
          model: deepseekR1(),
          profile: getProfile('gb200-nvl72'),
          roofline: true,
          efficiency: { gemm: 0.5 },
        }),
    ).toThrow(/roofline mode .* efficiency\.gemm = 0\.5 .*turn roofline off/);
    expect(() =>
      checkScenario({ name: 't', base: { roofline: true, efficiency: { attention: 0.4 } } }, deepseekR1().experts),
    ).toThrow(/base\.efficiency\.attention.*roofline/);
  });

  it('a scenario row in roofline mode says so where it prints, and is not called calibrated', () => {
    const all = runScenario({ name: 'rl', base: { ...base, roofline: true } });
    expect(all.rows[0].roofline).toBe(true);
    const head = formatScenario(all).split('\n')[0];
    expect(head).toMatch(/^MODELED, not measured — .*ROOFLINE mode, nothing calibrated/);
    expect(head).not.toMatch(/calibrated on/);
    // Everything roofline mode drops is named, the link's latency included.
    expect(head).toMatch(/no launch or collective costs, no interference, no stragglers, no link latency$/);
    const mixed = runScenario({ name: 'mixed', base, rows: [{ roofline: false }, { roofline: true }] });
    expect(mixed.rows.map((r) => r.roofline)).toEqual([false, true]);
    expect(formatScenario(mixed).split('\n')[0]).toMatch(/calibrated on .*; rows with roofline on: ROOFLINE mode/);
    // The roofline row is the faster one: nothing below peak, no fixed costs.
    expect(mixed.rows[1].tDep).toBeLessThan(mixed.rows[0].tDep);
  });

  it('efficiency keys a scenario sets itself are named beside the calibration, not passed off as fitted', () => {
    const gemm = Math.round((0.3 + 0.6 * rng.next()) * 1000) / 1000;
    const res = runScenario({ name: 'eff', base, rows: [{}, { efficiency: { gemm, link: 0.5 } }] });
    expect(res.efficiencyOverrides).toEqual(['gemm', 'link']);
    expect(formatScenario(res).split('\n')[0]).toMatch(
      /calibrated on .*; efficiency set by the scenario, not by that calibration: gemm, link$/,
    );
    const plain = runScenario({ name: 'plain', base });
    expect(plain.efficiencyOverrides).toEqual([]);
    expect(formatScenario(plain).split('\n')[0]).not.toMatch(/set by the scenario/);
  });
});
