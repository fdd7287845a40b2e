// A calibration sample: one op measured on this device, in the plain-data form the lab writes
// (src/lab/calibrate.ts) and the rack model's calibration reads (src/sim/calibration.ts). It
// sits here, below both, so the measuring side and the modeling side share the type without
// importing each other.

import type { WeightFormat } from '../model/formats.ts';

export type CalibrationSample =
  | {
      name: string;
      kind: 'expert-gemm';
      tokens: number;
      hidden: number;
      expertHidden: number;
      experts: number;
      topk: number;
      format: WeightFormat;
      measuredMs: number;
    }
  | { name: string; kind: 'gemm'; m: number; n: number; k: number; measuredMs: number }
  | { name: string; kind: 'copy'; bytes: number; measuredMs: number }
  /** Causal attention core over requests of `lengths` with heads × headDim (the emulation's stand-in). */
  | { name: string; kind: 'attention'; heads: number; headDim: number; lengths: number[]; measuredMs: number };
