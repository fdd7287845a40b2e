// Chrome trace-event JSON of a whole comparison (opens in Perfetto / chrome://tracing), built
// from src/report/trace.ts's per-run export: each run (point × strategy) gets its own block of
// process ids, one process per rank named "DWDP @ cv=0.2 · rank 3", so every run's timeline
// sits in one file, one after another.
//
// Pure module (Node and browser).
import { toChromeTrace, type ChromeTrace } from '../report/trace.ts';
import type { Comparison } from './compare.ts';
import { provenance } from './summary.ts';

/** Process ids of run i are i·PIDS_PER_RUN + rank. */
export const PIDS_PER_RUN = 1000;

export function comparisonTrace(c: Comparison): ChromeTrace {
  const traceEvents: ChromeTrace['traceEvents'] = [];
  let run = 0;
  for (const p of c.points) {
    for (const r of p.results) {
      const at = c.sweep && p.value !== null ? ` @ ${c.sweep.field}=${p.value}` : '';
      const one = toChromeTrace(r.intervals, { rankName: (k) => `${r.strategy.toUpperCase()}${at} · rank ${k}` });
      const offset = run * PIDS_PER_RUN;
      for (const e of one.traceEvents) {
        // Keep runs in the order they ran (Perfetto sorts processes by sort_index).
        const args = e.name === 'process_sort_index' ? { sort_index: offset + e.pid } : e.args;
        traceEvents.push({ ...e, pid: offset + e.pid, ...(args ? { args } : {}) });
      }
      run++;
    }
  }
  const first = c.points[0]?.results[0];
  return {
    traceEvents,
    displayTimeUnit: 'ms',
    otherData: {
      title: `webgpu-dwdp comparison: ${c.strategies.join(', ')} on ${c.modelName}`,
      modeled: c.source === 'modeled',
      source: first ? provenance(first) : c.provenance,
      query: c.query,
      startedAt: c.startedAt,
    },
  };
}
