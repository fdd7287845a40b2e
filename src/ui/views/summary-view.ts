// The headline numbers: one card per strategy (TPS/GPU and TPS/user with the ratio to DEP),
// then the full table. Units in every header; the badge and the provenance line say whether
// the numbers were measured here (on which adapter, which clock) or modeled (which profile).
import type { Comparison, ComparisonPoint } from '../compare.ts';
import { provenance, sourceBadge, summaryRows, type SummaryRow } from '../summary.ts';
import { clear, fmt, fmtBytes, fmtMs, h } from './dom.ts';

const NAMES: Record<string, string> = { dp: 'DP · full replica', dep: 'DEP · expert parallel', dwdp: 'DWDP' };

export function summaryView(root: HTMLElement, c: Comparison, point: ComparisonPoint): void {
  clear(root);
  const rows = summaryRows(c, point);
  const first = point.results[0];
  const badge = sourceBadge(first);
  const dil = first.link.dilation;
  root.append(
    h(
      'div',
      { class: 'provenance' },
      h('span', { class: `badge ${badge === 'modeled' ? 'modeled' : 'measured'}` }, badge),
      ` ${provenance(first)}.`,
      dil
        ? ` Link dilated ×${dil.factor.toExponential(2)} so compute:link matches ${dil.profile} (this device ${dil.deviceGflops.toFixed(2)} GFLOP/s grouped GEMM, measured${point.results.length > 1 ? ` in the ${first.strategy.toUpperCase()} run and applied to every strategy` : ''}; profile ${fmt(dil.profileGflops, 0)} GFLOP/s, modeled).`
        : '',
      badge === 'measured here' ? ' Absolute rates are this emulated device’s; the ratios are the result.' : '',
    ),
    h('div', { class: 'cards' }, ...rows.map((r) => card(r, badge))),
    h('div', { class: 'table-wrap' }, table(rows)),
  );
}

function ratioChip(v: number | null): HTMLElement | string {
  if (v === null) return '';
  const cls = v > 1.005 ? 'up' : v < 0.995 ? 'down' : 'flat';
  return h('span', { class: `ratio ${cls}` }, `${v.toFixed(3)}× DEP`);
}

function card(r: SummaryRow, badge: string): HTMLElement {
  return h(
    'div',
    { class: `card card-${r.strategy}`, 'data-strategy': r.strategy },
    h('div', { class: 'card-title' }, NAMES[r.strategy] ?? r.strategy),
    h(
      'div',
      { class: 'metric' },
      h('span', { class: 'value', 'data-metric': 'tps-gpu' }, fmt(r.tpsPerGpu, 1)),
      h('span', { class: 'unit' }, ' tokens/s per GPU'),
      ' ',
      ratioChip(r.tpsPerGpuVsDep),
    ),
    h(
      'div',
      { class: 'metric small' },
      h('span', { class: 'value', 'data-metric': 'tps-user' }, fmt(r.tpsPerUser, 1)),
      h('span', { class: 'unit' }, ' tokens/s per user'),
      ' ',
      ratioChip(r.tpsPerUserVsDep),
    ),
    h(
      'div',
      { class: 'card-foot' },
      `makespan ${fmtMs(r.makespanMs)}`,
      r.hiddenPullFraction !== null ? ` · ${(100 * r.hiddenPullFraction).toFixed(1)}% of pull time hidden` : '',
      ` · ${badge}`,
    ),
  );
}

function table(rows: SummaryRow[]): HTMLElement {
  const head = [
    'strategy',
    'TPS/GPU (tok/s)',
    'vs DEP',
    'TPS/user (tok/s)',
    'vs DEP',
    'makespan',
    'compute / rank',
    'pull wait / rank',
    'barrier wait / rank',
    'idle / rank',
    'hidden pull',
    'pulled / rank',
    'weights / rank',
    'of replica',
  ];
  const r3 = (v: number | null) => (v === null ? '—' : `${v.toFixed(3)}×`);
  return h(
    'table',
    { class: 'summary-table' },
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
    h(
      'tbody',
      {},
      ...rows.map((r) =>
        h(
          'tr',
          {},
          h('td', {}, r.strategy.toUpperCase()),
          h('td', { class: 'num' }, fmt(r.tpsPerGpu, 1)),
          h('td', { class: 'num' }, r3(r.tpsPerGpuVsDep)),
          h('td', { class: 'num' }, fmt(r.tpsPerUser, 1)),
          h('td', { class: 'num' }, r3(r.tpsPerUserVsDep)),
          h('td', { class: 'num' }, fmtMs(r.makespanMs)),
          h('td', { class: 'num' }, fmtMs(r.computeMs)),
          h('td', { class: 'num' }, fmtMs(r.waitMs)),
          h('td', { class: 'num' }, fmtMs(r.syncMs)),
          h('td', { class: 'num' }, fmtMs(r.idleMs)),
          h(
            'td',
            { class: 'num' },
            r.hiddenPullFraction === null ? '—' : `${(100 * r.hiddenPullFraction).toFixed(1)}%`,
          ),
          h('td', { class: 'num' }, fmtBytes(r.bytesPulledPerRank)),
          h('td', { class: 'num' }, fmtBytes(r.weightBytesPerRank)),
          h('td', { class: 'num' }, `${(100 * r.weightVsReplica).toFixed(1)}%`),
        ),
      ),
    ),
  );
}
