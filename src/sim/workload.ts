// Request lengths and arrivals for the rack model, all from a seed.
//
// Lengths follow a log-normal distribution with the given mean and coefficient of variation
// (CV = std/mean): positive, right-skewed like real prompt lengths, and exactly the constant
// mean when CV = 0. Arrivals are a Poisson process at a given rate, or all at time 0 (a
// backlog, which measures capacity).

import { Rng } from '../util/random.ts';

export interface LengthDist {
  mean: number;
  /** Coefficient of variation (std / mean), ≥ 0. */
  cv: number;
  /** Clamp (default 1 and Infinity). */
  min?: number;
  max?: number;
}

/** One length, rounded to an integer in [min, max]. */
export function sampleLength(rng: Rng, d: LengthDist): number {
  if (!(d.mean >= 1) || !(d.cv >= 0))
    throw new Error(`workload: length mean must be ≥ 1 and CV ≥ 0, got mean ${d.mean}, CV ${d.cv}`);
  let x = d.mean;
  if (d.cv > 0) {
    const s2 = Math.log(1 + d.cv * d.cv);
    x = Math.exp(Math.log(d.mean) - s2 / 2 + Math.sqrt(s2) * rng.normal());
  }
  return Math.min(d.max ?? Infinity, Math.max(d.min ?? 1, Math.round(x)));
}

export interface Request {
  id: number;
  arrivalMs: number;
  inputLen: number;
  outputLen: number;
}

export interface RequestStream {
  count: number;
  isl: LengthDist;
  osl: LengthDist;
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
  let t = 0;
  const out: Request[] = [];
  for (let id = 0; id < s.count; id++) {
    if (rate > 0) t += (-Math.log(1 - gaps.next()) / rate) * 1000;
    out.push({ id, arrivalMs: t, inputLen: sampleLength(lens, s.isl), outputLen: sampleLength(outs, s.osl) });
  }
  return out;
}
