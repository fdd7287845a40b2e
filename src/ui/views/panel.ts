// The configuration panel: one control per field of src/ui/fields.ts, grouped, each with its
// unit, a help line and a message slot. Every keystroke re-parses the whole form
// (src/ui/config.ts) and shows each field's message in place; fields that do not apply to
// the current choice (custom link numbers under a profile, DWDP options without DWDP,
// emulation-only fields for the modeled source; from the option table) are dimmed, not
// hidden, so nothing moves; set away from their defaults they are refused with a message.
import { PRESETS } from '../../model/presets.ts';
import { getProfile } from '../../hardware/profiles.ts';
import { parseForm } from '../config.ts';
import { GROUP_OPTION, type GroupOptionKey, type Source } from '../../options/group.ts';
import {
  FIELD,
  FIELDS,
  withLinkProfile,
  withModel,
  withSweepField,
  type FieldDef,
  type FieldGroup,
  type FieldKey,
  type FormState,
} from '../fields.ts';
import type { ParsedForm } from '../config.ts';
import { clear, fieldLabel, h } from './dom.ts';

const GROUPS: readonly { group: FieldGroup; title: string }[] = [
  { group: 'run', title: 'Run' },
  { group: 'model', title: 'Model' },
  { group: 'workload', title: 'Workload' },
  { group: 'group', title: 'Group' },
  { group: 'dwdp', title: 'DWDP' },
  { group: 'link', title: 'Link (NVLink stand-in)' },
  { group: 'time', title: 'Time' },
  { group: 'sweep', title: 'Sweep' },
];

/** Which strategies and sources read each field: from the option table (src/options/group.ts). */
const decl = (key: FieldKey) => (FIELD[key].option ? GROUP_OPTION[FIELD[key].option!] : undefined);

export interface Panel {
  readonly form: FormState;
  /** Replace every field (e.g. from a scenario) and re-validate. */
  set(form: FormState): ParsedForm;
  setBusy(busy: boolean): void;
}

export function buildPanel(
  root: HTMLElement,
  initial: FormState,
  onChange: (form: FormState, parsed: ParsedForm) => void,
): Panel {
  let form: FormState = { ...initial };
  const controls = new Map<
    FieldKey,
    { row: HTMLElement; input: HTMLElement; message: HTMLElement; read(): string; write(v: string): void }
  >();

  clear(root);
  for (const g of GROUPS) {
    const fs = h('fieldset', { class: `group group-${g.group}` }, h('legend', {}, g.title));
    for (const f of FIELDS.filter((x) => x.group === g.group)) {
      const c = control(f, () => changed(f.key));
      controls.set(f.key, c);
      fs.append(c.row);
    }
    root.append(fs);
  }
  const warnings = h('div', { class: 'panel-warnings', role: 'status' });
  root.append(warnings);

  function changed(key: FieldKey): void {
    const value = controls.get(key)!.read();
    if (key === 'sweep') {
      // The old values belonged to the old field: start the new one from its example values.
      form = withSweepField(form, value);
      controls.get('sweepValues')!.write(form.sweepValues);
    } else if (key === 'linkProfile') form = withLinkProfile(form, value);
    else if (key === 'model') {
      form = withModel(form, value);
      controls.get('hf')!.write(form.hf);
    } else form = { ...form, [key]: value };
    refresh();
  }

  function refresh(): ParsedForm {
    const parsed = parseForm(form);
    for (const [key, c] of controls) {
      const msg = parsed.errors[key];
      c.message.textContent = msg ?? '';
      c.row.classList.toggle('invalid', !!msg);
      c.input.setAttribute('aria-invalid', msg ? 'true' : 'false');
      c.row.classList.toggle('inapplicable', !applies(key, form));
    }
    // The link's numbers come from the profile unless it is custom: show them.
    const lp = form.linkProfile;
    for (const k of ['gbps', 'latency'] as const) {
      const input = controls.get(k)!.input as HTMLInputElement;
      input.disabled = lp !== 'custom';
      if (lp !== 'custom') {
        try {
          const p = getProfile(lp);
          input.value = String(k === 'gbps' ? p.linkGBpsPerDirection : p.linkLatencyUs);
        } catch {
          /* the select shows the error */
        }
      } else input.value = form[k];
    }
    controls.get('hf')!.row.hidden = form.model !== 'custom';
    controls.get('sweepValues')!.row.hidden = form.sweep === 'none';
    // Both sources read the hardware profile, each its own way: say which one this form's does.
    controls.get('dilation')!.row.querySelector('.help')!.textContent =
      form.source === 'modeled'
        ? 'The hardware the rack model runs on: its compute, memory and HBM (the link is the Link field’s).'
        : 'The time dilation target: the link is scaled by (this device’s GEMM rate ÷ the profile’s) so ' +
          'compute-to-pull ratios match that hardware; off: the link runs at its own numbers.';
    const preset = PRESETS[form.model];
    controls.get('model')!.input.title = preset ? preset.description : 'a Hugging Face config.json';
    clear(warnings);
    for (const w of parsed.warnings) warnings.append(h('p', { class: 'warning' }, w));
    onChange(form, parsed);
    return parsed;
  }

  refreshAll(form);
  function refreshAll(next: FormState): ParsedForm {
    form = { ...next };
    for (const [key, c] of controls) c.write(form[key]);
    return refresh();
  }

  return {
    get form() {
      return form;
    },
    set: refreshAll,
    setBusy(busy) {
      root.classList.toggle('busy', busy);
      for (const c of controls.values())
        for (const el of c.row.querySelectorAll('input, select, textarea')) (el as HTMLInputElement).disabled = busy;
      if (!busy) refresh(); // re-applies the profile's lock on the link numbers
    },
  };
}

function applies(key: FieldKey, form: FormState): boolean {
  const o = decl(key);
  if (!o) return true;
  if (o.sources && !o.sources.includes(form.source as Source)) return false;
  const chosen = form.strategies.split(',').map((s) => s.trim());
  if (o.usedBy && !o.usedBy.some((s) => chosen.includes(s))) return false;
  if (
    o.needs &&
    form[FIELD_OF_OPTION[o.needs.option]] !==
      (o.needs.value === true ? 'on' : o.needs.value === false ? 'off' : String(o.needs.value))
  )
    return false;
  return true;
}

const FIELD_OF_OPTION = Object.fromEntries(FIELDS.filter((f) => f.option).map((f) => [f.option!, f.key])) as Record<
  GroupOptionKey,
  FieldKey
>;

function control(f: FieldDef, onInput: () => void) {
  const id = `f-${f.key}`;
  const message = h('div', { class: 'message', id: `${id}-msg`, role: 'alert' });
  const help = h('div', { class: 'help' }, f.help);
  let input: HTMLElement;
  let read: () => string;
  let write: (v: string) => void;

  switch (f.input) {
    case 'select': {
      const sel = h(
        'select',
        { id, name: f.key, 'aria-describedby': `${id}-msg` },
        ...f.options!.map((o) => h('option', { value: o.value }, o.label)),
      );
      sel.addEventListener('change', onInput);
      input = sel;
      read = () => sel.value;
      write = (v) => {
        // A value from a URL that is not an option still shows (and fails validation visibly).
        if (![...sel.options].some((o) => o.value === v))
          sel.append(h('option', { value: v, 'data-foreign': '1' }, `${v} (unknown)`));
        sel.value = v;
      };
      break;
    }
    case 'toggle': {
      const box = h('input', { id, name: f.key, type: 'checkbox', role: 'switch' });
      box.addEventListener('change', onInput);
      input = box;
      read = () => (box.checked ? 'on' : 'off');
      write = (v) => {
        box.checked = v === 'on';
      };
      break;
    }
    case 'checks': {
      const wrap = h('div', { class: 'checks', id, role: 'group' });
      const boxes = f.options!.map((o) => {
        const box = h('input', { type: 'checkbox', value: o.value, name: `${f.key}-${o.value}` });
        box.addEventListener('change', onInput);
        wrap.append(h('label', { class: 'check' }, box, ` ${o.label}`));
        return box;
      });
      input = wrap;
      read = () =>
        boxes
          .filter((b) => b.checked)
          .map((b) => b.value)
          .join(',');
      write = (v) => {
        const on = v.split(',').map((s) => s.trim());
        for (const b of boxes) b.checked = on.includes(b.value);
      };
      break;
    }
    case 'textarea': {
      const ta = h('textarea', {
        id,
        name: f.key,
        rows: 6,
        spellcheck: 'false',
        placeholder: '{ "model_type": "deepseek_v3", … }',
        'aria-describedby': `${id}-msg`,
      });
      ta.addEventListener('input', onInput);
      const file = h('input', { type: 'file', accept: '.json,application/json', 'aria-label': 'upload config.json' });
      file.addEventListener('change', async () => {
        const picked = file.files?.[0];
        if (!picked) return;
        ta.value = await picked.text();
        onInput();
      });
      input = h('div', { class: 'hf' }, ta, h('label', { class: 'upload' }, 'or upload: ', file));
      read = () => ta.value;
      write = (v) => {
        ta.value = v;
      };
      break;
    }
    default: {
      const box = h('input', {
        id,
        name: f.key,
        type: 'text',
        inputmode: f.input === 'number' ? 'decimal' : 'text',
        autocomplete: 'off',
        spellcheck: 'false',
        'aria-describedby': `${id}-msg`,
        placeholder: f.key === 'local' || f.key === 'pull' ? 'auto' : f.key === 'sweepValues' ? 'e.g. 0, 0.2, 0.4' : '',
      });
      box.addEventListener('input', onInput);
      input = box;
      read = () => box.value;
      write = (v) => {
        box.value = v;
      };
    }
  }

  const label = fieldLabel(id, f);
  const row = h('div', { class: `field field-${f.key} input-${f.input}` }, label, input, message, help);
  return { row, input, message, read, write };
}
