// One step plan, two interpreters: for every strategy and DWDP option, the ops the emulated
// ranks really recorded (virtual clock: real kernels, their timed passes) and the ops the rack
// model builds for the same group, requests and placement come in the same order — layer by
// layer, compute categories, pulls and their waits, barriers, sends and receives. Also the
// prefetch ring's hazards.
import { describe, expect, it } from 'vitest';
import { loadPreset } from '../src/model/index.ts';
import type { MoeConfig } from '../src/model/config.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import { GB200_NVL72 } from '../src/hardware/profiles.ts';
import { CostModel } from '../src/sim/cost-model.ts';
import { depPrograms, dwdpPrograms, type RankStep } from '../src/sim/programs.ts';
import { DEFAULT_GROUP_OPTIONS } from '../src/strategies/options.ts';
import { runGroup } from '../src/strategies/run.ts';
import type { GroupRunOptions } from '../src/strategies/types.ts';
import type { Op } from '../src/timeline/ops.ts';
import { PrefetchRing, layerPlan } from '../src/timeline/plan.ts';
import { testSeed } from './seed.ts';

const SEED = testSeed();
const cfg = loadPreset('tiny-deepseek');
const LAYERS = 3;

/**
 * The order an op list follows, as tokens: `<what> L<layer>`, consecutive repeats collapsed
 * (a step's several timed passes, or its pulls from several peers, are one token). Left out:
 * zero-length compute, the model's 'other' ops (norms, LM head) and attention projections
 * (dense GEMMs: the emulation's attention stand-in starts from q, k, v) and 'collective' compute (the model's all-to-all launch cost, the
 * emulation's pack and local-row copy: different parts of the same dispatch and return steps,
 * whose sends and receives are compared).
 */
function signature(ops: readonly Op[]): string[] {
  const out: string[] = [];
  for (const op of ops) {
    let t: string | null = null;
    if (op.kind === 'compute') {
      const projections = op.label === 'attention projections';
      if (op.durationMs > 0 && op.category !== 'other' && op.category !== 'collective' && !projections)
        t = `${op.category} L${op.layer}`;
    } else if (op.kind !== 'notBefore') t = `${op.kind} L${op.layer}`;
    if (t !== null && out[out.length - 1] !== t) out.push(t);
  }
  return out;
}

/** The model's view of the emulated stack: every layer an MoE layer, as the emulation runs it. */
function allMoe(m: MoeConfig, layers: number): MoeConfig {
  const idx = Array.from({ length: layers }, (_, l) => l);
  return { ...m, layers: { total: layers, moe: layers, dense: 0, moeLayerIndices: idx } };
}

type Case = {
  name: string;
  strategy: GroupRunOptions['strategy'];
  dwdp?: Partial<GroupRunOptions['dwdp']>;
  fix?: boolean;
};
const cases: Case[] = [
  { name: 'dp', strategy: 'dp' },
  { name: 'dep', strategy: 'dep' },
  { name: 'dwdp prefetch, split weights', strategy: 'dwdp' },
  {
    name: 'dwdp prefetch, merged weights, contention fix off',
    strategy: 'dwdp',
    dwdp: { splitWeights: false },
    fix: false,
  },
  { name: 'dwdp prefetch depth 1', strategy: 'dwdp', dwdp: { prefetchDepth: 1 } },
  { name: 'dwdp on demand, split weights', strategy: 'dwdp', dwdp: { prefetch: false } },
  { name: 'dwdp on demand, merged weights', strategy: 'dwdp', dwdp: { prefetch: false, splitWeights: false } },
];

describe(`the emulation and the model follow the same step plans (seed ${SEED})`, () => {
  for (const c of cases) {
    it(
      c.name,
      async () => {
        const opts: GroupRunOptions = {
          ...DEFAULT_GROUP_OPTIONS,
          model: cfg,
          seed: SEED,
          strategy: c.strategy,
          ranks: 3,
          layers: LAYERS,
          // 36 tokens × K=8 slots per rank over E=64: an owner of ~21 experts receives no row
          // with probability below 1e-20, so every DEP owner runs its GEMM, as the model assumes.
          tokensPerRank: 36,
          requestsPerRank: 2,
          lengthCv: 0.3,
          clock: 'virtual',
          timeDilation: undefined,
          link: { ...DEFAULT_GROUP_OPTIONS.link, contentionFix: c.fix ?? true },
          dwdp: { ...DEFAULT_GROUP_OPTIONS.dwdp, ...c.dwdp },
        };
        const r = await runGroup(opts);
        const emulated = r.recorded!.programs;
        const N = opts.ranks;
        const model = allMoe(cfg, LAYERS);
        const cost = new CostModel({ model, profile: GB200_NVL72, format: opts.format });
        const group = Array.from({ length: N }, (_, i) => i);
        const steps: RankStep[][] = r.ranks.map((k) => [{ lengths: k.requestLengths }]);
        const E = cfg.experts;
        const modeled =
          c.strategy === 'dep'
            ? depPrograms(cost, group, steps)
            : dwdpPrograms(cost, group, steps, {
                placement:
                  c.strategy === 'dp'
                    ? makePlacement(E, N, E, 0)
                    : makePlacement(E, N, r.placement!.local, r.placement!.pull),
                contentionFix: opts.link.contentionFix,
                splitWeights: c.strategy === 'dp' ? true : opts.dwdp.splitWeights,
                prefetchDepth: opts.dwdp.prefetchDepth,
                prefetch: opts.dwdp.prefetch,
              });
        for (let i = 0; i < N; i++) {
          const want = signature(modeled[i]);
          expect(signature(emulated[i]), `rank ${i}`).toEqual(want);
          // And both are the plan: the layer's steps in the plan's order (spot check on the model's side).
          expect(want.length).toBeGreaterThan(LAYERS * 4);
        }
      },
      120_000,
    );
  }
});

describe('the prefetch ring', () => {
  it('issues the first depth layers, then each layer into the slot its predecessor released', () => {
    for (const depth of [1, 2, 3]) {
      const layers = 7;
      const ring = new PrefetchRing(layers, depth);
      const issued: number[] = [];
      const issue = (l: number) => issued.push((ring.issue(l), l));
      for (const l of ring.prologue()) issue(l);
      for (let l = 0; l < layers; l++) {
        expect(ring.read(l)).toBe(l % depth);
        const next = ring.release(l);
        if (next !== null) issue(next);
      }
      expect(issued).toEqual(Array.from({ length: layers }, (_, l) => l));
    }
  });

  it('refuses a read before the pull (read-after-write) and an issue into an unreleased slot (write-after-read)', () => {
    const ring = new PrefetchRing(4, 2);
    ring.issue(0);
    expect(() => ring.read(1)).toThrow(/read-after-write hazard: layer 1/);
    ring.issue(1);
    ring.read(0);
    expect(() => ring.issue(2)).toThrow(
      /write-after-read hazard: layer 2 issued into slot 0 before layer 0 released it/,
    );
    ring.release(0);
    ring.issue(2);
    expect(() => ring.issue(2)).toThrow(/issued twice/);
    expect(() => ring.release(1)).toThrow(/never read/);
    expect(() => new PrefetchRing(4, 0)).toThrow(/depth must be an integer ≥ 1/);
  });

  it('every plan waits for a pull before the GEMM, and issues the next pull only after it', () => {
    for (const prefetch of [true, false])
      for (const splitWeights of [true, false]) {
        const p = layerPlan('dwdp', { prefetch, splitWeights, pulls: true, exchange: false });
        const gemm = p.indexOf('groupedGemm');
        expect(p.indexOf('waitPull')).toBeGreaterThan(-1);
        expect(p.indexOf('waitPull')).toBeLessThan(gemm);
        if (!splitWeights) expect(p.indexOf('merge')).toBeGreaterThan(p.indexOf('waitPull'));
        if (prefetch) expect(p.indexOf('issuePull')).toBe(gemm + 1);
      }
  });
});
