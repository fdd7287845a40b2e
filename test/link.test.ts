// The link model: slicing and issue order, max-min rates, the fluid engine against the
// slice-by-slice reference, and the many-to-one contention the paper's fix addresses.
import { describe, expect, it } from 'vitest';
import {
  LinkFluid,
  MaxMinMemo,
  linkSpec,
  maxMinRates,
  pullIssueOrder,
  simulateFluid,
  type EnginePiece,
  type Transfer,
} from '../src/timeline/link.ts';
import { issueSlices, simulateSliced, sliceDurationMs, sliceSizes } from '../src/timeline/link-reference.ts';
import { Rng } from '../src/util/random.ts';
import { PreviousLinkFluid, previousMaxMinRates } from '../src/timeline/link-previous.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;
const MiB = 1 << 20;

function randomTransfers(r: Rng, N: number, count: number, maxMiB: number, spreadMs: number): Transfer[] {
  const ts: Transfer[] = [];
  for (let k = 0; k < count; k++) {
    const dst = r.int(N);
    let src = r.int(N - 1);
    if (src >= dst) src++;
    const bytes = r.next() < 0.05 ? 0 : Math.round(r.uniform(0.01, maxMiB) * MiB);
    ts.push({ src, dst, bytes, submitMs: r.next() < 0.4 ? 0 : r.uniform(0, spreadMs) });
  }
  return ts.sort((a, b) => a.submitMs - b.submitMs);
}

describe('slicing and issue order', () => {
  it('cuts transfers into full slices and a remainder', () => {
    for (let i = 0; i < 100; i++) {
      const bytes = rng.int(50 * MiB);
      const slice = 1 + rng.int(4 * MiB);
      const s = sliceSizes(bytes, slice);
      expect(s.reduce((a, b) => a + b, 0)).toBe(bytes);
      expect(s.length).toBe(Math.ceil(bytes / slice));
      expect(s.every((x, k) => (k < s.length - 1 ? x === slice : x > 0 && x <= slice))).toBe(true);
    }
  });

  it('walks peers ascending without the fix and from the next rank with it', () => {
    expect(pullIssueOrder(2, [0, 1, 3, 4], false)).toEqual([0, 1, 3, 4]);
    expect(pullIssueOrder(2, [0, 1, 3, 4], true)).toEqual([3, 4, 0, 1]);
    expect(pullIssueOrder(4, [0, 1, 2, 3], true)).toEqual([0, 1, 2, 3]);
    // With the fix the N destinations of a group start on N different sources.
    for (let N = 2; N <= 9; N++) {
      const firsts = Array.from({ length: N }, (_, r) => pullIssueOrder(r, [...Array(N).keys()], true)[0]);
      expect(new Set(firsts).size).toBe(N);
    }
  });

  it('covers every byte once, interleaving peers round-robin with the fix', () => {
    const rank = rng.int(6);
    const reqs = Array.from({ length: 2 + rng.int(8) }, (_, k) => {
      let from = rng.int(5);
      if (from >= rank) from++;
      return { id: `r${k}`, from, bytes: 1 + rng.int(9 * MiB) };
    });
    for (const fix of [false, true]) {
      const out = issueSlices(rank, reqs, { sliceBytes: 2 * MiB, contentionFix: fix });
      for (const r of reqs) {
        const mine = out.filter((s) => s.id === r.id);
        expect(
          mine.reduce((a, s) => a + s.bytes, 0),
          tag(r.id),
        ).toBe(r.bytes);
        expect(mine.map((s) => s.offset)).toEqual(mine.map((_, k) => k * 2 * MiB));
        expect(mine.filter((s) => s.last).length).toBe(1);
        expect(mine[mine.length - 1].last).toBe(true);
      }
      const peers = out.map((s) => s.from);
      if (!fix) {
        // Ascending peers, each peer's slices contiguous.
        expect(peers).toEqual([...peers].sort((a, b) => a - b));
      } else {
        // Round-robin: between two slices of the same peer, every peer still holding slices appears once.
        const order = pullIssueOrder(rank, peers, true);
        const left = new Map(order.map((p) => [p, peers.filter((x) => x === p).length]));
        let k = 0;
        while (k < out.length) {
          const round = order.filter((p) => left.get(p)! > 0);
          expect(peers.slice(k, k + round.length), tag('round')).toEqual(round);
          for (const p of round) left.set(p, left.get(p)! - 1);
          k += round.length;
        }
      }
    }
  });

  it('times a slice from its shares of egress and ingress', () => {
    const spec = linkSpec({ egressGBps: [100, 50], ingressGBps: [80, 40], latencyUs: 3 });
    expect(sliceDurationMs(spec, { from: 0, to: 1, bytes: 4e6 })).toBeCloseTo(4e6 / 40e6, 12);
    expect(sliceDurationMs(spec, { from: 1, to: 0, bytes: 4e6, sourceShare: 2 })).toBeCloseTo(4e6 / 25e6, 12);
    expect(sliceDurationMs(spec, { from: 0, to: 1, bytes: 4e6, destShare: 4, withLatency: true })).toBeCloseTo(
      4e6 / 10e6 + 0.003,
      12,
    );
    expect(() => linkSpec({ egressGBps: 0 })).toThrow(/egressGBps/);
  });
});

describe('max-min fair rates', () => {
  it('are feasible and every flow is held by a saturated bottleneck where it is largest', () => {
    for (let trial = 0; trial < 200; trial++) {
      // Mostly small groups; every tenth a large one (ranks past the engine's first index buffers).
      const large = trial % 10 === 9;
      const N = large ? 100 + rng.int(100) : 2 + rng.int(6);
      const eg = Array.from({ length: N }, () => rng.uniform(1, 10));
      const ig = Array.from({ length: N }, () => rng.uniform(1, 10));
      const flows = Array.from({ length: 1 + rng.int(large ? 400 : 15) }, () => {
        const dst = rng.int(N);
        let src = rng.int(N - 1);
        if (src >= dst) src++;
        return { src, dst };
      });
      const rate = maxMinRates(
        flows,
        (r) => eg[r],
        (r) => ig[r],
      );
      const out = new Array<number>(N).fill(0);
      const inn = new Array<number>(N).fill(0);
      flows.forEach((f, i) => {
        out[f.src] += rate[i];
        inn[f.dst] += rate[i];
      });
      const eps = 1e-9;
      for (let r = 0; r < N; r++) {
        expect(out[r], tag('egress')).toBeLessThanOrEqual(eg[r] + eps);
        expect(inn[r], tag('ingress')).toBeLessThanOrEqual(ig[r] + eps);
      }
      flows.forEach((f, i) => {
        expect(rate[i]).toBeGreaterThan(0);
        const bottleneck = (used: number, cap: number, peers: number[]) =>
          used >= cap - 1e-9 && peers.every((j) => rate[j] <= rate[i] + 1e-9);
        const viaSrc = bottleneck(
          out[f.src],
          eg[f.src],
          flows.flatMap((g, j) => (g.src === f.src ? [j] : [])),
        );
        const viaDst = bottleneck(
          inn[f.dst],
          ig[f.dst],
          flows.flatMap((g, j) => (g.dst === f.dst ? [j] : [])),
        );
        expect(viaSrc || viaDst, tag(`flow ${i} has no bottleneck`)).toBe(true);
      });
    }
  });
});

describe('max-min rates remembered by served set', () => {
  it('returns, bit for bit, what maxMinRates computes afresh, call after call', () => {
    for (let trial = 0; trial < 40; trial++) {
      const r = rng.fork(`memo ${trial}`);
      // Few ranks and short sets, so that sequences come back (hits) among new ones (misses);
      // a small limit in some trials, so that the table is emptied along the way.
      const N = 2 + r.int(5);
      const eg = Array.from({ length: N }, () => r.uniform(1, 10));
      const ig = Array.from({ length: N }, () => r.uniform(1, 10));
      const egress = (k: number) => eg[k];
      const ingress = (k: number) => ig[k];
      const memo = new MaxMinMemo(egress, ingress, trial % 4 === 0 ? 8 : undefined);
      // A pool of flow sets drawn once, asked again in random order, each sometimes as a prefix
      // of a longer array (the engine passes a count with a grow-only array).
      const pool = Array.from({ length: 30 }, () =>
        Array.from({ length: 1 + r.int(8) }, () => {
          const dst = r.int(N);
          let src = r.int(N - 1);
          if (src >= dst) src++;
          return { src, dst };
        }),
      );
      for (let q = 0; q < 300; q++) {
        const flows = pool[r.int(pool.length)];
        const padded = r.next() < 0.5 ? [...flows, ...pool[r.int(pool.length)]] : flows;
        const got = memo.rates(padded, flows.length);
        const fresh = maxMinRates(flows, egress, ingress);
        expect(got.length, tag(`trial ${trial} query ${q}: length`)).toBe(fresh.length);
        for (let i = 0; i < fresh.length; i++)
          expect(
            Object.is(got[i], fresh[i]),
            tag(`trial ${trial} query ${q} flow ${i}: ${got[i]} vs ${fresh[i]}`),
          ).toBe(true);
      }
      expect(memo.hits + memo.misses).toBe(300);
      // The same set asked twice in a row: the second is a lookup, and the same rates.
      const again = pool[r.int(pool.length)];
      const first = Float64Array.from(memo.rates(again));
      const hits = memo.hits;
      expect(Array.from(memo.rates(again)), tag(`trial ${trial}: asked again`)).toEqual(Array.from(first));
      expect(memo.hits, tag(`trial ${trial}: a repeat is a hit`)).toBe(hits + 1);
    }
  });
});

describe('many-to-one contention', () => {
  const T = 64 * MiB;
  const tOne = T / 900e6; // ms for one transfer alone at 900 GB/s

  it('N→1 pulls serialize on the source without the fix and share it with the fix', () => {
    const N = 3 + rng.int(5);
    // Every other rank pulls one transfer from rank 0 at t=0.
    const ts: Transfer[] = Array.from({ length: N - 1 }, (_, k) => ({ src: 0, dst: k + 1, bytes: T, submitMs: 0 }));
    const off = simulateFluid(ts, linkSpec({ egressGBps: 900, contentionFix: false }));
    expect(off.map((t) => t / tOne)).toEqual(ts.map((_, k) => expect.closeTo(k + 1, 9)));
    const on = simulateFluid(ts, linkSpec({ egressGBps: 900, contentionFix: true }));
    for (const t of on) expect(t / tOne).toBeCloseTo(N - 1, 9);
    // Mean completion is what serializing costs the pullers: (N)/2 vs N−1 transfers… and
    // the sliced reference agrees on both.
    expect(simulateSliced(ts, linkSpec({ egressGBps: 900, contentionFix: false }))).toEqual(
      off.map((x) => expect.closeTo(x, 9)),
    );
    const sl = simulateSliced(ts, linkSpec({ egressGBps: 900, contentionFix: true }));
    for (const t of sl)
      expect(Math.abs(t - (N - 1) * tOne)).toBeLessThanOrEqual(
        (N - 1) * sliceDurationMs(linkSpec({ egressGBps: 900 }), { from: 0, to: 1, bytes: 2 * MiB }) + 1e-9,
      );
  });

  it('a full group pull takes (N−1)·T with the fix and longer in the ascending convoy without it', () => {
    for (const N of [3, 4, 5, 8]) {
      const ts: Transfer[] = [];
      for (let d = 0; d < N; d++)
        for (const s of pullIssueOrder(d, [...Array(N).keys()], false))
          ts.push({ src: s, dst: d, bytes: T, submitMs: 0 });
      const off = Math.max(...simulateFluid(ts, linkSpec({ egressGBps: 900, contentionFix: false })));
      const onTs: Transfer[] = [];
      for (let d = 0; d < N; d++)
        for (const s of pullIssueOrder(d, [...Array(N).keys()], true))
          onTs.push({ src: s, dst: d, bytes: T, submitMs: 0 });
      const on = Math.max(...simulateFluid(onTs, linkSpec({ egressGBps: 900, contentionFix: true })));
      expect(on / tOne, `N=${N}`).toBeCloseTo(N - 1, 9);
      expect(off / tOne, `N=${N}`).toBeGreaterThan(N - 1 + 0.5);
      // The slice-level reference sees the same.
      expect(Math.max(...simulateSliced(onTs, linkSpec({ egressGBps: 900, contentionFix: true }))) / tOne).toBeCloseTo(
        N - 1,
        6,
      );
      expect(Math.max(...simulateSliced(ts, linkSpec({ egressGBps: 900, contentionFix: false }))) / tOne).toBeCloseTo(
        off / tOne,
        9,
      );
    }
  });

  it('DEP sends are all in flight at once and share the source, with the fix or without', () => {
    const N = 3 + rng.int(5);
    for (const fix of [false, true]) {
      const engine = new LinkFluid(linkSpec({ egressGBps: 900, contentionFix: fix }));
      for (let d = 1; d < N; d++) engine.submit(d, 'send', 0, d, T);
      // No FIFO: every send moves at 1/(N−1) of the egress and all land together.
      const t = engine.nextEventMs();
      expect(t / tOne, tag(`fix ${fix}`)).toBeCloseTo(N - 1, 9);
      expect([...engine.advanceTo(t)]).toEqual([...Array(N - 1).keys()].map((k) => k + 1));
      expect(engine.busy).toBe(false);
      // N−1 senders into one destination share its ingress the same way.
      const into = new LinkFluid(linkSpec({ egressGBps: 900, contentionFix: fix }));
      for (let s = 1; s < N; s++) into.submit(s, 'send', s, 0, T);
      expect(into.nextEventMs() / tOne, tag(`fix ${fix}`)).toBeCloseTo(N - 1, 9);
    }
  });

  it('adds the latency once per transfer', () => {
    const ts: Transfer[] = [{ src: 1, dst: 0, bytes: T, submitMs: 0.5 }];
    for (const fix of [false, true]) {
      const [t] = simulateFluid(ts, linkSpec({ egressGBps: 900, latencyUs: 7, contentionFix: fix }));
      expect(t).toBeCloseTo(0.5 + tOne + 0.007, 12);
    }
  });
});

describe('fluid engine vs the slice-by-slice reference', () => {
  it('are identical without the fix (whole transfers, in-order streams)', () => {
    for (let trial = 0; trial < 60; trial++) {
      const N = 2 + rng.int(5);
      const ts = randomTransfers(rng, N, 1 + rng.int(14), 40, 0.2);
      const spec = linkSpec({
        egressGBps: rng.uniform(100, 900),
        ingressGBps: rng.uniform(100, 900),
        latencyUs: rng.uniform(0, 5),
        contentionFix: false,
        copyEngines: 1 + rng.int(2),
      });
      const a = simulateFluid(ts, spec);
      const b = simulateSliced(ts, spec);
      a.forEach((x, i) =>
        expect(Math.abs(x - b[i]), tag(`trial ${trial} transfer ${i}`)).toBeLessThanOrEqual(1e-9 * Math.max(1, b[i])),
      );
    }
  });

  it('agree within slice granularity when a group pulls a layer in step', () => {
    for (let trial = 0; trial < 20; trial++) {
      const N = 2 + rng.int(5);
      const per = Math.round(rng.uniform(4, 40) * MiB);
      const ts: Transfer[] = [];
      for (let d = 0; d < N; d++)
        for (const s of pullIssueOrder(d, [...Array(N).keys()], true))
          ts.push({ src: s, dst: d, bytes: per, submitMs: 0 });
      const spec = linkSpec({ egressGBps: 900, latencyUs: 2, contentionFix: true });
      const a = simulateFluid(ts, spec);
      const b = simulateSliced(ts, spec);
      const slice = spec.sliceBytes / 900e6;
      a.forEach((x, i) => expect(Math.abs(x - b[i]), tag(`N=${N}`)).toBeLessThanOrEqual(N * slice));
    }
  });

  it('agree on the makespan of random desynchronized pulls with the fix (within the documented band)', () => {
    // The fluid engine shares bandwidth max-min fairly; the reference time-shares one-slice
    // matchings greedily and can leave an engine idle that the fluid keeps busy, or now and
    // then find a better order (docs/rack-model.md: over 24 000 seeded cases the makespan
    // ratio spans 0.86–1.23 with median 1.00 and 98% within 0.95–1.04). Every case must stay
    // inside the documented extremes and the typical case must agree closely.
    const ratios: number[] = [];
    for (let trial = 0; trial < 60; trial++) {
      const N = 2 + rng.int(4);
      const ts = randomTransfers(rng, N, 1 + rng.int(14), 40, 0.1);
      const spec = linkSpec({ egressGBps: 900, latencyUs: 2, contentionFix: true });
      const a = Math.max(...simulateFluid(ts, spec));
      const b = Math.max(...simulateSliced(ts, spec));
      if (b === 0) continue;
      expect(a / b, tag(`trial ${trial}`)).toBeGreaterThan(0.8);
      expect(a / b, tag(`trial ${trial}`)).toBeLessThan(1.3);
      ratios.push(a / b);
    }
    ratios.sort((x, y) => x - y);
    const within = ratios.filter((x) => x > 0.95 && x < 1.05).length / ratios.length;
    expect(within, tag('share within 5%')).toBeGreaterThan(0.85);
    expect(Math.abs(ratios[ratios.length >> 1] - 1), tag('median')).toBeLessThan(0.02);
  });

  it('draws copy-engine pieces that never overlap on one source and add up to the bytes', () => {
    const N = 4;
    const ts = randomTransfers(rng, N, 12, 30, 0.1);
    for (const fix of [false, true]) {
      const pieces: EnginePiece[] = [];
      const engine = new LinkFluid(linkSpec({ egressGBps: 900, ingressGBps: 600, contentionFix: fix }), (p) =>
        pieces.push(p),
      );
      let k = 0;
      while (k < ts.length || engine.busy) {
        const t = Math.min(k < ts.length ? ts[k].submitMs : Infinity, engine.nextEventMs());
        engine.advanceTo(t);
        while (k < ts.length && ts[k].submitMs <= t) {
          engine.submit(k, 'pull', ts[k].src, ts[k].dst, ts[k].bytes);
          k++;
        }
      }
      for (let s = 0; s < N; s++) {
        const mine = pieces.filter((p) => p.src === s).sort((a, b) => a.startMs - b.startMs);
        for (let j = 1; j < mine.length; j++)
          expect(mine[j].startMs, tag('overlap')).toBeGreaterThanOrEqual(mine[j - 1].endMs - 1e-12);
      }
      ts.forEach((t, i) => {
        const moved = pieces.filter((p) => p.key === i).reduce((a, p) => a + p.bytes, 0);
        expect(Math.abs(moved - t.bytes), tag(`transfer ${i}`)).toBeLessThanOrEqual(1e-6 * Math.max(1, t.bytes) + 1e-2);
      });
    }
  });
});

describe('the engine against its previous version (max-min rates are a function of the moving set)', () => {
  /** Random ranks, bandwidths (one for all or per rank), latency, discipline and engines. */
  const randomSpec = (r: Rng, N: number) => {
    const bw = () => (r.next() < 0.5 ? r.uniform(50, 900) : Array.from({ length: N }, () => r.uniform(50, 900)));
    return linkSpec({
      egressGBps: bw(),
      ingressGBps: bw(),
      latencyUs: r.next() < 0.3 ? 0 : r.uniform(0, 5),
      contentionFix: r.next() < 0.6,
      copyEngines: 1 + r.int(3),
    });
  };

  /**
   * One trial of the event-by-event comparisons: 2–9 ranks (every sixth trial up to 31, with up
   * to 400 transfers), a random spec, pulls and sends, some submitted together (ties), sizes from
   * zero to tens of MiB.
   */
  const randomTrial = (trial: number) => {
    const N = 2 + rng.int(trial % 6 === 5 ? 30 : 8);
    const spec = randomSpec(rng, N);
    const count = 1 + rng.int(trial % 6 === 5 ? 400 : 60);
    const ts = randomTransfers(rng, N, count, 40, rng.uniform(0.01, 0.5)).map((t) => ({
      ...t,
      kind: rng.next() < 0.3 ? ('send' as const) : ('pull' as const),
    }));
    return { N, spec, ts, what: tag(`trial ${trial}: ${N} ranks, ${count} transfers, ${JSON.stringify(spec)}`) };
  };

  it('gives the same max-min rates, bit for bit', () => {
    for (let trial = 0; trial < 300; trial++) {
      const N = trial % 10 === 9 ? 64 + rng.int(100) : 2 + rng.int(10);
      const eg = Array.from({ length: N }, () => rng.uniform(1, 10));
      const ig = Array.from({ length: N }, () => (rng.next() < 0.3 ? eg[0] : rng.uniform(1, 10)));
      const flows = Array.from({ length: 1 + rng.int(N * 4) }, () => {
        const dst = rng.int(N);
        let src = rng.int(N - 1);
        if (src >= dst) src++;
        return { src, dst };
      });
      const now = maxMinRates(
        flows,
        (r) => eg[r],
        (r) => ig[r],
      );
      const before = previousMaxMinRates(
        flows,
        (r) => eg[r],
        (r) => ig[r],
      );
      expect([...now], tag(`trial ${trial}: ${N} ranks, ${flows.length} flows`)).toEqual([...before]);
    }
  });

  it('completes, counts pull time, reports copy activity and draws pieces exactly as before, event by event', () => {
    for (let trial = 0; trial < 60; trial++) {
      const { N, spec, ts, what } = randomTrial(trial);
      const got: EnginePiece[] = [];
      const want: EnginePiece[] = [];
      const whole: EnginePiece[] = [];
      const now = new LinkFluid(spec, (p) => got.push(p));
      const before = new PreviousLinkFluid(spec, (p) => want.push(p));
      const spans = new LinkFluid(spec, (p) => whole.push(p), 'transfers');
      const landedAt = new Array<number>(ts.length).fill(NaN);
      const steps: number[] = [];
      let k = 0;
      while (k < ts.length || before.busy) {
        const t = Math.min(k < ts.length ? ts[k].submitMs : Infinity, before.nextEventMs());
        expect(now.nextEventMs(), what).toBe(before.nextEventMs());
        steps.push(t);
        const done = [...before.advanceTo(t)];
        expect([...now.advanceTo(t)], what).toEqual(done);
        expect([...spans.advanceTo(t)], what).toEqual(done);
        for (const key of done) landedAt[key] = t;
        while (k < ts.length && ts[k].submitMs <= t) {
          for (const e of [now, before, spans]) e.submit(k, ts[k].kind, ts[k].src, ts[k].dst, ts[k].bytes);
          k++;
        }
        for (let r = 0; r < N; r++) {
          expect(now.pullActive(r), what).toBe(before.pullActive(r));
          expect(now.pullBusyMs(r), what).toBe(before.pullBusyMs(r));
        }
      }
      expect(now.busy).toBe(false);
      expect(got, what).toEqual(want);
      // One span per transfer that moved bytes: from the start of the step in which its first
      // piece falls (every step boundary is a time the loop above advanced to) to its landing.
      expect(whole.length, what).toBe(new Set(want.map((p) => p.key)).size);
      const firstPiece = new Map<number, EnginePiece>();
      for (const p of want) if (!firstPiece.has(p.key)) firstPiece.set(p.key, p);
      for (const span of whole) {
        const first = firstPiece.get(span.key)!;
        let j = 0;
        while (j + 1 < steps.length && steps[j + 1] <= first.startMs) j++;
        const stepStart = steps[j];
        expect(span.startMs, what).toBe(stepStart);
        expect(span.endMs, what).toBe(landedAt[span.key]);
        expect(span.bytes, what).toBe(ts[span.key].bytes);
        expect([span.src, span.dst, span.kind], what).toEqual([ts[span.key].src, ts[span.key].dst, ts[span.key].kind]);
      }
    }
  });
  it('runs on to the next landing or change of a watched rank’s copy activity where the previous engine, event by event, has one', () => {
    for (let trial = 0; trial < 60; trial++) {
      const { N, spec, ts, what } = randomTrial(trial);
      const now = new LinkFluid(spec);
      const before = new PreviousLinkFluid(spec);
      // Each call watches a fresh random set of ranks (a rank may be watched twice, or none at all);
      // it may end early at the next submit time or at a random time before it.
      const watch = new Int32Array(N + 2);
      let k = 0;
      while (k < ts.length || before.busy) {
        const n = rng.int(N + 3);
        for (let i = 0; i < n; i++) watch[i] = rng.int(N);
        const submitAt = k < ts.length ? ts[k].submitMs : Infinity;
        const t =
          rng.next() < 0.2 && submitAt > now.timeMs && submitAt < Infinity
            ? rng.uniform(now.timeMs, submitAt)
            : submitAt;
        // The reference: the previous engine, one event at a time, until t or an event after which
        // something landed or some watched rank's pullActive differs from what it was at the call.
        const was = Array.from(watch.subarray(0, n), (r) => before.pullActive(r));
        let want: number[] = [];
        for (;;) {
          const step = Math.min(t, before.nextEventMs());
          if (step === Infinity) break;
          want = [...before.advanceTo(step)];
          if (step === t || want.length > 0 || was.some((on, i) => before.pullActive(watch[i]) !== on)) break;
        }
        expect([...now.advanceToActivity(t, watch, n)], what).toEqual(want);
        expect(now.timeMs, what).toBe(before.timeMs);
        while (k < ts.length && ts[k].submitMs <= now.timeMs) {
          for (const e of [now, before]) e.submit(k, ts[k].kind, ts[k].src, ts[k].dst, ts[k].bytes);
          k++;
        }
      }
      expect(now.busy, what).toBe(false);
      for (let r = 0; r < N; r++) expect(now.pullBusyMs(r), what).toBe(before.pullBusyMs(r));
    }
  });
});
