// Checks of a kernel's result against its float64 reference, shared by the lab kernels.
// Each returns a CheckResult with one line of detail naming the first difference.
import { relativeError } from '../util/numeric.ts';
import type { CheckResult } from './types.ts';

const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));

/** relErr ≤ tolerance (NaN or Inf anywhere in `got` fails: relativeError gives Infinity). */
export function checkClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tolerance: number,
): CheckResult {
  const relErr = relativeError(got, want);
  const ok = relErr <= tolerance;
  let detail = `${what}: relative error ${fmt(relErr)} (tolerance ${fmt(tolerance)})`;
  if (!ok) {
    if (got.length !== want.length) detail += `; ${got.length} values, expected ${want.length}`;
    else {
      let worst = 0;
      for (let i = 1; i < got.length; i++) {
        const d = Math.abs(got[i] - want[i]);
        if (!(d <= Math.abs(got[worst] - want[worst]))) worst = i;
      }
      detail += `; worst at [${worst}]: got ${got[worst]}, expected ${want[worst]}`;
    }
  }
  return { ok, relErr, tolerance, detail };
}

/** Every value equal (as numbers; NaN never equals). */
export function checkExact(what: string, got: ArrayLike<number>, want: ArrayLike<number>): CheckResult {
  let mismatches = 0;
  let first = -1;
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      mismatches++;
      if (first < 0) first = i;
    }
  }
  if (got.length !== want.length) mismatches += Math.abs(got.length - want.length);
  const ok = mismatches === 0;
  const relErr = ok ? 0 : relativeError(got, want) || Infinity;
  const detail = ok
    ? `${what}: all ${n} values exact`
    : `${what}: ${mismatches} of ${want.length} values differ` +
      (first >= 0
        ? `; first at [${first}]: got ${got[first]}, expected ${want[first]}`
        : `; ${got.length} values, expected ${want.length}`);
  return { ok, relErr, tolerance: 0, detail };
}

/** f32 values bit for bit (decoders: the GPU must reproduce the CPU's exact values). */
export function checkBits(what: string, got: Float32Array, want: Float32Array): CheckResult {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const exact = checkExact(`${what} (f32 bits)`, g, w);
  return { ...exact, relErr: exact.ok ? 0 : relativeError(got, want) || Infinity };
}

/** All must pass; relErr is the worst, details joined. */
export function allOf(...results: CheckResult[]): CheckResult {
  const worst = results.reduce((a, b) =>
    b.relErr / Math.max(b.tolerance, 1e-30) > a.relErr / Math.max(a.tolerance, 1e-30) ? b : a,
  );
  return {
    ok: results.every((r) => r.ok),
    relErr: worst.relErr,
    tolerance: worst.tolerance,
    detail: results.map((r) => r.detail).join('; '),
  };
}
