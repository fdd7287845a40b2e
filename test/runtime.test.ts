// The runtimes' plumbing without a GPU: a copy that fails makes the rank waiting for it fail
// (instead of hanging), in both clocks; barriers release only when every rank arrived.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/index.ts';
import { linkSpec } from '../src/timeline/link.ts';
import type { CopySegment, Rank, Transport } from '../src/dwdp/transport.ts';
import { VirtualRuntime, WallRuntime, categoryOf } from '../src/strategies/runtime.ts';
import { PairedSteps } from '../src/strategies/paired-steps.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;
const rng = new Rng(seed);

const ranks: Rank[] = [0, 1].map((id) => ({ id, gpu: {} as Gpu }));
const seg = (bytes: number): CopySegment[] => [
  { src: { rank: 0, buffer: {} as GPUBuffer, offset: 0 }, dst: { rank: 1, buffer: {} as GPUBuffer, offset: 0 }, bytes },
];
const failing: Transport = {
  mode: 'partitions',
  copy: async () => Promise.reject(new Error('copy failed: device lost')),
};
const working: Transport = { mode: 'partitions', copy: async () => undefined };
const spec = linkSpec({ egressGBps: 1, latencyUs: 0 });

type Window = [number, number];
const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/**
 * A fake GPU whose submissions finish `ms` later (no timestamp-query: host time is the step's
 * time); each calls `onStart` (when given) as it starts and logs its host window into `windows`.
 */
function slowGpu(ms: number, windows: Window[], onStart?: () => void): Gpu {
  return {
    timestamps: false,
    guard: <T>(p: Promise<T>) => p,
    device: {
      createCommandEncoder: () => ({ finish: () => ({}) }),
      queue: {
        submit: () => undefined,
        onSubmittedWorkDone: async () => {
          const t0 = performance.now();
          onStart?.();
          await later(ms);
          windows.push([t0, performance.now()]);
        },
      },
    },
  } as unknown as Gpu;
}
/** A transport whose copies take `ms`, each logging its host window into `windows`. */
function slowTransport(ms: number, windows: Window[]): Transport {
  return {
    mode: 'partitions',
    copy: async () => {
      const t0 = performance.now();
      await later(ms);
      windows.push([t0, performance.now()]);
    },
  };
}

describe('runtimes', () => {
  for (const [name, make] of [
    ['virtual', (t: Transport) => new VirtualRuntime(ranks, t, spec)],
    ['wall', (t: Transport) => new WallRuntime(ranks, t, spec)],
  ] as const) {
    it(`${name}: a failed send fails the receiver's wait, a failed pull the puller's`, async () => {
      const rt = make(failing);
      rt.forRank(0).send('s', 1, seg(64), 0);
      await expect(rt.forRank(1).waitRecv(['s'], 0)).rejects.toThrow('copy failed');
      rt.forRank(1).pull('p', 0, seg(64), 0);
      await expect(rt.forRank(1).waitPull(['p'], 0)).rejects.toThrow('copy failed');
    });

    it(`${name}: a successful send reaches its receiver; a barrier waits for every rank`, async () => {
      const rt = make(working);
      rt.forRank(0).send('s', 1, seg(64), 0);
      await rt.forRank(1).waitRecv(['s'], 0);
      let released = false;
      const first = rt
        .forRank(0)
        .barrier('b', 0)
        .then(() => (released = true));
      await new Promise((r) => setTimeout(r, 20));
      expect(released).toBe(false);
      await Promise.all([first, rt.forRank(1).barrier('b', 0)]);
      expect(released).toBe(true);
    });
  }

  it('virtual: no copy is in flight inside a timed step, and each step is submitted `repeats` times and recorded once', async () => {
    // Submissions finish 3 ms later, copies take 4 ms; both log their host windows.
    const gpuWindows: Window[] = [];
    const copyWindows: Window[] = [];
    const fakeGpu = slowGpu(3, gpuWindows);
    const gpuRanks: Rank[] = [0, 1, 2].map((id) => ({ id, gpu: fakeGpu }));
    const slowCopy = slowTransport(4, copyWindows);
    const repeats = 3;
    const rt = new VirtualRuntime(gpuRanks, slowCopy, spec, { repeats });
    let encodes = 0;
    const encode = () => void encodes++;
    await Promise.all([
      (async () => {
        for (let l = 0; l < 3; l++) await rt.forRank(0).compute(`attention L${l}`, 'attention', l, encode);
      })(),
      (async () => {
        for (let l = 0; l < 3; l++) {
          rt.forRank(1).pull(`p${l}`, 2, seg(64), l);
          rt.forRank(1).send(`s${l}`, 0, seg(64), l);
          await rt.forRank(1).compute(`attention L${l}`, 'attention', l, encode);
          await rt.forRank(1).waitPull([`p${l}`], l);
        }
        await rt.forRank(0).waitRecv(['s0', 's1', 's2'], 2);
      })(),
    ]);
    expect(encodes).toBe(2 * 3 * repeats);
    expect(gpuWindows).toHaveLength(2 * 3 * repeats);
    expect(copyWindows).toHaveLength(6);
    for (const [c0, c1] of copyWindows) for (const [g0, g1] of gpuWindows) expect(c1 <= g0 || c0 >= g1).toBe(true);
    // The runtime's own log says the same, and holds one span per step (not per submission).
    const steps = rt.hostSpans.filter((x) => x.kind === 'compute');
    expect(steps).toHaveLength(6);
    for (const c of rt.hostSpans.filter((x) => x.kind === 'copy'))
      for (const x of steps) expect(c.endMs <= x.startMs || c.startMs >= x.endMs).toBe(true);
    // One recorded compute op per step, not per submission.
    expect(rt.recorded[0].filter((op) => op.kind === 'compute')).toHaveLength(3);
    expect(() => new VirtualRuntime(gpuRanks, slowCopy, spec, { repeats: 0 })).toThrow('repeats');
  });

  it('virtual, paired: the same step of two runs is submitted back to back per round, recorded once, copies outside', async () => {
    // Submissions finish 2 ms later, each logging which run it belongs to; copies take 3 ms.
    const log: string[] = [];
    const gpuWindows: Window[] = [];
    const copyWindows: Window[] = [];
    const gpuOf = (run: string) => slowGpu(2, gpuWindows, () => log.push(run));
    const slowCopy = slowTransport(3, copyWindows);
    const rounds = 3;
    const steps = new PairedSteps(2, rounds, new Set(['attention']));
    const runs = ['A', 'B'].map(
      (run, side) =>
        new VirtualRuntime(
          [0, 1].map((id) => ({ id, gpu: gpuOf(run) })),
          slowCopy,
          spec,
          { repeats: 5, paired: { steps, side } },
        ),
    );
    const encoded: string[] = [];
    const enc = (key: string) => () => void encoded.push(key);
    await Promise.all(
      runs.flatMap((rt, side) =>
        [0, 1].map(async (r) => {
          for (let l = 0; l < 2; l++) {
            if (side === 1 && r === 0) rt.forRank(r).pull(`p${l}`, 1, seg(64), l);
            await rt.forRank(r).compute(`attention L${l}`, 'attention', l, enc(`${side} ${r} ${l}`));
            // B alone has a merge: not paired, submitted `repeats` times as usual.
            if (side === 1) await rt.forRank(r).compute(`merge L${l}`, 'merge', l, enc(`merge:${r}:${l}`));
            if (side === 1 && r === 0) await rt.forRank(r).waitPull([`p${l}`], l);
          }
        }),
      ),
    );
    steps.close(0);
    steps.close(1);
    // 2 ranks × 2 layers paired steps, each A B, B A, A B …; B's 4 merges 5 submissions each.
    expect(steps.steps).toHaveLength(4);
    expect(log.filter((x) => x === 'A')).toHaveLength(4 * rounds);
    expect(log.filter((x) => x === 'B')).toHaveLength(4 * rounds + 4 * 5);
    for (const st of steps.steps) for (const side of st.samples) expect(side).toHaveLength(rounds);
    // Each run records one op per step: the minimum of its rounds (host time without timestamps).
    for (const [side, rt] of runs.entries())
      for (const r of [0, 1]) {
        const ops = rt.recorded[r].filter((op) => op.kind === 'compute');
        expect(ops.map((op) => op.kind === 'compute' && op.category)).toEqual(
          side === 0 ? ['attention', 'attention'] : ['attention', 'merge', 'attention', 'merge'],
        );
        for (const op of ops.filter((o) => o.kind === 'compute' && o.category === 'attention')) {
          const st = steps.steps.find(
            (x) => x.rank === r && `${x.label}` === op.label.replace(/^(\S+ L\d+).*$/, '$1'),
          )!;
          expect(op.kind === 'compute' && op.durationMs).toBe(Math.min(...st.samples[side].map((x) => x.attention)));
        }
      }
    expect(copyWindows).toHaveLength(2);
    for (const [c0, c1] of copyWindows) for (const [g0, g1] of gpuWindows) expect(c1 <= g0 || c0 >= g1).toBe(true);
    // A paired step's submissions are one block (no merge of B's in between): round i runs the sides rotated by i.
    for (const r of [0, 1])
      for (const l of [0, 1]) {
        const first = encoded.findIndex((x) => x.endsWith(` ${r} ${l}`));
        const want = Array.from({ length: rounds }, (_, i) => [i % 2, (i + 1) % 2].map((s) => `${s} ${r} ${l}`)).flat();
        expect(encoded.slice(first, first + 2 * rounds)).toEqual(want);
      }
  });

  it('virtual: the schedule applies copy interference s to compute that overlaps a pull, at both ends, and none by default', async () => {
    // Rank 1 pulls B bytes from rank 0 and computes meanwhile; rank 0 computes (its copy engine
    // serves the pull). Fake GPU without timestamps: each compute's recorded time is its host time.
    const fakeGpu = slowGpu(1, []);
    const rt = new VirtualRuntime(
      [0, 1].map((id) => ({ id, gpu: fakeGpu })),
      working,
      spec,
    );
    const bytes = 1e6 * (1 + rng.int(100));
    await Promise.all([
      rt.forRank(0).compute('attention L0', 'attention', 0, () => undefined),
      (async () => {
        rt.forRank(1).pull('p', 0, seg(bytes), 0);
        await rt.forRank(1).compute('attention L0', 'attention', 0, () => undefined);
        await rt.forRank(1).waitPull(['p'], 0);
      })(),
    ]);
    const d = [0, 1].map((r) => {
      const op = rt.recorded[r].find((o) => o.kind === 'compute');
      return op?.kind === 'compute' ? op.durationMs : NaN;
    });
    expect(
      d.every((x) => x > 0),
      at,
    ).toBe(true);
    // A link on which the pull takes P = u × rank 1's compute, u in [0.3, 3): it overlaps compute
    // on both ranks, ending before or after it depending on the draw.
    const P = d[1] * rng.uniform(0.3, 3);
    const link = linkSpec({ egressGBps: bytes / (P * 1e6), latencyUs: 0 });
    const s = rng.uniform(0.05, 1);
    // Float64 reference: compute runs at 1/(1 + s) while the pull moves bytes ([0, P]), then at 1.
    const end = (work: number, slow: number) =>
      work * (1 + slow) <= P ? work * (1 + slow) : P + work - P / (1 + slow);
    const computeEnd = (tl: ReturnType<VirtualRuntime['timeline']>, r: number) =>
      tl.intervals.find((i) => i.rank === r && i.lane === 'compute' && i.category === 'attention')!.endMs;
    for (const slow of [0, s]) {
      const tl = slow === 0 ? rt.timeline(undefined, link) : rt.timeline(undefined, link, { copyInterference: slow });
      expect(Math.abs(tl.ranks[1].pullMs / P - 1), `pull time ${at}`).toBeLessThan(1e-9);
      for (const r of [0, 1]) {
        const want = end(d[r], slow);
        expect(Math.abs(computeEnd(tl, r) / want - 1), `rank ${r} s ${slow} ${at}`).toBeLessThan(1e-9);
        expect(Math.abs(tl.ranks[r].computeMs / want - 1), `rank ${r} s ${slow} ${at}`).toBeLessThan(1e-9);
      }
      expect(Math.abs(tl.ranks[1].endMs / Math.max(P, end(d[1], slow)) - 1), at).toBeLessThan(1e-9);
    }
    // The time interference added, per rank: the reference's stretch (end − recorded time > 0), none without it.
    const tl = rt.timeline(undefined, link, { copyInterference: s });
    for (const r of [0, 1]) {
      const added = end(d[r], s) - d[r];
      expect(added, at).toBeGreaterThan(0);
      expect(Math.abs(tl.ranks[r].interferenceMs! - added), `rank ${r} ${at}`).toBeLessThan(1e-9 * end(d[r], s));
      expect(rt.timeline(undefined, link).ranks[r].interferenceMs ?? 0, at).toBe(0);
    }
  });

  it('files the kernels’ timed passes under the breakdown’s categories', () => {
    expect(categoryOf('router', 'other')).toBe('router');
    // The router's logits are a GEMM: the paper's dense GEMM column.
    expect(categoryOf('router logits', 'other')).toBe('dense');
    expect(categoryOf('permute', 'other')).toBe('router');
    expect(categoryOf('gate_up', 'other')).toBe('gemm');
    expect(categoryOf('down', 'other')).toBe('gemm');
    expect(categoryOf('shared gate_up', 'other')).toBe('dense');
    expect(categoryOf('shared down', 'other')).toBe('dense');
    expect(categoryOf('combine', 'other')).toBe('combine');
    expect(categoryOf('merge', 'merge')).toBe('merge');
    // A pass the table does not name keeps its step's category (DEP's pack is the all-to-all's).
    expect(categoryOf('gather', 'collective')).toBe('collective');
  });
});
