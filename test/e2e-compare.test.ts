// End to end in headless Chromium, on the dev server (modeled runs, then two tiny measured ones):
//  - the Gantt's pull → wait arrows: hovering each wait of a DWDP run draws an arrow from every
//    pull into that rank at that layer, and hovering a pull one to the wait it feeds — the
//    arrows the view drew (its exposed link model) against the run's own intervals, and the
//    arrowhead's pixels on the canvas;
//  - a pinned baseline: pin a run, change a field, run again; the comparison panel's numbers
//    against the two results objects (rates, DWDP/DEP, breakdown deltas computed here from the
//    ranks' raw numbers), the form diff, both Gantts on one time scale, the baseline in the
//    results JSON, surviving a reload; a third run on another hardware profile is marked as
//    mixing provenance; unpin;
//  - two measured runs repeated: each difference within the runs' spread or outside it, as the
//    two results' repetitions say.
// Random inputs, seeded (TEST_SEED reruns). Skips, saying why, only when no Chromium is installed.
import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer';
import { openPage, servePage } from '../bench/browser.ts';
import { downloadText, findBrowserOrSkip, horizontalOverflow, runEnded, useServedBrowser } from './e2e-browser.ts';
import { formToQuery } from '../src/ui/url.ts';
import { scenarioForm } from '../src/ui/scenario.ts';
import type { Comparison } from '../src/ui/compare.ts';
import type { GroupRunResult } from '../src/strategies/types.ts';
import type { Interval } from '../src/timeline/scheduler.ts';
import tiny from '../bench/scenarios/tiny.json';
import { testSeed } from './seed.ts';
import { PAPER_COLUMNS, PAPER_COLUMN_OF } from './paper-columns.ts';

const found = await findBrowserOrSkip('e2e-compare');
const seed = testSeed();
const withSeed = (what: string) => `${what} (TEST_SEED=${seed})`;

// A small modeled DWDP group on a slow custom link: its ranks wait for their pulls.
const tokens = 128 + 32 * (seed % 5);
const form = scenarioForm({
  fields: {
    source: 'modeled',
    model: 'tiny-deepseek',
    strategies: 'dep,dwdp',
    ranks: 4,
    tokens,
    requests: 2,
    cv: 0.2,
    linkProfile: 'custom',
    gbps: 5,
    seed,
  },
});

async function runAndWait(page: Page): Promise<Comparison> {
  await page.click('#run');
  const status = await runEnded(page, { timeout: 90_000, polling: 200 });
  expect(status, status).toMatch(/^done in /);
  await page.waitForFunction(() => window.dwdp.gantt()?.plots.length === window.dwdp.last()?.strategies.length, {
    timeout: 30_000,
  });
  return (await page.evaluate(() => window.dwdp.last())) as Comparison;
}

interface Seen {
  hovered: { row: number; cls: string; layer?: number; peer?: number; startMs: number; endMs: number } | null;
  arrows: {
    pullRow: number;
    pull: Interval;
    waitRow: number;
    wait: Interval;
    x1: number;
    y1: number;
    x0: number;
    y0: number;
  }[];
  rows: { rank: number; lane: string }[];
}

/** Moves the mouse over row `row` at time t of plot `plot`, and reads what the view drew. */
async function hover(page: Page, plot: number, row: number, t: number): Promise<Seen> {
  const at = await page.evaluate(
    (i, row, t) => {
      const p = window.dwdp.gantt()!.plots[i];
      p.plot.root.scrollIntoView({ block: 'center' });
      return p.links.clientPoint(row, t);
    },
    plot,
    row,
    t,
  );
  await page.mouse.move(at.x, at.y);
  return page.evaluate((i) => {
    const l = window.dwdp.gantt()!.plots[i].links;
    const span = (s: { cls: string; layer?: number; peer?: number; startMs: number; endMs: number }) => ({
      cls: s.cls,
      layer: s.layer,
      peer: s.peer,
      startMs: s.startMs,
      endMs: s.endMs,
    });
    return {
      hovered: l.hovered ? { row: l.hovered.row, ...span(l.hovered.span) } : null,
      arrows: l.arrows.map((a) => ({
        pullRow: a.pull.row,
        pull: span(a.pull.span) as unknown as Interval,
        waitRow: a.wait.row,
        wait: span(a.wait.span) as unknown as Interval,
        x0: a.x0,
        y0: a.y0,
        x1: a.x1,
        y1: a.y1,
      })),
      rows: l.rows.map((r) => ({ rank: r.rank, lane: r.lane })),
    };
  }, plot);
}

/** The rows of plot `plot`: rank and lane, in display order. */
const rowsOf = (page: Page, plot: number) =>
  page.evaluate((i) => window.dwdp.gantt()!.plots[i].links.rows.map((r) => ({ rank: r.rank, lane: r.lane })), plot);

/** Mean over ranks of each breakdown column, from the ranks' raw numbers (the paper's mapping, written out). */
function breakdown(r: GroupRunResult): Record<string, number> {
  const col = PAPER_COLUMN_OF;
  const out: Record<string, number> = {};
  const add = (k: string, v: number) => (out[k] = (out[k] ?? 0) + v / r.ranks.length);
  for (const k of PAPER_COLUMNS) out[k] = 0;
  for (const k of r.ranks) {
    for (const [c, v] of Object.entries(k.computeByCategory)) add(col[c], v!);
    add('communication', k.commMs);
    add('synchronization', k.syncMs);
    add('p2pExposed', k.waitMs);
    add('p2pBusy', k.pullMs);
  }
  return out;
}

const cell = (page: Page, sel: string) => page.$eval(sel, (e) => Number((e as HTMLElement).dataset.value));

describe.skipIf(!found)('compare runs and the Gantt’s pull → wait arrows (headless Chromium)', () => {
  const ctx = useServedBrowser(servePage);

  it(
    withSeed('draws an arrow from each pull to the wait it feeds'),
    async () => {
      const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`);
      const c = await runAndWait(page);
      const j = c.strategies.indexOf('dwdp');
      const dwdp = c.points[0].results[j];
      const waits = dwdp.intervals.filter((iv) => iv.lane === 'compute' && iv.category === 'wait');
      const pulls = dwdp.intervals.filter((iv) => iv.lane === 'copy' && iv.category === 'pull');
      expect(waits.length, 'the slow link makes ranks wait').toBeGreaterThan(0);
      const fed = (w: Interval) => pulls.filter((p) => p.peer === w.rank && p.layer === w.layer);
      // A span by where it sits and what it is: its rank, destination, layer and times.
      type Keyed = { peer?: number; layer?: number; startMs: number; endMs: number };
      const key = (rank: number, iv: Keyed) => `r${rank} → ${iv.peer} @${iv.layer} ${iv.startMs}–${iv.endMs}`;
      const own = (iv: Interval) => key(iv.rank, iv);
      const covered = new Set<string>();
      const rows = await rowsOf(page, j);
      const msPerPx = await page.evaluate((i) => {
        const u = window.dwdp.gantt()!.plots[i].plot;
        return (u.scales.x.max! - u.scales.x.min!) / u.over.clientWidth;
      }, j);
      for (const w of waits) {
        const row = rows.findIndex((r) => r.rank === w.rank && r.lane === 'compute');
        const seen = await hover(page, j, row, (w.startMs + w.endMs) / 2);
        expect(seen.hovered).toMatchObject({ row, cls: 'wait', layer: w.layer, startMs: w.startMs, endMs: w.endMs });
        const want = fed(w);
        expect(want.length, `pulls into r${w.rank} at layer ${w.layer}`).toBeGreaterThan(0);
        // Each arrow starts on its pull's row (the source's copy engine) and ends on this wait.
        expect(seen.arrows.map((a) => key(seen.rows[a.pullRow].rank, a.pull)).sort()).toEqual(want.map(own).sort());
        for (const a of seen.arrows) {
          expect(seen.rows[a.pullRow].lane).toBe('copy');
          covered.add(own(want.find((p) => own(p) === key(seen.rows[a.pullRow].rank, a.pull))!));
          expect(a.waitRow).toBe(row);
          expect(key(w.rank, a.wait)).toBe(own(w));
        }
      }
      // Every pull some rank waited for got its arrow.
      expect([...covered].sort()).toEqual(
        pulls
          .filter((p) => waits.some((w) => p.peer === w.rank && p.layer === w.layer))
          .map(own)
          .sort(),
      );

      // From a pull: the arrow goes to its destination's wait at its layer (or none: it landed in time).
      for (const p of pulls) {
        const row = rows.findIndex((r) => r.rank === p.rank && r.lane === 'copy');
        const seen = await hover(page, j, row, (p.startMs + p.endMs) / 2);
        // The copy engine serves several pulls at once: the hovered one is one of those under the cursor.
        const h = seen.hovered!;
        expect(h.cls).toBe('pull');
        // The cursor sits on a whole pixel: a pull within 2 px of t may be the one under it.
        const t = (p.startMs + p.endMs) / 2;
        const tol = 2 * msPerPx;
        const under = pulls.filter((q) => q.rank === p.rank && q.startMs <= t + tol && t < q.endMs + tol);
        expect(h.row).toBe(row);
        expect(under.map(own)).toContain(key(p.rank, h));
        const target = waits.filter((w) => w.rank === h.peer && w.layer === h.layer);
        expect(seen.arrows.map((a) => key(seen.rows[a.waitRow].rank, a.wait)).sort()).toEqual(target.map(own).sort());
        for (const a of seen.arrows) {
          expect(seen.rows[a.waitRow].lane).toBe('compute');
          expect(key(p.rank, a.pull)).toBe(key(p.rank, h));
        }
      }

      // The arrowhead is on the canvas: dark inside its head while hovered, gone when the cursor leaves.
      const w = waits[0];
      const seen = await hover(
        page,
        j,
        rows.findIndex((r) => r.rank === w.rank && r.lane === 'compute'),
        (w.startMs + w.endMs) / 2,
      );
      const a = seen.arrows[0];
      const len = Math.hypot(a.x1 - a.x0, a.y1 - a.y0);
      const px = {
        x: Math.floor(a.x1 - (4.5 * (a.x1 - a.x0)) / len),
        y: Math.floor(a.y1 - (4.5 * (a.y1 - a.y0)) / len),
      };
      const ink = (i: number, x: number, y: number) =>
        page.evaluate(
          (i, x, y) => {
            const cv = window.dwdp.gantt()!.plots[i].plot.ctx;
            const d = cv.getImageData(x, y, 1, 1).data;
            return d[0] + d[1] + d[2];
          },
          i,
          x,
          y,
        );
      expect(await ink(j, px.x, px.y), 'the arrowhead drawn').toBeLessThan(150);
      await page.mouse.move(1, 1);
      const gone = await page.evaluate((i) => window.dwdp.gantt()!.plots[i].links.arrows.length, j);
      expect(gone).toBe(0);
      expect(await ink(j, px.x, px.y), 'no arrowhead once the cursor left').toBeGreaterThan(150);
      expect(log.errors).toEqual([]);
      await page.close();
    },
    240_000,
  );

  it(
    withSeed('pins a run, runs a changed form, and shows the two side by side'),
    async () => {
      const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`);
      expect(await page.evaluate(() => window.dwdp.baseline())).toBeNull();
      const base = await runAndWait(page);
      await page.click('#pin');
      const pinned = await page.evaluate(() => window.dwdp.baseline());
      expect(pinned?.comparison.startedAt).toBe(base.startedAt);
      expect(await page.$eval('#baseline-bar', (e) => ((e as HTMLElement).hidden ? '' : e.textContent))).toMatch(
        /^Baseline: tiny-deepseek, DEP \/ DWDP — modeled: /,
      );
      expect(await page.$eval('#compare .config-diff', (e) => e.textContent)).toMatch(
        /^The shown run is the baseline itself/,
      );

      // Change a field, run again.
      const next = tokens + 16 * (1 + (seed % 7));
      const field = (await page.$('#f-tokens'))!;
      await field.click({ clickCount: 3 });
      await field.type(String(next));
      const cur = await runAndWait(page);
      expect(cur.form.tokens).toBe(String(next));
      expect(await page.$eval('#compare .config-diff', (e) => e.textContent)).toBe(
        `What differs (baseline → current): Tokens per rank ${tokens} → ${next}.`,
      );
      expect(await page.$('#compare .mixed-provenance')).toBeNull();
      // Rates on both sides and current ÷ baseline, per strategy.
      for (const [j, s] of cur.strategies.entries()) {
        const b = base.points[0].results[base.strategies.indexOf(s)];
        const c = cur.points[0].results[j];
        for (const [metric, get] of [
          ['tps-gpu', (r: GroupRunResult) => r.tpsPerGpu],
          ['tps-user', (r: GroupRunResult) => r.tpsPerUser],
          ['makespan', (r: GroupRunResult) => r.makespanMs],
        ] as const) {
          const row = `#compare .compare-rates tr[data-strategy="${s}"][data-metric="${metric}"]`;
          expect(await cell(page, `${row} td[data-side="baseline"]`)).toBeCloseTo(get(b), 9);
          expect(await cell(page, `${row} td[data-side="current"]`)).toBeCloseTo(get(c), 9);
          expect(await cell(page, `${row} td[data-side="ratio"]`)).toBeCloseTo(get(c) / get(b), 9);
          expect(await page.$eval(`${row} td[data-side="ratio"]`, (e) => e.textContent)).toBe(
            `${(get(c) / get(b)).toFixed(3)}×`,
          );
        }
        // The breakdown, column by column.
        const bb = breakdown(b);
        const cb = breakdown(c);
        for (const k of Object.keys(bb)) {
          const row = `#compare .compare-breakdown[data-strategy="${s}"] tr[data-key="${k}"]`;
          expect(await cell(page, `${row} td[data-side="baseline"]`), `${s} ${k}`).toBeCloseTo(bb[k], 9);
          expect(await cell(page, `${row} td[data-side="delta"]`), `${s} ${k} Δ`).toBeCloseTo(cb[k] - bb[k], 9);
          const rel = await page.$eval(`${row} td[data-side="relative"]`, (e) => e.textContent);
          expect(rel).toBe(
            bb[k] === 0 ? '—' : `${cb[k] >= bb[k] ? '+' : ''}${((100 * (cb[k] - bb[k])) / bb[k]).toFixed(1)}%`,
          );
        }
      }
      // DWDP ÷ DEP on both sides, and the ratio of the two.
      const ratio = (c: Comparison) => {
        const [dep, dwdp] = ['dep', 'dwdp'].map((s) => c.points[0].results[c.strategies.indexOf(s as 'dep')]);
        return dwdp.tpsPerGpu / dep.tpsPerGpu;
      };
      const row = '#compare .compare-rates tr[data-ratio="dwdp/dep TPS/GPU"]';
      expect(await cell(page, `${row} td[data-side="baseline"]`)).toBeCloseTo(ratio(base), 9);
      expect(await cell(page, `${row} td[data-side="current"]`)).toBeCloseTo(ratio(cur), 9);
      expect(await cell(page, `${row} td[data-side="ratio"]`)).toBeCloseTo(ratio(cur) / ratio(base), 9);

      // Both Gantts, on one time scale (the longer makespan).
      expect(await page.$$eval('#gantt-baseline .uplot', (x) => x.length)).toBe(2);
      expect(await page.$$eval('#gantt .uplot', (x) => x.length)).toBe(2);
      const span = Math.max(...[base, cur].flatMap((c) => c.points[0].results.map((r) => r.makespanMs)));
      const scales = await page.evaluate(() =>
        (['current', 'baseline'] as const).flatMap((w) => window.dwdp.gantt(w)!.plots.map((p) => p.plot.scales.x.max!)),
      );
      for (const x of scales) expect(x).toBeCloseTo(span, 9);
      // Zooming one timeline zooms them all, the baseline's too.
      const axes = () =>
        page.evaluate(() =>
          (['current', 'baseline'] as const).flatMap((w) =>
            window.dwdp.gantt(w)!.plots.map((p) => [p.plot.scales.x.min!, p.plot.scales.x.max!]),
          ),
        );
      const zoom = [span * (0.1 + (seed % 10) / 50), span * 0.7];
      await page.evaluate((z) => window.dwdp.gantt()!.plots[1].plot.setScale('x', { min: z[0], max: z[1] }), zoom);
      for (const [a, b] of await axes()) {
        expect(a).toBeCloseTo(zoom[0], 9);
        expect(b).toBeCloseTo(zoom[1], 9);
      }
      // Each on its own scale: each pair of timelines up to its own longest makespan.
      await page.click('#same-scale');
      await page.waitForFunction(() => window.dwdp.gantt('baseline')?.plots.length === 2, { timeout: 30_000 });
      const own = (c: Comparison) => Math.max(...c.points[0].results.map((r) => r.makespanMs));
      expect((await axes()).map((x) => x[1])).toEqual(
        [own(cur), own(cur), own(base), own(base)].map((x) => expect.closeTo(x, 9)),
      );
      await page.click('#same-scale');
      await page.waitForFunction(() => window.dwdp.gantt('baseline')?.plots.length === 2, { timeout: 30_000 });
      expect(await page.$$eval('#gantt-baseline h3', (hs) => hs.map((x) => x.textContent!.split(':')[0]))).toEqual([
        'Baseline — DEP',
        'Baseline — DWDP',
      ]);

      // The results JSON carries the baseline, a results JSON of its own.
      const exported = JSON.parse(await downloadText(page, '#export-json')) as Comparison & {
        baseline: Comparison & { format: string; pinnedPoint: number };
      };
      expect(exported.startedAt).toBe(cur.startedAt);
      expect(exported.baseline.format).toBe('webgpu-dwdp comparison');
      expect(exported.baseline.startedAt).toBe(base.startedAt);
      expect(exported.baseline.form.tokens).toBe(String(tokens));
      expect(exported.baseline.points[0].results[1].tpsPerGpu).toBe(base.points[0].results[1].tpsPerGpu);

      // At 1024 px the panel and the paired timelines fit (no horizontal scrolling of the page).
      await page.setViewport({ width: 1024, height: 800, deviceScaleFactor: 1 });
      await new Promise((r) => setTimeout(r, 500));
      const overflow = await horizontalOverflow(page);
      expect(overflow.px, `overflow at 1024 px: ${overflow.past.join('; ')}`).toBeLessThanOrEqual(0);
      await page.setViewport({ width: 1440, height: 1000, deviceScaleFactor: 1 });

      // A reload keeps it.
      await page.reload({ waitUntil: 'load' });
      await page.waitForFunction(() => typeof window.dwdp === 'object');
      const kept = await page.evaluate(() => window.dwdp.baseline());
      expect(kept?.comparison.startedAt).toBe(base.startedAt);
      expect(kept?.comparison.points[0].results[1].tpsPerGpu).toBe(base.points[0].results[1].tpsPerGpu);
      expect(await page.$eval('#baseline-bar', (e) => (e as HTMLElement).hidden)).toBe(false);

      // Another hardware profile: the numbers come from elsewhere, and the panel says so.
      const profile = base.points[0].results[0].provenance;
      expect(profile.kind).toBe('modeled');
      const other = profile.kind === 'modeled' && profile.profile === 'h100-hgx' ? 'gb200-nvl72' : 'h100-hgx';
      await page.select('#f-dilation', other);
      const third = await runAndWait(page);
      expect(third.points[0].results[0].provenance).toMatchObject({ kind: 'modeled', profile: other });
      expect(await page.$eval('#compare .mixed-provenance', (e) => e.textContent)).toMatch(
        new RegExp(`^Mixed provenance: profile ${profile.kind === 'modeled' ? profile.profile : ''} → ${other}`),
      );

      // Unpin: the panel and the baseline's timelines go, and stay gone after a reload.
      await page.click('#compare .unpin');
      expect(await page.evaluate(() => window.dwdp.baseline())).toBeNull();
      expect(await page.$eval('#compare', (e) => (e as HTMLElement).hidden)).toBe(true);
      expect(await page.$eval('#gantt-baseline', (e) => (e as HTMLElement).hidden)).toBe(true);
      await page.reload({ waitUntil: 'load' });
      await page.waitForFunction(() => typeof window.dwdp === 'object');
      expect(await page.evaluate(() => window.dwdp.baseline())).toBeNull();
      expect(log.errors).toEqual([]);
      await page.close();
    },
    300_000,
  );

  it('a baseline too large for the browser’s storage is kept there without its timelines, and says so', async () => {
    const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`);
    const base = await runAndWait(page);
    // The storage refuses the first write (as a full quota would): the baseline with its timelines.
    await page.evaluate(() => {
      const set = Storage.prototype.setItem;
      let refused = false;
      Storage.prototype.setItem = function (k: string, v: string) {
        if (!refused && k.includes('baseline')) {
          refused = true;
          throw new DOMException('quota exceeded (test)', 'QuotaExceededError');
        }
        return set.call(this, k, v);
      };
    });
    await page.click('#pin');
    expect(await page.$eval('#baseline-bar', (e) => e.textContent)).toMatch(
      /\(kept across reloads without its timelines \(too large for this browser’s storage\)\)/,
    );
    // This page still draws the baseline's timelines; after a reload they are gone, and the line says why.
    await page.waitForFunction(() => window.dwdp.gantt('baseline')?.plots.length === 2, { timeout: 30_000 });
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.dwdp === 'object');
    const kept = await page.evaluate(() => window.dwdp.baseline());
    expect(kept?.timelinesDropped).toBe(true);
    expect(kept?.comparison.startedAt).toBe(base.startedAt);
    expect(kept?.comparison.points[0].results.every((r) => r.intervals.length === 0)).toBe(true);
    expect(await page.$eval('#baseline-bar', (e) => e.textContent)).toMatch(/read back without its timelines/);
    const cur = await runAndWait(page);
    expect(cur.startedAt).not.toBe(base.startedAt);
    expect(await page.$eval('#compare', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await page.$eval('#gantt-baseline', (e) => (e as HTMLElement).hidden)).toBe(true);
    await page.click('#unpin');
    expect(await page.evaluate(() => window.dwdp.baseline())).toBeNull();
    expect(log.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it(
    withSeed('measured runs repeated: says whether each difference is within the runs’ spread'),
    async () => {
      // The tiny measured scenario, each strategy twice (interleaved), then again with more tokens.
      const measured = scenarioForm({ fields: { ...tiny.fields, repeat: 2, seed } });
      const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(measured)}`);
      expect(await page.evaluate(() => window.dwdp.webgpu.available)).toBe(true);
      const base = await runAndWait(page);
      await page.click('#pin');
      const field = (await page.$('#f-tokens'))!;
      await field.click({ clickCount: 3 });
      await field.type(String(tiny.fields.tokens + 8));
      const cur = await runAndWait(page);
      expect(await page.$('#compare .mixed-provenance'), 'same adapter, timer and clock').toBeNull();
      // Each side's range over its repetitions, and whether they overlap, computed here.
      const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)];
      const within = (a: number[], b: number[]) => a[0] <= b[1] && b[0] <= a[1];
      for (const [j, s] of cur.strategies.entries()) {
        const jb = base.strategies.indexOf(s);
        for (const [metric, get] of [
          ['tps-gpu', (r: { tpsPerGpu: number }) => r.tpsPerGpu],
          ['tps-user', (r: { tpsPerUser: number }) => r.tpsPerUser],
        ] as const) {
          const b = range(base.points[0].repeats!.map((rep) => get(rep[jb])));
          const c = range(cur.points[0].repeats!.map((rep) => get(rep[j])));
          const verdict = await page.$eval(
            `#compare .compare-rates tr[data-strategy="${s}"][data-metric="${metric}"] td.spread-verdict`,
            (e) => [(e as HTMLElement).dataset.within, e.textContent],
          );
          expect(verdict[0], `${s} ${metric}`).toBe(String(within(b, c)));
          expect(verdict[1]).toMatch(
            new RegExp(
              `^${within(b, c) ? 'within' : 'outside'} the runs’ spread \\(baseline .*, 2 runs; current .*, 2 runs\\)$`,
            ),
          );
        }
      }
      // DWDP ÷ DEP per repetition on each side.
      const ratios = (c: Comparison) =>
        range(
          c.points[0].repeats!.map(
            (rep) => rep[c.strategies.indexOf('dwdp')].tpsPerGpu / rep[c.strategies.indexOf('dep')].tpsPerGpu,
          ),
        );
      const shown = await page.$eval(
        '#compare tr[data-ratio="dwdp/dep TPS/GPU"] td.spread-verdict',
        (e) => (e as HTMLElement).dataset.within,
      );
      expect(shown).toBe(String(within(ratios(base), ratios(cur))));
      expect(log.errors).toEqual([]);
      await page.close();
    },
    300_000,
  );
});
