// A small, strict command-line parser: every option is declared, unknown ones are
// errors that list the known ones, and values are checked where they are read. Run options
// come from the option tables (src/options): their flags, help and checks derive from there,
// and their errors (OptionError, data) are worded here with flag names.
import { formatOptionError, OptionError } from '../options/error.ts';
import { GROUP_OPTION, isGroupOptionKey, optionHelp, type GroupOptionDecl } from '../options/group.ts';
import { SizeLimitError } from '../gpu/budget.ts';
import { nearestName, tryNearest } from '../util/nearest.ts';
import { OutputPathError } from '../util/output-path.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface OptionSpec {
  /** 'string' takes a value; 'flag' takes none; 'list' takes a value and may repeat. */
  kind: 'string' | 'flag' | 'list';
  help: string;
  /** Allowed values, checked at parse time. */
  choices?: readonly string[];
  placeholder?: string;
}

export type Spec = Record<string, OptionSpec>;

export interface ParsedArgs {
  values: Map<string, string>;
  lists: Map<string, string[]>;
  flags: Set<string>;
  positional: string[];
}

export function parseArgs(argv: string[], spec: Spec, opts: { positional?: boolean } = {}): ParsedArgs {
  const out: ParsedArgs = { values: new Map(), lists: new Map(), flags: new Set(), positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      if (!opts.positional) throw new UsageError(`unexpected argument '${arg}' (options start with --)`);
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const o = spec[name];
    if (!o) {
      const known = Object.keys(spec)
        .map((k) => `--${k}`)
        .join(' ');
      const near = nearestName(name, Object.keys(spec));
      throw new UsageError(`unknown option --${name}${near ? `; try --${near}` : ''}; known options: ${known}`);
    }
    if (o.kind === 'flag') {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      out.flags.add(name);
      continue;
    }
    const value: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--')))
      throw new UsageError(`--${name} needs a value (${o.placeholder ?? o.help})`);
    if (o.choices && !o.choices.includes(value)) {
      throw new UsageError(
        `--${name} must be one of ${o.choices.join(', ')} (got '${value}')${tryNearest(`--${name}`, value, o.choices)}`,
      );
    }
    if (o.kind === 'list') out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
    else {
      if (out.values.has(name)) throw new UsageError(`--${name} given twice`);
      out.values.set(name, value);
    }
  }
  return out;
}

/** Typed accessors that name the option in every error. */
export class Args {
  constructor(readonly parsed: ParsedArgs) {}

  has(name: string): boolean {
    return this.parsed.values.has(name) || this.parsed.flags.has(name) || this.parsed.lists.has(name);
  }

  str(name: string, fallback?: string): string {
    const v = this.parsed.values.get(name) ?? fallback;
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }

  optStr(name: string): string | undefined {
    return this.parsed.values.get(name);
  }

  list(name: string): string[] {
    return this.parsed.lists.get(name) ?? [];
  }

  flag(name: string): boolean {
    return this.parsed.flags.has(name);
  }

  /** A number, optionally an integer, within [min, max]. */
  num(name: string, fallback?: number, range: { min?: number; max?: number; int?: boolean } = {}): number {
    const raw = this.parsed.values.get(name);
    if (raw === undefined) {
      if (fallback === undefined) throw new UsageError(`--${name} is required`);
      return fallback;
    }
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number (got '${raw}')`);
    if (range.int && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer (got '${raw}')`);
    if (range.min !== undefined && v < range.min)
      throw new UsageError(`--${name} must be at least ${range.min} (got ${raw})`);
    if (range.max !== undefined && v > range.max)
      throw new UsageError(`--${name} must be at most ${range.max} (got ${raw})`);
    return v;
  }

  optNum(name: string, range: { min?: number; max?: number; int?: boolean } = {}): number | undefined {
    return this.parsed.values.has(name) ? this.num(name, undefined, range) : undefined;
  }

  /** on|off switch. */
  onOff(name: string, fallback: boolean): boolean {
    const v = this.parsed.values.get(name);
    if (v === undefined) return fallback;
    return v === 'on';
  }
}

/** `--set key=value` pairs as an object (values stay strings; the config coerces them by key). */
export function parseSetPairs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects key=value (got '${p}')`);
    out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return out;
}

/** Run options a single-layer run reads too (its own flags, declared with the group's). */
export const SHARED_WITH_LAYER_RUN = new Set(['seed', 'format', 'tokens']);

/** A declared option as a CLI flag: its help line carries the range and the default. */
export function flagSpec(o: GroupOptionDecl): OptionSpec {
  const values = o.kind === 'onoff' ? 'on|off' : o.kind === 'choice' ? o.choices!.join('|') : o.unit ? o.unit : 'n';
  return { kind: 'string', help: optionHelp(o), placeholder: values };
}

/** Flag names of the options of other tables (the rack model's), registered by their CLIs. */
const extraFlags = new Map<string, string>();
export function registerFlags(flags: Record<string, string>): void {
  for (const [k, v] of Object.entries(flags)) extraFlags.set(k, v);
}

/** An option's CLI name, for messages. */
export function flagOf(option: string): string {
  if (isGroupOptionKey(option)) return `--${GROUP_OPTION[option].flag}`;
  return extraFlags.get(option) ?? option;
}

/** An option error in CLI words: "--dwdp-local 5: … ; try --dwdp-local 4 --dwdp-pull 4". */
export function cliMessage(e: OptionError): string {
  return formatOptionError(e, flagOf, 'cli');
}

export function usage(command: string, summary: string, spec: Spec): string {
  const rows = Object.entries(spec).map(([name, o]) => {
    const arg = o.kind === 'flag' ? '' : ` <${o.placeholder ?? (o.choices ? o.choices.join('|') : 'value')}>`;
    const head = `  --${name}${arg}`;
    return (head.length < 40 ? head.padEnd(40) : `${head}  `) + o.help;
  });
  return `usage: ${command}\n${summary}\n\noptions:\n${rows.join('\n')}\n`;
}

/**
 * An entry point's command line: its arguments parsed against `spec`; or, where --help is
 * among them, null once the usage (`command`, `summary` and the spec's options) is printed.
 */
export function commandLine(command: string, summary: string, spec: Spec): Args | null {
  const args = new Args(parseArgs(process.argv.slice(2), spec));
  if (!args.flag('help')) return args;
  process.stdout.write(usage(command, summary, spec));
  return null;
}

/** Waits until everything written to `stream` so far has reached the OS (a pipe is written asynchronously). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

/**
 * Exits with `code` once stdout and stderr have been flushed. A bare process.exit() drops what
 * a pipe has not taken yet: `npm run sim -- --json | tool` lost everything past 64 KiB.
 */
export async function exitFlushed(code: number): Promise<never> {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

/**
 * A reader that stops early (`npm run sim -- --json | head`) closes the pipe: the next write fails
 * with EPIPE, which Node raises as an unhandled 'error' event (a stack trace, exit 1). The run's
 * output to that stream is then unwanted, but not its other work: a benchmark still writes its
 * results file and closes its browser. So the stream's writes are dropped from there on and the
 * run finishes as it would have. Installed once by runCli (and by CLIs that call exitFlushed
 * themselves).
 */
export function dropOutputOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    });
  }
}
let pipeGuarded = false;

/**
 * Errors in what the command line asked for, exit 2: usage and option errors, an output path
 * that cannot be written, sizes past a limit (checked before any work, naming the flags).
 */
export const isUsageProblem = (e: unknown): boolean =>
  [UsageError, OptionError, OutputPathError, SizeLimitError].some((kind) => e instanceof kind);

/**
 * Runs a CLI main: usage problems (isUsageProblem) print the message and exit 2, other errors
 * print `error: message` and exit 1. Exits explicitly (after flushing stdout and stderr) because
 * Dawn keeps Node alive.
 */
export async function runCli(main: () => Promise<void>): Promise<never> {
  dropOutputOnClosedPipe();
  try {
    await main();
    return await exitFlushed(0);
  } catch (e) {
    const err = e as Error;
    if (isUsageProblem(err)) {
      const msg = err instanceof OptionError ? cliMessage(err) : err.message;
      process.stderr.write(`error: ${msg}\n(run with --help for usage)\n`);
      return await exitFlushed(2);
    }
    process.stderr.write(`error: ${err.message}\n`);
    if (process.env.DWDP_DEBUG) process.stderr.write(`${err.stack}\n`);
    return await exitFlushed(1);
  }
}
