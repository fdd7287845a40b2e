// The sweep view: DWDP/DEP (TPS/GPU and TPS/user) along the swept field, with the break-even
// line at 1 and the crossover marked where the ratio crosses it. Categorical sweeps
// (contention fix on/off, rank mode, …) use evenly spaced points with their values as labels.
import uPlot from 'uplot';
import { crossovers, type Comparison } from '../compare.ts';
import { sourceBadge } from '../summary.ts';
import { clear, h } from './dom.ts';

export function sweepChart(root: HTMLElement, c: Comparison): uPlot | null {
  clear(root);
  if (!c.sweep) return null;
  const i = c.strategies.indexOf('dwdp');
  const j = c.strategies.indexOf('dep');
  if (i < 0 || j < 0) {
    root.append(h('p', { class: 'note' }, 'The sweep view plots DWDP ÷ DEP: include both strategies.'));
    return null;
  }
  const numeric = c.points.every((p) => p.value !== null && Number.isFinite(Number(p.value)));
  const xs = c.points.map((p, k) => (numeric ? Number(p.value) : k));
  const gpu = c.points.map((p) => p.results[i].tpsPerGpu / p.results[j].tpsPerGpu);
  const user = c.points.map((p) => p.results[i].tpsPerUser / p.results[j].tpsPerUser);
  const log = numeric && c.sweep.log && xs.every((x) => x > 0);
  const cross = numeric ? crossovers(xs, gpu, log) : [];
  const badge = sourceBadge(c.points[0].results[0]);
  const unit = c.sweep.unit ? ` (${c.sweep.unit})` : '';
  const box = h('div', { class: 'chart sweep' });
  const crossText = cross.length
    ? `DWDP/DEP TPS/GPU crosses 1 at ${c.sweep.label} ≈ ${cross.map(fmtX).join(', ')}${unit}`
    : `no crossover in this range (DWDP ${gpu.every((g) => g > 1) ? 'ahead' : gpu.every((g) => g < 1) ? 'behind' : 'level'} throughout)`;
  root.append(
    h(
      'div',
      { class: 'chart-head' },
      h('h3', {}, `DWDP ÷ DEP along ${c.sweep.label}`),
      h('span', { class: `badge ${badge === 'modeled' ? 'modeled' : 'measured'}` }, badge),
    ),
    h('p', { class: 'crossover' }, crossText),
    box,
  );
  const lo = Math.min(...gpu, ...user, 1);
  const hi = Math.max(...gpu, ...user, 1);
  const pad = Math.max(0.02, (hi - lo) * 0.12);
  return new uPlot(
    {
      width: box.clientWidth || root.clientWidth || 800,
      height: 280,
      scales: {
        x: {
          time: false,
          distr: log ? 3 : 1,
          ...(numeric ? {} : { range: [-0.3, xs.length - 0.7] as uPlot.Range.MinMax }),
        },
        y: { range: [lo - pad, hi + pad] },
      },
      axes: [
        {
          label: `${c.sweep.label}${unit}`,
          labelSize: 18,
          ...(numeric
            ? {}
            : { splits: () => xs, values: (_u: uPlot, s: number[]) => s.map((v) => c.points[v]?.value ?? '') }),
        },
        { label: `ratio (${badge})`, labelSize: 18, size: 56, values: (_u, s) => s.map((v) => `${v.toFixed(2)}×`) },
      ],
      series: [
        { label: c.sweep.label },
        {
          label: 'DWDP/DEP TPS/GPU',
          stroke: '#59a14f',
          width: 2.5,
          points: { show: true, size: 7 },
          value: (_u, v) => (v == null ? '—' : `${v.toFixed(3)}×`),
        },
        {
          label: 'DWDP/DEP TPS/user',
          stroke: '#4e79a7',
          width: 1.5,
          dash: [5, 3],
          points: { show: true, size: 5 },
          value: (_u, v) => (v == null ? '—' : `${v.toFixed(3)}×`),
        },
        { label: 'break-even', stroke: '#999', width: 1, dash: [2, 3], points: { show: false } },
      ],
      legend: { live: false },
      hooks: {
        draw: [
          (u) => {
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = '#e15759';
            ctx.fillStyle = '#e15759';
            ctx.lineWidth = 1.5 * devicePixelRatio;
            ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
            for (const x of cross) {
              const px = u.valToPos(x, 'x', true);
              ctx.beginPath();
              ctx.moveTo(px, u.bbox.top);
              ctx.lineTo(px, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.fillText(`crossover ≈ ${fmtX(x)}`, px + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
            }
            ctx.restore();
          },
        ],
      },
    },
    [xs, gpu, user, xs.map(() => 1)],
    box,
  );
}

const fmtX = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));
