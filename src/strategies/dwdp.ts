// DWDP: every rank runs its own tokens through every layer (attention AND MoE) and never
// waits for a peer. Only the expert weights are distributed: a rank holds L experts of
// every layer and pulls the other (N−1)·P from its peers, one-sidedly.
//
// The order of a layer's steps is the DWDP step plan (src/timeline/plan.ts, which says why),
// shared with the rack model; this file only says what each step does on an emulated rank.
// --prefetch on (the paper): both ping-pong slots are filled at the start of the step;
//   once the grouped GEMM of layer l has consumed its slot, the pull of layer l + depth is
//   issued into it, so the pull of l+1 hides behind MoE(l) and the attention of l+1. Routing
//   is unknown when a pull is issued, so all (N−1)·P remote experts move.
// --prefetch off: after routing, read the choice back and pull only the distinct routed
//   remote experts, then wait for them (nothing hides the pull).
// --split-weights on: the grouped GEMM reads the resident shard and the peers' slot regions
//   in place (two bindings: the shard, the slot); off: a timed merge copies them into one contiguous buffer first.
import { readI32 } from '../gpu/index.ts';
import { createExpertTable } from '../kernels/expert-gemm.ts';
import type { WordCopy } from '../kernels/copy.ts';
import type { Placement } from '../dwdp/placement.ts';
import type { CopySegment } from '../dwdp/transport.ts';
import {
  createPrefetchSlots,
  splitSourceCount,
  splitSources,
  uploadShard,
  type PrefetchSlots,
  type ResidentShard,
} from '../dwdp/weight-store.ts';
import { createBuffer } from '../gpu/index.ts';
import { runLocalStep, type GroupEnv, type RankEnv } from './group.ts';
import type { RankRuntime } from './runtime.ts';
import { PrefetchRing, layerPlan } from '../timeline/plan.ts';

export interface DwdpRank {
  env: RankEnv;
  resident: ResidentShard;
  slots: PrefetchSlots;
  split?: ReturnType<typeof splitSources>;
  /** --split-weights off: one contiguous buffer of all E experts of the current layer. */
  merged?: { buffer: GPUBuffer; table: GPUBuffer };
}

export function setupDwdp(g: GroupEnv, env: RankEnv, placement: Placement): DwdpRank {
  const { layout } = g;
  const o = g.opts.dwdp;
  const resident = uploadShard(
    env.gpu,
    g.hosts,
    { first: placement.rangeStart(env.id), count: placement.local },
    `rank ${env.id} resident experts`,
  );
  // Without prefetch one slot receives the routed experts of the current layer.
  const slots = createPrefetchSlots(
    env.gpu,
    layout,
    placement.remote(env.id),
    o.prefetch ? o.prefetchDepth : 1,
    env.id,
  );
  env.residentBytes = resident.bytes;
  env.prefetchBytes = slots.buffers.length * slots.payloadBytes;
  const d: DwdpRank = { env, resident, slots };
  if (o.splitWeights) d.split = splitSources(env.gpu, g.cfg.experts, layout, resident, slots);
  else {
    const E = g.cfg.experts;
    d.merged = {
      buffer: createBuffer(env.gpu, E * layout.bytes, `rank ${env.id} merged experts`),
      table: createExpertTable(
        env.gpu,
        Array.from({ length: E }, (_, e) => ({ source: 0, atWord: e * layout.words })),
      ),
    };
    env.prefetchBytes += E * layout.bytes;
  }
  return d;
}

/** How many weight sources this rank's grouped GEMM binds. */
export function dwdpSourceCount(splitWeights: boolean, peers: number): number {
  return splitWeights ? splitSourceCount(peers) : 1;
}

const pullId = (l: number, rank: number, from: number) => `L${l}:${from}->${rank}`;

/** Segments that copy `experts` (a subset of a peer's region) of layer l from the peer's shard into `slot`. */
function pullSegments(
  g: GroupEnv,
  d: DwdpRank,
  peers: DwdpRank[],
  l: number,
  slot: number,
  from: number,
  experts: number[],
): CopySegment[] {
  const region = d.slots.regions.find((r) => r.from === from)!;
  const src = peers[from].resident;
  const b = g.layout.bytes;
  // Contiguous runs of experts become one segment each.
  const segs: CopySegment[] = [];
  for (let i = 0; i < experts.length;) {
    let j = i + 1;
    while (j < experts.length && experts[j] === experts[j - 1] + 1) j++;
    const e = experts[i];
    segs.push({
      src: { rank: from, buffer: src.buffer, offset: l * src.layerStride + (e - src.shard.first) * b },
      dst: { rank: d.env.id, buffer: d.slots.buffers[slot], offset: region.offset + (e - region.experts[0]) * b },
      bytes: (j - i) * b,
    });
    i = j;
  }
  return segs;
}

/** --split-weights off: resident section and every slot region into the merged buffer, expert order. */
function mergeCopies(g: GroupEnv, d: DwdpRank, l: number, slot: number): WordCopy[] {
  const b = g.layout.bytes;
  const m = d.merged!.buffer;
  const r = d.resident;
  return [
    { src: r.buffer, srcOffset: l * r.layerStride, dst: m, dstOffset: r.shard.first * b, bytes: r.shard.count * b },
    ...d.slots.regions.map((reg) => ({
      src: d.slots.buffers[slot],
      srcOffset: reg.offset,
      dst: m,
      dstOffset: reg.experts[0] * b,
      bytes: reg.bytes,
    })),
  ];
}

/**
 * The rank loop: the DWDP step plan (src/timeline/plan.ts) of every layer, each step encoding
 * its kernels or moving its bytes. The prefetch ring assigns slots and guards their hazards.
 */
export async function runDwdpRank(rt: RankRuntime, g: GroupEnv, d: DwdpRank, peers: DwdpRank[]): Promise<void> {
  const { env } = d;
  const r = env.id;
  const { prefetch, prefetchDepth: depth, splitWeights } = g.opts.dwdp;
  const T = env.work.tokens;
  const K = g.cfg.topK;
  const plan = layerPlan('dwdp', { prefetch, splitWeights, pulls: d.slots.regions.length > 0, exchange: false });
  const ring = prefetch ? new PrefetchRing(g.layers, depth) : null;
  const allIds = (l: number) => d.slots.regions.map((reg) => pullId(l, r, reg.from));

  const issueLayer = (l: number) => {
    const slot = ring!.issue(l);
    for (const reg of d.slots.regions)
      rt.pull(pullId(l, r, reg.from), reg.from, pullSegments(g, d, peers, l, slot, reg.from, reg.experts), l);
  };
  if (ring) for (const l of ring.prologue()) issueLayer(l);

  for (let l = 0; l < g.layers; l++) {
    const [x, out] = [env.x[l % 2], env.x[(l + 1) % 2]];
    const slot = ring ? ring.slotOf(l) : 0;
    const experts = d.split
      ? { weights: d.split.sources(l, slot), expertTable: d.split.tableFor }
      : { weights: [{ buffer: d.merged!.buffer }], expertTable: d.merged!.table };
    const w = { ...env.common[l], experts };
    for (const step of plan) {
      switch (step) {
        case 'pullRouted': {
          // The routing decides which remote experts to fetch: read it back and pull them (a
          // peer none of whose experts is routed gets an empty, instantly landed pull).
          const idx = await rt.host(`read routing L${l}`, 'router', l, () =>
            readI32(env.gpu, env.scratch.topkIdx, T * K),
          );
          const routed = new Set(idx);
          for (const reg of d.slots.regions) {
            const want = reg.experts.filter((e) => routed.has(e));
            rt.pull(pullId(l, r, reg.from), reg.from, pullSegments(g, d, peers, l, 0, reg.from, want), l);
          }
          break;
        }
        case 'waitPull':
          await rt.waitPull(allIds(l), l);
          ring?.read(l); // read-after-write: the GEMM below reads the slot only now
          break;
        case 'merge':
          await rt.compute(`merge L${l}`, 'merge', l, (enc, t) =>
            env.copy.encode(enc, mergeCopies(g, d, l, slot), 'merge', t),
          );
          break;
        case 'issuePull': {
          // write-after-read: the GEMM has consumed the slot, so the next layer may overwrite it.
          const next = ring!.release(l);
          if (next !== null) issueLayer(next);
          break;
        }
        default:
          if (!(await runLocalStep(rt, env, step, l, x, out, w)))
            throw new Error(`dwdp rank loop: step '${step}' is not a DWDP step`);
      }
    }
  }
}
