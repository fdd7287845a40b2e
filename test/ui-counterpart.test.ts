// The measured-beside-modeled rows of a scaled comparison (the page's counterpart table and
// the bench's): exactly the ratios the counterpart models, in the comparison's order, with
// the difference computed in float64. And the routing both sides share: a measured point runs
// DEP first and hands its router counts to the other strategies (the page in turn, the
// similarity bench side by side), the results in the displayed order. Random names, values,
// strategy sets and counts, seeded (TEST_SEED reruns).
import { describe, expect, it } from 'vitest';
import {
  counterpartRows,
  measuredRunner,
  runComparison,
  type Counterpart,
  type Ratio,
  type RunGroupFn,
  type StrategyRunner,
} from '../src/ui/compare.ts';
import { defaultForm } from '../src/ui/fields.ts';
import { routingHooks, runUnderOneRouting, type RoutingHand } from '../src/similarity/routed-runs.ts';
import { withRoutedTarget } from '../src/similarity/target.ts';
import { STRATEGIES, type GroupRunResult, type StrategyName } from '../src/strategies/types.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();

function ratio(name: string, value: number): Ratio {
  return { name, value, numerator: value, denominator: 1 };
}

describe(`counterpart rows (TEST_SEED=${seed})`, () => {
  it('pairs each modeled ratio with the measured one of the same name', () => {
    const rng = new Rng(seed);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + rng.int(8);
      const ratios = Array.from({ length: n }, (_, i) => ratio(`r${i} @ ${rng.int(1000)}`, rng.uniform(0.05, 5)));
      // The counterpart models a random subset, listed in another order, plus a name the run lacks.
      const modeledSet = ratios.filter(() => rng.next() < 0.6);
      const modeled = [...modeledSet]
        .reverse()
        .map((r) => ({ name: r.name, value: rng.uniform(0.05, 5) }))
        .concat([{ name: 'not measured', value: 1 }]);
      const counterpart = { scenario: {}, ratios: modeled } as unknown as Counterpart;
      const rows = counterpartRows({ ratios, counterpart });
      expect(rows.map((r) => r.name)).toEqual(modeledSet.map((r) => r.name));
      for (const row of rows) {
        const m = modeled.find((x) => x.name === row.name)!.value;
        const got = ratios.find((x) => x.name === row.name)!.value;
        expect(row.measured).toBe(got);
        expect(row.modeled).toBe(m);
        expect(row.difference).toBe(got / m - 1);
      }
    }
  });

  it('has no rows without a counterpart (an unscaled or modeled run)', () => {
    expect(counterpartRows({ ratios: [ratio('dwdp/dep TPS/GPU', 1.2)] })).toEqual([]);
  });
});

/** Random router counts: per layer, per expert, a slot count (what a DEP run records). */
function randomSlots(rng: Rng): number[][] {
  const layers = 1 + rng.int(4);
  const experts = 2 + rng.int(7);
  return Array.from({ length: layers }, () => Array.from({ length: experts }, () => rng.int(200)));
}

/** A random non-empty subset of the strategies, in the canonical (displayed) order. */
function randomStrategies(rng: Rng): StrategyName[] {
  for (;;) {
    const s = STRATEGIES.filter(() => rng.next() < 0.6);
    if (s.length > 0) return s;
  }
}

/** The fields of a run these tests read; the rest is never looked at. */
function fakeRun(strategy: StrategyName, tps: number, routedSlots?: number[][]): GroupRunResult {
  const dilation = { profile: 'gb200-nvl72', factor: 1, deviceGflops: 1, profileGflops: 1, measuredInRun: true };
  return {
    strategy,
    tpsPerGpu: tps,
    tpsPerUser: tps / 2,
    link: { dilation },
    ...(routedSlots ? { routedSlots } : {}),
  } as unknown as GroupRunResult;
}

describe(`one routing for a point's strategies (TEST_SEED=${seed})`, () => {
  it('a measured comparison runs each point’s DEP first and hands its counts to the others, results in the displayed order', async () => {
    const rng = new Rng(seed ^ 0x5eed);
    for (let trial = 0; trial < 20; trial++) {
      const strategies = randomStrategies(rng);
      const cvs = Array.from({ length: 1 + rng.int(3) }, (_, i) => String(i / 10 + rng.int(5) / 100));
      const repeat = 1 + rng.int(2);
      const form = {
        ...defaultForm(),
        strategies: strategies.join(','),
        repeat: String(repeat),
        ...(cvs.length > 1 ? { sweep: 'cv', sweepValues: cvs.join(',') } : {}),
      };
      // Per DEP run, its counts and TPS; per call, what the runner was handed.
      const calls: { s: StrategyName; cv: number; given?: unknown }[] = [];
      const depSlots: number[][][] = [];
      const tps = new Map<string, number>();
      const runner: StrategyRunner = async (c, s, hooks) => {
        calls.push({ s, cv: c.run.lengthCv, ...(hooks.routedSlots ? { given: hooks.routedSlots } : {}) });
        const t = rng.uniform(10, 100);
        tps.set(`${calls.length - 1}`, t);
        if (s !== 'dep') return fakeRun(s, t);
        depSlots.push(randomSlots(rng));
        return fakeRun(s, t, depSlots[depSlots.length - 1]);
      };
      const c = await runComparison(form, runner, { provenance: 'test' });
      const S = strategies.length;
      const hasDep = strategies.includes('dep');
      const order = hasDep ? ['dep', ...strategies.filter((s) => s !== 'dep')] : strategies;
      const msg = `trial ${trial}: ${strategies.join(',')} × ${cvs.length} points × ${repeat} (seed ${seed})`;
      expect(calls.length, msg).toBe(cvs.length * repeat * S);
      for (let b = 0; b < calls.length / S; b++) {
        const block = calls.slice(b * S, (b + 1) * S);
        expect(
          block.map((x) => x.s),
          msg,
        ).toEqual(order);
        expect(new Set(block.map((x) => x.cv)).size, msg).toBe(1);
        // Every run after DEP gets this block's DEP counts (the very array it returned); DEP gets none.
        for (const x of block)
          expect(x.given, `${msg}: ${x.s}`).toBe(hasDep && x.s !== 'dep' ? depSlots[b] : undefined);
      }
      // The results in the form's order, each the run of its strategy (its TPS), repetitions interleaved.
      for (const [i, p] of c.points.entries()) {
        expect(
          p.results.map((r) => r.strategy),
          msg,
        ).toEqual(strategies);
        const reps = p.repeats ?? [p.results];
        reps.forEach((rs, rep) =>
          rs.forEach((r, j) => {
            const b = i * repeat + rep;
            const k = b * S + order.indexOf(strategies[j]);
            expect(r.tpsPerGpu, msg).toBe(tps.get(`${k}`));
          }),
        );
      }
    }
  });

  it('the modeled source runs in the displayed order and hands no counts on', async () => {
    const calls: { s: StrategyName; given?: unknown }[] = [];
    const runner: StrategyRunner = async (_c, s, hooks) => {
      calls.push({ s, ...(hooks.routedSlots ? { given: hooks.routedSlots } : {}) });
      return fakeRun(s, 50, s === 'dep' ? [[1, 2]] : undefined);
    };
    await runComparison({ ...defaultForm(), source: 'modeled' }, runner, { provenance: 'test' });
    expect(calls).toEqual(STRATEGIES.map((s) => ({ s })));
  });

  it('the page’s measured runner carries the counts to runGroup (the worker builds the hooks from them)', async () => {
    const rng = new Rng(seed ^ 0xabc);
    const slots = randomSlots(rng);
    const seen: { strategy: StrategyName; routedSlots: unknown }[] = [];
    const runGroup: RunGroupFn = async (o, hooks) => {
      seen.push({ strategy: o.strategy, routedSlots: hooks.routedSlots });
      return fakeRun(o.strategy, 1);
    };
    const runner = measuredRunner(runGroup);
    await runComparison(
      { ...defaultForm(), strategies: 'dp,dep' },
      async (c, s, h) => {
        const r = await runner(c, s, h);
        return s === 'dep' ? { ...r, routedSlots: slots } : r;
      },
      { provenance: 'test' },
    );
    expect(seen).toEqual([
      { strategy: 'dep', routedSlots: undefined },
      { strategy: 'dp', routedSlots: slots },
    ]);
  });

  it('side by side: all start at once, the recorder hands its counts out mid-run, the others await them', async () => {
    const rng = new Rng(seed ^ 0x51de);
    for (let trial = 0; trial < 20; trial++) {
      const strategies = randomStrategies(rng);
      const slots = randomSlots(rng);
      const started: StrategyName[] = [];
      const got = new Map<StrategyName, unknown>();
      let release!: () => void;
      const recorderMayFinish = new Promise<void>((r) => (release = r));
      const others = strategies.filter((x) => x !== 'dep');
      if (others.length === 0) release();
      const results = await runUnderOneRouting(
        strategies,
        async (s, i, hand: RoutingHand) => {
          expect(strategies[i]).toBe(s);
          started.push(s);
          if (s === 'dep') {
            expect(hand.slots).toBeUndefined();
            // Counts out before the run ends; the run ends only after every other run has its counts.
            hand.onRouted!(slots);
            await recorderMayFinish;
            return fakeRun(s, i, slots);
          }
          expect(hand.onRouted).toBeUndefined();
          got.set(s, await hand.slots);
          if (got.size === others.length) release();
          return fakeRun(s, i);
        },
        'side-by-side',
      );
      expect(started).toEqual(strategies.includes('dep') ? ['dep', ...others] : strategies);
      expect(results.map((r) => r.strategy)).toEqual(strategies);
      expect(results.map((r) => r.tpsPerGpu)).toEqual(strategies.map((_, i) => i));
      for (const s of others) expect(got.get(s)).toBe(strategies.includes('dep') ? slots : undefined);
    }
  });

  it('side by side: a recorder that fails fails the runs awaiting its counts, with its error', async () => {
    const boom = new Error('recorder failed');
    const others: unknown[] = [];
    const p = runUnderOneRouting(
      ['dp', 'dep', 'dwdp'],
      async (s, _i, hand) => {
        if (s === 'dep') throw boom;
        try {
          return fakeRun(s, 1, (await hand.slots) as number[][]);
        } catch (e) {
          others.push(e);
          throw e;
        }
      },
      'side-by-side',
    );
    await expect(p).rejects.toBe(boom);
    await Promise.resolve();
    expect(others).toEqual([boom, boom]);
    // Alone, a failing recorder is just its own failure (no unhandled rejection of the counts).
    await expect(runUnderOneRouting(['dep'], async () => Promise.reject(boom), 'side-by-side')).rejects.toBe(boom);
  });

  it('refuses a strategy given twice', async () => {
    await expect(runUnderOneRouting(['dep', 'dep'], async (s) => fakeRun(s, 1), 'in-turn')).rejects.toThrow(
      'routed runs: strategies repeat (dep, dep): give each strategy once',
    );
  });

  it('runGroup’s hooks: the recorder retargets from its own counts, the others from the counts they are handed', async () => {
    const slots = randomSlots(new Rng(seed ^ 0x77));
    const rec = routingHooks({ onRouted: () => undefined });
    expect(rec.routing!.retarget).toBe(withRoutedTarget);
    expect(rec.routing!.slots).toBeUndefined();
    expect(rec.onRouted).toBeTypeOf('function');
    const other = routingHooks({ slots: Promise.resolve(slots) });
    expect(other.routing!.retarget).toBe(withRoutedTarget);
    expect(other.onRouted).toBeUndefined();
    expect(await other.routing!.slots).toBe(slots);
  });
});
