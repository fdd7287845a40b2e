// Option errors as data. A check names the option at fault by its schema key, the value it
// got, what is wrong (`detail`, which may refer to other options by key) and, where one
// exists, a valid choice (`suggestion`: option values to set). Each shell words it its own
// way: the CLI with flag names ("--dwdp-local 5: … try --dwdp-local 4 --dwdp-pull 4"), the
// page with field labels ("L (experts held) … (got '5'); try L (experts held) = 4, …").
// Nothing ever parses a message back.
//
// Pure module (Node and browser).

/** A piece of an error's detail: text, or a reference to another option (named by the shell). */
export type DetailPart = string | { option: string };

/** Option values that would be valid together. */
export interface Suggestion {
  option: string;
  value: string | number | boolean;
}

export class OptionError extends Error {
  override name = 'OptionError';
  constructor(
    /** The schema key of the option at fault. */
    readonly option: string,
    /** The value it got (raw text or parsed value; undefined when it is missing). */
    readonly value: unknown,
    readonly detail: readonly DetailPart[],
    readonly suggestion: readonly Suggestion[] = [],
  ) {
    super(formatOptionError({ option, value, detail, suggestion }, (k) => k, 'plain'));
  }
}

/** Tagged template for a detail: `d\`cannot exceed ${ref('tokens')}\`` → ['cannot exceed ', {option: 'tokens'}]. */
export function d(strings: TemplateStringsArray, ...parts: (DetailPart | number)[]): DetailPart[] {
  const out: DetailPart[] = [];
  strings.forEach((s, i) => {
    if (s) out.push(s);
    if (i < parts.length) out.push(typeof parts[i] === 'number' ? String(parts[i]) : (parts[i] as DetailPart));
  });
  return out;
}

export const ref = (option: string): DetailPart => ({ option });

/** What a value looks like in a message. */
export function shownValue(v: unknown, quote: boolean): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return 'nothing';
    return quote ? `'${t}'` : t;
  }
  return String(v);
}

export interface OptionErrorData {
  option: string;
  value: unknown;
  detail: readonly DetailPart[];
  suggestion: readonly Suggestion[];
}

/**
 * Words an option error. `name` gives an option's name in the shell's words.
 *   cli:   "--ranks 65: must be an integer from 1 to 64; try --ranks 64"
 *   page:  "Ranks N must be an integer from 1 to 64 (got '65'); try Ranks N = 64"
 *   plain: "ranks 65: …" (schema keys; what Error.message holds for logs)
 */
export function formatOptionError(
  e: OptionErrorData,
  name: (option: string) => string,
  style: 'cli' | 'page' | 'plain',
): string {
  const detail = e.detail.map((p) => (typeof p === 'string' ? p : name(p.option))).join('');
  const page = style === 'page';
  const head =
    e.value === undefined
      ? `${name(e.option)} ${detail}`
      : page
        ? `${name(e.option)} ${detail} (got ${shownValue(e.value, true)})`
        : `${name(e.option)} ${shownValue(e.value, false)}: ${detail}`;
  if (e.suggestion.length === 0) return head;
  const tries = e.suggestion.map((s) => (page ? `${name(s.option)} = ${s.value}` : `${name(s.option)} ${s.value}`));
  return `${head}; try ${tries.join(page ? ', ' : ' ')}`;
}
