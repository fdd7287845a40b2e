// Plain-text tables for terminals and Markdown summaries.

export type Cell = string | number;

export interface TableOptions {
  /** Columns aligned right (default: every column whose cells are all numbers). */
  rightAlign?: boolean[];
}

/** Integers as they are; other numbers with 1–3 decimals by magnitude, exponent notation below 0.01. */
function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a >= 0.01) return v.toFixed(3);
  return v.toExponential(2);
}

function cells(headers: string[], rows: Cell[][], o: TableOptions): { text: string[][]; right: boolean[] } {
  const text = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmtNumber(c) : c)));
  const right = o.rightAlign ?? headers.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number'));
  return { text, right };
}

/** A boxed-free aligned table: header, rule, rows. */
export function formatTable(headers: string[], rows: Cell[][], o: TableOptions = {}): string {
  const { text, right } = cells(headers, rows, o);
  const widths = headers.map((h, j) => Math.max(h.length, ...text.map((r) => (r[j] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, j) => (right[j] ? c.padStart(widths[j]) : c.padEnd(widths[j])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}

/** The same table as GitHub Markdown. */
export function markdownTable(headers: string[], rows: Cell[][], o: TableOptions = {}): string {
  const { text, right } = cells(headers, rows, o);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map((_, j) => (right[j] ? '---:' : '---')).join(' | ')} |`,
    ...text.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
