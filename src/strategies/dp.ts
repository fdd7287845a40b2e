// DP: every rank holds a full replica of every layer's experts and runs its own tokens
// with no communication at all — the memory worst case. Not a speed upper bound: each rank's
// grouped GEMM reads every expert's weights (DEP's reads E/N), which at small batches, where
// the GEMM is bound by weight reads, costs more than DEP's all-to-all saves.
// The order of a layer's steps is the DP step plan (src/timeline/plan.ts).
import { createExpertTable } from '../kernels/expert-gemm.ts';
import { shardBinding, uploadShard, type ResidentShard } from '../dwdp/weight-store.ts';
import { runLocalStep, type GroupEnv, type RankEnv } from './group.ts';
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
    Array.from({ length: E }, (_, e) => e * g.layout.words),
  );
  return { env, replica, table };
}

/** The rank loop: the DP step plan (src/timeline/plan.ts) of every layer. */
export async function runDpRank(rt: RankRuntime, g: GroupEnv, d: DpRank): Promise<void> {
  const { env } = d;
  const plan = layerPlan('dp', { prefetch: false, splitWeights: true, pulls: false, exchange: false });
  for (let l = 0; l < g.layers; l++) {
    const [x, out] = [env.x[l % 2], env.x[(l + 1) % 2]];
    const w = { ...env.common[l], experts: { weights: shardBinding(d.replica, l), expertTable: d.table } };
    for (const step of plan) {
      if (!(await runLocalStep(rt, env, step, l, x, out, w)))
        throw new Error(`dp rank loop: step '${step}' is not a DP step`);
    }
  }
}
