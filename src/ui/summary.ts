// The numbers a reader looks for first, per strategy: TPS/GPU and TPS/user with their ratio
// to DEP, makespan, hidden-pull fraction, pulled bytes and memory per rank — as rows for the
// page's table, the terminal and summary.md. Every table says where its numbers come from.
//
// Pure module (Node and browser).
import { formatTable, markdownTable, type Cell } from '../report/table.ts';
import { appliedLinkFactor } from '../strategies/dilation.ts';
import type { GroupRunResult, StrategyName } from '../strategies/types.ts';
import { ratioText, type Comparison, type ComparisonPoint } from './compare.ts';
import { describeProvenance, provenanceBadge } from '../timeline/provenance.ts';
import { pageUrl } from './url.ts';
import { variantOriginText } from '../tuning/tuning-cache.ts';
import { FIELDS } from './fields.ts';

export interface SummaryRow {
  strategy: StrategyName;
  tpsPerGpu: number;
  /** ÷ DEP's at the same point; null without DEP. */
  tpsPerGpuVsDep: number | null;
  tpsPerUser: number;
  tpsPerUserVsDep: number | null;
  makespanMs: number;
  /** Null when the strategy pulled nothing (nothing to hide). */
  hiddenPullFraction: number | null;
  /** Mean over ranks. */
  bytesPulledPerRank: number;
  /** Largest over ranks: resident expert weights + prefetch buffers. */
  weightBytesPerRank: number;
  /** weightBytesPerRank ÷ a full replica's routed-expert bytes. */
  weightVsReplica: number;
  /** Means over ranks, ms. */
  computeMs: number;
  waitMs: number;
  syncMs: number;
  idleMs: number;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function summaryRow(r: GroupRunResult, dep: GroupRunResult | undefined): SummaryRow {
  const pulled = r.ranks.reduce((a, k) => a + k.bytesPulled, 0);
  const weights = Math.max(...r.ranks.map((k) => k.residentWeightBytes + k.prefetchBufferBytes));
  return {
    strategy: r.strategy,
    tpsPerGpu: r.tpsPerGpu,
    tpsPerGpuVsDep: dep ? r.tpsPerGpu / dep.tpsPerGpu : null,
    tpsPerUser: r.tpsPerUser,
    tpsPerUserVsDep: dep ? r.tpsPerUser / dep.tpsPerUser : null,
    makespanMs: r.makespanMs,
    hiddenPullFraction: r.strategy === 'dwdp' && pulled > 0 ? r.hiddenPullFraction : null,
    bytesPulledPerRank: pulled / r.ranks.length,
    weightBytesPerRank: weights,
    weightVsReplica: weights / r.replicaWeightBytes,
    computeMs: mean(r.ranks.map((k) => k.computeMs)),
    waitMs: mean(r.ranks.map((k) => k.waitMs)),
    syncMs: mean(r.ranks.map((k) => k.syncMs)),
    idleMs: mean(r.ranks.map((k) => k.idleMs)),
  };
}

export function summaryRows(c: Pick<Comparison, 'strategies'>, point: ComparisonPoint): SummaryRow[] {
  const dep = c.strategies.includes('dep') ? point.results[c.strategies.indexOf('dep')] : undefined;
  return point.results.map((r) => summaryRow(r, dep));
}

/**
 * What a figure exported from the page carries besides its charts, as lines of text: the
 * numbers of the shown point (each strategy's rates and its ratio to DEP, with the spread over
 * repeated runs) and the configuration (every field, by its label, and the share-link query).
 */
export function figureLines(c: Comparison, point: ComparisonPoint): { numbers: string[]; config: string[] } {
  const at = c.sweep && point.value !== null ? ` @ ${c.sweep.field}=${point.value}` : '';
  const ratio = (s: string, metric: string) => c.ratios.find((r) => r.name === `${s}/dep ${metric}${at}`);
  const numbers = summaryRows(c, point).map((r) => {
    const vs = (metric: string) => {
      const x = ratio(r.strategy, metric);
      return x ? ` (${ratioText(x)}× DEP)` : '';
    };
    return (
      `${r.strategy.toUpperCase()}${at}: ${r.tpsPerGpu.toFixed(1)} tokens/s per GPU${vs('TPS/GPU')}, ` +
      `${r.tpsPerUser.toFixed(1)} tokens/s per user${vs('TPS/user')}, makespan ${r.makespanMs.toPrecision(4)} ms` +
      (r.hiddenPullFraction !== null ? `, ${(100 * r.hiddenPullFraction).toFixed(1)}% of pull time hidden` : '')
    );
  });
  const fields = FIELDS.filter((f) => f.key !== 'hf' && (f.key !== 'sweepValues' || c.form.sweep !== 'none')).map(
    (f) => `${f.label} ${f.key === 'model' && c.form.model === 'custom' ? `custom (${c.modelName})` : c.form[f.key]}`,
  );
  const config: string[] = [];
  for (const item of fields) {
    const last = config.length - 1;
    if (last >= 0 && config[last].length + item.length < 150) config[last] += ` · ${item}`;
    else config.push(item);
  }
  config.push(`share link query: ?${c.query}`);
  return { numbers, config };
}

/** 'measured here (<how>), on <adapter>' or 'modeled: <how>' — from the runs' provenance. */
export function provenance(r: Pick<GroupRunResult, 'provenance'>): string {
  return describeProvenance(r.provenance);
}

/**
 * Which kernel configurations the measured runs used and where they came from, e.g.
 * 'Kernel variants: router tb:4 (default for this adapter), grouped GEMM sx4:8x4:2x2 (tuned
 * here on <adapter> at <date> UTC)'; per strategy (and rank) where they differ; undefined
 * for modeled runs.
 */
export function kernelVariantText(
  results: readonly Pick<GroupRunResult, 'strategy' | 'kernelVariants'>[],
): string | undefined {
  const per = results
    .filter((r) => r.kernelVariants?.length)
    .map((r) => {
      const kv = r.kernelVariants!;
      const parts = kv.map((c) => {
        const several = kv.filter((o) => o.kernel === c.kernel).length > 1;
        const ranks = several ? `; rank${c.ranks.length > 1 ? 's' : ''} ${c.ranks.join(', ')}` : '';
        return `${c.kernel} ${c.variant} (${variantOriginText(c.origin)}${ranks})`;
      });
      return { strategy: r.strategy, text: parts.join(', ') };
    });
  if (per.length === 0) return undefined;
  return per.every((p) => p.text === per[0].text)
    ? `Kernel variants: ${per[0].text}`
    : `Kernel variants: ${per.map((p) => `${p.strategy.toUpperCase()} ${p.text}`).join('; ')}`;
}

/** Short badge: 'measured here' | 'modeled'. */
export function sourceBadge(r: Pick<GroupRunResult, 'provenance'>): 'measured here' | 'modeled' {
  return provenanceBadge(r.provenance);
}

const MIB = 1024 * 1024;
/** A ratio to DEP as the tables write it: three decimals and ×; '—' where there is none. */
export const vsDepText = (v: number | null): string => (v === null ? '—' : `${v.toFixed(3)}×`);
/** A hidden-pull fraction as the tables write it: a percentage, one decimal; '—' where nothing is pulled. */
export const hiddenPullText = (v: number | null): string => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);
const fixed = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

function tableOf(c: Comparison): { headers: string[]; rows: Cell[][] } {
  const badge = c.points[0]?.results[0] ? sourceBadge(c.points[0].results[0]) : 'measured here';
  const headers = [
    ...(c.sweep ? [c.sweep.field] : []),
    'strategy',
    `TPS/GPU (tok/s, ${badge})`,
    'vs DEP',
    `TPS/user (tok/s, ${badge})`,
    'vs DEP',
    'makespan (ms)',
    'hidden pull',
    'pulled/rank (MiB)',
    'weights/rank (MiB)',
    'of replica',
  ];
  const rows: Cell[][] = [];
  for (const p of c.points) {
    for (const s of summaryRows(c, p)) {
      rows.push([
        ...(c.sweep ? [p.value ?? ''] : []),
        s.strategy,
        fixed(s.tpsPerGpu, 1),
        vsDepText(s.tpsPerGpuVsDep),
        fixed(s.tpsPerUser, 1),
        vsDepText(s.tpsPerUserVsDep),
        fixed(s.makespanMs, 3),
        hiddenPullText(s.hiddenPullFraction),
        fixed(s.bytesPulledPerRank / MIB, 3),
        fixed(s.weightBytesPerRank / MIB, 3),
        `${(100 * s.weightVsReplica).toFixed(1)}%`,
      ]);
    }
  }
  return { headers, rows };
}

const right = (headers: string[]) => headers.map((h) => h !== 'strategy');

/** The summary table for a terminal. */
export function summaryText(c: Comparison): string {
  const { headers, rows } = tableOf(c);
  return formatTable(headers, rows, { rightAlign: right(headers) });
}

/** Where `npx vite` serves the page (vite.config.ts): the base of the links summary.md prints. */
export const DEV_PAGE = 'http://localhost:5173/';

/**
 * Which of a point's runs measured the GEMM rate the others were given: its first (measured: DEP,
 * which runs first); undefined when none shown did (a later repetition is shown).
 */
export function rateMeasuredBy(results: readonly GroupRunResult[]): StrategyName | undefined {
  return results.find((r) => r.link.dilation?.measuredInRun)?.strategy;
}

/**
 * Where a comparison's numbers come from, one sentence per line: the provenance of the runs
 * and, per point, the time dilation (this device's rate measured, the profile's modeled).
 */
export function sourceLines(c: Comparison): string[] {
  const first = c.points[0]?.results[0];
  return [
    `Numbers: ${first ? provenance(first) : c.provenance}`,
    ...(c.points[0] ? [kernelVariantText(c.points[0].results)].filter((t): t is string => !!t) : []),
    ...c.points.flatMap((p) => {
      const r = p.results[0];
      const d = r?.link.dilation;
      if (!d) return [];
      const at = c.sweep ? ` at ${c.sweep.field}=${p.value}` : '';
      const by = rateMeasuredBy(p.results);
      const where = by ? `the ${by} run` : "the point's first run";
      const rate = `this device ${d.deviceGflops.toFixed(3)} GFLOP/s grouped GEMM, measured in ${where} and applied to every strategy`;
      return [
        r.similarity
          ? `Time dilation${at}: link × ${appliedLinkFactor(r)!.toExponential(3)} (the scale model's compute : pull factor, from ${rate})` +
            interferenceText(r.similarity.copyInterference)
          : `Time dilation${at}: link × ${d.factor.toExponential(3)} (${rate}; ${d.profile} ${d.profileGflops.toFixed(0)} GFLOP/s, modeled); ` +
            'no copy interference (no scale target)',
      ];
    }),
  ];
}

/** The scale model's copy interference in words: the target's s (modeled) and whether the timeline applied it. */
export function interferenceWords(ci: { value: number; applied: boolean }): string {
  if (ci.value === 0) return 'copy interference s = 0 (the target has none)';
  return `copy interference s = ${ci.value} (the target's, modeled) ${ci.applied ? 'applied in the timeline' : 'NOT applied (wall clock)'}`;
}

function interferenceText(ci: { value: number; applied: boolean } | undefined): string {
  return ci ? `; ${interferenceWords(ci)}` : '';
}

/** summary.md: what ran, where the numbers come from, the page that runs it again, the table and the ratios. */
export function summaryMarkdown(c: Comparison, title = 'DWDP benchmark'): string {
  const { headers, rows } = tableOf(c);
  const lines = [
    `# ${title}`,
    '',
    `- Model: ${c.modelName}; strategies: ${c.strategies.join(', ')}${c.sweep ? `; sweep: ${c.sweep.label} = ${c.sweep.values.join(', ')}` : ''}`,
    ...sourceLines(c).map((l) => `- ${l}`),
    `- Page: <${pageUrl(DEV_PAGE, c.query)}> under \`npx vite\` ` +
      '(fields the link does not name are at their defaults; add `run=1` to the query to run on load)',
    `- Started ${c.startedAt}, took ${(c.elapsedMs / 1000).toFixed(1)} s`,
    '',
    markdownTable(headers, rows, { rightAlign: right(headers) }),
    '',
    '## Ratios',
    '',
    markdownTable(
      ['ratio', 'value'],
      c.ratios.map((r) => [r.name, ratioText(r)]),
      { rightAlign: [false, true] },
    ),
    '',
  ];
  return lines.join('\n');
}
