// PNG of the charts, ready for a paper: the provenance line at the top, the numbers of the
// shown point and the configuration that produced them (summary.ts figureLines), the legend
// (span categories: label and colour, as the Gantt and topology draw them), then every chart
// canvas on the page (uPlot's and the topology's) stacked under its heading.
import { cssVar } from './dom.ts';

export interface PngPart {
  title: string;
  canvas: HTMLCanvasElement;
}

export interface PngText {
  numbers: string[];
  config: string[];
  legend: readonly { label: string; color: string }[];
}

export async function chartsPng(
  heading: string,
  subtitle: string,
  parts: readonly PngPart[],
  text: PngText = { numbers: [], config: [], legend: [] },
): Promise<Blob> {
  const dpr = devicePixelRatio || 1;
  const pad = 16 * dpr;
  const titleH = 26 * dpr;
  const lineH = 16 * dpr;
  const width = Math.max(...parts.map((p) => p.canvas.width), 900 * dpr) + 2 * pad;
  // The legend flows in rows of swatches; measure it with the font it is drawn in.
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.font = `${12 * dpr}px system-ui, sans-serif`;
  const legendRows: { label: string; color: string; x: number }[][] = [[]];
  let lx = pad;
  for (const item of text.legend) {
    const w = 18 * dpr + probe.measureText(item.label).width + 14 * dpr;
    if (lx + w > width - pad && legendRows[legendRows.length - 1].length) {
      legendRows.push([]);
      lx = pad;
    }
    legendRows[legendRows.length - 1].push({ ...item, x: lx });
    lx += w;
  }
  const textH =
    (text.numbers.length + text.config.length) * lineH + (text.legend.length ? legendRows.length * lineH : 0) + 2 * pad;
  const height = 64 * dpr + textH + parts.reduce((a, p) => a + titleH + p.canvas.height + pad, 0) + pad;
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = cssVar('--bg-card', '#ffffff');
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = cssVar('--fg', '#1d2330');
  ctx.font = `600 ${18 * dpr}px system-ui, sans-serif`;
  ctx.fillText(heading, pad, pad + 18 * dpr);
  ctx.font = `${12 * dpr}px system-ui, sans-serif`;
  ctx.fillStyle = cssVar('--fg-muted', '#5b6475');
  ctx.fillText(subtitle, pad, pad + 40 * dpr);
  let y = 64 * dpr;
  ctx.font = `${12 * dpr}px system-ui, sans-serif`;
  for (const [lines, color] of [
    [text.numbers, cssVar('--fg', '#1d2330')],
    [text.config, cssVar('--fg-muted', '#5b6475')],
  ] as const) {
    ctx.fillStyle = color;
    for (const l of lines) ctx.fillText(l, pad, (y += lineH));
    y += pad / 2;
  }
  if (text.legend.length)
    for (const row of legendRows) {
      y += lineH;
      for (const item of row) {
        ctx.fillStyle = item.color;
        ctx.fillRect(item.x, y - 10 * dpr, 12 * dpr, 12 * dpr);
        ctx.fillStyle = cssVar('--fg', '#1d2330');
        ctx.fillText(item.label, item.x + 18 * dpr, y);
      }
    }
  y += pad;
  for (const p of parts) {
    ctx.fillStyle = cssVar('--fg', '#1d2330');
    ctx.font = `600 ${13 * dpr}px system-ui, sans-serif`;
    ctx.fillText(p.title, pad, y + 18 * dpr);
    y += titleH;
    ctx.drawImage(p.canvas, pad, y);
    y += p.canvas.height + pad;
  }
  return new Promise((resolve, reject) =>
    out.toBlob((b) => (b ? resolve(b) : reject(new Error('canvas.toBlob gave nothing'))), 'image/png'),
  );
}
