// Request streams for the rack model's serving level: lengths and arrivals, all from a seed.
//
// Lengths come from the one generator the emulation uses too (src/workload/lengths.ts); a
// stream's lengths default to the log-normal law (the scenarios' convention: positive,
// right-skewed like real prompt lengths, exactly the mean when CV = 0). Arrivals are a Poisson
// process at a given rate, or all at time 0 (a backlog, which measures capacity).

import { Rng } from '../util/random.ts';
import { sampleLength, type LengthDist } from '../workload/lengths.ts';

/** A stream's lengths: mean and CV under a law (default log-normal), or TensorRT-LLM's uniform ratio; optionally clamped. */
export type StreamLengths = (
  { law?: 'gamma' | 'lognormal'; mean: number; cv: number } | { law: 'uniform-ratio'; isl: number; islRatio: number }
) & { min?: number; max?: number };

/** The shared generator's law of a stream's lengths. */
export function streamLaw(d: StreamLengths): LengthDist {
  if (d.law === 'uniform-ratio') return { law: d.law, isl: d.isl, islRatio: d.islRatio };
  const { mean, cv } = d as { mean: number; cv: number };
  if (!(mean >= 1) || !(cv >= 0))
    throw new Error(`workload: length mean must be ≥ 1 and CV ≥ 0, got mean ${mean}, CV ${cv}`);
  return { law: d.law ?? 'lognormal', mean, cv };
}

export interface Request {
  id: number;
  arrivalMs: number;
  inputLen: number;
  outputLen: number;
}

export interface RequestStream {
  count: number;
  isl: StreamLengths;
  osl: StreamLengths;
  /** Poisson arrivals at this rate (requests/s); absent or 0: all arrive at t = 0. */
  arrivalRatePerS?: number;
  seed: number;
}

export function generateRequests(s: RequestStream): Request[] {
  const root = new Rng(s.seed);
  const lens = root.fork('isl');
  const outs = root.fork('osl');
  const gaps = root.fork('arrivals');
  const rate = s.arrivalRatePerS ?? 0;
  const isl = streamLaw(s.isl);
  const osl = streamLaw(s.osl);
  let t = 0;
  const out: Request[] = [];
  for (let id = 0; id < s.count; id++) {
    if (rate > 0) t += (-Math.log(1 - gaps.next()) / rate) * 1000;
    out.push({ id, arrivalMs: t, inputLen: sampleLength(lens, isl, s.isl), outputLen: sampleLength(outs, osl, s.osl) });
  }
  return out;
}
