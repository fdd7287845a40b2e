// The end-to-end view: the Pareto chart (output TPS/GPU against TPS/user, both strategies'
// frontiers, the bands shaded, each band's chosen deployment a marker whose tooltip names it),
// the per-band table, and the context/generation GPU split of the chosen points. Fed by the
// JSON of `npm run sim -- --scenario <e2e> --json` (an E2eResult); everything in it is modeled.
//
// The geometry is a pure function (e2eChart) so it can be checked without a DOM; renderE2eView
// only turns it into SVG and tables.
import type { E2ePoint, E2eResult } from '../../sim/e2e/scenario.ts';
import { clear, fmt, h } from './dom.ts';

type Strategy = 'dep' | 'dwdp';
const STRATEGIES: readonly Strategy[] = ['dep', 'dwdp'];
const COLORS: Record<Strategy, string> = { dep: '#c8423b', dwdp: '#2f6fde' };

export interface ChartBox {
  width: number;
  height: number;
  /** left, right, top, bottom margins (axis labels live there) */
  margin: [number, number, number, number];
}

export interface ChartPoint {
  px: number;
  py: number;
  tpsPerUser: number;
  tpsPerGpu: number;
  title: string;
}

export interface E2eChart {
  box: ChartBox;
  xMax: number;
  yMax: number;
  xTicks: { value: number; px: number }[];
  yTicks: { value: number; py: number }[];
  frontiers: { strategy: Strategy; points: ChartPoint[] }[];
  bands: { label: string; x0: number; x1: number }[];
  chosen: ({ strategy: Strategy; band: string } & ChartPoint)[];
}

/** A deployment in words (the tooltip of a point). */
export function describePoint(p: E2ePoint): string {
  const c = p.config;
  const g = c.gen;
  const ctx = `${c.ctxUnits} × ${c.strategy === 'dep' ? 'DEP' : 'DWDP'}${c.groupSize}`;
  return (
    `${c.strategy.toUpperCase()}: ${fmt(p.tpsPerUser)} TPS/user, ${fmt(p.tpsPerGpu, 0)} TPS/GPU, ` +
    `context ${ctx} (${p.ctxGpus} GPUs), generation EP${g.ep} batch ${g.batch} MTP ${g.mtp}${g.eplb ? ' EPLB' : ''} ` +
    `(${p.genGpus} GPUs), median TTFT ${fmt(p.ttftMedianMs, 0)} ms — modeled`
  );
}

/** Round up to 1, 2 or 5 × 10ⁿ. */
function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Where every element of the chart goes, in SVG pixels (y grows downwards). */
export function e2eChart(res: Pick<E2eResult, 'bands' | 'frontier'>, box: ChartBox): E2eChart {
  const [ml, mr, mt, mb] = box.margin;
  const all = STRATEGIES.flatMap((s) => res.frontier[s]);
  const bandHi = Math.max(0, ...res.bands.map((b) => b.tpsPerUser[1]));
  const xStep = niceStep(Math.max(1, ...all.map((p) => p.tpsPerUser), bandHi), 6);
  const yStep = niceStep(Math.max(1, ...all.map((p) => p.tpsPerGpu)), 5);
  const xMax = xStep * Math.ceil((Math.max(1, ...all.map((p) => p.tpsPerUser), bandHi) * 1.02) / xStep);
  const yMax = yStep * Math.ceil((Math.max(1, ...all.map((p) => p.tpsPerGpu)) * 1.05) / yStep);
  const px = (x: number) => ml + (x / xMax) * (box.width - ml - mr);
  const py = (y: number) => box.height - mb - (y / yMax) * (box.height - mt - mb);
  const point = (p: E2ePoint): ChartPoint => ({
    px: px(p.tpsPerUser),
    py: py(p.tpsPerGpu),
    tpsPerUser: p.tpsPerUser,
    tpsPerGpu: p.tpsPerGpu,
    title: describePoint(p),
  });
  const ticks = (max: number, step: number) => Array.from({ length: Math.round(max / step) + 1 }, (_, i) => i * step);
  return {
    box,
    xMax,
    yMax,
    xTicks: ticks(xMax, xStep).map((value) => ({ value, px: px(value) })),
    yTicks: ticks(yMax, yStep).map((value) => ({ value, py: py(value) })),
    frontiers: STRATEGIES.map((strategy) => ({
      strategy,
      points: [...res.frontier[strategy]].sort((a, b) => a.tpsPerUser - b.tpsPerUser).map(point),
    })),
    bands: res.bands.map((b) => ({
      label: `${b.tpsPerUser[0]}–${b.tpsPerUser[1]}`,
      x0: px(b.tpsPerUser[0]),
      x1: px(b.tpsPerUser[1]),
    })),
    chosen: res.bands.flatMap((b) =>
      STRATEGIES.flatMap((strategy) => {
        const p = b[strategy];
        return p ? [{ strategy, band: `${b.tpsPerUser[0]}–${b.tpsPerUser[1]}`, ...point(p) }] : [];
      }),
    ),
  };
}

/** The per-band table's rows (strings, as shown). */
export function e2eBandRows(res: Pick<E2eResult, 'bands'>): string[][] {
  return res.bands.map((b) => {
    const side = (p: E2ePoint | null) =>
      p
        ? [fmt(p.tpsPerUser), fmt(p.tpsPerGpu, 0), `${p.ctxGpus} + ${p.genGpus}`, fmt(p.ttftMedianMs, 0)]
        : ['–', '–', '–', '–'];
    return [
      `${b.tpsPerUser[0]}–${b.tpsPerUser[1]}`,
      ...side(b.dep),
      ...side(b.dwdp),
      b.speedupTpsPerGpu === null ? '–' : b.speedupTpsPerGpu.toFixed(3),
    ];
  });
}

/** The chart in one sentence (its text alternative): both frontiers' extent and the bands' speedups. */
export function e2eChartSummary(res: Pick<E2eResult, 'bands' | 'frontier'>): string {
  const extent = (st: Strategy) => {
    const f = res.frontier[st];
    if (f.length === 0) return `${st.toUpperCase()}: no point`;
    const x = f.map((p) => p.tpsPerUser);
    const y = f.map((p) => p.tpsPerGpu);
    return (
      `${st.toUpperCase()} frontier: ${f.length} points, ${fmt(Math.min(...x))} to ${fmt(Math.max(...x))} TPS/user, ` +
      `${fmt(Math.min(...y), 0)} to ${fmt(Math.max(...y), 0)} TPS/GPU`
    );
  };
  const bands = res.bands
    .map(
      (b) =>
        `${b.tpsPerUser[0]}–${b.tpsPerUser[1]}: ` +
        (b.speedupTpsPerGpu === null ? 'no pair' : `DWDP/DEP ${b.speedupTpsPerGpu.toFixed(3)}`),
    )
    .join('; ');
  return `Modeled output TPS/GPU against TPS/user. ${extent('dep')}. ${extent('dwdp')}. Bands: ${bands}.`;
}

/** Every frontier point as a row (strategy, TPS/user, TPS/GPU, deployment), by strategy then TPS/user. */
export function e2eFrontierRows(res: Pick<E2eResult, 'frontier'>): string[][] {
  return STRATEGIES.flatMap((st) =>
    [...res.frontier[st]]
      .sort((a, b) => a.tpsPerUser - b.tpsPerUser)
      .map((p) => [st, fmt(p.tpsPerUser), fmt(p.tpsPerGpu, 0), describePoint(p)]),
  );
}

/** The chart's height and margins; its width is the view's. */
export const E2E_CHART_BOX: Omit<ChartBox, 'width'> = { height: 380, margin: [64, 16, 16, 44] };

const SVG = 'http://www.w3.org/2000/svg';
function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  ...kids: (Node | string)[]
) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...kids);
  return el;
}

export function renderE2eView(root: HTMLElement, res: E2eResult): void {
  clear(root);
  const width = root.clientWidth || 900;
  const chart = e2eChart(res, { width, ...E2E_CHART_BOX });
  const { box } = chart;
  const svg = s(
    'svg',
    { width: box.width, height: box.height, class: 'e2e-pareto', role: 'img', 'aria-label': e2eChartSummary(res) },
    s('desc', {}, 'Each frontier point as text: the table under "The chart as a table" below the chart.'),
  );
  const bottom = box.height - box.margin[3];
  for (const b of chart.bands) {
    svg.append(
      s('rect', {
        x: b.x0,
        y: box.margin[2],
        width: b.x1 - b.x0,
        height: bottom - box.margin[2],
        fill: '#8a5cc2',
        'fill-opacity': 0.08,
      }),
      s('text', { x: (b.x0 + b.x1) / 2, y: box.margin[2] + 12, 'text-anchor': 'middle', 'font-size': 10 }, b.label),
    );
  }
  for (const t of chart.xTicks)
    svg.append(s('text', { x: t.px, y: bottom + 16, 'text-anchor': 'middle', 'font-size': 11 }, String(t.value)));
  for (const t of chart.yTicks) {
    svg.append(
      s('line', { x1: box.margin[0], x2: box.width - box.margin[1], y1: t.py, y2: t.py, stroke: '#dfe3ea' }),
      s('text', { x: box.margin[0] - 6, y: t.py + 4, 'text-anchor': 'end', 'font-size': 11 }, String(t.value)),
    );
  }
  svg.append(
    s(
      'text',
      { x: (box.margin[0] + box.width) / 2, y: box.height - 6, 'text-anchor': 'middle', 'font-size': 12 },
      'TPS/user',
    ),
    s(
      'text',
      {
        x: 14,
        y: box.height / 2,
        transform: `rotate(-90 14 ${box.height / 2})`,
        'text-anchor': 'middle',
        'font-size': 12,
      },
      'output TPS/GPU (all GPUs)',
    ),
  );
  // Legend, top right: one line sample per strategy.
  STRATEGIES.forEach((st, i) => {
    const x = box.width - box.margin[1] - 110;
    const y = box.margin[2] + 12 + 16 * i;
    svg.append(
      s('line', { x1: x, x2: x + 22, y1: y - 4, y2: y - 4, stroke: COLORS[st], 'stroke-width': 2 }),
      s('text', { x: x + 28, y, 'font-size': 11 }, `${st.toUpperCase()} frontier`),
    );
  });
  for (const f of chart.frontiers) {
    svg.append(
      s('polyline', {
        points: f.points.map((p) => `${p.px},${p.py}`).join(' '),
        fill: 'none',
        stroke: COLORS[f.strategy],
        'stroke-width': 2,
      }),
    );
    for (const p of f.points)
      svg.append(
        s(
          'circle',
          {
            cx: p.px,
            cy: p.py,
            r: 3,
            fill: COLORS[f.strategy],
            class: 'e2e-frontier-point',
            'data-strategy': f.strategy,
          },
          s('title', {}, p.title),
        ),
      );
  }
  for (const c of chart.chosen)
    svg.append(
      s(
        'circle',
        {
          cx: c.px,
          cy: c.py,
          r: 7,
          fill: 'none',
          stroke: COLORS[c.strategy],
          'stroke-width': 2.5,
          class: 'e2e-chosen',
          'data-strategy': c.strategy,
          'data-band': c.band,
        },
        s('title', {}, `band ${c.band}, chosen — ${c.title}`),
      ),
    );
  const head = [
    'band',
    'DEP TPS/user',
    'TPS/GPU',
    'GPUs ctx + gen',
    'TTFT ms',
    'DWDP TPS/user',
    'TPS/GPU',
    'GPUs ctx + gen',
    'TTFT ms',
    'DWDP/DEP',
  ];
  const table = h(
    'table',
    { class: 'e2e-bands' },
    h('caption', {}, 'Best modeled output TPS/GPU per TPS/user band, each strategy, and DWDP ÷ DEP'),
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...e2eBandRows(res).map((r) => h('tr', {}, ...r.map((x) => h('td', {}, x))))),
  );
  // Context/generation split of the chosen points: one bar per band and strategy, GPUs to scale.
  const maxGpus = Math.max(
    1,
    ...res.bands.flatMap((b) => STRATEGIES.map((st) => (b[st] ? b[st].ctxGpus + b[st].genGpus : 0))),
  );
  const split = h(
    'div',
    { class: 'e2e-split' },
    ...res.bands.flatMap((b) =>
      STRATEGIES.map((st) => {
        const p = b[st];
        if (!p) return h('div', {}, `${b.tpsPerUser[0]}–${b.tpsPerUser[1]} ${st.toUpperCase()}: no point`);
        const w = (n: number) => `${(100 * n) / maxGpus}%`;
        return h(
          'div',
          { class: 'e2e-split-row', title: describePoint(p), style: 'display:flex;align-items:center;margin:2px 0' },
          h('span', { style: 'flex:0 0 9em' }, `${b.tpsPerUser[0]}–${b.tpsPerUser[1]} ${st.toUpperCase()}`),
          h(
            'span',
            { style: 'flex:1 1 auto;display:flex' },
            h('span', { style: `width:${w(p.ctxGpus)};background:${COLORS[st]}8c;color:#111` }, `ctx ${p.ctxGpus}`),
            h('span', { style: `width:${w(p.genGpus)};background:${COLORS[st]};color:#fff` }, `gen ${p.genGpus}`),
          ),
        );
      }),
    ),
  );
  root.append(
    h(
      'div',
      { class: 'chart-head' },
      h('h3', {}, `End to end: ${res.scenario}`),
      h('span', { class: 'badge modeled', title: res.provenance }, `modeled on ${res.profile.id}`),
    ),
    h(
      'p',
      {},
      'DEP (red) and DWDP (blue) frontiers; bands shaded; circled: the chosen deployment per band (hover for it).',
    ),
    svg,
    h(
      'details',
      { class: 'e2e-chart-table' },
      h('summary', {}, 'The chart as a table (every frontier point)'),
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...['strategy', 'TPS/user', 'TPS/GPU', 'deployment'].map((x) => h('th', {}, x)))),
        h(
          'tbody',
          {},
          ...e2eFrontierRows(res).map((r) => h('tr', { 'data-strategy': r[0] }, ...r.map((x) => h('td', {}, x)))),
        ),
      ),
    ),
    table,
    h('h4', {}, 'Context / generation GPUs of the chosen deployments'),
    split,
  );
}
