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
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { commandLine, dropOutputOnClosedPipe, exitFlushed, isUsageProblem, type Spec } from '../src/cli/args.ts';
import { formatTable } from '../src/report/table.ts';
import { counterpartRows, ratioText, type Comparison, type ComparisonProgress } from '../src/ui/compare.ts';
import { comparisonJson } from '../src/ui/export.ts';
import {
  checkRatios,
  parseScenario,
  updatedBaseline,
  validateBaseline,
  validateScenario,
  type Baseline,
  type Scenario,
} from '../src/ui/scenario.ts';
import { parseJsonText } from '../src/util/json.ts';
import { tryNearest } from '../src/util/nearest.ts';
import { OutputPathError, checkOutputDir, checkOutputFile, writeFileAtomic } from '../src/util/output-path.ts';
import { sourceLines, summaryMarkdown, summaryText } from '../src/ui/summary.ts';
import { comparisonTrace } from '../src/ui/trace-export.ts';
import {
  MissingPrerequisite,
  ROOT,
  closeBrowser,
  launchBrowser,
  openPage,
  servePage,
  type Launched,
  type PageServer,
} from './browser.ts';

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
    throw new Exit(
      2,
      `no scenario '${arg}' (${file}); scenarios: ${names.join(', ')}${tryNearest('--scenario', arg, names)}`,
    );
  }
  try {
    // A UTF-8 byte-order mark is accepted, as other tools do.
    return { scenario: validateScenario(parseJsonText(await readFile(file, 'utf8'), file), file), file };
  } catch (e) {
    throw new Exit(2, (e as Error).message);
  }
}

/**
 * The baseline file, read and checked only when --check or --update-baseline needs it, and
 * before the run: a broken file is named at once, not after minutes of measuring.
 */
async function loadBaseline(file: string, forUpdate: boolean): Promise<Baseline> {
  const name = `--baseline ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && forUpdate) return { defaultTolerance: 0.25, scenarios: {} };
    throw new Exit(2, `${name}: cannot read it (${code ?? (e as Error).message})`);
  }
  try {
    return validateBaseline(parseJsonText(text, name), name);
  } catch (e) {
    throw new Exit(2, (e as Error).message);
  }
}

async function listScenarios(): Promise<string> {
  const rows: string[][] = [];
  for (const f of (await readdir(SCENARIOS)).filter((x) => x.endsWith('.json')).sort()) {
    const s = parseJsonText(await readFile(join(SCENARIOS, f), 'utf8'), join(SCENARIOS, f)) as Scenario;
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

/**
 * What the run holds open and half-written, so that every way out — done, failed, SIGINT,
 * SIGTERM — closes the browser and the dev server and removes the staging folder.
 */
class Held {
  server?: Promise<PageServer>;
  browser?: Promise<Launched>;
  staging?: string;
  private closing?: Promise<void>;

  close(): Promise<void> {
    this.closing ??= (async () => {
      const b = await this.browser?.catch(() => undefined);
      if (b) await closeBrowser(b.browser);
      const srv = await this.server?.catch(() => undefined);
      await srv?.close().catch(() => {});
      if (this.staging) await rm(this.staging, { recursive: true, force: true });
    })();
    return this.closing;
  }
}

/** Test hook: DWDP_BENCH_PAUSE=<phase> stops the run at that phase (and says so) until a signal arrives. */
async function phase(name: 'server' | 'browser' | 'run' | 'write'): Promise<void> {
  if (process.env.DWDP_BENCH_PAUSE !== name) return;
  process.stdout.write(`paused at ${name}\n`);
  await new Promise(() => setInterval(() => {}, 1 << 30));
}

const RESULT_FILES = ['results.json', 'summary.md', 'trace.json', 'page.png'];

/**
 * The --out folder: absent, empty, or an earlier results folder (only the files a run writes),
 * which a complete new result replaces; any other folder is refused rather than overwritten.
 */
async function checkOut(out: string): Promise<'new' | 'replace'> {
  checkOutputDir('--out', out);
  if (!existsSync(out)) return 'new';
  const other = (await readdir(out)).filter((f) => !RESULT_FILES.includes(f));
  if (other.length)
    throw new OutputPathError(
      '--out',
      out,
      `holds files a bench run does not write (${other.slice(0, 3).join(', ')}${other.length > 3 ? ', …' : ''}); ` +
        'name a new folder or an earlier results folder',
    );
  return (await readdir(out)).length ? 'replace' : 'new';
}

/** Moves a complete staging folder into place: the target holds the old results or the new, never a mix. */
async function commitResults(staging: string, out: string): Promise<void> {
  if (!existsSync(out)) {
    await rename(staging, out);
    return;
  }
  const old = `${staging}-old`;
  await rename(out, old);
  await rename(staging, out);
  await rm(old, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const args = commandLine(
    'npm run bench -- [options]',
    'Run a scenario through the benchmark page in headless Chromium and write results/<timestamp>/.',
    SPEC,
  );
  if (!args) return;
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

  // Every output and the baseline before the browser starts: nothing measured is lost to a bad path.
  const out = resolve(args.optStr('out') ?? join(ROOT, 'results', timestamp()));
  const outState = await checkOut(out);
  const check = args.flag('check');
  const update = args.flag('update-baseline');
  const baselineFile = resolve(args.optStr('baseline') ?? BASELINE);
  const baseline = check || update ? await loadBaseline(baselineFile, update && !check) : undefined;
  if (update) checkOutputFile('--baseline', baselineFile);
  if (check && baseline && !baseline.scenarios[scenario.name])
    throw new Exit(
      2,
      `--baseline ${baselineFile} has no ratios for scenario '${scenario.name}' ` +
        `(it has: ${Object.keys(baseline.scenarios).join(', ') || 'none'}); record them with --update-baseline`,
    );

  const held = new Held();
  let committed = false;
  const outcome = () =>
    committed
      ? `${out} holds the complete results`
      : outState === 'replace'
        ? `nothing written; ${out} still holds its earlier results`
        : `nothing written (${out} was not created)`;
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    process.stderr.write(`\nbench: ${sig}, closing the browser and the page server …\n`);
    void held.close().finally(() => {
      process.stderr.write(`bench: interrupted: ${outcome()}\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  process.stdout.write(`scenario ${scenario.name}: ${scenario.description}\n`);
  const t0 = Date.now();
  try {
    held.server = servePage();
    const server = await held.server;
    await phase('server');
    held.browser = launchBrowser({ headless: !args.flag('headful'), handleSignals: false });
    const { browser, found, flags } = await held.browser;
    process.stdout.write(
      `browser: ${found.path} (${found.from}), ` +
        `${flags.includes('--use-webgpu-adapter=swiftshader') ? 'SwiftShader WebGPU (no GPU found)' : 'hardware WebGPU flags'}\n`,
    );
    await phase('browser');
    const { page, log } = await openPage(browser, server.url);
    const webgpu = await page.evaluate(() => window.dwdp.webgpu);
    if (measured && !webgpu.available) {
      throw new MissingPrerequisite(
        `WebGPU is unavailable in ${found.path}: ${webgpu.reason}. ` +
          "Install Debian's chromium (apt-get install -y chromium: its SwiftShader gives WebGPU without a GPU) " +
          'or set CHROME_PATH to a Chrome/Chromium with WebGPU; the modeled scenarios need no WebGPU.',
      );
    }
    process.stdout.write(
      `page: ${server.url} · ${webgpu.available ? `WebGPU on ${webgpu.adapter}` : 'no WebGPU (modeled scenario)'}\n`,
    );

    let lastLine = '';
    await page.exposeFunction('dwdpBenchProgress', (p: ComparisonProgress) => {
      const secs = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
      const value = p.value !== null ? ` (${p.value})` : '';
      const line = `[${secs} s] ${(100 * p.fraction).toFixed(0).padStart(3)}%  run ${p.run}/${p.runs}${value}  ${p.message}`;
      if (line.slice(9) !== lastLine) process.stdout.write(`${line}\n`);
      lastLine = line.slice(9);
    });
    await phase('run');
    const comparison: Comparison = await page.evaluate((s) => window.dwdp.runScenario(s), {
      name: scenario.name,
      fields: scenario.fields,
    });

    // Results go into a staging folder beside the target and move into place once complete.
    const staging = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
    held.staging = staging;
    await mkdir(staging, { recursive: true });
    await new Promise((r) => setTimeout(r, 800)); // let the charts settle for the screenshot
    await page.screenshot({ path: join(staging, 'page.png') as `${string}.png`, fullPage: true });
    const meta = {
      scenario,
      browser: { path: found.path, from: found.from, version: await browser.version(), flags },
      webgpu,
    };
    await writeFile(join(staging, 'results.json'), comparisonJson(comparison, { bench: meta }));
    await phase('write');
    await writeFile(
      join(staging, 'summary.md'),
      `${summaryMarkdown(comparison, `Scenario ${scenario.name}`)}\n${scenario.description}\n`,
    );
    await writeFile(join(staging, 'trace.json'), JSON.stringify(comparisonTrace(comparison)));
    if (signalled) return; // the signal handler owns the exit and removes the staging folder
    await commitResults(staging, out);
    held.staging = undefined;
    committed = true;

    process.stdout.write(`\n${sourceLines(comparison).join('\n')}\n${summaryText(comparison)}\n\n`);
    process.stdout.write(
      `${formatTable(
        ['ratio', 'value'],
        comparison.ratios.map((r) => [r.name, ratioText(r)]),
      )}\n\n`,
    );
    const scaled = comparison.points[0]?.results.find((r) => r.similarity)?.similarity;
    if (scaled && comparison.counterpart) {
      process.stdout.write(
        `scale model (factors modeled, the durations they scale measured here):\n  ${scaled.lines.join('\n  ')}\n\n` +
          `counterpart (modeled on ${comparison.counterpart.scenario.profile}; npm run sim -- --scenario <results.json's counterpart.scenario>):\n` +
          `${formatTable(
            ['ratio', 'measured here', 'modeled', 'difference'],
            counterpartRows(comparison).map((r) => [
              r.name,
              r.measured.toFixed(4),
              r.modeled.toFixed(4),
              `${(r.difference * 100).toFixed(1)}%`,
            ]),
          )}\n\n`,
      );
    }
    process.stdout.write(
      `wrote ${out}/{results.json,summary.md,trace.json,page.png}` +
        `${outState === 'replace' ? ' (replacing the earlier results)' : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    if (log.errors.length)
      process.stdout.write(`page console errors:\n${log.errors.map((e) => `  ${e}`).join('\n')}\n`);

    if (update && baseline) {
      const recorded = {
        source: measured ? `measured here on ${webgpu.adapter}` : `modeled on ${parsed.config.profile}`,
        browser: await browser.version(),
        date: new Date().toISOString().slice(0, 10),
      };
      await writeFileAtomic(
        baselineFile,
        `${JSON.stringify(updatedBaseline(baseline, scenario.name, comparison.ratios, recorded), null, 2)}\n`,
      );
      process.stdout.write(`updated ${baselineFile} for ${scenario.name}\n`);
    }
    if (check && baseline) {
      const res = checkRatios(scenario.name, comparison.ratios, baseline, baselineFile);
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
  } catch (e) {
    if (!committed && !signalled) process.stderr.write(`bench: ${outcome()}\n`);
    throw e;
  } finally {
    if (!signalled) await held.close();
  }
}

dropOutputOnClosedPipe();
main()
  .then(() => exitFlushed(0))
  .catch((e: unknown) => {
    const err = e as Error;
    const code = e instanceof Exit ? e.code : e instanceof MissingPrerequisite ? 3 : isUsageProblem(e) ? 2 : 1;
    process.stderr.write(`bench: ${err.message}\n`);
    if (process.env.DWDP_DEBUG && !(e instanceof Exit)) process.stderr.write(`${err.stack}\n`);
    return exitFlushed(code);
  });
