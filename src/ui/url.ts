// The whole configuration in the URL, so a run can be shared: one query parameter per field
// that differs from its default (short links), the pasted config.json as base64url.
//
// Pure module (Node and browser).
import { FIELDS, defaultForm, type FormState } from './fields.ts';

export function formToQuery(form: FormState): string {
  const q = new URLSearchParams();
  for (const f of FIELDS) {
    const v = form[f.key];
    if (v === f.default) continue;
    q.set(f.param, f.key === 'hf' ? toBase64Url(v) : v);
  }
  return q.toString();
}

/** The page at `base` with a form's query (none when every field is at its default). */
export function pageUrl(base: string, query: string): string {
  return query ? `${base}?${query}` : base;
}

/** Parameters the page reads besides the fields: `run=1` starts a run on load, `view` picks the view. */
export const PAGE_PARAMS: readonly string[] = ['run', 'view'];

export interface QueryForm {
  form: FormState;
  /** Parameters that set nothing, as `key=value` (unknown keys, repeats of a field, a `run` other than 1), in order. */
  ignored: string[];
  /** `run=1`: start a run once the page is ready. */
  run: boolean;
}

/** The form a query describes, and what in it was ignored (the page says so rather than dropping it silently). */
export function readQuery(query: string): QueryForm {
  const q = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const known = new Set([...FIELDS.map((f) => f.param), ...PAGE_PARAMS]);
  const seen = new Set<string>();
  const ignored: string[] = [];
  for (const [k, v] of q) {
    const shown = v === '' ? k : `${k}=${v}`;
    if (!known.has(k) || seen.has(k) || (k === 'run' && v !== '1')) ignored.push(shown);
    seen.add(k);
  }
  return { form: queryToForm(query), ignored, run: q.get('run') === '1' };
}

/** Defaults for every field the query does not name; unknown parameters are ignored (readQuery lists them). */
export function queryToForm(query: string): FormState {
  const q = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const form = defaultForm();
  for (const f of FIELDS) {
    const v = q.get(f.param);
    if (v === null) continue;
    if (f.key === 'hf') {
      try {
        form.hf = fromBase64Url(v);
      } catch {
        form.hf = v; // not base64: let validation say what is wrong with it
      }
    } else {
      form[f.key] = v;
    }
  }
  return form;
}

export function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(b64: string): string {
  const bin = atob(b64.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
