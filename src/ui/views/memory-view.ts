// Memory per rank, per strategy, on uPlot bars: resident expert weights with the prefetch
// buffers stacked on top, against a full replica (the dashed line). Buffer sizes are exact
// (allocated by the emulation, or computed by the model), so the badge says which.
import uPlot from 'uplot';
import type { GroupRunResult } from '../../strategies/types.ts';
import { sourceBadge } from '../summary.ts';
import { clear, fitWidth, h } from './dom.ts';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export function memoryChart(root: HTMLElement, results: readonly GroupRunResult[]): uPlot {
  clear(root);
  // One bar per (strategy, rank), with an empty slot between strategies; GiB once anything reaches one.
  const biggest = Math.max(
    ...results.map((r) =>
      Math.max(r.replicaWeightBytes, ...r.ranks.map((k) => k.residentWeightBytes + k.prefetchBufferBytes)),
    ),
  );
  const [scale, unit] = biggest >= GIB ? [GIB, 'GiB'] : [MIB, 'MiB'];
  const groups: { strategy: string; from: number; to: number }[] = [];
  const labels: string[] = [];
  const resident: (number | null)[] = [];
  const total: (number | null)[] = [];
  const replica: (number | null)[] = [];
  results.forEach((r, i) => {
    if (i > 0) {
      labels.push('');
      resident.push(null);
      total.push(null);
      replica.push(r.replicaWeightBytes / scale);
    }
    const from = labels.length;
    for (const k of r.ranks) {
      labels.push(`r${k.rank}`);
      resident.push(k.residentWeightBytes / scale);
      total.push((k.residentWeightBytes + k.prefetchBufferBytes) / scale);
      replica.push(r.replicaWeightBytes / scale);
    }
    groups.push({ strategy: r.strategy.toUpperCase(), from, to: labels.length - 1 });
  });
  const xs = labels.map((_, i) => i);
  const badge = sourceBadge(results[0]);
  const what = badge === 'modeled' ? 'modeled' : 'allocated here';
  // The text alternative: each strategy's largest rank against the full replica.
  const alt = results
    .map((r) => {
      const most = Math.max(...r.ranks.map((k) => k.residentWeightBytes + k.prefetchBufferBytes));
      return `${r.strategy.toUpperCase()} ${(most / scale).toFixed(2)} ${unit} on its largest rank`;
    })
    .join(', ');
  const box = h('div', {
    class: 'chart memory',
    role: 'img',
    'aria-label': `Routed-expert weight memory per rank (${what}): ${alt}; a full replica is ${(results[0].replicaWeightBytes / scale).toFixed(2)} ${unit}.`,
  });
  root.append(
    h(
      'div',
      { class: 'chart-head' },
      h('h3', {}, 'Routed-expert weight memory per rank'),
      h('span', { class: `badge ${badge === 'modeled' ? 'modeled' : 'measured'}` }, what),
    ),
    box,
  );
  const bars = uPlot.paths.bars!({ size: [0.7, 48], gap: 2 });
  // The legend's value of each series, in the chart's unit.
  const inUnit = (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(3)} ${unit}`);
  return fitWidth(
    new uPlot(
      {
        width: box.clientWidth || root.clientWidth || 800,
        height: 260,
        scales: {
          x: { time: false, range: [-0.6, xs.length - 0.4] },
          y: { range: (_u, _min, max) => [0, max * 1.15] },
        },
        axes: [
          {
            values: (_u, splits) => splits.map((v) => labels[v] ?? ''),
            splits: () => xs.filter((i) => labels[i] !== ''),
            size: 30,
            grid: { show: false },
          },
          { label: `${unit} per rank (${what})`, labelSize: 18, size: 64 },
        ],
        series: [
          { label: 'slot' },
          {
            label: 'prefetch buffers (stacked)',
            fill: '#e69f00',
            stroke: '#e69f00',
            paths: bars,
            points: { show: false },
            value: inUnit,
          },
          {
            label: 'resident experts',
            fill: '#0072b2',
            stroke: '#0072b2',
            paths: bars,
            points: { show: false },
            value: inUnit,
          },
          {
            label: 'full replica',
            stroke: '#555',
            dash: [6, 4],
            width: 1.5,
            points: { show: false },
            value: inUnit,
          },
        ],
        legend: { live: false },
        cursor: { points: { show: false }, drag: { x: false, y: false } },
        hooks: {
          // Strategy names above their group of bars.
          draw: [
            (u) => {
              const ctx = u.ctx;
              ctx.save();
              ctx.fillStyle = '#1d2330';
              ctx.font = `600 ${12 * devicePixelRatio}px system-ui, sans-serif`;
              ctx.textAlign = 'center';
              for (const g of groups)
                ctx.fillText(
                  g.strategy,
                  (u.valToPos(g.from, 'x', true) + u.valToPos(g.to, 'x', true)) / 2,
                  u.bbox.top + 14 * devicePixelRatio,
                );
              ctx.restore();
            },
          ],
        },
      },
      [xs, total, resident, replica],
      box,
    ),
    box,
  );
}
