// The virtual-time scheduler: barriers (the DEP synchronization), independence of DWDP ranks,
// copy-engine exclusivity, transfer timing against the link model's slice-level reference,
// time accounting, determinism and deadlock reports.
import { describe, expect, it } from 'vitest';
import { LinkFluid, linkSpec, type Transfer } from '../src/timeline/link.ts';
import { simulateSliced } from '../src/timeline/link-reference.ts';
import { simulate, simulateGroups, type Schedule } from '../src/timeline/scheduler.ts';
import { EveryEventLinkFluid } from '../src/timeline/link-every-event.ts';
import type { Op, Program } from '../src/timeline/ops.ts';
import type { ComputeCategory } from '../src/timeline/categories.ts';
import { Rng } from '../src/util/random.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const tag = (s: string) => `${s} (seed ${seed})`;
const MiB = 1 << 20;
const compute = (label: string, durationMs: number, layer?: number, category: ComputeCategory = 'gemm'): Op => ({
  kind: 'compute',
  label,
  category,
  durationMs,
  layer,
});

function expectAccountingAddsUp(s: ReturnType<typeof simulate>): void {
  for (const m of s.ranks) {
    const sum = m.computeMs + m.waitMs + m.syncMs + m.commMs + m.idleMs;
    expect(Math.abs(sum - s.makespanMs), tag(`rank ${m.rank} accounting`)).toBeLessThanOrEqual(
      1e-9 * Math.max(1, s.makespanMs),
    );
  }
}

/** A DWDP-like program: per layer, issue the pulls of layer l+1 from every peer, wait for layer l's, compute. */
function dwdpLike(rank: number, N: number, layers: number, durations: number[], bytes: number): Op[] {
  const ops: Op[] = [];
  const peers = [...Array(N).keys()].filter((p) => p !== rank);
  const pullLayer = (l: number) =>
    peers.forEach((p) => ops.push({ kind: 'pull', id: `L${l}p${p}`, from: p, bytes, layer: l }));
  pullLayer(0);
  for (let l = 0; l < layers; l++) {
    if (l + 1 < layers) pullLayer(l + 1);
    ops.push({ kind: 'waitPull', ids: peers.map((p) => `L${l}p${p}`), layer: l });
    ops.push(compute(`moe ${l}`, durations[l], l));
  }
  return ops;
}

describe('scheduler', () => {
  it('runs one rank’s compute back to back', () => {
    const d = Array.from({ length: 20 }, () => rng.uniform(0, 3));
    const s = simulate([d.map((x, i) => compute(`op${i}`, x))], linkSpec({ egressGBps: 100 }));
    expect(s.makespanMs).toBeCloseTo(
      d.reduce((a, b) => a + b, 0),
      9,
    );
    const iv = s.intervals.filter((i) => i.lane === 'compute');
    for (let k = 1; k < iv.length; k++) expect(iv[k].startMs).toBeCloseTo(iv[k - 1].endMs, 12);
    expect(s.ranks[0].computeMs).toBeCloseTo(s.makespanMs, 9);
  });

  it('DEP barrier: the slowest rank sets every layer’s end', () => {
    const N = 2 + rng.int(7);
    const L = 5 + rng.int(10);
    const d = Array.from({ length: N }, () => Array.from({ length: L }, () => rng.uniform(0.1, 2)));
    const programs: Program[] = d.map((row) =>
      row.flatMap((x, l): Op[] => [compute(`attn ${l}`, x, l), { kind: 'barrier', id: `moe${l}`, layer: l }]),
    );
    const s = simulate(programs, linkSpec({ egressGBps: 100 }));
    // Float64 reference: release(l) = max over ranks of (release(l−1) + d[r][l]).
    let release = 0;
    const sync = new Array<number>(N).fill(0);
    for (let l = 0; l < L; l++) {
      const arrive = d.map((row) => release + row[l]);
      release = Math.max(...arrive);
      arrive.forEach((a, r) => (sync[r] += release - a));
      expect(s.barrierRelease.get(`moe${l}`), tag(`layer ${l}`)).toBeCloseTo(release, 9);
    }
    s.ranks.forEach((m, r) => {
      expect(m.endMs, tag('end')).toBeCloseTo(release, 9);
      expect(m.syncMs, tag('sync')).toBeCloseTo(sync[r], 9);
    });
    // Every rank starts layer l+1 exactly when barrier l released.
    for (let l = 0; l + 1 < L; l++) {
      const starts = s.intervals
        .filter((i) => i.lane === 'compute' && i.category === 'gemm' && i.layer === l + 1)
        .map((i) => i.startMs);
      for (const t of starts) expect(t).toBeCloseTo(s.barrierRelease.get(`moe${l}`)!, 9);
    }
    expectAccountingAddsUp(s);
  });

  it('DWDP: a slow rank does not delay the others (pulls hidden) but delays everyone under DEP', () => {
    const N = 3 + rng.int(4);
    const L = 8;
    const base = Array.from({ length: L }, () => rng.uniform(1, 2));
    const link = linkSpec({ egressGBps: 900, latencyUs: 2, contentionFix: rng.next() < 0.5 });
    const bytes = 8 * MiB; // ≈ (N−1)·9 µs per layer at 900 GB/s: hidden under ≥ 1 ms of compute
    const slow = rng.int(N);
    const run = (slowFactor: number) =>
      simulate(
        Array.from({ length: N }, (_, r) =>
          dwdpLike(
            r,
            N,
            L,
            base.map((x) => (r === slow ? x * slowFactor : x)),
            bytes,
          ),
        ),
        link,
      );
    const a = run(1);
    const b = run(3);
    for (let r = 0; r < N; r++) {
      if (r === slow) continue;
      expect(b.ranks[r].endMs, tag(`rank ${r}`)).toBeCloseTo(a.ranks[r].endMs, 9);
    }
    expect(b.ranks[slow].endMs).toBeGreaterThan(a.ranks[slow].endMs * 2);
    // The same programs with a barrier per layer: everyone ends with the slow rank.
    const withBarrier = (slowFactor: number) =>
      Array.from({ length: N }, (_, r) =>
        dwdpLike(
          r,
          N,
          L,
          base.map((x) => (r === slow ? x * slowFactor : x)),
          bytes,
        ).flatMap((op): Op[] => (op.kind === 'compute' ? [op, { kind: 'barrier', id: `b${op.layer}` }] : [op])),
      );
    const c = simulate(withBarrier(3), link);
    for (let r = 0; r < N; r++) expect(c.ranks[r].endMs).toBeCloseTo(c.makespanMs, 9);
    expect(c.makespanMs).toBeCloseTo(b.ranks[slow].endMs, 6);
    expectAccountingAddsUp(b);
  });

  it('pull timing matches the slice-level link reference (fix off: exactly)', () => {
    for (let trial = 0; trial < 20; trial++) {
      const N = 2 + rng.int(4);
      const ts: Transfer[] = [];
      for (let k = 0; k < 1 + rng.int(10); k++) {
        const dst = rng.int(N);
        let src = rng.int(N - 1);
        if (src >= dst) src++;
        // Distinct submit times: simultaneous submissions from different ranks enter a FIFO in
        // rank order here and in array order in the reference.
        ts.push({ src, dst, bytes: Math.round(rng.uniform(0.1, 30) * MiB), submitMs: rng.uniform(0, 0.05) });
      }
      ts.sort((a, b) => a.submitMs - b.submitMs);
      const spec = linkSpec({ egressGBps: rng.uniform(200, 900), latencyUs: rng.uniform(0, 3), contentionFix: false });
      const ref = simulateSliced(ts, spec);
      // Each rank: wait for the submit time, pull; at the end wait for all of its pulls.
      const programs: Op[][] = Array.from({ length: N }, () => []);
      ts.forEach((t, i) =>
        programs[t.dst].push(
          { kind: 'notBefore', atMs: t.submitMs },
          { kind: 'pull', id: `t${i}`, from: t.src, bytes: t.bytes },
        ),
      );
      programs.forEach((ops, r) => {
        const ids = ops.flatMap((o) => (o.kind === 'pull' ? [o.id] : []));
        if (ids.length) ops.push({ kind: 'waitPull', ids });
        else ops.push(compute('nothing', 0));
        void r;
      });
      const s = simulate(programs, spec);
      for (let r = 0; r < N; r++) {
        const mine = ts.flatMap((t, i) => (t.dst === r ? [ref[i]] : []));
        if (mine.length === 0) continue;
        expect(s.ranks[r].endMs, tag(`trial ${trial} rank ${r}`)).toBeCloseTo(Math.max(...mine), 9);
        expect(s.ranks[r].bytesPulled).toBe(ts.filter((t) => t.dst === r).reduce((a, t) => a + t.bytes, 0));
      }
    }
  });

  it('never overlaps transfers on one copy engine', () => {
    for (const fix of [false, true]) {
      const N = 3 + rng.int(4);
      const L = 6;
      const programs = Array.from({ length: N }, (_, r) =>
        dwdpLike(
          r,
          N,
          L,
          Array.from({ length: L }, () => rng.uniform(0.01, 0.2)),
          Math.round(rng.uniform(1, 20) * MiB),
        ),
      );
      const s = simulate(programs, linkSpec({ egressGBps: 400, ingressGBps: 300, latencyUs: 1, contentionFix: fix }));
      for (let r = 0; r < N; r++) {
        const copies = s.intervals.filter((i) => i.rank === r && i.lane === 'copy');
        expect(copies.length).toBeGreaterThan(0);
        for (let k = 1; k < copies.length; k++)
          expect(copies[k].startMs, tag(`fix ${fix} rank ${r}`)).toBeGreaterThanOrEqual(copies[k - 1].endMs - 1e-12);
        const compute = s.intervals.filter((i) => i.rank === r && i.lane === 'compute');
        for (let k = 1; k < compute.length; k++)
          expect(compute[k].startMs).toBeGreaterThanOrEqual(compute[k - 1].endMs - 1e-12);
      }
      // Every byte pulled appears on the sources' engines.
      const moved = s.intervals.filter((i) => i.lane === 'copy').reduce((a, i) => a + i.bytes!, 0);
      const pulled = s.ranks.reduce((a, m) => a + m.bytesPulled, 0);
      expect(Math.abs(moved - pulled)).toBeLessThanOrEqual(1e-6 * pulled);
      expectAccountingAddsUp(s);
    }
  });

  it('files one copy span per transfer on request, from its first byte to its landing: every byte and every metric unchanged', () => {
    for (const fix of [false, true]) {
      const N = 3 + rng.int(4);
      const L = 5;
      const programs = Array.from({ length: N }, (_, r) =>
        dwdpLike(
          r,
          N,
          L,
          Array.from({ length: L }, () => rng.uniform(0.01, 0.2)),
          Math.round(rng.uniform(1, 20) * MiB),
        ),
      );
      const link = linkSpec({ egressGBps: 400, ingressGBps: 300, latencyUs: 1, contentionFix: fix });
      const pieces = simulate(programs, link);
      const whole = simulate(programs, link, { copySpans: 'transfers' });
      expect(whole.ranks, tag('metrics')).toEqual(pieces.ranks);
      expect(whole.makespanMs).toBe(pieces.makespanMs);
      const computeOf = (s: typeof pieces) => s.intervals.filter((i) => i.lane === 'compute');
      expect(computeOf(whole)).toEqual(computeOf(pieces));
      // Each pull is one transfer (its id is unique per destination, layer and source): its
      // pieces, merged here independently, are the one span filed for it.
      const merged = new Map<string, { startMs: number; endMs: number; bytes: number }>();
      for (const i of pieces.intervals.filter((x) => x.lane === 'copy')) {
        const k = `${i.rank}|${i.peer}|${i.layer}`;
        const m = merged.get(k);
        if (!m) merged.set(k, { startMs: i.startMs, endMs: i.endMs, bytes: i.bytes! });
        else {
          m.startMs = Math.min(m.startMs, i.startMs);
          m.endMs = Math.max(m.endMs, i.endMs);
          m.bytes += i.bytes!;
        }
      }
      const copies = whole.intervals.filter((i) => i.lane === 'copy');
      expect(copies.length, tag('one span per pull')).toBe(N * (N - 1) * L);
      expect(merged.size).toBe(copies.length);
      // A pull's span covers its pieces (it moves from its first step on, and lands a latency
      // after its last byte) and carries its bytes exactly.
      const latencyMs = link.latencyUs / 1000;
      for (const c of copies) {
        const m = merged.get(`${c.rank}|${c.peer}|${c.layer}`)!;
        expect(c.startMs, tag(`fix ${fix} start`)).toBeLessThanOrEqual(m.startMs);
        expect(c.endMs, tag(`fix ${fix} end`)).toBeGreaterThanOrEqual(m.endMs + latencyMs - 1e-12 * c.endMs);
        expect(c.bytes, tag(`fix ${fix} bytes`)).toBe(programs[c.peer!].find((o) => o.kind === 'pull')!.bytes);
        expect(Math.abs(c.bytes! - m.bytes), tag(`fix ${fix} bytes`)).toBeLessThanOrEqual(1e-9 * m.bytes);
      }
      // The landings are what the waits see: a wait that blocked ends when its last pull lands.
      for (const w of whole.intervals.filter((i) => i.category === 'wait')) {
        const into = copies.filter((c) => c.peer === w.rank && c.layer === w.layer);
        expect(into.length).toBe(N - 1);
        expect(Math.max(...into.map((c) => c.endMs)), tag(`wait of rank ${w.rank} layer ${w.layer}`)).toBe(w.endMs);
      }
    }
  });

  it('accounts pull wait, pull time and the hidden fraction', () => {
    const bytes = Math.round(rng.uniform(10, 100) * MiB);
    const gbps = rng.uniform(50, 500);
    const lat = rng.uniform(0, 10);
    const tPull = bytes / (gbps * 1e6);
    const c = rng.uniform(0.1, 0.9) * tPull;
    const programs: Program[] = [
      [{ kind: 'pull', id: 'a', from: 1, bytes }, compute('c', c), { kind: 'waitPull', ids: ['a'] }],
      [compute('idle', 0)],
    ];
    const s = simulate(programs, linkSpec({ egressGBps: gbps, latencyUs: lat }));
    const m = s.ranks[0];
    expect(m.endMs).toBeCloseTo(tPull + lat / 1000, 9);
    expect(m.waitMs).toBeCloseTo(tPull + lat / 1000 - c, 9);
    expect(m.pullMs).toBeCloseTo(tPull, 9);
    // Clamped to [0, 1]: with a short compute and a long latency the wait exceeds the pull's busy
    // time (c < latency), and nothing of the pull was hidden.
    const hidden = Math.min(1, Math.max(0, 1 - (tPull + lat / 1000 - c) / tPull));
    expect(s.hiddenPullFraction, `bytes ${bytes}, ${gbps} GB/s, latency ${lat} µs, compute ${c} ms`).toBeCloseTo(
      hidden,
      9,
    );
    expectAccountingAddsUp(s);
  });

  it('splits a receive into synchronization (peer late) and communication', () => {
    const late = rng.uniform(1, 5);
    const bytes = Math.round(rng.uniform(10, 100) * MiB);
    const gbps = rng.uniform(100, 900);
    const programs: Program[] = [
      [compute('late', late), { kind: 'send', id: 'x', to: 1, bytes }],
      [{ kind: 'waitRecv', ids: ['x'] }],
    ];
    const s = simulate(programs, linkSpec({ egressGBps: gbps }));
    expect(s.ranks[1].syncMs).toBeCloseTo(late, 9);
    expect(s.ranks[1].commMs).toBeCloseTo(bytes / (gbps * 1e6), 9);
    expect(s.ranks[0].bytesSent).toBe(bytes);
    expectAccountingAddsUp(s);
  });

  it('is deterministic and simulates independent groups separately with the same result', () => {
    const N = 6;
    const progs = Array.from({ length: N }, (_, r) => {
      const g = r < 3 ? [0, 1, 2] : [3, 4, 5];
      const peers = g.filter((p) => p !== r);
      const ops: Op[] = [];
      for (let l = 0; l < 5; l++) {
        peers.forEach((p) =>
          ops.push({ kind: 'pull', id: `${l}-${p}`, from: p, bytes: Math.round(rng.uniform(1, 40) * MiB) }),
        );
        ops.push(compute(`c${l}`, rng.uniform(0.01, 0.1), l), { kind: 'waitPull', ids: peers.map((p) => `${l}-${p}`) });
      }
      return ops;
    });
    const link = linkSpec({ egressGBps: 600, latencyUs: 1, contentionFix: true });
    const a = simulate(progs, link);
    const b = simulate(progs, link);
    expect(b).toEqual(a);
    // The first group alone gives the same timeline as inside the six.
    const alone = simulate(progs.slice(0, 3), link);
    // (idle time is measured against the whole run's makespan, so it is left out)
    for (let r = 0; r < 3; r++) expect({ ...alone.ranks[r], idleMs: 0 }).toEqual({ ...a.ranks[r], idleMs: 0 });
  });

  it('reports deadlocks and bad programs clearly', () => {
    const link = linkSpec({ egressGBps: 100 });
    expect(() =>
      simulate(
        [
          [
            { kind: 'waitRecv', ids: ['b'] },
            { kind: 'send', id: 'a', to: 1, bytes: 10 },
          ],
          [
            { kind: 'waitRecv', ids: ['a'] },
            { kind: 'send', id: 'b', to: 0, bytes: 10 },
          ],
        ],
        link,
      ),
    ).toThrow(/deadlock.*rank 0 blocked in waitRecv \[b\].*rank 1 blocked in waitRecv \[a\]/);
    expect(() =>
      simulate(
        [
          [
            { kind: 'barrier', id: 'x' },
            { kind: 'barrier', id: 'y' },
          ],
          [
            { kind: 'barrier', id: 'y' },
            { kind: 'barrier', id: 'x' },
          ],
        ],
        link,
      ),
    ).toThrow(/deadlock/);
    expect(() => simulate([[{ kind: 'waitPull', ids: ['nope'] }]], link)).toThrow(/waits for pull 'nope'/);
    expect(() => simulate([[{ kind: 'pull', id: 'p', from: 3, bytes: 1 }]], link)).toThrow(/names rank 3/);
    expect(() =>
      simulate(
        [
          [{ kind: 'waitRecv', ids: ['s'] }],
          [{ kind: 'send', id: 's', to: 0, bytes: 1 }],
          [{ kind: 'waitRecv', ids: ['s'] }],
        ],
        link,
      ),
    ).toThrow(/goes to rank 0/);
    expect(() => simulate([[compute('bad', -1)]], link)).toThrow(/duration -1/);
    expect(() => simulate([[compute('odd', 1, 0, 'matmul' as ComputeCategory)]], link)).toThrow(
      /rank 0 op 0 \(compute\): 'odd' has category 'matmul', not one of attention, .*gemm/,
    );
    // Pulls and sends are checked alike: peer, id (per program for pulls, global for sends), size.
    expect(() =>
      simulate(
        [
          [
            { kind: 'pull', id: 'p', from: 1, bytes: 1 },
            { kind: 'pull', id: 'p', from: 1, bytes: 1 },
          ],
          [],
        ],
        link,
      ),
    ).toThrow(/rank 0 op 1 \(pull\): pull id 'p' used twice/);
    expect(() =>
      simulate([[{ kind: 'pull', id: 'p', from: 1, bytes: 1 }], [{ kind: 'pull', id: 'p', from: 0, bytes: 1 }]], link),
    ).not.toThrow();
    expect(() =>
      simulate([[{ kind: 'send', id: 's', to: 1, bytes: 1 }], [{ kind: 'send', id: 's', to: 0, bytes: 1 }]], link),
    ).toThrow(/rank 1 op 0 \(send\): send id 's' used twice/);
    expect(() => simulate([[{ kind: 'send', id: 's', to: 0, bytes: 1 }]], link)).toThrow(
      /send 's' names the rank itself/,
    );
    expect(() => simulate([[{ kind: 'pull', id: 'p', from: 1, bytes: -1 }], []], link)).toThrow(
      /pull 'p' has -1 bytes/,
    );
    expect(() => simulate([[{ kind: 'send', id: 's', to: 1, bytes: NaN }], []], link)).toThrow(
      /send 's' has NaN bytes/,
    );
  });

  it('idles until a request arrives', () => {
    const at = rng.uniform(1, 10);
    const d = rng.uniform(1, 10);
    const s = simulate([[{ kind: 'notBefore', atMs: at }, compute('c', d)]], linkSpec({ egressGBps: 1 }));
    expect(s.makespanMs).toBeCloseTo(at + d, 12);
    expect(s.ranks[0].idleMs).toBeCloseTo(at, 12);
  });
});

describe('copy interference', () => {
  /** Wall end of `work` nominal ms started at t0 when compute runs 1/(1+s) as fast during [0, P) (float64, by hand). */
  const wallEnd = (t0: number, work: number, P: number, s: number): number => {
    if (t0 >= P) return t0 + work;
    const slowWork = (P - t0) / (1 + s); // nominal work done by the time the copy stops
    return work <= slowWork ? t0 + work * (1 + s) : P + (work - slowWork);
  };

  it('slows the compute of both ends while a pull moves bytes, op by op', () => {
    for (let t = 0; t < 40; t++) {
      const gbps = rng.uniform(10, 1000);
      const P = rng.uniform(0.1, 5); // the pull moves bytes during [0, P) (latency 0)
      const bytes = P * gbps * 1e6;
      const s = rng.uniform(0, 1);
      const [d1, d2, e1] = [rng.uniform(0.1, 3), rng.uniform(0.1, 3), rng.uniform(0.1, 6)];
      const programs: Program[] = [
        [{ kind: 'pull', id: 'p', from: 1, bytes }, compute('c1', d1), compute('c2', d2, undefined, 'attention')],
        [compute('e1', e1)],
      ];
      const r = simulate(programs, linkSpec({ egressGBps: gbps, latencyUs: 0 }), { copyInterference: s });
      const end1 = wallEnd(0, d1, P, s);
      const end2 = wallEnd(end1, d2, P, s);
      const endPeer = wallEnd(0, e1, P, s);
      const eps = 1e-9 * Math.max(1, end2, endPeer);
      expect(Math.abs(r.ranks[0].endMs - end2), tag('destination')).toBeLessThanOrEqual(eps);
      expect(Math.abs(r.ranks[1].endMs - endPeer), tag('source')).toBeLessThanOrEqual(eps);
      expect(Math.abs(r.ranks[0].computeByCategory.gemm! - end1), tag('op 1')).toBeLessThanOrEqual(eps);
      expect(Math.abs(r.ranks[0].computeByCategory.attention! - (end2 - end1)), tag('op 2')).toBeLessThanOrEqual(eps);
      expect(Math.abs(r.ranks[0].interferenceMs! - (end2 - d1 - d2)), tag('added')).toBeLessThanOrEqual(eps);
      const iv = r.intervals.filter((i) => i.rank === 0 && i.lane === 'compute');
      expect(iv.map((i) => i.label)).toEqual(['c1', 'c2']);
      expect(Math.abs(iv[0].endMs - end1)).toBeLessThanOrEqual(eps);
      expect(iv[1].startMs).toBe(iv[0].endMs);
      expectAccountingAddsUp(r);
    }
  });

  it('changes nothing where no pull runs (DEP-like sends and barriers), and keeps the accounting exact where pulls do', () => {
    const link = linkSpec({ egressGBps: rng.uniform(50, 500), latencyUs: 2 });
    const N = 3;
    const depLike: Program[] = [...Array(N).keys()].map((r) => {
      const ops: Op[] = [];
      for (let l = 0; l < 4; l++) {
        ops.push(compute(`a${l}`, rng.uniform(0.1, 2), l), { kind: 'barrier', id: `b${l}` });
        for (let q = 0; q < N; q++)
          if (q !== r) ops.push({ kind: 'send', id: `s${l}.${r}.${q}`, to: q, bytes: rng.uniform(1, 50) * MiB });
        ops.push({ kind: 'waitRecv', ids: [...Array(N).keys()].filter((q) => q !== r).map((q) => `s${l}.${q}.${r}`) });
        ops.push({
          kind: 'compute',
          label: `g${l}`,
          category: 'dense',
          durationMs: rng.uniform(0.1, 2),
          layer: l,
          mark: `m${r}.${l}`,
        });
      }
      return ops;
    });
    const plain = simulate(depLike, link);
    const slowed = simulate(depLike, link, { copyInterference: rng.uniform(0.1, 1) });
    expect(slowed.makespanMs).toBeCloseTo(plain.makespanMs, 9);
    for (const [i, m] of slowed.ranks.entries()) {
      expect(m.endMs).toBeCloseTo(plain.ranks[i].endMs, 9);
      expect(m.computeByCategory.dense!).toBeCloseTo(plain.ranks[i].computeByCategory.dense!, 9);
      expect(m.syncMs).toBeCloseTo(plain.ranks[i].syncMs, 9);
      expect(Math.abs(m.interferenceMs ?? 0)).toBeLessThan(1e-9);
    }
    for (const [k, v] of plain.marks) expect(slowed.marks.get(k)!, tag(k)).toBeCloseTo(v, 9);
    expect(slowed.intervals.length).toBe(plain.intervals.length);

    const layers = 6;
    const durations = [...Array(N)].map(() => Array.from({ length: layers }, () => rng.uniform(0.5, 3)));
    const dwdp = [...Array(N).keys()].map((r) => dwdpLike(r, N, layers, durations[r], rng.uniform(10, 200) * MiB));
    const s = rng.uniform(0.05, 0.5);
    const a = simulate(dwdp, link);
    const b = simulate(dwdp, link, { copyInterference: s });
    expectAccountingAddsUp(b);
    for (const [i, m] of b.ranks.entries()) {
      const nominal = durations[i].reduce((x, y) => x + y, 0);
      expect(m.computeMs - m.interferenceMs!, tag(`rank ${i} nominal`)).toBeCloseTo(nominal, 9);
      expect(m.interferenceMs!).toBeGreaterThanOrEqual(0);
      // At most every nominal ms stretched by 1 + s; never slower than that.
      expect(m.computeMs).toBeLessThanOrEqual(nominal * (1 + s) + 1e-9);
      expect(m.computeMs).toBeGreaterThanOrEqual(a.ranks[i].computeMs - 1e-9);
    }
    expect(() => simulate(dwdp, link, { copyInterference: -0.1 })).toThrow(
      /copyInterference must be a finite number ≥ 0, got -0.1/,
    );
  });
});

describe('simulateGroups (independent groups built one at a time)', () => {
  /**
   * Group g of `N` ranks (global lo … lo + N − 1): per layer a barrier (with stragglers on odd
   * layers), sends to every peer and a wait for the peers' sends, pulls from every peer and a
   * wait for them, compute with a mark. Ids carry the group's number, so they are unique across groups.
   */
  function groupPrograms(g: number, N: number, layers: number, ids = (x: string) => `g${g}${x}`): Op[][] {
    const lo = g * N;
    return Array.from({ length: N }, (_, i) => {
      const r = lo + i;
      const peers = Array.from({ length: N }, (_, j) => lo + j).filter((q) => q !== r);
      const ops: Op[] = [];
      for (let l = 0; l < layers; l++) {
        ops.push(compute(`attention ${l}`, rng.uniform(0.1, 2), l));
        ops.push({ kind: 'barrier', id: ids(`b${l}`), layer: l, ...(l % 2 ? { straggleMs: 0.05 } : {}) });
        for (const q of peers)
          ops.push({ kind: 'send', id: ids(`s${l}:${r}>${q}`), to: q, bytes: rng.uniform(1, 50) * MiB });
        ops.push({ kind: 'waitRecv', ids: peers.map((q) => ids(`s${l}:${q}>${r}`)), layer: l });
        for (const q of peers)
          ops.push({ kind: 'pull', id: `p${l}:${q}`, from: q, bytes: rng.uniform(1, 50) * MiB, layer: l });
        ops.push(compute(`router ${l}`, rng.uniform(0.1, 1), l, 'router'));
        ops.push({ kind: 'waitPull', ids: peers.map((q) => `p${l}:${q}`), layer: l });
        ops.push({ ...compute(`gemm ${l}`, rng.uniform(0.1, 2), l), mark: `r${r}l${l}` } as Op);
      }
      return ops;
    });
  }
  /** Everything a Schedule holds, Map order included, as one string (JSON writes doubles exactly). */
  const bits = (s: Schedule) => JSON.stringify({ ...s, barrierRelease: [...s.barrierRelease], marks: [...s.marks] });

  it('gives simulate()’s Schedule bit for bit', () => {
    const groups = 2 + rng.int(3);
    const N = 2 + rng.int(3);
    const layers = 2 + rng.int(4);
    const programs = Array.from({ length: groups }, (_, g) => groupPrograms(g, N, layers));
    const link = linkSpec({ egressGBps: rng.uniform(50, 900), latencyUs: rng.uniform(0, 5) });
    for (const opts of [
      {},
      { copyInterference: rng.uniform(0.05, 0.5) },
      { intervals: false },
      { copySpans: 'transfers' as const },
    ]) {
      const built: number[] = [];
      const one = simulateGroups(
        groups,
        N,
        (g) => {
          built.push(g);
          return programs[g];
        },
        link,
        opts,
      );
      expect(built, tag('each group built once, in order')).toEqual([...Array(groups).keys()]);
      expect(bits(one), tag(`groups ${groups} × ${N}, ${JSON.stringify(opts)}`)).toBe(
        bits(simulate(programs.flat(), link, opts)),
      );
    }
  });

  /**
   * LinkFluid counting the scheduler's steps: each call that let it run on to its next landing
   * or change of the watched ranks' copy activity, and those of them that watched some rank.
   */
  class Counted extends LinkFluid {
    static calls = 0;
    static watched = 0;
    override advanceToActivity(t: number, ranks: ArrayLike<number>, n: number): readonly number[] {
      Counted.calls++;
      if (n > 0) Counted.watched++;
      return super.advanceToActivity(t, ranks, n);
    }
  }
  /** The link without shortcuts, counting the scheduler's steps (one per link event or other stop). */
  class EveryEvent extends EveryEventLinkFluid {
    static steps = 0;
    override advanceTo(t: number): readonly number[] {
      EveryEvent.steps++;
      return super.advanceTo(t);
    }
  }

  it('runs the link on to its next landing (interference: or change of copy activity), the Schedule bit for bit as stopping at each link event', () => {
    for (let trial = 0; trial < 6; trial++) {
      const groups = 1 + rng.int(3);
      const N = 2 + rng.int(3);
      const layers = 1 + rng.int(4);
      const withPulls = Array.from({ length: groups }, (_, g) => groupPrograms(g, N, layers));
      // DEP-like: the same without pulls (so copy interference cannot change a rate: the landing shortcut).
      const sendsOnly = withPulls.map((g) =>
        g.map((ops) => ops.filter((o) => o.kind !== 'pull' && o.kind !== 'waitPull')),
      );
      // DWDP-like: each layer's compute runs while the next layer's pulls move (and start and stop).
      const durations = [...Array(N)].map(() => Array.from({ length: layers }, () => rng.uniform(0.1, 2)));
      const prefetching = [
        [...Array(N).keys()].map((r) => dwdpLike(r, N, layers, durations[r], rng.uniform(1, 60) * MiB)),
      ];
      // Latency 0 in some trials: a transfer then lands as its last byte moves. Both disciplines, several copy engines.
      const link = linkSpec({
        egressGBps: rng.uniform(50, 900),
        latencyUs: trial % 3 === 0 ? 0 : rng.uniform(0, 5),
        contentionFix: trial % 2 === 0,
        copyEngines: 1 + rng.int(3),
      });
      const s = rng.uniform(0.05, 0.5);
      for (const [name, programs] of [
        ['with pulls', withPulls],
        ['sends only', sendsOnly],
        ['prefetching', prefetching],
      ] as const)
        for (const opts of [
          {},
          { copyInterference: s },
          { copyInterference: s, intervals: false },
          { copyInterference: s, copySpans: 'transfers' as const },
          { intervals: false },
          { copySpans: 'transfers' as const },
        ]) {
          const slowed = name !== 'sends only' && 'copyInterference' in opts;
          const [calls, watched, steps] = [Counted.calls, Counted.watched, EveryEvent.steps];
          const fast = simulate(programs.flat(), link, { ...opts, linkEngine: Counted });
          const slow = simulate(programs.flat(), link, { ...opts, linkEngine: EveryEvent });
          const what = tag(
            `trial ${trial}, ${name}, ${programs.length} × ${N} ranks, ${layers} layers, ${JSON.stringify(opts)}, ${JSON.stringify(link)}`,
          );
          expect(bits(fast), what).toBe(bits(slow));
          // The shortcut was taken (every program transfers, so the link has landings), watching ranks'
          // copy activity where interference can slow them and only there (else: on to the next landing) …
          expect([Counted.calls > calls, Counted.watched > watched], what).toEqual([true, slowed]);
          // … and it never made the ranks stop more often than the link's events do.
          expect(Counted.calls - calls, what).toBeLessThanOrEqual(EveryEvent.steps - steps);
        }
    }
  });

  it('under copy interference, skips the link events that leave every running compute block’s rate as it was', () => {
    // Rank 0 pulls A then B from rank 1 (one pair: served one after the other) while both ranks
    // compute: A's last byte moving is an event (B starts moving; latency > 0, so nothing lands),
    // but both ranks' copy activity stays on through it, so no rate changes there.
    for (let trial = 0; trial < 20; trial++) {
      const gbps = rng.uniform(10, 900);
      const [a, b] = [rng.uniform(0.1, 2), rng.uniform(0.1, 2)]; // ms each pull moves bytes
      const latencyUs = rng.uniform(1, 50); // < b: A lands before B's last byte moves
      const s = rng.uniform(0.05, 1);
      const long = (a + b + (2 * latencyUs) / 1000) * (1 + s) + rng.uniform(0.1, 1); // outlasts both pulls
      const programs: Program[] = [
        [
          { kind: 'pull', id: 'A', from: 1, bytes: a * gbps * 1e6 },
          { kind: 'pull', id: 'B', from: 1, bytes: b * gbps * 1e6 },
          compute('c', long),
          { kind: 'waitPull', ids: ['A', 'B'] },
          compute('d', rng.uniform(0.1, 1)),
        ],
        [compute('e', long + 2)], // ends after d (d ≤ 1 ms): every block ends at its own time
      ];
      const link = linkSpec({ egressGBps: gbps, latencyUs });
      const [calls, steps] = [Counted.calls, EveryEvent.steps];
      const fast = simulate(programs, link, { copyInterference: s, linkEngine: Counted });
      const slow = simulate(programs, link, { copyInterference: s, linkEngine: EveryEvent });
      const what = tag(`trial ${trial}: pulls of ${a} and ${b} ms at ${gbps} GB/s, latency ${latencyUs} µs, s ${s}`);
      expect(bits(fast), what).toBe(bits(slow));
      // The link's events: A's last byte, A's landing, B's last byte, B's landing; the ranks
      // also stop at each block's end (c, d, e). Only A's last byte is skipped.
      expect(EveryEvent.steps - steps, what).toBe(7);
      expect(Counted.calls - calls, what).toBe(6);
      // Both ranks ran slowed exactly while bytes moved: a + b ms of wall time at 1/(1 + s).
      const added = (a + b) * (1 - 1 / (1 + s));
      expect(Math.abs(fast.ranks[1].interferenceMs! - added), what).toBeLessThanOrEqual(1e-9 * (long + 2));
    }
  });

  it('rejects a transfer across groups and an id reused by two groups', () => {
    const link = linkSpec({ egressGBps: 100 });
    const cross = groupPrograms(1, 2, 1);
    cross[0].push({ kind: 'pull', id: 'x', from: 0, bytes: 1 });
    expect(() => simulateGroups(2, 2, (g) => (g === 0 ? groupPrograms(0, 2, 1) : cross), link)).toThrow(
      /rank 2's pull 'x' names rank 0, outside its group \[2, 4\)/,
    );
    // The same barrier and send ids in both groups: simulate() would join the groups at the barrier.
    const same = (g: number) => groupPrograms(g, 2, 1, (x) => x);
    expect(() => simulateGroups(2, 2, same, link)).toThrow(
      /barrier id 'b0' used in two groups \(group 1 and an earlier one\)/,
    );
    expect(() => simulateGroups(2, 3, (g) => groupPrograms(g, 2, 1), link)).toThrow(
      /group 0 has 2 programs, expected groupSize 3/,
    );
  });
});
