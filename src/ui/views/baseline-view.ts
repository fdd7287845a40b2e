// The pinned baseline beside the current run (numbers: ../baseline.ts): a line saying what is
// pinned (always shown while one is, with Unpin), and under the summary a panel with what differs
// in the configuration, a mark when the two runs' numbers come from different places, each
// strategy's rates on both sides with current ÷ baseline (and, for repeated runs, whether the
// difference is within the runs' spread), the DWDP/DEP and DP/DEP ratios the same way, and the
// breakdown per strategy, column by column, in ms and %. Every number cell carries its exact
// value in `data-value` (the browser test reads them).
import type { Comparison } from '../compare.ts';
import type { Paired, PinnedBaseline, RunDiff, StrategyDelta } from '../baseline.ts';
import { describeChanges } from '../stale.ts';
import { tooltip } from '../glossary.ts';
import { provenance } from '../summary.ts';
import { clear, fmt, fmtMs, h } from './dom.ts';

/** What the baseline is, in one line: model, point, where its numbers came from, when it ran and was pinned. */
export function baselineLabel(b: PinnedBaseline): string {
  const c = b.comparison;
  const p = c.points[b.point];
  const at = c.sweep && p.value !== null ? ` at ${c.sweep.label} = ${p.value}` : '';
  const names = c.strategies.map((s) => s.toUpperCase()).join(' / ');
  return `${c.modelName}${at}, ${names} — ${provenance(p.results[0])}; ran ${c.startedAt.slice(0, 19).replace('T', ' ')} UTC`;
}

/** The line above the results while a baseline is pinned (hidden otherwise). */
export function baselineBar(root: HTMLElement, b: PinnedBaseline | null, onUnpin: () => void, note = ''): void {
  clear(root);
  root.hidden = b === null;
  if (!b) return;
  const unpin = h('button', { type: 'button', id: 'unpin', class: 'small' }, 'unpin');
  unpin.addEventListener('click', onUnpin);
  root.append(
    h('b', { title: tooltip('baseline') }, 'Baseline: '),
    baselineLabel(b),
    b.timelinesDropped ? ' (read back without its timelines: they were too large for this browser’s storage)' : '',
    note ? ` (${note})` : '',
    '. ',
    unpin,
  );
}

/** 'dwdp/dep TPS/GPU' → 'DWDP ÷ DEP TPS/GPU'. */
const ratioLabel = (name: string) => {
  const [pair, ...metric] = name.split(' ');
  return [pair.toUpperCase().replace('/', ' ÷ '), ...metric].join(' ');
};
const when = (iso: string) => `${iso.slice(0, 19).replace('T', ' ')} UTC`;
const ratioCls = (x: number) => (x > 1.005 ? 'up' : x < 0.995 ? 'down' : 'flat');
const times = (x: number) => `${x.toFixed(3)}×`;
const pct = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`);
const num = (text: string, value: number | null, attrs: Record<string, string> = {}) =>
  h('td', { class: 'num', 'data-value': value === null ? '' : String(value), ...attrs }, text);

function spreadCell(p: Paired): HTMLElement {
  const s = p.spread;
  if (!s) return h('td', { class: 'spread-verdict' }, '');
  return h(
    'td',
    {
      class: `spread-verdict ${s.withinSpread ? 'within' : 'outside'}`,
      title: tooltip('withinSpread'),
      'data-within': String(s.withinSpread),
    },
    `${s.withinSpread ? 'within' : 'outside'} the runs’ spread (baseline ${fmt(s.baseline.min, 3)}–${fmt(s.baseline.max, 3)}, ` +
      `${s.baseline.n} runs; current ${fmt(s.current.min, 3)}–${fmt(s.current.max, 3)}, ${s.current.n} runs)`,
  );
}

/** One row: a number on both sides and current ÷ baseline. */
function pairedRow(label: string, p: Paired, f: (v: number) => string, attrs: Record<string, string>): HTMLElement {
  return h(
    'tr',
    attrs,
    h('td', {}, label),
    num(f(p.baseline), p.baseline, { 'data-side': 'baseline' }),
    num(f(p.current), p.current, { 'data-side': 'current' }),
    h(
      'td',
      { class: 'num', 'data-side': 'ratio', 'data-value': String(p.ratio) },
      h('span', { class: `ratio ${ratioCls(p.ratio)}` }, times(p.ratio)),
    ),
    spreadCell(p),
  );
}

function ratesTable(d: RunDiff): HTMLElement {
  const head = (x: string, term?: Parameters<typeof tooltip>[0]) =>
    h('th', { scope: 'col', title: term ? tooltip(term) : undefined }, x);
  const rows: HTMLElement[] = [];
  for (const s of d.strategies) {
    const at = (metric: string) => ({ 'data-strategy': s.strategy, 'data-metric': metric });
    const name = s.strategy.toUpperCase();
    rows.push(
      pairedRow(`${name} TPS/GPU (tok/s)`, s.tpsPerGpu, (v) => fmt(v, 1), at('tps-gpu')),
      pairedRow(`${name} TPS/user (tok/s)`, s.tpsPerUser, (v) => fmt(v, 1), at('tps-user')),
      pairedRow(`${name} makespan`, s.makespanMs, fmtMs, at('makespan')),
    );
  }
  for (const r of d.ratios)
    rows.push(
      pairedRow(ratioLabel(r.name), r, (v) => v.toFixed(4), {
        'data-ratio': r.name,
      }),
    );
  return h(
    'table',
    { class: 'summary-table compare-rates' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head(''),
        head('baseline', 'baseline'),
        head('current', 'vsBaseline'),
        head('current ÷ baseline', 'vsBaseline'),
        head('spread', 'withinSpread'),
      ),
    ),
    h('tbody', {}, ...rows),
  );
}

function breakdownTable(s: StrategyDelta): HTMLElement {
  const head = (x: string) => h('th', { scope: 'col', title: tooltip('breakdownDelta') }, x);
  return h(
    'table',
    { class: 'summary-table compare-breakdown', 'data-strategy': s.strategy },
    h('caption', {}, `${s.strategy.toUpperCase()}: breakdown per rank (mean over ranks)`),
    h('thead', {}, h('tr', {}, head('column'), head('baseline'), head('current'), head('Δ'), head('Δ %'))),
    h(
      'tbody',
      {},
      ...s.breakdown.map((b) =>
        h(
          'tr',
          { 'data-key': b.key, class: b.inSum ? undefined : 'outside-sum' },
          h('td', { title: b.inSum ? undefined : 'the copy stream’s busy time: outside the sum' }, b.label),
          num(fmtMs(b.baseline), b.baseline, { 'data-side': 'baseline' }),
          num(fmtMs(b.current), b.current, { 'data-side': 'current' }),
          num(`${b.delta >= 0 ? '+' : '−'}${fmtMs(Math.abs(b.delta))}`, b.delta, { 'data-side': 'delta' }),
          num(pct(b.relative), b.relative, { 'data-side': 'relative' }),
        ),
      ),
    ),
  );
}

export interface ComparePanelOptions {
  /** Both Gantts on one time scale (the longer makespan). */
  sameScale: boolean;
  onSameScale(on: boolean): void;
  onUnpin(): void;
}

/** The panel: the baseline's point `d` was computed for beside the current run `current`. */
export function comparePanel(
  root: HTMLElement,
  b: PinnedBaseline,
  current: Comparison,
  d: RunDiff,
  o: ComparePanelOptions,
): void {
  clear(root);
  root.hidden = false;
  const same = b.comparison.startedAt === current.startedAt && d.changes.length === 0;
  const scale = h('input', { type: 'checkbox', id: 'same-scale', checked: o.sameScale });
  scale.addEventListener('change', () => o.onSameScale(scale.checked));
  const unpin = h('button', { type: 'button', class: 'small unpin' }, 'unpin');
  unpin.addEventListener('click', o.onUnpin);
  const point = (v: string | null) => (v === null ? '' : ` (${current.sweep?.label ?? 'point'} = ${v})`);
  root.append(
    h('h3', { title: tooltip('baseline') }, 'Against the baseline'),
    h(
      'p',
      { class: 'note baseline-what' },
      `Baseline${point(d.baselineValue)}: ${b.comparison.modelName}, ran ${when(b.comparison.startedAt)}, pinned ${when(b.pinnedAt)}. ` +
        `Current${point(d.currentValue)}: ${current.modelName}, ran ${when(current.startedAt)}. ` +
        (d.provenance.length ? '' : `Numbers of both: ${provenance(current.points[0].results[0])}. `),
      unpin,
    ),
    d.provenance.length
      ? h(
          'p',
          {
            class: 'caveat mixed-provenance',
            role: 'status',
            title: tooltip('mixedProvenance'),
            'data-caveat': 'mixed-provenance',
          },
          h('b', {}, 'Mixed provenance: '),
          d.provenance.map((p) => `${p.field} ${p.baseline} → ${p.current}`).join('; '),
          '. Ratios across the two runs mix numbers from different sources ',
          `(baseline: ${provenance(b.comparison.points[b.point].results[0])}; current: ${provenance(current.points[0].results[0])}).`,
        )
      : '',
    h(
      'p',
      { class: 'note config-diff', 'data-changes': String(d.changes.length) },
      same
        ? 'The shown run is the baseline itself: change the form and run again to compare.'
        : d.changes.length
          ? `What differs (baseline → current): ${describeChanges(d.changes)}.`
          : 'Same configuration (a rerun: the difference is run-to-run variation, or another source).',
    ),
    d.onlyBaseline.length || d.onlyCurrent.length
      ? h(
          'p',
          { class: 'note' },
          [
            d.onlyBaseline.length ? `Only the baseline ran ${d.onlyBaseline.join(', ').toUpperCase()}` : '',
            d.onlyCurrent.length ? `only the current run ran ${d.onlyCurrent.join(', ').toUpperCase()}` : '',
          ]
            .filter(Boolean)
            .join('; ') + ': no delta for them.',
        )
      : '',
    h('div', { class: 'table-wrap' }, ratesTable(d)),
    h(
      'div',
      { class: 'compare-breakdowns' },
      ...d.strategies.map((s) => h('div', { class: 'table-wrap' }, breakdownTable(s))),
    ),
    h(
      'label',
      { class: 'same-scale', title: 'Both timelines on one time axis, up to the longer makespan' },
      scale,
      ' the baseline’s and the current timelines on the same time scale',
    ),
  );
}
