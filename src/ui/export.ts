// Exports of a comparison: results JSON (everything, including timelines), CSV (one row per
// point × strategy × rank, with the run's totals and where its numbers come from), and file
// names. The Chrome trace is src/ui/trace-export.ts; the PNG is the page's (views/png.ts).
//
// Pure module (Node and browser).
import { COMPUTE_CATEGORIES } from '../timeline/categories.ts';
import type { Comparison } from './compare.ts';
import { provenance } from './summary.ts';

export const EXPORT_VERSION = 1;

/** Results JSON: the comparison as is, with a format version (and `extra` keys, e.g. the bench's browser). */
export function comparisonJson(c: Comparison, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ format: 'webgpu-dwdp comparison', version: EXPORT_VERSION, ...extra, ...c }, null, 2);
}

/**
 * A results JSON read back (the page's export or `npm run bench`'s results.json): checked for
 * its format, version and the parts the views read, with one message naming what is wrong.
 */
export function parseComparisonJson(text: string, name = 'the file'): Comparison {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name} is not JSON (${(e as Error).message})`, { cause: e });
  }
  const d = data as Partial<Comparison> & { format?: unknown; version?: unknown };
  if (!d || typeof d !== 'object' || d.format !== 'webgpu-dwdp comparison')
    throw new Error(`${name} is not a webgpu-dwdp results JSON (its "format" is ${JSON.stringify(d?.format)})`);
  if (d.version !== EXPORT_VERSION)
    throw new Error(
      `${name} has results format version ${String(d.version)}; this page reads version ${EXPORT_VERSION}`,
    );
  if (!d.form || typeof d.form !== 'object') throw new Error(`${name} has no "form" (the configuration it ran)`);
  if (!Array.isArray(d.strategies) || d.strategies.length === 0) throw new Error(`${name} has no "strategies"`);
  if (!Array.isArray(d.points) || d.points.length === 0) throw new Error(`${name} has no "points"`);
  d.points.forEach((p, i) => {
    if (!Array.isArray(p?.results) || p.results.length !== d.strategies!.length)
      throw new Error(
        `${name}: point ${i} has ${p?.results?.length ?? 'no'} results for ${d.strategies!.length} strategies`,
      );
    for (const r of p.results) {
      if (!Array.isArray(r?.ranks) || !Array.isArray(r?.intervals) || !(r.makespanMs >= 0))
        throw new Error(`${name}: point ${i}, ${String(r?.strategy)}: a result without ranks, intervals or makespan`);
      r.ranks.forEach((rank, k) => {
        const problem = rankProblem(rank);
        if (problem) throw new Error(`${name}: point ${i}, ${String(r.strategy)}, rank ${k}: ${problem}`);
      });
    }
  });
  const { format: _f, version: _v, ...c } = d as Comparison & { format: unknown; version: unknown };
  return c;
}

/** The rank times the summary, breakdown and comparison read (ms, each ≥ 0). */
const RANK_TIMES = ['computeMs', 'pullMs', 'waitMs', 'syncMs', 'commMs', 'idleMs', 'endMs'] as const;

/** What is wrong with one rank's report as read from a file, or undefined. */
function rankProblem(rank: unknown): string | undefined {
  if (!rank || typeof rank !== 'object') return 'not an object';
  const r = rank as Record<string, unknown>;
  for (const key of RANK_TIMES) {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      return `"${key}" is ${JSON.stringify(v)}, not a time ≥ 0`;
  }
  const by = r.computeByCategory;
  if (!by || typeof by !== 'object' || Array.isArray(by))
    return `"computeByCategory" is ${JSON.stringify(by)}, not an object of compute times by category`;
  for (const [key, v] of Object.entries(by)) {
    if (!(COMPUTE_CATEGORIES as readonly string[]).includes(key))
      return `"computeByCategory" has "${key}", not a compute category (${COMPUTE_CATEGORIES.join(', ')})`;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      return `"computeByCategory.${key}" is ${JSON.stringify(v)}, not a time ≥ 0`;
  }
  return undefined;
}

export const CSV_COLUMNS = [
  'sweep_field',
  'sweep_value',
  'strategy',
  'rank',
  'tokens',
  'requests',
  'compute_ms',
  'pull_ms',
  'wait_ms',
  'sync_ms',
  'comm_ms',
  'idle_ms',
  'end_ms',
  'bytes_pulled',
  'bytes_sent',
  'resident_weight_bytes',
  'prefetch_buffer_bytes',
  'makespan_ms',
  'tps_per_gpu',
  'tps_per_user',
  'hidden_pull_fraction',
  'link_gbps_applied',
  'clock',
  'rank_mode',
  'source',
] as const;

/** RFC 4180 quoting: only when needed. */
export function csvCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function comparisonCsv(c: Comparison): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const p of c.points) {
    for (const r of p.results) {
      for (const k of r.ranks) {
        const row = [
          c.sweep?.field ?? '',
          p.value ?? '',
          r.strategy,
          k.rank,
          k.tokens,
          k.requestLengths.length,
          k.computeMs,
          k.pullMs,
          k.waitMs,
          k.syncMs,
          k.commMs,
          k.idleMs,
          k.endMs,
          k.bytesPulled,
          k.bytesSent,
          k.residentWeightBytes,
          k.prefetchBufferBytes,
          r.makespanMs,
          r.tpsPerGpu,
          r.tpsPerUser,
          r.hiddenPullFraction,
          r.link.gbps,
          r.clock,
          r.rankMode,
          provenance(r),
        ];
        lines.push(row.map(csvCell).join(','));
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** 'dwdp-bench-2025-01-31T12-00-00' — safe in file names on every OS. */
export function exportBaseName(c: Pick<Comparison, 'startedAt'>): string {
  return `dwdp-bench-${c.startedAt.replace(/\..*$/, '').replace(/:/g, '-')}`;
}
