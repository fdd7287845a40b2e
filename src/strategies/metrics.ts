// Throughput of a group step, the same way for measured and modeled runs.
import type { RankReport } from './types.ts';

/**
 * TPS/GPU: every rank's tokens over the step's makespan, per rank. TPS/user: the mean over
 * requests of its input length over the time its rank finished the step (prefill speed
 * as a user sees it: tokens in until the first token can come out).
 */
export function groupRates(
  ranks: readonly RankReport[],
  makespanMs: number,
): { tpsPerGpu: number; tpsPerUser: number } {
  const tokens = ranks.reduce((a, r) => a + r.tokens, 0);
  const perRequest = ranks.flatMap((r) => r.requestLengths.map((len) => len / (r.endMs / 1000)));
  return {
    tpsPerGpu: tokens / (makespanMs / 1000) / ranks.length,
    tpsPerUser: perRequest.reduce((a, b) => a + b, 0) / perRequest.length,
  };
}
