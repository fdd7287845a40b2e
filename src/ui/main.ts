// The benchmark page: a thin shell over the library. Data flows one way —
//   URL → form → (panel edits) → parseForm → runComparison(runGroup in a worker | rack model)
//   → Comparison → views and exports
// and the URL follows every valid edit, so the address bar is always a share link.
//
// Headless runs (bench/run.ts) drive the same path through window.dwdp.runScenario.
//
// Two views share the page: the benchmark and the shader lab (views/lab-view.ts, loaded on
// first use). The URL holds the open view's state only (`?view=lab&kernel=…` for the lab);
// the other view's state stays in memory while the page is open. The lab runs in a worker
// of its own, so its pipeline overrides never reach a benchmark run.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type uPlot from 'uplot';
import {
  ComparisonCancelled,
  etaText,
  runComparison,
  measuredRunner,
  type Comparison,
  type ComparisonProgress,
} from './compare.ts';
import { parseForm, type PageConfig } from './config.ts';
import { defaultForm, isFieldKey, type FormState } from './fields.ts';
import { formScenario, scenarioForm, validateScenario, type Scenario } from './scenario.ts';
import { GpuWorker, WEBGPU_HOWTO, type Probe } from './gpu-runner.ts';
import { localStorageStore } from '../tuning/tuning-cache.ts';
import { modeledCaveats } from './modeled.ts';
import { comparisonCsv, comparisonJson, exportBaseName, parseComparisonJson } from './export.ts';
import { comparisonTrace } from './trace-export.ts';
import { openInPerfetto } from './perfetto.ts';
import pageDoc from '../../docs/page.md?raw';
import { figureLines, provenance } from './summary.ts';
import { SPAN_CLASSES, classify } from './timeline.ts';
import { configCaveats } from './caveats.ts';
import { describeChanges, formChanges } from './stale.ts';
import {
  baselineJson,
  baselinePointFor,
  diffRuns,
  parseBaselineJson,
  pinnable,
  withoutTimelines,
  type PinnedBaseline,
} from './baseline.ts';
import { baselineBar, comparePanel } from './views/baseline-view.ts';
import { GLOSSARY, modelShape } from './glossary.ts';
import { formToQuery, pageUrl, readQuery } from './url.ts';
import { buildPanel } from './views/panel.ts';
import { clear, download, h } from './views/dom.ts';
import { summaryView } from './views/summary-view.ts';
import { ganttCharts, type GanttCharts } from './views/gantt-view.ts';
import { memoryChart } from './views/memory-view.ts';
import { sweepChart } from './views/sweep-view.ts';
import { topologyView, type TopologyView } from './views/topology-view.ts';
import { chartsPng, type PngPart } from './views/png.ts';
import { labFormToQuery, queryToLabForm, viewOf, type LabForm } from './lab-state.ts';
import type { LabApi, LabView } from './views/lab-view.ts';
import type { E2eApi, E2ePageView } from './views/e2e-page.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** What a headless driver passes to runScenario: field values (by field key) and a name. */
export interface ScenarioInput {
  name?: string;
  fields: Record<string, string | number | boolean>;
}

export interface PageApi {
  ready: Promise<void>;
  webgpu: { available: boolean; adapter?: string; reason?: string };
  runScenario(s: ScenarioInput): Promise<Comparison>;
  last(): Comparison | null;
  /** Switches to the shader lab view (building it on first use) and returns its API. */
  openLab(): Promise<LabApi>;
  /** Switches to the end-to-end view (building it on first use) and returns its API. */
  openE2e(): Promise<E2eApi>;
  view(): 'bench' | 'lab' | 'e2e';
  /** Frames the topology view has drawn since it was built (0 without results). */
  topologyFrames(): number;
  /** The pinned baseline (null when none). */
  baseline(): PinnedBaseline | null;
  /** The shown Gantt charts: the current run's, or the pinned baseline's beside them (null when not drawn). */
  gantt(which?: 'current' | 'baseline'): GanttCharts | null;
}

declare global {
  interface Window {
    dwdp: PageApi;
    /** Set by the headless driver (puppeteer exposeFunction) to receive progress. */
    dwdpBenchProgress?: (p: ComparisonProgress) => void;
  }
}

// One tuning store for both workers: a sweep in the lab tab is used by the benchmark runs after it.
const tuningStore = typeof localStorage === 'undefined' ? undefined : localStorageStore(localStorage);
const worker = new GpuWorker('dwdp-emulation', tuningStore);
const labWorker = new GpuWorker('dwdp-lab', tuningStore);
let view: 'bench' | 'lab' | 'e2e' = viewOf(location.search);
let lab: Promise<LabView> | null = null;
let e2e: Promise<E2ePageView> | null = null;
/** The lab's form while its view is not built yet (from the URL when the page opened on it). */
const initialLab: LabForm = queryToLabForm(view === 'lab' ? location.search : '');
let gpu: Probe | null = null;
let comparison: Comparison | null = null;
let running: AbortController | null = null;
let views: {
  gantt?: GanttCharts;
  baselineGantt?: GanttCharts;
  topology?: TopologyView;
  memory?: uPlot;
  sweep?: uPlot | null;
} = {};

const setQuery = (q: string) => history.replaceState(null, '', pageUrl(location.pathname, q));

// The page's own link, read once before the panel rewrites the URL (it follows every valid
// edit): `run=1` starts a run when the page is ready; parameters that set nothing are listed
// above the panel instead of being dropped silently.
const openedParams = new URLSearchParams(location.search);
const opened = view === 'bench' ? readQuery(location.search) : null;
if (opened && opened.ignored.length > 0) {
  $('panel').before(
    h(
      'p',
      { class: 'note url-ignored', role: 'status' },
      `Ignored in the link: ${opened.ignored.join(', ')} (not a field of this page, or repeated).`,
    ),
  );
}

// A lab link's parameters (seed, skew, heads…) are not the benchmark's: it opens on defaults.
const panel = buildPanel($('panel'), opened ? opened.form : defaultForm(), (form, parsed) => {
  const ok = parsed.config !== null;
  ($('run') as HTMLButtonElement).disabled =
    !ok || running !== null || (form.source === 'measured' && gpu !== null && !gpu.ok);
  $('run-hint').textContent = parsed.config
    ? runHint(parsed.config, form)
    : `Fix ${Object.keys(parsed.errors).length} field(s) to run.`;
  const caveats = $('config-caveats');
  clear(caveats);
  for (const cv of parsed.config ? configCaveats(parsed.config, form.linkProfile) : [])
    caveats.append(h('p', { class: `caveat caveat-${cv.kind}`, 'data-caveat': cv.kind }, `Caveat: ${cv.text}.`));
  markStale(form);
  if (ok && view === 'bench') setQuery(formToQuery(form));
});

/**
 * Results that no longer match the form are marked stale, with what changed; the exports
 * then say they hold the earlier configuration (results JSON: `changedSince`).
 */
function markStale(form: FormState): void {
  const banner = $('stale');
  const changes = comparison ? formChanges(comparison.form, form) : [];
  const stale = changes.length > 0 && !running;
  banner.hidden = !stale;
  $('results-body').classList.toggle('stale', stale);
  clear(banner);
  if (!stale) return;
  banner.append(
    h('b', {}, 'Stale: '),
    `these results ran with an earlier configuration. Changed since: ${describeChanges(changes)}. `,
    'Run to update them; the exports hold the earlier run, and say so.',
  );
}

// The scenario library: bench/scenarios/*.json, bundled; picking one sets the form (as
// `npm run bench -- --scenario <name>` would), and the form saves as a scenario file.
const SCENARIOS: Scenario[] = Object.entries(
  import.meta.glob('../../bench/scenarios/*.json', { eager: true, import: 'default' }) as Record<string, unknown>,
)
  .map(([file, json]) => validateScenario(json, file.slice(file.lastIndexOf('/') + 1)))
  .sort((a, b) => a.name.localeCompare(b.name));
{
  const pick = h(
    'select',
    { id: 'scenario', 'aria-label': 'scenario' },
    h('option', { value: '' }, 'pick a scenario…'),
    ...SCENARIOS.map((sc) => h('option', { value: sc.name, title: sc.description }, sc.name)),
  );
  const about = h('p', { class: 'help', id: 'scenario-about' });
  pick.addEventListener('change', () => {
    const sc = SCENARIOS.find((x) => x.name === pick.value);
    about.textContent = sc ? sc.description : '';
    if (sc && !running) panel.set(scenarioForm(sc));
  });
  const save = h('button', { type: 'button', id: 'save-scenario', class: 'small' }, 'save form as scenario');
  save.addEventListener('click', () => {
    const name = (pick.value || 'my-scenario').replace(/[^a-z0-9-]+/gi, '-');
    const sc = formScenario(panel.form, name, `Saved from the page on ${new Date().toISOString().slice(0, 10)}.`);
    download(`${name}.json`, JSON.stringify(sc, null, 2) + '\n');
  });
  $('scenarios').append(h('label', { class: 'label', for: 'scenario' }, 'Scenario'), pick, save, about);
}

// The glossary: every term the tooltips define, in one list.
for (const t of Object.values(GLOSSARY))
  $('glossary-list').append(
    h('dt', {}, t.term),
    h('dd', {}, t.meaning, 'formula' in t ? h('span', { class: 'formula' }, ` = ${t.formula}`) : ''),
  );

// ---------------------------------------------------------------------------------------
// Views: the benchmark and the shader lab

function openLab(): Promise<LabView> {
  lab ??= import('./views/lab-view.ts').then(({ buildLabView }) => {
    const v = buildLabView($('lab-view'), labWorker, initialLab, (form) => {
      if (view === 'lab') setQuery(labFormToQuery(form));
    });
    void ready.then(() => v.setProbe(gpu!));
    return v;
  });
  return lab;
}

// The end-to-end view (views/e2e-page.ts): modeled only, its own worker; the URL holds `view=e2e`.
function openE2e(): Promise<E2ePageView> {
  e2e ??= import('./views/e2e-page.ts').then(({ buildE2ePage }) => buildE2ePage($('e2e-view')));
  return e2e;
}

async function showView(next: 'bench' | 'lab' | 'e2e'): Promise<void> {
  view = next;
  $('bench-view').hidden = next !== 'bench';
  $('lab-view').hidden = next !== 'lab';
  $('e2e-view').hidden = next !== 'e2e';
  for (const t of document.querySelectorAll<HTMLElement>('.views [role=tab]')) {
    t.setAttribute('aria-selected', t.dataset.view === next ? 'true' : 'false');
    t.tabIndex = t.dataset.view === next ? 0 : -1; // one tab stop: the arrow keys move between tabs
  }
  if (next === 'bench') setQuery(formToQuery(panel.form));
  else if (next === 'e2e') await openE2e().then(() => setQuery('view=e2e'));
  else setQuery(labFormToQuery((await openLab()).form));
}

const tabs = [...document.querySelectorAll<HTMLAnchorElement>('.views [role=tab]')];
for (const t of tabs) {
  t.addEventListener('click', (e) => {
    e.preventDefault();
    void showView(t.dataset.view === 'lab' || t.dataset.view === 'e2e' ? t.dataset.view : 'bench');
  });
  // The ARIA tabs pattern: ←/→ (wrapping), Home and End move to a tab and open it.
  t.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    const to =
      e.key === 'ArrowRight'
        ? (i + 1) % tabs.length
        : e.key === 'ArrowLeft'
          ? (i - 1 + tabs.length) % tabs.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? tabs.length - 1
              : -1;
    if (to < 0) return;
    e.preventDefault();
    tabs[to].focus();
    const v = tabs[to].dataset.view;
    void showView(v === 'lab' || v === 'e2e' ? v : 'bench');
  });
}

// The page's guide, bundled: a link that works from any host (the docs are not copied into the build).
$<HTMLAnchorElement>('docs-link').href = URL.createObjectURL(new Blob([pageDoc], { type: 'text/plain;charset=utf-8' }));

function runHint(c: PageConfig, form: FormState): string {
  const points = c.sweep ? c.sweep.values.length : 1;
  const runs = points * c.strategies.length;
  // A pasted config.json is named by its model_type, with the shape it parsed to.
  const model = form.model === 'custom' ? `a custom config (${modelShape(c.model)})` : c.modelName;
  if (c.source === 'modeled')
    return `${runs} modeled run(s) of ${model} on ${c.profile}: ${modeledCaveats(c).join('; ')}.`;
  return `${runs} run(s) of ${model} on ${c.run.ranks} emulated rank(s), ${c.run.layers} layer(s), ${c.run.tokensPerRank} tokens/rank.`;
}

// ---------------------------------------------------------------------------------------
// WebGPU: probe once, in the worker where runs happen.

const ready = (async () => {
  const badge = $('adapter');
  try {
    gpu = await worker.probe();
  } catch (e) {
    gpu = { type: 'probe', id: 0, ok: false, reason: (e as Error).message };
  }
  if (gpu.ok) {
    badge.textContent = `WebGPU: ${gpu.adapter}${gpu.timestamps ? ', timestamp-query' : ', host timing'}`;
    badge.className = 'adapter ok';
    if (gpu.software)
      badge.title =
        'A CPU implementation of WebGPU: absolute times are emulation speeds; ratios and modeled views are what to read.';
  } else {
    badge.textContent = 'WebGPU unavailable';
    badge.className = 'adapter missing';
    const banner = $('gpu-banner');
    banner.hidden = false;
    banner.append(
      h('b', {}, 'No WebGPU here: '),
      `${gpu.reason}. ${WEBGPU_HOWTO} `,
      h('b', {}, 'The modeled views (hardware profiles, no GPU) still work: '),
      'choose “modeled” under Numbers from.',
    );
    // A link that did not ask for measured numbers explicitly gets the modeled ones.
    if (!openedParams.has('src')) panel.set({ ...panel.form, source: 'modeled' });
    else panel.set(panel.form);
  }
})();

// ---------------------------------------------------------------------------------------
// Runs

async function run(form: FormState): Promise<Comparison> {
  if (running) throw new Error('a run is already in progress');
  await ready;
  const parsed = parseForm(form);
  if (!parsed.config)
    throw new Error(
      `the configuration has errors: ${Object.entries(parsed.errors)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}`,
    );
  const measured = parsed.config.source === 'measured';
  if (measured && (!gpu || !gpu.ok))
    throw new Error(`WebGPU is unavailable (${gpu?.reason ?? 'not probed'}). ${WEBGPU_HOWTO}`);
  running = new AbortController();
  const started = performance.now();
  setRunning(true);
  const bar = $<HTMLProgressElement>('progress');
  const msg = $('progress-msg');
  // Elapsed time, and once a run has finished an estimate of what is left (etaText).
  let fraction = 0;
  let runsDone = 0;
  const showClock = () => ($('elapsed').textContent = etaText(performance.now() - started, fraction, runsDone));
  const tick = setInterval(showClock, 500);
  try {
    const c = await runComparison(form, measured ? measuredRunner(worker.runGroup) : worker.model, {
      signal: running.signal,
      provenance: measured ? `measured here on ${gpu!.ok ? gpu!.adapter : '?'}` : `modeled on ${parsed.config.profile}`,
      onProgress: (p) => {
        fraction = p.fraction;
        runsDone = p.run - 1;
        showClock(); // at once, not at the next tick: a short run would never show its estimate
        bar.value = p.fraction;
        msg.textContent = `run ${p.run}/${p.runs} · ${p.message}`;
        window.dwdpBenchProgress?.(p);
      },
    });
    comparison = c;
    bar.value = 1;
    await render(c);
    markStale(panel.form);
    msg.textContent = `done in ${(c.elapsedMs / 1000).toFixed(1)} s`;
    return c;
  } catch (e) {
    const cancelled = (e as Error)?.name === 'AbortError';
    msg.textContent = cancelled ? 'cancelled' : `failed: ${(e as Error).message}`;
    msg.classList.toggle('error', !cancelled);
    // A sweep cancelled part-way keeps the points that finished.
    if (e instanceof ComparisonCancelled) {
      comparison = e.partial;
      await render(e.partial);
      msg.textContent = `cancelled: kept the ${e.partial.partial!.done} of ${e.partial.partial!.of} sweep points that finished`;
    }
    throw e;
  } finally {
    clearInterval(tick);
    // The run is over: the elapsed time stays, the estimate of what was left goes.
    $('elapsed').textContent = etaText(performance.now() - started, 1, runsDone);
    running = null;
    setRunning(false);
    markStale(panel.form);
  }
}

function setRunning(on: boolean): void {
  document.body.classList.toggle('running', on);
  if (on) {
    ($('run') as HTMLButtonElement).disabled = true; // the panel re-enables it when the run ends
    $('progress-msg').classList.remove('error');
  }
  panel.setBusy(on);
  ($('cancel') as HTMLButtonElement).disabled = !on;
  for (const b of document.querySelectorAll<HTMLButtonElement>('.exports button'))
    b.disabled = on || comparison === null;
}

$('run').addEventListener('click', () => {
  run(panel.form).catch((e) => console.warn('run ended:', (e as Error).message));
});
$('cancel').addEventListener('click', () => running?.abort(new DOMException('cancelled by the user', 'AbortError')));
// Ctrl+Enter (⌘+Enter) runs, Esc cancels a run in flight — on the benchmark view only (the lab's editor keeps its keys).
document.addEventListener('keydown', (e) => {
  if (view !== 'bench') return;
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !($('run') as HTMLButtonElement).disabled) {
    e.preventDefault();
    $('run').click();
  } else if (e.key === 'Escape' && running) {
    e.preventDefault();
    $('cancel').click();
  }
});

// ---------------------------------------------------------------------------------------
// Results

// Rendering yields to the browser between views (a task each), so even a 64-rank run never
// holds the main thread for long; a newer render (another point, another run) supersedes it.
let renderToken = 0;
const yieldTask = () => new Promise<void>((r) => setTimeout(r, 0));

function render(c: Comparison): Promise<void> {
  views.gantt?.destroy();
  views.baselineGantt?.destroy();
  views.topology?.destroy();
  views.memory?.destroy();
  views.sweep?.destroy();
  views = {};
  $('empty').hidden = true;
  $('results-body').hidden = false;
  const pick = $('point');
  clear(pick);
  let sel: HTMLSelectElement | null = null;
  if (c.sweep) {
    sel = h(
      'select',
      { 'aria-label': 'sweep point' },
      ...c.points.map((p, i) => h('option', { value: i }, `${c.sweep!.label} = ${p.value}`)),
    );
    sel.addEventListener('change', () => void showPoint(c, Number(sel!.value)));
    pick.append(h('label', {}, 'Showing the point ', sel));
  }
  views.sweep = sweepChart($('sweep'), c, (i) => {
    if (sel) sel.value = String(i);
    void showPoint(c, i);
  });
  $('sweep-section').hidden = !c.sweep;
  for (const b of document.querySelectorAll<HTMLButtonElement>('.exports button')) b.disabled = false;
  return showPoint(c, 0);
}

/** The sweep point the views show (the PNG's numbers are that point's). */
let shownPoint = 0;

async function showPoint(c: Comparison, i: number): Promise<void> {
  const token = ++renderToken;
  shownPoint = i;
  views.gantt?.destroy();
  views.baselineGantt?.destroy();
  views.topology?.destroy();
  views.memory?.destroy();
  views.gantt = views.baselineGantt = views.topology = views.memory = undefined;
  const point = c.points[i];
  const config = parseForm(c.form).config;
  summaryView($('summary'), c, point, config ? configCaveats(config, c.form.linkProfile) : []);
  const pinned = showCompare(c, i);
  await yieldTask();
  if (token !== renderToken) return;
  const span = (rs: readonly { makespanMs: number }[]) => Math.max(...rs.map((r) => r.makespanMs));
  views.gantt = ganttCharts(
    $('gantt'),
    point.results,
    (t, r) => {
      if (r.strategy === 'dwdp' || point.results.length === 1) views.topology?.follow(t);
    },
    pinned
      ? {
          titlePrefix: 'Current — ',
          // On one time axis, zooming either pair of timelines zooms the other.
          ...(sameScale
            ? { xMaxMs: span(pinned.results), onZoom: (a: number, b: number) => views.baselineGantt?.zoom(a, b) }
            : {}),
        }
      : {},
  );
  await views.gantt.ready;
  if (pinned && token === renderToken) {
    await yieldTask();
    if (token !== renderToken) return;
    views.baselineGantt = ganttCharts($('gantt-baseline'), pinned.results, undefined, {
      titlePrefix: 'Baseline — ',
      ...(sameScale ? { xMaxMs: span(point.results), onZoom: (a: number, b: number) => views.gantt?.zoom(a, b) } : {}),
    });
    await views.baselineGantt.ready;
  }
  await yieldTask();
  if (token !== renderToken) return;
  views.memory = memoryChart($('memory'), point.results);
  await yieldTask();
  if (token !== renderToken) return;
  views.topology = topologyView($('topology'), point.results);
}

// ---------------------------------------------------------------------------------------
// A pinned baseline: kept (in this browser's storage, so it survives a reload) while the form
// changes and runs come and go; every shown point is set beside it (views/baseline-view.ts).

const BASELINE_KEY = 'webgpu-dwdp.baseline';
let baseline: PinnedBaseline | null = null;
/** Both Gantts on one time scale. */
let sameScale = true;
try {
  const stored = typeof localStorage === 'undefined' ? null : localStorage.getItem(BASELINE_KEY);
  if (stored) baseline = parseBaselineJson(stored);
} catch (e) {
  console.warn(`the stored baseline was not read (${(e as Error).message}); none pinned`);
}

/**
 * Stores the baseline. One too large for the storage is stored without its timelines (this page
 * keeps them until it is closed); the line above the results says so.
 */
function storeBaseline(): void {
  let note = '';
  if (typeof localStorage !== 'undefined') {
    if (!baseline) localStorage.removeItem(BASELINE_KEY);
    else
      try {
        localStorage.setItem(BASELINE_KEY, baselineJson(baseline));
      } catch {
        try {
          localStorage.setItem(BASELINE_KEY, baselineJson(withoutTimelines(baseline)));
          note = 'kept across reloads without its timelines (too large for this browser’s storage)';
        } catch (e) {
          localStorage.removeItem(BASELINE_KEY); // not an earlier baseline back after a reload
          note = `kept for this page only (${(e as Error).message})`;
        }
      }
  }
  baselineBar($('baseline-bar'), baseline, () => setBaseline(null), note);
}

function setBaseline(b: PinnedBaseline | null): void {
  baseline = b;
  storeBaseline();
  if (comparison) void showPoint(comparison, shownPoint);
}

/** The comparison panel for the shown point; the baseline's results to draw beside it (null: none pinned, or no timelines). */
function showCompare(c: Comparison, i: number): { results: Comparison['points'][number]['results'] } | null {
  const root = $('compare');
  const pair = $('gantt-pair');
  const b = baseline;
  if (!b) {
    root.hidden = true;
    clear(root);
    pair.classList.remove('paired');
    $('gantt-baseline').hidden = true;
    return null;
  }
  const bi = baselinePointFor(b, c, i);
  comparePanel(root, b, c, diffRuns(b.comparison, bi, c, i), {
    sameScale,
    onSameScale: (on) => {
      sameScale = on;
      void showPoint(c, shownPoint);
    },
    onUnpin: () => setBaseline(null),
  });
  const draw = !b.timelinesDropped;
  pair.classList.toggle('paired', draw);
  $('gantt-baseline').hidden = !draw;
  return draw ? { results: b.comparison.points[bi].results } : null;
}

$('pin').addEventListener('click', () => {
  if (comparison && !running)
    setBaseline({ comparison: pinnable(comparison), point: shownPoint, pinnedAt: new Date().toISOString() });
});
baselineBar($('baseline-bar'), baseline, () => setBaseline(null));

// ---------------------------------------------------------------------------------------
// Exports and sharing

const exportAs = (what: 'json' | 'csv' | 'trace' | 'png') => async () => {
  const c = comparison;
  if (!c) return;
  const base = exportBaseName(c);
  const changes = formChanges(c.form, panel.form);
  const stale = changes.length ? { changedSince: changes } : {};
  // The pinned baseline travels with the results (a results JSON of its own under "baseline").
  const pinned = baseline ? { baseline: JSON.parse(baselineJson(baseline)) as unknown } : {};
  if (what === 'json')
    download(`${base}${changes.length ? '-earlier-config' : ''}.json`, comparisonJson(c, { ...stale, ...pinned }));
  if (what === 'csv') download(`${base}.csv`, comparisonCsv(c), 'text/csv');
  if (what === 'trace') download(`${base}.trace.json`, JSON.stringify(comparisonTrace(c)));
  if (what === 'png') {
    const point = c.points[shownPoint] ?? c.points[0];
    const legend = SPAN_CLASSES.filter(
      (k) => k.cls === 'idle' || point.results.some((r) => r.intervals.some((iv) => classify(iv) === k.cls)),
    );
    download(
      `${base}.png`,
      await chartsPng('DWDP vs DEP — webgpu-dwdp', provenance(point.results[0]), pngParts(), {
        ...figureLines(c, point),
        legend,
      }),
    );
  }
};

function pngParts(): PngPart[] {
  const parts: PngPart[] = [];
  if (views.sweep) parts.push({ title: 'DWDP ÷ DEP along the sweep', canvas: views.sweep.ctx.canvas });
  for (const p of views.gantt?.plots ?? []) parts.push({ title: p.title, canvas: p.plot.ctx.canvas });
  for (const p of views.baselineGantt?.plots ?? []) parts.push({ title: p.title, canvas: p.plot.ctx.canvas });
  if (views.memory) parts.push({ title: 'Routed-expert weight memory per rank', canvas: views.memory.ctx.canvas });
  views.topology?.flush();
  if (views.topology) parts.push({ title: 'Topology', canvas: views.topology.canvas });
  return parts;
}

// A results JSON read back: its configuration goes into the form, its numbers into the views.
$<HTMLInputElement>('load-json').addEventListener('change', async (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (!file || running) return;
  const msg = $('progress-msg');
  try {
    const read = parseComparisonJson(await file.text(), file.name);
    // An export made with a baseline pinned carries it: pinned again, as it was.
    const carried = (read as { baseline?: unknown }).baseline;
    if (carried !== undefined) {
      baseline = parseBaselineJson(JSON.stringify(carried), `${file.name}'s baseline`);
      storeBaseline();
    }
    const c = pinnable(read);
    comparison = c;
    panel.set({ ...defaultForm(), ...c.form });
    await render(c);
    markStale(panel.form);
    msg.classList.remove('error');
    msg.textContent = `loaded ${file.name} (ran ${c.startedAt}, ${c.provenance}${carried !== undefined ? ', with its baseline' : ''})`;
  } catch (err) {
    msg.classList.add('error');
    msg.textContent = `could not load: ${(err as Error).message}`;
  }
});

$('export-json').addEventListener('click', exportAs('json'));
$('export-csv').addEventListener('click', exportAs('csv'));
$('export-trace').addEventListener('click', exportAs('trace'));
$('export-png').addEventListener('click', exportAs('png'));
$('open-perfetto').addEventListener('click', async () => {
  const c = comparison;
  if (!c) return;
  const msg = $('progress-msg');
  const buffer = new TextEncoder().encode(JSON.stringify(comparisonTrace(c))).buffer as ArrayBuffer;
  try {
    await openInPerfetto(window, {
      buffer,
      title: `DWDP vs DEP — ${c.modelName}`,
      fileName: `${exportBaseName(c)}.trace.json`,
    });
    msg.classList.remove('error');
    msg.textContent = 'trace handed to ui.perfetto.dev';
  } catch (e) {
    msg.classList.add('error');
    msg.textContent = `open in Perfetto: ${(e as Error).message}`;
  }
});
$('share').addEventListener('click', async () => {
  const url = pageUrl(`${location.origin}${location.pathname}`, formToQuery(panel.form));
  try {
    await navigator.clipboard.writeText(url);
    $('share').textContent = 'link copied';
  } catch {
    prompt('Share this link:', url);
  }
  setTimeout(() => ($('share').textContent = 'copy share link'), 2000);
});

// ---------------------------------------------------------------------------------------
// The headless driver's entry point, and ?run=1

window.dwdp = {
  ready,
  get webgpu() {
    return gpu
      ? gpu.ok
        ? { available: true, adapter: gpu.adapter }
        : { available: false, reason: gpu.reason }
      : { available: false, reason: 'not probed yet' };
  },
  async runScenario(s) {
    await ready;
    for (const k of Object.keys(s.fields))
      if (!isFieldKey(k)) throw new Error(`scenario ${s.name ?? ''}: unknown field '${k}'`);
    const form = scenarioForm(s);
    const parsed = panel.set(form);
    if (!parsed.config)
      throw new Error(
        `scenario ${s.name ?? ''}: ${Object.entries(parsed.errors)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}`,
      );
    return run(form);
  },
  last: () => comparison,
  async openLab() {
    await showView('lab');
    return (await openLab()).api;
  },
  async openE2e() {
    await showView('e2e');
    return (await openE2e()).api;
  },
  view: () => view,
  topologyFrames: () => views.topology?.frames() ?? 0,
  baseline: () => baseline,
  gantt: (which = 'current') => (which === 'baseline' ? views.baselineGantt : views.gantt) ?? null,
};

if (view !== 'bench') void showView(view);
void ready.then(() => {
  if (view === 'bench' && opened?.run) run(panel.form).catch((e) => console.warn('run=1 ended:', (e as Error).message));
});
