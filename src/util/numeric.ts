// Comparisons used by tests, the lab and the CLIs.

/**
 * Frobenius relative error ||got − want|| / ||want||. Any NaN or infinity in `got`
 * (or a length mismatch) gives Infinity, so a broken kernel can never pass a threshold.
 */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    if (!Number.isFinite(g)) return Infinity;
    const d = g - want[i];
    num += d * d;
    den += want[i] * want[i];
  }
  if (den === 0) return num === 0 ? 0 : Infinity;
  return Math.sqrt(num / den);
}
