// End to end in headless Chromium, against the static build (vite build, served under a
// sub-path as a static host would): the results views cost nothing while idle and never hold
// the main thread long, even for 64 ranks; results that no longer match the form are marked
// stale; configurations that cannot fit are flagged. Modeled runs (no GPU needed) plus one
// tiny measured run, which proves the built page loads its worker and shaders relatively.
// Skips, saying why, only when no Chromium is installed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ElementHandle, Page } from 'puppeteer';
import { openPage } from '../bench/browser.ts';
import {
  captureDownloads,
  downloadText,
  findBrowserOrSkip,
  horizontalOverflow,
  runEnded,
  useServedBrowser,
} from './e2e-browser.ts';
import { formToQuery } from '../src/ui/url.ts';
import { scenarioForm } from '../src/ui/scenario.ts';
import type { Comparison } from '../src/ui/compare.ts';
import tiny from '../bench/scenarios/tiny.json';
import qwen from '../src/model/hf/qwen3_moe.json';
import r1 from '../bench/scenarios/r1-isl-modeled.json';
import { serveBuilt } from './e2e-serve.ts';
import { sweepSummary } from '../src/ui/sweep-summary.ts';
import { testSeed } from './seed.ts';

const found = await findBrowserOrSkip('e2e-results');

const seed = testSeed();
const SUB_PATH = '/some/sub/path/';

/**
 * The share of one core the page's renderer main thread uses over the next `ms`: the CPU time
 * of its tasks in a trace (Chromium's `tdur`), over the window's length. CPU time and not the
 * tasks' wall time (CDP's TaskDuration): on a loaded machine the other processes stretch an
 * idle page's few small tasks' wall time until 5 % of the window is reached (6 % measured with
 * the suite's neighbours running) without the page doing any more work.
 */
async function busyFraction(page: Page, ms: number): Promise<number> {
  const tasks = await mainThreadTasks(page, () => new Promise((r) => setTimeout(r, ms)));
  return tasks.reduce((sum, t) => sum + t.cpuMs, 0) / ms;
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

/** A main-thread task of the page's renderer, from a trace: its wall time and the CPU time its thread spent in it (ms). */
interface MainTask {
  wallMs: number;
  cpuMs: number;
}

/**
 * Runs `f` while tracing the browser's top-level tasks; returns every task of the renderers'
 * main threads (CrRendererMain) with its wall duration and its thread time (Chromium's `tdur`:
 * CPU time of that thread alone, which other processes on the machine cannot stretch).
 */
async function mainThreadTasks(page: Page, f: () => Promise<void>): Promise<MainTask[]> {
  await page.tracing.start({ categories: ['toplevel', '__metadata'] });
  let buf: Uint8Array | undefined;
  try {
    await f();
  } finally {
    buf = await page.tracing.stop();
  }
  type Ev = {
    name: string;
    ph: string;
    pid: number;
    tid: number;
    dur?: number;
    tdur?: number;
    args?: { name?: string };
  };
  const events = (JSON.parse(Buffer.from(buf!).toString()) as { traceEvents: Ev[] }).traceEvents;
  const main = new Set(
    events
      .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  return events
    .filter((e) => e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask' && main.has(`${e.pid}:${e.tid}`))
    .map((e) => ({ wallMs: (e.dur ?? NaN) / 1000, cpuMs: (e.tdur ?? NaN) / 1000 }));
}

async function runAndWait(page: Page, timeout = 120_000, start: 'click' | 'keys' = 'click'): Promise<string> {
  if (start === 'click') await page.click('#run');
  else {
    await page.keyboard.down('Control');
    await page.keyboard.press('Enter');
    await page.keyboard.up('Control');
  }
  return runEnded(page, { timeout, polling: 250 });
}

describe.skipIf(!found)('results views in the static build (headless Chromium)', () => {
  const ctx = useServedBrowser(() => serveBuilt(SUB_PATH), 120_000);

  it('a tiny measured run from the built page; the idle page then costs under 5% of a core', async () => {
    // Each strategy twice, interleaved: every ratio then carries its spread.
    const form = scenarioForm({ fields: { ...tiny.fields, repeat: 2, seed } });
    const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`);
    expect(await page.evaluate(() => window.dwdp.webgpu.available)).toBe(true);
    // Ctrl+Enter runs, Esc cancels; then Ctrl+Enter again runs to the end.
    await page.keyboard.down('Control');
    await page.keyboard.press('Enter');
    await page.keyboard.up('Control');
    await page.waitForFunction(() => !(document.querySelector('#cancel') as HTMLButtonElement).disabled, {
      timeout: 30_000,
    });
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('#progress-msg')!.textContent === 'cancelled', {
      timeout: 20_000,
      polling: 100,
    });
    const status = await runAndWait(page, 120_000, 'keys');
    expect(status, status).toMatch(/^done in /);
    // Everything came from under the sub-path: nothing asked the host's root.
    expect(ctx.server.requests.filter((p) => !p.startsWith(SUB_PATH))).toEqual([]);
    expect(
      ctx.server.requests.some((p) => /run-worker.*\.js$/.test(p)),
      'the worker loaded',
    ).toBe(true);
    const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
    expect(c.points[0].repeats?.length).toBe(2);
    const dwdpGpu = c.ratios.find((r) => r.name === 'dwdp/dep TPS/GPU')!;
    expect(dwdpGpu.spread?.n).toBe(2);
    expect(await page.$eval('.card-dwdp .ratio .spread', (e) => e.textContent)).toBe(
      ` (${dwdpGpu.spread!.min.toFixed(3)}–${dwdpGpu.spread!.max.toFixed(3)}, 2 runs${dwdpGpu.spread!.withinNoise ? ': within noise' : ''})`,
    );
    expect(c.points[0].results.map((r) => r.timeSource)).toEqual([
      expect.stringMatching(/^measured here/),
      expect.stringMatching(/^measured here/),
    ]);
    // Time-dilated, so a scale model: its modeled counterpart stands beside the measured ratios.
    expect(c.counterpart, 'a time-dilated run carries its modeled counterpart').toBeDefined();
    // The link factor the page names is the one the run applied: the scale model's, not the GEMM-rate ratio.
    const scaled = c.points[0].results[0];
    expect(await page.$eval('.provenance .dilation', (e) => e.textContent)).toContain(
      `so compute : pull matches ${scaled.similarity!.target.model} on ${scaled.link.dilation!.profile} (the scale model's factor`,
    );
    const modeledNames = new Set(c.counterpart!.ratios.map((r) => r.name));
    const shown = await page.$$eval('.counterpart-table tbody tr', (rows) =>
      rows.map((r) => r.getAttribute('data-ratio')),
    );
    expect(shown.length).toBeGreaterThan(0);
    expect(shown).toEqual(c.ratios.filter((r) => modeledNames.has(r.name)).map((r) => r.name));

    // The topology on screen, not playing: no frames, no CPU.
    await page.$eval('#topology', (e) => e.scrollIntoView());
    await new Promise((r) => setTimeout(r, 300));
    const frames0 = await page.evaluate(() => window.dwdp.topologyFrames());
    expect(frames0, 'the topology drew its first frame').toBeGreaterThan(0);
    const onScreen = await busyFraction(page, 3000);
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
    const offScreen = await busyFraction(page, 3000);
    expect((await page.evaluate(() => window.dwdp.topologyFrames())) - offFrames, 'frames while off-screen').toBe(0);
    expect(offScreen, 'main-thread busy fraction, idle, topology playing off-screen').toBeLessThan(0.05);
    expect(log.errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('a 64-rank modeled DeepSeek-R1 run finishes, never holds the main thread for long, and then idles', async () => {
    // The full model at ISL 8K: DEP's all-to-all moves 64·63 transfers per phase, 58 MoE layers.
    const form = scenarioForm({
      fields: {
        source: 'modeled',
        model: 'deepseek-r1',
        strategies: 'dep,dwdp',
        ranks: 64,
        tokens: 8192,
        requests: 1,
        seed,
      },
    });
    const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`);
    await watchLongTasks(page);
    let status = '';
    const main = await mainThreadTasks(page, async () => {
      status = await runAndWait(page, 280_000);
      await page.$eval('#topology', (e) => e.scrollIntoView());
      await new Promise((r) => setTimeout(r, 500));
    });
    expect(status, status).toMatch(/^done in /);
    const tasks = await longTasks(page);
    // The page's budget: no main-thread task over 200 ms. It is held on the CPU time the
    // renderer's main thread spent in each task (the page's own work: script, style, layout,
    // paint, garbage collection; ≈ 90 ms at most here), which the other processes on this
    // machine cannot stretch; their load stretches the same tasks' wall time several-fold
    // (≈ 350 ms measured with the suite's neighbours running), so the wall-clock long tasks
    // are held only to the bound that separates the page from the freeze it replaced (one
    // 10–16 s task): 4 s, since a 1 s bound tripped at a load average of 13 with the page's own
    // CPU time still under 200 ms.
    expect(main.length, "the trace holds the main thread's tasks").toBeGreaterThan(0);
    expect(main.every((t) => Number.isFinite(t.cpuMs) && t.cpuMs <= t.wallMs + 1)).toBe(true);
    const worst = [...main].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, 5);
    expect(
      worst[0].cpuMs,
      `main-thread tasks, CPU ms (wall ms): ${worst.map((t) => `${t.cpuMs.toFixed(0)} (${t.wallMs.toFixed(0)})`).join(', ')}`,
    ).toBeLessThan(200);
    expect(Math.max(0, ...tasks), `main-thread long tasks (ms): ${tasks.map(Math.round).join(', ')}`).toBeLessThan(
      4000,
    );
    // One row per rank from 8 ranks, and the copy spans aggregated per rank and layer.
    const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
    for (const r of c.points[0].results) {
      expect(r.ranks.length).toBe(64);
      expect((r as { compact?: { aggregated: boolean } }).compact?.aggregated).toBe(true);
    }
    expect(await page.$eval('#gantt', (e) => e.textContent)).toMatch(/64 ranks: one row per rank/);
    expect(await busyFraction(page, 3000), 'main-thread busy fraction, idle after 64 ranks').toBeLessThan(0.05);
    expect(log.errors).toEqual([]);
    await page.close();
  }, 330_000);

  it('flags what cannot fit, warns on mixed machines, and marks results stale when the form changes', async () => {
    const form = scenarioForm({
      fields: {
        source: 'modeled',
        model: 'deepseek-r1',
        strategies: 'dp,dep,dwdp',
        ranks: 4,
        tokens: 4096,
        requests: 1,
        dilation: 'gb200-nvl72',
        linkProfile: 'gb200-nvl72',
        seed,
      },
    });
    const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`);
    expect(await page.$$eval('#config-caveats .caveat', (e) => e.length), 'a consistent GB200 config').toBe(0);
    // Both sources read the hardware profile: it sits beside "Numbers from", and says what it means for this source.
    expect(await page.$eval('#f-dilation', (e) => e.closest('fieldset')!.className)).toMatch(/\bgroup-run\b/);
    expect(await page.$eval('.field-dilation .help', (e) => e.textContent)).toMatch(
      /^The hardware the rack model runs on/,
    );
    const status = await runAndWait(page);
    expect(status, status).toMatch(/^done in /);
    const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
    type Cap = { capacity?: { neededBytes: number; capacityBytes: number; fits: boolean } };
    const caps = c.points[0].results.map((r) => (r as Cap).capacity!);
    // DP holds all 256 experts of every MoE layer: far over a B200's 186 GB; DEP and DWDP fit.
    expect(caps.map((x) => x.fits)).toEqual([false, true, true]);
    expect(caps[0].neededBytes).toBeGreaterThan(caps[0].capacityBytes);
    expect(caps[0].capacityBytes).toBe(186e9);
    const flagged = await page.$$eval('.card', (cards) =>
      cards.map((e) => [(e as HTMLElement).dataset.strategy, e.classList.contains('no-fit')]),
    );
    expect(flagged).toEqual([
      ['dp', true],
      ['dep', false],
      ['dwdp', false],
    ]);
    expect(await page.$eval('.card-dp .caveat-no-fit', (e) => e.textContent)).toMatch(
      /^DP does not fit: [\d.]+ GiB per GPU \(weights \+ KV cache\) against [\d.]+ GiB \(186 GB\) of HBM on GB200/,
    );
    expect(await page.$$eval('.summary-table td[data-metric="hbm"]', (t) => t.map((x) => x.textContent))).toEqual([
      expect.stringMatching(/does not fit$/),
      expect.not.stringMatching(/does not fit/),
      expect.not.stringMatching(/does not fit/),
    ]);
    // Words: every header, card metric and legend entry carries its definition.
    const untitled = await page.$$eval('.summary-table th, .card .metric, #gantt .legend-item', (els) =>
      els.filter((e) => !(e.getAttribute('title') ?? '').includes(':')).map((e) => e.textContent),
    );
    expect(untitled).toEqual([]);
    expect(await page.$eval('.summary-table th[title^="hidden pull"]', (e) => e.getAttribute('title'))).toMatch(
      /= 1 − exposed pull wait ÷ total pull time/,
    );
    expect(await page.$$eval('#glossary-list dt', (d) => d.map((x) => x.textContent))).toEqual(
      expect.arrayContaining(['TPS/user', 'hidden pull', 'makespan', 'idle / rank', 'of replica', 'time dilation']),
    );

    // An H100 profile under a GB200 link: both caveats before running, and the results go stale.
    await page.select('#f-dilation', 'h100-hgx');
    const caveats = await page.$$eval('#config-caveats .caveat', (e) =>
      e.map((x) => [(x as HTMLElement).dataset.caveat, x.textContent]),
    );
    expect(caveats.map((x) => x[0])).toEqual(['link-mismatch', 'no-fp4']);
    expect(caveats[0][1]).toMatch(/link is GB200 NVL72 .* but the hardware profile .* is H100 SXM/);
    expect(caveats[1][1]).toMatch(/H100 SXM, HGX 8-GPU has no FP4 tensor cores/);
    expect(await page.$eval('#stale', (e) => ((e as HTMLElement).hidden ? '' : e.textContent))).toMatch(
      /^Stale: .*Changed since: Hardware profile gb200-nvl72 → h100-hgx\./,
    );
    expect(await page.$eval('#results-body', (e) => e.classList.contains('stale'))).toBe(true);
    // The results JSON exported now says which configuration it holds.
    const exported = JSON.parse(await downloadText(page, '#export-json')) as {
      form: Record<string, string>;
      changedSince?: { key: string; was: string; now: string }[];
    };
    expect(exported.form.dilation).toBe('gb200-nvl72');
    expect(exported.changedSince).toEqual([
      { key: 'dilation', label: 'Hardware profile', was: 'gb200-nvl72', now: 'h100-hgx' },
    ]);
    // The matching link: the mismatch goes (the FP4 caveat stays); going back to what ran: not stale.
    await page.select('#f-linkProfile', 'h100-hgx');
    expect(
      await page.$$eval('#config-caveats .caveat', (e) => e.map((x) => (x as HTMLElement).dataset.caveat)),
    ).toEqual(['no-fp4']);
    await page.select('#f-linkProfile', 'gb200-nvl72');
    await page.select('#f-dilation', 'gb200-nvl72');
    expect(await page.$eval('#stale', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(await page.$eval('#results-body', (e) => e.classList.contains('stale'))).toBe(false);
    // A pasted config.json is named by its model_type, with its parsed shape.
    await page.select('#f-model', 'custom');
    await page.$eval(
      '#f-hf',
      (e, text) => {
        (e as HTMLTextAreaElement).value = text;
        e.dispatchEvent(new Event('input', { bubbles: true }));
      },
      JSON.stringify({ ...qwen, num_experts: 64, num_hidden_layers: 6 }),
    );
    expect(await page.$eval('#run-hint', (e) => e.textContent)).toMatch(
      /of a custom config \(qwen3_moe: H=2048 F=768 E=64 K=8, 6 MoE of 6 layers\)/,
    );
    expect(log.errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('at 1024 px: no horizontal overflow, tabs by arrow keys, the docs and the paper, an ETA, a cancelled sweep keeps its points, figures', async () => {
    const form = scenarioForm({
      fields: {
        source: 'modeled',
        model: 'deepseek-r1',
        strategies: 'dp,dep,dwdp',
        ranks: 8,
        tokens: 8192,
        requests: 1,
        sweep: 'cv',
        sweepValues: '0,0.2,0.4',
        seed,
      },
    });
    const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`);
    await page.setViewport({ width: 1024, height: 800, deviceScaleFactor: 1 });
    const before = await horizontalOverflow(page);
    expect(before.px, `overflow at 1024 px before a run: ${before.past.join('; ')}`).toBeLessThanOrEqual(0);
    // The docs (bundled, so they open from any host) and the paper.
    expect(await page.$eval('#docs-link', (a) => (a as HTMLAnchorElement).href)).toMatch(/^blob:/);
    expect(await page.$$eval('.refs a', (as) => as.map((a) => (a as HTMLAnchorElement).href))).toEqual(
      expect.arrayContaining([
        'https://arxiv.org/abs/2604.01621',
        expect.stringMatching(/TensorRT-LLM\/.*blog19_DWDP/),
      ]),
    );
    // The ARIA tabs pattern: one tab stop, arrows move and open.
    await page.focus('#tab-bench');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => !(document.querySelector('#lab-view') as HTMLElement).hidden);
    expect(await page.evaluate(() => [document.activeElement?.id, window.dwdp.view()])).toEqual(['tab-lab', 'lab']);
    expect(
      await page.$$eval('[role=tab]', (t) =>
        t.map((x) => [x.getAttribute('aria-selected'), (x as HTMLElement).tabIndex]),
      ),
    ).toEqual([
      ['false', -1],
      ['true', 0],
      ['false', -1],
    ]);
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => !(document.querySelector('#bench-view') as HTMLElement).hidden);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-bench');
    // ← from the first tab wraps to the last (the end-to-end view), → wraps back.
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => !(document.querySelector('#e2e-view') as HTMLElement).hidden);
    expect(await page.evaluate(() => [document.activeElement?.id, window.dwdp.view()])).toEqual(['tab-e2e', 'e2e']);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => !(document.querySelector('#bench-view') as HTMLElement).hidden);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-bench');

    // A sweep of three points, cancelled in its second once the ETA shows: the finished points stay.
    // Esc is pressed inside the page the moment the second point's progress is drawn, whatever
    // the machine's speed (a modeled 8-rank point takes ~0.1 s here: a press from the test's side
    // of the protocol would land after the run's end on a quiet machine).
    await page.evaluate(() => {
      const msg = document.querySelector('#progress-msg')!;
      const seen: string[] = [];
      const watcher = new MutationObserver(() => {
        const text = msg.textContent ?? '';
        if (!/^run [4-6]\//.test(text)) return;
        watcher.disconnect();
        // What the clock showed as the second point began: an estimate, three runs having finished.
        seen.push(document.querySelector('#elapsed')!.textContent ?? '');
        document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
      });
      watcher.observe(msg, { childList: true, characterData: true, subtree: true });
      (window as unknown as { __escAt: string[] }).__escAt = seen;
    });
    await page.click('#run');
    await page.waitForFunction(() => /^cancelled/.test(document.querySelector('#progress-msg')!.textContent ?? ''), {
      timeout: 60_000,
    });
    const status = await page.$eval('#progress-msg', (e) => e.textContent!);
    expect(status).toMatch(/^cancelled: kept the 1 of 3 sweep points that finished$/);
    const clockAtEsc = await page.evaluate(() => (window as unknown as { __escAt: string[] }).__escAt);
    expect(clockAtEsc).toHaveLength(1);
    expect(clockAtEsc[0], 'the clock as the second point began').toMatch(/· about \d+ (s|min) left$/);
    expect(await page.$eval('#elapsed', (e) => e.textContent), 'no estimate once the run is over').not.toMatch(/left/);
    const kept = Number(/kept the (\d)/.exec(status)![1]);
    const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
    expect(c.partial).toEqual({ done: kept, of: 3 });
    expect(c.points.map((p) => p.value)).toEqual(['0', '0.2', '0.4'].slice(0, kept));
    expect(await page.$eval('#summary .partial', (e) => e.textContent)).toMatch(
      new RegExp(`^Cancelled: these are the ${kept} of 3`),
    );
    const after = await horizontalOverflow(page);
    expect(after.px, `overflow at 1024 px with results: ${after.past.join('; ')}`).toBeLessThanOrEqual(0);
    // Text alternatives on the charts.
    const unlabelled = await page.$$eval('.chart, .topology-canvas', (els) =>
      els
        .filter((e) => e.getAttribute('role') !== 'img' || !(e.getAttribute('aria-label') ?? '').length)
        .map((e) => e.className),
    );
    expect(unlabelled).toEqual([]);
    // One legend vocabulary: the topology's legend is the Gantt's for the same strategy.
    const legendOf = (sel: string) => page.$$eval(`${sel} .legend-item`, (l) => l.map((x) => x.getAttribute('title')));
    await page.select('#topology select', 'dep');
    const depGantt = await legendOf('#gantt');
    expect((await legendOf('#topology')).every((t) => depGantt.includes(t))).toBe(true);

    // The PNG carries the numbers, the configuration and the legend above the charts: taller than the charts alone.
    await captureDownloads(page);
    await page.click('#export-png');
    await page.waitForFunction(() => (window as unknown as { __blobs: Blob[] }).__blobs.length > 0);
    const png = await page.evaluate(async () => {
      const b = (window as unknown as { __blobs: Blob[] }).__blobs[0];
      const head = new DataView(await b.slice(0, 24).arrayBuffer());
      const charts = [...document.querySelectorAll('#results-body canvas')]
        .filter((x) => !x.closest('[hidden]') && (x as HTMLCanvasElement).height > 0)
        .map((x) => (x as HTMLCanvasElement).height);
      return { type: b.type, height: head.getUint32(20), charts };
    });
    expect(png.type).toBe('image/png');
    // Without the text: 64 px of heading, each chart under a 26 px title with 16 px below, 16 px at the foot.
    const chartsOnly = 64 + png.charts.reduce((a, h) => a + 26 + h + 16, 0) + 16;
    expect(png.height, 'PNG height against the charts alone').toBeGreaterThanOrEqual(
      chartsOnly + 16 * (c.strategies.length + 2),
    );
    // Open in Perfetto: wired to the deep-link handshake; a blocked pop-up is said in words.
    await page.evaluate(() => (window.open = () => null));
    await page.click('#open-perfetto');
    await page.waitForFunction(() =>
      /^open in Perfetto: /.test(document.querySelector('#progress-msg')!.textContent ?? ''),
    );
    expect(await page.$eval('#progress-msg', (e) => e.textContent)).toMatch(
      /blocked the new tab for https:\/\/ui\.perfetto\.dev/,
    );
    expect(log.errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('a categorical sweep: bars, a per-point table with its breakdown, the verdict, hover values; its JSON loads back', async () => {
    const form = scenarioForm({
      fields: {
        source: 'modeled',
        model: 'tiny-deepseek',
        strategies: 'dep,dwdp',
        ranks: 4,
        tokens: 1024,
        requests: 2,
        cv: 0.3,
        sweep: 'fix',
        sweepValues: 'off,on',
        seed,
      },
    });
    const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`);
    const status = await runAndWait(page);
    expect(status, status).toMatch(/^done in /);
    const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
    const s = sweepSummary(c)!;
    expect(await page.$eval('#sweep .crossover', (e) => e.textContent)).toBe(`${s.verdict}.`);
    expect(s.verdict).not.toMatch(/level throughout/);
    const table = await page.$$eval('#sweep .sweep-table tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(table.map((r) => r[0])).toEqual(['off', 'on']);
    expect(table.map((r) => r[1])).toEqual(s.rows.map((r) => `${r.gpuRatio.toFixed(3)}×`));
    expect(await page.$eval('#sweep .chart', (e) => e.getAttribute('aria-label'))).toContain(s.verdict);
    // Hover over the second category: the legend reads its values.
    await page.$eval('#sweep', (e) => e.scrollIntoView());
    const over = (await page.$('#sweep .u-over'))!;
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2);
    const legend = await page.$$eval('#sweep .u-legend .u-value', (v) => v.map((x) => x.textContent));
    expect(legend.slice(0, 3)).toEqual([
      'on',
      `${s.rows[1].gpuRatio.toFixed(3)}×`,
      `${s.rows[1].userRatio.toFixed(3)}×`,
    ]);
    // A row picks the point the other views show.
    await page.click('#sweep .sweep-table tbody tr[data-point="1"]');
    await page.waitForFunction(() => (document.querySelector('#point select') as HTMLSelectElement).value === '1');

    // Its results JSON loads back into a fresh page: the same numbers and form, without a run.
    const json = await downloadText(page, '#export-json');
    const dir = await mkdtemp(join(tmpdir(), 'dwdp-load-'));
    await writeFile(join(dir, 'results.json'), json);
    await writeFile(join(dir, 'other.json'), JSON.stringify({ format: 'something else' }));
    const fresh = await openPage(ctx.browser, ctx.server.url);
    const upload = (await fresh.page.$('input#load-json')) as ElementHandle<HTMLInputElement>;
    await upload.uploadFile(join(dir, 'other.json'));
    await fresh.page.waitForFunction(() =>
      /^could not load/.test(document.querySelector('#progress-msg')!.textContent ?? ''),
    );
    expect(await fresh.page.$eval('#progress-msg', (e) => e.textContent)).toBe(
      'could not load: other.json is not a webgpu-dwdp results JSON (its "format" is "something else")',
    );
    await upload.uploadFile(join(dir, 'results.json'));
    await fresh.page.waitForFunction(() => /^loaded /.test(document.querySelector('#progress-msg')!.textContent ?? ''));
    const loaded = (await fresh.page.evaluate(() => window.dwdp.last())) as Comparison;
    expect(loaded.startedAt).toBe(c.startedAt);
    expect(loaded.points.map((p) => p.results.map((r) => r.tpsPerGpu))).toEqual(
      c.points.map((p) => p.results.map((r) => r.tpsPerGpu)),
    );
    expect(await fresh.page.$eval('#f-sweep', (e) => (e as HTMLSelectElement).value)).toBe('fix');
    expect(await fresh.page.$eval('#stale', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(
      await fresh.page.$$eval('#sweep .sweep-table tbody tr td:nth-child(2)', (t) => t.map((x) => x.textContent)),
    ).toEqual(table.map((r) => r[1]));
    await rm(dir, { recursive: true, force: true });
    expect(fresh.log.errors).toEqual([]);
    await fresh.page.close();
    expect(log.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('the scenario library: a bench scenario sets the form, and the form saves as a scenario', async () => {
    const { page, log } = await openPage(ctx.browser, ctx.server.url);
    const names = await page.$$eval('#scenario option', (o) => o.map((x) => (x as HTMLOptionElement).value));
    expect(names).toEqual(expect.arrayContaining(['default', 'tiny', 'imbalance', 'r1-isl-modeled']));
    await page.select('#scenario', 'r1-isl-modeled');
    expect(await page.$eval('#scenario-about', (e) => e.textContent)).toBe(r1.description);
    const want = scenarioForm(r1);
    for (const k of ['source', 'model', 'sweep', 'sweepValues', 'tokens'] as const)
      expect(await page.$eval(`#f-${k}`, (e) => (e as HTMLInputElement).value), k).toBe(want[k]);
    expect(await page.$eval('#run-hint', (e) => e.textContent)).toMatch(/^12 modeled run\(s\) of deepseek-r1/);
    expect(new URL(page.url()).searchParams.get('src')).toBe('modeled');
    const saved = JSON.parse(await downloadText(page, '#save-scenario')) as {
      name: string;
      fields: Record<string, string>;
    };
    expect(saved.name).toBe('r1-isl-modeled');
    expect(scenarioForm(saved)).toEqual(want);
    expect(log.errors).toEqual([]);
    await page.close();
  }, 60_000);
});
