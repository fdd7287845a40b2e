// The field parsers the benchmark's panel (config.ts) and the shader lab's (lab-state.ts)
// share: each returns the value or throws FieldProblem with the message shown beside the
// field, which names the field by its label.
//
// Pure module (Node and browser).

/** A field's value is wrong; the message is what the panel shows beside it. */
export class FieldProblem extends Error {}

/** What was typed, as a message quotes it. */
export const got = (raw: string) => (raw.trim() === '' ? 'nothing' : `'${raw.trim()}'`);

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parsers for the fields of one panel, whose labels `labelOf` gives. */
export function fieldParsers<K extends string>(labelOf: (key: K) => string) {
  const num = (key: K, raw: string): number => {
    const t = raw.trim();
    if (!NUMBER.test(t)) throw new FieldProblem(`${labelOf(key)} must be a number (got ${got(raw)})`);
    return Number(t);
  };
  return {
    num,
    int(key: K, raw: string, min: number, max: number): number {
      const v = num(key, raw);
      if (!Number.isInteger(v) || v < min || v > max)
        throw new FieldProblem(`${labelOf(key)} must be an integer from ${min} to ${max} (got ${got(raw)})`);
      return v;
    },
    range(key: K, raw: string, min: number, max: number, unit = ''): number {
      const v = num(key, raw);
      if (v < min || v > max)
        throw new FieldProblem(`${labelOf(key)} must be between ${min} and ${max}${unit} (got ${got(raw)})`);
      return v;
    },
    choice<T extends string>(key: K, raw: string, allowed: readonly T[]): T {
      const t = raw.trim() as T;
      if (!allowed.includes(t))
        throw new FieldProblem(`${labelOf(key)} must be one of ${allowed.join(', ')} (got ${got(raw)})`);
      return t;
    },
  };
}
