// npm run bench:e2e — how long the end-to-end model takes for scenario r1-e2e-pareto in Node on
// this machine: the context curves (the context-phase rack model, one step row per batch size),
// the whole search (curves + decode tables + every deployment's operating point + the simulated
// benchmark runs behind the reported TTFTs, also timed alone), and the CLI
// as a user runs it (a fresh Node process, TypeScript loading included). `--pow2-grid` also
// times the search on the earlier power-of-two batch grid, side by side (one extra row, about
// as long as the search itself: off by default).
// Run times are MEASURED here; the band results next to them are MODELED (GB200 NVL72) and only
// show that the run did the work. Target: the scenario within 10 s in Node.
// Writes results/e2e-bench.json.
import { spawnSync } from 'node:child_process';
import { writeFileAtomic } from '../src/util/output-path.ts';
import { cpus, loadavg } from 'node:os';
import { formatTable } from '../src/report/table.ts';
import { calibrationText } from '../src/hardware/efficiency.ts';
import { processCpuMs as cpuMs } from '../src/util/cpu-time.ts';
import { median } from '../src/util/stats.ts';
import { commandLine, runCli, type Spec } from '../src/cli/args.ts';
import { E2E_SCENARIOS, e2eEvaluator, runE2e, type E2eResult } from '../src/sim/e2e/scenario.ts';

const REPEATS = 3;
const spec = E2E_SCENARIOS['r1-e2e-pareto'];
/** The search's earlier batch grid (powers of two), timed beside today's with --pow2-grid. */
const POW2 = [1, 2, 4, 8, 16, 32, 64, 128, 256];

const SPEC: Spec = {
  'pow2-grid': {
    kind: 'flag',
    help: `also time the scenario on the earlier batch grid (${POW2.join(', ')}), side by side in this process`,
  },
  help: { kind: 'flag', help: 'this text' },
};

function time<T>(f: () => T): { cpu: number[]; wall: number[]; last: T } {
  const cpu: number[] = [];
  const wall: number[] = [];
  let last: T | undefined;
  for (let i = 0; i < REPEATS; i++) {
    const c0 = cpuMs();
    const w0 = performance.now();
    last = f();
    wall.push(performance.now() - w0);
    cpu.push(cpuMs() - c0);
  }
  return { cpu, wall, last: last as T };
}

async function main(): Promise<void> {
  const args = commandLine(
    'npm run bench:e2e -- [options]',
    `How long the end-to-end model takes for ${spec.name}, measured here.`,
    SPEC,
  );
  if (!args) return;
  const pow2Grid = args.flag('pow2-grid');
  runE2e(spec); // warm-up (JIT)
  const curves = time(() => e2eEvaluator(spec));
  const search = time(() => runE2e(spec));
  // The same scenario on the earlier batch grid, side by side in this process (asked for).
  const pow2 = pow2Grid ? time(() => runE2e({ ...spec, e2e: { ...spec.e2e, genBatch: POW2 } })) : undefined;
  const res: E2eResult = search.last;
  // The simulated benchmark runs behind the reported median TTFTs, alone: one per reported deployment.
  const ev = e2eEvaluator(spec);
  const reported = [
    ...new Map(
      [...res.frontier.dep, ...res.frontier.dwdp, ...res.bands.flatMap((b) => [b.dep, b.dwdp])]
        .filter((p) => p !== null)
        .map((p) => [JSON.stringify(p.config), p]),
    ).values(),
  ].map((p) => ev.evaluate(p.strategy, p.config.ctxUnits, p.config.gen)!);
  const ttft = time(() => reported.map((p) => ev.queuedTtft(p)));
  const cli = time(() => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sim.ts', '--scenario', spec.name, '--json'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`sim CLI failed: ${r.stderr}`);
    return r.stdout.length;
  });

  const host = `${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  console.log(`bench:e2e — scenario ${spec.name}: ${res.pointsSearched} deployments searched, 2 strategies`);
  console.log(
    `run time MEASURED here (${host}; load average ${loadavg()[0].toFixed(1)}; ${REPEATS} runs each); ` +
      `band results MODELED on ${res.profile.name} (${calibrationText(ev.profile)}; uncalibrated end to end)\n`,
  );
  const min = (xs: number[]) => Math.min(...xs);
  const row = (what: string, t: { cpu: number[]; wall: number[] }, cpuKnown = true) => [
    what,
    cpuKnown ? min(t.cpu).toFixed(0) : '(child process)',
    median(t.wall).toFixed(0),
  ];
  console.log(
    formatTable(
      ['part', 'CPU ms min (measured)', 'wall ms median (measured)'],
      [
        row('context curves (rack model, DEP + DWDP, batch 1–4)', curves),
        row(`whole scenario in process (curves + search + TTFT runs; ${res.pointsSearched} deployments)`, search),
        ...(pow2
          ? [row(`the same, batches ${POW2.join(', ')} only (${pow2.last.pointsSearched} deployments)`, pow2)]
          : []),
        row(`TTFT runs alone (${reported.length} deployments × about ${res.params.ttftRequests} requests)`, ttft),
        row('npm run sim -- --scenario r1-e2e-pareto --json (fresh Node)', cli, false),
      ],
    ),
  );
  const cliWall = median(cli.wall);
  console.log(
    `\ntarget: the scenario within 10 000 ms in Node — CLI wall ${cliWall.toFixed(0)} ms → ${cliWall <= 10_000 ? 'met' : 'NOT met'}`,
  );
  console.log(
    'modeled DWDP/DEP TPS/GPU per band: ' +
      res.bands
        .map((b) => `${b.tpsPerUser[0]}–${b.tpsPerUser[1]}: ${b.speedupTpsPerGpu?.toFixed(3) ?? '–'}`)
        .join(', '),
  );

  await writeFileAtomic(
    'results/e2e-bench.json',
    JSON.stringify(
      {
        bench: 'e2e',
        scenario: spec.name,
        measured: { what: 'model run time', host, repeats: REPEATS, loadAverage: loadavg() },
        modeled: { profile: res.profile.id, provenance: res.provenance },
        deploymentsSearched: res.pointsSearched,
        contextCurves: { cpuMs: curves.cpu, wallMs: curves.wall },
        scenarioInProcess: { cpuMs: search.cpu, wallMs: search.wall },
        ...(pow2 && {
          scenarioPowersOfTwo: {
            genBatch: POW2,
            deployments: pow2.last.pointsSearched,
            cpuMs: pow2.cpu,
            wallMs: pow2.wall,
          },
        }),
        ttftRuns: {
          deployments: reported.length,
          requests: res.params.ttftRequests,
          cpuMs: ttft.cpu,
          wallMs: ttft.wall,
        },
        cli: { wallMs: cli.wall },
        speedupsModeled: res.bands.map((b) => ({ band: b.tpsPerUser, speedupTpsPerGpu: b.speedupTpsPerGpu })),
      },
      null,
      2,
    ),
  );
  console.log('wrote results/e2e-bench.json');
}

runCli(main);
