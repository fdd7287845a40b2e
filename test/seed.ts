// The seed of a test file's random inputs: fresh every run, printed by the tests on failure,
// and fixed by TEST_SEED=<n> to rerun a failure exactly.
import { MAX_SEED } from '../src/util/random.ts';

export function testSeed(): number {
  const fixed = process.env.TEST_SEED;
  if (fixed !== undefined && fixed !== '') {
    const n = Number(fixed);
    // Rng reads a seed as 32 bits: a larger one would silently rerun another seed's inputs.
    if (!Number.isInteger(n) || n < 0 || n > MAX_SEED)
      throw new Error(`TEST_SEED must be an integer from 0 to ${MAX_SEED} (got '${fixed}')`);
    return n;
  }
  return (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) >>> 0;
}
