// Pareto frontier of deployments: output TPS/GPU (over all GPUs, context + generation) against
// TPS/user, both to be maximized, and the best point per TPS/user band.
//
// Frontier: the points no other point beats in both (≥ in both and > in one). Sorting by
// TPS/user descending (ties: TPS/GPU descending) and keeping each point whose TPS/GPU exceeds
// every TPS/GPU seen so far gives exactly that set, in O(n log n); equal points keep the first.
// Band best: among ALL points (not only the frontier) with lo ≤ TPS/user ≤ hi, the highest
// TPS/GPU — a band's best may be dominated by a point of higher TPS/user outside the band.

export interface ParetoPoint {
  tpsPerUser: number;
  tpsPerGpu: number;
}

/** The non-dominated points, by TPS/user ascending. */
export function paretoFrontier<P extends ParetoPoint>(points: readonly P[]): P[] {
  const sorted = [...points].sort((a, b) => b.tpsPerUser - a.tpsPerUser || b.tpsPerGpu - a.tpsPerGpu);
  const out: P[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.tpsPerGpu > best) {
      out.push(p);
      best = p.tpsPerGpu;
    }
  }
  return out.reverse();
}

/** Whether a TPS/user lies in the band [lo, hi] (both ends included). */
export function inBand(tpsPerUser: number, band: readonly [number, number]): boolean {
  return tpsPerUser >= band[0] && tpsPerUser <= band[1];
}

/** The point of highest TPS/GPU with TPS/user in [lo, hi]; null when none. */
export function bestInBand<P extends ParetoPoint>(points: readonly P[], band: readonly [number, number]): P | null {
  let best: P | null = null;
  for (const p of points) if (inBand(p.tpsPerUser, band) && (best === null || p.tpsPerGpu > best.tpsPerGpu)) best = p;
  return best;
}
