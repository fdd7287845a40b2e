// Defaults and validation of a group run's options: one clear message per bad value,
// naming the option as the CLI spells it.
import { getProfile } from '../hardware/profiles.ts';
import type { MoeConfig } from '../model/config.ts';
import { RANK_MODES } from '../dwdp/transport.ts';
import { CLOCKS, STRATEGIES, type GroupRunOptions } from './types.ts';

export const DEFAULT_GROUP_OPTIONS: Omit<GroupRunOptions, 'model'> = {
  format: 'nvfp4',
  seed: 1,
  strategy: 'dwdp',
  ranks: 4,
  rankMode: 'partitions',
  layers: 4,
  tokensPerRank: 64,
  requestsPerRank: 1,
  lengthCv: 0,
  routingSkew: 0,
  dwdp: { prefetch: true, prefetchDepth: 2, splitWeights: true },
  link: { gbps: 900, latencyUs: 2, contentionFix: true },
  clock: 'virtual',
  timeDilation: { profile: 'gb200-nvl72' },
  attention: { heads: 4, headDim: 32 },
};

function fail(option: string, detail: string): never {
  throw new Error(`--${option}: ${detail}`);
}

const positiveInt = (v: number, option: string, max = Infinity) => {
  if (!Number.isInteger(v) || v < 1) fail(option, `must be a positive integer (got ${v})`);
  if (v > max) fail(option, `must be at most ${max} (got ${v})`);
};

/** Throws an Error naming the first bad option. */
export function checkGroupOptions(cfg: MoeConfig, o: GroupRunOptions): void {
  if (!STRATEGIES.includes(o.strategy))
    fail('strategy', `must be one of ${STRATEGIES.join(', ')} (got '${o.strategy}')`);
  if (!RANK_MODES.includes(o.rankMode))
    fail('rank-mode', `must be one of ${RANK_MODES.join(', ')} (got '${o.rankMode}')`);
  if (!CLOCKS.includes(o.clock)) fail('clock', `must be one of ${CLOCKS.join(', ')} (got '${o.clock}')`);
  positiveInt(o.ranks, 'ranks', 64);
  positiveInt(o.layers, 'layers', 256);
  positiveInt(o.tokensPerRank, 'tokens', 1 << 20);
  positiveInt(o.requestsPerRank, 'requests', o.tokensPerRank);
  if (!(o.lengthCv >= 0 && o.lengthCv <= 2)) fail('length-cv', `must be between 0 and 2 (got ${o.lengthCv})`);
  if (!(o.routingSkew >= 0 && o.routingSkew <= 4))
    fail('routing-skew', `must be a Zipf exponent between 0 and 4 (got ${o.routingSkew})`);
  if (!(o.link.gbps > 0) || !Number.isFinite(o.link.gbps))
    fail('link-gbps', `must be a positive number of GB/s (got ${o.link.gbps})`);
  if (!(o.link.latencyUs >= 0) || !Number.isFinite(o.link.latencyUs))
    fail('link-latency-us', `must be ≥ 0 µs (got ${o.link.latencyUs})`);
  positiveInt(o.dwdp.prefetchDepth, 'prefetch-depth', 8);
  if (o.strategy === 'dwdp' && o.ranks < 2) fail('ranks', 'DWDP needs at least 2 ranks (with 1 rank it is dp)');
  if (o.strategy === 'dep' && o.ranks > cfg.experts)
    fail('ranks', `DEP gives every rank at least one expert: at most ${cfg.experts} ranks for ${cfg.experts} experts`);
  if (o.timeDilation) getProfile(o.timeDilation.profile);
  positiveInt(o.attention.heads, 'attention-heads', 64);
  positiveInt(o.attention.headDim, 'attention-head-dim', 256);
}
