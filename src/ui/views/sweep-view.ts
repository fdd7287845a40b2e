// The sweep view: DWDP/DEP (TPS/GPU and TPS/user) along the swept field, with the break-even
// line at 1 and the crossover marked where the ratio crosses it; categorical sweeps (contention
// fix on/off, rank mode, …) as bars, one group per value. The legend reads the values under the
// cursor; a table under the chart gives every point with the breakdown that explains its ratio
// (sweep-summary.ts), and the verdict line says the same in words.
import uPlot from 'uplot';
import type { Comparison } from '../compare.ts';
import { tooltip } from '../glossary.ts';
import { sourceBadge } from '../summary.ts';
import { sweepSummary } from '../sweep-summary.ts';
import { clear, fitWidth, fmtMs, h } from './dom.ts';

const GPU_COLOR = '#009e73'; // Okabe–Ito bluish green
const USER_COLOR = '#0072b2'; // Okabe–Ito blue
const CROSS_COLOR = '#d55e00'; // Okabe–Ito vermillion

export function sweepChart(root: HTMLElement, c: Comparison, onPick?: (point: number) => void): uPlot | null {
  clear(root);
  if (!c.sweep) return null;
  const s = sweepSummary(c);
  if (!s) {
    root.append(h('p', { class: 'note' }, 'The sweep view plots DWDP ÷ DEP: include both strategies.'));
    return null;
  }
  const { numeric, xs, rows } = s;
  const gpu = rows.map((r) => r.gpuRatio);
  const user = rows.map((r) => r.userRatio);
  const log = numeric && c.sweep.log && xs.every((x) => x > 0);
  const cross = s.crossovers;
  const badge = sourceBadge(c.points[0].results[0]);
  const unit = c.sweep.unit ? ` (${c.sweep.unit})` : '';
  const box = h('div', {
    class: 'chart sweep',
    role: 'img',
    'aria-label': `Chart: DWDP ÷ DEP along ${c.sweep.label}. ${s.verdict}. The table below lists every point.`,
  });
  root.append(
    h(
      'div',
      { class: 'chart-head' },
      h('h3', {}, `DWDP ÷ DEP along ${c.sweep.label}`),
      h('span', { class: `badge ${badge === 'modeled' ? 'modeled' : 'measured'}` }, badge),
    ),
    h('p', { class: 'crossover', title: tooltip('crossover') }, `${s.verdict}.`),
    box,
    pointTable(c, s, onPick),
  );
  const lo = Math.min(...gpu, ...user, 1);
  const hi = Math.max(...gpu, ...user, 1);
  const pad = Math.max(0.02, (hi - lo) * 0.12);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  // Log axes hug the data (uPlot would round out to whole decades).
  const xRange: uPlot.Range.MinMax = !numeric
    ? [-0.6, xs.length - 0.4]
    : log
      ? [xMin / 1.25, xMax * 1.25]
      : [xMin - (xMax - xMin) * 0.05 || xMin - 1, xMax + (xMax - xMin) * 0.05 || xMax + 1];
  const bars = !numeric
    ? {
        gpu: uPlot.paths.bars!({ size: [0.35, 60], align: -1 }),
        user: uPlot.paths.bars!({ size: [0.35, 60], align: 1 }),
      }
    : null;
  const fmtV = (_u: uPlot, v: number | null) => (v == null ? '—' : `${v.toFixed(3)}×`);
  return fitWidth(
    new uPlot(
      {
        width: box.clientWidth || root.clientWidth || 800,
        height: 280,
        scales: {
          x: { time: false, distr: log ? 3 : 1, range: () => xRange },
          y: { range: [Math.min(lo - pad, bars ? 0 : lo - pad), hi + pad] },
        },
        axes: [
          {
            label: `${c.sweep.label}${unit}`,
            labelSize: 18,
            ...(numeric
              ? { splits: () => xs }
              : { splits: () => xs, values: (_u: uPlot, v: number[]) => v.map((k) => c.points[k]?.value ?? '') }),
          },
          { label: `ratio (${badge})`, labelSize: 18, size: 56, values: (_u, v) => v.map((x) => `${x.toFixed(2)}×`) },
        ],
        series: [
          {
            label: c.sweep.label,
            value: (_u, v) => (v == null ? '—' : numeric ? String(v) : (c.points[v]?.value ?? '')),
          },
          {
            label: 'DWDP/DEP TPS/GPU',
            stroke: GPU_COLOR,
            fill: bars ? GPU_COLOR : undefined,
            width: bars ? 1 : 2.5,
            paths: bars?.gpu,
            points: { show: !bars, size: 7 },
            value: fmtV,
          },
          {
            label: 'DWDP/DEP TPS/user',
            stroke: USER_COLOR,
            fill: bars ? USER_COLOR : undefined,
            width: bars ? 1 : 1.5,
            dash: bars ? undefined : [5, 3],
            paths: bars?.user,
            points: { show: !bars, size: 5 },
            value: fmtV,
          },
          { label: 'break-even', stroke: '#666', width: 1, dash: [2, 3], points: { show: false }, value: () => '1×' },
        ],
        // Live legend: the values under the cursor.
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              const dpr = devicePixelRatio;
              ctx.save();
              ctx.strokeStyle = CROSS_COLOR;
              ctx.fillStyle = CROSS_COLOR;
              ctx.lineWidth = 1.5 * dpr;
              ctx.font = `${11 * dpr}px system-ui, sans-serif`;
              cross.forEach((x, k) => {
                const px = u.valToPos(x, 'x', true);
                ctx.beginPath();
                ctx.moveTo(px, u.bbox.top);
                ctx.lineTo(px, u.bbox.top + u.bbox.height);
                ctx.stroke();
                // Labels stagger down so neighbours never overlap, and flip left near the right edge.
                const text = `crossover ≈ ${fmtX(x)}`;
                const w = ctx.measureText(text).width;
                const right = px + 4 * dpr + w > u.bbox.left + u.bbox.width;
                ctx.textAlign = right ? 'right' : 'left';
                ctx.fillText(text, px + (right ? -4 : 4) * dpr, u.bbox.top + (12 + 14 * k) * dpr);
              });
              ctx.restore();
            },
          ],
        },
      },
      [xs, gpu, user, xs.map(() => 1)],
      box,
    ),
    box,
  );
}

function pointTable(c: Comparison, s: NonNullable<ReturnType<typeof sweepSummary>>, onPick?: (i: number) => void) {
  const head: [string, string][] = [
    [c.sweep!.label, 'the swept value'],
    ['DWDP/DEP TPS/GPU', tooltip('vsDep')],
    ['DWDP/DEP TPS/user', tooltip('vsDep')],
    ['DEP makespan', tooltip('makespan')],
    ['DWDP makespan', tooltip('makespan')],
    ['DEP compute / rank', tooltip('compute')],
    ['DEP barrier wait / rank', tooltip('barrierWait')],
    ['DWDP compute / rank', tooltip('compute')],
    ['DWDP pull wait / rank', tooltip('pullWait')],
    ['DWDP hidden pull', tooltip('hiddenPull')],
  ];
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'summary-table sweep-table' },
      h(
        'caption',
        {},
        'Every point, with what explains its ratio: DEP loses time waiting at its barriers, DWDP where a pull is not hidden (pull wait). ' +
          'Click a row to show that point below.',
      ),
      h('thead', {}, h('tr', {}, ...head.map(([x, t]) => h('th', { scope: 'col', title: t }, x)))),
      h(
        'tbody',
        {},
        ...s.rows.map((r, i) => {
          const tr = h(
            'tr',
            { 'data-point': i, class: r.gpuRatio > 1 ? 'ahead' : r.gpuRatio < 1 ? 'behind' : undefined },
            h('td', {}, r.value),
            h('td', { class: 'num' }, `${r.gpuRatio.toFixed(3)}×`),
            h('td', { class: 'num' }, `${r.userRatio.toFixed(3)}×`),
            h('td', { class: 'num' }, fmtMs(r.depMakespanMs)),
            h('td', { class: 'num' }, fmtMs(r.dwdpMakespanMs)),
            h('td', { class: 'num' }, fmtMs(r.depComputeMs)),
            h('td', { class: 'num' }, fmtMs(r.depBarrierMs)),
            h('td', { class: 'num' }, fmtMs(r.dwdpComputeMs)),
            h('td', { class: 'num' }, fmtMs(r.dwdpPullWaitMs)),
            h('td', { class: 'num' }, `${(100 * r.hiddenPullFraction).toFixed(1)}%`),
          );
          if (onPick) tr.addEventListener('click', () => onPick(i));
          return tr;
        }),
      ),
    ),
  );
}

const fmtX = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));
