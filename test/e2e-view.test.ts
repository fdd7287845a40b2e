// The end-to-end view's geometry (no DOM needed): on random frontiers and bands, every point
// lands inside the plot area, the frontiers run left to right and downwards as TPS/GPU falls,
// each chosen point sits inside its band's shading, ticks cover the data, and the table shows
// the bands as the result holds them.
import { describe, expect, it } from 'vitest';
import { paretoFrontier } from '../src/sim/e2e/pareto.ts';
import type { E2eBand, E2ePoint } from '../src/sim/e2e/scenario.ts';
import { fmt } from '../src/ui/views/dom.ts';
import { describePoint, e2eBandRows, e2eChart, e2eChartSummary, e2eFrontierRows } from '../src/ui/views/e2e-view.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;

function point(strategy: 'dep' | 'dwdp'): E2ePoint {
  const units = 1 + rng.int(16);
  const ep = [4, 8, 16, 32][rng.int(4)];
  return {
    strategy,
    tpsPerUser: rng.uniform(5, 300),
    decodeTpsPerUser: rng.uniform(5, 300),
    tpsPerGpu: rng.uniform(50, 4000),
    ctxGpus: 4 * units,
    genGpus: ep,
    ttftMedianMs: rng.uniform(100, 20000),
    ttftFluidMs: rng.uniform(100, 20000),
    requestsPerS: 1,
    ctxBatch: 1,
    genBatch: 1,
    ctxQueue: 0,
    bottleneck: 'generation',
    config: {
      strategy,
      ctxUnits: units,
      groupSize: 4,
      gen: { ep, batch: 1 + rng.int(256), mtp: rng.int(4), eplb: rng.next() < 0.5 },
      concurrency: 1,
    },
  };
}

describe('e2e view geometry', () => {
  it('places frontiers, bands and chosen points consistently on random results', () => {
    for (let trial = 0; trial < 50; trial++) {
      const pts = {
        dep: Array.from({ length: 1 + rng.int(40) }, () => point('dep')),
        dwdp: Array.from({ length: 1 + rng.int(40) }, () => point('dwdp')),
      };
      const bands: E2eBand[] = Array.from({ length: 1 + rng.int(5) }, () => {
        const lo = rng.int(250);
        const band: [number, number] = [lo, lo + 5 + rng.int(40)];
        const pick = (s: 'dep' | 'dwdp') => {
          const inside = pts[s].filter((p) => p.tpsPerUser >= band[0] && p.tpsPerUser <= band[1]);
          return inside.length ? inside.reduce((a, b) => (b.tpsPerGpu > a.tpsPerGpu ? b : a)) : null;
        };
        const dep = pick('dep');
        const dwdp = pick('dwdp');
        return { tpsPerUser: band, dep, dwdp, speedupTpsPerGpu: dep && dwdp ? dwdp.tpsPerGpu / dep.tpsPerGpu : null };
      });
      const res = { bands, frontier: { dep: paretoFrontier(pts.dep), dwdp: paretoFrontier(pts.dwdp) } };
      const box = {
        width: 300 + rng.int(900),
        height: 200 + rng.int(400),
        margin: [64, 16, 16, 44] as [number, number, number, number],
      };
      const c = e2eChart(res, box);
      const inside = (px: number, py: number) =>
        px >= box.margin[0] - 1e-9 &&
        px <= box.width - box.margin[1] + 1e-9 &&
        py >= box.margin[2] - 1e-9 &&
        py <= box.height - box.margin[3] + 1e-9;
      for (const f of c.frontiers) {
        expect(f.points.length).toBe(res.frontier[f.strategy].length);
        for (let i = 0; i < f.points.length; i++) {
          expect(inside(f.points[i].px, f.points[i].py), tag('frontier point in the plot')).toBe(true);
          if (i > 0) {
            expect(f.points[i].px, tag('left to right')).toBeGreaterThan(f.points[i - 1].px);
            expect(f.points[i].py, tag('TPS/GPU falls: y grows downwards')).toBeGreaterThan(f.points[i - 1].py);
          }
        }
      }
      expect(c.chosen.length).toBe(bands.reduce((n, b) => n + (b.dep ? 1 : 0) + (b.dwdp ? 1 : 0), 0));
      for (const p of c.chosen) {
        const b = c.bands.find((x) => x.label === p.band)!;
        expect(p.px, tag('chosen point within its band')).toBeGreaterThanOrEqual(b.x0 - 1e-9);
        expect(p.px).toBeLessThanOrEqual(b.x1 + 1e-9);
        expect(inside(p.px, p.py), tag('chosen point in the plot')).toBe(true);
      }
      expect(c.xTicks.at(-1)!.value).toBe(c.xMax);
      expect(c.yTicks.at(-1)!.value).toBe(c.yMax);
      expect(c.xMax).toBeGreaterThanOrEqual(Math.max(...bands.map((b) => b.tpsPerUser[1])));
      const rows = e2eBandRows(res);
      expect(rows.map((r) => r[0])).toEqual(bands.map((b) => `${b.tpsPerUser[0]}–${b.tpsPerUser[1]}`));
      for (const [i, b] of bands.entries())
        expect(rows[i][9]).toBe(b.speedupTpsPerGpu === null ? '–' : b.speedupTpsPerGpu.toFixed(3));
    }
  });

  it('gives the chart a text alternative: every frontier point as a row, and a summary of extents and speedups', () => {
    for (let trial = 0; trial < 20; trial++) {
      const pts = {
        dep: Array.from({ length: rng.int(30) }, () => point('dep')),
        dwdp: Array.from({ length: 1 + rng.int(30) }, () => point('dwdp')),
      };
      const frontier = { dep: paretoFrontier(pts.dep), dwdp: paretoFrontier(pts.dwdp) };
      const bands: E2eBand[] = [
        { tpsPerUser: [10, 20], dep: null, dwdp: null, speedupTpsPerGpu: null },
        { tpsPerUser: [30, 40], dep: null, dwdp: null, speedupTpsPerGpu: rng.uniform(0.5, 1.5) },
      ];
      const rows = e2eFrontierRows({ frontier });
      expect(rows.length).toBe(frontier.dep.length + frontier.dwdp.length);
      for (const st of ['dep', 'dwdp'] as const) {
        const mine = rows.filter((r) => r[0] === st);
        const sorted = [...frontier[st]].sort((a, b) => a.tpsPerUser - b.tpsPerUser);
        expect(
          mine.map((r) => r[3]),
          tag('by TPS/user, each with its deployment'),
        ).toEqual(sorted.map(describePoint));
      }
      const text = e2eChartSummary({ bands, frontier });
      expect(text).toMatch(/^Modeled output TPS\/GPU against TPS\/user\./);
      expect(text).toContain(frontier.dep.length ? `DEP frontier: ${frontier.dep.length} points` : 'DEP: no point');
      expect(text).toContain(`DWDP frontier: ${frontier.dwdp.length} points`);
      const xs = frontier.dwdp.map((p) => p.tpsPerUser);
      expect(text).toContain(`${fmt(Math.min(...xs))} to ${fmt(Math.max(...xs))} TPS/user`);
      expect(text).toContain(`10–20: no pair; 30–40: DWDP/DEP ${bands[1].speedupTpsPerGpu!.toFixed(3)}.`);
    }
  });

  it('names the deployment and says it is modeled in every tooltip', () => {
    const p = point('dwdp');
    const t = describePoint(p);
    expect(t).toContain(`${p.config.ctxUnits} × DWDP4`);
    expect(t).toContain(`EP${p.config.gen.ep}`);
    expect(t).toMatch(/modeled$/);
  });
});
