// Small DOM helpers for the views: element creation, downloads, number formatting.

type Attrs = Record<string, string | number | boolean | undefined | null>;
type Child = Node | string | null | undefined | false;

/** h('div', {class: 'x'}, child, …): attributes set as attributes, `on*` functions as listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs & Record<`on${string}`, unknown> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A form field's label: its name, and its unit in parentheses where it has one. */
export function fieldLabel(id: string, f: { label: string; unit?: string }): HTMLLabelElement {
  return h('label', { for: id, class: 'label' }, f.label, f.unit ? h('span', { class: 'unit' }, ` (${f.unit})`) : null);
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

export function download(name: string, data: Blob | string, type = 'application/json'): void {
  const blob = typeof data === 'string' ? new Blob([data], { type }) : data;
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Keeps a uPlot chart as wide as `box`: a chart built while hidden, or before the layout
 * settled, would otherwise keep its first width and push the page sideways. The observer goes
 * with the chart.
 */
export function fitWidth<
  P extends { setSize(s: { width: number; height: number }): void; height: number; destroy(): void },
>(plot: P, box: HTMLElement): P {
  const ro = new ResizeObserver(() => {
    if (box.clientWidth > 0) plot.setSize({ width: box.clientWidth, height: plot.height });
  });
  ro.observe(box);
  const destroy = plot.destroy.bind(plot);
  plot.destroy = () => {
    ro.disconnect();
    destroy();
  };
  return plot;
}

/** 1234.5 → '1,234.5'; small numbers keep 3 significant digits. */
export function fmt(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && a < 0.1) return v.toPrecision(3);
  return v.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: a >= 100 ? 0 : Math.min(digits, 1),
  });
}

/** Bytes in binary units: the reports' own formatter. */
export { formatBytes as fmtBytes } from '../../report/units.ts';

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : 2)} ms`;
  if (ms >= 0.001) return `${(ms * 1000).toFixed(1)} µs`;
  return `${(ms * 1e6).toFixed(0)} ns`;
}

/** CSS custom property value (the charts share the page's palette). */
export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}
