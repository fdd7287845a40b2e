// The link model run against the clock: a transfer lands exactly when the model says (on a
// fake clock, where the test controls time), pulls from one source serialize on its copy
// engine or share it with the contention fix, and on the real clock nothing ever lands early.
// How late a real timer fires depends on the machine's load, so no test bounds it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { linkSpec } from '../src/timeline/link.ts';
import { WallLink } from '../src/dwdp/wall-link.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const at = `(seed ${seed}; rerun with TEST_SEED=${seed})`;

// 1 MB/s: a kilobyte takes one millisecond, so every landing time below is a whole number of
// milliseconds (fake timers run whole milliseconds only).
const GBPS = 0.001;
const kB = 1000;

/** Submits pulls from rank 0 at time 0 on a fake clock; returns the millisecond each one lands. */
async function landings(sizesKb: number[], contentionFix: boolean): Promise<number[]> {
  vi.useFakeTimers();
  const link = new WallLink(linkSpec({ egressGBps: GBPS, latencyUs: 0, contentionFix }));
  const landed: number[] = sizesKb.map(() => NaN);
  const all = Promise.all(
    sizesKb.map((s, i) => link.transfer('pull', 0, i + 1, s * kB).then(() => (landed[i] = link.now()))),
  );
  const end = sizesKb.reduce((a, b) => a + b, 0);
  for (let t = 0; t <= end + 1 && landed.some(Number.isNaN); t++) await vi.advanceTimersByTimeAsync(1);
  await all;
  return landed;
}

describe(`wall-clock link ${at}`, () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a pull lands exactly when its bytes have crossed at the configured bandwidth (fake clock)', async () => {
    const size = 1 + rng.int(300);
    expect(await landings([size], true)).toEqual([size]);
  });

  it('three ranks pulling from one source at once are served one after another (contention fix off)', async () => {
    const sizes = [0, 0, 0].map(() => 1 + rng.int(100));
    // One copy engine, first come first served: each lands when the ones before it and itself are through.
    expect(await landings(sizes, false), `sizes ${sizes} kB`).toEqual([
      sizes[0],
      sizes[0] + sizes[1],
      sizes[0] + sizes[1] + sizes[2],
    ]);
  });

  it('with the fix on, the source engine is shared: equal shares until the smallest is through', async () => {
    const sizes = [0, 0, 0].map(() => 1 + rng.int(100));
    // Processor sharing: with n pulls left each moves at 1/n of the engine.
    const order = [...sizes.keys()].sort((a, b) => sizes[a] - sizes[b]);
    const [s1, s2, s3] = order.map((i) => sizes[i]);
    const want: number[] = [];
    want[order[0]] = 3 * s1;
    want[order[1]] = 3 * s1 + 2 * (s2 - s1);
    want[order[2]] = 3 * s1 + 2 * (s2 - s1) + (s3 - s2);
    // A share of 1/3 or 1/2 of the engine is not exact in doubles, so the model's landing can be
    // a hair past the whole millisecond, and the fake clock (whole milliseconds) lands it on the next.
    const got = await landings(sizes, true);
    got.forEach((t, i) => {
      expect(t, `pull ${i}, sizes ${sizes} kB`).toBeGreaterThanOrEqual(want[i]);
      expect(t, `pull ${i}, sizes ${sizes} kB`).toBeLessThanOrEqual(want[i] + 1);
    });
    // The last one lands when all the bytes are through, as without the fix.
    expect(Math.max(...want)).toBe(s1 + s2 + s3);
  });

  it('on the real clock a pull never lands before the model says, and the engine serializes', async () => {
    const link = new WallLink(linkSpec({ egressGBps: GBPS, latencyUs: 0, contentionFix: false }));
    const t0 = performance.now();
    const ends = await Promise.all(
      [1, 2, 3].map((dst) => link.transfer('pull', 0, dst, 20 * kB).then(() => performance.now() - t0)),
    );
    // Lands no earlier than 20, 40 and 60 ms, in submission order (how much later depends on the load).
    ends.forEach((e, i) => expect(e, `pull ${i}`).toBeGreaterThanOrEqual(20 * (i + 1)));
    expect([...ends].sort((a, b) => a - b)).toEqual(ends);
  });
});
