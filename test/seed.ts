// The seed of a test file's random inputs: fresh every run, printed by the tests on failure,
// and fixed by TEST_SEED=<n> to rerun a failure exactly.
export function testSeed(): number {
  const fixed = process.env.TEST_SEED;
  if (fixed !== undefined && fixed !== '') {
    const n = Number(fixed);
    if (!Number.isInteger(n) || n < 0) throw new Error(`TEST_SEED must be a non-negative integer (got '${fixed}')`);
    return n;
  }
  return (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) >>> 0;
}
