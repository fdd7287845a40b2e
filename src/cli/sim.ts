// npm run sim -- --scenario <name|file.json> [--json] [--profile id] [--trace FILE]
//                [--this-device-gflops X --this-device-copy-gbps Y] [--calibrate FILE] [--list]
//        npm run sim -- --validate [--json]
//        npm run sim -- --fit-calibration [--json]   (writes src/hardware/gb200-nvl72-fit.json)
// The rack-scale model: DWDP vs DEP for the scenario's model (default DeepSeek-R1; "model" names a
// preset or an HF config.json beside the scenario file) on a hardware profile, in virtual time.
// Everything it prints is modeled (it says so), except --calibrate's measured column, which
// comes from the file (GPU timings the lab took); nothing here touches a GPU.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIT_FILE_URL, fitCalibration, fitFile, formatFit } from '../sim/fit.ts';
import { toChromeTrace } from '../report/trace.ts';
import { calibrate, parseCalibrationText } from '../sim/calibration.ts';
import { parseJsonText } from '../util/json.ts';
import { tryNearest } from '../util/nearest.ts';
import { checkOutputFile, writeFileAtomic } from '../util/output-path.ts';
import { deepseekR1, runStepRow } from '../sim/experiment.ts';
import { formatCalibration, formatScenario } from '../sim/format.ts';
import { PROFILES, getProfile, thisDeviceProfile, type HardwareProfile } from '../hardware/profiles.ts';
import { OptionError, formatOptionError } from '../options/error.ts';
import { resolveScenarioModel } from '../options/scenario.ts';
import type { MoeConfig } from '../model/config.ts';
import {
  SCENARIOS,
  checkScenario,
  parseScenario,
  runScenario,
  scenarioRows,
  type ScenarioSpec,
} from '../sim/scenarios.ts';
import { E2E_SCENARIOS, E2eScenarioError } from '../sim/e2e/scenario.ts';
import { formatValidationReport, runValidation } from '../sim/validate.ts';
import { Args, commandLine, UsageError, runCli, type Spec } from './args.ts';
import { loadE2eScenario, runE2eCli } from './sim-e2e.ts';

/** Every built-in scenario's name: the step and serving ones, then the end-to-end ones. */
const BUILT_IN = [...Object.keys(SCENARIOS), ...Object.keys(E2E_SCENARIOS)];

const SPEC: Spec = {
  scenario: {
    kind: 'string',
    help: `built-in name (${BUILT_IN.join(', ')}) or a scenario JSON file`,
    placeholder: 'name|file.json',
  },
  json: { kind: 'flag', help: 'print the rows as JSON (times in ms) instead of tables' },
  profile: {
    kind: 'string',
    help: `hardware profile instead of the scenario's (${Object.keys(PROFILES).join(', ')}, this-device)`,
    placeholder: 'id',
  },
  'this-device-gflops': { kind: 'string', help: 'measured GEMM GFLOP/s for --profile this-device', placeholder: 'X' },
  'this-device-copy-gbps': { kind: 'string', help: 'measured copy GB/s for --profile this-device', placeholder: 'Y' },
  trace: {
    kind: 'string',
    help: "write Chrome traces of the first row's DEP and DWDP steps (FILE-dep.json, FILE-dwdp.json)",
    placeholder: 'FILE',
  },
  calibrate: {
    kind: 'string',
    help: 'print the fit of predicted vs measured op times from a calibration JSON file',
    placeholder: 'FILE',
  },
  'export-trtllm': {
    kind: 'string',
    help: 'e2e scenarios: write TensorRT-LLM configs of the chosen deployments (and a README) to DIR',
    placeholder: 'DIR',
  },
  validate: {
    kind: 'flag',
    help: 'the model against every published DWDP number (calibration and validation rows, with sources)',
  },
  'fit-calibration': {
    kind: 'flag',
    help: "fit the gb200-nvl72 efficiencies to the paper's Table 3, print parameters and residuals, write src/hardware/gb200-nvl72-fit.json",
  },
  list: { kind: 'flag', help: 'list the built-in scenarios' },
  help: { kind: 'flag', help: 'show this help' },
};

/** A scenario error in the CLI's words, naming where the scenario came from. */
function scenarioProblem(where: string, e: unknown): never {
  if (e instanceof OptionError) throw new UsageError(`${where}: ${formatOptionError(e, (k) => k, 'cli')}`);
  throw new UsageError(`${where}: ${(e as Error).message}`);
}

function loadScenario(arg: string): ScenarioSpec {
  if (Object.hasOwn(SCENARIOS, arg)) return SCENARIOS[arg];
  if (!arg.endsWith('.json'))
    throw new UsageError(
      `--scenario '${arg}' is neither a built-in scenario (${BUILT_IN.join(', ')}) nor a .json file` +
        tryNearest('--scenario', arg, BUILT_IN),
    );
  let text: string;
  try {
    text = readFileSync(arg, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${arg}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = parseJsonText(text, `--scenario ${arg}`); // a UTF-8 byte-order mark is accepted
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  try {
    return parseScenario(json, arg.replace(/^.*[\\/]/, '').replace(/\.json$/, ''));
  } catch (e) {
    return scenarioProblem(arg, e);
  }
}

/** What only a scenario run reads: --list, --validate and --calibrate refuse them. */
const SCENARIO_RUN_FLAGS = [
  'scenario',
  'profile',
  'this-device-gflops',
  'this-device-copy-gbps',
  'trace',
  'export-trtllm',
];

/** Flags that only some invocations read: given elsewhere, they are refused rather than ignored. */
function refuseUnread(args: Args): void {
  const given = (names: string[]) => names.filter((n) => args.has(n)).map((n) => `--${n}`);
  if (args.flag('list')) {
    const extra = given([...SCENARIO_RUN_FLAGS, 'calibrate', 'json']);
    if (extra.length > 0) throw new UsageError(`--list reads no other option: remove ${extra.join(' ')}`);
  }
  if (args.flag('fit-calibration')) {
    const extra = given([...SCENARIO_RUN_FLAGS, 'calibrate', 'list', 'validate']);
    if (extra.length > 0)
      throw new UsageError(
        `--fit-calibration runs its own setting on gb200-nvl72 (and reads --json): remove ${extra.join(' ')}`,
      );
  }
  if (args.flag('validate')) {
    const extra = given([...SCENARIO_RUN_FLAGS, 'calibrate', 'list']);
    if (extra.length > 0)
      throw new UsageError(
        `--validate runs its own settings and profiles (and reads --json): remove ${extra.join(' ')}`,
      );
  }
  if (args.has('calibrate')) {
    const extra = given(SCENARIO_RUN_FLAGS);
    if (extra.length > 0)
      throw new UsageError(
        `--calibrate reads only its file (and --json): remove ${extra.join(' ')}, or run the scenario separately`,
      );
  }
  if (args.optStr('profile') !== 'this-device') {
    const extra = given(['this-device-gflops', 'this-device-copy-gbps']);
    if (extra.length > 0)
      throw new UsageError(
        `${extra.join(' and ')} ${extra.length > 1 ? 'are' : 'is'} read only with --profile this-device` +
          (args.has('profile') ? ` (the profile is ${args.optStr('profile')})` : '') +
          ': add --profile this-device or remove them',
      );
  }
}

function profileFrom(args: Args): HardwareProfile | undefined {
  const id = args.optStr('profile');
  if (id === undefined) return undefined;
  if (id !== 'this-device') {
    try {
      return getProfile(id);
    } catch (e) {
      const near = tryNearest('--profile', id, [...Object.keys(PROFILES), 'this-device']);
      throw new UsageError(`--profile ${id}: ${(e as Error).message}${near}`);
    }
  }
  const gemmGflops = args.num('this-device-gflops', undefined, { min: 1e-9 });
  const copyGBps = args.num('this-device-copy-gbps', undefined, { min: 1e-9 });
  // The rates are what the flags say (npm run lab -- calibrate prints them): nothing is measured here.
  const ratesFrom = `given by --this-device-gflops ${args.str('this-device-gflops')} --this-device-copy-gbps ${args.str('this-device-copy-gbps')}`;
  return thisDeviceProfile({ gemmGflops, copyGBps, ratesFrom });
}

/** FILE.json → FILE-dep.json / FILE-dwdp.json. */
const traceFile = (file: string, strategy: string): string => `${file.replace(/\.json$/, '')}-${strategy}.json`;

async function writeTraces(
  spec: ScenarioSpec,
  model: MoeConfig,
  profile: HardwareProfile | undefined,
  file: string,
): Promise<string[]> {
  const p = scenarioRows(spec)[0];
  const prof = profile ?? getProfile(spec.profile ?? 'gb200-nvl72');
  const run = runStepRow({ ...p, profile: prof, model, steps: Math.min(p.steps, 2) }, { intervals: true });
  const written: string[] = [];
  for (const s of ['dep', 'dwdp'] as const) {
    const path = traceFile(file, s);
    const trace = toChromeTrace(run[s].intervals, {
      title: `${spec.name} ${s.toUpperCase()} (first row)`,
      modeled: true,
      profile: prof.id,
      scenario: spec.name,
      params: { ...p },
    });
    await writeFileAtomic(path, JSON.stringify(trace));
    written.push(path);
  }
  return written;
}

async function main(): Promise<void> {
  const args = commandLine(
    'npm run sim -- --scenario <name|file.json> [options]  |  npm run sim -- --validate [--json]',
    'Rack-scale model of DWDP vs DEP (prefill; the scenario\'s "model", default DeepSeek-R1) in virtual time. Everything printed is MODELED.',
    SPEC,
  );
  if (!args) return;
  refuseUnread(args);
  if (args.flag('list')) {
    for (const s of [...Object.values(SCENARIOS), ...Object.values(E2E_SCENARIOS)])
      console.log(`${s.name.padEnd(18)} ${s.mode ?? 'step'}  ${s.description ?? ''}`);
    return;
  }
  if (args.flag('fit-calibration')) {
    const fit = fitCalibration();
    const file = fitFile(fit);
    const path = fileURLToPath(FIT_FILE_URL);
    writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
    if (args.flag('json')) console.log(JSON.stringify(file, null, 2));
    else console.log(formatFit(fit));
    console.log(`wrote ${relative(process.cwd(), path)} (the gb200-nvl72 profile's calibrated efficiencies)`);
    return;
  }
  if (args.flag('validate')) {
    const rep = runValidation();
    if (args.flag('json')) console.log(JSON.stringify(rep, (_, v) => (v === Infinity ? null : v), 2));
    else console.log(formatValidationReport(rep));
    return;
  }
  const calib = args.optStr('calibrate');
  if (calib !== undefined) {
    let text: string;
    try {
      text = readFileSync(calib, 'utf8');
    } catch (e) {
      throw new UsageError(
        `--calibrate ${calib}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    const { device, samples } = parseCalibrationText(text, `--calibrate ${calib}`);
    const fit = calibrate(samples, device);
    if (args.flag('json')) {
      const measured = `measured: ${calib}${device.adapter ? `, on ${device.adapter}` : ''}`;
      const predicted = `modeled: roofline, efficiency 1, on ${fit.profile.name}`;
      console.log(
        JSON.stringify(
          {
            predictedMs: predicted,
            measuredMs: measured,
            profile: fit.profile.id,
            scale: fit.scale,
            spread: fit.spread,
            rows: fit.rows,
          },
          null,
          2,
        ),
      );
    } else console.log(formatCalibration(fit));
    return;
  }
  const name = args.str('scenario');
  let e2e: ReturnType<typeof loadE2eScenario>;
  try {
    e2e = loadE2eScenario(name);
  } catch (e) {
    return scenarioProblem(name, e);
  }
  const exportDir = args.optStr('export-trtllm');
  if (e2e && args.optStr('trace') !== undefined)
    throw new UsageError('--trace applies to step and serving scenarios, not e2e');
  if (e2e) {
    const file = Object.hasOwn(E2E_SCENARIOS, name) ? undefined : name;
    const profile = profileFrom(args);
    try {
      return await runE2eCli(e2e, { json: args.flag('json'), profile, exportDir, file });
    } catch (e) {
      // A setting the deployment cannot take, found before any work: the scenario's, or the --profile's GPU count.
      if (!(e instanceof E2eScenarioError)) throw e;
      const via = profile ? ` (--profile ${args.str('profile')}: ${profile.gpusPerDomain} GPUs per NVLink domain)` : '';
      throw new UsageError(`${file ?? `built-in scenario ${name}`}: ${e.message}${via}`);
    }
  }
  if (exportDir !== undefined) throw new UsageError('--export-trtllm needs an end-to-end scenario ("mode": "e2e")');
  const spec = loadScenario(name);
  const builtIn = Object.hasOwn(SCENARIOS, name);
  // The scenario's model: a preset, or a config.json read relative to the scenario file.
  let model: MoeConfig;
  try {
    model =
      spec.model === undefined
        ? deepseekR1()
        : resolveScenarioModel(spec.model, builtIn ? undefined : name, (p) => readFileSync(p, 'utf8'));
  } catch (e) {
    return scenarioProblem(builtIn ? `built-in scenario ${name}` : name, e);
  }
  const trace = args.optStr('trace');
  // Before the scenario runs: the two trace files must be writable.
  if (trace !== undefined) for (const s of ['dep', 'dwdp']) checkOutputFile('--trace', traceFile(trace, s));
  const profile = profileFrom(args);
  // Every row checked (values, rules between keys, the work it asks for) before any runs.
  try {
    checkScenario(spec, model.experts);
  } catch (e) {
    scenarioProblem(builtIn ? `built-in scenario ${name}` : name, e);
  }
  const json = args.flag('json');
  const res = runScenario(spec, {
    profile,
    model,
    onRow: json ? undefined : (_, i) => process.stderr.write(`  row ${i + 1} done\r`),
  });
  if (json) {
    console.log(JSON.stringify(res, (_, v) => (v === Infinity ? null : v), 2));
  } else {
    process.stderr.write('\n');
    console.log(formatScenario(res));
  }
  if (trace !== undefined)
    for (const f of await writeTraces(spec, model, profile, trace))
      process.stderr.write(`wrote ${f} (modeled timeline; open in ui.perfetto.dev)\n`);
}

void runCli(main);
