// The shader lab view: choose a lab kernel and its shape (validated as you type, like the
// benchmark's panel), read the exact WGSL of every pipeline it runs (one tab per pipeline
// key), edit it in a WGSL editor, and Run: the unedited and the edited kernel run side by
// side on the same seeded inputs, in the page's lab worker (its pipeline overrides live
// there, never in the benchmark's worker). Compile errors come back at their line (underline,
// gutter marker, message list); other failures are reported in words.
//
// Data flow: URL → form → (valid) load the pipelines of that kernel and shape → editor
// states per pipeline → Run posts {spec, seed, edited texts} → report → results table.
// Edits live per pipeline key in sessionStorage, so a reload keeps them.
import type { EditorState } from '@codemirror/state';
import { setDiagnostics } from '@codemirror/lint';
import { LAB_REGISTRY } from '../../lab/registry.ts';
import type { LabKernelName } from '../../lab/types.ts';
import { WEBGPU_HOWTO, type GpuWorker, type LabSweepOutcome, type Probe } from '../gpu-runner.ts';
import { diagnosticsByKey, toEditorDiagnostics, type EditorDiagnostic } from '../lab-diagnostics.ts';
import type { LabPipeline, LabRunReport } from '../lab-runner.ts';
import {
  LAB_FIELDS,
  labCommand,
  labFieldsFor,
  parseLabForm,
  type LabFieldDef,
  type LabFieldKey,
  type LabForm,
  type LabRequestSpec,
  type ParsedLabForm,
} from '../lab-state.ts';
import { failureText, labAb, labAbText, labRows, labSpeedup } from '../lab-summary.ts';
import { clear, fieldLabel, h } from './dom.ts';
import { createWgslEditor, type WgslEditor } from './wgsl-editor.ts';

/** What the headless driver and the e2e test call (window.dwdp.lab). */
export interface LabApi {
  /** Resolves when the pipelines of the current form are loaded (or failed to load). */
  loaded(): Promise<string[]>;
  pipelines(): string[];
  select(key: string): void;
  text(key: string): string;
  original(key: string): string;
  /** Replace a pipeline's text as an edit (the same path as typing). */
  setText(key: string, code: string): void;
  run(): Promise<LabRunReport>;
  last(): LabRunReport | null;
  /** Sweep the kernel's configurations at this shape; the winner is stored for this GPU (later runs use it). */
  sweep(): Promise<LabSweepOutcome>;
}

export interface LabView {
  readonly form: LabForm;
  readonly api: LabApi;
  /** The page's WebGPU probe finished (the lab needs WebGPU to show and run kernels). */
  setProbe(probe: Probe): void;
}

const EDITS_KEY = 'webgpu-dwdp/lab-edits';

export function buildLabView(
  root: HTMLElement,
  worker: GpuWorker,
  initial: LabForm,
  onValid: (form: LabForm) => void,
): LabView {
  let form: LabForm = { ...initial };
  let parsed: ParsedLabForm = parseLabForm(form);
  let probe: Probe | null = null;
  let pipelines: LabPipeline[] = [];
  const originals = new Map<string, string>();
  const states = new Map<string, EditorState>();
  const errors = new Map<string, EditorDiagnostic[]>();
  let current: string | null = null;
  let loadedSig = '';
  let loading: Promise<void> = Promise.resolve();
  let loadToken = 0;
  let loadTimer: ReturnType<typeof setTimeout> | undefined;
  let running: AbortController | null = null;
  let report: LabRunReport | null = null;
  const saved = readSavedEdits();

  // ---- layout
  clear(root);
  const panel = h('form', { class: 'panel lab-panel', autocomplete: 'off', 'aria-label': 'lab kernel and shape' });
  panel.addEventListener('submit', (e) => e.preventDefault());
  const summary = h('p', { class: 'lab-kernel-summary' });
  const warnings = h('div', { class: 'panel-warnings', role: 'status' });
  const runBtn = h('button', { type: 'button', class: 'primary', id: 'lab-run' }, 'Run');
  const cancelBtn = h('button', { type: 'button', id: 'lab-cancel', disabled: true }, 'Cancel');
  const sweepBtn = h(
    'button',
    {
      type: 'button',
      id: 'lab-sweep',
      title:
        'Try every configuration of this kernel at this shape (unedited) and keep the fastest correct one for this GPU: ' +
        'later benchmark runs and lab runs without a variant use it',
    },
    'Sweep',
  );
  const status = h('span', { id: 'lab-status', role: 'status' }, 'ready');
  const elapsed = h('span', { id: 'lab-elapsed' });
  const resetOne = h(
    'button',
    {
      type: 'button',
      id: 'lab-reset',
      class: 'small',
      disabled: true,
      title: 'Put back the original WGSL of this pipeline (undoable)',
    },
    'reset to original',
  );
  const resetAll = h(
    'button',
    { type: 'button', id: 'lab-reset-all', class: 'small', disabled: true },
    'reset all pipelines',
  );
  const hint = h('p', { class: 'hint', id: 'lab-hint' });
  const unavailable = h('div', { class: 'banner', id: 'lab-no-webgpu', role: 'alert', hidden: true });
  const tabs = h('div', { class: 'lab-tabs', role: 'tablist', id: 'lab-tabs', 'aria-label': 'pipelines' });
  const origins = h('div', { class: 'lab-origins', id: 'lab-origins' });
  const editorBox = h('div', { class: 'lab-editor', id: 'lab-editor' });
  const loadNote = h('div', { class: 'lab-load-note', id: 'lab-load-note', role: 'status' });
  const errorList = h('ul', { class: 'lab-errors', id: 'lab-errors', 'aria-label': 'compile errors' });
  const results = h('section', {
    class: 'section lab-results',
    id: 'lab-results',
    hidden: true,
    'aria-label': 'lab results',
  });

  root.append(
    panel,
    h(
      'div',
      { class: 'lab-main' },
      h(
        'div',
        { class: 'runbar' },
        runBtn,
        sweepBtn,
        cancelBtn,
        h('div', { class: 'progress-wrap' }, h('div', { class: 'progress-line' }, status, elapsed)),
        h('div', { class: 'exports' }, resetOne, resetAll),
      ),
      hint,
      unavailable,
      h('section', { class: 'section lab-source' }, tabs, origins, loadNote, editorBox, errorList),
      results,
    ),
  );

  const editor: WgslEditor = createWgslEditor(editorBox, (state) => {
    if (current === null) return;
    states.set(current, state);
    saveEdit(current, state.doc.toString());
    renderTabs();
  });

  // ---- the panel: one control per lab field; rows of fields the kernel does not use are hidden
  const controls = new Map<LabFieldKey, ReturnType<typeof control>>();
  const fieldset = h('fieldset', { class: 'group' }, h('legend', {}, 'Shader lab'));
  for (const f of LAB_FIELDS) {
    const c = control(f, () => {
      form = { ...form, [f.key]: c.input.value };
      refresh();
    });
    c.write(form[f.key]);
    controls.set(f.key, c);
    fieldset.append(c.row);
    if (f.key === 'kernel') fieldset.append(summary);
  }
  panel.append(fieldset, warnings);

  function refresh(): void {
    parsed = parseLabForm(form);
    const shown = new Set(labFieldsFor(form.kernel.trim()).map((f) => f.key));
    for (const [key, c] of controls) {
      const msg = parsed.errors[key];
      c.row.hidden = !shown.has(key);
      c.message.textContent = msg ?? '';
      c.row.classList.toggle('invalid', !!msg);
      c.input.setAttribute('aria-invalid', msg ? 'true' : 'false');
    }
    const k = LAB_REGISTRY[form.kernel.trim() as LabKernelName];
    summary.textContent = k
      ? `${k.summary} · ${k.bound === 'compute' ? 'compute-bound: GFLOP/s against the FMA ceiling' : 'memory-bound: GB/s against the copy ceiling'}`
      : '';
    clear(warnings);
    for (const w of parsed.warnings) warnings.append(h('p', { class: 'warning' }, w));
    if (parsed.spec) {
      onValid(form);
      const seed = parsed.spec.seed;
      const command =
        seed === undefined
          ? labCommand(parsed.spec, 0).replace(/ --seed 0$/, ' --seed <new each run>')
          : labCommand(parsed.spec, seed);
      hint.textContent = `Same as: ${command}`;
      scheduleLoad();
    } else {
      hint.textContent = `Fix ${Object.keys(parsed.errors).length} field(s) to run.`;
    }
    updateButtons();
  }

  function updateButtons(): void {
    const gpuOk = probe?.ok === true;
    runBtn.disabled = !parsed.spec || running !== null || !gpuOk || pipelines.length === 0;
    sweepBtn.disabled = !parsed.spec || running !== null || !gpuOk;
    cancelBtn.disabled = running === null;
    const edited = current !== null && isEdited(current);
    resetOne.disabled = !edited;
    resetAll.disabled = !pipelines.some((p) => isEdited(p.key));
    for (const c of controls.values()) c.input.disabled = running !== null;
  }

  // ---- pipelines: loaded from the lab worker whenever the kernel, shape or variant changes

  function signature(): string {
    const s = parsed.spec!;
    return JSON.stringify({ k: s.kernel, s: s.shape, v: s.variant ?? null });
  }

  function scheduleLoad(): void {
    if (!probe?.ok || !parsed.spec) return;
    const sig = signature();
    if (sig === loadedSig) return;
    loadedSig = sig;
    clearTimeout(loadTimer);
    const token = ++loadToken;
    loadNote.textContent = 'loading the pipelines…';
    loading = new Promise<void>((resolve) => {
      loadTimer = setTimeout(() => void load(token, sig).finally(resolve), 300);
    });
  }

  async function load(token: number, sig: string): Promise<void> {
    const spec = parsed.spec;
    // The form changed while the load waited (say, an invalid value typed then undone):
    // forget what was scheduled so the next valid state loads again.
    if (!spec || signature() !== sig) {
      loadedSig = '';
      if (spec) scheduleLoad();
      return;
    }
    try {
      const r = await worker.labPrograms({
        kernel: spec.kernel,
        shape: spec.shape,
        variant: spec.variant,
        seed: spec.seed ?? 1,
      });
      if (token !== loadToken) return;
      if (r.failure) {
        setPipelines([]);
        loadNote.textContent = `Could not build ${spec.kernel} at this shape — ${failureText(r.failure)}`;
        loadNote.classList.add('error');
      } else {
        loadNote.textContent = '';
        loadNote.classList.remove('error');
        setPipelines(r.pipelines);
      }
    } catch (e) {
      if (token !== loadToken) return;
      loadedSig = ''; // let the next change (or Run) try again
      setPipelines([]);
      loadNote.textContent = `Could not load the pipelines: ${(e as Error).message}`;
      loadNote.classList.add('error');
    }
  }

  function setPipelines(list: LabPipeline[]): void {
    pipelines = list;
    for (const p of list) {
      originals.set(p.key, p.code);
      if (!states.has(p.key)) states.set(p.key, editor.newState(saved[p.key] ?? p.code));
    }
    const keep = current !== null && list.some((p) => p.key === current);
    if (!keep) select(list[0]?.key ?? null);
    else renderTabs();
    updateButtons();
  }

  function select(key: string | null): void {
    if (current !== null) states.set(current, editor.state);
    current = key;
    editor.show(key === null ? editor.newState('') : states.get(key)!);
    editorBox.hidden = key === null;
    renderTabs();
    renderOrigins();
    renderErrors();
    updateButtons();
  }

  const isEdited = (key: string) => {
    const s = key === current ? editor.state : states.get(key);
    return s !== undefined && originals.has(key) && s.doc.toString() !== originals.get(key);
  };

  function renderTabs(): void {
    clear(tabs);
    for (const p of pipelines) {
      const edited = isEdited(p.key);
      const nErr = errors.get(p.key)?.length ?? 0;
      const tab = h(
        'button',
        {
          type: 'button',
          role: 'tab',
          class: `lab-tab${p.key === current ? ' active' : ''}${edited ? ' edited' : ''}${nErr ? ' has-errors' : ''}`,
          'aria-selected': p.key === current ? 'true' : 'false',
          'data-key': p.key,
          title: p.key,
        },
        h('code', {}, p.key),
        edited ? h('span', { class: 'tag' }, 'edited') : null,
        nErr ? h('span', { class: 'tag bad' }, `${nErr} error${nErr > 1 ? 's' : ''}`) : null,
      );
      tab.addEventListener('click', () => select(p.key));
      tabs.append(tab);
    }
    updateButtons();
  }

  function renderOrigins(): void {
    clear(origins);
    const p = pipelines.find((x) => x.key === current);
    if (!p) return;
    origins.append(
      'The original program’s lines ',
      ...p.origins.flatMap((o, i) => [
        i ? ' · ' : '',
        h('span', { class: 'origin' }, `${o.first}–${o.last} `, h('code', {}, o.file)),
      ]),
      ': the exact program this pipeline was built from. Run compiles your text in its place (same entry point, bindings and constants).',
    );
  }

  function renderErrors(): void {
    clear(errorList);
    if (current === null) return;
    for (const d of errors.get(current) ?? []) {
      const li = h(
        'li',
        { class: 'lab-error', 'data-line': d.line },
        h('button', { type: 'button', class: 'small' }, `line ${d.line}:${d.column}`),
        ` ${d.message}${d.approximate ? ' (position approximate)' : ''}`,
      );
      li.querySelector('button')!.addEventListener('click', () =>
        editor.reveal(Math.min(d.from, editor.state.doc.length)),
      );
      errorList.append(li);
    }
  }

  /** Compile errors of a run onto their pipelines' editor states (and the list under the editor). */
  function showCompileErrors(byKey: Map<string, EditorDiagnostic[]>): void {
    for (const key of new Set([...errors.keys(), ...byKey.keys()])) {
      const list = byKey.get(key) ?? [];
      if (list.length) errors.set(key, list);
      else errors.delete(key);
      const state = key === current ? editor.state : states.get(key);
      if (!state) continue;
      const len = state.doc.length;
      const next = state.update(
        setDiagnostics(
          state,
          list.map((d) => ({
            from: Math.min(d.from, len),
            to: Math.min(d.to, len),
            severity: 'error' as const,
            source: 'WGSL compiler',
            message: d.message,
          })),
        ),
      ).state;
      states.set(key, next);
      if (key === current) editor.show(next);
    }
    const firstBad = [...byKey.keys()][0];
    if (firstBad !== undefined && firstBad !== current && pipelines.some((p) => p.key === firstBad)) select(firstBad);
    else {
      renderTabs();
      renderErrors();
    }
    const first = firstBad !== undefined ? byKey.get(firstBad)?.[0] : undefined;
    if (first) editor.reveal(Math.min(first.from, editor.state.doc.length));
  }

  function resetPipeline(key: string): void {
    const code = originals.get(key);
    if (code === undefined) return;
    if (key === current) editor.replaceText(code);
    else states.set(key, editor.newState(code));
    saveEdit(key, code);
  }

  resetOne.addEventListener('click', () => current !== null && resetPipeline(current));
  resetAll.addEventListener('click', () => {
    for (const p of pipelines) if (isEdited(p.key)) resetPipeline(p.key);
    renderTabs();
  });

  function saveEdit(key: string, code: string): void {
    if (code === originals.get(key)) delete saved[key];
    else saved[key] = code;
    try {
      sessionStorage.setItem(EDITS_KEY, JSON.stringify(saved));
    } catch {
      /* storage full or unavailable: edits still live in the page */
    }
  }

  // ---- runs

  async function run(): Promise<LabRunReport> {
    if (running) throw new Error('a lab run is already in progress');
    if (!probe?.ok)
      throw new Error(`WebGPU is unavailable${probe && !probe.ok ? ` (${probe.reason})` : ''}. ${WEBGPU_HOWTO}`);
    await loading;
    const spec = parsed.spec;
    if (!spec)
      throw new Error(
        `the lab form has errors: ${Object.entries(parsed.errors)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}`,
      );
    if (current !== null) states.set(current, editor.state);
    const edits: Record<string, string> = {};
    for (const p of pipelines) if (isEdited(p.key)) edits[p.key] = states.get(p.key)!.doc.toString();
    const seed = spec.seed ?? Math.floor(Math.random() * 2 ** 31);
    running = new AbortController();
    const started = performance.now();
    const tick = setInterval(
      () => (elapsed.textContent = `${((performance.now() - started) / 1000).toFixed(0)} s`),
      500,
    );
    status.classList.remove('error');
    status.textContent = `running (seed ${seed})…`;
    root.classList.add('running');
    updateButtons();
    try {
      const r = await worker.labRun(
        { kernel: spec.kernel, shape: spec.shape, variant: spec.variant, seed, runs: spec.runs, edits },
        { signal: running.signal, onProgress: (p) => (status.textContent = p.message) },
      );
      // A run that finished before the worker saw the cancel is still cancelled.
      running.signal.throwIfAborted();
      report = r;
      if (r.pipelines.length) setPipelines(r.pipelines);
      const compile =
        r.edited && !r.edited.ok && r.edited.failure.kind === 'compile' ? r.edited.failure.diagnostics : [];
      const byKey = new Map<string, EditorDiagnostic[]>();
      for (const [key, list] of diagnosticsByKey(compile)) byKey.set(key, toEditorDiagnostics(edits[key] ?? '', list));
      showCompileErrors(byKey);
      renderResults(r, spec);
      const failed = !r.original.ok || (r.edited !== null && !r.edited.ok);
      status.textContent = failed
        ? 'done, with a failure (see below)'
        : `done in ${((performance.now() - started) / 1000).toFixed(1)} s`;
      status.classList.toggle('error', failed);
      return r;
    } catch (e) {
      const cancelled = (e as Error)?.name === 'AbortError';
      status.textContent = cancelled ? 'cancelled' : `failed: ${(e as Error).message}`;
      status.classList.toggle('error', !cancelled);
      throw e;
    } finally {
      clearInterval(tick);
      elapsed.textContent = '';
      running = null;
      root.classList.remove('running');
      updateButtons();
    }
  }

  runBtn.addEventListener('click', () => {
    run().catch((e) => console.warn('lab run ended:', (e as Error).message));
  });

  async function sweep(): Promise<LabSweepOutcome> {
    const spec = parsed.spec;
    if (!spec) throw new Error('the lab form has errors');
    const seed = spec.seed ?? Math.floor(Math.random() * 2 ** 31);
    running = new AbortController();
    status.classList.remove('error');
    status.textContent = `sweeping ${spec.kernel} (seed ${seed})…`;
    root.classList.add('running');
    updateButtons();
    try {
      const r = await worker.labSweep(
        { kernel: spec.kernel, shape: spec.shape, seed, runs: spec.runs },
        { signal: running.signal, onProgress: (p) => (status.textContent = p.message) },
      );
      running.signal.throwIfAborted();
      if (!r.ok) status.textContent = `sweep failed: ${r.failure.message}`;
      else if (!r.report.best) status.textContent = 'sweep: no configuration passed its check (nothing stored)';
      else {
        const b = r.report.best;
        const tried = r.report.rows.length;
        status.textContent =
          `sweep: ${b.variant} fastest of ${tried} (${b.medianMs.toFixed(2)} ms, measured here)` +
          (r.report.recordedIn ? ', stored for this GPU: later runs use it' : ', not stored (no tuning store)');
      }
      status.classList.toggle('error', !r.ok || !r.report.best);
      return r;
    } catch (e) {
      const cancelled = (e as Error)?.name === 'AbortError';
      status.textContent = cancelled ? 'cancelled' : `sweep failed: ${(e as Error).message}`;
      status.classList.toggle('error', !cancelled);
      throw e;
    } finally {
      running = null;
      root.classList.remove('running');
      updateButtons();
    }
  }

  sweepBtn.addEventListener('click', () => {
    sweep().catch((e) => console.warn('lab sweep ended:', (e as Error).message));
  });
  cancelBtn.addEventListener('click', () => running?.abort(new DOMException('cancelled by the user', 'AbortError')));

  function renderResults(r: LabRunReport, spec: LabRequestSpec): void {
    const kernel = spec.kernel;
    clear(results);
    results.hidden = false;
    const speed = labSpeedup(r);
    const ab = labAb(r);
    const rows = labRows(r);
    const sideClass = (s: LabRunReport['original'] | null) =>
      s === null ? '' : !s.ok ? 'fail' : s.result.checkOk ? 'pass' : 'fail';
    results.append(
      h(
        'div',
        { class: 'provenance' },
        h('span', { class: 'badge measured' }, 'measured here'),
        ` on ${r.adapter} · ${kernel}, seed ${r.seed}, both sides on the same inputs · `,
        h('code', {}, labCommand(spec, r.seed)),
      ),
      ab !== null
        ? h(
            'p',
            { class: `lab-speed${ab.withinNoise ? ' within-noise' : ''}`, 'data-metric': 'speedup' },
            labAbText(ab),
          )
        : speed !== null
          ? h(
              'p',
              { class: 'lab-speed', 'data-metric': 'speedup' },
              `Edited kernel: ${speed.toFixed(3)}× the unedited one’s speed ` +
                '(median times, one after the other; the interleaved rounds did not finish, so no spread).',
            )
          : '',
      r.ignoredEdits.length
        ? h(
            'p',
            { class: 'note' },
            `Edits of ${r.ignoredEdits.length} pipeline(s) of another shape or variant were not used: ${r.ignoredEdits.join(', ')}.`,
          )
        : '',
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'summary-table lab-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, ''),
              h('th', { class: sideClass(r.original), 'data-side': 'original' }, 'unedited'),
              h(
                'th',
                { class: sideClass(r.edited), 'data-side': 'edited' },
                r.edited
                  ? `edited (${r.editedKeys.length} pipeline${r.editedKeys.length > 1 ? 's' : ''})`
                  : 'edited (no edits)',
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...rows.map((row) =>
              h(
                'tr',
                { 'data-row': row.id },
                h('td', {}, row.label),
                h(
                  'td',
                  { class: `num ${row.id === 'check' ? sideClass(r.original) : ''}`, 'data-side': 'original' },
                  row.original,
                ),
                h(
                  'td',
                  { class: `num ${row.id === 'check' ? sideClass(r.edited) : ''}`, 'data-side': 'edited' },
                  row.edited,
                ),
              ),
            ),
          ),
        ),
      ),
      h(
        'p',
        { class: 'note' },
        'Times are the kernel’s compute passes from GPU timestamp queries (host time where the adapter has none), ' +
          'after one warm-up run; the ceiling is this adapter’s, measured here with the lab’s peak (FMA loop) or copy kernel.',
      ),
    );
  }

  refresh();

  return {
    get form() {
      return form;
    },
    setProbe(p) {
      probe = p;
      if (!p.ok) {
        unavailable.hidden = false;
        clear(unavailable);
        unavailable.append(h('b', {}, 'The shader lab needs WebGPU: '), `${p.reason}. ${WEBGPU_HOWTO}`);
        loadNote.textContent = 'No WebGPU here: the lab cannot build or run kernels.';
      }
      refresh();
    },
    api: {
      loaded: async () => {
        await loading;
        return pipelines.map((p) => p.key);
      },
      pipelines: () => pipelines.map((p) => p.key),
      select: (key) => select(key),
      text: (key) => (key === current ? editor.text : (states.get(key)?.doc.toString() ?? '')),
      original: (key) => originals.get(key) ?? '',
      setText(key, code) {
        if (key !== current) select(key);
        editor.replaceText(code);
      },
      run,
      last: () => report,
      sweep,
    },
  };
}

function control(f: LabFieldDef, onInput: () => void) {
  const id = `lab-${f.key}`;
  const message = h('div', { class: 'message', id: `${id}-msg`, role: 'alert' });
  const help = h('div', { class: 'help' }, f.help);
  let input: HTMLInputElement | HTMLSelectElement;
  if (f.input === 'select') {
    input = h(
      'select',
      { id, name: f.key, 'aria-describedby': `${id}-msg` },
      ...f.options!.map((o) => h('option', { value: o }, o)),
    );
    input.addEventListener('change', onInput);
  } else {
    input = h('input', {
      id,
      name: f.key,
      type: 'text',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': `${id}-msg`,
      placeholder:
        f.key === 'seed' ? 'new each run' : f.key === 'variant' ? 'tuned or default' : f.key === 'mib' ? 'auto' : '',
    });
    input.addEventListener('input', onInput);
  }
  const label = fieldLabel(id, f);
  const row = h('div', { class: `field field-lab-${f.key} input-${f.input}` }, label, input, message, help);
  const write = (v: string) => {
    // A value from a URL that is not an option still shows (and fails validation visibly).
    if (input instanceof HTMLSelectElement && ![...input.options].some((o) => o.value === v))
      input.append(h('option', { value: v }, `${v} (unknown)`));
    input.value = v;
  };
  return { row, input, message, write };
}

function readSavedEdits(): Record<string, string> {
  try {
    const v = JSON.parse(sessionStorage.getItem(EDITS_KEY) ?? '{}') as unknown;
    return v && typeof v === 'object' ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}
