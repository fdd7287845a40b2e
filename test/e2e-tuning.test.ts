// End to end in headless Chromium: tuning that reaches the page. A tiny measured run first uses
// the adapter's default router and grouped GEMM variants and says so; a sweep from the shader lab tab on
// the run's GEMM shape class (its weight format, tiny-qwen3's H and F) is stored in the page's localStorage
// under this adapter; the same run afterwards uses the sweep's winner and says it was tuned
// here, on which adapter, when. Skips, saying why, only when no Chromium is installed.
import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer';
import { openPage, servePage, type ConsoleLog } from '../bench/browser.ts';
import { findBrowserOrSkip, runEnded, useServedBrowser } from './e2e-browser.ts';
import { formToQuery } from '../src/ui/url.ts';
import { scenarioForm } from '../src/ui/scenario.ts';
import type { Comparison } from '../src/ui/compare.ts';
import { loadPreset } from '../src/model/presets.ts';
import tiny from '../bench/scenarios/tiny.json';
import { testSeed } from './seed.ts';

const found = await findBrowserOrSkip('e2e-tuning');
const seed = testSeed();
const STORE_KEY = 'webgpu-dwdp/tuning';

/** Runs the tiny scenario from the Run button; its comparison and the page's GEMM-variant line. */
async function tinyRun(page: Page): Promise<{ c: Comparison; line: string }> {
  await page.click('#run');
  const status = await runEnded(page, { timeout: 120_000, polling: 250 });
  expect(status, status).toMatch(/^done in /);
  const c = (await page.evaluate(() => window.dwdp.last())) as Comparison;
  return { c, line: await page.$eval('.provenance .kernel-variants', (e) => e.textContent!.trim()) };
}

describe.skipIf(!found)('tuning from the lab tab reaches later benchmark runs (headless Chromium)', () => {
  const ctx = useServedBrowser(servePage);

  it('a run uses the default, a lab sweep is stored for this adapter, the next run uses and names its winner', async () => {
    const runUrl = `${ctx.server.url}?${formToQuery(scenarioForm({ fields: { ...tiny.fields, seed } }))}`;
    let page: Page;
    let log: ConsoleLog;
    ({ page, log } = await openPage(ctx.browser, runUrl));
    await page.evaluate((k) => localStorage.removeItem(k), STORE_KEY);

    // 1. Nothing stored: the default, said so.
    const before = await tinyRun(page);
    for (const r of before.c.points[0].results) {
      expect(r.kernelVariants?.map((k) => k.kernel).sort(), `${r.strategy} reports its kernels' variants`).toEqual([
        'grouped GEMM',
        'router',
      ]);
      for (const k of r.kernelVariants!) expect(k.origin.source).toBe('default');
    }
    expect(before.line).toMatch(
      /^Kernel variants: router \S+ \(default for this adapter\), grouped GEMM \S+ \(default for this adapter\)\.$/,
    );
    const router = before.c.points[0].results[0].kernelVariants!.find((k) => k.kernel === 'router')!.variant;

    // 2. A sweep from the lab tab on the run's GEMM class (its weight format, H and F of tiny-qwen3).
    const format = await page.$eval('#f-format', (e) => (e as HTMLSelectElement).value);
    const model = loadPreset(tiny.fields.model);
    const query = new URLSearchParams({
      view: 'lab',
      kernel: 'expert-gemm',
      tokens: '16',
      hidden: String(model.hidden),
      'expert-hidden': String(model.expertHidden),
      experts: '8',
      topk: '2',
      weights: format,
      runs: '1',
      seed: String(seed),
    });
    await page.close();
    ({ page, log } = await openPage(ctx.browser, `${ctx.server.url}?${query}`, log));
    await page.waitForSelector('#lab-sweep:not([disabled])', { timeout: 60_000 });
    await page.click('#lab-sweep');
    await page.waitForFunction(
      () => /^(sweep[: ]|cancelled)/.test(document.querySelector('#lab-status')!.textContent ?? ''),
      { timeout: 240_000, polling: 250 },
    );
    const status = (await page.$eval('#lab-status', (e) => e.textContent)) ?? '';
    const m = /^sweep: (\S+) fastest of \d+ \(.* ms, measured here\), stored for this GPU: later runs use it$/.exec(
      status,
    );
    expect(m, status).not.toBeNull();
    const best = m![1];
    // Stored on the main thread, under this adapter's key, with the adapter's label and the date.
    const stored = JSON.parse((await page.evaluate((k) => localStorage.getItem(k), STORE_KEY)) ?? 'null') as {
      adapters: Record<
        string,
        { adapter: string; label: string; entries: Record<string, { variant: string; measuredAt: string }> }
      >;
    };
    const sections = Object.values(stored.adapters);
    expect(sections).toHaveLength(1);
    const entries = Object.values(sections[0].entries);
    expect(entries.map((e) => e.variant)).toEqual([best]);

    // 3. The same run again: the sweep's winner, named with where and when it was tuned.
    await page.close();
    ({ page, log } = await openPage(ctx.browser, runUrl, log));
    const after = await tinyRun(page);
    for (const r of after.c.points[0].results) {
      for (const g of r.kernelVariants!.filter((k) => k.kernel === 'grouped GEMM')) {
        expect(g.variant).toBe(best);
        expect(g.origin).toMatchObject({
          source: 'tuned',
          adapter: sections[0].label,
          measuredAt: entries[0].measuredAt,
        });
      }
    }
    const at = new Date(entries[0].measuredAt).toISOString().slice(0, 16).replace('T', ' ');
    expect(after.line).toBe(
      `Kernel variants: router ${router} (default for this adapter), ` +
        `grouped GEMM ${best} (tuned here on ${sections[0].label} at ${at} UTC).`,
    );
    expect(log.errors).toEqual([]);
    await page.close();
  }, 480_000);
});
