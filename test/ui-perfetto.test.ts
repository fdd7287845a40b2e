// "Open in Perfetto": the documented deep-link handshake against a stand-in for the Perfetto
// tab — PING until PONG, then the trace, to that window and origin only; a blocked pop-up and a
// tab that never answers are refused in words.
import { describe, expect, it } from 'vitest';
import { PERFETTO_ORIGIN, openInPerfetto, type PerfettoHost } from '../src/ui/perfetto.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);

type Listener = (e: { source: unknown; data: unknown }) => void;

/** A page whose window.open gives a tab that answers PONG to its `readyAfter`-th PING (never when null). */
function fakeHost(readyAfter: number | null, blocked = false) {
  const listeners = new Set<Listener>();
  const posted: { message: unknown; origin: string }[] = [];
  const opened: string[] = [];
  const other = { postMessage() {} };
  const tab = {
    postMessage(message: unknown, origin: string) {
      posted.push({ message, origin });
      const pings = posted.filter((p) => p.message === 'PING').length;
      if (message === 'PING' && readyAfter !== null && pings === readyAfter)
        // Another window's PONG first: it must not count.
        queueMicrotask(() => {
          for (const l of [...listeners]) l({ source: other, data: 'PONG' });
          for (const l of [...listeners]) l({ source: tab, data: 'PONG' });
        });
    },
  };
  const host: PerfettoHost = {
    open: (url) => (opened.push(url), blocked ? null : tab),
    addEventListener: (_t, fn) => listeners.add(fn),
    removeEventListener: (_t, fn) => listeners.delete(fn),
  };
  return { host, posted, opened, listeners };
}

describe('open in Perfetto', () => {
  it('pings until the tab answers, then posts the trace once, to its origin', async () => {
    const k = 1 + rng.int(5);
    const { host, posted, opened, listeners } = fakeHost(k);
    const bytes = new Uint8Array(1 + rng.int(1000)).map(() => rng.int(256));
    await openInPerfetto(host, { buffer: bytes.buffer, title: 'DWDP vs DEP', fileName: 'x.trace.json' }, { pingMs: 1 });
    expect(opened).toEqual([PERFETTO_ORIGIN]);
    expect(posted.slice(0, k).every((p) => p.message === 'PING' && p.origin === PERFETTO_ORIGIN)).toBe(true);
    const traces = posted.filter((p) => p.message !== 'PING');
    expect(traces, `seed ${seed}`).toEqual([
      {
        message: { perfetto: { buffer: bytes.buffer, title: 'DWDP vs DEP', fileName: 'x.trace.json' } },
        origin: PERFETTO_ORIGIN,
      },
    ]);
    expect(listeners.size, 'the listener is removed').toBe(0);
    // No PING after the trace.
    await new Promise((r) => setTimeout(r, 10));
    expect(posted[posted.length - 1].message).not.toBe('PING');
  });

  it('says what to do when the pop-up is blocked or the tab never answers', async () => {
    const trace = { buffer: new ArrayBuffer(4), title: 't', fileName: 'f' };
    await expect(openInPerfetto(fakeHost(1, true).host, trace)).rejects.toThrow(
      /blocked the new tab for https:\/\/ui\.perfetto\.dev: allow pop-ups .* or download the trace/,
    );
    const silent = fakeHost(null);
    await expect(openInPerfetto(silent.host, trace, { pingMs: 1, timeoutMs: 30 })).rejects.toThrow(
      /did not answer within 30 ms: download the trace/,
    );
    expect(silent.listeners.size).toBe(0);
    expect(silent.posted.every((p) => p.message === 'PING')).toBe(true);
  });
});
