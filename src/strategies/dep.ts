// DEP: attention data-parallel, experts expert-parallel. Rank d owns a contiguous range
// of experts; each layer every rank routes its tokens, packs the rows in expert order and
// sends each owner its rows (all-to-all dispatch), owners run the grouped GEMM on what they
// received and send the outputs back (all-to-all combine), and every rank combines its own
// tokens. The dispatch is a barrier: the fastest rank waits for the slowest every layer. The
// order of a layer's steps is the DEP step plan (src/timeline/plan.ts), shared with the rack
// model; the shared expert runs while the combine's rows are on their way back.
//
// Row layout. A rank's expert-sorted rows (permute's order) are contiguous per owner,
// because owners hold contiguous expert ranges. An owner's receive buffer holds one block
// per source rank (rank order), each sorted by expert; the owner's GEMM reads it through
// a host-built permutation that groups rows by local expert, and an unpack gather puts
// the outputs back in receive order, so each source's block returns as one copy straight
// into that source's sorted y.
//
// Wire precision. Rows move as f32 so the outputs stay exact, but the link charges them at
// DeepSeek-V3's precision (FP8 dispatch, BF16 combine: DEFAULT_PRECISION of the rack model),
// as a real DEP deployment sends them; a scale model multiplies them by its activations factor
// (src/similarity/scale-model.ts) so the all-to-all keeps the target's share of a layer.
import { createBuffer, createBufferWith, readU32 } from '../gpu/index.ts';
import { GatherKernel } from '../kernels/gather.ts';
import { GroupedExpertGemm, createExpertTable } from '../kernels/expert-gemm.ts';
import type { CopySegment } from '../dwdp/transport.ts';
import { shardBinding, uploadShard, type ResidentShard, type Shard } from '../dwdp/weight-store.ts';
import { DEFAULT_PRECISION } from '../hardware/precision.ts';
import { runLocalStep, type GroupEnv, type RankEnv } from './group.ts';
import type { RankRuntime } from './runtime.ts';
import { layerPlan } from '../timeline/plan.ts';

/** Rank d owns experts [⌊d·E/N⌋, ⌊(d+1)·E/N⌋): balanced to within one expert when N ∤ E. */
export function depShards(experts: number, ranks: number): Shard[] {
  return Array.from({ length: ranks }, (_, d) => {
    const first = Math.floor((d * experts) / ranks);
    return { first, count: Math.floor(((d + 1) * experts) / ranks) - first };
  });
}

export interface DepRank {
  env: RankEnv;
  shard: Shard;
  resident: ResidentShard;
  table: GPUBuffer;
  gemm: GroupedExpertGemm;
  pack: GatherKernel;
  unpack: GatherKernel;
  /** [T·K, H] this rank's rows in expert order (sent out). */
  send: GPUBuffer;
  /** [maxRecv, H] rows received, one block per source; [maxRecv, F] and [maxRecv, H] GEMM outputs; [maxRecv, H] unpacked. */
  recv: GPUBuffer;
  h: GPUBuffer;
  y: GPUBuffer;
  back: GPUBuffer;
}

/** Per layer, every rank's expert offsets (the counts exchanged before the dispatch). */
export type OffsetBoard = Map<number, Uint32Array[]>;

/**
 * Per layer, per expert: the group's routed slots, summed from the offsets every rank read back
 * and exchanged before its dispatch (no readback of its own).
 */
export function routedSlots(board: OffsetBoard, layers: number, experts: number): number[][] {
  return Array.from({ length: layers }, (_, l) => {
    const c = new Array<number>(experts).fill(0);
    for (const os of board.get(l) ?? []) for (let e = 0; e < experts; e++) c[e] += os[e + 1] - os[e];
    return c;
  });
}

export async function setupDep(g: GroupEnv, env: RankEnv, shards: Shard[]): Promise<DepRank> {
  const { cfg, layout } = g;
  const shard = shards[env.id];
  const gpu = env.gpu;
  const resident = uploadShard(gpu, g.hosts, shard, `rank ${env.id} expert shard`);
  env.residentBytes = resident.bytes;
  const maxRecv = g.work.reduce((a, w) => a + w.tokens, 0) * cfg.topK;
  const H = cfg.hidden;
  const [gemm, pack, unpack] = await Promise.all([
    GroupedExpertGemm.create(gpu, {
      hidden: H,
      expertHidden: cfg.expertHidden,
      experts: Math.max(1, shard.count),
      format: g.format,
      variant: g.opts.variant,
      block: cfg.nativeWeightBlock,
      rowsPerExpert: maxRecv / cfg.experts,
    }),
    GatherKernel.create(gpu, { columns: H, divisor: cfg.topK }),
    GatherKernel.create(gpu, { columns: H, divisor: 1 }),
  ]);
  const b = (bytes: number, what: string) => createBuffer(gpu, bytes, `rank ${env.id} ${what}`);
  return {
    env,
    shard,
    resident,
    table: createExpertTable(
      gpu,
      Array.from({ length: Math.max(1, shard.count) }, (_, i) => i * layout.words),
    ),
    gemm,
    pack,
    unpack,
    send: b(env.work.tokens * cfg.topK * H * 4, 'dispatch rows'),
    recv: b(maxRecv * H * 4, 'received rows'),
    h: b(maxRecv * cfg.expertHidden * 4, 'expert activations'),
    y: b(maxRecv * H * 4, 'expert outputs'),
    back: b(maxRecv * H * 4, 'outputs to return'),
  };
}

/** Rows of source s (offsets os) that owner d (shard) receives: [os[first], os[first + count]). */
const rowsFor = (os: Uint32Array, sh: Shard) => [os[sh.first], os[sh.first + sh.count]] as const;

/** Where each source's block starts in owner `d`'s receive buffer (rows), and the total. */
function receiveLayout(board: Uint32Array[], sh: Shard): { base: number[]; total: number } {
  const base: number[] = [];
  let at = 0;
  for (const os of board) {
    base.push(at);
    const [lo, hi] = rowsFor(os, sh);
    at += hi - lo;
  }
  return { base, total: at };
}

/**
 * The owner's GEMM order: rows grouped by local expert (sources in rank order within an
 * expert), as indices into the receive buffer, with per-local-expert offsets.
 */
function gemmOrder(
  board: Uint32Array[],
  sh: Shard,
  base: number[],
  total: number,
): { perm: Uint32Array; offsets: Uint32Array } {
  const perm = new Uint32Array(Math.max(1, total));
  const offsets = new Uint32Array(Math.max(1, sh.count) + 1);
  let i = 0;
  for (let e = sh.first; e < sh.first + sh.count; e++) {
    offsets[e - sh.first] = i;
    board.forEach((os, s) => {
      const start = base[s] + (os[e] - os[sh.first]);
      for (let j = 0; j < os[e + 1] - os[e]; j++) perm[i++] = start + j;
    });
  }
  offsets.fill(i, sh.count);
  return { perm, offsets };
}

/** The rank loop: the DEP step plan (src/timeline/plan.ts) of every layer. */
export async function runDepRank(
  rt: RankRuntime,
  g: GroupEnv,
  d: DepRank,
  peers: DepRank[],
  shards: Shard[],
  board: OffsetBoard,
): Promise<void> {
  const { env } = d;
  const { cfg } = g;
  const r = env.id;
  const N = shards.length;
  const T = env.work.tokens;
  const K = cfg.topK;
  const rowBytes = cfg.hidden * 4;
  const gpu = env.gpu;
  const plan = layerPlan('dep', { prefetch: false, splitWeights: true, pulls: false, exchange: true });
  // One phase of the all-to-all, either direction: rank r's block for each peer (blockFor) goes
  // over the link, its f32 values at `wireBytesPerValue` on the wire (scaled), or is a device
  // copy where the peer is r itself; and the wait for every peer's block of a phase.
  type Phase = 'dispatch' | 'combine';
  const exchange = async (
    phase: Phase,
    l: number,
    blockFor: (peer: number) => CopySegment,
    wireBytesPerValue: number,
  ) => {
    for (let peer = 0; peer < N; peer++) {
      const seg = blockFor(peer);
      const wire = (seg.bytes / 4) * wireBytesPerValue * g.activationScale;
      if (peer === r) await rt.compute(`${phase} local L${l}`, 'collective', l, (enc) => localCopy(enc, seg));
      else rt.send(`L${l}/${phase}/${r}->${peer}`, peer, [seg], l, wire);
    }
  };
  const waitExchange = async (phase: Phase, l: number) => {
    const ids: string[] = [];
    for (let s = 0; s < N; s++) if (s !== r) ids.push(`L${l}/${phase}/${s}->${r}`);
    await rt.waitRecv(ids, l);
  };

  for (let l = 0; l < g.layers; l++) {
    const [x, out] = [env.x[l % 2], env.x[(l + 1) % 2]];
    const w = { ...env.common[l], experts: { weights: shardBinding(d.resident, l), expertTable: d.table } };
    // What the steps of this layer hand each other.
    let mine: Uint32Array | undefined;
    let offs: Uint32Array[] = [];
    let layouts: ReturnType<typeof receiveLayout>[] = [];
    const temps: GPUBuffer[] = [];
    for (const step of plan) {
      switch (step) {
        case 'router': {
          await runLocalStep(rt, env, step, l, x, out, w);
          const counts = await rt.host(`read counts L${l}`, 'router', l, () =>
            readU32(gpu, env.scratch.offsets, cfg.experts + 1),
          );
          mine = counts;
          if (!board.has(l)) board.set(l, new Array<Uint32Array>(N));
          board.get(l)![r] = counts;
          break;
        }
        case 'dispatch': {
          // The group meets (counts are exchanged at the barrier), then each rank packs its rows
          // in owner order and sends each owner its block; its own block stays on the device.
          await rt.barrier(`L${l}/dispatch`, l);
          offs = board.get(l)!;
          layouts = shards.map((sh) => receiveLayout(offs, sh));
          await rt.compute(`pack L${l}`, 'collective', l, (enc, t) =>
            d.pack.encode(enc, { idx: env.scratch.perm, src: x, out: d.send, rows: T * K, label: 'pack' }, t),
          );
          const dispatched = (dst: number): CopySegment => {
            const [lo, hi] = rowsFor(mine!, shards[dst]);
            return {
              src: { rank: r, buffer: d.send, offset: lo * rowBytes },
              dst: { rank: dst, buffer: peers[dst].recv, offset: layouts[dst].base[r] * rowBytes },
              bytes: (hi - lo) * rowBytes,
            };
          };
          await exchange('dispatch', l, dispatched, DEFAULT_PRECISION.dispatchBytes);
          break;
        }
        case 'waitDispatch':
          await waitExchange('dispatch', l);
          break;
        case 'groupedGemm': {
          // The owner's grouped GEMM over every source's rows for its experts.
          const { base, total } = layouts[r];
          const order = gemmOrder(offs, d.shard, base, total);
          const perm = createBufferWith(gpu, order.perm, 'dep gemm order');
          const offsets = createBufferWith(gpu, order.offsets, 'dep gemm offsets');
          const inverse = new Uint32Array(Math.max(1, total));
          for (let i = 0; i < total; i++) inverse[order.perm[i]] = i;
          const back = createBufferWith(gpu, inverse, 'dep unpack order');
          temps.push(perm, offsets, back);
          if (total > 0) {
            await rt.compute(`experts L${l}`, 'gemm', l, (enc, t) => {
              const { weights } = w.experts;
              d.gemm.encodeMlp(
                enc,
                { x: d.recv, perm, offsets, topK: 1, tokens: total, weights, expertTable: d.table, h: d.h, y: d.y },
                t,
              );
              d.unpack.encode(enc, { idx: back, src: d.y, out: d.back, rows: total, label: 'unpack' }, t);
            });
          }
          break;
        }
        case 'return': {
          // Every source's block goes back into its own sorted y.
          const { base } = layouts[r];
          const returned = (s: number): CopySegment => {
            const [lo, hi] = rowsFor(offs[s], d.shard);
            return {
              src: { rank: r, buffer: d.back, offset: base[s] * rowBytes },
              dst: { rank: s, buffer: peers[s].env.scratch.y, offset: lo * rowBytes },
              bytes: (hi - lo) * rowBytes,
            };
          };
          await exchange('combine', l, returned, DEFAULT_PRECISION.combineBytes);
          break;
        }
        case 'waitReturn':
          await waitExchange('combine', l);
          break;
        default:
          if (!(await runLocalStep(rt, env, step, l, x, out, w)))
            throw new Error(`dep rank loop: step '${step}' is not a DEP step`);
      }
    }
    for (const b of temps) b.destroy();
  }
}

/** A rank's own rows stay on its device: a plain buffer copy. */
function localCopy(enc: GPUCommandEncoder, s: CopySegment): void {
  if (s.bytes > 0) enc.copyBufferToBuffer(s.src.buffer, s.src.offset, s.dst.buffer, s.dst.offset, s.bytes);
}
