// The MoE layer on one device: route → permute → grouped gate/up (SwiGLU) → grouped down
// → combine (+ shared expert through the same GEMM code). Every stage stays on the GPU:
// nothing is read back between routing and the expert GEMMs.
//
// Weights come in as one binding holding expert blocks plus a table saying where each
// expert's block lives in it. A full replica is its experts in order; a DWDP rank passes the
// buffer holding its resident section and its prefetch slot (src/dwdp/store-layout.ts), and
// the GEMM reads both in place.
import { createBuffer, createBufferWith, type Gpu, type GpuTimer } from '../gpu/index.ts';
import { CombineKernel } from '../kernels/combine.ts';
import { GroupedExpertGemm, createExpertTable } from '../kernels/expert-gemm.ts';
import { variantName } from '../kernels/gemm-variant.ts';
import { PermuteKernel } from '../kernels/permute.ts';
import { RouterKernel } from '../kernels/router.ts';
import type { MoeConfig } from '../model/config.ts';
import type { WeightFormat } from '../model/formats.ts';
import type { HostLayerWeights } from './host-weights.ts';
import { routerParams, sharedMode } from './params.ts';
import type { KernelChoice } from '../tuning/tuning-cache.ts';

/** Where the layer's expert blocks are on the device. */
export interface ExpertBlocks {
  /** The binding every block lives in; `expertTable` points into it. */
  weights: GPUBufferBinding;
  /** Per expert, the word offset of its block within `weights`, from createExpertTable. */
  expertTable: GPUBuffer;
}

/** A layer's weights on the device. */
export interface DeviceLayerWeights {
  router: GPUBuffer;
  bias?: GPUBuffer;
  experts: ExpertBlocks;
  shared?: ExpertBlocks;
  sharedGate?: GPUBuffer;
}

/** Intermediate buffers for up to `maxTokens` tokens. */
export interface LayerScratch {
  maxTokens: number;
  topkIdx: GPUBuffer;
  topkWeight: GPUBuffer;
  counts: GPUBuffer;
  offsets: GPUBuffer;
  perm: GPUBuffer;
  inv: GPUBuffer;
  h: GPUBuffer; // [T·K, F]
  y: GPUBuffer; // [T·K, H]
  sharedH?: GPUBuffer; // [T, Fs]
  sharedOut?: GPUBuffer; // [T, H]
}

export interface MoeLayerOptions {
  format: WeightFormat;
  /** GEMM tile variant (see expert-gemm.ts); default: the tuning cache's choice, else the format's default. */
  variant?: string;
  /** Tokens a call will usually carry: picks the tuned GEMM variant for that many rows per expert. */
  expectedTokens?: number;
}

export class MoeLayer {
  private constructor(
    readonly gpu: Gpu,
    readonly cfg: MoeConfig,
    private readonly router: RouterKernel,
    private readonly permute: PermuteKernel,
    private readonly gemm: GroupedExpertGemm,
    private readonly sharedGemm: GroupedExpertGemm | undefined,
    private readonly combine: CombineKernel,
  ) {}

  /** The router's and the routed experts' grouped GEMM configurations and where they came from (given, tuned or default). */
  get kernelChoices(): KernelChoice[] {
    return [
      { kernel: 'router', variant: this.router.variantName, origin: this.router.origin },
      { kernel: 'grouped GEMM', variant: variantName(this.gemm.variant), origin: this.gemm.origin },
    ];
  }

  static async create(gpu: Gpu, cfg: MoeConfig, opts: MoeLayerOptions): Promise<MoeLayer> {
    const gemmParams = { hidden: cfg.hidden, format: opts.format, variant: opts.variant, block: cfg.nativeWeightBlock };
    const rowsPerExpert = opts.expectedTokens ? (opts.expectedTokens * cfg.topK) / cfg.experts : undefined;
    const [router, permute, gemm, sharedGemm, combine] = await Promise.all([
      // The tuning cache's router configuration for this adapter, else the default.
      RouterKernel.create(gpu, routerParams(cfg), { tuned: true, expectedTokens: opts.expectedTokens }),
      PermuteKernel.create(gpu, { experts: cfg.experts, topK: cfg.topK }),
      GroupedExpertGemm.create(gpu, {
        ...gemmParams,
        expertHidden: cfg.expertHidden,
        experts: cfg.experts,
        rowsPerExpert,
      }),
      cfg.sharedHidden > 0
        ? GroupedExpertGemm.create(gpu, {
            ...gemmParams,
            expertHidden: cfg.sharedHidden,
            experts: 1,
            rowsPerExpert: opts.expectedTokens,
          })
        : Promise.resolve(undefined),
      CombineKernel.create(gpu, { hidden: cfg.hidden, topK: cfg.topK, shared: sharedMode(cfg) }),
    ]);
    return new MoeLayer(gpu, cfg, router, permute, gemm, sharedGemm, combine);
  }

  createScratch(maxTokens: number): LayerScratch {
    const { hidden: H, expertHidden: F, topK: K, experts: E, sharedHidden: Fs } = this.cfg;
    const rows = maxTokens * K;
    const b = (bytes: number, label: string) => createBuffer(this.gpu, bytes, `moe ${label}`);
    return {
      maxTokens,
      topkIdx: b(4 * rows, 'topk idx'),
      topkWeight: b(4 * rows, 'topk weight'),
      counts: b(4 * E, 'counts'),
      offsets: b(4 * (E + 1), 'offsets'),
      perm: b(4 * rows, 'perm'),
      inv: b(4 * rows, 'inv'),
      h: b(4 * rows * F, 'h'),
      y: b(4 * rows * H, 'y'),
      sharedH: Fs > 0 ? b(4 * maxTokens * Fs, 'shared h') : undefined,
      sharedOut: Fs > 0 ? b(4 * maxTokens * H, 'shared out') : undefined,
    };
  }

  /**
   * The routing half: router and permute. Split out because DWDP without prefetch reads
   * the routing back here to pull only the routed remote experts.
   */
  encodeRouting(
    enc: GPUCommandEncoder,
    x: GPUBuffer,
    tokens: number,
    w: DeviceLayerWeights,
    s: LayerScratch,
    timer?: GpuTimer,
  ): void {
    this.checkTokens(tokens, s);
    this.router.encode(
      enc,
      { x, weight: w.router, bias: w.bias, topkIdx: s.topkIdx, topkWeight: s.topkWeight, tokens },
      timer,
    );
    this.permute.encode(
      enc,
      { topkIdx: s.topkIdx, counts: s.counts, offsets: s.offsets, perm: s.perm, inv: s.inv, tokens },
      timer,
    );
  }

  /** Routed experts: grouped gate/up (SwiGLU) and down over the sorted rows, into scratch y. */
  encodeRouted(
    enc: GPUCommandEncoder,
    x: GPUBuffer,
    tokens: number,
    experts: ExpertBlocks,
    s: LayerScratch,
    timer?: GpuTimer,
  ): void {
    this.checkTokens(tokens, s);
    const K = this.cfg.topK;
    const { weights, expertTable } = experts;
    this.gemm.encodeMlp(
      enc,
      { x, perm: s.perm, offsets: s.offsets, topK: K, tokens, weights, expertTable, h: s.h, y: s.y },
      timer,
    );
  }

  /** The shared expert (if the model has one) over all tokens, into scratch sharedOut; labels 'shared …'. */
  encodeShared(
    enc: GPUCommandEncoder,
    x: GPUBuffer,
    tokens: number,
    w: DeviceLayerWeights,
    s: LayerScratch,
    timer?: GpuTimer,
  ): void {
    const gemm = this.sharedGemm;
    const sh = w.shared;
    if (!gemm || !sh) return;
    this.checkTokens(tokens, s);
    const encode = () =>
      gemm.encodeMlp(
        enc,
        { x, topK: 1, tokens, weights: sh.weights, expertTable: sh.expertTable, h: s.sharedH!, y: s.sharedOut! },
        timer,
      );
    if (timer) timer.scope('shared ', encode);
    else encode();
  }

  /** out = Σ_k w·y (from scratch, sorted order) + gated shared output. */
  encodeCombine(
    enc: GPUCommandEncoder,
    x: GPUBuffer,
    out: GPUBuffer,
    tokens: number,
    w: DeviceLayerWeights,
    s: LayerScratch,
    timer?: GpuTimer,
  ): void {
    this.checkTokens(tokens, s);
    this.combine.encode(
      enc,
      { y: s.y, inv: s.inv, topkWeight: s.topkWeight, out, shared: s.sharedOut, x, sharedGateW: w.sharedGate, tokens },
      timer,
    );
  }

  /** The expert half: routed experts, shared expert, combine into `out` [T,H]. */
  encodeExperts(
    enc: GPUCommandEncoder,
    x: GPUBuffer,
    out: GPUBuffer,
    tokens: number,
    w: DeviceLayerWeights,
    s: LayerScratch,
    timer?: GpuTimer,
  ): void {
    this.encodeRouted(enc, x, tokens, w.experts, s, timer);
    this.encodeShared(enc, x, tokens, w, s, timer);
    this.encodeCombine(enc, x, out, tokens, w, s, timer);
  }

  /** The whole layer: out = MoE(x) for `tokens` rows. */
  encode(
    enc: GPUCommandEncoder,
    x: GPUBuffer,
    out: GPUBuffer,
    tokens: number,
    w: DeviceLayerWeights,
    s: LayerScratch,
    timer?: GpuTimer,
  ): void {
    this.encodeRouting(enc, x, tokens, w, s, timer);
    this.encodeExperts(enc, x, out, tokens, w, s, timer);
  }

  private checkTokens(tokens: number, s: LayerScratch): void {
    if (!Number.isInteger(tokens) || tokens < 1)
      throw new Error(`MoE layer: tokens must be a positive integer (got ${tokens})`);
    if (tokens > s.maxTokens) throw new Error(`MoE layer: ${tokens} tokens exceed the scratch buffers' ${s.maxTokens}`);
  }
}

/** Router, bias and shared expert of one layer (every rank of a group has its own copy). */
export function uploadCommonWeights(gpu: Gpu, host: HostLayerWeights): Omit<DeviceLayerWeights, 'experts'> {
  const label = `layer ${host.layer}`;
  const out: Omit<DeviceLayerWeights, 'experts'> = {
    router: createBufferWith(gpu, host.router, `${label} router`),
    bias: host.bias && createBufferWith(gpu, host.bias, `${label} bias`),
  };
  if (host.shared) {
    const sb = createBufferWith(gpu, host.shared.block, `${label} shared expert`);
    out.shared = { weights: { buffer: sb }, expertTable: createExpertTable(gpu, [0]) };
    if (host.shared.expertGate) out.sharedGate = createBufferWith(gpu, host.shared.expertGate, `${label} shared gate`);
  }
  return out;
}

/** Uploads a host layer as a full replica: one buffer holding every expert's block. */
export function uploadLayerWeights(gpu: Gpu, host: HostLayerWeights): DeviceLayerWeights {
  const words = host.layout.words;
  const table = Array.from({ length: host.router.length / host.layout.hidden }, () => 0);
  host.experts.forEach((e, i) => (table[e] = i * words));
  const blocks = createBufferWith(gpu, host.blocks, `layer ${host.layer} experts`);
  return {
    ...uploadCommonWeights(gpu, host),
    experts: { weights: { buffer: blocks }, expertTable: createExpertTable(gpu, table) },
  };
}
