// Copy interference in a scaled emulated run: the virtual clock schedules the measured (dilated)
// programs with the target profile's calibrated s, the ratio the scale model keeps equal, so a
// DWDP rank's compute that overlaps its pulls is stretched as the rack model stretches it; the
// result says so, and the wall clock (which cannot apply it) says it did not.
import { describe, expect, it } from 'vitest';
import { getProfile } from '../src/hardware/profiles.ts';
import { loadPreset } from '../src/model/index.ts';
import { withScaleTarget } from '../src/similarity/target.ts';
import { appliedLinkFactor } from '../src/strategies/dilation.ts';
import { DEFAULT_GROUP_OPTIONS } from '../src/strategies/options.ts';
import { runGroup } from '../src/strategies/run.ts';
import type { GroupRunOptions } from '../src/strategies/types.ts';
import { simulate } from '../src/timeline/scheduler.ts';
import { setDefaultTuningCache } from '../src/tuning/tuning-store.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();
const at = `(seed ${SEED}; rerun with TEST_SEED=${SEED})`;
const rng = new Rng(SEED);
const cfg = loadPreset('tiny-deepseek');
setDefaultTuningCache(undefined);

function scaled(clock: GroupRunOptions['clock']): GroupRunOptions {
  return withScaleTarget(unscaled(clock), cfg);
}

/** The same run without a scale target: the link is time-dilated by the GEMM-rate ratio only. */
function unscaled(clock: GroupRunOptions['clock']): GroupRunOptions {
  return {
    ...DEFAULT_GROUP_OPTIONS,
    model: cfg,
    strategy: 'dwdp',
    seed: SEED,
    ranks: 3,
    layers: 3,
    tokensPerRank: 8 * (1 + rng.int(3)),
    requestsPerRank: 1 + rng.int(2),
    clock,
    // A given device rate (no measurement): fast enough that the wall clock's paced pulls take milliseconds.
    timeDilation: { profile: 'gb200-nvl72', deviceGflops: 200 + 800 * rng.next() },
    dwdp: { ...DEFAULT_GROUP_OPTIONS.dwdp },
  };
}

describe(`copy interference in a scaled run (seed ${SEED})`, () => {
  const s = getProfile('gb200-nvl72').calibration!.efficiency.interference!;

  it('virtual clock: the timeline is scheduled with the target’s s, stretching the compute that overlaps pulls', async () => {
    expect(s, 'the gb200-nvl72 calibration fits an interference').toBeGreaterThan(0);
    const o = scaled('virtual');
    const r = await runGroup(o);
    const sim = r.similarity!;
    // The link ran at --link-gbps × the scale model's compute : pull factor, the factor the printouts read back.
    expect(r.link.gbps, at).toBe(o.link.gbps * sim.link.value);
    expect(appliedLinkFactor(r)).toBe(sim.link.value);
    expect(sim.copyInterference.value).toBe(s);
    expect(sim.copyInterference.applied).toBe(true);
    expect(sim.lines).toContain(sim.copyInterference.why);
    expect(sim.copyInterference.why).toMatch(
      new RegExp(
        `^copy interference s = ${s}, applied in the emulated timeline: .*\\(modeled: the gb200-nvl72 profile.s, calibrated`,
      ),
    );
    const rec = r.recorded!;
    expect(rec.copyInterference).toBe(s);
    // The same programs scheduled without interference: each rank's compute is shorter by exactly
    // the time the run's timeline says interference added, and that time is positive (the step's
    // first pulls run under the target's dense layers on every rank).
    const without = simulate(rec.programs, rec.link, { intervals: false });
    const withIt = simulate(rec.programs, rec.link, { intervals: false, copyInterference: s });
    r.ranks.forEach((k, i) => {
      expect(k.interferenceMs!, `rank ${i} ${at}`).toBeGreaterThan(0);
      expect(Math.abs(k.computeMs - without.ranks[i].computeMs - k.interferenceMs!), `rank ${i} ${at}`).toBeLessThan(
        1e-9 * k.computeMs,
      );
      expect(k.endMs, `rank ${i} ${at}`).toBe(withIt.ranks[i].endMs);
    });
  }, 120_000);

  it('wall clock: the printout and the result say interference was not applied', async () => {
    const r = await runGroup(scaled('wall'));
    const sim = r.similarity!;
    expect(sim.copyInterference).toMatchObject({ value: s, applied: false });
    expect(sim.lines).toContain(sim.copyInterference.why);
    expect(sim.copyInterference.why).toMatch(/NOT applied — wall clock/);
    for (const k of r.ranks) expect(k.interferenceMs ?? 0).toBe(0);
    expect(r.recorded).toBeUndefined();
  }, 120_000);

  it('virtual clock without a scale target: s = 0, the timeline is the plain schedule of the recorded programs', async () => {
    const o = unscaled('virtual');
    const r = await runGroup(o);
    expect(r.similarity).toBeUndefined();
    expect(r.link.dilation, 'the run is time-dilated, with no target').toBeDefined();
    // Without a target the link is dilated by the GEMM-rate ratio alone: the given device rate ÷ the profile's.
    const dil = r.link.dilation!;
    expect(dil.deviceGflops).toBe(o.timeDilation!.deviceGflops);
    expect(dil.factor).toBe(dil.deviceGflops / dil.profileGflops);
    expect(r.link.gbps, at).toBe(o.link.gbps * dil.factor);
    expect(appliedLinkFactor(r)).toBe(dil.factor);
    const rec = r.recorded!;
    expect(rec.copyInterference).toBe(0);
    const plain = simulate(rec.programs, rec.link, { intervals: false });
    // Not vacuous: the target's s would have stretched this run's compute (the prefetch fills its slots at step start, under layer 0).
    const withS = simulate(rec.programs, rec.link, { intervals: false, copyInterference: s });
    expect(Math.max(...withS.ranks.map((k) => k.interferenceMs ?? 0)), at).toBeGreaterThan(0);
    r.ranks.forEach((k, i) => {
      expect(k.interferenceMs ?? 0, `rank ${i} ${at}`).toBe(0);
      expect(k.endMs, `rank ${i} ${at}`).toBe(plain.ranks[i].endMs);
    });
  }, 120_000);
});
