// End to end in headless Chromium, against the static build (vite build, served under a
// sub-path as a static host would): the results views cost nothing while idle and never hold
// the main thread long, even for 64 ranks; results that no longer match the form are marked
// stale; configurations that cannot fit are flagged. Modeled runs (no GPU needed) plus one
// tiny measured run, which proves the built page loads its worker and shaders relatively.
// Skips, saying why, only when no Chromium is installed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, CDPSession, Page } from 'puppeteer';
import { findBrowser, launchBrowser, openPage } from '../bench/browser.ts';
import { formToQuery } from '../src/ui/url.ts';
import { scenarioForm } from '../src/ui/scenario.ts';
import type { Comparison } from '../src/ui/compare.ts';
import tiny from '../bench/scenarios/tiny.json';
import { serveBuilt } from './e2e-serve.ts';
import { testSeed } from './seed.ts';

const found = await findBrowser().catch(() => null);
if (!found)
  console.warn('e2e-results: skipped: no Chromium/Chrome found (apt-get install -y chromium, or set CHROME_PATH)');

const seed = testSeed();
const SUB_PATH = '/some/sub/path/';

/** Main-thread busy fraction over `ms` of idling, from the browser's own task accounting. */
async function busyFraction(cdp: CDPSession, ms: number): Promise<number> {
  const read = async () => {
    const m = (await cdp.send('Performance.getMetrics')).metrics;
    const get = (k: string) => m.find((x) => x.name === k)!.value;
    return { task: get('TaskDuration'), at: get('Timestamp') };
  };
  const a = await read();
  await new Promise((r) => setTimeout(r, ms));
  const b = await read();
  return (b.task - a.task) / (b.at - a.at);
}

/** Starts collecting main-thread long tasks (over 50 ms) into window.__longTasks. */
async function watchLongTasks(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push(e.duration);
    }).observe({ type: 'longtask' });
  });
}
const longTasks = (page: Page) => page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);

async function runAndWait(page: Page, timeout = 120_000): Promise<string> {
  await page.click('#run');
  await page.waitForFunction(
    () => /^(done|failed|cancelled)/.test(document.querySelector('#progress-msg')!.textContent ?? ''),
    { timeout, polling: 250 },
  );
  return (await page.$eval('#progress-msg', (e) => e.textContent)) ?? '';
}

describe.skipIf(!found)('results views in the static build (headless Chromium)', () => {
  let server: Awaited<ReturnType<typeof serveBuilt>>;
  let browser: Browser;

  beforeAll(async () => {
    server = await serveBuilt(SUB_PATH);
    browser = (await launchBrowser()).browser;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a tiny measured run from the built page; the idle page then costs under 5% of a core', async () => {
    const form = scenarioForm({ fields: { ...tiny.fields, seed } });
    const { page, log } = await openPage(browser, `${server.url}?${formToQuery(form)}`);
    expect(await page.evaluate(() => window.dwdp.webgpu.available)).toBe(true);
    const status = await runAndWait(page);
    expect(status, status).toMatch(/^done in /);
    // Everything came from under the sub-path: nothing asked the host's root.
    expect(server.requests.filter((p) => !p.startsWith(SUB_PATH))).toEqual([]);
    expect(
      server.requests.some((p) => /run-worker.*\.js$/.test(p)),
      'the worker loaded',
    ).toBe(true);
    const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
    expect(c.points[0].results.map((r) => r.timeSource)).toEqual([
      expect.stringMatching(/^measured here/),
      expect.stringMatching(/^measured here/),
    ]);

    const cdp = await page.createCDPSession();
    await cdp.send('Performance.enable');
    // The topology on screen, not playing: no frames, no CPU.
    await page.$eval('#topology', (e) => e.scrollIntoView());
    await new Promise((r) => setTimeout(r, 300));
    const frames0 = await page.evaluate(() => window.dwdp.topologyFrames());
    expect(frames0, 'the topology drew its first frame').toBeGreaterThan(0);
    const onScreen = await busyFraction(cdp, 3000);
    expect(await page.evaluate(() => window.dwdp.topologyFrames())).toBe(frames0);
    expect(onScreen, 'main-thread busy fraction, idle, topology on screen').toBeLessThan(0.05);
    // Playing draws; scrolled off-screen it stops.
    await page.click('#topology .topology-controls button');
    await new Promise((r) => setTimeout(r, 500));
    const playing = await page.evaluate(() => window.dwdp.topologyFrames());
    expect(playing, 'frames while playing on screen').toBeGreaterThan(frames0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await new Promise((r) => setTimeout(r, 300));
    const offFrames = await page.evaluate(() => window.dwdp.topologyFrames());
    const offScreen = await busyFraction(cdp, 3000);
    expect((await page.evaluate(() => window.dwdp.topologyFrames())) - offFrames, 'frames while off-screen').toBe(0);
    expect(offScreen, 'main-thread busy fraction, idle, topology playing off-screen').toBeLessThan(0.05);
    expect(log.errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('a 64-rank modeled run holds the main thread under 200 ms at a time, and then idles', async () => {
    const form = scenarioForm({
      fields: {
        source: 'modeled',
        model: 'tiny-deepseek',
        strategies: 'dp,dep,dwdp',
        ranks: 64,
        tokens: 2048,
        requests: 2,
        seed,
      },
    });
    const { page, log } = await openPage(browser, `${server.url}?${formToQuery(form)}`);
    await watchLongTasks(page);
    const status = await runAndWait(page);
    expect(status, status).toMatch(/^done in /);
    await page.$eval('#topology', (e) => e.scrollIntoView());
    await new Promise((r) => setTimeout(r, 500));
    const tasks = await longTasks(page);
    expect(Math.max(0, ...tasks), `main-thread long tasks (ms): ${tasks.map(Math.round).join(', ')}`).toBeLessThan(200);
    // One row per rank from 8 ranks, and the copy spans aggregated per rank and layer.
    const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
    for (const r of c.points[0].results) {
      expect(r.ranks.length).toBe(64);
      expect((r as { compact?: { aggregated: boolean } }).compact?.aggregated).toBe(true);
    }
    expect(await page.$eval('#gantt', (e) => e.textContent)).toMatch(/64 ranks: one row per rank/);
    const cdp = await page.createCDPSession();
    await cdp.send('Performance.enable');
    expect(await busyFraction(cdp, 3000), 'main-thread busy fraction, idle after 64 ranks').toBeLessThan(0.05);
    expect(log.errors).toEqual([]);
    await page.close();
  }, 180_000);
});
