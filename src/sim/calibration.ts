// Calibration: the cost model's prediction for ops the emulation runs here, on the
// 'this-device' profile built from measured GEMM throughput and copy bandwidth, next to the
// times the GPU timestamps measured for them, and the fit.
//
// Input is plain data, so the lead can feed kernel timings from the lab or the emulation
// (`npm run sim -- --calibrate samples.json`):
//   { "device": { "gemmGflops": 0.6, "copyGBps": 4.1, "adapter": "SwiftShader" },
//     "samples": [ { "name": "expert-gemm T256", "kind": "expert-gemm", "tokens": 256,
//                    "hidden": 512, "expertHidden": 256, "experts": 32, "topk": 4,
//                    "format": "f32", "measuredMs": 41.2 },
//                  { "name": "copy 64MiB", "kind": "copy", "bytes": 67108864, "measuredMs": 30.1 },
//                  { "name": "dense 512³", "kind": "gemm", "m": 512, "n": 512, "k": 512, "measuredMs": 0.4 },
//                  { "name": "attention", "kind": "attention", "heads": 4, "headDim": 64, "lengths": [256, 128], "measuredMs": 9.5 } ] }
// Fit: measured ≈ k × predicted with k the geometric mean of the ratios (a least-squares fit in
// log space); the spread (max ratio ÷ min ratio) says how well one scale explains all ops.

import type { MoeConfig } from '../model/config.ts';
import { expertLayout, parseWeightFormat, type WeightFormat } from '../model/formats.ts';
import { attentionFlops } from '../kernels/attention.ts';
import { parseJsonText } from '../util/json.ts';
import { copyWork, expectedExpertsTouched, expertGemmWork, rooflineMs, type OpWork } from './cost-model.ts';
import { thisDeviceEfficiency } from '../hardware/efficiency.ts';
import type { CalibrationSample } from '../hardware/calibration-sample.ts';
import { thisDeviceProfile, type HardwareProfile, type MeasuredDevice } from '../hardware/profiles.ts';

export interface CalibrationRow {
  name: string;
  predictedMs: number;
  measuredMs: number;
  /** measured ÷ predicted */
  ratio: number;
  bound: 'compute' | 'memory';
}

export interface CalibrationFit {
  /** The 'this-device' profile the predictions are modeled on, and the measured rates it was built from. */
  profile: HardwareProfile;
  device: MeasuredDevice;
  rows: CalibrationRow[];
  /** Geometric mean of measured ÷ predicted. */
  scale: number;
  /** max ratio ÷ min ratio (1 = one scale explains every op). */
  spread: number;
}

/** The work the cost model assigns to a sample. */
export function sampleWork(s: CalibrationSample): OpWork {
  switch (s.kind) {
    case 'expert-gemm': {
      const bytes = expertLayout(s.format, s.hidden, s.expertHidden).bytes;
      const shape = { hidden: s.hidden, expertHidden: s.expertHidden } as MoeConfig;
      // f32 activations on the emulated device
      return expertGemmWork(
        shape,
        s.tokens * s.topk,
        expectedExpertsTouched(s.experts, s.topk, s.tokens),
        bytes,
        'fp32',
        4,
      );
    }
    case 'gemm':
      return {
        flops: 2 * s.m * s.n * s.k,
        bytes: 4 * (s.m * s.k + s.k * s.n + s.m * s.n),
        precision: 'fp32',
        kind: 'gemm',
        kernels: 1,
      };
    case 'copy':
      return copyWork(s.bytes);
    case 'attention': {
      // QKᵀ and PV over the causal triangle; q, k, v read and o written once, in f32.
      const d = s.heads * s.headDim;
      const tokens = s.lengths.reduce((a, b) => a + b, 0);
      return {
        flops: attentionFlops(s.lengths, d),
        bytes: 4 * 4 * tokens * d,
        precision: 'fp32',
        kind: 'attention',
        kernels: 1,
      };
    }
  }
}

export function calibrate(samples: readonly CalibrationSample[], device: MeasuredDevice): CalibrationFit {
  if (samples.length === 0) throw new Error('calibration: no samples');
  const profile = thisDeviceProfile(device);
  const eff = thisDeviceEfficiency();
  const rows = samples.map((s): CalibrationRow => {
    if (!(s.measuredMs > 0)) throw new Error(`calibration: sample '${s.name}' needs measuredMs > 0`);
    const w = sampleWork(s);
    const predictedMs = rooflineMs(w, profile, eff);
    const tC = w.flops / (profile.peakTflops.fp32! * 1e9);
    const tM = w.bytes / (profile.hbmGBps * 1e6);
    return {
      name: s.name,
      predictedMs,
      measuredMs: s.measuredMs,
      ratio: s.measuredMs / predictedMs,
      bound: tC >= tM ? 'compute' : 'memory',
    };
  });
  const logs = rows.map((r) => Math.log(r.ratio));
  const scale = Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length);
  const spread = Math.max(...rows.map((r) => r.ratio)) / Math.min(...rows.map((r) => r.ratio));
  return { profile, device, rows, scale, spread };
}

/** Samples and device from the JSON format above; errors name the field. */
/**
 * A calibration file's text (a UTF-8 byte-order mark is accepted): `file` names it in every
 * error, e.g. "--calibrate results/lab-calibration.json".
 */
export function parseCalibrationText(
  text: string,
  file: string,
): { device: MeasuredDevice; samples: CalibrationSample[] } {
  return parseCalibration(parseJsonText(text, file), file);
}

export function parseCalibration(
  json: unknown,
  file = 'calibration file',
): { device: MeasuredDevice; samples: CalibrationSample[] } {
  const j = json as { device?: Record<string, unknown>; samples?: unknown[] };
  if (!j || typeof j !== 'object' || !j.device || typeof j.device !== 'object' || !Array.isArray(j.samples))
    throw new Error(`${file}: expected {"device": {...}, "samples": [...]}`);
  const num = (o: Record<string, unknown>, k: string, where: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !(v > 0))
      throw new Error(`${file}: ${where}.${k} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const device: MeasuredDevice = {
    gemmGflops: num(j.device, 'gemmGflops', 'device'),
    copyGBps: num(j.device, 'copyGBps', 'device'),
    ...(j.device.adapter ? { adapter: String(j.device.adapter) } : {}),
  };
  const samples = j.samples.map((x, i): CalibrationSample => {
    const where = `samples[${i}]`;
    if (!x || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${file}: ${where} must be an object`);
    const o = x as Record<string, unknown>;
    const name = String(o.name ?? `${o.kind} ${i}`);
    const measuredMs = num(o, 'measuredMs', where);
    switch (o.kind) {
      case 'expert-gemm':
        return {
          name,
          kind: 'expert-gemm',
          tokens: num(o, 'tokens', where),
          hidden: num(o, 'hidden', where),
          expertHidden: num(o, 'expertHidden', where),
          experts: num(o, 'experts', where),
          topk: num(o, 'topk', where),
          format: formatOf(o.format, `${file}: ${where}.format`),
          measuredMs,
        };
      case 'gemm':
        return { name, kind: 'gemm', m: num(o, 'm', where), n: num(o, 'n', where), k: num(o, 'k', where), measuredMs };
      case 'copy':
        return { name, kind: 'copy', bytes: num(o, 'bytes', where), measuredMs };
      case 'attention': {
        const lengths = o.lengths;
        if (!Array.isArray(lengths) || lengths.length === 0 || !lengths.every((l) => Number.isInteger(l) && l > 0)) {
          throw new Error(`${file}: ${where}.lengths must be a non-empty list of positive integers`);
        }
        return {
          name,
          kind: 'attention',
          heads: num(o, 'heads', where),
          headDim: num(o, 'headDim', where),
          lengths: lengths as number[],
          measuredMs,
        };
      }
      default:
        throw new Error(
          `${file}: ${where}.kind must be expert-gemm, gemm, copy or attention, got ${JSON.stringify(o.kind)}`,
        );
    }
  });
  return { device, samples };
}

function formatOf(v: unknown, where: string): WeightFormat {
  try {
    return parseWeightFormat(String(v ?? 'f32'));
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
  }
}
