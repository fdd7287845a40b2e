// The end-to-end part of `npm run sim`: e2e scenarios (built-in or a file with "mode": "e2e"),
// their table or JSON, and --export-trtllm DIR. The output directory is checked before any
// work, and every file is built (and validated) before the first one is written.
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { deepseekR1 } from '../sim/experiment.ts';
import { loadPreset } from '../model/presets.ts';
import { formatE2e } from '../sim/e2e/format.ts';
import {
  E2E_SCENARIOS,
  e2eValidation,
  isE2eJson,
  parseE2eScenario,
  runE2e,
  type E2eSpec,
} from '../sim/e2e/scenario.ts';
import { buildTrtllmExport } from '../sim/export-trtllm.ts';
import type { HardwareProfile } from '../hardware/profiles.ts';
import { UsageError } from './args.ts';

/** The e2e scenario `arg` names (built-in name or a .json file with "mode": "e2e"), or null when it is another kind. */
export function loadE2eScenario(arg: string): E2eSpec | null {
  if (Object.hasOwn(E2E_SCENARIOS, arg)) return E2E_SCENARIOS[arg];
  if (!arg.endsWith('.json') || !existsSync(arg)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(arg, 'utf8'));
  } catch {
    return null; // the step/serving loader reports unreadable files
  }
  if (!isE2eJson(json)) return null;
  return parseE2eScenario(json, arg.replace(/^.*[\\/]/, '').replace(/\.json$/, ''));
}

/** Refuse an output directory that exists and is not empty, is a file, or cannot be created. */
export function checkExportDir(dir: string): void {
  const flag = '--export-trtllm';
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`${flag} ${dir}: exists and is not a directory`);
    if (readdirSync(dir).length > 0)
      throw new UsageError(`${flag} ${dir}: directory is not empty (nothing is overwritten; name a new or empty one)`);
    accessSync(dir, constants.W_OK);
    return;
  }
  let parent = dirname(resolve(dir));
  while (!existsSync(parent)) parent = dirname(parent);
  if (!statSync(parent).isDirectory()) throw new UsageError(`${flag} ${dir}: ${parent} is not a directory`);
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${dir}: cannot create it (${parent} is not writable)`);
  }
}

export function runE2eCli(
  spec: E2eSpec,
  o: { json: boolean; profile?: HardwareProfile; exportDir?: string; print?: (text: string) => void },
): void {
  const print = o.print ?? ((text: string) => console.log(text));
  if (o.exportDir !== undefined) checkExportDir(o.exportDir);
  const model = spec.model === undefined || spec.model === 'deepseek-r1' ? deepseekR1() : loadPreset(spec.model);
  const res = runE2e(spec, { profile: o.profile, model });
  const validation = e2eValidation(res);
  if (o.json) print(JSON.stringify({ ...res, validation }, (_, v) => (v === Infinity ? null : v), 2));
  else print(formatE2e(res, validation));
  if (o.exportDir !== undefined) {
    const files = buildTrtllmExport(res, model); // validates every DWDP config before anything is written
    for (const f of files) {
      const path = join(o.exportDir, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.text);
    }
    process.stderr.write(
      `wrote ${files.length} files to ${o.exportDir} (TensorRT-LLM configs of the modeled choices; see README.md there)\n`,
    );
  }
}
