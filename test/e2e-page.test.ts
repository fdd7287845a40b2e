// End to end in headless Chromium: the page loads with no console errors; the panel validates
// as you type and keeps the URL in step; a run keeps the page responsive and cancels; without
// WebGPU the page says how to get it and the modeled views still run; and a tiny measured
// comparison run from the Run button shows its numbers (consistent with the run's own
// timeline) and draws the timeline. The shader lab view: validates as you type, shows the
// pipelines' WGSL, puts a compile error typed into the editor at its line, runs an edit that
// scales the output (the edited kernel fails its check while the original passes), resets to
// the original; without WebGPU it says so. Skips, saying why, only when no Chromium is installed.
import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer';
import { openPage, servePage, type ConsoleLog } from '../bench/browser.ts';
import { findBrowserOrSkip, runEnded, useServedBrowser } from './e2e-browser.ts';
import { formToQuery } from '../src/ui/url.ts';
import { scenarioForm } from '../src/ui/scenario.ts';
import type { Comparison } from '../src/ui/compare.ts';
import tiny from '../bench/scenarios/tiny.json';
import { testSeed } from './seed.ts';

const found = await findBrowserOrSkip('e2e-page');

// A fresh seed per run, so the tiny run is not always the same numbers.
const seed = testSeed();

describe.skipIf(!found)('benchmark page in headless Chromium', () => {
  let page: Page;
  let log: ConsoleLog;

  const ctx = useServedBrowser(servePage);

  it('loads, validates fields as you type and keeps the URL in step', async () => {
    ({ page, log } = await openPage(ctx.browser, ctx.server.url));
    const webgpu = await page.evaluate(() => window.dwdp.webgpu);
    expect(webgpu.available, `WebGPU in ${found!.path}: ${webgpu.reason ?? ''}`).toBe(true);
    expect(await page.$eval('#adapter', (e) => e.textContent)).toMatch(/^WebGPU: /);

    // A bad value: the message appears beside the field and Run is disabled.
    const tokens = (await page.$('#f-tokens'))!;
    await tokens.click({ clickCount: 3 });
    await tokens.type('12x');
    expect(await page.$eval('#f-tokens-msg', (e) => e.textContent)).toBe(
      "Tokens per rank must be a number (got '12x')",
    );
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    // Fixed: the message goes, Run comes back, and the URL carries the value.
    await tokens.click({ clickCount: 3 });
    await tokens.type('48');
    expect(await page.$eval('#f-tokens-msg', (e) => e.textContent)).toBe('');
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    expect(new URL(page.url()).searchParams.get('t')).toBe('48');
    // A placement error names a valid nearby choice (tiny-mixtral: E=8 on 4 ranks, L=7 leaves P=1/3).
    const local = (await page.$('#f-local'))!;
    await local.type('7');
    expect(await page.$eval('#f-local-msg', (e) => e.textContent)).toMatch(
      /^L \(experts held\) makes no DWDP placement for E=8, N=4: .*; try L \(experts held\) = \d+, P \(pulled per peer\) = \d+$/,
    );
    await local.click({ clickCount: 3 });
    await page.keyboard.press('Backspace');
    expect(await page.$eval('#f-local-msg', (e) => e.textContent)).toBe('');
    expect(log.errors).toEqual([]);
  }, 90_000);

  it('stays responsive while a run is in flight, and cancels it', async () => {
    // The page from the previous test, at its defaults but for the tokens: back to the default
    // 1024 per rank, a run of many seconds here, so it is surely still in flight when cancelled.
    const tokens = (await page.$('#f-tokens'))!;
    await tokens.click({ clickCount: 3 });
    await tokens.type('1024');
    await page.click('#run');
    await page.waitForFunction(() => /running|layer/.test(document.querySelector('#progress-msg')!.textContent ?? ''), {
      timeout: 60_000,
      polling: 100,
    });
    expect(await page.$eval('#cancel', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    // The kernels run in a worker, so the main thread answers during the run: a round trip
    // and a frame come back while the run is still in flight. (Were the run on the main
    // thread, both would wait for it to end. How long they take depends on the machine's
    // load, so that is not bounded here.)
    expect(page.workers().length, 'a dedicated worker for the runs').toBeGreaterThan(0);
    const inFlight = await page.evaluate(
      () =>
        new Promise<boolean>((resolve) =>
          requestAnimationFrame(() => resolve(!document.querySelector<HTMLButtonElement>('#cancel')!.disabled)),
        ),
    );
    expect(inFlight, 'a frame drawn while the run is still in flight').toBe(true);
    await page.click('#cancel');
    await page.waitForFunction(() => document.querySelector('#progress-msg')!.textContent === 'cancelled', {
      timeout: 20_000,
      polling: 100,
    });
    expect(await page.$eval('#run', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    expect(await page.evaluate(() => window.dwdp.last())).toBeNull();
    expect(log.errors).toEqual([]);
  }, 90_000);

  it('without WebGPU says how to get it and still runs the modeled views', async () => {
    const p = await ctx.browser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push((e as Error).message));
    // A browser without WebGPU: no navigator.gpu on the page.
    await p.evaluateOnNewDocument(() =>
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }),
    );
    const form = scenarioForm({
      fields: { model: 'tiny-deepseek', strategies: 'dep,dwdp', tokens: 256, requests: 2, cv: 0.2, seed },
    });
    const query = formToQuery(form);
    expect(query, 'the link does not ask for measured numbers explicitly').not.toMatch(/(^|&)src=/);
    await p.goto(`${ctx.server.url}?${query}`, { waitUntil: 'load' });
    await p.waitForFunction(() => typeof window.dwdp === 'object');
    await p.evaluate(() => window.dwdp.ready);
    expect(await p.evaluate(() => window.dwdp.webgpu.available)).toBe(false);
    const banner = await p.$eval('#gpu-banner', (e) => ((e as HTMLElement).hidden ? '' : e.textContent));
    expect(banner).toMatch(/No WebGPU here/);
    expect(banner).toMatch(/--enable-unsafe-webgpu/);
    expect(await p.$eval('#f-source', (e) => (e as HTMLSelectElement).value)).toBe('modeled');
    await p.click('#run');
    expect(await runEnded(p, { timeout: 60_000, polling: 100 })).toMatch(/^done in /);
    const c = (await p.evaluate(() => window.dwdp.last())) as Comparison;
    expect(c.source).toBe('modeled');
    for (const r of c.points[0].results) expect(r.provenance.kind).toBe('modeled');
    expect(await p.$$eval('.badge.modeled', (b) => b.length)).toBeGreaterThan(2);
    expect(await p.$$eval('#gantt .uplot', (x) => x.length)).toBe(2);
    // tiny-deepseek has a shared expert: its GEMMs are spans of their own, named in the legend.
    for (const r of c.points[0].results)
      expect(
        r.intervals.some((iv) => iv.category === 'dense'),
        `${r.strategy} shared-expert spans`,
      ).toBe(true);
    expect(await p.$eval('#gantt .legend', (e) => e.textContent)).toContain(
      'dense GEMM (shared expert, dense MLP, router logits)',
    );
    // The shader lab needs WebGPU for everything it does, and says so.
    await p.click('#tab-lab');
    await p.waitForSelector('#lab-no-webgpu:not([hidden])', { timeout: 20_000 });
    expect(await p.$eval('#lab-no-webgpu', (e) => e.textContent)).toMatch(
      /The shader lab needs WebGPU: .*--enable-unsafe-webgpu/,
    );
    expect(await p.$eval('#lab-run', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    expect(errors).toEqual([]);
    await p.close();
  }, 90_000);

  it('runs a tiny comparison from the Run button and shows its numbers and timeline', async () => {
    const form = scenarioForm({ fields: { ...tiny.fields, seed } });
    ({ page, log } = await openPage(ctx.browser, `${ctx.server.url}?${formToQuery(form)}`));
    // The panel shows the shared link's values.
    expect(await page.$eval('#f-ranks', (e) => (e as HTMLInputElement).value)).toBe('2');
    await page.click('#run');
    const status = await runEnded(page, { timeout: 90_000, polling: 250 });
    expect(status, status).toMatch(/^done in /);

    const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
    expect(c.strategies).toEqual(['dep', 'dwdp']);
    const [dep, dwdp] = c.points[0].results;
    for (const r of [dep, dwdp]) {
      // The headline rate is the run's own tokens over its own makespan.
      const tokens = r.ranks.reduce((a, k) => a + k.tokens, 0);
      expect(r.tpsPerGpu).toBeCloseTo(tokens / (r.makespanMs / 1000) / r.ranks.length, 6);
      expect(r.makespanMs).toBeCloseTo(Math.max(...r.ranks.map((k) => k.endMs)), 6);
      expect(r.intervals.some((iv) => iv.lane === 'compute')).toBe(true);
      expect(r.provenance.kind).toBe('measured');
    }
    expect(
      dwdp.intervals.some((iv) => iv.lane === 'copy'),
      'DWDP pulls show on the copy engines',
    ).toBe(true);

    // The cards show those numbers, with their ratio to DEP.
    const shown = await page.$$eval('.card [data-metric="tps-gpu"]', (els) =>
      els.map((e) => Number(e.textContent!.replace(/,/g, ''))),
    );
    expect(shown.length).toBe(2);
    expect(shown[0]).toBeCloseTo(dep.tpsPerGpu, 0);
    expect(shown[1]).toBeCloseTo(dwdp.tpsPerGpu, 0);
    const chip = await page.$eval('.card-dwdp .ratio', (e) => e.textContent);
    expect(chip).toBe(`${(dwdp.tpsPerGpu / dep.tpsPerGpu).toFixed(3)}× DEP`);
    expect(await page.$eval('.provenance', (e) => e.textContent)).toMatch(/measured here/);

    // One timeline per strategy, with spans drawn: count non-background pixels in the plot area.
    const inked = await page.$$eval('#gantt .uplot canvas', (canvases) =>
      canvases.map((cv) => {
        const c2 = cv as HTMLCanvasElement;
        const px = c2.getContext('2d')!.getImageData(0, 0, c2.width, c2.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4)
          if (px[i + 3] > 0 && (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200)) n++;
        return n / (c2.width * c2.height);
      }),
    );
    expect(inked.length).toBe(2);
    for (const f of inked) expect(f, 'fraction of the Gantt canvas drawn').toBeGreaterThan(0.05);
    expect(await page.$$eval('#gantt h3', (hs) => hs.map((x) => x.textContent!.split(':')[0]))).toEqual([
      'DEP',
      'DWDP',
    ]);
    expect(await page.$eval('#export-json', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    expect(log.errors).toEqual([]);
  }, 120_000);

  it('shader lab: edit a pipeline, see a compile error at its line, then a wrong edit fail its check', async () => {
    const shape = {
      tokens: 9 + (seed % 8),
      hidden: 24 + 4 * (seed % 3),
      'expert-hidden': 12 + 4 * (seed % 2),
      experts: 4,
      topk: 2,
    };
    const query = new URLSearchParams({
      view: 'lab',
      kernel: 'expert-gemm',
      ...Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, String(v)])),
      runs: '1',
      seed: String(seed),
    });
    ({ page, log } = await openPage(ctx.browser, `${ctx.server.url}?${query}`));
    expect(await page.evaluate(() => window.dwdp.view())).toBe('lab');
    expect(await page.$eval('#lab-tokens', (e) => (e as HTMLInputElement).value)).toBe(String(shape.tokens));
    // Validated as you type; the URL keeps the last valid state.
    const topk = (await page.$('#lab-topK'))!;
    await topk.click({ clickCount: 3 });
    await topk.type('9');
    expect(await page.$eval('#lab-topK-msg', (e) => e.textContent)).toBe(
      'Top-k K must be at most the number of experts (E = 4, got 9)',
    );
    expect(await page.$eval('#lab-run', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    // Let the pending pipeline load fire while the form is invalid: undoing the typo must still load.
    await new Promise((r) => setTimeout(r, 500));
    await topk.click({ clickCount: 3 });
    await topk.type('2');
    expect(await page.$eval('#lab-topK-msg', (e) => e.textContent)).toBe('');
    expect(new URL(page.url()).searchParams.get('topk')).toBe('2');

    // The grouped GEMM's two pipelines, with the exact WGSL they were built from.
    const keys = await page.evaluate(async () => (await window.dwdp.openLab()).loaded());
    expect(keys.map((k) => k.split(' ').slice(0, 2).join(' '))).toEqual(['expert_gemm gate_up', 'expert_gemm down']);
    const down = keys[1];
    await page.click(`.lab-tab[data-key="${down}"]`);
    const original = await page.evaluate(async (k) => (await window.dwdp.openLab()).original(k), down);
    expect(original).toMatch(/output_rows\[/);
    expect(await page.$eval('.cm-content', (e) => e.textContent!.length)).toBeGreaterThan(100);

    // Type a line that does not compile before the first top-level function.
    const at = original.split('\n').findIndex((l) => l.startsWith('fn '));
    await page.click('.cm-content');
    await page.keyboard.down('Control');
    await page.keyboard.press('Home');
    await page.keyboard.up('Control');
    for (let i = 0; i < at; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Home');
    await page.keyboard.type('const lab_broken: u32 = no_such_value;');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    expect(await page.$eval(`.lab-tab[data-key="${down}"]`, (e) => e.classList.contains('edited'))).toBe(true);
    await page.click('#lab-run');
    await runEnded(page, { timeout: 60_000, polling: 200 }, '#lab-status');
    const broken = await page.evaluate(async () => (await window.dwdp.openLab()).last());
    expect(broken!.original.ok && broken!.original.result.checkOk).toBe(true);
    expect(broken!.edited?.ok).toBe(false);
    // The message list and the editor both put it on the typed line (1-based: at + 1).
    const listed = await page.$$eval('#lab-errors li', (lis) =>
      lis.map((li) => ({ line: Number((li as HTMLElement).dataset.line), text: li.textContent ?? '' })),
    );
    expect(listed.length).toBeGreaterThan(0);
    expect(listed[0].line).toBe(at + 1);
    expect(listed[0].text).toMatch(/no_such_value/);
    expect(await page.$eval('.cm-lintRange-error', (e) => e.textContent)).toBe('no_such_value');
    const markedLine = await page.$eval('.cm-lintRange-error', (e) => {
      const line = e.closest('.cm-line')!;
      return [...line.parentElement!.children].indexOf(line) + 1;
    });
    expect(markedLine).toBe(at + 1);
    expect(await page.$$eval('.cm-lint-marker-error', (m) => m.length)).toBeGreaterThan(0);
    expect(await page.$eval('#lab-results td[data-side="original"].pass', (e) => e.textContent)).toMatch(/^pass/);
    expect(await page.$eval('#lab-results tr[data-row="check"] td[data-side="edited"]', (e) => e.textContent)).toMatch(
      /^WGSL compile error: line \d+:\d+: .*no_such_value/,
    );

    // Fixed, but with every output doubled: it compiles, and its check fails while the original passes.
    const scaled = original.replace(/(output_rows\[[^\]]*\]\s*=\s*)([^;]+);/g, '$1($2) * 2.0;');
    await page.evaluate(async (k, code) => (await window.dwdp.openLab()).setText(k, code), down, scaled);
    await page.click('#lab-run');
    await runEnded(page, { timeout: 60_000, polling: 200 }, '#lab-status');
    const wrong = await page.evaluate(async () => (await window.dwdp.openLab()).last());
    expect(wrong!.seed).toBe(seed);
    expect(wrong!.original.ok && wrong!.original.result.checkOk).toBe(true);
    expect(wrong!.edited?.ok).toBe(true);
    if (wrong!.edited?.ok) {
      expect(wrong!.edited.result.checkOk).toBe(false);
      expect(wrong!.edited.result.relErr).toBeCloseTo(1, 3);
    }
    expect(await page.$$eval('#lab-errors li', (lis) => lis.length)).toBe(0);
    expect(
      await page.$eval('#lab-results tr[data-row="check"] td[data-side="original"]', (e) => e.textContent),
    ).toMatch(/^pass: /);
    expect(await page.$eval('#lab-results tr[data-row="check"] td[data-side="edited"]', (e) => e.textContent)).toMatch(
      /^FAIL: .*relative error 1\.00e\+0/,
    );
    expect(await page.$eval('#lab-results tr[data-row="rate"] td[data-side="edited"]', (e) => e.textContent)).toMatch(
      / GFLOP\/s$/,
    );
    expect(await page.$eval('#lab-results .provenance', (e) => e.textContent)).toMatch(
      /^measured here on .+ via browser/,
    );

    // Reset to the original.
    await page.click('#lab-reset');
    expect(await page.evaluate(async (k) => (await window.dwdp.openLab()).text(k), down)).toBe(original);
    expect(await page.$eval(`.lab-tab[data-key="${down}"]`, (e) => e.classList.contains('edited'))).toBe(false);
    expect(log.errors).toEqual([]);
  }, 120_000);
});
