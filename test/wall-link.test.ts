// The link model against the real clock: paced copies reach the configured bandwidth, and
// pulls from one source serialize on its copy engine.
import { describe, expect, it } from 'vitest';
import { createBuffer } from '../src/gpu/index.ts';
import { linkSpec } from '../src/timeline/link.ts';
import { PartitionTransport } from '../src/dwdp/transport.ts';
import { WallLink } from '../src/dwdp/wall-link.ts';
import { testGpu } from './gpu-fixture.ts';

describe('wall-clock link', () => {
  it('a 64 MiB pull achieves the configured bandwidth within ±15%', async () => {
    const gpu = await testGpu();
    const bytes = 64 * 2 ** 20;
    const src = createBuffer(gpu, bytes, 'src');
    const dst = createBuffer(gpu, bytes, 'dst');
    const transport = new PartitionTransport(gpu);
    const seg = { src: { rank: 0, buffer: src, offset: 0 }, dst: { rank: 1, buffer: dst, offset: 0 }, bytes };
    // The physical copy must be faster than the link it emulates: configure a quarter of it.
    let t = performance.now();
    await transport.copy([seg]);
    const physicalGBps = bytes / (performance.now() - t) / 1e6;
    const gbps = Math.min(0.5, physicalGBps / 4);
    const link = new WallLink(linkSpec({ egressGBps: gbps, latencyUs: 0 }));
    t = performance.now();
    await Promise.all([transport.copy([seg]), link.transfer('pull', 0, 1, bytes)]);
    const achieved = bytes / (performance.now() - t) / 1e6;
    expect(achieved / gbps).toBeGreaterThan(0.85);
    expect(achieved / gbps).toBeLessThan(1.15);
  });

  it('three ranks pulling from one source at once are served one after another (contention fix off)', async () => {
    const gbps = 0.001; // 1 MB/s: a 20 kB pull takes 20 ms
    const link = new WallLink(linkSpec({ egressGBps: gbps, latencyUs: 0, contentionFix: false }));
    const t0 = performance.now();
    const ends: number[] = [];
    await Promise.all(
      [1, 2, 3].map((dst) => link.transfer('pull', 0, dst, 20_000).then(() => ends.push(performance.now() - t0))),
    );
    ends.sort((a, b) => a - b);
    // One copy engine: completions at ≈ 20, 40, 60 ms, not all at 20 ms.
    expect(ends[0]).toBeGreaterThan(15);
    expect(ends[1]).toBeGreaterThan(35);
    expect(ends[2]).toBeGreaterThan(55);
    expect(ends[2]).toBeLessThan(120);
  });

  it('with the fix on, the source engine is shared: all three land together at the end', async () => {
    const link = new WallLink(linkSpec({ egressGBps: 0.001, latencyUs: 0, contentionFix: true }));
    const t0 = performance.now();
    const ends = await Promise.all(
      [1, 2, 3].map((dst) => link.transfer('pull', 0, dst, 20_000).then(() => performance.now() - t0)),
    );
    for (const e of ends) {
      expect(e).toBeGreaterThan(55);
      expect(e).toBeLessThan(120);
    }
  });
});
