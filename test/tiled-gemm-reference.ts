// The rack model's tiled grouped-GEMM roofline written out from its definition (not through the
// cost model), for DeepSeek-R1 on gb200-nvl72 with nvfp4 experts: each expert's slots padded to
// whole tiles of GROUPED_GEMM_TILE_M rows for the FLOPs, the real slots and the touched experts'
// weights for the bytes, the slower of the two at the profile's calibrated efficiencies, plus the
// three launches. The independent reference of the rack-model tests that size grouped GEMMs.
import { profileEfficiency } from '../src/hardware/efficiency.ts';
import { DEFAULT_PRECISION } from '../src/hardware/precision.ts';
import { GB200_NVL72 } from '../src/hardware/profiles.ts';
import { loadPreset } from '../src/model/presets.ts';
import type { CostModel } from '../src/sim/cost-model.ts';
import { GROUPED_GEMM_TILE_M } from '../src/sim/routing.ts';

const r1 = loadPreset('deepseek-r1');

/** The tiled roofline of a grouped GEMM of R1 on gb200-nvl72: slots per expert, expected touched experts (ms). */
export function tiledGemmMs(cost: CostModel, slots: ArrayLike<number>, touched: number): number {
  let real = 0;
  let padded = 0;
  for (let e = 0; e < slots.length; e++)
    if (slots[e] > 0) {
      real += slots[e];
      padded += Math.ceil(slots[e] / GROUPED_GEMM_TILE_M - 1e-9) * GROUPED_GEMM_TILE_M;
    }
  const H = r1.hidden;
  const F = r1.expertHidden;
  const flops = 2 * padded * 3 * H * F;
  const bytes = touched * cost.expertBytes + real * (2 * H + 2 * F) * DEFAULT_PRECISION.activationBytes;
  const eff = profileEfficiency(GB200_NVL72); // the profile's (calibrated) efficiencies, as the cost model runs them
  return (
    Math.max(
      flops / (GB200_NVL72.peakTflops.fp4! * 1e9 * eff.groupedGemm),
      bytes / (GB200_NVL72.hbmGBps * 1e6 * eff.memory),
    ) +
    (3 * eff.launchUs) / 1000
  );
}
