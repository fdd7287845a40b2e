// "Open in Perfetto": hands the comparison's Chrome trace to the Perfetto UI in a new tab, by
// the protocol Perfetto documents for deep links (perfetto.dev/docs/visualization/
// deep-linking-to-perfetto-ui): open https://ui.perfetto.dev, post 'PING' to it until it answers
// 'PONG' (its message channel is not buffered: a trace posted before its listener is up is
// lost), then post { perfetto: { buffer, title, fileName } } to that window and origin only.
//
// Pure module: the window operations are passed in, so the handshake is tested in Node.

export const PERFETTO_ORIGIN = 'https://ui.perfetto.dev';

/** The few operations of a window this needs (a browser's window, or a test's stand-in). */
export interface PerfettoHost {
  open(url: string): PerfettoWindow | null;
  addEventListener(type: 'message', fn: (e: { source: unknown; data: unknown }) => void): void;
  removeEventListener(type: 'message', fn: (e: { source: unknown; data: unknown }) => void): void;
}

export interface PerfettoWindow {
  postMessage(message: unknown, targetOrigin: string, transfer?: Transferable[]): void;
}

export interface PerfettoTrace {
  buffer: ArrayBuffer;
  title: string;
  fileName: string;
}

/**
 * Opens the Perfetto UI and sends it `trace` once it answered PING. Rejects, saying what to
 * do instead, when the pop-up is blocked or the UI does not answer within `timeoutMs`.
 */
export function openInPerfetto(
  host: PerfettoHost,
  trace: PerfettoTrace,
  opts: { origin?: string; pingMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const origin = opts.origin ?? PERFETTO_ORIGIN;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const win = host.open(origin);
  if (!win)
    return Promise.reject(
      new Error(
        `the browser blocked the new tab for ${origin}: allow pop-ups for this page, or download the trace and open it there`,
      ),
    );
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearInterval(ping);
      clearTimeout(timer);
      host.removeEventListener('message', onMessage);
    };
    const onMessage = (e: { source: unknown; data: unknown }) => {
      if (e.source !== win || e.data !== 'PONG') return;
      stop();
      win.postMessage({ perfetto: { buffer: trace.buffer, title: trace.title, fileName: trace.fileName } }, origin);
      resolve();
    };
    host.addEventListener('message', onMessage);
    const ping = setInterval(() => win.postMessage('PING', origin), opts.pingMs ?? 100);
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(
          `${origin} did not answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}: ` +
            'download the trace and open it there',
        ),
      );
    }, timeoutMs);
  });
}
