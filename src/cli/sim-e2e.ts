// The end-to-end part of `npm run sim`: e2e scenarios (built-in or a file with "mode": "e2e"),
// their table or JSON, and --export-trtllm DIR. The output folder is checked before any work,
// every file is built (and validated) before the first one is written, and each is written
// whole or not at all.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HardwareProfile } from '../hardware/profiles.ts';
import { resolveScenarioModel } from '../options/scenario.ts';
import { formatE2e } from '../sim/e2e/format.ts';
import {
  E2E_SCENARIOS,
  e2eValidation,
  isE2eJson,
  parseE2eScenario,
  runE2e,
  type E2eSpec,
} from '../sim/e2e/scenario.ts';
import { deepseekR1 } from '../sim/experiment.ts';
import { buildTrtllmExport } from '../sim/export-trtllm.ts';
import { OutputPathError, checkOutputDir, writeFileAtomic } from '../util/output-path.ts';

/** The e2e scenario `arg` names (built-in name or a .json file with "mode": "e2e"), or null when it is another kind. */
export function loadE2eScenario(arg: string): E2eSpec | null {
  if (Object.hasOwn(E2E_SCENARIOS, arg)) return E2E_SCENARIOS[arg];
  if (!arg.endsWith('.json') || !existsSync(arg)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(arg, 'utf8').replace(/^\uFEFF/, ''));
  } catch {
    return null; // the step/serving loader reports unreadable files
  }
  if (!isE2eJson(json)) return null;
  return parseE2eScenario(json, arg.replace(/^.*[\\/]/, '').replace(/\.json$/, ''));
}

const FLAG = '--export-trtllm';

/** The export folder: new, or an existing empty folder we can write in (nothing is ever overwritten). */
export function checkExportDir(dir: string): string {
  const abs = checkOutputDir(FLAG, dir);
  if (existsSync(abs) && readdirSync(abs).length > 0)
    throw new OutputPathError(FLAG, dir, 'folder is not empty (nothing is overwritten; name a new or empty folder)');
  return abs;
}

export async function runE2eCli(
  spec: E2eSpec,
  o: {
    json: boolean;
    profile?: HardwareProfile;
    exportDir?: string;
    print?: (text: string) => void;
    /** The scenario's file (a config.json `model` is relative to it); undefined for a built-in scenario. */
    file?: string;
  },
): Promise<void> {
  const print = o.print ?? ((text: string) => console.log(text));
  if (o.exportDir !== undefined) checkExportDir(o.exportDir);
  const model =
    spec.model === undefined || spec.model === 'deepseek-r1'
      ? deepseekR1()
      : resolveScenarioModel(spec.model, o.file, (p) => readFileSync(p, 'utf8'));
  const res = runE2e(spec, { profile: o.profile, model });
  const validation = e2eValidation(res);
  if (o.json) print(JSON.stringify({ ...res, validation }, (_, v) => (v === Infinity ? null : v), 2));
  else print(formatE2e(res, validation));
  if (o.exportDir !== undefined) {
    const files = buildTrtllmExport(res, model); // validates every DWDP config before anything is written
    for (const f of files) await writeFileAtomic(join(o.exportDir, f.path), f.text);
    process.stderr.write(
      `wrote ${files.length} files to ${o.exportDir} (TensorRT-LLM configs of the modeled choices; see README.md there)\n`,
    );
  }
}
