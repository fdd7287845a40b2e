// A group run as the tables and files people read: the terminal summary, metrics.json
// (an exact format other tools read), and the Chrome trace.
import type { MoeConfig } from '../model/config.ts';
import { loadPreset } from '../model/presets.ts';
import type { GroupRunResult } from '../strategies/types.ts';
import { formatTable, type Cell } from './table.ts';
import { toChromeTrace, type ChromeTrace } from './trace.ts';
import { formatBytes } from './units.ts';

/** metrics.json: the fields README's format names first (other tools read them), then everything else worth keeping. */
export function metricsJson(r: GroupRunResult): Record<string, unknown> {
  return {
    strategy: r.strategy,
    clock: r.clock,
    ranks: r.ranks.map((k) => ({
      rank: k.rank,
      tokens: k.tokens,
      bytesPulled: k.bytesPulled,
      computeMs: k.computeMs,
      pullMs: k.pullMs,
      waitMs: k.waitMs,
      idleMs: k.idleMs,
      residentWeightBytes: k.residentWeightBytes,
      prefetchBufferBytes: k.prefetchBufferBytes,
      syncMs: k.syncMs,
      commMs: k.commMs,
      endMs: k.endMs,
      bytesSent: k.bytesSent,
      requestLengths: k.requestLengths,
      computeByCategory: k.computeByCategory,
    })),
    makespanMs: r.makespanMs,
    tpsPerGpu: r.tpsPerGpu,
    tpsPerUser: r.tpsPerUser,
    hiddenPullFraction: r.hiddenPullFraction,
    rankMode: r.rankMode,
    placement: r.placement,
    bytesPerExpert: r.bytesPerExpert,
    replicaWeightBytes: r.replicaWeightBytes,
    link: r.link,
    provenance: r.provenance,
    timeSource: r.timeSource,
    adapter: r.adapter,
  };
}

/** Per-rank table: where each rank's time went and what it holds. */
export function rankTable(r: GroupRunResult): string {
  const ms = (v: number) => v.toFixed(1);
  const rows: Cell[][] = r.ranks.map((k) => [
    k.rank,
    k.tokens,
    ms(k.computeMs),
    ms(k.pullMs),
    ms(k.waitMs),
    ms(k.syncMs + k.commMs),
    ms(k.idleMs),
    formatBytes(k.bytesPulled),
    formatBytes(k.residentWeightBytes),
    formatBytes(k.prefetchBufferBytes),
  ]);
  return formatTable(
    [
      'rank',
      'tokens',
      'compute ms',
      'pull ms',
      'pull wait ms',
      'sync ms',
      'idle ms',
      'pulled',
      'resident',
      'prefetch buf',
    ],
    rows,
    { rightAlign: [true, true, true, true, true, true, true, true, true, true] },
  );
}

/**
 * Compute times come from `provenance` (measured on an adapter, or modeled); transfer times
 * follow `link` (the model under the virtual clock, paced copies under the wall clock).
 */
export function groupTrace(r: GroupRunResult, title: string): ChromeTrace {
  return toChromeTrace(r.intervals, {
    title,
    modeled: r.provenance.kind === 'modeled',
    provenance: r.provenance,
    strategy: r.strategy,
    clock: r.clock,
    timeSource: r.timeSource,
    adapter: r.adapter,
    link: r.link,
  });
}

/**
 * Tokens per expert per layer decide who wins: DWDP's pull is fixed per layer while compute
 * grows with them. Says where a run stands against DeepSeek-R1 (its published E and K).
 */
export function tokensPerExpertNote(cfg: MoeConfig, tokensPerRank: number): string {
  const perExpert = (tokensPerRank * cfg.topK) / cfg.experts;
  const r1 = loadPreset('deepseek-r1');
  const r1Tokens = (perExpert * r1.experts) / r1.topK;
  const r1Text = r1Tokens >= 1024 ? `${(r1Tokens / 1024).toFixed(1)}K` : `${Math.round(r1Tokens)}`;
  return (
    `${tokensPerRank} tokens × top-k ${cfg.topK} ÷ ${cfg.experts} experts = ${+perExpert.toFixed(1)} tokens per expert per layer, ` +
    `as DeepSeek-R1 with ${r1Text} tokens per rank; DWDP's pull is fixed per layer, so fewer tokens per expert favour DEP`
  );
}
