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

/** x rounded to the nearest IEEE binary16 value (ties to even; overflow to ±Infinity, subnormals kept). */
export function roundToF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity; // 65504 + half an ulp rounds up
  let e = Math.max(Math.floor(Math.log2(a)), -14);
  if (e > -14 && 2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (e - 10);
  const q = a / ulp; // exact: ulp is a power of two
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return Math.sign(x) * r * ulp;
}
