// The page's "End to end" view: pick an end-to-end scenario (built in, or a scenario file with
// "mode": "e2e"), run the end-to-end model in a worker (e2e-worker.ts: the same runE2e as
// `npm run sim -- --scenario <e2e>`), and show the result with renderE2eView (Pareto chart,
// per-band table, context/generation split) and its validation rows. Two downloads:
//   results JSON              what `npm run sim -- --scenario <e2e> --json` prints
//   export for TensorRT-LLM   one JSON bundle (TrtllmBundle) holding every file `--export-trtllm DIR`
//                             writes, each as its path and text, with the command that unpacks it
// Nothing here needs WebGPU: everything the view shows is modeled, and says so.
import { resolveScenarioModel } from '../../options/scenario.ts';
import { E2E_SCENARIOS, parseE2eScenario, publishedSettingDifferences, type E2eSpec } from '../../sim/e2e/scenario.ts';
import { trtllmBundle, type TrtllmBundle } from '../../sim/export-trtllm.ts';
import { E2eRunner, type E2eRun } from '../e2e-runner.ts';
import { clear, download, fmt, h } from './dom.ts';
import { renderE2eView } from './e2e-view.ts';

/** What the headless driver and the browser test use (window.dwdp.openE2e()). */
export interface E2eApi {
  /** Runs a built-in scenario by name (default: the one picked) and shows it. */
  run(name?: string): Promise<E2eRun>;
  last(): E2eRun | null;
  /** The bundle the TensorRT-LLM button downloads, or null (no run, or the export was refused). */
  bundle(): TrtllmBundle | null;
}

export interface E2ePageView {
  api: E2eApi;
}

/** The JSON `npm run sim -- --scenario <e2e> --json` prints (Infinity written as null). */
export function e2eResultJson(r: Pick<E2eRun, 'result' | 'validation'>): string {
  return JSON.stringify({ ...r.result, validation: r.validation }, (_, v) => (v === Infinity ? null : v), 2) + '\n';
}

export function buildE2ePage(root: HTMLElement): E2ePageView {
  const runner = new E2eRunner();
  const specs = new Map<string, E2eSpec>(Object.entries(E2E_SCENARIOS));
  let last: E2eRun | null = null;
  let running = false;

  const pick = h(
    'select',
    { id: 'e2e-scenario', 'aria-label': 'end-to-end scenario' },
    ...[...specs.values()].map((s) => h('option', { value: s.name, title: s.description ?? '' }, s.name)),
  );
  const file = h('input', { id: 'e2e-load', type: 'file', accept: '.json,application/json' });
  const runBtn = h('button', { id: 'e2e-run', type: 'button', class: 'primary' }, 'Run the end-to-end model');
  const status = h('span', { id: 'e2e-status', role: 'status' }, 'ready');
  const jsonBtn = h(
    'button',
    { id: 'e2e-export-json', type: 'button', disabled: true, title: 'what npm run sim -- --scenario … --json prints' },
    'results JSON',
  );
  const trtBtn = h(
    'button',
    {
      id: 'e2e-export-trtllm',
      type: 'button',
      disabled: true,
      title:
        'one JSON bundle holding every file npm run sim -- --scenario … --export-trtllm DIR writes ' +
        '(context, generation and launch YAML per band and strategy, and a README); it says how to unpack it',
    },
    'export for TensorRT-LLM',
  );
  const about = h('p', { class: 'help', id: 'e2e-about' });
  const out = h('div', { id: 'e2e-results', class: 'section', 'aria-live': 'polite' });
  const validation = h('div', { id: 'e2e-validation', class: 'section' });

  const describe = () => {
    const s = specs.get(pick.value);
    about.textContent = s ? (s.description ?? '') : '';
  };
  pick.addEventListener('change', describe);
  describe();

  const fail = (msg: string) => {
    status.textContent = msg;
    status.classList.add('error');
  };

  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    file.value = '';
    if (!f) return;
    try {
      const spec = parseE2eScenario(JSON.parse((await f.text()).replace(/^\uFEFF/, '')), f.name.replace(/\.json$/, ''));
      // A config.json path is read by the command line only: refused here, naming the key and the file.
      if (spec.model !== undefined) resolveScenarioModel(spec.model, f.name);
      specs.set(spec.name, spec);
      if (![...pick.options].some((o) => o.value === spec.name))
        pick.append(h('option', { value: spec.name }, spec.name));
      pick.value = spec.name;
      describe();
      status.classList.remove('error');
      status.textContent = `loaded ${f.name}: Run to model it`;
    } catch (e) {
      fail(`could not load ${f.name}: ${(e as Error).message}`);
    }
  });

  const show = (r: E2eRun) => {
    renderE2eView(out, r.result);
    clear(validation);
    const differs = publishedSettingDifferences(r.result);
    if (differs.length > 0)
      validation.append(
        h(
          'p',
          { class: 'e2e-not-compared' },
          `Not compared with the published end-to-end results: this run is not at their setting (${differs.join(', ')}).`,
        ),
      );
    if (r.validation.length > 0) {
      const head = ['quantity', 'TPS/user band', 'published', 'modeled', 'error', 'source'];
      const num = (x: number) => (Math.abs(x) >= 100 ? fmt(x, 0) : x.toFixed(3));
      validation.append(
        h('h4', {}, 'Against the published end-to-end results (validation only: nothing was fitted to them)'),
        h(
          'table',
          { class: 'e2e-validation' },
          h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
          h(
            'tbody',
            {},
            ...r.validation.map((v) =>
              h(
                'tr',
                {},
                h('td', {}, v.quantity),
                h(
                  'td',
                  {},
                  `${v.setting.replace(/^.*TPS\/user /, '')}${v.experiment === null ? '' : ` (model at ${v.experiment})`}`,
                ),
                h('td', {}, num(v.published)),
                h('td', {}, v.modeled === null ? '–' : num(v.modeled)),
                h('td', {}, v.error === null ? '–' : `${(v.error * 100).toFixed(0)}%`),
                h('td', {}, v.source),
              ),
            ),
          ),
        ),
      );
    }
    jsonBtn.disabled = false;
    const refused = 'error' in r.exported ? r.exported.error : null;
    trtBtn.disabled = refused !== null;
    trtBtn.title = refused ?? trtBtn.title;
  };

  const run = async (name = pick.value): Promise<E2eRun> => {
    const spec = specs.get(name);
    if (!spec) throw new Error(`no end-to-end scenario '${name}' (known: ${[...specs.keys()].join(', ')})`);
    if (running) throw new Error('an end-to-end run is already in progress');
    running = true;
    runBtn.disabled = true;
    status.classList.remove('error');
    status.textContent = `modeling ${name}…`;
    try {
      const r = await runner.run(spec);
      last = r;
      show(r);
      status.textContent =
        `done: ${r.result.pointsSearched} deployments searched in ${(r.elapsedMs / 1000).toFixed(1)} s ` +
        `(measured here); every number shown is modeled on ${r.result.profile.id}`;
      return r;
    } catch (e) {
      fail(`failed: ${(e as Error).message}`);
      throw e;
    } finally {
      running = false;
      runBtn.disabled = false;
    }
  };

  const bundle = (): TrtllmBundle | null =>
    last && 'files' in last.exported ? trtllmBundle(last.result, last.exported.files) : null;

  runBtn.addEventListener('click', () => void run().catch((e) => console.warn('e2e run ended:', (e as Error).message)));
  jsonBtn.addEventListener('click', () => {
    if (last) download(`${last.result.scenario}-e2e.json`, e2eResultJson(last));
  });
  trtBtn.addEventListener('click', () => {
    const b = bundle();
    if (b) download(`${b.scenario}-trtllm.json`, JSON.stringify(b, null, 2) + '\n');
  });

  clear(root);
  root.append(
    h(
      'section',
      { class: 'results e2e-page', 'aria-label': 'end to end' },
      h('h2', {}, 'End to end: disaggregated serving, output TPS/GPU against TPS/user'),
      h(
        'p',
        { class: 'hint' },
        'A context pool (DEP servers or DWDP groups) feeds a wide-EP generation pool; every deployment of the ' +
          'scenario is searched and each strategy’s Pareto frontier drawn. ',
        h('span', { class: 'badge modeled' }, 'modeled'),
        ' on a hardware profile, no GPU needed (docs/e2e.md); the same numbers as ',
        h('code', {}, 'npm run sim -- --scenario r1-e2e-pareto'),
        '.',
      ),
      h(
        'div',
        { class: 'runbar' },
        h('label', { class: 'label', for: 'e2e-scenario' }, 'Scenario '),
        pick,
        h('label', { class: 'load-json', title: 'a scenario file with "mode": "e2e"' }, 'load scenario file ', file),
        runBtn,
        status,
        h('div', { class: 'exports' }, jsonBtn, trtBtn),
      ),
      about,
      out,
      validation,
    ),
  );
  return { api: { run, last: () => last, bundle } };
}
