// Runs the vitest suite (or the files matching the given filters) N times, each run with a
// fresh TEST_SEED shared by every test file, and reports each failing seed with the failing
// tests and the command that reruns them.
//
//   npm run test:repeat -- N [vitest file filters…]
//
// Ends with "K of N runs passed; longest streak of consecutive passes S" and exit status 1
// when any run failed. Ctrl-C (or SIGTERM) stops the run in flight and prints the summary of
// the runs completed so far (a second Ctrl-C kills a vitest that does not stop).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface AssertionResult {
  fullName: string;
  status: string;
}
interface FileResult {
  name: string;
  status: string;
  message: string;
  assertionResults: AssertionResult[];
}
interface JsonReport {
  numTotalTests: number;
  testResults: FileResult[];
}

interface Failure {
  file: string;
  tests: string[];
}
interface RunOutcome {
  seed: number;
  passed: boolean;
  /** Empty when vitest failed without naming a test (a crash, a file that did not load). */
  failures: Failure[];
  exitCode: number | null;
  note?: string;
}

const USAGE = 'usage: npm run test:repeat -- N [vitest file filters…]   (N: how many runs, an integer from 1 to 10000)';

function parseArgs(argv: string[]): { runs: number; filters: string[] } {
  const [first, ...filters] = argv;
  if (first === undefined || first === '-h' || first === '--help') {
    console.log(USAGE);
    process.exit(first === undefined ? 2 : 0);
  }
  const runs = Number(first);
  if (!/^\d+$/.test(first) || !Number.isSafeInteger(runs) || runs < 1 || runs > 10_000) {
    console.error(`test:repeat: N must be an integer from 1 to 10000 (got '${first}'), e.g. npm run test:repeat -- 20`);
    process.exit(2);
  }
  const option = filters.find((f) => f.startsWith('-'));
  if (option !== undefined) {
    console.error(
      `test:repeat: only file filters follow N (got the option '${option}'); e.g. npm run test:repeat -- 20 test/router.test.ts`,
    );
    process.exit(2);
  }
  return { runs, filters };
}

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const vitestBin = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const { runs, filters } = parseArgs(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'test-repeat-'));

let child: ReturnType<typeof spawn> | undefined;
let stopping: string | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  if (stopping) {
    // A second Ctrl-C: vitest did not stop; end it now.
    child?.kill('SIGKILL');
    return;
  }
  stopping = signal;
  console.log(`\ntest:repeat: ${signal}: stopping the run in flight; it does not count`);
  // A terminal's Ctrl-C reaches vitest too; a signal sent to this process alone is passed on.
  child?.kill(signal);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function freshSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) >>> 0;
}

function runOnce(seed: number, report: string): Promise<number | null> {
  rmSync(report, { force: true });
  return new Promise((resolve) => {
    child = spawn(
      process.execPath,
      [vitestBin, 'run', '--reporter=dot', '--reporter=json', `--outputFile.json=${report}`, ...filters],
      { cwd: root, env: { ...process.env, TEST_SEED: String(seed) }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Keep vitest's own output for a failing run only: a passing run prints one line.
    const output: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => output.push(d));
    child.stderr!.on('data', (d: Buffer) => output.push(d));
    child.on('close', (code) => {
      child = undefined;
      lastOutput = Buffer.concat(output).toString();
      resolve(code);
    });
    child.on('error', (e) => {
      child = undefined;
      lastOutput = String(e);
      resolve(null);
    });
  });
}
let lastOutput = '';

function readReport(report: string): JsonReport | undefined {
  try {
    return JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
  } catch {
    return undefined;
  }
}

function outcome(seed: number, exitCode: number | null, report: JsonReport | undefined): RunOutcome {
  if (!report) return { seed, passed: false, failures: [], exitCode, note: 'vitest wrote no report' };
  const failures: Failure[] = [];
  for (const f of report.testResults) {
    const tests = f.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName);
    if (tests.length === 0 && f.status === 'failed')
      tests.push(`(the file failed outside its tests: ${f.message.split('\n')[0]})`);
    if (tests.length > 0) failures.push({ file: relative(root, f.name), tests });
  }
  const passed = exitCode === 0 && failures.length === 0;
  const note =
    !passed && failures.length === 0 ? `vitest exited with status ${exitCode} without a failing test` : undefined;
  return { seed, passed, failures, exitCode, note };
}

function printFailure(run: number, o: RunOutcome): void {
  console.log(`run ${run}: FAILED with TEST_SEED=${o.seed}`);
  if (o.note) {
    console.log(`  ${o.note}; vitest's output ends:`);
    for (const line of lastOutput.trimEnd().split('\n').slice(-25)) console.log(`    ${line}`);
    console.log(`  rerun: TEST_SEED=${o.seed} npx vitest run ${filters.join(' ')}`.trimEnd());
    return;
  }
  for (const f of o.failures) {
    for (const t of f.tests) console.log(`  ${f.file} › ${t}`);
    console.log(`  rerun: TEST_SEED=${o.seed} npx vitest run ${f.file}`);
  }
}

function summary(outcomes: RunOutcome[]): void {
  let streak = 0;
  let longest = 0;
  for (const o of outcomes) {
    streak = o.passed ? streak + 1 : 0;
    longest = Math.max(longest, streak);
  }
  const failed = outcomes.filter((o) => !o.passed);
  const target = filters.length > 0 ? ` (files matching: ${filters.join(' ')})` : ' (the whole suite)';
  console.log('');
  if (stopping) console.log(`test:repeat: stopped by ${stopping} after ${outcomes.length} of ${runs} runs${target}`);
  if (failed.length > 0) {
    console.log('failing seeds:');
    for (const o of failed) {
      const files = [...new Set(o.failures.map((f) => f.file))];
      const names = o.failures.flatMap((f) => f.tests.map((t) => `${f.file} › ${t}`));
      console.log(`  TEST_SEED=${o.seed}: ${names.length > 0 ? names.join('; ') : (o.note ?? 'failed')}`);
      console.log(
        `    rerun: TEST_SEED=${o.seed} npx vitest run ${(files.length > 0 ? files : filters).join(' ')}`.trimEnd(),
      );
    }
  }
  console.log(
    `${outcomes.length - failed.length} of ${outcomes.length} runs passed${target}; longest streak of consecutive passes ${longest}`,
  );
}

async function main(): Promise<number> {
  const outcomes: RunOutcome[] = [];
  const report = join(work, 'report.json');
  try {
    for (let i = 1; i <= runs && !stopping; i++) {
      const seed = freshSeed();
      const t0 = Date.now();
      console.log(`run ${i} of ${runs}: TEST_SEED=${seed}`);
      const code = await runOnce(seed, report);
      if (stopping) break;
      const json = readReport(report);
      if (json && json.testResults.length === 0) {
        console.error(`test:repeat: no test file matches the filters '${filters.join(' ')}'; e.g. test/router.test.ts`);
        return 2;
      }
      const o = outcome(seed, code, json);
      outcomes.push(o);
      if (o.passed)
        console.log(`run ${i}: passed (${json?.numTotalTests ?? 0} tests, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      else printFailure(i, o);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  summary(outcomes);
  if (outcomes.some((o) => !o.passed)) return 1;
  return stopping ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    rmSync(work, { recursive: true, force: true });
    process.exit(1);
  },
);
