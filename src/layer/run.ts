// Runs one MoE layer on one device: upload, encode, time each stage with timestamp
// queries over several runs, and read the results back. The CLI and the page call this.
import { GpuTimer, createBufferWith, readF32, readI32, type Gpu } from '../gpu/index.ts';
import type { MoeConfig } from '../model/config.ts';
import type { WeightFormat } from '../model/formats.ts';
import { tokenInputs } from '../model/weights.ts';
import { median } from '../util/stats.ts';
import { buildHostLayerWeights, type HostLayerWeights } from './host-weights.ts';
import { MoeLayer, uploadLayerWeights } from './moe-layer.ts';

export interface LayerRunOptions {
  format: WeightFormat;
  tokens: number;
  seed: number;
  layer?: number;
  /** Timed runs after one warm-up (default 3). */
  runs?: number;
  variant?: string;
  /** The layer's weights when the caller already built them (else generated from the seed). */
  host?: HostLayerWeights;
}

export interface LayerRunResult {
  cfg: MoeConfig;
  host: HostLayerWeights;
  x: Float32Array;
  out: Float32Array;
  topkIdx: Int32Array;
  topkWeight: Float32Array;
  /** Median GPU milliseconds per stage (router, permute, gate_up, down, shared …, combine). */
  stageMs: Map<string, number>;
  /** Median of the per-run totals. */
  totalMs: number;
  timeSource: GpuTimer['source'];
  flops: LayerFlops;
}

export interface LayerFlops {
  router: number;
  routed: number;
  shared: number;
  total: number;
}

/** Multiply-adds ×2 of the layer's GEMMs (routed: 2·T·K·3·H·F, the convention of the lab). */
export function layerFlops(cfg: MoeConfig, tokens: number): LayerFlops {
  const { hidden: H, expertHidden: F, topK: K, experts: E, sharedHidden: Fs } = cfg;
  const router = 2 * tokens * E * H;
  const routed = 2 * tokens * K * 3 * H * F;
  const shared = 2 * tokens * 3 * H * Fs;
  return { router, routed, shared, total: router + routed + shared };
}

export async function runLayer(gpu: Gpu, cfg: MoeConfig, o: LayerRunOptions): Promise<LayerRunResult> {
  const { tokens, seed, format } = o;
  const runs = o.runs ?? 3;
  const host = o.host ?? buildHostLayerWeights(cfg, format, seed, o.layer ?? 0);
  if (host.format !== format) throw new Error(`runLayer: host weights are ${host.format}, the run asks for ${format}`);
  const x = tokenInputs(cfg, seed, tokens);
  const layer = await MoeLayer.create(gpu, cfg, { format, variant: o.variant, expectedTokens: tokens });
  const scratch = layer.createScratch(tokens);
  const w = uploadLayerWeights(gpu, host);
  const xBuf = createBufferWith(gpu, x, 'x');
  const outBuf = createBufferWith(gpu, new Float32Array(tokens * cfg.hidden), 'out');
  const timer = new GpuTimer(gpu);
  const perStage = new Map<string, number[]>();
  const totals: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const enc = gpu.device.createCommandEncoder();
    layer.encode(enc, xBuf, outBuf, tokens, w, scratch, timer);
    timer.resolve(enc);
    const t0 = performance.now();
    gpu.device.queue.submit([enc.finish()]);
    await gpu.guard(gpu.device.queue.onSubmittedWorkDone());
    const hostMs = performance.now() - t0;
    const stages = await timer.read();
    if (r === 0) continue; // warm-up: first-use costs (pipeline upload, page faults) are not the layer's
    let total = 0;
    for (const [label, ms] of stages) {
      perStage.set(label, [...(perStage.get(label) ?? []), ms]);
      total += ms;
    }
    totals.push(timer.source === 'host' ? hostMs : total);
  }
  const [out, topkIdx, topkWeight] = await Promise.all([
    readF32(gpu, outBuf, tokens * cfg.hidden),
    readI32(gpu, scratch.topkIdx, tokens * cfg.topK),
    readF32(gpu, scratch.topkWeight, tokens * cfg.topK),
  ]);
  timer.destroy();
  const stageMs = new Map([...perStage].map(([k, v]) => [k, median(v)]));
  return {
    cfg,
    host,
    x,
    out,
    topkIdx,
    topkWeight,
    stageMs,
    totalMs: median(totals),
    timeSource: timer.source,
    flops: layerFlops(cfg, tokens),
  };
}

/**
 * A stack of `layers` MoE layers on one device, each layer's output the next one's input:
 * the single-device reference every group strategy must reproduce. Returns the last output
 * and the last layer's routing.
 */
export async function runLayerStack(
  gpu: Gpu,
  cfg: MoeConfig,
  o: { format: WeightFormat; seed: number; layers: number; variant?: string },
  x: Float32Array,
  tokens: number,
): Promise<{ out: Float32Array; topkIdx: Int32Array; topkWeight: Float32Array }> {
  const layer = await MoeLayer.create(gpu, cfg, { format: o.format, variant: o.variant, expectedTokens: tokens });
  const scratch = layer.createScratch(tokens);
  const bufs = [
    createBufferWith(gpu, x, 'stack x0'),
    createBufferWith(gpu, new Float32Array(tokens * cfg.hidden), 'stack x1'),
  ];
  for (let l = 0; l < o.layers; l++) {
    const w = uploadLayerWeights(gpu, buildHostLayerWeights(cfg, o.format, o.seed, l));
    const enc = gpu.device.createCommandEncoder();
    layer.encode(enc, bufs[l % 2], bufs[(l + 1) % 2], tokens, w, scratch);
    gpu.device.queue.submit([enc.finish()]);
  }
  const [out, topkIdx, topkWeight] = await Promise.all([
    readF32(gpu, bufs[o.layers % 2], tokens * cfg.hidden),
    readI32(gpu, scratch.topkIdx, tokens * cfg.topK),
    readF32(gpu, scratch.topkWeight, tokens * cfg.topK),
  ]);
  return { out, topkIdx, topkWeight };
}
