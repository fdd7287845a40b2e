// DWDP placement against brute force: ranges as sets (computed mod E, as the paper writes
// them), owners by scanning every rank, the pull source by an explicit nearest-owner search.
import { describe, expect, it } from 'vitest';
import {
  Placement,
  PlacementError,
  defaultPlacement,
  makePlacement,
  validPlacements,
  validatePlacement,
} from '../src/dwdp/placement.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (msg: string) => `${msg} (seed ${seed})`;

/** Validity straight from the definition. */
function bruteValid(E: number, N: number, L: number, P: number): boolean {
  if (!(Number.isInteger(L) && Number.isInteger(P) && L >= 1 && P >= 0 && L <= E)) return false;
  if (N === 1 && P !== 0) return false;
  if (N > 1 && L < P) return false;
  return L + (N - 1) * P === E;
}

function bruteOwned(E: number, L: number, P: number, r: number): Set<number> {
  const s = new Set<number>();
  for (let i = 0; i < L; i++) s.add((r * P + i) % E);
  return s;
}

/** Compares every query of `p` with brute force; returns the first disagreement, or ''. */
function bruteForceMismatch(p: Placement): string {
  const { experts: E, groupSize: N, local: L, pull: P } = p;
  const owned = Array.from({ length: N }, (_, r) => bruteOwned(E, L, P, r));
  const holders: number[][] = Array.from({ length: E }, () => []);
  for (let r = 0; r < N; r++) for (const e of owned[r]) holders[e].push(r);
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  for (let e = 0; e < E; e++) {
    if (holders[e].length === 0) return `expert ${e} has no holder`;
    if (!same(p.owners(e), holders[e])) return `owners(${e}) = ${p.owners(e)} ≠ ${holders[e]}`;
  }
  const served = new Array<number>(N).fill(0);
  for (let r = 0; r < N; r++) {
    const mine = p.owned(r);
    if (mine.length !== owned[r].size || !mine.every((e) => owned[r].has(e))) return `owned(${r}) wrong`;
    for (const e of mine)
      if (p.owner(e, r) !== r || !p.owns(r, e)) return `rank ${r} does not read its own ${e} locally`;
    // Remote experts: exactly the complement of the owned range, each from the nearest
    // holder on its side of r, and exactly P from each peer.
    const seen = new Set<number>();
    const peers = new Set<number>();
    for (const { from, experts } of p.remote(r)) {
      if (from === r || peers.has(from)) return `rank ${r}: bad or repeated peer ${from}`;
      peers.add(from);
      if (experts.length !== P) return `rank ${r} pulls ${experts.length} ≠ P from ${from}`;
      served[from] += experts.length;
      for (const e of experts) {
        if (!owned[from].has(e)) return `rank ${r} pulls ${e} from ${from}, which does not hold it`;
        if (owned[r].has(e) || p.owns(r, e)) return `rank ${r} pulls its own expert ${e}`;
        if (seen.has(e)) return `rank ${r} pulls ${e} twice`;
        seen.add(e);
        const side = e >= r * P + L ? holders[e].filter((q) => q > r) : holders[e].filter((q) => q < r);
        const nearest = e >= r * P + L ? Math.min(...side) : Math.max(...side);
        if (from !== nearest) return `rank ${r} pulls ${e} from ${from}, nearest holder is ${nearest}`;
        if (p.owner(e, r) !== from) return `owner(${e}, ${r}) = ${p.owner(e, r)} ≠ ${from}`;
      }
    }
    if (seen.size + owned[r].size !== E) return `rank ${r}: remote + owned ≠ E`;
    if (p.remoteExperts(r).length !== (N - 1) * P) return `remoteExperts(${r}) has the wrong size`;
    if (P > 0 && peers.size !== N - 1) return `rank ${r} pulls from ${peers.size} peers`;
  }
  // Each source serves the same load: (N−1)·P experts per layer.
  for (let q = 0; q < N; q++) if (served[q] !== (N - 1) * P) return `rank ${q} serves ${served[q]} experts`;
  return '';
}

function checkAgainstBruteForce(p: Placement): void {
  expect(bruteForceMismatch(p), withSeed(p.toString())).toBe('');
}

describe('placement', () => {
  it('agrees with brute force for every (E, N, L, P) with E ≤ 40, N ≤ 8', () => {
    let valid = 0;
    let rejected = 0;
    for (let E = 1; E <= 40; E++) {
      for (let N = 1; N <= 8; N++) {
        for (let L = -1; L <= E + 1; L++) {
          for (let P = -1; P <= E + 1; P++) {
            const spec = { experts: E, groupSize: N, local: L, pull: P };
            if (bruteValid(E, N, L, P)) {
              checkAgainstBruteForce(new Placement(spec));
              valid++;
            } else if (rng.next() < 0.01) {
              // A sample of the (many) invalid ones; the next test checks the suggestions.
              expect(() => validatePlacement(spec), `E=${E} N=${N} L=${L} P=${P}`).toThrow(/try L=\d+, P=\d+/);
              rejected++;
            }
          }
        }
      }
    }
    expect(valid).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('agrees with brute force on random large groups', () => {
    for (let i = 0; i < 60; i++) {
      const E = 1 + rng.int(512);
      const N = 1 + rng.int(Math.min(E, 72));
      const choices = validPlacements(E, N);
      const c = choices[rng.int(choices.length)];
      checkAgainstBruteForce(new Placement(c));
    }
  });

  it('suggests a valid nearby choice in every error', () => {
    for (let i = 0; i < 300; i++) {
      const E = 1 + rng.int(300);
      const N = 1 + rng.int(16);
      const L = rng.int(E + 3) - 1;
      const P = rng.int(E + 3) - 1;
      if (bruteValid(E, N, L, P)) continue;
      let err: unknown;
      try {
        validatePlacement({ experts: E, groupSize: N, local: L, pull: P });
      } catch (e) {
        err = e;
      }
      expect(err, withSeed(`E=${E} N=${N} L=${L} P=${P}`)).toBeInstanceOf(PlacementError);
      const near = (err as PlacementError).near;
      expect([near.experts, near.groupSize], withSeed(`E=${E} N=${N}`)).toEqual([E, N]);
      expect(bruteValid(E, N, near.local, near.pull), withSeed((err as Error).message)).toBe(true);
      expect((err as Error).message).toContain(`try L=${near.local}, P=${near.pull}`);
    }
    expect(() => makePlacement(256, 3, 86, 86)).toThrow('E=256, N=3: try L=86, P=85');
    expect(() => makePlacement(256, 4, 101)).toThrow(/P=51\.6+\d* must be a non-negative integer.*try L=100, P=52/);
  });

  it('default is the minimal-memory valid choice', () => {
    for (let i = 0; i < 200; i++) {
      const E = 1 + rng.int(600);
      const N = 1 + rng.int(80);
      let bestL = Infinity;
      for (let P = 0; P <= E; P++) {
        const L = E - (N - 1) * P;
        if (bruteValid(E, N, L, P)) bestL = Math.min(bestL, L);
      }
      const d = defaultPlacement(E, N);
      expect(d.local, withSeed(`E=${E} N=${N}`)).toBe(bestL);
      expect(bruteValid(E, N, d.local, d.pull)).toBe(true);
    }
    expect(defaultPlacement(256, 4)).toMatchObject({ local: 64, pull: 64 });
    expect(defaultPlacement(256, 3)).toMatchObject({ local: 86, pull: 85 });
  });

  it('fills in the missing one of L and P', () => {
    expect(makePlacement(256, 4, undefined, 60)).toMatchObject({ local: 76, pull: 60 });
    expect(makePlacement(256, 4, 76)).toMatchObject({ local: 76, pull: 60 });
    expect(makePlacement(256, 1)).toMatchObject({ local: 256, pull: 0 });
  });

  it('reports memory against a full replica', () => {
    const bytes = 1 + rng.int(1 << 20);
    const layers = 1 + rng.int(60);
    const p = makePlacement(256, 4, 76, 60);
    const m = p.memory(bytes, layers, 2);
    expect(m.residentBytes).toBe(76 * bytes * layers);
    expect(m.prefetchBytes).toBe(2 * 180 * bytes);
    expect(m.replicaBytes).toBe(256 * bytes * layers);
    expect(m.fractionOfReplica).toBeCloseTo((76 * layers + 360) / (256 * layers), 12);
    expect(p.pullBytesPerLayer(bytes)).toBe(180 * bytes);
  });

  it('rejects out-of-range ranks and experts', () => {
    const p = defaultPlacement(256, 4);
    expect(() => p.owned(4)).toThrow(/rank 4/);
    expect(() => p.owner(256, 0)).toThrow(/expert 256/);
  });
});
