// npm run bench -- [--scenario <name|file.json>] [--out DIR] [--check] [--update-baseline]
//
// npm run bench -- ... [--baseline file.json]
//
// Runs a scenario through the benchmark page in headless Chromium, exactly as a click on Run
// would: serves the page (Vite), opens it (SwiftShader WebGPU without a GPU), sets the
// scenario's fields, runs, and writes results/<timestamp>/ with results.json, summary.md,
// trace.json (Perfetto) and page.png. --check compares the run's ratios — never absolute
// times — with bench/baseline.json and exits 1 naming every ratio that moved.
//
// Exit codes: 0 done (and within the baseline), 1 a ratio moved or the run failed,
// 2 bad usage or scenario, 3 the browser or WebGPU is missing (the message says what to install).
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Args, UsageError, parseArgs, usage, type Spec } from '../src/cli/args.ts';
import { formatTable } from '../src/report/table.ts';
import type { Comparison, ComparisonProgress } from '../src/ui/compare.ts';
import { comparisonJson } from '../src/ui/export.ts';
import {
  checkRatios,
  parseScenario,
  updatedBaseline,
  validateScenario,
  type Baseline,
  type Scenario,
} from '../src/ui/scenario.ts';
import { sourceLines, summaryMarkdown, summaryText } from '../src/ui/summary.ts';
import { comparisonTrace } from '../src/ui/trace-export.ts';
import { MissingPrerequisite, ROOT, launchBrowser, openPage, servePage } from './browser.ts';

const SCENARIOS = join(ROOT, 'bench', 'scenarios');
const BASELINE = join(ROOT, 'bench', 'baseline.json');

const SPEC: Spec = {
  scenario: {
    kind: 'string',
    help: 'scenario name (bench/scenarios/<name>.json) or path to a scenario file (default: default)',
    placeholder: 'name|file.json',
  },
  out: { kind: 'string', help: 'output folder (default: results/<timestamp>)', placeholder: 'DIR' },
  check: { kind: 'flag', help: 'compare the ratios with bench/baseline.json; exit 1 naming what moved' },
  'update-baseline': { kind: 'flag', help: "write this run's ratios into the baseline (keeps stated tolerances)" },
  baseline: {
    kind: 'string',
    help: 'baseline file for --check / --update-baseline (default: bench/baseline.json)',
    placeholder: 'file.json',
  },
  list: { kind: 'flag', help: 'list the scenarios and exit' },
  headful: { kind: 'flag', help: 'show the browser window' },
  help: { kind: 'flag', help: 'this help' },
};

class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

async function loadScenario(arg: string): Promise<{ scenario: Scenario; file: string }> {
  const file = arg.endsWith('.json') || arg.includes('/') ? resolve(arg) : join(SCENARIOS, `${arg}.json`);
  if (!existsSync(file)) {
    const names = (await readdir(SCENARIOS)).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    throw new Exit(2, `no scenario '${arg}' (${file}); scenarios: ${names.join(', ')}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Exit(2, `${file}: ${(e as Error).message}`);
  }
  try {
    return { scenario: validateScenario(json, file), file };
  } catch (e) {
    throw new Exit(2, (e as Error).message);
  }
}

async function listScenarios(): Promise<string> {
  const rows: string[][] = [];
  for (const f of (await readdir(SCENARIOS)).filter((x) => x.endsWith('.json')).sort()) {
    const s = JSON.parse(await readFile(join(SCENARIOS, f), 'utf8')) as Scenario;
    rows.push([
      f.replace(/\.json$/, ''),
      s.description.length > 120 ? `${s.description.slice(0, 117)}…` : s.description,
    ]);
  }
  return formatTable(['scenario', 'description'], rows);
}

function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/:/g, '-');
}

async function main(): Promise<void> {
  const args = new Args(parseArgs(process.argv.slice(2), SPEC));
  if (args.flag('help')) {
    process.stdout.write(
      usage(
        'npm run bench -- [options]',
        'Run a scenario through the benchmark page in headless Chromium and write results/<timestamp>/.',
        SPEC,
      ),
    );
    return;
  }
  if (args.flag('list')) {
    process.stdout.write(`${await listScenarios()}\n`);
    return;
  }
  const { scenario, file } = await loadScenario(args.str('scenario', 'default'));
  // Check the fields here first: a typo should not cost a browser start.
  const parsed = parseScenario(scenario);
  if (!parsed.config)
    throw new Exit(
      2,
      `${file}: ${Object.entries(parsed.errors)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}`,
    );
  for (const w of parsed.warnings) process.stdout.write(`warning: ${w}\n`);
  const measured = parsed.config.source === 'measured';

  const out = resolve(args.optStr('out') ?? join(ROOT, 'results', timestamp()));
  process.stdout.write(`scenario ${scenario.name}: ${scenario.description}\n`);
  const t0 = Date.now();
  const server = await servePage();
  let launched: Awaited<ReturnType<typeof launchBrowser>>;
  try {
    launched = await launchBrowser({ headless: !args.flag('headful') });
  } catch (e) {
    await server.close();
    throw e;
  }
  const { browser, found, flags } = launched;
  const stop = async () => {
    await browser.close().catch(() => {});
    await server.close().catch(() => {});
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    process.stdout.write(
      `browser: ${found.path} (${found.from}), ${flags.includes('--use-webgpu-adapter=swiftshader') ? 'SwiftShader WebGPU (no GPU found)' : 'hardware WebGPU flags'}\n`,
    );
    const { page, log } = await openPage(browser, server.url);
    const webgpu = await page.evaluate(() => window.dwdp.webgpu);
    if (measured && !webgpu.available) {
      throw new MissingPrerequisite(
        `WebGPU is unavailable in ${found.path}: ${webgpu.reason}. Install Debian's chromium (apt-get install -y chromium: its SwiftShader gives WebGPU without a GPU) ` +
          'or set CHROME_PATH to a Chrome/Chromium with WebGPU; the modeled scenarios need no WebGPU.',
      );
    }
    process.stdout.write(
      `page: ${server.url} · ${webgpu.available ? `WebGPU on ${webgpu.adapter}` : 'no WebGPU (modeled scenario)'}\n`,
    );

    let lastLine = '';
    await page.exposeFunction('dwdpBenchProgress', (p: ComparisonProgress) => {
      const line = `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${(100 * p.fraction).toFixed(0).padStart(3)}%  run ${p.run}/${p.runs}${p.value !== null ? ` (${p.value})` : ''}  ${p.message}`;
      if (line.slice(9) !== lastLine) process.stdout.write(`${line}\n`);
      lastLine = line.slice(9);
    });
    const comparison: Comparison = await page.evaluate((s) => window.dwdp.runScenario(s), {
      name: scenario.name,
      fields: scenario.fields,
    });

    await mkdir(out, { recursive: true });
    await new Promise((r) => setTimeout(r, 800)); // let the charts settle for the screenshot
    await page.screenshot({ path: join(out, 'page.png') as `${string}.png`, fullPage: true });
    const meta = {
      scenario,
      browser: { path: found.path, from: found.from, version: await browser.version(), flags },
      webgpu,
    };
    await writeFile(join(out, 'results.json'), comparisonJson(comparison, { bench: meta }));
    await writeFile(
      join(out, 'summary.md'),
      `${summaryMarkdown(comparison, `Scenario ${scenario.name}`)}\n${scenario.description}\n`,
    );
    await writeFile(join(out, 'trace.json'), JSON.stringify(comparisonTrace(comparison)));

    process.stdout.write(`\n${sourceLines(comparison).join('\n')}\n${summaryText(comparison)}\n\n`);
    process.stdout.write(
      `${formatTable(
        ['ratio', 'value'],
        comparison.ratios.map((r) => [r.name, r.value.toFixed(4)]),
      )}\n\n`,
    );
    process.stdout.write(
      `wrote ${out}/{results.json,summary.md,trace.json,page.png} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    if (log.errors.length)
      process.stdout.write(`page console errors:\n${log.errors.map((e) => `  ${e}`).join('\n')}\n`);

    const baselineFile = resolve(args.optStr('baseline') ?? BASELINE);
    const baseline = JSON.parse(await readFile(baselineFile, 'utf8')) as Baseline;
    if (args.flag('update-baseline')) {
      const recorded = {
        source: measured ? `measured here on ${webgpu.adapter}` : `modeled on ${parsed.config.profile}`,
        browser: await browser.version(),
        date: new Date().toISOString().slice(0, 10),
      };
      await writeFile(
        baselineFile,
        `${JSON.stringify(updatedBaseline(baseline, scenario.name, comparison.ratios, recorded), null, 2)}\n`,
      );
      process.stdout.write(`updated ${baselineFile} for ${scenario.name}\n`);
    }
    if (args.flag('check')) {
      const res = checkRatios(scenario.name, comparison.ratios, baseline);
      const pct = (v: number | null) =>
        v === null ? '—' : `${v >= 0 ? '+' : ''}${(100 * v).toFixed(Math.abs(v) < 0.01 ? 3 : 1)}%`;
      const tol = (t: number) => `±${+(100 * t).toPrecision(2)}%`;
      process.stdout.write(
        `check against ${baselineFile} (ratios only; a ratio moved when |got ÷ baseline − 1| > tolerance):\n${formatTable(
          ['ratio', 'baseline', 'got', 'change', 'tolerance', 'status'],
          res.rows.map((r) => [
            r.ratio,
            r.baseline.toFixed(4),
            r.got === null ? '—' : r.got.toFixed(4),
            pct(r.change),
            tol(r.tolerance),
            r.status,
          ]),
        )}\n`,
      );
      if (!res.ok) {
        const moved = res.rows
          .filter((r) => r.status !== 'ok')
          .map(
            (r) =>
              `${r.ratio} ${r.status === 'missing' ? 'is missing' : `moved ${pct(r.change)} (tolerance ${tol(r.tolerance)})`}`,
          );
        throw new Exit(1, `check failed for scenario ${scenario.name}: ${moved.join('; ')}`);
      }
      process.stdout.write('check passed\n');
    }
  } finally {
    await stop();
  }
}

main()
  .then(() => process.exit(0))
  .catch((e: unknown) => {
    const err = e as Error;
    const code = e instanceof Exit ? e.code : e instanceof MissingPrerequisite ? 3 : e instanceof UsageError ? 2 : 1;
    process.stderr.write(`bench: ${err.message}\n`);
    if (process.env.DWDP_DEBUG && !(e instanceof Exit)) process.stderr.write(`${err.stack}\n`);
    process.exit(code);
  });
