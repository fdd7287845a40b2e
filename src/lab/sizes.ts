// What a lab problem allocates and computes, estimated from its shape before prepare() makes
// a single random number: every buffer (host typed arrays, GPU buffers) with the flag that
// sizes it, the float64 reference's multiply-adds on the CPU, and the timed repetitions.
// checkLabSizes refuses a shape past host memory, the engine's typed-array limit, the
// device's buffer limits, or the bounds below — naming the flag, the size and the limit.
// The CLI, the sweep, the calibration and the page's lab all pass through runLab/sweepLab,
// which call it first.
import {
  MAX_REFERENCE_MACS,
  checkCount,
  checkHostSizes,
  deviceNeeds,
  resolveLimits,
  type Gpu,
  type SizeItem,
} from '../gpu/index.ts';
import { expertLayout } from '../model/formats.ts';
import type { LabKernelName, LabShape } from './types.ts';

export { MAX_REFERENCE_MACS };
/** Timed runs (and warm-ups) of one measurement; more says nothing a median of 1000 does not. */
export const MAX_RUNS = 1000;
export const MAX_WARMUP = 100;

export interface LabEstimate {
  items: SizeItem[];
  /** Multiply-adds of the float64 reference check (and of the host-side data generation). */
  referenceMacs: number;
  /** The shape flags that drive referenceMacs, for the message. */
  referenceWhy: string;
}

/** The shape flags as the lab CLI spells them. */
const flag = (s: LabShape, key: keyof LabShape): string => {
  const name = { expertHidden: 'expert-hidden', topK: 'topk', headDim: 'head-dim' }[key as string] ?? key;
  const v = s[key];
  return `--${name} ${Array.isArray(v) ? v.join(',') : v}`;
};

function expertBytes(s: LabShape): number {
  try {
    return expertLayout(s.format, s.hidden, s.expertHidden).bytes;
  } catch {
    return 3 * s.hidden * s.expertHidden * 4; // the layout refuses the sizes itself, with its own message
  }
}

/** Buffers and reference work of `kernel` at `shape` (undefined mib: the adapter's default, at most 256 MiB). */
export function labEstimate(kernel: LabKernelName, s: LabShape): LabEstimate {
  const f = (k: keyof LabShape) => flag(s, k);
  const { tokens: T, hidden: H, expertHidden: F, experts: E, topK: K } = s;
  const rows = T * K;
  switch (kernel) {
    case 'router':
      return {
        items: [
          { why: `router inputs (${f('tokens')} × ${f('hidden')})`, bytes: 4 * T * H, where: 'both' },
          { why: `router weights (${f('experts')} × ${f('hidden')})`, bytes: 4 * E * H, where: 'both' },
          {
            why: `router scores of the reference (${f('tokens')} × ${f('experts')})`,
            bytes: 8 * T * E,
            where: 'host',
            elementBytes: 8,
          },
          { why: `routing outputs (${f('tokens')} × ${f('topK')})`, bytes: 4 * rows, where: 'both', count: 2 },
        ],
        referenceMacs: T * E * H,
        referenceWhy: `${f('tokens')} × ${f('experts')} × ${f('hidden')}`,
      };
    case 'permute':
      return {
        items: [
          { why: `(token, slot) pairs (${f('tokens')} × ${f('topK')})`, bytes: 4 * rows, where: 'both', count: 3 },
        ],
        referenceMacs: rows,
        referenceWhy: `${f('tokens')} × ${f('topK')}`,
      };
    case 'expert-gemm': {
      const eb = expertBytes(s);
      return {
        items: [
          {
            why: `packed expert weights (${f('experts')} × ${eb} B per expert in ${s.format}; ${f('hidden')}, ${f('expertHidden')})`,
            bytes: E * eb,
            where: 'both',
          },
          {
            why: `decoded expert weights for the reference (${f('experts')} × 3 × ${f('hidden')} × ${f('expertHidden')})`,
            bytes: 4 * H * F,
            where: 'host',
            count: 3 * E,
          },
          { why: `GEMM inputs (${f('tokens')} × ${f('hidden')})`, bytes: 4 * T * H, where: 'both' },
          {
            why: `GEMM activations h (${f('tokens')} × ${f('topK')} × ${f('expertHidden')})`,
            bytes: 4 * rows * F,
            where: 'both',
          },
          {
            why: `GEMM outputs y (${f('tokens')} × ${f('topK')} × ${f('hidden')})`,
            bytes: 4 * rows * H,
            where: 'both',
          },
        ],
        // Weight generation and decode touch every weight; the reference checks at most all rows.
        referenceMacs: 3 * E * H * F + Math.min(rows, Math.max(64, 5e7 / (3 * H * F))) * 3 * H * F,
        referenceWhy: `${f('experts')} × ${f('hidden')} × ${f('expertHidden')}`,
      };
    }
    case 'combine':
      return {
        items: [
          {
            why: `expert outputs y (${f('tokens')} × ${f('topK')} × ${f('hidden')})`,
            bytes: 4 * rows * H,
            where: 'both',
          },
          {
            why: `token rows (${f('tokens')} × ${f('hidden')}): shared, x and out`,
            bytes: 4 * T * H,
            where: 'both',
            count: 3,
          },
          {
            why: `the reference output (${f('tokens')} × ${f('hidden')}, float64)`,
            bytes: 8 * T * H,
            where: 'host',
            elementBytes: 8,
          },
        ],
        referenceMacs: rows * H + 2 * T * H,
        referenceWhy: `${f('tokens')} × ${f('topK')} × ${f('hidden')}`,
      };
    case 'attention': {
      const S = s.lengths.reduce((a, b) => a + b, 0);
      const d = s.heads * s.headDim;
      const tokensWhy = `Σ ${f('lengths')} = ${S} tokens × ${f('heads')} × ${f('headDim')}`;
      return {
        items: [
          { why: `attention q, k, v, out (${tokensWhy})`, bytes: 4 * S * d, where: 'both', count: 4 },
          { why: `the reference output (${tokensWhy}, float64)`, bytes: 8 * S * d, where: 'host', elementBytes: 8 },
        ],
        referenceMacs: s.lengths.reduce((a, len) => a + len * (len + 1), 0) * d,
        referenceWhy: `Σ len·(len+1) over ${f('lengths')} × ${f('heads')} × ${f('headDim')}`,
      };
    }
    case 'decode': {
      const eb = expertBytes(s);
      return {
        items: [
          { why: `packed experts (${f('experts')} × ${eb} B in ${s.format})`, bytes: E * (eb + 256), where: 'both' },
          {
            why: `decoded experts (${f('experts')} × 3 × ${f('hidden')} × ${f('expertHidden')})`,
            bytes: 4 * 3 * E * H * F,
            where: 'host',
            count: 2,
          },
          { why: `one decoded matrix (${f('hidden')} × ${f('expertHidden')})`, bytes: 4 * H * F, where: 'device' },
        ],
        referenceMacs: 3 * E * H * F,
        referenceWhy: `${f('experts')} × 3 × ${f('hidden')} × ${f('expertHidden')}`,
      };
    }
    case 'copy': {
      const bytes = (s.mib ?? 256) * 2 ** 20;
      const why = s.mib === undefined ? 'the default copy (256 MiB at most)' : `the copy (${f('mib')})`;
      return {
        items: [
          { why, bytes, where: 'both', count: 2 },
          { why: `${why}, read back`, bytes, where: 'host' },
        ],
        referenceMacs: bytes / 4,
        referenceWhy: f('mib'),
      };
    }
    case 'peak':
      return { items: [], referenceMacs: 0, referenceWhy: '' };
  }
}

/**
 * Refuses a lab run that cannot finish: host memory and typed arrays, the device's buffer
 * limits, the reference's CPU work, and the number of timed runs and warm-ups.
 */
export function checkLabSizes(
  gpu: Gpu | undefined,
  kernel: LabKernelName,
  shape: LabShape,
  counts: { runs?: number; warmup?: number } = {},
): void {
  if (counts.runs !== undefined) checkCount('--runs', counts.runs, MAX_RUNS, 'timed runs');
  if (counts.warmup !== undefined) checkCount('--warmup', counts.warmup, MAX_WARMUP, 'warm-up runs');
  const e = labEstimate(kernel, shape);
  checkHostSizes(e.items);
  if (gpu) resolveLimits(gpu.device.limits, deviceNeeds(e.items));
  checkCount(
    `the ${kernel} reference check (${e.referenceWhy})`,
    e.referenceMacs,
    MAX_REFERENCE_MACS,
    'float64 multiply-adds',
    'about a minute of CPU time; choose a smaller shape',
  );
}
