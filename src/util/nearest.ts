// The known name nearest a mistyped one, for "unknown X" messages ("… ; try --model tiny-deepseek").
// Pure module (Node and browser).

/** Edit distance (insertions, deletions, substitutions and swaps of neighbours each cost 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const sub = d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, sub);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * The candidate nearest `name` (case-insensitive), when it is near enough to be a typo of it (at
 * most a third of the name's length in edits, at least 1) and no other candidate is as near
 * ('of' is as near 'on' as 'off': no guess).
 */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  const n = name.toLowerCase();
  const limit = Math.max(1, Math.floor(n.length / 3));
  let best: { c: string; d: number; tied: boolean } | undefined;
  for (const c of candidates) {
    const dist = editDistance(n, c.toLowerCase());
    if (dist > limit) continue;
    if (!best || dist < best.d) best = { c, d: dist, tied: false };
    else if (dist === best.d && c !== best.c) best.tied = true;
  }
  return best && !best.tied ? best.c : undefined;
}

/** "; try <command> <nearest>" for a message's end, or '' when no candidate is near. */
export function tryNearest(command: string, name: string, candidates: Iterable<string>): string {
  const near = nearestName(name, candidates);
  return near === undefined ? '' : `; try ${command} ${near}`;
}
