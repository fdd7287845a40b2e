// The tests' own median, written from its definition and independent of src/util/stats.ts (the
// one median the code under test uses): sort a copy; the middle element, or the mean of the
// two middle ones.
export function referenceMedian(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
