// Results against the form: which fields changed since the shown results ran, in words, so
// the page can mark them stale ("Tokens per rank 1024 → 48") instead of presenting an earlier
// run as the current configuration's.
//
// Pure module (Node and browser).
import { FIELD, type FieldKey, type FormState } from './fields.ts';

export interface FieldChange {
  key: FieldKey;
  label: string;
  was: string;
  now: string;
}

const short = (v: string) => {
  const one = v.replace(/\s+/g, ' ').trim();
  return one === '' ? '(blank)' : one.length > 28 ? `${one.slice(0, 25)}…` : one;
};

/** The fields whose values differ between the form a result ran with and the current one. */
export function formChanges(ran: FormState, now: FormState): FieldChange[] {
  const out: FieldChange[] = [];
  for (const key of Object.keys(FIELD) as FieldKey[]) {
    const a = (ran[key] ?? '').trim();
    const b = (now[key] ?? '').trim();
    if (a !== b) out.push({ key, label: FIELD[key].label, was: short(a), now: short(b) });
  }
  return out;
}

/** One line: "Tokens per rank 1024 → 48; Ranks N 4 → 2". */
export function describeChanges(changes: readonly FieldChange[]): string {
  return changes.map((c) => `${c.label} ${c.was} → ${c.now}`).join('; ');
}
