// The import rules (.dependency-cruiser.cjs) on small throw-away trees: a forbidden direct
// import, an indirect one through an allowed folder, a type-only one, and a clean tree. (The
// real tree is checked by `npm run lint:deps`, which `npm test` runs.)
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers, formatViolation } from '../tools/lint-deps.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A tree of `files` (path under src/ → source) in a fresh temporary directory. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'lint-deps-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(root, 'src', name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return root;
}

describe('import rules', () => {
  it('name the offending direct import and its rule', async () => {
    const root = tree({
      'strategies/dwdp.ts': "import { costOf } from '../sim/cost.ts';\nexport const x = costOf();\n",
      'sim/cost.ts': 'export const costOf = () => 1;\n',
    });
    const v = await checkLayers(root);
    expect(v).toHaveLength(1);
    expect(v[0].rule).toBe('emulation-not-model');
    expect(v[0].chain).toEqual(['src/strategies/dwdp.ts', 'src/sim/cost.ts']);
    expect(formatViolation(v[0])).toContain('src/strategies/dwdp.ts imports src/sim/cost.ts');
  }, 60_000);

  it('follow an indirect path through an allowed folder, and type-only imports', async () => {
    const root = tree({
      'kernels/gemm.ts': "import { pick } from '../tuning/cache.ts';\nexport const g = pick();\n",
      'tuning/cache.ts': "import { best } from '../lab/sweep.ts';\nexport const pick = () => best;\n",
      'lab/sweep.ts': 'export const best = 3;\n',
      'timeline/ops.ts': "import type { Gpu } from '../gpu/device.ts';\nexport type Op = { gpu: Gpu };\n",
      'gpu/device.ts': 'export interface Gpu { id: number }\n',
    });
    const v = await checkLayers(root);
    const byRule = new Map(v.map((x) => [x.rule, x]));
    expect(byRule.get('kernels-know-no-ranks')?.chain).toEqual([
      'src/kernels/gemm.ts',
      'src/tuning/cache.ts',
      'src/lab/sweep.ts',
    ]);
    expect(byRule.get('core-stands-on-nothing')?.chain).toEqual(['src/timeline/ops.ts', 'src/gpu/device.ts']);
    expect(formatViolation(byRule.get('kernels-know-no-ranks')!)).toContain(
      'src/kernels/gemm.ts reaches src/lab/sweep.ts through src/kernels/gemm.ts → src/tuning/cache.ts → src/lab/sweep.ts',
    );
    expect(v).toHaveLength(2);
  }, 60_000);

  it('pass a tree that keeps the layering', async () => {
    const root = tree({
      'strategies/dwdp.ts': "import { simulate } from '../timeline/scheduler.ts';\nexport const x = simulate();\n",
      'sim/programs.ts':
        "import { simulate } from '../timeline/scheduler.ts';\nimport { p } from '../dwdp/placement.ts';\n" +
        'export const y = simulate() + p;\n',
      'dwdp/placement.ts': 'export const p = 2;\n',
      'timeline/scheduler.ts': "import { peak } from '../hardware/profiles.ts';\nexport const simulate = () => peak;\n",
      'hardware/profiles.ts': 'export const peak = 1;\n',
    });
    expect(await checkLayers(root)).toEqual([]);
  }, 60_000);
});
