// The page's modeled source (src/ui/modeled.ts): the rack model's runs in the shape of a
// measured group run, so every view and export serves both. On random groups, lengths and
// formats: each strategy's rates follow from its own timeline, its memory and pulled bytes
// are the placement's, every strategy of a point carries the same requests, the shared
// expert's GEMMs show as their own class, and every run says it is modeled and on which profile.
import { describe, expect, it } from 'vitest';
import { parseForm } from '../src/ui/config.ts';
import { defaultForm, type FormState } from '../src/ui/fields.ts';
import { modeledRun, stepParams } from '../src/ui/modeled.ts';
import { runStepRow } from '../src/sim/experiment.ts';
import { sourceBadge, summaryRow } from '../src/ui/summary.ts';
import { classTotals, timelineRows } from '../src/ui/timeline.ts';
import { profileEfficiency } from '../src/hardware/efficiency.ts';
import { getProfile } from '../src/hardware/profiles.ts';
import { STRATEGIES } from '../src/strategies/types.ts';
import { Rng } from '../src/util/random.ts';
import { makeWorkload } from '../src/workload/workload.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (msg: string) => `${msg} (seed ${seed})`;

describe('modeled source', () => {
  const forms: FormState[] = [
    // The published model once (full depth: the slowest case, still well under a second).
    { ...defaultForm(), source: 'modeled', model: 'deepseek-r1', tokens: '4096', requests: '1' },
    ...Array.from({ length: 4 }, () => {
      const tokens = 64 + rng.int(4096);
      return {
        ...defaultForm(),
        source: 'modeled',
        model: ['tiny-deepseek', 'tiny-mixtral', 'tiny-qwen2'][rng.int(3)],
        ranks: String(2 + rng.int(3)),
        tokens: String(tokens),
        requests: String(1 + rng.int(4)),
        cv: String(rng.int(40) / 100),
        format: ['f32', 'int8', 'fp8', 'nvfp4'][rng.int(4)], // the tiny models' sizes are not all multiples of 32 (mxfp4)
        fix: rng.next() < 0.5 ? 'on' : 'off',
        seed: String(rng.int(1e6)),
      };
    }),
  ];

  for (const [i, form] of forms.entries()) {
    it(`form ${i}: rates, memory, pulls and provenance of every strategy`, () => {
      const parsed = parseForm(form);
      expect(parsed.errors, withSeed(JSON.stringify(form))).toEqual({});
      const c = parsed.config!;
      const N = c.run.ranks;
      const E = c.model.experts;
      const moe = c.model.layers.moe;
      const runs = STRATEGIES.map((s) => modeledRun(c, s));
      const what = withSeed(`${c.modelName} N=${N} T=${c.run.tokensPerRank}×${c.run.requestsPerRank} ${c.run.format}`);
      const bytes = runs[0].bytesPerExpert;
      for (const r of runs) {
        expect(sourceBadge(r)).toBe('modeled');
        expect(r.provenance, what).toMatchObject({
          kind: 'modeled',
          profile: c.profile,
          profileName: getProfile(c.profile!).name,
        });
        expect(r.timeSource, what).toContain(getProfile(c.profile!).name);
        expect(r.adapter).toBe(`none (modeled ${c.profile})`);
        expect(r.ranks.length).toBe(N);
        // The same requests on every rank for every strategy (one seed, one step).
        expect(
          r.ranks.map((k) => k.requestLengths),
          what,
        ).toEqual(runs[0].ranks.map((k) => k.requestLengths));
        // ... and they are the requests the emulation serves for this page config (one generator).
        expect(
          r.ranks.map((k) => k.requestLengths),
          what,
        ).toEqual(makeWorkload({ ...c.run, ranks: N }).map((w) => w.lengths));
        for (const k of r.ranks) expect(k.tokens).toBe(k.requestLengths.reduce((a, b) => a + b, 0));
        // The headline rate is the run's own tokens over its own makespan.
        const tokens = r.ranks.reduce((a, k) => a + k.tokens, 0);
        expect(r.makespanMs, what).toBeCloseTo(Math.max(...r.ranks.map((k) => k.endMs)), 9);
        expect(r.tpsPerGpu, what).toBeCloseTo(tokens / (r.makespanMs / 1000) / N, 6);
        expect(r.replicaWeightBytes).toBe(E * bytes * moe);
        // Dense GEMMs — attention projections on every layer, the shared expert's and dense
        // layers' MLPs — are the legend's 'dense' class, apart from the attention kernel.
        const totals = classTotals(timelineRows(r));
        expect(totals.dense, `${r.strategy}: ${what}`).toBeGreaterThan(0);
        expect(totals.attention, `${r.strategy}: ${what}`).toBeGreaterThan(0);
      }
      const [dp, dep, dwdp] = runs;
      // DP: a full replica, nothing pulled.
      for (const k of dp.ranks)
        expect([k.residentWeightBytes, k.prefetchBufferBytes, k.bytesPulled]).toEqual([E * bytes * moe, 0, 0]);
      // DEP: E/N experts per rank, rows sent rather than weights pulled.
      for (const k of dep.ranks) {
        expect(k.residentWeightBytes, what).toBeCloseTo((E / N) * bytes * moe, 0);
        expect([k.prefetchBufferBytes, k.bytesPulled]).toEqual([0, 0]);
      }
      expect(
        dep.ranks.some((k) => k.bytesSent > 0),
        what,
      ).toBe(true);
      // The link each run reports is what its transfers reach: DEP's all-to-all, DP's and DWDP's one-sided pulls.
      const profile = getProfile(c.profile!);
      const eff = profileEfficiency(profile);
      expect(dep.link.gbps).toBeCloseTo(profile.linkGBpsPerDirection * eff.allToAll, 9);
      for (const r of [dp, dwdp]) expect(r.link.gbps).toBeCloseTo(profile.linkGBpsPerDirection * eff.link, 9);
      // DWDP: L experts resident, ping-pong slots for (N−1)·P, all (N−1)·P remote experts pulled every MoE layer.
      const { local: L, pull: P } = dwdp.placement!;
      expect(L + (N - 1) * P).toBe(E);
      for (const k of dwdp.ranks) {
        expect(k.residentWeightBytes, what).toBe(L * bytes * moe);
        expect(k.prefetchBufferBytes, what).toBe(c.run.dwdp.prefetchDepth * (N - 1) * P * bytes);
        expect(k.bytesPulled, what).toBe(moe * (N - 1) * P * bytes);
      }
      const row = summaryRow(dwdp, dep);
      expect(row.tpsPerGpuVsDep).toBeCloseTo(dwdp.tpsPerGpu / dep.tpsPerGpu, 12);
      expect(row.hiddenPullFraction, what).not.toBeNull();
      expect(row.hiddenPullFraction!).toBeGreaterThanOrEqual(0);
      expect(row.hiddenPullFraction!).toBeLessThanOrEqual(1);
    });
  }

  it("DP's step row with DWDP's DEP run is the row DP models on its own (DEP never reads the placement)", () => {
    for (const form of forms.slice(1)) {
      const c = parseForm(form).config!;
      const opts = { intervals: true, copySpans: 'transfers' as const };
      const dwdp = runStepRow(stepParams(c, 'dwdp'), opts);
      const alone = runStepRow(stepParams(c, 'dp'), opts);
      const shared = runStepRow(stepParams(c, 'dp'), { ...opts, dep: dwdp.dep });
      expect(shared.row, withSeed(JSON.stringify(form))).toEqual(alone.row);
      expect(shared.dwdp).toEqual(alone.dwdp);
      expect(dwdp.dep).toEqual(alone.dep);
    }
  });
});
