// PNG of the charts: every chart canvas on the page (uPlot's and the topology's) stacked on
// one canvas under its heading, with the provenance line at the top, as the page shows them.
import { cssVar } from './dom.ts';

export interface PngPart {
  title: string;
  canvas: HTMLCanvasElement;
}

export async function chartsPng(heading: string, subtitle: string, parts: readonly PngPart[]): Promise<Blob> {
  const dpr = devicePixelRatio || 1;
  const pad = 16 * dpr;
  const titleH = 26 * dpr;
  const width = Math.max(...parts.map((p) => p.canvas.width), 600 * dpr) + 2 * pad;
  const height = 64 * dpr + parts.reduce((a, p) => a + titleH + p.canvas.height + pad, 0) + pad;
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
