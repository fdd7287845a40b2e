// What a configuration or a result does not say by itself, in words: the caveats the page
// shows beside the Run button and on the result cards.
//
//   profile/link mismatch  the Link field names one machine's link, the Hardware profile
//                          another's (an H100 profile with a GB200 link): the numbers then
//                          describe a machine that does not exist.
//   no FP4 math            NVFP4 weights on a profile without FP4 tensor cores: the model
//                          expands them and multiplies in FP8 (cost-model expertMathPrecision),
//                          so the step runs at FP8's rate and only the bytes moved are NVFP4's.
//   does not fit           a modeled strategy whose weights + KV cache per GPU exceed the
//                          profile's HBM (the rack model's `fits`, src/sim/experiment.ts).
//
// Pure module (Node and browser).
import { expertMathPrecision } from '../hardware/precision.ts';
import { getProfile, type HardwareProfile } from '../hardware/profiles.ts';
import { formatBytes } from '../report/units.ts';
import type { PageConfig } from './config.ts';
import type { Capacity } from './modeled.ts';

export interface Caveat {
  /** Stable key (tests and CSS): 'link-mismatch', 'no-fp4', 'no-fit'. */
  kind: 'link-mismatch' | 'no-fp4' | 'no-fit';
  text: string;
}

function profileOrNull(id: string | null | undefined): HardwareProfile | null {
  if (!id || id === 'custom' || id === 'off') return null;
  try {
    return getProfile(id);
  } catch {
    return null;
  }
}

/**
 * Caveats of a configuration before it runs. `linkProfile` is the Link field's value (a profile
 * id or 'custom'): the parsed config keeps only its numbers.
 */
export function configCaveats(c: PageConfig, linkProfile: string): Caveat[] {
  const out: Caveat[] = [];
  const hw = profileOrNull(c.profile);
  const link = profileOrNull(linkProfile);
  const reads = c.source === 'modeled' ? 'the modeled hardware' : 'the time dilation target';
  if (hw && link && hw.id !== link.id)
    out.push({
      kind: 'link-mismatch',
      text:
        `the link is ${link.name}'s (${link.linkGBpsPerDirection} GB/s per direction) but the hardware profile ` +
        `(${reads}) is ${hw.name} (${hw.linkGBpsPerDirection} GB/s): the numbers mix two machines — ` +
        `set Link to “${hw.name} link” or the profile to ${link.id}`,
    });
  if (hw && c.run.format === 'nvfp4' && expertMathPrecision('nvfp4', hw) !== 'fp4')
    out.push({
      kind: 'no-fp4',
      text:
        `${hw.name} has no FP4 tensor cores: NVFP4 experts are expanded and multiplied in FP8 ` +
        `(${hw.peakTflops.fp8 ?? '?'} TFLOP/s), so only the bytes pulled are NVFP4's`,
    });
  return out;
}

/** The "does not fit" caveat of a modeled strategy, or null when it fits (or was not checked). */
export function capacityCaveat(strategy: string, cap: Capacity | undefined): Caveat | null {
  if (!cap || cap.fits) return null;
  return {
    kind: 'no-fit',
    text:
      `${strategy.toUpperCase()} does not fit: ${formatBytes(cap.neededBytes)} per GPU (${cap.what}) ` +
      `against ${formatBytes(cap.capacityBytes)} (${(cap.capacityBytes / 1e9).toFixed(0)} GB) of HBM on ${cap.profile}`,
  };
}
