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
// --split-weights on: the grouped GEMM reads the resident section and the peers' slot regions
//   in place: they are regions of ONE buffer per slot (src/dwdp/store-layout.ts), and layer
//   l's expert table gives every expert's base offset in it, so the GEMM is DP's one-binding
//   kernel with other offsets. Off: a timed merge copies them into one contiguous buffer first.
//
// Hazards on the slot (the only region written after upload): read-after-write — the GEMM of
// layer l (and, split off, the merge) reads its slot only after 'waitPull' has awaited the
// pull's landing (ring.read checks it was issued); write-after-read — the pull of l + depth
// is issued into the slot only at 'issuePull', after the GEMM of l has completed (rt.compute
// returns once its submission is done, under either clock) and released the slot
// (ring.release). The resident sections in the same buffer are written once, at upload, and
// are disjoint from the slot (store-layout.ts), so a pull never touches what a GEMM or a
// peer's copy reads there.
import { readI32 } from '../gpu/index.ts';
import { createExpertTable } from '../kernels/expert-gemm.ts';
import type { WordCopy } from '../kernels/copy.ts';
import type { Placement } from '../dwdp/placement.ts';
import { StoreLayout } from '../dwdp/store-layout.ts';
import type { CopySegment } from '../dwdp/transport.ts';
import { createRankStore, sectionRef, type RankStore } from '../dwdp/weight-store.ts';
import { createBuffer } from '../gpu/index.ts';
import { runLocalStep, type GroupEnv, type RankEnv } from './group.ts';
import type { RankRuntime } from './runtime.ts';
import { PrefetchRing, layerPlan } from '../timeline/plan.ts';

export interface DwdpRank {
  env: RankEnv;
  /** The resident sections and the prefetch slots, one buffer per slot (src/dwdp/store-layout.ts). */
  store: RankStore;
  /** --split-weights off: one contiguous buffer of all E experts of the current layer. */
  merged?: { buffer: GPUBuffer; table: GPUBuffer };
}

/** Where rank `rank` keeps its experts: without prefetch one slot receives the routed experts of the current layer. */
export function dwdpStoreLayout(
  placement: Placement,
  rank: number,
  expertBytes: number,
  layers: number,
  o: { prefetch: boolean; prefetchDepth: number },
): StoreLayout {
  return new StoreLayout({ placement, rank, expertBytes, layers, depth: o.prefetch ? o.prefetchDepth : 1 });
}

export function setupDwdp(g: GroupEnv, env: RankEnv, placement: Placement): DwdpRank {
  const { layout } = g;
  const o = g.opts.dwdp;
  const store = createRankStore(env.gpu, g.hosts, dwdpStoreLayout(placement, env.id, layout.bytes, g.layers, o));
  // The placement's memory (without the store's alignment padding): L·b per layer, depth slots of (N−1)·P·b.
  const memory = placement.memory(layout.bytes, g.layers, store.layout.depth);
  env.residentBytes = memory.residentBytes;
  env.prefetchBytes = memory.prefetchBytes;
  const d: DwdpRank = { env, store };
  if (!o.splitWeights) {
    const E = g.cfg.experts;
    d.merged = {
      buffer: createBuffer(env.gpu, E * layout.bytes, `rank ${env.id} merged experts`),
      table: createExpertTable(
        env.gpu,
        Array.from({ length: E }, (_, e) => e * layout.words),
      ),
    };
    env.prefetchBytes += E * layout.bytes;
  }
  return d;
}

const pullId = (l: number, rank: number, from: number) => `L${l}:${from}->${rank}`;

/** Segments that copy `experts` (a subset of a peer's region) of layer l from the peer's resident section into l's slot. */
function pullSegments(
  g: GroupEnv,
  d: DwdpRank,
  peers: DwdpRank[],
  l: number,
  from: number,
  experts: number[],
): CopySegment[] {
  const at = d.store.layout;
  const region = at.regions.find((r) => r.from === from)!;
  const peer = peers[from].store;
  const src = sectionRef(peer, l);
  const dst = d.store.buffers[at.bufferOf(l)];
  const b = g.layout.bytes;
  // Contiguous runs of experts become one segment each.
  const segs: CopySegment[] = [];
  for (let i = 0; i < experts.length;) {
    let j = i + 1;
    while (j < experts.length && experts[j] === experts[j - 1] + 1) j++;
    const e = experts[i];
    segs.push({
      src: { rank: from, buffer: src.buffer, offset: src.offset + (e - peer.layout.first) * b },
      dst: { rank: d.env.id, buffer: dst, offset: region.offset + (e - region.experts[0]) * b },
      bytes: (j - i) * b,
    });
    i = j;
  }
  return segs;
}

/** --split-weights off: resident section and every slot region into the merged buffer, expert order. */
function mergeCopies(g: GroupEnv, d: DwdpRank, l: number): WordCopy[] {
  const b = g.layout.bytes;
  const m = d.merged!.buffer;
  const at = d.store.layout;
  const section = sectionRef(d.store, l);
  const slot = d.store.buffers[at.bufferOf(l)];
  return [
    { src: section.buffer, srcOffset: section.offset, dst: m, dstOffset: at.first * b, bytes: at.local * b },
    ...at.regions.map((reg) => ({
      src: slot,
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
  const at = d.store.layout;
  const plan = layerPlan('dwdp', { prefetch, splitWeights, pulls: at.regions.length > 0, exchange: false });
  const ring = prefetch ? new PrefetchRing(g.layers, depth) : null;
  const allIds = (l: number) => at.regions.map((reg) => pullId(l, r, reg.from));

  const issueLayer = (l: number) => {
    const slot = ring!.issue(l);
    if (slot !== at.bufferOf(l)) throw new Error(`dwdp: layer ${l}'s slot ${slot} is not its buffer ${at.bufferOf(l)}`);
    for (const reg of at.regions)
      rt.pull(pullId(l, r, reg.from), reg.from, pullSegments(g, d, peers, l, reg.from, reg.experts), l);
  };
  if (ring) for (const l of ring.prologue()) issueLayer(l);

  for (let l = 0; l < g.layers; l++) {
    const [x, out] = [env.x[l % 2], env.x[(l + 1) % 2]];
    // One binding either way: layer l's store buffer (its section and its slot) with l's table, or the merged copy.
    const experts = d.merged
      ? { weights: { buffer: d.merged.buffer }, expertTable: d.merged.table }
      : { weights: { buffer: d.store.buffers[at.bufferOf(l)] }, expertTable: d.store.tables[l] };
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
          for (const reg of at.regions) {
            const want = reg.experts.filter((e) => routed.has(e));
            rt.pull(pullId(l, r, reg.from), reg.from, pullSegments(g, d, peers, l, reg.from, want), l);
          }
          break;
        }
        case 'waitPull':
          await rt.waitPull(allIds(l), l);
          ring?.read(l); // read-after-write: the GEMM below reads the slot only now
          break;
        case 'merge':
          await rt.compute(`merge L${l}`, 'merge', l, (enc, t) =>
            env.copy.encode(enc, mergeCopies(g, d, l), 'merge', t),
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
