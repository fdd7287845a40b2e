// The page's link and validation in headless Chromium: `?run=1` starts a run on load (the
// panel rewrites the URL, so it must be read first), query keys that set nothing are listed,
// one bad field counts once, and switching the swept field replaces the old values.
import { describe, expect, it } from 'vitest';
import { openPage, servePage } from '../bench/browser.ts';
import { findBrowserOrSkip, useServedBrowser } from './e2e-browser.ts';

const found = await findBrowserOrSkip('e2e-url');

describe.skipIf(!found)('page link and validation in headless Chromium', () => {
  const ctx = useServedBrowser(servePage);

  it('?run=1 starts a run on load and the ignored keys are listed', async () => {
    // A small modeled run (no GPU work), with two keys that set nothing.
    const q = 'src=modeled&model=tiny-mixtral&t=256&s=dep,dwdp&run=1&bogus=7&t=9';
    const { page, log } = await openPage(ctx.browser, `${ctx.server.url}?${q}`);
    await page.waitForFunction(() => window.dwdp.last() !== null, { timeout: 120_000 });
    const c = await page.evaluate(() => window.dwdp.last()!.points[0].results.map((r) => r.strategy));
    expect(c).toEqual(['dep', 'dwdp']);
    expect(await page.$eval('.url-ignored', (e) => e.textContent)).toBe(
      'Ignored in the link: bogus=7, t=9 (not a field of this page, or repeated).',
    );
    // The URL now carries the form only.
    expect(new URL(page.url()).searchParams.get('run')).toBeNull();
    expect(log.errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('counts one bad field once and replaces sweep values when the swept field changes', async () => {
    const { page } = await openPage(ctx.browser, `${ctx.server.url}?src=modeled&sw=cv&swv=0,0.2`);
    expect(await page.$('.url-ignored')).toBeNull();
    const tokens = (await page.$('#f-tokens'))!;
    await tokens.click({ clickCount: 3 });
    await tokens.type('12x');
    expect(await page.$eval('#run-hint', (e) => e.textContent)).toBe('Fix 1 field(s) to run.');
    expect(await page.$eval('#f-sweepValues-msg', (e) => e.textContent)).toBe('');
    await tokens.click({ clickCount: 3 });
    await tokens.type('1024');
    await page.select('#f-sweep', 'ranks');
    expect(await page.$eval('#f-sweepValues', (e) => (e as HTMLInputElement).value)).toBe('2,4,8');
    expect(new URL(page.url()).searchParams.get('swv')).toBe('2,4,8');
    await page.close();
  }, 120_000);
});
