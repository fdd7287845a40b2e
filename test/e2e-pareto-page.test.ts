// The page's "End to end" view in headless Chromium with WebGPU taken away (navigator.gpu
// undefined: the view is modeled only and must not need it): the built-in r1-e2e-pareto and a
// random end-to-end scenario file (seeded) are run from the view's own controls, and what it
// shows is checked against the same model run here in Node — the per-band table cell by cell,
// every chosen marker's position and band, the frontiers' point counts, the chart's text
// alternative, the context/generation split — and its two downloads: the results JSON equals
// what `npm run sim -- --scenario … --json` prints, and the TensorRT-LLM bundle holds exactly the
// files `--export-trtllm DIR` writes (its own unpack command recreates them; the DWDP context
// YAML obeys the reference implementation's rules). Skips, saying why, only without Chromium.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer';
import { parse } from 'yaml';
import { servePage } from '../bench/browser.ts';
import { findBrowserOrSkip, useServedBrowser } from './e2e-browser.ts';
import {
  E2E_SCENARIOS,
  e2eValidation,
  parseE2eScenario,
  publishedSettingDifferences,
  runE2e,
  type E2eResult,
} from '../src/sim/e2e/scenario.ts';
import { deepseekR1 } from '../src/sim/experiment.ts';
import { TRTLLM_BUNDLE_FORMAT, TRTLLM_UNPACK, buildTrtllmExport, type TrtllmBundle } from '../src/sim/export-trtllm.ts';
import { E2E_CHART_BOX, e2eBandRows, e2eChart, e2eChartSummary } from '../src/ui/views/e2e-view.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const found = await findBrowserOrSkip('e2e-pareto-page');
const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;

/** A random end-to-end scenario file of a modest search (a few hundred deployments). */
function randomScenario(): Record<string, unknown> {
  const subset = (xs: number[]) => {
    const out = xs.filter(() => rng.next() < 0.5);
    return out.length ? out : [xs[rng.int(xs.length)]];
  };
  const bands = Array.from({ length: 1 + rng.int(4) }, () => {
    const lo = 10 + rng.int(190);
    return [lo, lo + 5 + rng.int(30)];
  });
  return {
    name: `random-e2e-${seed}`,
    mode: 'e2e',
    e2e: {
      isl: 1024 * (2 + rng.int(14)),
      osl: 256 * (1 + rng.int(8)),
      inputRatio: Math.round(rng.uniform(0.5, 1) * 100) / 100,
      genEp: subset([8, 16, 32]),
      genBatch: subset([4, 16, 64, 256]),
      mtp: subset([0, 1, 3]),
      eplb: [rng.next() < 0.5],
      bands,
    },
  };
}

/** Captures the page's downloads (the anchor `download` clicks) instead of saving them. */
async function captureDownloads(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { __downloads: { name: string; href: string }[] };
    w.__downloads = [];
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
      if (this.download) w.__downloads.push({ name: this.download, href: this.href });
      else click.call(this);
    };
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
}

/** Clicks a download button and returns the file's name and text. */
async function downloadOf(page: Page, button: string): Promise<{ name: string; text: string }> {
  const before = await page.evaluate(() => (window as unknown as { __downloads: unknown[] }).__downloads.length);
  await page.click(button);
  await page.waitForFunction(
    (n) => (window as unknown as { __downloads: unknown[] }).__downloads.length > n,
    { timeout: 10_000 },
    before,
  );
  return page.evaluate(async () => {
    const all = (window as unknown as { __downloads: { name: string; href: string }[] }).__downloads;
    const d = all[all.length - 1];
    return { name: d.name, text: await (await fetch(d.href)).text() };
  });
}

async function runFromButton(page: Page): Promise<void> {
  await page.click('#e2e-run');
  await page.waitForFunction(() => /^(done|failed)/.test(document.querySelector('#e2e-status')!.textContent ?? ''), {
    timeout: 120_000,
    polling: 200,
  });
  const status = await page.$eval('#e2e-status', (e) => e.textContent);
  expect(status, tag('the run')).toMatch(
    /^done: \d+ deployments searched in [\d.]+ s \(measured here\); .* modeled on /,
  );
}

/** The view against the model's own result: table, chart, split and text alternative. */
async function checkView(page: Page, expected: E2eResult): Promise<void> {
  const rows = await page.$$eval('table.e2e-bands tbody tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
  );
  expect(rows, tag('per-band table')).toEqual(e2eBandRows(expected));

  const width = Number(await page.$eval('svg.e2e-pareto', (e) => e.getAttribute('width')));
  const chart = e2eChart(expected, { width, ...E2E_CHART_BOX });
  const chosen = await page.$$eval('svg.e2e-pareto circle.e2e-chosen', (cs) =>
    cs.map((c) => ({
      strategy: c.getAttribute('data-strategy'),
      band: c.getAttribute('data-band'),
      cx: Number(c.getAttribute('cx')),
      cy: Number(c.getAttribute('cy')),
      title: c.querySelector('title')?.textContent ?? '',
    })),
  );
  expect(chosen.length, tag('one marker per band and strategy with a point')).toBe(chart.chosen.length);
  for (const [i, c] of chosen.entries()) {
    const e = chart.chosen[i];
    expect([c.strategy, c.band], tag(`marker ${i}`)).toEqual([e.strategy, e.band]);
    expect(Math.abs(c.cx - e.px), tag(`marker ${i} x`)).toBeLessThan(1e-6);
    expect(Math.abs(c.cy - e.py), tag(`marker ${i} y`)).toBeLessThan(1e-6);
    // The hover names the deployment: its band and its configuration.
    const b = expected.bands.find((x) => `${x.tpsPerUser[0]}–${x.tpsPerUser[1]}` === e.band)!;
    const p = b[e.strategy]!;
    expect(c.title).toContain(`band ${e.band}, chosen`);
    expect(c.title).toContain(`generation EP${p.config.gen.ep} batch ${p.config.gen.batch} MTP ${p.config.gen.mtp}`);
    // …and the marker lies inside its band's shading.
    const shade = chart.bands.find((x) => x.label === e.band)!;
    expect(c.cx).toBeGreaterThanOrEqual(shade.x0 - 1e-9);
    expect(c.cx).toBeLessThanOrEqual(shade.x1 + 1e-9);
  }
  for (const st of ['dep', 'dwdp'] as const) {
    const n = await page.$$eval(`svg.e2e-pareto circle.e2e-frontier-point[data-strategy=${st}]`, (x) => x.length);
    expect(n, tag(`${st} frontier points`)).toBe(expected.frontier[st].length);
    const listed = await page.$$eval(`details.e2e-chart-table tr[data-strategy=${st}]`, (x) => x.length);
    expect(listed, tag(`${st} frontier rows of the text alternative`)).toBe(expected.frontier[st].length);
  }
  expect(await page.$eval('svg.e2e-pareto', (e) => e.getAttribute('aria-label'))).toBe(e2eChartSummary(expected));
  expect(await page.$$eval('rect', (r) => r.length)).toBeGreaterThanOrEqual(expected.bands.length);

  const split = await page.$$eval('.e2e-split > div', (ds) => ds.map((d) => d.textContent ?? ''));
  const want = expected.bands.flatMap((b) =>
    (['dep', 'dwdp'] as const).map((st) => {
      const p = b[st];
      const label = `${b.tpsPerUser[0]}–${b.tpsPerUser[1]} ${st.toUpperCase()}`;
      return p ? `${label}ctx ${p.ctxGpus}gen ${p.genGpus}` : `${label}: no point`;
    }),
  );
  expect(split, tag('context/generation split')).toEqual(want);
}

/** The two downloads against the CLI's outputs for the same result. */
async function checkDownloads(page: Page, expected: E2eResult): Promise<void> {
  const json = await downloadOf(page, '#e2e-export-json');
  expect(json.name).toBe(`${expected.scenario}-e2e.json`);
  const cli = JSON.stringify({ ...expected, validation: e2eValidation(expected) }, (_, v) =>
    v === Infinity ? null : v,
  );
  expect(JSON.parse(json.text), tag('results JSON = the --json output')).toEqual(JSON.parse(cli));

  const files = buildTrtllmExport(expected, deepseekR1());
  const dl = await downloadOf(page, '#e2e-export-trtllm');
  expect(dl.name).toBe(`${expected.scenario}-trtllm.json`);
  const bundle = JSON.parse(dl.text) as TrtllmBundle;
  expect(bundle.format).toBe(TRTLLM_BUNDLE_FORMAT);
  expect(bundle.modeled).toBe(true);
  expect(bundle.files, tag('the files --export-trtllm writes')).toEqual(files);
  // Every YAML parses; each DWDP context config obeys E = L + (N − 1)·P with its deployment's group count.
  for (const f of bundle.files.filter((x) => x.path.endsWith('.yaml')))
    expect(() => parse(f.text), f.path).not.toThrow();
  for (const b of expected.bands) {
    const p = b.dwdp;
    if (!p) continue;
    const ctx = parse(
      bundle.files.find((f) => f.path === `tps-${b.tpsPerUser[0]}-${b.tpsPerUser[1]}/dwdp/ctx_config.yaml`)!.text,
    );
    const d = ctx.dwdp_config;
    expect(d.num_experts_per_worker + (d.dwdp_size - 1) * d.num_prefetch_experts).toBe(256);
    expect([d.dwdp_size, d.num_groups, ctx.tensor_parallel_size]).toEqual([p.config.groupSize, p.config.ctxUnits, 1]);
  }
  // The bundle's own unpack command recreates the folder.
  const dir = await mkdtemp(join(tmpdir(), 'dwdp-trtllm-'));
  try {
    const bundlePath = join(dir, 'bundle.json');
    await writeFile(bundlePath, dl.text);
    const out = join(dir, 'out');
    const [, script] = TRTLLM_UNPACK.match(/^node -e "(.*)" BUNDLE\.json DIR$/)!;
    execFileSync(process.execPath, ['-e', script, bundlePath, out]);
    for (const f of files) expect(await readFile(join(out, f.path), 'utf8'), f.path).toBe(f.text);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!found)('end-to-end view in headless Chromium, without WebGPU', () => {
  const ctx = useServedBrowser(servePage);
  let page: Page;
  const errors: string[] = [];

  it('runs r1-e2e-pareto from its tab and shows the model’s chart, table, split and exports', async () => {
    page = await ctx.browser.newPage();
    await page.setViewport({ width: 1280, height: 1000, deviceScaleFactor: 1 });
    page.on('pageerror', (e) => errors.push((e as Error).message));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    await captureDownloads(page);
    await page.goto(ctx.server.url, { waitUntil: 'load', timeout: 120_000 });
    await page.waitForFunction(() => typeof window.dwdp === 'object', { timeout: 120_000 });
    await page.evaluate(() => window.dwdp.ready);
    expect(await page.evaluate(() => window.dwdp.webgpu.available)).toBe(false);

    await page.click('#tab-e2e');
    await page.waitForSelector('#e2e-run', { timeout: 60_000 });
    expect(await page.evaluate(() => window.dwdp.view())).toBe('e2e');
    expect(new URL(page.url()).searchParams.get('view')).toBe('e2e');
    expect(await page.$eval('#bench-view', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(await page.$eval('#e2e-scenario', (e) => (e as HTMLSelectElement).value)).toBe('r1-e2e-pareto');
    expect(await page.$eval('#e2e-export-trtllm', (b) => (b as HTMLButtonElement).disabled)).toBe(true);

    await runFromButton(page);
    const expected = runE2e(E2E_SCENARIOS['r1-e2e-pareto']);
    await checkView(page, expected);
    // The published setting: the validation rows are shown, one per row of e2eValidation.
    const vrows = await page.$$eval('table.e2e-validation tbody tr', (x) => x.length);
    expect(vrows).toBe(e2eValidation(expected).length);
    expect(await page.$$('p.e2e-not-compared')).toHaveLength(0);
    await checkDownloads(page, expected);
    expect(errors).toEqual([]);
  }, 300_000);

  it('loads a random end-to-end scenario file and shows the model’s numbers for it', async () => {
    const json = randomScenario();
    const dir = await mkdtemp(join(tmpdir(), 'dwdp-e2e-scenario-'));
    try {
      const path = join(dir, `${json.name as string}.json`);
      await writeFile(path, JSON.stringify(json));
      const input = (await page.$('input#e2e-load'))!;
      await input.uploadFile(path);
      await page.waitForFunction(() => /^loaded /.test(document.querySelector('#e2e-status')!.textContent ?? ''), {
        timeout: 10_000,
      });
      expect(await page.$eval('#e2e-scenario', (e) => (e as HTMLSelectElement).value)).toBe(json.name);
      await runFromButton(page);
      const expected = runE2e(parseE2eScenario(json));
      await checkView(page, expected);
      // Off the published setting: no validation rows, and a line naming what differs.
      const differs = publishedSettingDifferences(expected);
      expect(await page.$$eval('p.e2e-not-compared', (x) => x.map((e) => e.textContent))).toEqual(
        differs.length > 0
          ? [
              `Not compared with the published end-to-end results: this run is not at their setting (${differs.join(', ')}).`,
            ]
          : [],
      );
      if (expected.bands.some((b) => b.dep || b.dwdp)) await checkDownloads(page, expected);
      else expect(await page.$eval('#e2e-export-trtllm', (b) => (b as HTMLButtonElement).disabled)).toBe(true);

      // A bad file stops with one message naming the key.
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ mode: 'e2e', e2e: { genEp: [0] } }));
      await input.uploadFile(bad);
      await page.waitForFunction(() =>
        /^could not load/.test(document.querySelector('#e2e-status')!.textContent ?? ''),
      );
      expect(await page.$eval('#e2e-status', (e) => e.textContent)).toMatch(
        /could not load bad\.json: scenario\.e2e\.genEp \[0\]: must be a list of 1 to 64 values/,
      );
      // A config.json model is the command line's to read: refused at load, naming the key and the file.
      const withPath = join(dir, 'with-path.json');
      await writeFile(withPath, JSON.stringify({ mode: 'e2e', model: 'hf/config.json', e2e: {} }));
      await page.$eval('#e2e-status', (e) => (e.textContent = ''));
      await input.uploadFile(withPath);
      await page.waitForFunction(() =>
        /^could not load/.test(document.querySelector('#e2e-status')!.textContent ?? ''),
      );
      expect(await page.$eval('#e2e-status', (e) => e.textContent)).toMatch(
        /could not load with-path\.json: scenario\.model hf\/config\.json: is a config\.json path, which only the command line reads.*\(in with-path\.json\)/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
