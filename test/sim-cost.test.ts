// Cost model arithmetic on hand-checked cases, the probability helpers against brute-force
// enumeration, the profiles' sanity, and the calibration fit.
import { describe, expect, it } from 'vitest';
import { expertLayout } from '../src/model/formats.ts';
import { loadPreset } from '../src/model/presets.ts';
import { calibrate, parseCalibration, sampleWork } from '../src/sim/calibration.ts';
import type { CalibrationSample } from '../src/hardware/calibration-sample.ts';
import {
  CostModel,
  attentionPairs,
  attentionProjectionShape,
  attentionWork,
  expectedExpertsTouched,
  expertGemmWork,
  rooflineMs,
  tokenReachesRankProbability,
} from '../src/sim/cost-model.ts';
import { DEFAULT_EFFICIENCY, thisDeviceEfficiency } from '../src/hardware/efficiency.ts';
import { expertMathPrecision } from '../src/hardware/precision.ts';
import { formatCalibration } from '../src/sim/format.ts';
import { dwdpPrograms } from '../src/sim/programs.ts';
import { makePlacement } from '../src/dwdp/placement.ts';
import { GB200_NVL72, H100_HGX, H200_HGX, PROFILES, thisDeviceProfile } from '../src/hardware/profiles.ts';
import { Rng } from '../src/util/random.ts';
import { CATEGORIES } from '../src/timeline/categories.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;
const r1 = loadPreset('deepseek-r1');

describe('roofline', () => {
  const eff = { ...DEFAULT_EFFICIENCY, launchUs: 0 };
  it('is compute-bound or memory-bound by the larger of the two times', () => {
    // 1 TFLOP in FP4 on a 10 PFLOP/s GPU at 70%: 1e12 / (10e15 · 0.7) s = 0.142857 ms
    expect(
      rooflineMs({ flops: 1e12, bytes: 1e6, precision: 'fp4', kind: 'gemm', kernels: 0 }, GB200_NVL72, eff),
    ).toBeCloseTo((1e12 / (10e15 * 0.7)) * 1e3, 12);
    // 8 GB at 8 TB/s · 0.8: 1.25 ms
    expect(
      rooflineMs({ flops: 1e9, bytes: 8e9, precision: 'fp4', kind: 'gemm', kernels: 0 }, GB200_NVL72, eff),
    ).toBeCloseTo(1.25, 12);
    // Launch costs add: 3 kernels × 4 µs
    expect(
      rooflineMs(
        { flops: 0, bytes: 0, precision: 'bf16', kind: 'memory', kernels: 3 },
        GB200_NVL72,
        DEFAULT_EFFICIENCY,
      ),
    ).toBeCloseTo(0.012, 12);
    // Random: exactly max(f / (peak·e), b / (hbm·m))
    for (let i = 0; i < 50; i++) {
      const flops = rng.uniform(0, 1e13);
      const bytes = rng.uniform(0, 1e10);
      const e = { ...eff, attention: rng.uniform(0.1, 1), memory: rng.uniform(0.1, 1) };
      const want = Math.max(flops / (2500e12 * e.attention), bytes / (8000e9 * e.memory)) * 1e3;
      expect(
        rooflineMs({ flops, bytes, precision: 'bf16', kind: 'attention', kernels: 0 }, GB200_NVL72, e),
        tag('random'),
      ).toBeCloseTo(want, 9);
    }
  });

  it('runs NVFP4 experts in FP4 on Blackwell and in FP8 on Hopper', () => {
    expect(expertMathPrecision('nvfp4', GB200_NVL72)).toBe('fp4');
    expect(expertMathPrecision('nvfp4', H200_HGX)).toBe('fp8');
    expect(expertMathPrecision('fp8', H100_HGX)).toBe('fp8');
    expect(expertMathPrecision('f32', GB200_NVL72)).toBe('fp32');
  });
});

/** Float64 brute force: every (query, key) pair a causal mask with window W (null: none) lets through. */
function bruteForcePairs(S: number, W: number | null): number {
  let n = 0;
  for (let q = 0; q < S; q++) for (let k = 0; k <= q; k++) if (W === null || q - k < W) n++;
  return n;
}

describe('attention per layer from the config.json (GQA, sliding windows)', () => {
  it('attentionPairs equals a brute-force count over token pairs, with and without a window', () => {
    const cases: [number, number | null][] = [
      [1, null],
      [1, 1],
      [5, 5],
      [6, 5],
      [128, 128],
      [129, 128],
    ];
    for (let i = 0; i < 30; i++) cases.push([1 + rng.int(700), rng.next() < 0.2 ? null : 1 + rng.int(300)]);
    for (const [S, W] of cases) expect(attentionPairs(S, W), tag(`S=${S} W=${W}`)).toBe(bruteForcePairs(S, W));
  });

  const oss = loadPreset('gpt-oss-120b');
  it('gpt-oss-120b: a sliding layer costs its window, a full layer the causal square; projections are GQA', () => {
    const lens = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(3000));
    const T = lens.reduce((a, b) => a + b, 0);
    const qkv = 64 * 64 + 2 * 8 * 64; // q 64 heads, k and v 8 heads, of 64
    expect(attentionProjectionShape(oss).params).toBe(2880 * qkv + 64 * 64 * 2880);
    for (const W of [128, null]) {
      const w = attentionWork(oss, lens, undefined, W);
      const pairs = lens.reduce((a, S) => a + bruteForcePairs(S, W), 0);
      expect(w.core.flops, tag(`W=${W}`)).toBe(2 * 64 * (64 + 64) * pairs);
      // GQA: Q and O of 64 heads, K and V of 8, each of 64 values per token.
      expect(w.core.bytes).toBe(T * (64 * 128 + 8 * 128) * 2);
    }
    const c = new CostModel({ model: oss, profile: GB200_NVL72, format: 'mxfp4' });
    const perLayer = oss.attention.windows.map((_, l) => c.attentionMs(lens, l));
    expect(perLayer[0]).toBeLessThanOrEqual(perLayer[1]);
    const mean = perLayer.reduce((a, b) => a + b, 0) / perLayer.length;
    expect(c.attentionMs(lens)).toBeCloseTo(mean, 12);
    expect(c.expertBytes).toBe(expertLayout('mxfp4', 2880, 2880).bytes);
  });

  it('KV cache: a sliding layer keeps min(S, W) tokens of a request, a full layer all S (gpt-oss-120b, DeepSeek-R1)', () => {
    const lens = Array.from({ length: 1 + rng.int(6) }, () => 1 + rng.int(rng.next() < 0.5 ? 200 : 20000));
    const T = lens.reduce((a, b) => a + b, 0);
    // gpt-oss-120b: 36 layers, 18 of them sliding at 128; K and V of 8 heads × 64, BF16: 2048 B per token and layer.
    expect(oss.attention.windows.filter((w) => w === 128).length).toBe(18);
    expect(oss.attention.windows.filter((w) => w === null).length).toBe(18);
    const c = new CostModel({ model: oss, profile: GB200_NVL72, format: 'mxfp4' });
    const windowed = lens.reduce((a, S) => a + Math.min(S, 128), 0);
    expect(c.kvCacheBytes(lens), tag(`lengths ${lens}`)).toBe(2048 * (18 * T + 18 * windowed));
    // DeepSeek-R1 (no windows): 61 layers × (kv LoRA 512 + RoPE 64) × 2 B per token.
    expect(new CostModel({ model: r1, profile: GB200_NVL72 }).kvCacheBytes(lens)).toBe(61 * 576 * 2 * T);
    expect(c.kvCacheBytes([])).toBe(0);
  });

  it('the layer program gives each layer its own window: sliding and full layers alternate in gpt-oss', () => {
    const c = new CostModel({ model: oss, profile: GB200_NVL72, format: 'mxfp4' });
    const S = 16384; // far above the window: the two kinds of layer differ
    const [ops] = dwdpPrograms(
      c,
      [0, 1, 2, 3],
      [[{ lengths: [S] }], [{ lengths: [S] }], [{ lengths: [S] }], [{ lengths: [S] }]],
      {
        placement: makePlacement(128, 4),
        contentionFix: true,
      },
    );
    const kernel = ops.filter((o) => o.kind === 'compute' && o.label === 'attention');
    const proj = ops.filter((o) => o.kind === 'compute' && o.label === 'attention projections');
    expect(kernel).toHaveLength(36);
    expect(proj).toHaveLength(36);
    const ms = (o: (typeof ops)[number]) => (o.kind === 'compute' ? o.durationMs : NaN);
    kernel.forEach((o, l) => expect(ms(o)).toBeCloseTo(c.attentionCoreMs([S], l % 2 === 0 ? 128 : null), 12));
    expect(ms(kernel[1]) / ms(kernel[0])).toBeGreaterThan(10);
    // Projections are dense GEMMs (the breakdown's denseGemm), the kernel is attention.
    for (const o of proj) expect(o.kind === 'compute' && o.category).toBe('dense');
    for (const o of kernel) expect(o.kind === 'compute' && o.category).toBe('attention');
  });
});

describe('DeepSeek-R1 work', () => {
  it('MLA projections: 187,105,280 parameters per layer', () => {
    // q_a 7168·1536 + q_b 1536·128·192 + kv_a 7168·(512+64) + kv_b 512·128·(128+128) + o 128·128·7168
    const want = 7168 * 1536 + 1536 * 128 * 192 + 7168 * 576 + 512 * 128 * 256 + 128 * 128 * 7168;
    expect(want).toBe(187_105_280);
    expect(attentionProjectionShape(r1).params).toBe(want);
  });

  it('causal attention core: heads·(qk + v)·S·(S+1) FLOPs per request', () => {
    const lens = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(40000));
    const w = attentionWork(r1, lens);
    expect(w.core.flops).toBe(lens.reduce((a, S) => a + 128 * (192 + 128) * S * (S + 1), 0));
    const T = lens.reduce((a, b) => a + b, 0);
    // 187.1 M projection parameters, of which o_proj (128 heads × 128 → 7168) is timed apart in its own precision.
    expect(w.projections.flops + w.output.flops).toBe(2 * T * 187_105_280);
    expect(w.output.flops).toBe(2 * T * 128 * 128 * 7168);
    expect(w.output.precision).toBe('fp8');
    // NVIDIA's NVFP4 v2 checkpoint quantizes wo: an nvfp4 cost model runs o_proj in FP4, an fp8 one in FP8.
    expect(new CostModel({ model: r1, profile: GB200_NVL72 }).precision.attentionOutput).toBe('fp4');
    expect(new CostModel({ model: r1, profile: GB200_NVL72, format: 'fp8' }).precision.attentionOutput).toBe('fp8');
    // 8K tokens: 2.75 TFLOP in the core
    expect(attentionWork(r1, [8192]).core.flops / 1e12).toBeCloseTo(2.7488, 3);
  });

  it('router: its logits are a dense GEMM (denseGemm), its top-k selection a small kernel (others)', () => {
    const T = 1 + rng.int(32768);
    const c = new CostModel({ model: r1, profile: GB200_NVL72, efficiency: { launchUs: 0 } });
    // Logits: 2·T·H·E FLOPs at BF16 (2.5 PF dense) × gemm efficiency, vs reading the BF16 weights, x and writing FP32 logits.
    const flopMs = ((2 * T * 7168 * 256) / (2500e12 * c.efficiency.gemm)) * 1e3;
    const byteMs = ((7168 * 256 * 2 + T * (7168 * 2 + 256 * 4)) / (8000e9 * c.efficiency.memory)) * 1e3;
    expect(c.routerLogitsMs(T), tag(`T ${T}`)).toBeCloseTo(Math.max(flopMs, byteMs), 9);
    // Selection: read the logits, write K (index, weight) pairs: memory-bound.
    expect(c.routerSelectMs(T), tag(`T ${T}`)).toBeCloseTo(
      ((T * (256 * 4 + 8 * 8)) / (8000e9 * c.efficiency.memory)) * 1e3,
      9,
    );
    expect(c.routerMs(T)).toBeCloseTo(c.routerLogitsMs(T) + c.routerSelectMs(T), 12);
    // The layer program files them under their columns.
    const placement = makePlacement(r1.experts, 4);
    const [ops] = dwdpPrograms(
      c,
      [0, 1, 2, 3],
      [0, 1, 2, 3].map(() => [{ lengths: [T] }]),
      { placement, contentionFix: true },
    );
    const l = r1.layers.moeLayerIndices[0];
    const at = (label: string) => ops.find((o) => o.kind === 'compute' && o.layer === l && o.label === label);
    expect(at('router logits')).toMatchObject({ category: 'dense', durationMs: c.routerLogitsMs(T) });
    expect(at('router top-k')).toMatchObject({ category: 'router', durationMs: c.routerSelectMs(T) });
    expect(CATEGORIES.dense.breakdown).toBe('denseGemm');
    expect(CATEGORIES.router.breakdown).toBe('others');
  });

  it('routed experts: 2·slots·3·H·F FLOPs and the weight bytes of the touched experts', () => {
    const slots = rng.int(100000);
    const touched = rng.uniform(0, 256);
    const w = expertGemmWork(r1, slots, touched, 1000, 'fp4');
    expect(w.flops).toBe(2 * slots * 3 * 7168 * 2048);
    expect(w.bytes).toBeCloseTo(touched * 1000 + slots * (2 * 7168 + 2 * 2048) * 2, 6);
  });

  it('moves the formats module’s bytes per expert (NVFP4 ≈ 0.5625 B/param ≈ 24.8 MB)', () => {
    const c = new CostModel({ model: r1, profile: GB200_NVL72 });
    expect(c.expertBytes).toBe(expertLayout('nvfp4', 7168, 2048).bytes);
    expect(c.expertBytes / (3 * 7168 * 2048)).toBeCloseTo(0.5625, 3);
    expect(new CostModel({ model: r1, profile: GB200_NVL72, format: 'fp8' }).expertBytes).toBe(
      expertLayout('fp8', 7168, 2048).bytes,
    );
    // The link the scheduler sees: 900 GB/s · link efficiency (the profile's calibrated one), per direction.
    const link = c.link(true);
    expect(c.efficiency.link).toBe(GB200_NVL72.calibration!.efficiency.link);
    expect(link.egressGBps).toBeCloseTo(900 * c.efficiency.link, 12);
    expect(link.copyEngines).toBe(1);
    // DEP's dispatch/combine: the same link at the all-to-all's achieved fraction (calibrated: below one-sided pulls).
    expect(c.efficiency.allToAll).toBe(GB200_NVL72.calibration!.efficiency.allToAll);
    expect(c.efficiency.allToAll).toBeLessThan(c.efficiency.link);
    expect(c.link(true, 'all-to-all').egressGBps).toBeCloseTo(900 * c.efficiency.allToAll, 12);
    expect(c.link(false, 'all-to-all').ingressGBps).toBeCloseTo(900 * c.efficiency.allToAll, 12);
    expect(new CostModel({ model: r1, profile: GB200_NVL72, linkGBps: 450 }).link(false).ingressGBps).toBeCloseTo(
      450 * c.efficiency.link,
      12,
    );
  });

  it('a profile runs its calibrated efficiencies by default, the sourced defaults without a calibration, and a scenario’s on top', () => {
    const gb = new CostModel({ model: r1, profile: GB200_NVL72 });
    expect(gb.efficiency).toEqual({ ...DEFAULT_EFFICIENCY, ...GB200_NVL72.calibration!.efficiency });
    expect(gb.interference).toBe(gb.efficiency.interference);
    expect(new CostModel({ model: r1, profile: GB200_NVL72, interference: false }).interference).toBe(0);
    const h200 = H200_HGX;
    expect(h200.calibration).toBeUndefined();
    expect(new CostModel({ model: r1, profile: h200 }).efficiency).toEqual(DEFAULT_EFFICIENCY);
    expect(new CostModel({ model: r1, profile: GB200_NVL72, efficiency: { gemm: 0.5 } }).efficiency.gemm).toBe(0.5);
  });

  it('an 8K-token MoE layer on GB200: hand-computed grouped GEMM time', () => {
    const c = new CostModel({ model: r1, profile: GB200_NVL72, efficiency: { ...DEFAULT_EFFICIENCY, launchUs: 0 } });
    const T = 8192;
    const slots = T * 8;
    // All 256 experts touched. FLOPs 2·65536·3·7168·2048 = 5.772e12 at 10 PF·0.6 → 0.962 ms;
    // bytes 256·24,772,656 + 65536·18432·2 = 8.758 GB at 8 TB/s·0.8 → 1.3684 ms: memory-bound.
    const flops = 2 * slots * 3 * 7168 * 2048;
    const bytes = 256 * c.expertBytes + slots * (2 * 7168 + 2 * 2048) * 2;
    expect(c.expertGemmMs(slots, 256)).toBeCloseTo(Math.max(flops / (10e15 * 0.6), bytes / (8e12 * 0.8)) * 1e3, 9);
    expect(c.expertGemmMs(slots, 256)).toBeCloseTo(1.3684, 3);
  });
});

describe('probability helpers', () => {
  /** All K-subsets of [0, E). */
  function* subsets(E: number, K: number, start = 0, acc: number[] = []): Generator<number[]> {
    if (acc.length === K) {
      yield acc.slice();
      return;
    }
    for (let e = start; e < E; e++) {
      acc.push(e);
      yield* subsets(E, K, e + 1, acc);
      acc.pop();
    }
  }

  it('expected experts touched matches enumeration over every routing of T tokens', () => {
    for (const [E, K, T] of [
      [4, 2, 2],
      [5, 2, 3],
      [6, 3, 2],
    ]) {
      const all = [...subsets(E, K)];
      let sum = 0;
      let n = 0;
      const rec = (t: number, seen: Set<number>) => {
        if (t === T) {
          sum += seen.size;
          n++;
          return;
        }
        for (const s of all) rec(t + 1, new Set([...seen, ...s]));
      };
      rec(0, new Set());
      expect(expectedExpertsTouched(E, K, T), `E=${E} K=${K} T=${T}`).toBeCloseTo(sum / n, 12);
    }
    // A subset held by one rank scales linearly.
    expect(expectedExpertsTouched(256, 8, 100, 64)).toBeCloseTo(expectedExpertsTouched(256, 8, 100) / 4, 9);
  });

  it('token-reaches-rank probability matches enumeration', () => {
    for (const [E, K, N] of [
      [8, 3, 4],
      [12, 4, 3],
      [16, 2, 8],
    ]) {
      const per = E / N;
      let hit = 0;
      let n = 0;
      for (const s of subsets(E, K)) {
        n++;
        if (s.some((e) => e >= per && e < 2 * per)) hit++;
      }
      expect(tokenReachesRankProbability(E, K, N), `E=${E} K=${K} N=${N}`).toBeCloseTo(hit / n, 12);
    }
  });
});

describe('profiles', () => {
  it('every published profile has positive numbers and a source', () => {
    for (const p of Object.values(PROFILES)) {
      expect(p.sources.length).toBeGreaterThan(0);
      expect(p.hbmGBps).toBeGreaterThan(0);
      expect(p.linkGBpsPerDirection).toBeGreaterThan(0);
      expect(p.peakTflops.fp8).toBeGreaterThan(0);
      expect(p.measured).toBe(false);
    }
    expect(GB200_NVL72.peakTflops.fp4).toBe(2 * GB200_NVL72.peakTflops.fp8!);
  });

  it('this-device uses the measured rates with efficiency 1', () => {
    const gflops = rng.uniform(0.1, 10);
    const gbps = rng.uniform(1, 50);
    const p = thisDeviceProfile({ gemmGflops: gflops, copyGBps: gbps });
    expect(p.measured).toBe(true);
    const c = new CostModel({ model: r1, profile: p, format: 'f32' });
    expect(c.efficiency).toEqual(thisDeviceEfficiency());
    expect(c.copyMs(1e9)).toBeCloseTo((2e9 / (gbps * 1e9)) * 1e3, 9);
    expect(() => thisDeviceProfile({ gemmGflops: 0, copyGBps: 1 })).toThrow(/gemmGflops/);
  });
});

describe('calibration', () => {
  function shapes(): CalibrationSample[] {
    return [
      {
        name: 'expert-gemm',
        kind: 'expert-gemm',
        tokens: 16 + rng.int(512),
        hidden: 64 * (1 + rng.int(8)),
        expertHidden: 32 * (1 + rng.int(8)),
        experts: 8 + rng.int(56),
        topk: 1 + rng.int(8),
        format: 'f32',
        measuredMs: 1,
      },
      { name: 'gemm', kind: 'gemm', m: 1 + rng.int(512), n: 1 + rng.int(512), k: 1 + rng.int(512), measuredMs: 1 },
      { name: 'copy', kind: 'copy', bytes: 1 + rng.int(1 << 26), measuredMs: 1 },
      {
        name: 'attention',
        kind: 'attention',
        heads: 1 + rng.int(8),
        headDim: 8 * (1 + rng.int(16)),
        lengths: [1 + rng.int(300), 1 + rng.int(300)],
        measuredMs: 1,
      },
    ];
  }

  it('prices the attention stand-in as its causal FLOPs and q, k, v, o traffic (hand-checked)', () => {
    // heads 2 × headDim 8 = d 16, one request of 3 tokens: 2·3·4·16 = 384 FLOPs; 4 tensors × 3 × 16 × 4 B.
    const w = sampleWork({ name: 'a', kind: 'attention', heads: 2, headDim: 8, lengths: [3], measuredMs: 1 });
    expect(w.flops).toBe(384);
    expect(w.bytes).toBe(4 * 3 * 16 * 4);
    expect(() =>
      parseCalibration({
        device: { gemmGflops: 1, copyGBps: 1 },
        samples: [{ kind: 'attention', heads: 1, headDim: 8, lengths: [], measuredMs: 1 }],
      }),
    ).toThrow(/samples\[0\]\.lengths/);
  });

  it('recovers a uniform slowdown exactly and reports its spread', () => {
    const device = { gemmGflops: rng.uniform(0.2, 5), copyGBps: rng.uniform(1, 20) };
    const k = rng.uniform(1.1, 4);
    const prof = thisDeviceProfile(device);
    const samples = shapes().map((s) => ({
      ...s,
      measuredMs: k * rooflineMs(sampleWork(s), prof, thisDeviceEfficiency()),
    }));
    const fit = calibrate(samples, device);
    expect(fit.scale).toBeCloseTo(k, 9);
    expect(fit.spread).toBeCloseTo(1, 9);
    // One op twice as slow as the rest: the spread says so.
    samples[0] = { ...samples[0], measuredMs: samples[0].measuredMs * 2 };
    expect(calibrate(samples, device).spread).toBeCloseTo(2, 9);
  });

  it('prints predicted times as modeled on the profile and measured times as measured on the adapter', () => {
    const device = { gemmGflops: 51234.5, copyGBps: 1987.65, adapter: 'GPU X' };
    const fit = calibrate([{ name: 'tiny gemm', kind: 'gemm', m: 64, n: 64, k: 64, measuredMs: 0.0042 }], device);
    const text = formatCalibration(fit);
    // Rates with three significant digits, no exponent; each column says where it comes from.
    expect(text).toMatch(
      /predicted ms: MODELED \(roofline, efficiency 1\) on this device \(GPU X\): 51200 GFLOP\/s GEMM, 1990 GB\/s copy, measured/,
    );
    expect(text).toMatch(/measured ms: MEASURED, the file's timings on GPU X/);
    // A kernel time below 0.01 ms keeps its digits (not "0.00").
    expect(text).toMatch(/tiny gemm\s+memory\s+0\.000\d+\s+0\.0042\s/);
  });

  it('parses the calibration file and names bad fields', () => {
    const parsed = parseCalibration({
      device: { gemmGflops: 1, copyGBps: 2 },
      samples: [{ kind: 'copy', bytes: 100, measuredMs: 1 }],
    });
    expect(parsed.samples[0]).toMatchObject({ kind: 'copy', bytes: 100 });
    expect(() => parseCalibration({ device: { gemmGflops: 1 }, samples: [] })).toThrow(/device.copyGBps/);
    expect(() =>
      parseCalibration({
        device: { gemmGflops: 1, copyGBps: 1 },
        samples: [{ kind: 'gemm', m: 1, n: 1, measuredMs: 1 }],
      }),
    ).toThrow(/samples\[0\]\.k/);
    expect(() =>
      parseCalibration({ device: { gemmGflops: 1, copyGBps: 1 }, samples: [{ kind: 'fft', measuredMs: 1 }] }),
    ).toThrow(/samples\[0\]\.kind/);
  });
});
