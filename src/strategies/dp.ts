// DP: every rank holds a full replica of every layer's experts and runs its own tokens
// with no communication at all — the speed upper bound and the memory worst case.
import { createExpertTable } from '../kernels/expert-gemm.ts';
import { shardBinding, uploadShard, type ResidentShard } from '../dwdp/weight-store.ts';
import { encodeAttention, type GroupEnv, type RankEnv } from './group.ts';
import type { RankRuntime } from './runtime.ts';

export interface DpRank {
  env: RankEnv;
  replica: ResidentShard;
  table: GPUBuffer;
}

export function setupDp(g: GroupEnv, env: RankEnv): DpRank {
  const E = g.cfg.experts;
  const replica = uploadShard(env.gpu, g.hosts, { first: 0, count: E }, `rank ${env.id} replica`);
  env.residentBytes = replica.bytes;
  const table = createExpertTable(
    env.gpu,
    Array.from({ length: E }, (_, e) => ({ source: 0, atWord: e * g.layout.words })),
  );
  return { env, replica, table };
}

export async function runDpRank(rt: RankRuntime, g: GroupEnv, d: DpRank): Promise<void> {
  const { env } = d;
  const T = env.work.tokens;
  for (let l = 0; l < g.layers; l++) {
    const [x, out] = [env.x[l % 2], env.x[(l + 1) % 2]];
    const w = { ...env.common[l], experts: { weights: [shardBinding(d.replica, l)], expertTable: d.table } };
    await rt.compute(`attention L${l}`, 'attention', l, encodeAttention(env));
    await rt.compute(`routing L${l}`, 'router', l, (enc, t) => env.layer.encodeRouting(enc, x, T, w, env.scratch, t));
    await rt.compute(`experts L${l}`, 'gemm', l, (enc, t) =>
      env.layer.encodeExperts(enc, x, out, T, w, env.scratch, t),
    );
  }
}
