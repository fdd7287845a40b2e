// The decode step of the generation pool against a term-by-term float64 hand computation
// (test/decode-hand.ts: DeepSeek-R1's config.json, the GB200 NVL72 peaks, every op's FLOPs and
// bytes written out): at the reproduction's five generation deployments with the calibrated
// efficiencies, and at fresh random deployments with random efficiencies and generation parameters.
import { describe, expect, it } from 'vitest';
import { CostModel } from '../src/sim/cost-model.ts';
import {
  DEFAULT_GENERATION_PARAMS,
  FLASHMLA_DECODE_EFFICIENCY,
  busiestContext,
  decodeContextLengths,
  decodeStep,
  type GenerationParams,
} from '../src/sim/e2e/generation.ts';
import { deepseekR1 } from '../src/sim/experiment.ts';
import { GB200_NVL72, getProfile } from '../src/hardware/profiles.ts';
import { Rng } from '../src/util/random.ts';
import { HAND_DECODE_ATTENTION_EFFICIENCY, handDecodeStep, type HandInputs } from './decode-hand.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;
const r1 = deepseekR1();

const TERMS = ['attention', 'moe', 'communication', 'dense', 'floor', 'mtp'] as const;

function handInputs(cost: CostModel, g: GenerationParams): HandInputs {
  // Absent, the draft head's split is bounded by the GPUs of a GB200 NVL72 compute tray: 4, and the
  // attention core runs at the measured FP8 MLA decode kernel's fraction of GB200's FP8 peak.
  return {
    eff: cost.efficiency,
    ...g,
    lmHeadTpGpus: g.lmHeadTpGpus ?? 4,
    decodeAttentionEfficiency: g.decodeAttentionEfficiency ?? HAND_DECODE_ATTENTION_EFFICIENCY,
  };
}

/** decodeStep's breakdown and step against the hand computation, each term to 1e-9 relative (absolute where 0). */
function expectMatches(
  cost: CostModel,
  g: GenerationParams,
  G: number,
  b: number,
  m: number,
  eplb: boolean,
  ctx: { mean: number; sd: number },
  what: string,
) {
  const s = decodeStep(cost, { ep: G, batch: b, mtp: m, eplb }, b, ctx, g);
  const h = handDecodeStep(G, b, m, eplb, busiestContext(ctx, b, G), handInputs(cost, g));
  for (const k of TERMS) {
    const want = h[k];
    if (want === 0) expect(s.breakdown[k], tag(`${what}: ${k}`)).toBeLessThan(1e-12);
    else expect(s.breakdown[k] / want, tag(`${what}: ${k} ${s.breakdown[k]} vs ${want}`)).toBeCloseTo(1, 9);
  }
  expect(s.breakdown.overhead).toBe(g.stepOverheadUs / 1000);
  expect(s.stepMs / (h.stepMs + g.stepOverheadUs / 1000), tag(`${what}: step`)).toBeCloseTo(1, 9);
}

describe('decode step against the hand computation', () => {
  it('matches term by term at the reproduction’s generation deployments (GB200 NVL72, Table 3 calibration)', () => {
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    // ISL 8192 at ratio 0.8, OSL 1024: inputs uniform in [6553.6, 8192] plus the place in the decode.
    const ctx = decodeContextLengths(0.8 * 8192, 8192, 1024);
    expect(ctx.mean).toBeCloseTo((0.8 * 8192 + 8192) / 2 + 512, 9);
    const deployments: [number, number, number, boolean][] = [
      [8, 256, 1, true],
      [8, 128, 1, false],
      [16, 64, 1, true],
      [16, 32, 3, true],
      [32, 2, 3, false],
    ];
    for (const [G, b, m, eplb] of deployments)
      expectMatches(cost, DEFAULT_GENERATION_PARAMS, G, b, m, eplb, ctx, `EP${G} b${b} MTP${m}${eplb ? ' EPLB' : ''}`);
  });

  it('matches term by term at random deployments, efficiencies and generation parameters', () => {
    for (let trial = 0; trial < 60; trial++) {
      const efficiency = {
        gemm: rng.uniform(0.2, 1),
        groupedGemm: rng.uniform(0.1, 1),
        memory: rng.uniform(0.3, 1),
        allToAll: rng.uniform(0.3, 1),
        launchUs: rng.uniform(0, 10),
        othersPasses: rng.uniform(1, 40),
      };
      const cost = new CostModel({ model: r1, profile: GB200_NVL72, efficiency });
      const g: GenerationParams = {
        ...DEFAULT_GENERATION_PARAMS,
        decodeAttentionEfficiency: rng.uniform(0.1, 1),
        // Floors from none to binding at every batch here.
        minLayerUs: rng.next() < 0.3 ? 0 : rng.uniform(0, 3000),
        mtpPassUs: rng.next() < 0.3 ? 0 : rng.uniform(0, 3000),
        dispatchUs: rng.uniform(0, 60),
        combineUs: rng.uniform(0, 60),
        noEplbSkew: rng.uniform(1, 2),
        lmHeadTpGpus: [1, 2, 4, 8][rng.int(4)],
        stepOverheadUs: rng.uniform(0, 500),
      };
      const G = [1, 2, 4, 8, 16, 32, 64][rng.int(7)];
      const b = 1 + rng.int(512);
      const m = rng.int(4);
      const eplb = rng.next() < 0.5;
      const ctx = { mean: rng.uniform(100, 32000), sd: rng.uniform(0, 3000) };
      expectMatches(cost, g, G, b, m, eplb, ctx, `trial ${trial}: EP${G} b${b} MTP${m} eplb ${eplb}`);
    }
  });

  it("bounds the draft head's split by the profile's GPUs per node unless lmHeadTpGpus is set", () => {
    // At 32 draft positions TensorRT-LLM's rule asks for 8 GPUs: a GB200 tray allows 4, an HGX board 8.
    const free = { ...DEFAULT_GENERATION_PARAMS, minLayerUs: 0, mtpPassUs: 0 };
    const cfg = { ep: 16, batch: 32, mtp: 1, eplb: true };
    for (const id of ['gb200-nvl72', 'b200-hgx'] as const) {
      const profile = getProfile(id);
      const cost = new CostModel({ model: r1, profile });
      const mtp = (n?: number) => decodeStep(cost, cfg, 32, 8000, { ...free, lmHeadTpGpus: n }).breakdown.mtp;
      expect(mtp(), id).toBe(mtp(profile.gpusPerNode));
      expect(mtp(4), id).not.toBe(mtp(8));
    }
    expect(getProfile('gb200-nvl72').gpusPerNode).toBe(4);
    expect(getProfile('b200-hgx').gpusPerNode).toBe(8);
  });

  it('runs the attention core at the measured Blackwell FP8 MLA kernel rate on Blackwell profiles, FlashMLA on Hopper', () => {
    // The measured rate in FLOP/s (the hand derivation), carried over to every Blackwell profile as
    // a fraction of its own FP8 peak; the Hopper profiles keep FlashMLA's 660 of 990.
    const rate = HAND_DECODE_ATTENTION_EFFICIENCY * 5e15;
    expect(rate / 1e12, 'the published runs: 2.068 and 2.354 PFLOP/s, mean 2.211').toBeCloseTo(2210.65, 1);
    const want: Record<string, number> = {
      'gb200-nvl72': rate / 5e15,
      'gb300-nvl72': rate / 5e15,
      'b200-hgx': rate / 4.5e15,
      'h200-hgx': 660 / 990,
      'h100-hgx': 660 / 990,
    };
    const cfg = { ep: 8, batch: 64, mtp: 1, eplb: true };
    for (const [id, eff] of Object.entries(want)) {
      const cost = new CostModel({ model: r1, profile: getProfile(id) });
      const S = rng.uniform(2000, 16000);
      const core = (g: GenerationParams) => decodeStep(cost, cfg, 64, S, g).breakdown.attention;
      expect(
        core(DEFAULT_GENERATION_PARAMS) / core({ ...DEFAULT_GENERATION_PARAMS, decodeAttentionEfficiency: eff }),
        tag(`${id} S ${S}`),
      ).toBeCloseTo(1, 12);
      // A set value wins over the profile's.
      const other = eff > 0.5 ? 0.3 : 0.7;
      expect(core({ ...DEFAULT_GENERATION_PARAMS, decodeAttentionEfficiency: other }), id).not.toBeCloseTo(
        core(DEFAULT_GENERATION_PARAMS),
        6,
      );
    }
    expect(FLASHMLA_DECODE_EFFICIENCY).toBe(660 / 990);
  });

  it('stops on a decodeAttentionEfficiency outside (0, 1] with one message naming the key and the default', () => {
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    const cfg = { ep: 8, batch: 64, mtp: 1, eplb: true };
    for (const bad of [0, -0.2, 1.5, Number.NaN])
      expect(
        () => decodeStep(cost, cfg, 64, 8000, { ...DEFAULT_GENERATION_PARAMS, decodeAttentionEfficiency: bad }),
        String(bad),
      ).toThrow(/generation\.decodeAttentionEfficiency must be in \(0, 1\].*gb200-nvl72's default 0\.442/);
  });

  it('reads the whole BF16 main LM head on every GPU: the step at batch 1 holds at least its 1.85 GB', () => {
    // H·V·2 bytes = 7168 · 129280 · 2 = 1.853 GB at memory × 8 TB/s, whatever the EP size.
    const cost = new CostModel({ model: r1, profile: GB200_NVL72 });
    for (const G of [8, 16, 32, 64]) {
      const s = decodeStep(cost, { ep: G, batch: 1, mtp: 0, eplb: true }, 1, 8000);
      const floor = ((7168 * 129280 * 2) / (8000e9 * cost.efficiency.memory)) * 1e3;
      expect(s.breakdown.dense, tag(`EP${G}`)).toBeGreaterThan(floor);
    }
  });
});
