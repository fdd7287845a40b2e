// The shape of an option declaration and the one parser every shell uses: the CLI reads a
// flag's text with it, the page a field's text, the scenario files a JSON value, and the
// library checks typed values with it. A declaration says everything once: key, names on
// every surface, kind, range or choices, default, unit and help.
//
// Pure module (Node and browser).
import { OptionError, d } from './error.ts';

export type OptionKind = 'int' | 'number' | 'choice' | 'onoff';
export type OptionValue = number | string | boolean;

export interface OptionDecl {
  /** Schema key: what errors carry. */
  key: string;
  kind: OptionKind;
  label: string;
  help: string;
  unit?: string;
  /** Inclusive bounds (numbers). */
  min?: number;
  max?: number;
  /** The lower bound is exclusive (a positive number). */
  minExclusive?: boolean;
  choices?: readonly string[];
  /** Undefined: the option is optional and has no default (e.g. "automatic"). */
  default?: OptionValue;
}

/** Strict number syntax: what the page and the CLI accept (no hex, no blanks, no Infinity). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The range a numeric option's message states. */
export function rangeText(o: OptionDecl): string {
  const unit = o.unit ? ` ${o.unit}` : '';
  if (o.kind === 'int') {
    if (o.max === undefined) return `an integer ≥ ${o.min ?? 0}`;
    return `an integer from ${o.min ?? 0} to ${o.max}`;
  }
  if (o.minExclusive && o.max === undefined) return `a positive number${o.unit ? ` of ${o.unit}` : ''}`;
  if (o.minExclusive) return `a number above ${o.min ?? 0} and at most ${o.max}${unit}`;
  if (o.max === undefined) return `a number ≥ ${o.min ?? 0}${unit}`;
  return `between ${o.min} and ${o.max}${unit}`;
}

/** Checks a typed value against its declaration; throws OptionError. */
export function checkValue(o: OptionDecl, v: unknown, raw: unknown = v): OptionValue {
  switch (o.kind) {
    case 'int':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new OptionError(o.key, raw, d`must be a number`);
      const intBad = o.kind === 'int' && !Number.isInteger(v);
      const low = o.min !== undefined && (o.minExclusive ? !(v > o.min) : v < o.min);
      const high = o.max !== undefined && v > o.max;
      if (intBad || low || high) {
        const near = high ? o.max! : low && !o.minExclusive ? o.min! : undefined;
        throw new OptionError(
          o.key,
          raw,
          d`must be ${rangeText(o)}`,
          near === undefined ? [] : [{ option: o.key, value: near }],
        );
      }
      return v;
    }
    case 'choice':
      if (typeof v !== 'string' || !o.choices!.includes(v))
        throw new OptionError(o.key, raw, d`must be one of ${o.choices!.join(', ')}`);
      return v;
    case 'onoff':
      if (typeof v !== 'boolean') throw new OptionError(o.key, raw, d`must be one of on, off`);
      return v;
  }
}

/** Parses an option's text (a CLI flag's value, a page field) and checks it; throws OptionError. */
export function parseText(o: OptionDecl, raw: string): OptionValue {
  const t = raw.trim();
  switch (o.kind) {
    case 'int':
    case 'number':
      if (!NUMBER.test(t)) throw new OptionError(o.key, raw, d`must be a number`);
      return checkValue(o, Number(t), raw);
    case 'choice':
      return checkValue(o, t, raw);
    case 'onoff':
      if (t !== 'on' && t !== 'off') throw new OptionError(o.key, raw, d`must be one of on, off`);
      return t === 'on';
  }
}

/** Parses a JSON value (a scenario file's); booleans for on/off options, numbers for numeric ones. */
export function parseJson(o: OptionDecl, v: unknown): OptionValue {
  if (o.kind === 'onoff') {
    if (typeof v !== 'boolean') throw new OptionError(o.key, JSON.stringify(v) ?? String(v), d`must be true or false`);
    return v;
  }
  if ((o.kind === 'int' || o.kind === 'number') && typeof v !== 'number')
    throw new OptionError(o.key, JSON.stringify(v) ?? String(v), d`must be a number`);
  return checkValue(o, v);
}

/** "an integer from 1 to 64 (default 4)" — the help line's tail every surface shows. */
export function defaultText(o: OptionDecl): string {
  if (o.default === undefined) return '';
  const v = typeof o.default === 'boolean' ? (o.default ? 'on' : 'off') : String(o.default);
  return `default ${v}`;
}
