// The page's result logic on fresh random runs: comparisons (order, sweep points, ratios,
// progress, cancel), the crossover finder, timeline rows (idle made explicit) against a
// brute-force grid, topology flows and view transforms, the summary rows and the CSV export.
import { describe, expect, it } from 'vitest';
import {
  ComparisonCancelled,
  comparisonRatios,
  crossovers,
  etaText,
  ratioText,
  runComparison,
  type Comparison,
  type StrategyRunner,
} from '../src/ui/compare.ts';
import { defaultForm, type FormState } from '../src/ui/fields.ts';
import { SPAN_CLASSES, classTotals, classify, pullWaitLinks, spanAt, timelineRows } from '../src/ui/timeline.ts';
import { simulate } from '../src/timeline/scheduler.ts';
import { linkSpec } from '../src/timeline/link.ts';
import type { Op } from '../src/timeline/ops.ts';
import { categoryOf } from '../src/strategies/runtime.ts';
import {
  flowTotals,
  flowsAt,
  peakRate,
  project,
  ringLayout,
  unproject,
  viewMatrix,
  zoomAbout,
} from '../src/ui/topology.ts';
import {
  DEV_PAGE,
  provenance,
  sourceBadge,
  sourceLines,
  summaryRow,
  summaryMarkdown,
  summaryText,
} from '../src/ui/summary.ts';
import { formToQuery, pageUrl, queryToForm } from '../src/ui/url.ts';
import { CSV_COLUMNS, comparisonCsv, comparisonJson } from '../src/ui/export.ts';
import { PIDS_PER_RUN, comparisonTrace } from '../src/ui/trace-export.ts';
import { CATEGORIES, SPAN_CATEGORIES, type SpanCategory } from '../src/timeline/categories.ts';
import type { Interval } from '../src/timeline/scheduler.ts';
import type { GroupRunResult, StrategyName } from '../src/strategies/types.ts';
import type { PageConfig } from '../src/ui/config.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const withSeed = (msg: string) => `${msg} (seed ${seed})`;

const FAKE_SOURCE = 'measured here (GPU timestamps of every step, scheduled in virtual time), on test adapter';

/**
 * A random run on an integer-ms grid: each rank's compute lane is a sequence of spans with
 * random gaps, its copy lane random transfers to random peers.
 */
function fakeResult(strategy: StrategyName, ranks: number, r = rng, tps = 1 + r.next() * 1000): GroupRunResult {
  const intervals: Interval[] = [];
  // Every compute and stream category of the table, and one outside it (a results file of an older build).
  const cats = [
    ...SPAN_CATEGORIES.filter((c) => ['compute', 'stream'].includes(CATEGORIES[c].lane)),
    'mystery',
  ] as SpanCategory[];
  let makespan = 0;
  for (let k = 0; k < ranks; k++) {
    let t = r.int(3);
    for (let i = 0, n = 1 + r.int(12); i < n; i++) {
      const d = 1 + r.int(5);
      intervals.push({
        rank: k,
        lane: 'compute',
        label: `op ${i}`,
        category: cats[r.int(cats.length)],
        layer: r.int(4),
        startMs: t,
        endMs: t + d,
      });
      t += d + (r.next() < 0.4 ? r.int(4) : 0);
    }
    makespan = Math.max(makespan, t);
    for (let i = 0, n = r.int(4); i < n && ranks > 1; i++) {
      const s = r.int(20);
      const peer = (k + 1 + r.int(ranks - 1)) % ranks;
      intervals.push({
        rank: k,
        lane: 'copy',
        label: `pull → r${peer}`,
        category: r.next() < 0.8 ? 'pull' : 'send',
        startMs: s,
        endMs: s + 1 + r.int(6),
        peer,
        bytes: 1 + r.int(1 << 20),
      });
    }
  }
  makespan = Math.max(makespan, ...intervals.map((iv) => iv.endMs)) + r.int(3);
  return {
    strategy,
    clock: 'virtual',
    rankMode: 'partitions',
    ranks: Array.from({ length: ranks }, (_, k) => ({
      rank: k,
      tokens: 10 + k,
      requestLengths: [4, 6 + k],
      bytesPulled: strategy === 'dwdp' ? 1000 * (k + 1) : 0,
      bytesSent: 0,
      computeMs: r.next() * 10,
      computeByCategory: {},
      pullMs: r.next(),
      waitMs: r.next(),
      syncMs: r.next(),
      commMs: 0,
      idleMs: r.next(),
      endMs: makespan,
      residentWeightBytes: 1 << (10 + k),
      prefetchBufferBytes: strategy === 'dwdp' ? 512 : 0,
    })),
    makespanMs: makespan,
    tpsPerGpu: tps,
    tpsPerUser: tps / 3,
    hiddenPullFraction: r.next(),
    intervals: intervals.sort((a, b) => a.rank - b.rank || a.startMs - b.startMs),
    replicaWeightBytes: 1 << 20,
    bytesPerExpert: 64,
    link: { gbps: 900, latencyUs: 2, contentionFix: true },
    provenance: { kind: 'measured', adapter: 'test adapter', timer: 'timestamp-query', clock: 'virtual' },
    timeSource: 'words only: nothing reads this',
    adapter: 'test adapter',
  };
}

/** A runner whose TPS is a known function of what it was asked to run. */
const tpsOf = (c: PageConfig, s: StrategyName) =>
  (s === 'dwdp' ? 100 : s === 'dep' ? 80 : 120) * (1 + c.run.lengthCv) + c.run.ranks;

describe('pull ↔ wait links', () => {
  it('link every pull to its destination’s wait at its layer, and every wait to the pulls into it at its layer', () => {
    const N = 3 + rng.int(4);
    const L = 3 + rng.int(4);
    // Per layer: pull this layer's experts from every peer, wait for them, compute (a DWDP rank without prefetch).
    const programs = Array.from({ length: N }, (_, r) => {
      const ops: Op[] = [];
      const peers = [...Array(N).keys()].filter((p) => p !== r);
      for (let l = 0; l < L; l++) {
        for (const p of peers)
          ops.push({ kind: 'pull', id: `r${r}L${l}p${p}`, from: p, bytes: rng.uniform(1, 8) * 2 ** 20, layer: l });
        ops.push({ kind: 'waitPull', ids: peers.map((p) => `r${r}L${l}p${p}`), layer: l });
        ops.push({ kind: 'compute', label: 'gemm', category: 'gemm', durationMs: rng.uniform(0.01, 0.1), layer: l });
      }
      return ops;
    });
    const s = simulate(programs, linkSpec({ egressGBps: 300, latencyUs: 1 }), { copySpans: 'transfers' });
    const rows = timelineRows({
      intervals: s.intervals,
      makespanMs: s.makespanMs,
      ranks: s.ranks.map((m) => ({ rank: m.rank })),
    } as never);
    let pulls = 0;
    rows.forEach((row, i) =>
      row.spans.forEach((span) => {
        const got = pullWaitLinks(rows, { row: i, span }).map(
          (x) => `${rows[x.row].rank}:${x.span.cls}:${x.span.layer}:${x.span.startMs}`,
        );
        // Independently, from the scheduler's intervals.
        const want =
          span.cls === 'pull'
            ? s.intervals.filter((iv) => iv.category === 'wait' && iv.rank === span.peer && iv.layer === span.layer)
            : span.cls === 'wait'
              ? s.intervals.filter((iv) => iv.category === 'pull' && iv.peer === row.rank && iv.layer === span.layer)
              : [];
        expect(got.sort(), withSeed(`${row.name} ${span.cls} layer ${span.layer}`)).toEqual(
          want.map((iv) => `${iv.rank}:${iv.category}:${iv.layer}:${iv.startMs}`).sort(),
        );
        if (span.cls === 'pull') pulls++;
        // A wait is fed by one pull from each peer.
        if (span.cls === 'wait') expect(got.length).toBe(N - 1);
      }),
    );
    expect(pulls).toBe(N * (N - 1) * L);
  });
});

describe('comparisons', () => {
  it('runs every point and strategy in order and computes the ratios from the runs', async () => {
    const calls: string[] = [];
    const runner: StrategyRunner = async (c, s, hooks) => {
      calls.push(`${s}@${c.run.lengthCv}`);
      hooks.onProgress?.({ phase: 'setup', message: 'setup' });
      hooks.onProgress?.({ phase: 'run', rank: 1, layer: 0, message: 'layer' });
      hooks.onProgress?.({ phase: 'done', message: 'done' });
      const r = fakeResult(s, c.run.ranks, rng, tpsOf(c, s));
      return { ...r, outputs: 'big', config: 'parsed' } as unknown as GroupRunResult;
    };
    const cvs = ['0', String(rng.int(100) / 100 + 0.01), '1.5'];
    const form: FormState = { ...defaultForm(), sweep: 'cv', sweepValues: cvs.join(',') };
    const fractions: number[] = [];
    const c = await runComparison(form, runner, { provenance: 'test', onProgress: (p) => fractions.push(p.fraction) });
    // Measured: each point's DEP first (its router counts go to the others), then the rest in order.
    expect(calls, withSeed('run order')).toEqual(
      cvs.flatMap((cv) => ['dep', 'dp', 'dwdp'].map((s) => `${s}@${Number(cv)}`)),
    );
    expect(c.points.every((p) => p.results.map((r) => r.strategy).join() === 'dp,dep,dwdp')).toBe(true);
    expect(c.points.map((p) => p.value)).toEqual(cvs);
    // runGroup's extra fields do not travel with the comparison.
    expect(Object.keys(c.points[0].results[0])).not.toContain('outputs');
    expect(Object.keys(c.points[0].results[0])).not.toContain('config');
    for (const [i, cv] of cvs.entries()) {
      const want =
        tpsOf({ run: { lengthCv: Number(cv), ranks: 4 } } as PageConfig, 'dwdp') /
        tpsOf({ run: { lengthCv: Number(cv), ranks: 4 } } as PageConfig, 'dep');
      const r = c.ratios.find((x) => x.name === `dwdp/dep TPS/GPU @ cv=${cv}`);
      expect(r?.value, withSeed(`ratio at cv=${cv}`)).toBeCloseTo(want, 12);
      expect(c.points[i].results[2].tpsPerGpu / c.points[i].results[1].tpsPerGpu).toBeCloseTo(want, 12);
    }
    // A numeric sweep is read through DWDP/DEP; only categorical sweeps get point-over-first ratios.
    expect(c.ratios.filter((x) => x.name.includes('÷'))).toEqual([]);
    expect(c.sweep).toMatchObject({ field: 'cv', values: cvs });
    // Progress only moves forward and ends at 1.
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1] - 1e-12);
    expect(fractions[fractions.length - 1]).toBe(1);
    expect(c.query).toBe(`sw=cv&swv=${encodeURIComponent(cvs.join(','))}`);
  });

  it('stops at a cancel and does not start another run', async () => {
    const ctl = new AbortController();
    let started = 0;
    let secondStarted!: () => void;
    const second = new Promise<void>((r) => (secondStarted = r));
    // The first run finishes at once; the second stays in flight until it is cancelled.
    const runner: StrategyRunner = (_c, s, hooks) => {
      started++;
      if (started === 2) secondStarted();
      return new Promise((resolve, reject) => {
        hooks.signal?.addEventListener('abort', () => reject(hooks.signal!.reason));
        if (started === 1) resolve(fakeResult(s, 4));
      });
    };
    const p = runComparison(defaultForm(), runner, { provenance: 'test', signal: ctl.signal });
    // The first run finished, the second is in flight (or the comparison ended early: a failure, not a hang).
    await Promise.race([second, p.then(() => Promise.reject(new Error('the comparison ended before a second run')))]);
    ctl.abort(new DOMException('cancelled by the user', 'AbortError'));
    await expect(p).rejects.toThrow('cancelled by the user');
    expect(started).toBe(2);
  });

  it('repeats interleaved: every ratio is the median of its repetitions with their range; the views show the median run', async () => {
    const R = 2 + rng.int(4);
    const calls: string[] = [];
    // Each run's TPS is drawn afresh: the repetitions disagree, as measured runs do.
    const tps: Record<string, number[]> = { dp: [], dep: [], dwdp: [] };
    const runner: StrategyRunner = async (c, s) => {
      calls.push(s);
      const t = rng.uniform(50, 150);
      tps[s].push(t);
      return fakeResult(s, c.run.ranks, rng, t);
    };
    const c = await runComparison({ ...defaultForm(), repeat: String(R) }, runner, { provenance: 'test' });
    expect(calls, withSeed('interleaved order')).toEqual(Array.from({ length: R }, () => ['dep', 'dp', 'dwdp']).flat());
    const p = c.points[0];
    expect(p.repeats!.map((rs) => rs.map((r) => r.tpsPerGpu))).toEqual(
      Array.from({ length: R }, (_, i) => [tps.dp[i], tps.dep[i], tps.dwdp[i]]),
    );
    // fakeResult's TPS/GPU is the drawn t; the ratios per repetition, computed here independently.
    for (const [a, metric] of [
      ['dwdp', 'TPS/GPU'],
      ['dp', 'TPS/GPU'],
    ] as const) {
      const per = tps[a].map((t, i) => t / tps.dep[i]);
      const sorted = [...per].sort((x, y) => x - y);
      const r = c.ratios.find((x) => x.name === `${a}/dep ${metric}`)!;
      expect(r.value, withSeed(`${a} median`)).toBe(sorted[Math.floor((R - 1) / 2)]);
      expect(r.numerator / r.denominator).toBeCloseTo(r.value, 12);
      expect(r.spread).toEqual({
        n: R,
        min: sorted[0],
        max: sorted[R - 1],
        values: per,
        withinNoise: sorted[0] <= 1 && 1 <= sorted[R - 1],
      });
      expect(ratioText(r)).toMatch(new RegExp(`^${r.value.toFixed(4)} \\(${sorted[0].toFixed(4)}–.*, ${R} runs`));
    }
    // The views' run is the repetition whose DWDP/DEP TPS/GPU is that median.
    const shown = p.shownRepetition!;
    expect(p.results[2].tpsPerGpu / p.results[1].tpsPerGpu).toBe(
      c.ratios.find((x) => x.name === 'dwdp/dep TPS/GPU')!.value,
    );
    expect(p.results[2].tpsPerGpu).toBe(tps.dwdp[shown]);
  });

  it('a sweep cancelled part-way keeps its finished points', async () => {
    const ctl = new AbortController();
    const cvs = ['0', '0.2', '0.4'];
    const form: FormState = { ...defaultForm(), sweep: 'cv', sweepValues: cvs.join(',') };
    const stopAt = 3 + rng.int(3); // in the second point (3 strategies per point)
    let n = 0;
    const runner: StrategyRunner = async (c, s) => {
      if (++n === stopAt) ctl.abort(new DOMException('cancelled by the user', 'AbortError'));
      return fakeResult(s, c.run.ranks, rng, tpsOf(c, s));
    };
    const err = await runComparison(form, runner, { provenance: 'test', signal: ctl.signal }).catch((e) => e);
    expect(err, withSeed('a cancel after a finished point')).toBeInstanceOf(ComparisonCancelled);
    expect((err as Error).name).toBe('AbortError');
    expect((err as Error).message).toBe('cancelled by the user');
    const partial = (err as ComparisonCancelled).partial;
    // The run that saw the cancel finished the second point only when it was its last strategy.
    const done = stopAt === 6 ? 2 : 1;
    expect(partial.points.map((p) => p.value)).toEqual(cvs.slice(0, done));
    expect(partial.sweep!.values).toEqual(cvs.slice(0, done));
    expect(partial.partial).toEqual({ done, of: 3 });
    expect(partial.ratios.map((r) => r.name)).toEqual(
      cvs
        .slice(0, done)
        .flatMap((cv) =>
          ['dwdp', 'dp'].flatMap((a) => [`${a}/dep TPS/GPU @ cv=${cv}`, `${a}/dep TPS/user @ cv=${cv}`]),
        ),
    );
  });

  it('the ETA: elapsed only until a run finished, then elapsed × (1 − f) ÷ f', () => {
    const ms = rng.uniform(1000, 50_000);
    const f = rng.uniform(0.5, 0.95); // so the time left stays under 90 s, printed in seconds
    expect(etaText(ms, f, 0)).toBe(`${Math.round(ms / 1000)} s`);
    expect(etaText(ms, f, 1)).toBe(
      `${Math.round(ms / 1000)} s · about ${Math.round((ms * (1 - f)) / f / 1000)} s left`,
    );
    expect(etaText(ms, 1, 3)).toBe(`${Math.round(ms / 1000)} s`);
    expect(etaText(600_000, 0.5, 2)).toBe('10 min · about 10 min left');
  });

  it('refuses a form with errors, naming the field', async () => {
    const runner: StrategyRunner = async () => {
      throw new Error('must not run');
    };
    await expect(runComparison({ ...defaultForm(), tokens: 'x' }, runner, { provenance: 't' })).rejects.toThrow(
      "Tokens per rank: Tokens per rank must be a number (got 'x')",
    );
  });

  it('gives an ablation its point-over-first ratios', async () => {
    const runner: StrategyRunner = async (c, s) =>
      fakeResult(s, c.run.ranks, rng, (c.run.link.contentionFix ? 100 : 80) + (s === 'dwdp' ? 1 : 0));
    const c = await runComparison(
      { ...defaultForm(), strategies: 'dep,dwdp', sweep: 'fix', sweepValues: 'on,off' },
      runner,
      { provenance: 'test' },
    );
    const names = c.ratios.map((r) => r.name);
    expect(names).toContain('dwdp TPS/GPU fix=off ÷ fix=on');
    expect(c.ratios.find((r) => r.name === 'dwdp TPS/GPU fix=off ÷ fix=on')!.value).toBeCloseTo(81 / 101, 12);
    expect(c.ratios.find((r) => r.name === 'dep TPS/GPU fix=off ÷ fix=on')!.value).toBeCloseTo(80 / 100, 12);
  });

  it('gives every strategy of a point the GEMM rate the first run (DEP) measured', async () => {
    const seen: { s: StrategyName; given: number | undefined }[] = [];
    const rates: number[] = [];
    const profileGflops = 6e6;
    const runner: StrategyRunner = async (c, s) => {
      const td = c.run.timeDilation!;
      seen.push({ s, given: td.deviceGflops });
      const r = fakeResult(s, c.run.ranks);
      // As runGroup does: a given rate is used as is, else a fresh (noisy) measurement.
      const deviceGflops = td.deviceGflops ?? 0.1 * (1 + rng.next());
      if (td.deviceGflops === undefined) rates.push(deviceGflops);
      const factor = deviceGflops / profileGflops;
      const dilation = {
        profile: td.profile,
        factor,
        deviceGflops,
        profileGflops,
        measuredInRun: td.deviceGflops === undefined,
      };
      return { ...r, link: { ...r.link, gbps: c.run.link.gbps * factor, dilation } };
    };
    const form = { ...defaultForm(), sweep: 'cv', sweepValues: '0,0.3' };
    const c = await runComparison(form, runner, { provenance: 'test' });
    expect(rates.length, 'one measurement per point').toBe(2);
    expect(seen.map((x) => x.given)).toEqual([undefined, rates[0], rates[0], undefined, rates[1], rates[1]]);
    for (const [i, p] of c.points.entries()) {
      // Bit for bit the runner's own arithmetic on the first run's rate (a tolerance of 5e-21 on
      // a product of this size was one ulp, which a different order of operations can exceed).
      for (const g of p.results.map((r) => r.link.gbps))
        expect(g, withSeed(`point ${i}`)).toBe(900 * (rates[i] / profileGflops));
      // Shown in the form's order (DP, DEP, DWDP); DEP ran first and measured the rate.
      expect(p.results.map((r) => [r.strategy, r.link.dilation?.measuredInRun])).toEqual([
        ['dp', false],
        ['dep', true],
        ['dwdp', false],
      ]);
    }
  });

  it('has ratios only for the pairs that ran', () => {
    const point = { value: null, results: [fakeResult('dp', 2), fakeResult('dwdp', 2)] };
    expect(comparisonRatios(['dp', 'dwdp'], [point], null)).toEqual([]);
    const p2 = { value: null, results: [fakeResult('dep', 2), fakeResult('dwdp', 2)] };
    const names = comparisonRatios(['dep', 'dwdp'], [p2], null).map((r) => r.name);
    expect(names).toEqual(['dwdp/dep TPS/GPU', 'dwdp/dep TPS/user']);
  });
});

describe('crossover', () => {
  it('finds every crossing of 1 by interpolation, in linear and log x', () => {
    for (let trial = 0; trial < 100; trial++) {
      const n = 2 + rng.int(8);
      const xs: number[] = [];
      for (let i = 0, x = 1 + rng.next(); i < n; i++, x *= 1.5 + rng.next()) xs.push(x);
      const ratios = xs.map(() => 0.5 + rng.next());
      const log = rng.next() < 0.5;
      const t = (x: number) => (log ? Math.log(x) : x);
      const found = crossovers(xs, ratios, log);
      let changes = 0;
      for (let i = 1; i < n; i++) if ((ratios[i - 1] - 1) * (ratios[i] - 1) < 0) changes++;
      expect(found.length, withSeed(`trial ${trial}`)).toBe(changes);
      for (const x of found) {
        const i = xs.findIndex((v, j) => j > 0 && xs[j - 1] <= x && x <= v);
        const u = (t(x) - t(xs[i - 1])) / (t(xs[i]) - t(xs[i - 1]));
        expect(ratios[i - 1] + u * (ratios[i] - ratios[i - 1]), withSeed(`ratio at crossover ${x}`)).toBeCloseTo(1, 9);
      }
    }
    expect(crossovers([1, 2, 3], [0.9, 1, 1.1])).toEqual([2]);
    expect(crossovers([1, 2], [1.2, 1.1])).toEqual([]);
  });
});

describe('timeline rows', () => {
  it('tile each compute stream from 0 to the makespan; idle is exactly the uncovered time', () => {
    for (let trial = 0; trial < 30; trial++) {
      const r = fakeResult('dwdp', 1 + rng.int(5));
      const rows = timelineRows(r);
      expect(rows.map((x) => x.name)).toEqual(r.ranks.flatMap((k) => [`r${k.rank} compute`, `r${k.rank} copy engine`]));
      for (const row of rows.filter((x) => x.lane === 'compute')) {
        // Contiguous, non-overlapping, from 0 to the makespan.
        expect(row.spans[0].startMs).toBe(0);
        for (let i = 1; i < row.spans.length; i++)
          expect(row.spans[i].startMs, withSeed(`${row.name} span ${i}`)).toBe(row.spans[i - 1].endMs);
        expect(row.spans[row.spans.length - 1].endMs).toBe(r.makespanMs);
        // Brute force on the integer-ms grid: a cell is idle when no compute interval covers it.
        const covered = new Array<boolean>(r.makespanMs).fill(false);
        for (const iv of r.intervals)
          if (iv.rank === row.rank && iv.lane === 'compute')
            for (let t = iv.startMs; t < iv.endMs; t++) covered[t] = true;
        const idle = row.spans.filter((s) => s.cls === 'idle').reduce((a, s) => a + s.endMs - s.startMs, 0);
        expect(idle, withSeed(row.name)).toBe(covered.filter((c) => !c).length);
        for (let t = 0; t < r.makespanMs; t++)
          expect(spanAt(row, t + 0.5)?.cls === 'idle', withSeed(`${row.name} t=${t}`)).toBe(!covered[t]);
      }
      // Unknown compute categories show as 'other'; blocked time keeps its kind.
      const totals = classTotals(rows);
      const sum = (cat: string) =>
        r.intervals
          .filter((iv) => iv.lane === 'compute' && iv.category === cat)
          .reduce((a, iv) => a + iv.endMs - iv.startMs, 0);
      expect(totals.wait).toBe(sum('wait'));
      expect(totals.sync).toBe(sum('sync'));
      expect(totals.other).toBe(sum('mystery') + sum('other'));
      // Every compute kind keeps its own class (the shared expert's GEMMs arrive as 'dense').
      for (const cls of ['attention', 'router', 'gemm', 'dense', 'combine', 'merge', 'collective', 'comm'] as const)
        expect(totals[cls], withSeed(cls)).toBe(sum(cls));
      const copy = r.intervals.filter((iv) => iv.lane === 'copy');
      expect(totals.pull + totals.send).toBe(copy.reduce((a, iv) => a + iv.endMs - iv.startMs, 0));
    }
  });
});

describe("timeline classes of the layer's timed passes", () => {
  it("shows the shared expert's GEMMs as the legend's shared expert, the routed ones as the grouped GEMM", () => {
    // Pass labels as the layer times them (the shared expert's under the 'shared ' scope), in a step of any category.
    const want: Record<string, string> = {
      'shared gate_up': 'dense',
      'shared down': 'dense',
      gate_up: 'gemm',
      down: 'gemm',
      router: 'router',
      permute: 'router',
      combine: 'combine',
      attention: 'attention',
    };
    for (const step of ['gemm', 'dense', 'other'] as const) {
      for (const [pass, cls] of Object.entries(want)) {
        const iv = {
          rank: 0,
          lane: 'compute' as const,
          label: `${pass} L0`,
          category: categoryOf(pass, step),
          layer: 0,
          startMs: 0,
          endMs: 1,
        };
        expect(classify(iv), `${pass} in a '${step}' step`).toBe(cls);
      }
    }
    expect(SPAN_CLASSES.find((c) => c.cls === 'dense')!.label).toBe(
      'dense GEMM (shared expert, dense MLP, router logits)',
    );
  });
});

describe('topology', () => {
  it('lists the transfers in flight and their totals', () => {
    const r = fakeResult('dwdp', 2 + rng.int(6));
    for (let t = 0; t < r.makespanMs; t += 0.5) {
      const want = r.intervals.filter((iv) => iv.lane === 'copy' && iv.startMs <= t && t < iv.endMs);
      const got = flowsAt(r, t);
      expect(got.length, withSeed(`t=${t}`)).toBe(want.length);
      got.forEach((f, i) => {
        expect(f.from).toBe(want[i].rank);
        expect(f.to).toBe(want[i].peer);
        expect(f.bytesPerMs).toBeCloseTo(want[i].bytes! / (want[i].endMs - want[i].startMs), 9);
      });
    }
    const totals = flowTotals(r);
    const all = r.intervals.filter((iv) => iv.lane === 'copy').reduce((a, iv) => a + iv.bytes!, 0);
    expect(totals.flat().reduce((a, b) => a + b, 0)).toBe(all);
    totals.forEach((row, i) => expect(row[i]).toBe(0));
    // The arrows' scale: the fastest transfer of the run, which no flow in flight exceeds.
    const rates = r.intervals.filter((iv) => iv.lane === 'copy').map((iv) => iv.bytes! / (iv.endMs - iv.startMs));
    if (rates.length) expect(peakRate(r), withSeed('peak rate')).toBeCloseTo(Math.max(...rates), 9);
    else expect(peakRate(r)).toBeLessThan(1e-9);
    for (let t = 0; t < r.makespanMs; t += 0.5)
      for (const f of flowsAt(r, t)) expect(f.bytesPerMs).toBeLessThanOrEqual(peakRate(r));
  });

  it('places ranks on the unit ring and maps views both ways', () => {
    const n = 1 + rng.int(16);
    const ring = ringLayout(n);
    if (n > 1) {
      expect(ring[0].x).toBeCloseTo(0, 12);
      expect(ring[0].y).toBeCloseTo(1, 12);
      for (const p of ring) expect(Math.hypot(p.x, p.y)).toBeCloseTo(1, 12);
      if (n > 2) expect(ring[1].x, 'clockwise').toBeGreaterThan(0);
    }
    const w = 200 + rng.int(800);
    const h = 200 + rng.int(800);
    const v = { zoom: 0.5 + rng.next() * 3, panX: rng.uniform(-100, 100), panY: rng.uniform(-100, 100) };
    const m = viewMatrix(w, h, v);
    const [cx, cy] = project(m, 0, 0);
    // gl-matrix computes in float32: a thousandth of a pixel is the precision that matters.
    expect(cx).toBeCloseTo(w / 2 + v.panX, 3);
    expect(cy).toBeCloseTo(h / 2 + v.panY, 3);
    const [, top] = project(m, 0, 1);
    expect(top, 'y up in ring coordinates is up on the canvas').toBeLessThan(cy);
    for (const p of ring) {
      const [px, py] = project(m, p.x, p.y);
      const [x, y] = unproject(m, px, py);
      expect(x).toBeCloseTo(p.x, 4);
      expect(y).toBeCloseTo(p.y, 4);
    }
    // Zooming about a point keeps the ring point under it in place.
    const sx = rng.uniform(0, w);
    const sy = rng.uniform(0, h);
    const under = unproject(m, sx, sy);
    const v2 = zoomAbout(v, 1.7, sx, sy, w, h);
    const [qx, qy] = project(viewMatrix(w, h, v2), under[0], under[1]);
    expect(qx, withSeed('zoom anchor x')).toBeCloseTo(sx, 2);
    expect(qy, withSeed('zoom anchor y')).toBeCloseTo(sy, 2);
  });
});

describe('provenance', () => {
  it('badges and provenance lines come from the data, not from the words', () => {
    const r = fakeResult('dwdp', 2);
    // Words that would mislead a prefix test: the data says measured.
    r.timeSource = 'modeled, said nobody';
    expect(sourceBadge(r)).toBe('measured here');
    r.provenance = { kind: 'modeled', profile: 'h200-hgx', profileName: 'H200 HGX', calibration: 'defaults' };
    r.timeSource = 'measured here, said nobody';
    expect(sourceBadge(r)).toBe('modeled');
    expect(provenance(r)).toBe('modeled: roofline cost model on H200 HGX (defaults), scheduled in virtual time');
    r.provenance = { kind: 'measured', adapter: 'A', timer: 'host', clock: 'wall' };
    expect(sourceBadge(r)).toBe('measured here');
  });
});

describe('summary and exports', () => {
  const comparison = (): Comparison => {
    const strategies: StrategyName[] = ['dp', 'dep', 'dwdp'];
    const n = 2 + rng.int(4);
    const points = ['0', '0.4'].map((value) => ({ value, results: strategies.map((s) => fakeResult(s, n)) }));
    return {
      source: 'measured',
      provenance: 'measured here (test)',
      form: defaultForm(),
      query: 'sw=cv&swv=0,0.4',
      modelName: 'tiny-deepseek',
      strategies,
      sweep: { field: 'cv', label: 'input-length CV', log: false, values: ['0', '0.4'] },
      points,
      ratios: comparisonRatios(strategies, points, {
        field: 'cv',
        label: 'input-length CV',
        log: false,
        values: ['0', '0.4'],
      }),
      startedAt: new Date().toISOString(),
      elapsedMs: 1234,
    };
  };

  it('summarizes a run against DEP', () => {
    const dep = fakeResult('dep', 3);
    const dw = fakeResult('dwdp', 3);
    const s = summaryRow(dw, dep);
    expect(s.tpsPerGpuVsDep).toBeCloseTo(dw.tpsPerGpu / dep.tpsPerGpu, 12);
    expect(s.tpsPerUserVsDep).toBeCloseTo(dw.tpsPerUser / dep.tpsPerUser, 12);
    expect(s.hiddenPullFraction).toBe(dw.hiddenPullFraction);
    expect(s.bytesPulledPerRank).toBeCloseTo((1000 + 2000 + 3000) / 3, 9);
    expect(s.weightBytesPerRank).toBe((1 << 12) + 512);
    expect(summaryRow(dep, dep).hiddenPullFraction, 'DEP pulls nothing').toBeNull();
    expect(summaryRow(dw, undefined).tpsPerGpuVsDep).toBeNull();
  });

  it('writes a CSV that reads back to the runs', () => {
    const c = comparison();
    const lines = comparisonCsv(c).trimEnd().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    const rows = lines.slice(1).map(parseCsvLine);
    const want = c.points.flatMap((p) => p.results.flatMap((r) => r.ranks.map((k) => ({ p, r, k }))));
    expect(rows.length).toBe(want.length);
    const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    rows.forEach((row, i) => {
      const { p, r, k } = want[i];
      expect(row.length).toBe(CSV_COLUMNS.length);
      expect(row[col('sweep_value')]).toBe(p.value);
      expect(row[col('strategy')]).toBe(r.strategy);
      expect(Number(row[col('rank')])).toBe(k.rank);
      expect(Number(row[col('compute_ms')])).toBe(k.computeMs);
      expect(Number(row[col('tps_per_gpu')])).toBe(r.tpsPerGpu);
      expect(row[col('source')]).toBe(FAKE_SOURCE);
    });
  });

  it('exports JSON that parses back to the comparison, and tables that say where numbers come from', () => {
    const c = comparison();
    const back = JSON.parse(comparisonJson(c));
    expect(back.version).toBe(1);
    expect(back.points).toEqual(c.points);
    const text = summaryText(c);
    expect(text).toContain('TPS/GPU (tok/s, measured here)');
    expect(text.split('\n').length).toBe(2 + 6);
    const md = summaryMarkdown(c);
    expect(md).toContain(FAKE_SOURCE);
    for (const r of c.ratios) expect(md).toContain(r.name);
  });

  it('links summary.md to the page with the same form, at the defaults too', () => {
    const changed: FormState = {
      ...defaultForm(),
      tokens: String(1 + rng.int(4096)),
      sweep: 'cv',
      sweepValues: '0,0.4',
    };
    for (const form of [defaultForm(), changed]) {
      const c = { ...comparison(), form, query: formToQuery(form) };
      const line = summaryMarkdown(c)
        .split('\n')
        .find((l) => l.startsWith('- Page: '));
      const link = /<([^>]+)>/.exec(line ?? '')?.[1];
      expect(link, withSeed(line ?? 'no Page line')).toBeDefined();
      expect(link!.startsWith(DEV_PAGE)).toBe(true);
      expect(queryToForm(new URL(link!).search), withSeed(link!)).toEqual(form);
    }
    expect(pageUrl(DEV_PAGE, '')).toBe(DEV_PAGE);
    expect(pageUrl('/p', 't=1')).toBe('/p?t=1');
  });

  it('says where the numbers come from: the runs, and per point the dilation (rate measured, profile modeled)', () => {
    const c = comparison();
    const by: string[] = [];
    c.points.forEach((p, i) => {
      const d = {
        profile: 'gb200-nvl72',
        factor: 1e-5 * (i + 1),
        deviceGflops: 0.5 + i,
        profileGflops: 5e6,
        measuredInRun: true,
      };
      // The run that measured the rate: a random one of the point's, or (the last point) none, as when a later repetition is shown.
      const k = i === c.points.length - 1 ? -1 : rng.int(p.results.length);
      p.results.forEach((r, j) => (r.link = { ...r.link, dilation: { ...d, measuredInRun: j === k } }));
      by.push(k < 0 ? "the point's first run" : `the ${p.results[k].strategy} run`);
    });
    const lines = sourceLines(c);
    expect(lines[0]).toBe(`Numbers: ${FAKE_SOURCE}`);
    expect(lines.length).toBe(1 + c.points.length);
    c.points.forEach((p, i) => {
      const factor = (1e-5 * (i + 1)).toExponential(3);
      expect(lines[1 + i]).toBe(
        `Time dilation at cv=${p.value}: link × ${factor} (this device ${(0.5 + i).toFixed(3)} GFLOP/s grouped GEMM, ` +
          `measured in ${by[i]} and applied to every strategy; gb200-nvl72 5000000 GFLOP/s, modeled); no copy interference (no scale target)`,
      );
    });
    const md = summaryMarkdown(c);
    for (const l of lines) expect(md).toContain(`- ${l}`);
  });

  it("under a scale model the dilation line prints the factor the link was scaled by: the scale model's, not the rate ratio", () => {
    const c = comparison();
    const p = c.points[0];
    const rate = 0.5 + rng.next();
    const ratio = 1e-7 * (1 + rng.next());
    const applied = ratio * (2 + rng.next()); // at least twice the ratio: the two never print alike
    const interference = 0.01 + rng.next(); // > 0: a target with copy interference
    const virtual = rng.next() < 0.5;
    p.results.forEach((r, j) => {
      r.link = {
        ...r.link,
        gbps: 900 * applied,
        dilation: {
          profile: 'gb200-nvl72',
          factor: ratio,
          deviceGflops: rate,
          profileGflops: 6e6,
          measuredInRun: j === 0,
        },
      };
      r.similarity = {
        link: { value: applied, why: 'compute : pull' },
        copyInterference: { value: interference, applied: virtual, why: '' },
      } as GroupRunResult['similarity'];
    });
    const line = sourceLines(c)[1];
    expect(line, withSeed(line)).toContain(
      `link × ${applied.toExponential(3)} (the scale model's compute : pull factor, from this device ${rate.toFixed(3)}`,
    );
    // The target's copy interference, and whether the run's timeline applied it (the wall clock cannot).
    expect(line, withSeed(line)).toContain(
      `; copy interference s = ${interference} (the target's, modeled) ${virtual ? 'applied in the timeline' : 'NOT applied (wall clock)'}`,
    );
    expect(line, withSeed(line)).not.toContain(ratio.toExponential(3));
  });
});

describe('trace export', () => {
  it('puts every run of a comparison in one trace, each interval once, runs apart', () => {
    const strategies: StrategyName[] = ['dep', 'dwdp'];
    const points = ['on', 'off'].map((value) => ({
      value,
      results: strategies.map((s) => fakeResult(s, 2 + rng.int(4))),
    }));
    const sweep = { field: 'fix' as const, label: 'contention fix', log: false, values: ['on', 'off'] };
    const c: Comparison = {
      source: 'measured',
      provenance: 'p',
      form: defaultForm(),
      query: 'q',
      modelName: 'm',
      strategies,
      sweep,
      points,
      ratios: [],
      startedAt: 'now',
      elapsedMs: 0,
    };
    const t = comparisonTrace(c);
    const runs = points.flatMap((p) => p.results.map((r) => ({ p, r })));
    runs.forEach(({ p, r }, i) => {
      const xs = t.traceEvents.filter((e) => e.ph === 'X' && Math.floor(e.pid / PIDS_PER_RUN) === i);
      expect(xs.length, withSeed(`run ${i}`)).toBe(r.intervals.length);
      // Same multiset of (rank, start, duration) as the run's intervals.
      const key = (rank: number, ts: number, dur: number) => `${rank}:${ts.toFixed(6)}:${dur.toFixed(6)}`;
      expect(xs.map((e) => key(e.pid - i * PIDS_PER_RUN, e.ts!, e.dur!)).sort()).toEqual(
        r.intervals.map((iv) => key(iv.rank, iv.startMs * 1000, (iv.endMs - iv.startMs) * 1000)).sort(),
      );
      const names = t.traceEvents
        .filter((e) => e.name === 'process_name' && Math.floor(e.pid / PIDS_PER_RUN) === i)
        .map((e) => e.args!.name);
      expect(names).toEqual(r.ranks.map((k) => `${r.strategy.toUpperCase()} @ fix=${p.value} · rank ${k.rank}`));
    });
    expect(t.otherData.modeled).toBe(false);
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });
});

/** A strict RFC 4180 line parser (no newlines inside fields in these rows). */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') {
          s += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else s += line[i++];
      }
      out.push(s);
      i++; // comma
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? line.length : j;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}
