// The group's topology, live: ranks on a ring, each filled with what its compute stream is
// doing at time t; the transfers in flight at t drawn as arrows from the copy engine that
// serves them to the rank that receives them (width ∝ rate), over faint chords whose width
// is the run's total bytes between the pair. For N ≥ 8 the run's copy spans are aggregated
// per rank (compact.ts): a busy copy engine is drawn as a ring around its rank instead.
// t follows the cursor over the Gantt charts, or plays from 0 to the makespan in a loop
// when asked. Pan by dragging, zoom with the wheel: the view transform is a gl-matrix mat3
// (src/ui/topology.ts).
//
// It draws only when something changed (t, the strategy, pan/zoom, the size) and only while
// it is on screen and the tab is visible: an idle page costs no CPU, so it cannot steal time
// from the emulated GPU of the next measured run.
import type { GroupRunResult } from '../../strategies/types.ts';
import { AGGREGATE_FROM_RANKS, type PageRun } from '../compact.ts';
import { CLASS_COLOR, spanAt, timelineRows, type TimelineRow } from '../timeline.ts';
import {
  FlowIndex,
  flowTotals,
  peakRate,
  project,
  ringLayout,
  viewMatrix,
  zoomAbout,
  type ViewState,
} from '../topology.ts';
import { sourceBadge } from '../summary.ts';
import { clear, fmtMs, h } from './dom.ts';
import { legend } from './gantt-view.ts';

const LOOP_SECONDS = 8;

export interface TopologyView {
  canvas: HTMLCanvasElement;
  /** Show time t (ms); null lets playback (if on) take over again. */
  follow(t: number | null): void;
  /** Frames drawn so far (the e2e test checks an idle view draws none). */
  frames(): number;
  /** Draw now if anything changed since the last frame (before reading the canvas). */
  flush(): void;
  destroy(): void;
}

export function topologyView(root: HTMLElement, results: readonly GroupRunResult[]): TopologyView {
  clear(root);
  let current = results.find((r) => r.strategy === 'dwdp') ?? results[0];
  // What the view draws of `current`, set by pick() below.
  let rows: TimelineRow[] = [];
  let totals: number[][] = [];
  let maxRate = 0;
  let flows: FlowIndex | null = null;
  let view: ViewState = { zoom: 1, panX: 0, panY: 0 };
  let t = 0;
  let playing = false;
  let followed: number | null = null;
  let last = 0;
  let raf = 0;
  let drawn = 0;
  let onScreen = false;

  const select = h(
    'select',
    { 'aria-label': 'strategy' },
    ...results.map((r) => h('option', { value: r.strategy, selected: r === current }, r.strategy.toUpperCase())),
  );
  const play = h('button', { type: 'button', class: 'small' }, 'play');
  const slider = h('input', { type: 'range', min: 0, max: 1000, value: 0, 'aria-label': 'time' });
  const clock = h('span', { class: 'clock' });
  const canvas = h('canvas', {
    class: 'topology-canvas',
    width: 600,
    height: 420,
    role: 'img',
    'aria-label': 'Topology: ranks on a ring, filled with what each rank’s compute stream is doing at the time shown',
  });
  const legendSlot = h('div', { class: 'topology-legend' });
  const badge = h('span', { class: 'badge' });
  root.append(
    h('div', { class: 'chart-head' }, h('h3', {}, 'Topology: pulls in flight'), badge),
    h('div', { class: 'topology-controls' }, select, play, slider, clock),
    canvas,
    legendSlot,
    h(
      'p',
      { class: 'note' },
      results[0].ranks.length >= AGGREGATE_FROM_RANKS
        ? 'Ring around a rank: its copy engine is moving bytes (transfers aggregated per rank for ' +
            `${AGGREGATE_FROM_RANKS} ranks or more). `
        : 'Arrows: transfers in flight, from the copy engine serving them to the receiving rank (width ∝ rate). ',
      'Chords: total bytes per pair. Rank fill: what its compute stream is doing. ' +
        'Hover the DWDP timeline to move t, or play. Drag to pan, wheel to zoom, double-click to reset.',
    ),
  );

  const pick = () => {
    current = results.find((r) => r.strategy === select.value) ?? results[0];
    rows = timelineRows(current);
    // The Gantt's legend, for the strategy shown: the same words and colours.
    legendSlot.replaceChildren(legend(rows));
    totals = flowTotals(current as PageRun);
    maxRate = peakRate(current);
    flows = new FlowIndex(current);
    const b = sourceBadge(current);
    badge.textContent = b;
    badge.className = `badge ${b === 'modeled' ? 'modeled' : 'measured'}`;
    // Open on the first transfer (t = 0 often has nothing in flight).
    const firstCopy = rows.find((r) => r.lane === 'copy' && r.spans.length)?.spans[0];
    if (!playing && followed === null && firstCopy) t = (firstCopy.startMs + firstCopy.endMs) / 2;
    request();
  };
  select.addEventListener('change', pick);
  play.addEventListener('click', () => {
    playing = !playing;
    followed = null;
    play.textContent = playing ? 'pause' : 'play';
    last = 0;
    request();
  });
  slider.addEventListener('input', () => {
    playing = false;
    play.textContent = 'play';
    t = (Number(slider.value) / 1000) * current.makespanMs;
    request();
  });

  // Pan and zoom.
  let drag: { x: number; y: number; panX: number; panY: number } | null = null;
  canvas.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, y: e.clientY, panX: view.panX, panY: view.panY };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    view = { ...view, panX: drag.panX + e.clientX - drag.x, panY: drag.panY + e.clientY - drag.y };
    request();
  });
  canvas.addEventListener('pointerup', () => (drag = null));
  canvas.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const rect = canvas.getBoundingClientRect();
      view = zoomAbout(
        view,
        Math.exp(-e.deltaY * 0.0015),
        e.clientX - rect.left,
        e.clientY - rect.top,
        rect.width,
        rect.height,
      );
      request();
    },
    { passive: false },
  );
  canvas.addEventListener('dblclick', () => {
    view = { zoom: 1, panX: 0, panY: 0 };
    request();
  });

  // One frame when something changed; a stream of frames only while playing and visible.
  const visible = () => onScreen && !document.hidden;
  let dirty = true;
  function request(): void {
    dirty = true;
    if (!raf && visible()) raf = requestAnimationFrame(frame);
  }
  function frame(now: number): void {
    raf = 0;
    const span = current.makespanMs;
    if (followed !== null) t = followed;
    else if (playing && span > 0) t = (t + ((last ? now - last : 0) / 1000 / LOOP_SECONDS) * span) % span;
    last = playing ? now : 0;
    slider.value = String(span > 0 ? Math.round((t / span) * 1000) : 0);
    clock.textContent = `t = ${fmtMs(t)} of ${fmtMs(span)}`;
    draw(canvas, current, rows, totals, maxRate, flows!, view, t);
    drawn++;
    dirty = false;
    if (playing && followed === null) request();
  }
  const io = new IntersectionObserver((entries) => {
    onScreen = entries.some((e) => e.isIntersecting);
    last = 0;
    request();
  });
  io.observe(canvas);
  const onVisibility = () => {
    last = 0;
    request();
  };
  document.addEventListener('visibilitychange', onVisibility);
  const ro = new ResizeObserver(() => request());
  ro.observe(canvas);
  pick();

  return {
    canvas,
    follow(x) {
      const next = x === null ? null : Math.max(0, Math.min(current.makespanMs, x));
      if (next === followed) return;
      followed = next;
      request();
    },
    frames: () => drawn,
    flush() {
      // Exports read the canvas even when the view never came on screen.
      if (dirty) frame(performance.now());
    },
    destroy() {
      cancelAnimationFrame(raf);
      raf = 0;
      io.disconnect();
      ro.disconnect();
      document.removeEventListener('visibilitychange', onVisibility);
      clear(root);
    },
  };
}

function draw(
  canvas: HTMLCanvasElement,
  r: GroupRunResult,
  rows: TimelineRow[],
  totals: number[][],
  maxRate: number,
  flowIndex: FlowIndex,
  view: ViewState,
  t: number,
): void {
  const dpr = devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 600;
  const cssH = canvas.clientHeight || 420;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const m = viewMatrix(canvas.width, canvas.height, view, dpr);
  const nodes = ringLayout(r.ranks.length).map((n) => ({ ...n, p: project(m, n.x, n.y) }));
  const unit = Math.abs(project(m, 1, 0)[0] - project(m, 0, 0)[0]); // pixels per ring radius
  const nodeR = Math.max(10 * dpr, Math.min(34 * dpr, unit * (r.ranks.length > 8 ? 0.14 : 0.2)));

  // Chords: total bytes between each pair over the run.
  const maxTotal = Math.max(1, ...totals.flat());
  ctx.lineCap = 'round';
  for (let a = 0; a < nodes.length; a++) {
    for (let b = a + 1; b < nodes.length; b++) {
      const bytes = totals[a][b] + totals[b][a];
      if (bytes === 0) continue;
      ctx.strokeStyle = 'rgba(120,120,140,0.18)';
      ctx.lineWidth = (1 + 6 * (bytes / maxTotal)) * dpr;
      ctx.beginPath();
      ctx.moveTo(...nodes[a].p);
      ctx.lineTo(...nodes[b].p);
      ctx.stroke();
    }
  }

  // Transfers in flight: curved arrows (so a→b and b→a do not overlap).
  const flows = flowIndex.at(t);
  for (const f of flows) {
    const [x0, y0] = nodes[f.from].p;
    const [x1, y1] = nodes[f.to].p;
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const bend = 0.18 * len;
    const cx = (x0 + x1) / 2 - uy * bend;
    const cy = (y0 + y1) / 2 + ux * bend;
    // Start and end on the circles' rims.
    const sx = x0 + (cx - x0) * (nodeR / Math.hypot(cx - x0, cy - y0));
    const sy = y0 + (cy - y0) * (nodeR / Math.hypot(cx - x0, cy - y0));
    const ex = x1 + (cx - x1) * ((nodeR + 2 * dpr) / Math.hypot(cx - x1, cy - y1));
    const ey = y1 + (cy - y1) * ((nodeR + 2 * dpr) / Math.hypot(cx - x1, cy - y1));
    const color = CLASS_COLOR[f.kind];
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = (1.5 + 5 * (f.bytesPerMs / maxRate)) * dpr;
    ctx.beginPath();
    ctx.moveTo(sx, sy);
    ctx.quadraticCurveTo(cx, cy, ex, ey);
    ctx.stroke();
    const ax = ex - cx;
    const ay = ey - cy;
    const al = Math.hypot(ax, ay) || 1;
    const head = 9 * dpr;
    ctx.beginPath();
    ctx.moveTo(ex, ey);
    ctx.lineTo(ex - (ax / al) * head - (ay / al) * head * 0.6, ey - (ay / al) * head + (ax / al) * head * 0.6);
    ctx.lineTo(ex - (ax / al) * head + (ay / al) * head * 0.6, ey - (ay / al) * head - (ax / al) * head * 0.6);
    ctx.closePath();
    ctx.fill();
  }

  // Ranks, filled with what their stream is doing at t.
  ctx.font = `600 ${12 * dpr}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (const n of nodes) {
    const row = rows[2 * n.rank]?.lane === 'compute' ? rows[2 * n.rank] : undefined;
    const s = row && spanAt(row, t);
    // A busy copy engine (aggregated runs have no per-peer arrows): a ring in its kind's colour.
    const copy = rows[2 * n.rank + 1];
    const busy = copy && copy.lane === 'copy' ? spanAt(copy, t) : undefined;
    if (busy) {
      ctx.strokeStyle = CLASS_COLOR[busy.cls];
      ctx.lineWidth = 4 * dpr;
      ctx.beginPath();
      ctx.arc(n.p[0], n.p[1], nodeR + 4 * dpr, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.fillStyle = s ? CLASS_COLOR[s.cls] : '#f4f4f4';
    ctx.strokeStyle = '#333';
    ctx.lineWidth = 1.5 * dpr;
    ctx.beginPath();
    ctx.arc(n.p[0], n.p[1], nodeR, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = s && (s.cls === 'idle' || s.cls === 'router' || s.cls === 'dense') ? '#222' : '#fff';
    ctx.fillText(`r${n.rank}`, n.p[0], n.p[1] - 5 * dpr);
    ctx.font = `${9 * dpr}px system-ui, sans-serif`;
    ctx.fillText(s ? s.cls : '', n.p[0], n.p[1] + 8 * dpr);
    ctx.font = `600 ${12 * dpr}px system-ui, sans-serif`;
  }
}
