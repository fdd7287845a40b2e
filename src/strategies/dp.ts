// DP: every rank holds a full replica of every layer's experts and runs its own tokens
// with no communication at all — the memory worst case. Not a speed upper bound: each rank's
// grouped GEMM reads every expert's weights (DEP's reads E/N), which at small batches, where
// the GEMM is bound by weight reads, costs more than DEP's all-to-all saves.
// The order of a layer's steps is the DP step plan (src/timeline/plan.ts).
import { createExpertTable } from '../kernels/expert-gemm.ts';
import { shardBinding, uploadShard, type ResidentShard } from '../dwdp/weight-store.ts';
import { encodeAttention, type GroupEnv, type RankEnv } from './group.ts';
import type { RankRuntime } from './runtime.ts';
import { layerPlan } from '../timeline/plan.ts';

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

/** The rank loop: the DP step plan (src/timeline/plan.ts) of every layer. */
export async function runDpRank(rt: RankRuntime, g: GroupEnv, d: DpRank): Promise<void> {
  const { env } = d;
  const T = env.work.tokens;
  const plan = layerPlan('dp', { prefetch: false, splitWeights: true, pulls: false, exchange: false });
  for (let l = 0; l < g.layers; l++) {
    const [x, out] = [env.x[l % 2], env.x[(l + 1) % 2]];
    const w = { ...env.common[l], experts: { weights: [shardBinding(d.replica, l)], expertTable: d.table } };
    for (const step of plan) {
      switch (step) {
        case 'attention':
          await rt.compute(`attention L${l}`, 'attention', l, encodeAttention(env));
          break;
        case 'router':
          await rt.compute(`routing L${l}`, 'router', l, (enc, t) =>
            env.layer.encodeRouting(enc, x, T, w, env.scratch, t),
          );
          break;
        case 'sharedExpert':
          await rt.compute(`shared L${l}`, 'dense', l, (enc, t) =>
            env.layer.encodeShared(enc, x, T, w, env.scratch, t),
          );
          break;
        case 'groupedGemm':
          await rt.compute(`experts L${l}`, 'gemm', l, (enc, t) =>
            env.layer.encodeRouted(enc, x, T, w.experts, env.scratch, t),
          );
          break;
        case 'combine':
          await rt.compute(`combine L${l}`, 'combine', l, (enc, t) =>
            env.layer.encodeCombine(enc, x, out, T, w, env.scratch, t),
          );
          break;
        default:
          throw new Error(`dp rank loop: step '${step}' is not a DP step`);
      }
    }
  }
}
