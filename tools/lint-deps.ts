// The import rules of src/ (.dependency-cruiser.cjs), checked by dependency-cruiser's API.
//   npm run lint:deps          (part of npm run lint, hence of npm test)
// Prints one line per violation — the rule, the offending import and, for an indirect path,
// the chain of imports that reaches the forbidden folder — and exits 1 when there is any.
// (The API, not the `depcruise` binary: the binary refuses Node 20, which this project supports.)
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type IConfiguration, type IViolation } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface LayerViolation {
  rule: string;
  /** What the rule forbids, in words. */
  comment: string;
  /** The importing module, then every module on the path to the forbidden one (≥ 2 entries). */
  chain: string[];
}

/** The project's rules, read from .dependency-cruiser.cjs. */
export function layerRules(): IConfiguration {
  return require(path.join(ROOT, '.dependency-cruiser.cjs')) as IConfiguration;
}

/** Violations of `config`'s rules among the modules under `baseDir`/src. */
export async function checkLayers(baseDir = ROOT, config: IConfiguration = layerRules()): Promise<LayerViolation[]> {
  const comments = new Map((config.forbidden ?? []).map((r) => [r.name ?? '', r.comment ?? '']));
  const result = await cruise(['src'], {
    ...config.options,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden ?? [] },
  });
  if (typeof result.output === 'string') throw new Error('lint:deps: dependency-cruiser returned text, expected JSON');
  return result.output.summary.violations.map((v: IViolation) => ({
    rule: v.rule.name,
    comment: comments.get(v.rule.name) ?? '',
    chain: [v.from, ...(v.via?.length ? v.via.map((x) => x.name) : [v.to])],
  }));
}

export function formatViolation(v: LayerViolation): string {
  const [from, first] = v.chain;
  const how =
    v.chain.length > 2
      ? `${from} reaches ${v.chain[v.chain.length - 1]} through ${v.chain.join(' → ')}`
      : `${from} imports ${first}`;
  return `${v.rule}: ${how} — ${v.comment}`;
}

async function main(): Promise<void> {
  const violations = await checkLayers();
  for (const v of violations) console.error(formatViolation(v));
  if (violations.length > 0) {
    console.error(`lint:deps: ${violations.length} forbidden import(s); the layering is in .dependency-cruiser.cjs`);
    process.exit(1);
  }
  console.log('lint:deps: the import rules of .dependency-cruiser.cjs hold');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
