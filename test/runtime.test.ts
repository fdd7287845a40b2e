// The runtimes' plumbing without a GPU: a copy that fails makes the rank waiting for it fail
// (instead of hanging), in both clocks; barriers release only when every rank arrived.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/index.ts';
import { linkSpec } from '../src/timeline/link.ts';
import type { CopySegment, Rank, Transport } from '../src/dwdp/transport.ts';
import { VirtualRuntime, WallRuntime, categoryOf } from '../src/strategies/runtime.ts';

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
    // A fake GPU whose submissions finish a few ms later (no timestamp-query: host time is the
    // step's time) and a transport whose copies take a few ms; both log their host windows.
    const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    const gpuWindows: [number, number][] = [];
    const copyWindows: [number, number][] = [];
    const fakeGpu = {
      timestamps: false,
      guard: <T>(p: Promise<T>) => p,
      device: {
        createCommandEncoder: () => ({ finish: () => ({}) }),
        queue: {
          submit: () => undefined,
          onSubmittedWorkDone: async () => {
            const t0 = performance.now();
            await later(3);
            gpuWindows.push([t0, performance.now()]);
          },
        },
      },
    } as unknown as Gpu;
    const gpuRanks: Rank[] = [0, 1, 2].map((id) => ({ id, gpu: fakeGpu }));
    const slowCopy: Transport = {
      mode: 'partitions',
      copy: async () => {
        const t0 = performance.now();
        await later(4);
        copyWindows.push([t0, performance.now()]);
      },
    };
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
