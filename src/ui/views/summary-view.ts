// The headline numbers: one card per strategy (TPS/GPU and TPS/user with the ratio to DEP,
// and its caveats: does not fit, no FP4 math, a link from another machine), then the full
// table. Units in every header, a definition (with its formula) on every header and card
// line (glossary.ts); the badge and the provenance line say whether the numbers were
// measured here (on which adapter, which clock) or modeled (which profile).
import { counterpartRows, type Comparison, type ComparisonPoint, type Ratio } from '../compare.ts';
import type { PageRun } from '../compact.ts';
import { capacityCaveat, type Caveat } from '../caveats.ts';
import { appliedLinkFactor } from '../../strategies/dilation.ts';
import { dilationWords, tooltip, type TermKey } from '../glossary.ts';
import {
  hiddenPullText,
  interferenceWords,
  kernelVariantText,
  provenance,
  rateMeasuredBy,
  sourceBadge,
  summaryRows,
  vsDepText,
  type SummaryRow,
} from '../summary.ts';
import { clear, fmt, fmtBytes, fmtMs, h } from './dom.ts';

/** Words as a sentence: capital first letter, full stop. */
const sentence = (w: string) => `${w.charAt(0).toUpperCase()}${w.slice(1)}.`;

const NAMES: Record<string, string> = { dp: 'DP · full replica', dep: 'DEP · expert parallel', dwdp: 'DWDP' };
const DESCRIBE: Record<string, string> = {
  dp: 'DP: every rank holds every expert; no communication',
  dep: 'DEP: experts sharded across ranks; tokens go to their experts in an all-to-all every MoE layer, so the slowest rank sets the pace',
  dwdp: 'DWDP: each rank holds L experts and pulls the rest from its peers ahead of use on the copy engine; no barriers',
};

/** `configCaveats` of the comparison's configuration (they apply to every card). */
export function summaryView(root: HTMLElement, c: Comparison, point: ComparisonPoint, caveats: Caveat[] = []): void {
  clear(root);
  const rows = summaryRows(c, point);
  const first = point.results[0];
  const badge = sourceBadge(first);
  const dil = first.link.dilation;
  const by = rateMeasuredBy(point.results);
  const where =
    point.results.length > 1
      ? ` in ${by ? `the ${by.toUpperCase()} run` : 'the point’s first run'} and applied to every strategy`
      : '';
  root.append(
    h(
      'div',
      { class: 'provenance' },
      h('span', { class: `badge ${badge === 'modeled' ? 'modeled' : 'measured'}`, title: badgeTitle(badge) }, badge),
      ` ${provenance(first)}.`,
      dil
        ? h(
            'span',
            { class: 'dilation', title: tooltip('dilation') },
            first.similarity
              ? ` Link slowed to ${dilationWords(appliedLinkFactor(first)!)} of its speed so compute : pull matches ` +
                  `${first.similarity.target.model} on ${dil.profile} (the scale model's factor, from this device ` +
                  `${dil.deviceGflops.toFixed(2)} GFLOP/s grouped GEMM, measured${where}).` +
                  (first.similarity.copyInterference
                    ? ` ${sentence(interferenceWords(first.similarity.copyInterference))}`
                    : '')
              : ` Link slowed to ${dilationWords(dil.factor)} of its speed so compute : link matches ${dil.profile} ` +
                  `(this device ${dil.deviceGflops.toFixed(2)} GFLOP/s grouped GEMM, measured${where}; ` +
                  `profile ${fmt(dil.profileGflops, 0)} GFLOP/s, modeled).`,
          )
        : '',
      badge === 'measured here' ? ' Absolute rates are this emulated device’s; the ratios are the result.' : '',
      variantLine(point),
    ),
    c.partial
      ? h(
          'p',
          { class: 'note partial', role: 'status' },
          `Cancelled: these are the ${c.partial.done} of ${c.partial.of} sweep points that finished.`,
        )
      : '',
    point.repeats
      ? h(
          'p',
          { class: 'note repeats' },
          `Each strategy ran ${point.repeats.length} times, interleaved. Ratios: the median over the runs, with their ` +
            `min–max (“within noise” where that range holds 1); the rates, timelines and table below are repetition ` +
            `${point.shownRepetition! + 1}, the one whose DWDP ÷ DEP TPS/GPU is the median.`,
        )
      : '',
    h(
      'div',
      { class: 'cards' },
      ...rows.map((r, i) => card(r, point.results[i] as PageRun, caveats, ratiosOf(c, point, r.strategy))),
    ),
    h('div', { class: 'table-wrap' }, table(rows, point.results as PageRun[])),
    counterpartBlock(c),
  );
}

/** The kernel configurations the measured runs used, and whether a sweep on this GPU chose them. */
function variantLine(point: ComparisonPoint): HTMLElement | string {
  const text = kernelVariantText(point.results);
  return text
    ? h(
        'span',
        {
          class: 'kernel-variants',
          title: 'Tuned: the winner of a sweep from the shader lab on this GPU. Default: none stored yet.',
        },
        ` ${text}.`,
      )
    : '';
}

/** A scaled run's ratios beside its modeled counterpart's (the same names), and the difference. */
function counterpartBlock(c: Comparison): HTMLElement | string {
  const rows = counterpartRows(c);
  if (rows.length === 0 || !c.counterpart) return '';
  const head = (text: string) => h('th', { title: tooltip('counterpart') }, text);
  return h(
    'div',
    { class: 'counterpart', 'data-view': 'counterpart' },
    h(
      'p',
      { class: 'note', title: tooltip('counterpart') },
      `Modeled counterpart: ${c.counterpart.scenario.description} ` +
        `(rack model on ${c.counterpart.scenario.profile}; its scenario is in the exported JSON as counterpart.scenario).`,
    ),
    h(
      'table',
      { class: 'counterpart-table' },
      h('thead', {}, h('tr', {}, head('ratio'), head('measured here'), head('modeled'), head('difference'))),
      h(
        'tbody',
        {},
        ...rows.map((r) =>
          h(
            'tr',
            { 'data-ratio': r.name },
            h('td', {}, r.name),
            h('td', {}, r.measured.toFixed(3)),
            h('td', {}, r.modeled.toFixed(3)),
            h('td', {}, `${r.difference >= 0 ? '+' : ''}${(100 * r.difference).toFixed(1)}%`),
          ),
        ),
      ),
    ),
  );
}

function badgeTitle(badge: string): string {
  return badge === 'modeled'
    ? 'modeled: computed by the roofline cost model of a hardware profile and the event scheduler (src/sim); no GPU ran'
    : 'measured here: real WGSL kernels timed on this browser’s WebGPU adapter';
}

/** The comparison's ratios of `strategy` against DEP at this point (with their spread over repeated runs). */
function ratiosOf(c: Comparison, point: ComparisonPoint, strategy: string): { gpu?: Ratio; user?: Ratio } {
  const at = c.sweep && point.value !== null ? ` @ ${c.sweep.field}=${point.value}` : '';
  const find = (metric: string) => c.ratios.find((x) => x.name === `${strategy}/dep ${metric}${at}`);
  return { gpu: find('TPS/GPU'), user: find('TPS/user') };
}

function ratioChip(v: number | null, r?: Ratio): HTMLElement | string {
  if (v === null) return '';
  // Repeated runs: the median with the runs' range; level with DEP when that range holds 1.
  const s = r?.spread;
  const value = s ? r.value : v;
  const cls = s
    ? s.withinNoise
      ? 'flat noise'
      : value > 1
        ? 'up'
        : 'down'
    : v > 1.005
      ? 'up'
      : v < 0.995
        ? 'down'
        : 'flat';
  return h(
    'span',
    { class: `ratio ${cls}`, title: tooltip('vsDep'), ...(s ? { 'data-spread': `${s.min}-${s.max}` } : {}) },
    `${value.toFixed(3)}× DEP`,
    s
      ? h(
          'span',
          { class: 'spread' },
          ` (${s.min.toFixed(3)}–${s.max.toFixed(3)}, ${s.n} runs${s.withinNoise ? ': within noise' : ''})`,
        )
      : '',
  );
}

function card(r: SummaryRow, run: PageRun, caveats: Caveat[], ratios: { gpu?: Ratio; user?: Ratio } = {}): HTMLElement {
  const notes = [capacityCaveat(r.strategy, run.capacity), ...caveats].filter((x): x is Caveat => x !== null);
  const noFit = notes.some((n) => n.kind === 'no-fit');
  return h(
    'div',
    { class: `card card-${r.strategy}${noFit ? ' no-fit' : ''}`, 'data-strategy': r.strategy },
    h(
      'div',
      { class: 'card-title', title: DESCRIBE[r.strategy] ?? r.strategy },
      NAMES[r.strategy] ?? r.strategy,
      noFit ? h('span', { class: 'flag no-fit', 'data-caveat': 'no-fit' }, 'does not fit') : '',
    ),
    h(
      'div',
      { class: 'metric', title: tooltip('tpsGpu') },
      h('span', { class: 'value', 'data-metric': 'tps-gpu' }, fmt(r.tpsPerGpu, 1)),
      h('span', { class: 'unit' }, ' tokens/s per GPU'),
      ' ',
      ratioChip(r.tpsPerGpuVsDep, ratios.gpu),
    ),
    h(
      'div',
      { class: 'metric small', title: tooltip('tpsUser') },
      h('span', { class: 'value', 'data-metric': 'tps-user' }, fmt(r.tpsPerUser, 1)),
      h('span', { class: 'unit' }, ' tokens/s per user'),
      ' ',
      ratioChip(r.tpsPerUserVsDep, ratios.user),
    ),
    h(
      'div',
      { class: 'card-foot' },
      h('span', { title: tooltip('makespan') }, `makespan ${fmtMs(r.makespanMs)}`),
      r.hiddenPullFraction !== null
        ? h(
            'span',
            { title: tooltip('hiddenPull') },
            ` · ${(100 * r.hiddenPullFraction).toFixed(1)}% of pull time hidden`,
          )
        : '',
      run.capacity
        ? h(
            'span',
            { title: tooltip('hbm'), 'data-metric': 'hbm' },
            ` · ${fmtBytes(run.capacity.neededBytes)} of ${fmtBytes(run.capacity.capacityBytes)} HBM per GPU`,
          )
        : '',
    ),
    notes.length
      ? h(
          'ul',
          { class: 'caveats' },
          ...notes.map((n) => h('li', { class: `caveat caveat-${n.kind}`, 'data-caveat': n.kind }, n.text)),
        )
      : '',
  );
}

const COLUMNS: readonly [string, TermKey | null][] = [
  ['strategy', 'strategy'],
  ['TPS/GPU (tok/s)', 'tpsGpu'],
  ['vs DEP', 'vsDep'],
  ['TPS/user (tok/s)', 'tpsUser'],
  ['vs DEP', 'vsDep'],
  ['makespan', 'makespan'],
  ['compute / rank', 'compute'],
  ['pull wait / rank', 'pullWait'],
  ['barrier wait / rank', 'barrierWait'],
  ['idle / rank', 'idle'],
  ['hidden pull', 'hiddenPull'],
  ['pulled / rank', 'pulled'],
  ['weights / rank', 'weights'],
  ['of replica', 'ofReplica'],
];

function table(rows: SummaryRow[], runs: PageRun[]): HTMLElement {
  const hbm = runs.some((r) => r.capacity);
  const head: [string, TermKey | null][] = [
    ...COLUMNS,
    ...(hbm ? [['memory / GPU (HBM)', 'hbm'] as [string, TermKey]] : []),
  ];
  return h(
    'table',
    { class: 'summary-table' },
    h(
      'thead',
      {},
      h('tr', {}, ...head.map(([x, k]) => h('th', { title: k ? tooltip(k) : undefined, scope: 'col' }, x))),
    ),
    h(
      'tbody',
      {},
      ...rows.map((r, i) => {
        const cap = runs[i].capacity;
        return h(
          'tr',
          { class: cap && !cap.fits ? 'no-fit' : undefined },
          h('td', {}, r.strategy.toUpperCase()),
          h('td', { class: 'num' }, fmt(r.tpsPerGpu, 1)),
          h('td', { class: 'num' }, vsDepText(r.tpsPerGpuVsDep)),
          h('td', { class: 'num' }, fmt(r.tpsPerUser, 1)),
          h('td', { class: 'num' }, vsDepText(r.tpsPerUserVsDep)),
          h('td', { class: 'num' }, fmtMs(r.makespanMs)),
          h('td', { class: 'num' }, fmtMs(r.computeMs)),
          h('td', { class: 'num' }, fmtMs(r.waitMs)),
          h('td', { class: 'num' }, fmtMs(r.syncMs)),
          h('td', { class: 'num' }, fmtMs(r.idleMs)),
          h('td', { class: 'num' }, hiddenPullText(r.hiddenPullFraction)),
          h('td', { class: 'num' }, fmtBytes(r.bytesPulledPerRank)),
          h('td', { class: 'num' }, fmtBytes(r.weightBytesPerRank)),
          h('td', { class: 'num' }, `${(100 * r.weightVsReplica).toFixed(1)}%`),
          hbm
            ? h(
                'td',
                { class: 'num', 'data-metric': 'hbm' },
                cap
                  ? `${fmtBytes(cap.neededBytes)} / ${fmtBytes(cap.capacityBytes)}${cap.fits ? '' : ' — does not fit'}`
                  : '—',
              )
            : '',
        );
      }),
    ),
  );
}
