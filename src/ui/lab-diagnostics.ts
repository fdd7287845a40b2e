// WGSL compile diagnostics → editor positions, and where each line of a pipeline's program
// came from. The lab compiles an edited pipeline as one part named `<edited: KEY>`
// (src/gpu/shaders.ts setPipelineOverride), so a diagnostic's line and column are the
// editor's own (1-based; columns in UTF-16 code units, as GPUCompilationMessage.linePos and
// JS strings count them).
//
// Pure module (Node and browser).
import type { ShaderDiagnostic } from '../gpu/errors.ts';

/** A diagnostic as an editor range (character offsets into the document). */
export interface EditorDiagnostic {
  from: number;
  to: number;
  /** 1-based line and column where the editor shows it. */
  line: number;
  column: number;
  message: string;
  /** The compiler named a position outside the text (shown at the nearest line). */
  approximate: boolean;
}

const EDITED = /^<edited: (.*)>$/;

/** The pipeline key of an edited program's diagnostic file name, else undefined. */
export function editedKeyOf(file: string): string | undefined {
  return EDITED.exec(file)?.[1];
}

/** Diagnostics of edited programs, grouped by pipeline key (others are dropped). */
export function diagnosticsByKey(diags: readonly ShaderDiagnostic[]): Map<string, ShaderDiagnostic[]> {
  const out = new Map<string, ShaderDiagnostic[]>();
  for (const d of diags) {
    const key = editedKeyOf(d.file);
    if (key === undefined) continue;
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(d);
  }
  return out;
}

/**
 * Each diagnostic as a range of `code`: from its column to the end of the word there (one
 * character when it points at punctuation; empty at the end of a line). A line outside the
 * text clamps to the first or last line and is marked approximate.
 */
export function toEditorDiagnostics(
  code: string,
  diags: readonly Pick<ShaderDiagnostic, 'line' | 'column' | 'message'>[],
): EditorDiagnostic[] {
  const starts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') starts.push(i + 1);
  // A trailing newline ends the last line; it does not start one.
  const lines = code.endsWith('\n') && starts.length > 1 ? starts.length - 1 : starts.length;
  return diags.map((d) => {
    const inside = Number.isInteger(d.line) && d.line >= 1 && d.line <= lines;
    const line = inside ? d.line : d.line < 1 || !Number.isFinite(d.line) ? 1 : lines;
    const start = starts[line - 1];
    const end = line < starts.length ? starts[line] - 1 : code.length;
    const col = inside && Number.isInteger(d.column) && d.column >= 1 ? d.column : 1;
    const from = Math.min(start + col - 1, end);
    const word = /^[A-Za-z_0-9.]+/.exec(code.slice(from, end));
    const to = word ? from + word[0].length : Math.min(from + 1, end);
    const column = from - start + 1;
    return { from, to, line, column, message: d.message, approximate: !inside || column !== d.column };
  });
}

/** One run of consecutive lines from the same source: lines first..last (1-based) of the program. */
export interface ProgramOrigin {
  file: string;
  first: number;
  last: number;
}

/** Where the program's lines came from (a WgslProgram's lineMap), as runs of lines. */
export function programOrigins(lineMap: readonly { file: string }[]): ProgramOrigin[] {
  const out: ProgramOrigin[] = [];
  lineMap.forEach((l, i) => {
    const last = out[out.length - 1];
    if (last && last.file === l.file && last.last === i) last.last = i + 1;
    else out.push({ file: l.file, first: i + 1, last: i + 1 });
  });
  return out;
}
