// Bench scenarios (bench/scenarios/*.json) and the baseline check (bench/baseline.json).
//
// A scenario is a named set of page fields — the same fields as the panel and the URL — so a
// scenario, a shared link and a click on Run are the same run:
//   { "name": "imbalance", "description": "…", "fields": { "cv": 0.2, "sweep": "cv", "sweepValues": "0,0.2,0.4" } }
// The baseline holds ratios only (never absolute times: those depend on the adapter and the
// machine's load), each with a relative tolerance:
//   { "defaultTolerance": 0.2, "scenarios": { "imbalance": { "ratios": { "dwdp/dep TPS/GPU @ cv=0": { "value": 1.01, "tolerance": 0.2 } } } } }
// A ratio moved when |got ÷ baseline − 1| > tolerance.
//
// Pure module (Node and browser).
import { parseForm, type ParsedForm } from './config.ts';
import { defaultForm, isFieldKey, type FormState } from './fields.ts';
import type { Ratio } from './compare.ts';

export interface Scenario {
  name: string;
  description: string;
  fields: Record<string, string | number | boolean>;
}

/** Checks a parsed scenario file; throws naming the file and the problem. */
export function validateScenario(json: unknown, file: string): Scenario {
  const bad = (m: string): never => {
    throw new Error(`${file}: ${m}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    bad('a scenario is a JSON object with name, description and fields');
  const o = json as Record<string, unknown>;
  if (typeof o.name !== 'string' || !o.name) bad('"name" must be a non-empty string');
  if (typeof o.description !== 'string') bad('"description" must be a string');
  if (typeof o.fields !== 'object' || o.fields === null || Array.isArray(o.fields))
    bad('"fields" must be an object of page fields');
  for (const [k, v] of Object.entries(o.fields as object)) {
    if (!isFieldKey(k)) bad(`unknown field '${k}'`);
    if (!['string', 'number', 'boolean'].includes(typeof v)) bad(`field '${k}' must be a string, number or boolean`);
  }
  const known = new Set(['name', 'description', 'fields']);
  for (const k of Object.keys(o)) if (!known.has(k)) bad(`unknown key '${k}' (keys: name, description, fields)`);
  // The page reads 'hf' only for model 'custom': with a preset it would be silently ignored.
  const fields = o.fields as Record<string, unknown>;
  if (fields.hf !== undefined && fields.model !== 'custom')
    bad(
      `fields 'hf' and 'model' conflict: 'hf' (a config.json) is used only with "model": "custom", ` +
        `but model is ${fields.model === undefined ? `the default preset '${defaultForm().model}'` : `'${String(fields.model)}'`}; ` +
        `set "model": "custom" or remove 'hf'`,
    );
  return o as unknown as Scenario;
}

/** The page form of a scenario: defaults, then its fields (booleans as on/off). */
export function scenarioForm(s: Pick<Scenario, 'fields'>): FormState {
  const form = defaultForm();
  for (const [k, v] of Object.entries(s.fields))
    if (isFieldKey(k)) form[k] = typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);
  return form;
}

/** Parse a scenario's form; the errors carry the scenario's name. */
export function parseScenario(s: Scenario): ParsedForm & { form: FormState } {
  const form = scenarioForm(s);
  return { ...parseForm(form), form };
}

export interface BaselineEntry {
  value: number;
  tolerance?: number;
}

export interface Baseline {
  about?: string;
  recorded?: Record<string, unknown>;
  defaultTolerance: number;
  /** Per scenario: its ratios, and a tolerance for all of them (else defaultTolerance). */
  scenarios: Record<string, { tolerance?: number; ratios: Record<string, BaselineEntry> }>;
}

export interface CheckRow {
  ratio: string;
  baseline: number;
  got: number | null;
  tolerance: number;
  /** got ÷ baseline − 1 (null when missing). */
  change: number | null;
  status: 'ok' | 'moved' | 'missing';
}

export interface CheckResult {
  rows: CheckRow[];
  /** Ratios this run has that the baseline does not (reported, not failed). */
  unchecked: string[];
  ok: boolean;
}

/**
 * Checks a parsed baseline file's shape; throws naming the file and the key at fault
 * (file: how to name it, e.g. "--baseline bench/baseline.json").
 */
export function validateBaseline(json: unknown, file: string): Baseline {
  const bad = (key: string, m: string): never => {
    throw new Error(`${file}: ${key ? `'${key}' ` : ''}${m}`);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const tol = (v: unknown, key: string) => {
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v)))
      bad(key, `must be a non-negative number (a relative tolerance), got ${JSON.stringify(v)}`);
  };
  if (!isObj(json)) bad('', 'a baseline is a JSON object with defaultTolerance and scenarios');
  const o = json as Record<string, unknown>;
  if (o.defaultTolerance === undefined) bad('defaultTolerance', 'is missing');
  tol(o.defaultTolerance, 'defaultTolerance');
  if (!isObj(o.scenarios)) bad('scenarios', 'must be an object of scenario name → { ratios }');
  for (const [name, entry] of Object.entries(o.scenarios as object)) {
    const at = `scenarios.${name}`;
    if (!isObj(entry)) bad(at, 'must be an object with ratios');
    const e = entry as Record<string, unknown>;
    tol(e.tolerance, `${at}.tolerance`);
    if (!isObj(e.ratios)) bad(`${at}.ratios`, 'must be an object of ratio name → { value, tolerance? }');
    for (const [ratio, r] of Object.entries(e.ratios as object)) {
      const rat = `${at}.ratios.${ratio}`;
      if (!isObj(r)) bad(rat, 'must be an object { value, tolerance? }');
      const v = (r as Record<string, unknown>).value;
      if (!(typeof v === 'number' && Number.isFinite(v) && v !== 0))
        bad(`${rat}.value`, `must be a non-zero number, got ${JSON.stringify(v)}`);
      tol((r as Record<string, unknown>).tolerance, `${rat}.tolerance`);
    }
  }
  if (o.recorded !== undefined && !isObj(o.recorded)) bad('recorded', 'must be an object');
  return o as unknown as Baseline;
}

/** Compare a run's ratios with the scenario's baseline. Throws when the baseline has no entry for it. */
export function checkRatios(
  scenario: string,
  ratios: readonly Ratio[],
  baseline: Baseline,
  file = 'bench/baseline.json',
): CheckResult {
  const entry = baseline.scenarios[scenario];
  if (!entry)
    throw new Error(
      `${file} has no ratios for scenario '${scenario}' (it has: ${Object.keys(baseline.scenarios).join(', ') || 'none'}); record them with --update-baseline`,
    );
  const got = new Map(ratios.map((r) => [r.name, r.value]));
  const rows: CheckRow[] = Object.entries(entry.ratios).map(([ratio, b]) => {
    const tolerance = b.tolerance ?? entry.tolerance ?? baseline.defaultTolerance;
    const v = got.get(ratio);
    if (v === undefined || !Number.isFinite(v))
      return { ratio, baseline: b.value, got: v ?? null, tolerance, change: null, status: 'missing' };
    const change = v / b.value - 1;
    return {
      ratio,
      baseline: b.value,
      got: v,
      tolerance,
      change,
      status: Math.abs(change) <= tolerance ? 'ok' : 'moved',
    };
  });
  const unchecked = ratios.map((r) => r.name).filter((n) => !(n in entry.ratios));
  return { rows, unchecked, ok: rows.every((r) => r.status === 'ok') };
}

/** The baseline with this scenario's ratios replaced by the run's (tolerances kept where set). */
export function updatedBaseline(
  baseline: Baseline,
  scenario: string,
  ratios: readonly Ratio[],
  recorded: Record<string, unknown>,
): Baseline {
  const prev = baseline.scenarios[scenario];
  const old = prev?.ratios ?? {};
  const next: Record<string, BaselineEntry> = {};
  for (const r of ratios)
    next[r.name] = {
      value: Number(r.value.toPrecision(6)),
      ...(old[r.name]?.tolerance !== undefined ? { tolerance: old[r.name].tolerance } : {}),
    };
  return {
    ...baseline,
    recorded: { ...(baseline.recorded ?? {}), [scenario]: recorded },
    scenarios: {
      ...baseline.scenarios,
      [scenario]: { ...(prev?.tolerance !== undefined ? { tolerance: prev.tolerance } : {}), ratios: next },
    },
  };
}

/** The form as a scenario file: only the fields that differ from their defaults. */
export function formScenario(form: FormState, name: string, description: string): Scenario {
  const defaults = defaultForm();
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) if (isFieldKey(k) && v !== defaults[k]) fields[k] = v;
  return { name, description, fields };
}
