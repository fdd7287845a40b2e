// The rack model end to end: DEP/DWDP programs (pulled bytes, ping-pong order, barriers), the
// step rows' accounting, the serving level's bookkeeping, scenarios and the CLI's JSON shape.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePlacement } from '../src/dwdp/placement.ts';
import { loadPreset } from '../src/model/presets.ts';
import { CostModel, tokenReachesRankProbability } from '../src/sim/cost-model.ts';
import { DEFAULT_STEP_PARAMS, runStepRow, type StepParams } from '../src/sim/experiment.ts';
import { SUMMED_BREAKDOWN_KEYS, type Breakdown } from '../src/timeline/categories.ts';
import { GB200_NVL72 } from '../src/hardware/profiles.ts';
import { depPrograms, dwdpPrograms, type RankStep } from '../src/sim/programs.ts';
import { SCENARIOS, findCrossover, parseScenario, scenarioRows } from '../src/sim/scenarios.ts';
import { simulate } from '../src/timeline/scheduler.ts';
import { runServing, type ServingParams } from '../src/sim/serving.ts';
import { generateRequests } from '../src/sim/workload.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;
const r1 = loadPreset('deepseek-r1');
const sum = (b: Breakdown) => SUMMED_BREAKDOWN_KEYS.reduce((a, k) => a + b[k], 0);

function params(over: Partial<StepParams> = {}): StepParams {
  return { ...DEFAULT_STEP_PARAMS, profile: GB200_NVL72, model: r1, seed: rng.int(1 << 30), ...over };
}

describe('programs', () => {
  const cost = new CostModel({ model: r1, profile: GB200_NVL72 });

  it('DWDP pulls exactly the placement’s remote experts of every MoE layer, two layers ahead', () => {
    const N = [2, 3, 4, 8][rng.int(4)];
    const placement = makePlacement(256, N);
    const steps: RankStep[][] = Array.from({ length: N }, () => [
      { lengths: [1 + rng.int(9000)] },
      { lengths: [1 + rng.int(9000)] },
    ]);
    const progs = dwdpPrograms(cost, [...Array(N).keys()], steps, { placement, contentionFix: true });
    const moe = r1.layers.moeLayerIndices;
    progs.forEach((ops, r) => {
      const pulls = ops.filter((o) => o.kind === 'pull');
      const bytes = pulls.reduce((a, o) => a + (o.kind === 'pull' ? o.bytes : 0), 0);
      expect(bytes, tag(`rank ${r}`)).toBe(2 * moe.length * (N - 1) * placement.pull * cost.expertBytes);
      expect(new Set(pulls.map((o) => (o.kind === 'pull' ? o.from : -1)))).toEqual(
        new Set([...Array(N).keys()].filter((p) => p !== r)),
      );
      // Ping-pong: MoE layer k's pulls come after MoE layer k−2's grouped GEMM (k ≥ 2), and
      // the first two layers' pulls come before any compute of the step.
      for (let s = 0; s < 2; s++) {
        const start =
          s === 0 ? 0 : ops.findIndex((o, i) => i > 0 && o.kind === 'compute' && o.label === 'end of step') + 1;
        const gemms = ops
          .map((o, i) => (o.kind === 'compute' && o.category === 'gemm' && i >= start ? i : -1))
          .filter((i) => i >= 0)
          .slice(0, moe.length);
        moe.forEach((l, k) => {
          const first = ops.findIndex((o, i) => i >= start && o.kind === 'pull' && o.layer === l);
          if (k < 2)
            expect(
              ops.slice(start, first).some((o) => o.kind === 'compute' && o.durationMs > 0),
              `layer ${l}`,
            ).toBe(false);
          else expect(first, `layer ${l}`).toBeGreaterThan(gemms[k - 2]);
          const wait = ops.findIndex((o, i) => i >= start && o.kind === 'waitPull' && o.layer === l);
          expect(wait).toBeLessThan(gemms[k]);
        });
      }
    });
  });

  it('DEP meets at a barrier every MoE layer and receives what its peers send', () => {
    const N = 4;
    const steps: RankStep[][] = Array.from({ length: N }, () => [{ lengths: [1 + rng.int(9000), 1 + rng.int(9000)] }]);
    const progs = depPrograms(cost, [0, 1, 2, 3], steps);
    for (const ops of progs) expect(ops.filter((o) => o.kind === 'barrier').length).toBe(r1.layers.moe);
    const s = simulate(progs, cost.link(true), { intervals: false });
    const sent = s.ranks.reduce((a, m) => a + m.bytesSent, 0);
    expect(sent).toBeGreaterThan(0);
    // Per MoE layer each rank dispatches its T tokens' reaching share (FP8) to each of its N−1
    // peers and sends each peer's share back (BF16): (N−1)·ΣT·reach·H·(1 + 2) bytes in all.
    const totalT = steps.reduce((a, st) => a + st[0].lengths.reduce((x, y) => x + y, 0), 0);
    const want = r1.layers.moe * (N - 1) * totalT * tokenReachesRankProbability(256, 8, N) * r1.hidden * (1 + 2);
    expect(sent / want, tag('bytes sent')).toBeCloseTo(1, 9);
    // Every MoE layer's end is set by the slowest rank: all ranks finish within the tail's spread.
    const ends = s.ranks.map((m) => m.endMs);
    expect(Math.max(...ends) - Math.min(...ends)).toBeLessThan(0.05 * Math.max(...ends));
    expect(s.barrierRelease.size).toBe(r1.layers.moe);
  });
});

describe('step rows', () => {
  it('break down into exactly t_DEP and t_DWDP, and compute never exceeds the step', () => {
    for (const over of [
      { isl: 1024 + rng.int(4096), cv: 0.3, steps: 3 },
      { isl: 16384, batch: 2, steps: 2, contentionFix: false },
    ]) {
      const { row } = runStepRow(params(over));
      expect(sum(row.breakdown.dep) / row.tDep, tag('dep')).toBeCloseTo(1, 9);
      expect(sum(row.breakdown.dwdp) / row.tDwdp, tag('dwdp')).toBeCloseTo(1, 9);
      expect(row.tDwdp).toBeGreaterThanOrEqual(row.tCompute - 1e-9);
      expect(row.depOverDwdp).toBeCloseTo(row.tDep / row.tDwdp, 12);
      expect(row.computeOverPrefetch).toBeCloseTo(row.tCompute / row.tPrefetch, 12);
      expect(row.breakdown.dwdp.synchronization).toBe(0);
      expect(row.breakdown.dwdp.communication).toBe(0);
      expect(row.breakdown.dep.p2pExposed).toBe(0);
    }
  });

  it('on random scenarios, the seven summed columns are t_DEP / t_DWDP, p2pBusy the copy stream, interference DWDP-only', () => {
    for (let t = 0; t < 3; t++) {
      const over = {
        isl: 512 + rng.int(16384),
        cv: rng.uniform(0, 0.4),
        batch: 1 + rng.int(3),
        groupSize: [2, 4][rng.int(2)],
        steps: 2,
        contentionFix: rng.next() < 0.5,
        splitWeights: rng.next() < 0.5,
      };
      const p = params(over);
      const on = runStepRow({ ...p, interference: true });
      const off = runStepRow({ ...p, interference: false });
      const what = tag(JSON.stringify(over));
      for (const { row, dwdp } of [on, off]) {
        expect(sum(row.breakdown.dep) / row.tDep, what).toBeCloseTo(1, 9);
        expect(sum(row.breakdown.dwdp) / row.tDwdp, what).toBeCloseTo(1, 9);
        const pulled = dwdp.ranks.reduce((a, m) => a + m.pullMs, 0) / (dwdp.ranks.length * p.steps);
        expect(row.breakdown.dwdp.p2pBusy, what).toBeCloseTo(pulled, 9);
        expect(row.breakdown.dep.p2pBusy).toBe(0);
      }
      // DEP pulls nothing: interference leaves it alone. DWDP computes longer by what the scheduler says it added.
      expect(on.row.tDep).toBeCloseTo(off.row.tDep, 9);
      const added = on.dwdp.ranks.reduce((a, m) => a + (m.interferenceMs ?? 0), 0) / (on.dwdp.ranks.length * p.steps);
      expect(added, what).toBeGreaterThan(0);
      expect(on.row.tCompute - added, what).toBeCloseTo(off.row.tCompute, 6);
    }
  });

  it('with balanced ranks DEP waits for a peer only by stragglers; with a link fast enough DWDP never waits for a pull', () => {
    const p = params({ isl: 4096, cv: 0, steps: 1, linkGBps: 1e6 });
    const { row } = runStepRow({ ...p, straggle: false });
    expect(row.breakdown.dep.synchronization).toBeLessThan(1e-9);
    // Stragglers on: a balanced group of 4 waits θ·(H_4 − 1) per dispatch, θ = straggle × a layer's compute.
    const on = runStepRow(p);
    const { straggle } = GB200_NVL72.calibration!.efficiency as { straggle: number };
    const depCompute = on.dep.ranks[0].computeMs;
    expect(on.row.breakdown.dep.synchronization).toBeGreaterThan(0);
    expect(on.row.breakdown.dep.synchronization).toBeLessThanOrEqual(straggle * (25 / 12 - 1) * depCompute);
    expect(on.row.tDwdp).toBe(row.tDwdp);
    expect(row.breakdown.dwdp.p2pExposed).toBeLessThan(1e-6);
    expect(row.tDwdp).toBeCloseTo(row.tCompute, 6);
    expect(row.hiddenPullFraction).toBe(1);
  });

  it('is deterministic for a seed', () => {
    const p = params({ isl: 2048, cv: 0.4, steps: 2 });
    expect(runStepRow(p).row).toEqual(runStepRow(p).row);
  });

  it('a slower link or no contention fix never makes DWDP faster', () => {
    const p = params({ isl: 8192, cv: 0.2, steps: 2 });
    const base = runStepRow(p).row.tDwdp;
    expect(runStepRow({ ...p, linkGBps: 450 }).row.tDwdp).toBeGreaterThanOrEqual(base - 1e-9);
    expect(runStepRow({ ...p, contentionFix: false }).row.tDwdp).toBeGreaterThanOrEqual(base - 1e-9);
  });
});

describe('serving', () => {
  const base: ServingParams = {
    profile: GB200_NVL72,
    model: r1,
    format: 'nvfp4',
    ranks: 8,
    groupSize: 4,
    requests: 40,
    isl: { mean: 4096, cv: 0.3 },
    osl: { mean: 1024, cv: 0 },
    maxTokensPerBatch: 8192,
    seed: rng.int(1 << 30),
    contentionFix: true,
    splitWeights: true,
    prefetchDepth: 2,
  };

  it('serves every request once, after it arrives, and counts tokens per GPU-second', () => {
    const rate = 50 + rng.int(200);
    // The stream the serving level draws (same seed): every input token is counted exactly once.
    const reqs = generateRequests({
      count: base.requests,
      isl: base.isl,
      osl: base.osl,
      arrivalRatePerS: rate,
      seed: base.seed,
    });
    const inputTokens = reqs.reduce((a, q) => a + q.inputLen, 0);
    const longest = Math.max(...reqs.map((q) => q.inputLen));
    for (const strategy of ['dep', 'dwdp'] as const) {
      const r = runServing({ ...base, arrivalRatePerS: rate }, strategy);
      expect(r.ttftMs.p50).toBeGreaterThan(0);
      expect(r.ttftMs.p99).toBeGreaterThanOrEqual(r.ttftMs.p50);
      expect(r.meanBatchTokens).toBeLessThanOrEqual(8192 + 40000);
      // A batch exceeds maxTokensPerBatch only when one request alone does.
      expect(r.meanBatchTokens, tag(strategy)).toBeLessThanOrEqual(Math.max(8192, longest));
      const gpuMs = r.schedule.ranks.reduce((a, m) => a + m.endMs, 0);
      expect((r.tpsPerGpu * gpuMs) / 1000).toBeCloseTo(
        r.meanBatchTokens * (r.rankSteps > 0 ? 40 / r.meanBatchRequests : 0),
        3,
      );
      expect((r.tpsPerGpu * gpuMs) / 1000 / inputTokens, tag(strategy)).toBeCloseTo(1, 9);
      // The per-step breakdown adds up to the per-step time, as in the step rows.
      expect(sum(r.breakdownPerStep) / r.stepMs, tag(strategy)).toBeCloseTo(1, 9);
      expect(r.schedule.marks.size).toBeGreaterThan(0);
    }
  });

  it('a request is never finished before it could have been computed', () => {
    const r = runServing({ ...base, requests: 12, arrivalRatePerS: 20 }, 'dwdp');
    // 12 requests over 8 ranks at 20/s: TTFT at least one step of one request's compute.
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    expect(r.ttftMs.p50).toBeGreaterThan(r1.layers.total * cost.attentionMs([100]));
  });
});

describe('scenarios', () => {
  it('expands sweeps and rows over the defaults', () => {
    const rows = scenarioRows(SCENARIOS['r1-isl-sweep']);
    expect(rows.map((r) => r.isl)).toEqual([1024, 8192, 16384, 32768]);
    expect(rows.every((r) => r.groupSize === 4 && r.batch === 1)).toBe(true);
    expect(scenarioRows(SCENARIOS['r1-contention']).map((r) => r.contentionFix)).toEqual([false, true, false, true]);
  });

  it('parses files and names the key at fault', () => {
    const s = parseScenario({ name: 'x', base: { isl: 2048 }, sweep: { param: 'cv', values: [0, 0.2] } });
    expect(scenarioRows(s).map((r) => [r.isl, r.cv])).toEqual([
      [2048, 0],
      [2048, 0.2],
    ]);
    expect(() => parseScenario({ base: { isll: 1 } })).toThrow(
      /scenario\.base\.isll is not a parameter \(known: format, isl, /,
    );
    expect(() => parseScenario({ base: { batch: 1.5 } })).toThrow(
      'scenario.base.batch 1.5: must be an integer from 1 to 1024',
    );
    expect(() => parseScenario({ sweep: { param: 'contentionFix', values: ['yes'] } })).toThrow(
      /sweep\.values\[0\]\.contentionFix/,
    );
    expect(() => parseScenario({ profile: 'tpu' })).toThrow(
      /^scenario\.profile tpu: is not a hardware profile \(profiles: .*b200-hgx/,
    );
    for (const profile of ['b200-hgx', 'gb300-nvl72']) expect(parseScenario({ profile }).profile).toBe(profile);
    expect(() => parseScenario({ rows: [], sweep: { param: 'isl', values: [1] } })).toThrow(/either "sweep" or "rows"/);
    expect(() => parseScenario({ base: { efficiency: { gemm: 0.5, magic: 1 } } })).toThrow(/efficiency\.magic/);
  });

  it('finds the crossover by linear interpolation', () => {
    expect(findCrossover([1, 2, 4], [0.5, 0.9, 1.3], 'isl')).toEqual({
      param: 'isl',
      between: [2, 4],
      estimate: 2.5,
      dwdpAhead: 'above',
    });
    expect(findCrossover([0, 10], [1.2, 0.8], 'linkGBps')).toEqual({
      param: 'linkGBps',
      between: [0, 10],
      estimate: 5,
      dwdpAhead: 'below',
    });
    expect(findCrossover([1, 2], [1.1, 1.2], 'x')).toBeNull();
    // A ratio of exactly 1 at a sweep point is the crossover itself.
    expect(findCrossover([1, 2, 3], [0.5, 1, 1.5], 'x')).toEqual({
      param: 'x',
      between: [1, 2],
      estimate: 2,
      dwdpAhead: 'above',
    });
    expect(findCrossover([1, 2], [1, 0.8], 'x')).toEqual({
      param: 'x',
      between: [1, 2],
      estimate: 1,
      dwdpAhead: 'below',
    });
  });

  it('CLI --json prints the documented row shape, modeled: true, times in ms', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-'));
    const file = join(dir, 'tiny.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'tiny',
        // Interference off (a scenario key): with it, DWDP2 stays just behind DEP2 at 32K and the sweep has no crossover.
        base: { steps: 1, groupSize: 2, interference: false },
        sweep: { param: 'isl', values: [1024, 32768] },
      }),
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--scenario', file, '--json'], {
      encoding: 'utf8',
    });
    const j = JSON.parse(out);
    expect(j.scenario).toBe('tiny');
    expect(j.modeled).toBe(true);
    expect(j.rows.length).toBe(2);
    for (const r of j.rows) {
      for (const k of [
        'isl',
        'batch',
        'groupSize',
        'tCompute',
        'tPrefetch',
        'computeOverPrefetch',
        'tDep',
        'tDwdp',
        'depOverDwdp',
      ])
        expect(typeof r[k], k).toBe('number');
      for (const s of ['dep', 'dwdp']) {
        expect(Object.keys(r.breakdown[s]).sort()).toEqual([
          'attention',
          'communication',
          'denseGemm',
          'groupedGemm',
          'others',
          'p2pBusy',
          'p2pExposed',
          'synchronization',
        ]);
      }
      expect(r.depOverDwdp).toBeCloseTo(r.tDep / r.tDwdp, 9);
      expect(r.groupSize).toBe(2);
    }
    const text = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--scenario', file], {
      encoding: 'utf8',
    });
    expect(text).toMatch(/^MODELED, not measured — profile: GB200 NVL72/);
    // The crossover is a plain number of tokens (this sweep has one), not exponent notation.
    expect(text).toMatch(
      /\ncrossover: DWDP overtakes DEP (above|below) isl ≈ \d+ \(between 1024 and 32768, linear interpolation\)/,
    );
  });
});
