// JSON text as people's tools write it. A UTF-8 byte-order mark (U+FEFF, which some editors
// put at the start of a file) is skipped, as Python's json and most tools do; a syntax error
// names the file it came from. Pure: the page uses it too.

/** The text without a leading byte-order mark. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Invalid JSON in a named file (or field). */
export class JsonTextError extends Error {
  override name = 'JsonTextError';
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: not valid JSON (${detail})`);
  }
}

/** JSON.parse that accepts a byte-order mark and names `where` in its error. */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(stripBom(text));
  } catch (e) {
    throw new JsonTextError(where, (e as Error).message);
  }
}
