// The end-to-end tests' shared setup: find Chromium (a file with none skips, saying why), and
// inside a describe block serve the page and launch one browser before its tests, closing both
// after them; and the page probes more than one test file uses (what a download button made).
import { afterAll, beforeAll } from 'vitest';
import type { Browser, Page } from 'puppeteer';
import { findBrowser, launchBrowser, type FoundBrowser, type PageServer } from '../bench/browser.ts';

/** The browser to run in, or null after a warning that the file `name` is skipped and how to install one. */
export async function findBrowserOrSkip(name: string): Promise<FoundBrowser | null> {
  const found = await findBrowser().catch(() => null);
  if (!found)
    console.warn(`${name}: skipped: no Chromium/Chrome found (apt-get install -y chromium, or set CHROME_PATH)`);
  return found;
}

export interface ServedBrowser<S extends PageServer> {
  server: S;
  browser: Browser;
}

/**
 * Registers the hooks: `serve()` and one browser before all the block's tests (within
 * `setupMs`); the returned fields are set from then on.
 */
export function useServedBrowser<S extends PageServer>(serve: () => Promise<S>, setupMs = 90_000): ServedBrowser<S> {
  const ctx = {} as ServedBrowser<S>;
  beforeAll(async () => {
    ctx.server = await serve();
    ctx.browser = (await launchBrowser()).browser;
  }, setupMs);
  afterAll(async () => {
    await ctx.browser?.close();
    await ctx.server?.close();
  });
  return ctx;
}

/**
 * From now on the page keeps every Blob it hands to URL.createObjectURL (its downloads: results
 * JSON, PNG, scenario) in `window.__blobs`, in order, still creating the URL as before.
 */
export async function captureDownloads(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __blobs: Blob[] };
    w.__blobs = [];
    const orig = URL.createObjectURL.bind(URL);
    URL.createObjectURL = (b: Blob | MediaSource) => (w.__blobs.push(b as Blob), orig(b));
  });
}

/** Clicks the download button `selector` with the downloads captured; the text of the Blob it made. */
export async function downloadText(page: Page, selector: string): Promise<string> {
  await captureDownloads(page);
  await page.click(selector);
  return page.evaluate(() => (window as unknown as { __blobs: Blob[] }).__blobs[0].text());
}

/**
 * The page's horizontal overflow (px past the viewport; ≤ 0: none) and up to 8 elements past
 * its right edge, to say which (an element inside a scroll container scrolls there, not the
 * page, and does not count).
 */
export async function horizontalOverflow(page: Page): Promise<{ px: number; past: string[] }> {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const past = [...document.querySelectorAll('body *')]
      .filter((e) => {
        if (e.getBoundingClientRect().right <= w + 0.5 || e.closest('[hidden]')) return false;
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
          if (getComputedStyle(a).overflowX !== 'visible') return false;
        return true;
      })
      .map(
        (e) =>
          `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')} → ${Math.round(e.getBoundingClientRect().right)}`,
      );
    return { px: document.documentElement.scrollWidth - w, past: past.slice(0, 8) };
  });
}

/**
 * Waits (up to `timeout` ms, looking every `polling` ms) until the status line `status` says
 * the run ended (done, failed or cancelled); what it says then.
 */
export async function runEnded(
  page: Page,
  { timeout, polling }: { timeout: number; polling: number },
  status = '#progress-msg',
): Promise<string> {
  await page.waitForFunction(
    (sel) => /^(done|failed|cancelled)/.test(document.querySelector(sel)!.textContent ?? ''),
    { timeout, polling },
    status,
  );
  return (await page.$eval(status, (e) => e.textContent)) ?? '';
}
