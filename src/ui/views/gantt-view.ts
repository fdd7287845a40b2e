// Per-rank Gantt charts, one per strategy, on uPlot: uPlot owns the axes, scales, cursor and
// drag-to-zoom (double-click resets); the spans are drawn in its draw hook with valToPos.
// Two rows per rank (compute stream, copy engine); from 8 ranks up one row per rank, its copy
// engine's busy time a thin strip along the row's foot (the copy spans are aggregated per rank
// then: compact.ts). Every strategy shares one time axis so their makespans compare at a
// glance, and zooming one zooms all.
import uPlot from 'uplot';
import type { GroupRunResult } from '../../strategies/types.ts';
import { AGGREGATE_FROM_RANKS } from '../compact.ts';
import {
  CLASS_COLOR,
  SPAN_CLASSES,
  busySpans,
  classTotals,
  pullWaitLinks,
  spanAt,
  timelineRows,
  type PlacedSpan,
  type SpanClass,
  type TimelineRow,
} from '../timeline.ts';
import { sourceBadge } from '../summary.ts';
import { clear, fmtBytes, fmtMs, h } from './dom.ts';
import { appliedLinkFactor } from '../../strategies/dilation.ts';

const ROW_PX = 22;

/** What each legend entry means (its tooltip). */
const LEGEND_MEANING: Record<SpanClass, string> = {
  attention: 'the attention stand-in of each layer (compute stream)',
  router: 'the router: scores and top-k expert choice per token',
  gemm: 'the routed experts’ grouped GEMMs (gate/up and down)',
  dense: 'the shared expert or a dense layer’s MLP',
  combine: 'weighting and summing the experts’ outputs per token',
  merge: 'split weights off: copying pulled experts into one buffer before the GEMM',
  collective: 'DEP’s all-to-all kernels on the stream: packing rows, local rows, launch cost',
  other: 'other compute (norms, RoPE, quantize, permutes, LM head)',
  wait: 'the stream stood still until a DWDP pull landed: exposed pull time',
  sync: 'the stream stood still at a barrier or for a late peer (DEP’s all-to-all)',
  comm: 'DEP’s all-to-all transfer on the stream',
  idle: 'nothing to do: the rank finished before the slowest one (makespan − its end)',
  pull: 'this rank’s copy engine moving expert weights to a peer that pulls them',
  send: 'this rank’s copy engine sending tokens to a peer in DEP’s all-to-all',
};
const AGGREGATED_ROW_PX = 13;

/** A drawn row: a timeline row, and in aggregated charts its copy engine's busy time. */
type GanttRow = TimelineRow & { busy?: { startMs: number; endMs: number }[]; copyCls?: 'pull' | 'send' };

function ganttRows(r: GroupRunResult, rows: TimelineRow[]): GanttRow[] {
  if (r.ranks.length < AGGREGATE_FROM_RANKS) return rows;
  const out: GanttRow[] = [];
  for (let i = 0; i < rows.length; i += 2) {
    const copy = rows[i + 1];
    out.push({
      ...rows[i],
      name: `r${rows[i].rank}`,
      busy: busySpans(copy),
      copyCls: copy.spans.some((s) => s.cls === 'send') ? 'send' : 'pull',
    });
  }
  return out;
}

/** An arrow drawn from a pull to the wait it feeds (canvas pixels, as drawn). */
export interface DrawnArrow {
  pull: PlacedSpan;
  wait: PlacedSpan;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** What a chart's pull ↔ wait links show now: the hovered span and the arrows drawn for it. */
export interface GanttLinks {
  rows: readonly Pick<TimelineRow, 'rank' | 'lane' | 'name'>[];
  hovered: PlacedSpan | null;
  arrows: DrawnArrow[];
  /** Where row `row` at time `t` (ms) is on screen (client coordinates): to point at a span. */
  clientPoint(row: number, t: number): { x: number; y: number };
}

export interface GanttOptions {
  /** The time axis' end (ms): another chart's makespan, to put two comparisons on one scale. */
  xMaxMs?: number;
  /** Before each chart's title, e.g. 'Baseline — '. */
  titlePrefix?: string;
  /** A zoom (or its reset) of these charts, for charts elsewhere on the same time axis to follow. */
  onZoom?: (min: number, max: number) => void;
}

export interface GanttCharts {
  plots: { title: string; plot: uPlot; links: GanttLinks }[];
  /** Resolves when every chart is built (one per task). */
  ready: Promise<void>;
  /** Sets every chart's time axis (without calling onZoom back). */
  zoom(min: number, max: number): void;
  destroy(): void;
}

/** Charts for every run of one comparison point, into `root`. `onHover` gets the time under the cursor. */
export function ganttCharts(
  root: HTMLElement,
  results: readonly GroupRunResult[],
  onHover?: (t: number | null, r: GroupRunResult) => void,
  opts: GanttOptions = {},
): GanttCharts {
  clear(root);
  const xMax = Math.max(opts.xMaxMs ?? 0, ...results.map((r) => r.makespanMs));
  const plots: GanttCharts['plots'] = [];
  let syncing = false;

  const full = results.map((r) => timelineRows(r));
  const allRows = results.map((r, i) => ganttRows(r, full[i]));
  root.append(legend(full.flat()));
  if (results[0] && results[0].ranks.length >= AGGREGATE_FROM_RANKS)
    root.append(
      h(
        'p',
        { class: 'note' },
        `${results[0].ranks.length} ranks: one row per rank (its compute stream); the strip along each row's foot ` +
          'is when its copy engine was moving bytes (serving pulls or all-to-all sends, aggregated per rank and layer).',
      ),
    );
  // The heads and boxes now (the layout does not move); each chart in a task of its own, so a
  // large group never holds the main thread for all of them at once.
  const boxes = results.map((r) => {
    const title = `${opts.titlePrefix ?? ''}${r.strategy.toUpperCase()}: per-rank timeline, makespan ${fmtMs(r.makespanMs)}`;
    const box = h('div', { class: 'chart gantt', role: 'img', 'aria-label': ganttAlt(r) });
    box.style.minHeight = `${allRows[results.indexOf(r)].length * (r.ranks.length >= AGGREGATE_FROM_RANKS ? AGGREGATED_ROW_PX : ROW_PX) + 56}px`;
    root.append(
      h(
        'div',
        { class: 'chart-head' },
        h('h3', {}, title),
        h('span', { class: `badge ${sourceBadge(r) === 'modeled' ? 'modeled' : 'measured'}` }, sourceBadge(r)),
      ),
      box,
    );
    return { title, box };
  });
  let destroyed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const build = (i: number) => {
    if (destroyed || i >= results.length) return;
    const r = results[i];
    const { title, box } = boxes[i];
    const links: GanttLinks = {
      rows: allRows[i].map(({ rank, lane, name }) => ({ rank, lane, name })),
      hovered: null,
      arrows: [],
      clientPoint: (row, t) => {
        const rect = plot.over.getBoundingClientRect();
        const y = allRows[i].length - 1 - row;
        return { x: rect.left + plot.valToPos(t, 'x'), y: rect.top + plot.valToPos(y, 'y') };
      },
    };
    const plot: uPlot = new uPlot(
      options(r, allRows[i], box.clientWidth || root.clientWidth || 800, links, onHover, (min, max) => {
        if (syncing) return;
        syncing = true;
        for (const p of plots) if (p.plot !== plot) p.plot.setScale('x', { min, max });
        syncing = false;
        opts.onZoom?.(min, max);
      }),
      [
        [0, xMax],
        [null, null],
      ],
      box,
    );
    plot.over.append(h('div', { class: 'tooltip', hidden: true }));
    // A chart built after the others were zoomed joins their zoom.
    const zoomed = plots[0]?.plot.scales.x;
    if (zoomed && zoomed.min !== undefined && zoomed.max !== undefined)
      plot.setScale('x', { min: zoomed.min, max: zoomed.max });
    plots.push({ title, plot, links });
    if (i + 1 < results.length) timer = setTimeout(() => build(i + 1), 0);
    else resolveReady();
  };
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  if (results.length) build(0);
  else resolveReady();
  const ro = new ResizeObserver(() => {
    for (const p of plots) p.plot.setSize({ width: p.plot.root.parentElement!.clientWidth, height: p.plot.height });
  });
  ro.observe(root);
  return {
    plots,
    ready,
    zoom(min, max) {
      syncing = true;
      for (const p of plots) p.plot.setScale('x', { min, max });
      syncing = false;
    },
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      resolveReady();
      ro.disconnect();
      for (const p of plots) p.plot.destroy();
      clear(root);
    },
  };
}

/** The chart's text alternative: what each rank's stream spent its time on. */
function ganttAlt(r: GroupRunResult): string {
  const mean = (f: (k: GroupRunResult['ranks'][number]) => number) =>
    r.ranks.reduce((a, k) => a + f(k), 0) / Math.max(1, r.ranks.length);
  return (
    `Timeline of ${r.strategy.toUpperCase()} on ${r.ranks.length} ranks, makespan ${fmtMs(r.makespanMs)}: per rank on average ` +
    `${fmtMs(mean((k) => k.computeMs))} compute, ${fmtMs(mean((k) => k.waitMs))} waiting for pulls, ` +
    `${fmtMs(mean((k) => k.syncMs))} at barriers, ${fmtMs(mean((k) => k.idleMs))} idle.`
  );
}

/** The span legend (label, colour and meaning per category): one vocabulary for the Gantt and the topology. */
export function legend(rows: TimelineRow[]): HTMLElement {
  const totals = classTotals(rows);
  const items = SPAN_CLASSES.filter((c) => totals[c.cls] > 0 || c.cls === 'idle');
  return h(
    'div',
    { class: 'legend' },
    ...items.map((c) =>
      h(
        'span',
        { class: 'legend-item', title: `${c.label}: ${LEGEND_MEANING[c.cls]}` },
        h('i', { style: `background:${c.color}` }),
        c.label,
      ),
    ),
  );
}

function options(
  r: GroupRunResult,
  rows: GanttRow[],
  width: number,
  model: GanttLinks,
  onHover: ((t: number | null, r: GroupRunResult) => void) | undefined,
  onZoom: (min: number, max: number) => void,
): uPlot.Options {
  const n = rows.length;
  // Row i (rank 0 compute at the top) sits at y = n − 1 − i.
  const yOf = (i: number) => n - 1 - i;
  const badge = sourceBadge(r);
  const rowPx = rows.some((x) => x.busy) ? AGGREGATED_ROW_PX : ROW_PX;
  // The hovered pull or wait and the spans it links to (pullWaitLinks), drawn as arrows.
  let hovered: { at: PlacedSpan; links: PlacedSpan[] } | null = null;
  return {
    width,
    height: n * rowPx + 56,
    legend: { show: false },
    scales: { x: { time: false }, y: { range: [-0.5, n - 0.5] } },
    axes: [
      {
        label: `time (${badge}${badge === 'modeled' ? '' : `, ${r.clock} clock`})`,
        labelSize: 18,
        size: 36,
        values: (u, splits) => splits.map((v) => fmtTick(v, u.scales.x.max! - u.scales.x.min!)),
      },
      {
        size: rowPx === ROW_PX ? 104 : 44,
        gap: 4,
        splits: () => rows.map((_, i) => yOf(i)),
        values: (_u, splits) => splits.map((v) => rows[n - 1 - v]?.name ?? ''),
        grid: { show: false },
        ticks: { show: false },
      },
    ],
    series: [{}, { label: 'spans', paths: () => null, points: { show: false } }],
    cursor: { y: false, points: { show: false }, drag: { x: true, y: false, setScale: true } },
    hooks: {
      draw: [
        (u) => {
          drawSpans(u, rows, yOf);
          model.hovered = hovered?.at ?? null;
          model.arrows = hovered ? drawLinks(u, hovered.at, hovered.links, yOf) : [];
        },
      ],
      setScale: [
        (u, key) => {
          if (key === 'x') onZoom(u.scales.x.min!, u.scales.x.max!);
        },
      ],
      setCursor: [
        (u) => {
          const tip = u.over.querySelector('.tooltip') as HTMLElement | null;
          const { left, top } = u.cursor;
          if (!tip || left === undefined || top === undefined || left < 0) {
            if (tip) tip.hidden = true;
            onHover?.(null, r);
            // The cursor left the chart: its arrows go with it.
            if (hovered) {
              hovered = null;
              u.redraw(false);
            }
            return;
          }
          const t = u.posToVal(left, 'x');
          const rowIndex = n - 1 - Math.round(u.posToVal(top, 'y'));
          const row = rows[rowIndex];
          const s = row && spanAt(row, t);
          onHover?.(t, r);
          // A pull and the wait it feeds (or a wait and its pulls): redraw only when that changes.
          const links = s ? pullWaitLinks(rows, { row: rowIndex, span: s }) : [];
          const next =
            s && (s.cls === 'pull' || s.cls === 'wait') && s.layer !== undefined
              ? { at: { row: rowIndex, span: s }, links }
              : null;
          if (next?.at.span !== hovered?.at.span) {
            hovered = next;
            u.redraw(false);
          }
          if (!s) {
            tip.hidden = true;
            return;
          }
          tip.hidden = false;
          tip.textContent = '';
          tip.append(
            h('b', {}, `${row.name}: ${s.label}`),
            h('br'),
            `${SPAN_CLASSES.find((c) => c.cls === s.cls)!.label}, ${fmtMs(s.endMs - s.startMs)} (${fmtMs(s.startMs)} → ${fmtMs(s.endMs)})`,
          );
          if (s.bytes !== undefined) {
            // On a dilated link the span's own rate is the slowed one: read it back at the profile's speed
            // (over the factor the link was scaled by: the scale model's, when the run followed one).
            const here = (s.bytes / (s.endMs - s.startMs)) * 1e-6;
            const dil = r.link.dilation;
            const to = s.peer !== undefined ? ` to r${s.peer}` : '';
            tip.append(
              h('br'),
              dil
                ? `${fmtBytes(s.bytes)}${to} at ${(here / appliedLinkFactor(r)!).toPrecision(3)} GB/s as on ${dil.profile} ` +
                    `(${here.toPrecision(3)} GB/s on this dilated link)`
                : `${fmtBytes(s.bytes)}${to} at ${here.toPrecision(3)} GB/s (mean over the span)`,
            );
          }
          if (hovered) tip.append(h('br'), linkText(rows, hovered.at, hovered.links));
          const w = u.over.clientWidth;
          tip.style.left = `${Math.min(left + 12, w - 260)}px`;
          tip.style.top = `${top + 12}px`;
        },
      ],
    },
  };
}

function drawSpans(u: uPlot, rows: GanttRow[], yOf: (i: number) => number): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const rowPx = Math.abs(u.valToPos(0, 'y', true) - u.valToPos(1, 'y', true));
  const xMin = u.scales.x.min!;
  const xMax = u.scales.x.max!;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  rows.forEach((row, i) => {
    const yc = u.valToPos(yOf(i), 'y', true);
    const hPx = rowPx * (row.busy ? 0.62 : row.lane === 'compute' ? 0.78 : 0.5);
    // A faint band behind each compute row groups it with its copy engine.
    if (row.lane === 'compute' && !row.busy) {
      ctx.fillStyle = i % 4 === 0 ? 'rgba(0,0,0,0.025)' : 'rgba(0,0,0,0)';
      ctx.fillRect(left, yc - rowPx / 2, width, rowPx * 2);
    }
    // Spans narrower than a pixel that start inside the last pixel drawn are skipped.
    let drawnTo = -Infinity;
    for (const s of row.spans) {
      if (s.endMs < xMin || s.startMs > xMax) continue;
      const x0 = u.valToPos(s.startMs, 'x', true);
      const x1 = u.valToPos(s.endMs, 'x', true);
      if (x1 - x0 < 1 && x0 < drawnTo) continue;
      ctx.fillStyle = CLASS_COLOR[s.cls];
      // Copy engines can serve several pulls at once: translucent so overlaps read as darker.
      ctx.globalAlpha = row.lane === 'copy' ? 0.7 : 1;
      ctx.fillRect(x0, yc - hPx / 2, Math.max(1, x1 - x0), hPx);
      drawnTo = x0 + Math.max(1, x1 - x0);
    }
    ctx.globalAlpha = 1;
    if (row.busy) {
      ctx.fillStyle = CLASS_COLOR[row.copyCls ?? 'pull'];
      const strip = Math.max(2, rowPx * 0.18);
      for (const b of row.busy) {
        if (b.endMs < xMin || b.startMs > xMax) continue;
        const x0 = u.valToPos(b.startMs, 'x', true);
        const x1 = u.valToPos(b.endMs, 'x', true);
        ctx.fillRect(x0, yc + hPx / 2, Math.max(1, x1 - x0), strip);
      }
    }
  });
  ctx.restore();
}

/** What a hovered pull or wait links to, in words. */
function linkText(rows: readonly GanttRow[], at: PlacedSpan, links: readonly PlacedSpan[]): string {
  const s = at.span;
  if (s.cls === 'pull') {
    if (links.length === 0) return `feeds r${s.peer}'s layer ${s.layer}: it did not wait (landed in time)`;
    const waited = links.reduce((a, l) => a + l.span.endMs - l.span.startMs, 0);
    return `feeds r${s.peer}'s wait at layer ${s.layer} (${fmtMs(waited)} exposed): arrow`;
  }
  const from = links.map((l) => `r${rows[l.row].rank}`);
  return links.length
    ? `waits for the layer-${s.layer} pulls into r${rows[at.row].rank} from ${from.join(', ')}: arrows`
    : `waits for layer ${s.layer}'s pulls`;
}

/** Arrows from each pull's drawn end to the end of the wait it feeds (the wait ends when the last lands). */
function drawLinks(u: uPlot, at: PlacedSpan, links: readonly PlacedSpan[], yOf: (i: number) => number): DrawnArrow[] {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const pairs = at.span.cls === 'pull' ? links.map((l) => [at, l]) : links.map((l) => [l, at]);
  const drawn: DrawnArrow[] = [];
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.strokeStyle = '#000000';
  ctx.fillStyle = '#000000';
  ctx.lineWidth = 1.5 * (devicePixelRatio || 1);
  for (const [pull, wait] of pairs) {
    const x0 = u.valToPos(pull.span.endMs, 'x', true);
    const y0 = u.valToPos(yOf(pull.row), 'y', true);
    const x1 = u.valToPos(wait.span.endMs, 'x', true);
    const y1 = u.valToPos(yOf(wait.row), 'y', true);
    drawn.push({ pull, wait, x0, y0, x1, y1 });
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
    const a = Math.atan2(y1 - y0, x1 - x0);
    const k = 7 * (devicePixelRatio || 1);
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - k * Math.cos(a - 0.4), y1 - k * Math.sin(a - 0.4));
    ctx.lineTo(x1 - k * Math.cos(a + 0.4), y1 - k * Math.sin(a + 0.4));
    ctx.fill();
    // The wait itself, outlined.
    const w0 = u.valToPos(wait.span.startMs, 'x', true);
    ctx.strokeRect(w0, y1 - 6, Math.max(1, x1 - w0), 12);
  }
  ctx.restore();
  return drawn;
}

/** Tick text with its unit, chosen by the visible span (ms in, s / ms / µs out). */
function fmtTick(ms: number, span: number): string {
  if (span >= 2000) return `${+(ms / 1000).toFixed(3)} s`;
  if (span >= 2) return `${+ms.toFixed(3)} ms`;
  return `${+(ms * 1000).toFixed(3)} µs`;
}
