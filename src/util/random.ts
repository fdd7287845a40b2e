// Seeded pseudo-random numbers: everything generated (weights, inputs, workloads) is
// reproducible from a seed. SplitMix32-style mixing keeps nearby seeds uncorrelated.

/** The largest seed: `Rng` reads a seed as 32 bits (`seed >>> 0`), so larger ones would alias smaller ones. */
export const MAX_SEED = 2 ** 32 - 1;

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = hash32(seed >>> 0) ^ 0x9e3779b9;
  }

  /** Independent stream for a named purpose, so adding draws in one place leaves others unchanged. */
  fork(name: string): Rng {
    let h = this.state;
    for (let i = 0; i < name.length; i++) h = hash32(h ^ name.charCodeAt(i));
    return new Rng(h);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return hash32(this.state) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Float32Array of n normals scaled by `std`. */
  normals(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * std;
    return out;
  }
}

function hash32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
