// The shader lab's engine (src/ui/lab-runner.ts) on Dawn: the unedited and edited kernels run
// side by side on the same seeded inputs; an edit that scales the output fails its check while
// the original passes; a compile error comes back at the edited line; a binding the pipeline
// no longer has is a validation error in words; edits of other shapes' pipelines are ignored
// and say so; overrides never outlive a request. Tiny shapes, fresh seeds.
import { describe, expect, it } from 'vitest';
import { builtProgram } from '../src/gpu/index.ts';
import { LabSession, MIN_AB_ROUNDS, type LabRunRequest } from '../src/ui/lab-runner.ts';
import { DEFAULT_SHAPE } from '../src/lab/types.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const because = (what: string) => `${what} (seed ${seed})`;

// Awkward sizes: nothing a multiple of a tile.
const shape = {
  ...DEFAULT_SHAPE,
  tokens: 13 + rng.int(8),
  hidden: 36 + 4 * rng.int(3),
  expertHidden: 20 + 4 * rng.int(3),
  experts: 5,
  topK: 2,
};
const session = new LabSession(testGpu);
const request = (edits: Record<string, string> = {}): LabRunRequest => ({
  kernel: 'expert-gemm',
  shape,
  seed,
  runs: 1,
  edits,
});

/** Every store to the output multiplied by 2 (the grouped GEMM's variants all write `output_rows[…] = value;`). */
const scaleOutput = (code: string) => code.replace(/(output_rows\[[^\]]*\]\s*=\s*)([^;]+);/g, '$1($2) * 2.0;');

describe('shader lab engine', () => {
  it('runs the unedited kernel, lists its pipelines with their exact WGSL, and passes its check', async () => {
    const r = await session.run(request());
    expect(r.original.ok, because(JSON.stringify(r.original))).toBe(true);
    if (!r.original.ok) return;
    expect(r.original.result.checkOk).toBe(true);
    expect(r.original.result.measured).toBe('here');
    expect(r.original.result.ceilingGflops).toBeGreaterThan(0);
    expect(r.edited).toBeNull();
    expect(r.ab, 'no edit, no A/B rounds').toBeNull();
    // Both grouped-GEMM passes, and nothing of the ceiling measurement.
    expect(r.pipelines.map((p) => p.key.split(' ').slice(0, 2).join(' '))).toEqual([
      'expert_gemm gate_up',
      'expert_gemm down',
    ]);
    for (const p of r.pipelines) {
      expect(p.code).toBe(builtProgram(p.key)!.code);
      expect(p.origins[0].first).toBe(1);
      expect(p.origins[p.origins.length - 1].last).toBe(p.code.replace(/\n$/, '').split('\n').length);
    }
  });

  it('a scaled output fails its check while the original passes, on the same inputs', async () => {
    const first = await session.run(request());
    expect(first.original.ok).toBe(true);
    const down = first.pipelines.find((p) => p.key.startsWith('expert_gemm down'))!;
    const r = await session.run(
      request({ [down.key]: scaleOutput(down.code), 'expert_gemm some-other-shape': '// not used' }),
    );
    expect(r.editedKeys).toEqual([down.key]);
    expect(r.ignoredEdits).toEqual(['expert_gemm some-other-shape']);
    expect(r.original.ok && r.original.result.checkOk, because('original')).toBe(true);
    expect(r.edited?.ok, because(JSON.stringify(r.edited))).toBe(true);
    if (!r.original.ok || !r.edited?.ok) return;
    const [o, e] = [r.original.result, r.edited.result];
    expect(e.checkOk, because(e.check)).toBe(false);
    // y doubled: ‖2y − y‖ / ‖y‖ = 1, whatever the inputs.
    expect(e.relErr).toBeCloseTo(1, 4);
    expect(e.variant).toBe(o.variant);
    expect(e.seed).toBe(o.seed);
    expect(e.ceilingGflops).toBe(o.ceilingGflops);
    expect(e.fractionOfCeiling).toBeCloseTo(e.gflops! / o.ceilingGflops!, 9);
    // Then the interleaved A/B rounds: one time per side per round, at least MIN_AB_ROUNDS of them.
    expect(r.ab?.originalMs.length).toBe(Math.max(MIN_AB_ROUNDS, request().runs));
    expect(r.ab?.editedMs.length).toBe(r.ab?.originalMs.length);
    for (const t of [...r.ab!.originalMs, ...r.ab!.editedMs]) expect(t).toBeGreaterThan(0);
    // The override was cleared: the next unedited run is right again.
    const again = await session.run(request());
    expect(again.original.ok && again.original.result.checkOk).toBe(true);
  });

  it('reports a compile error at the edited line, in words', async () => {
    const first = await session.run(request());
    const p = first.pipelines[rng.int(first.pipelines.length)];
    const lines = p.code.split('\n');
    // Before a random top-level declaration: an unresolved name on a line of its own.
    // (Not between an attribute line such as `@compute @workgroup_size(16)` and its function.)
    const tops = lines.flatMap((l, i) =>
      /^(fn |struct |@compute|const |@group)/.test(l) && !lines[i - 1]?.startsWith('@') ? [i] : [],
    );
    const at = tops[rng.int(tops.length)];
    lines.splice(at, 0, 'const lab_broken: u32 = no_such_value_here;');
    const r = await session.run(request({ [p.key]: lines.join('\n') }));
    expect(r.original.ok).toBe(true);
    expect(r.edited?.ok).toBe(false);
    if (r.edited?.ok !== false) return;
    expect(r.edited.failure.kind).toBe('compile');
    const d = r.edited.failure.diagnostics[0];
    expect(d.file).toBe(`<edited: ${p.key}>`);
    expect(d.line, because(`inserted at line ${at + 1}: ${d.message}`)).toBe(at + 1);
    expect(d.message).toMatch(/no_such_value_here/);
  });

  it('a kernel whose bindings no longer match is a validation error, not a crash', async () => {
    const first = await session.run(request());
    const gateUp = first.pipelines[0];
    // Drop the output binding: the kernel's bind group names a binding the pipeline lacks.
    const edited = gateUp.code.replace(
      /@group\(0\) @binding\(5\) var<storage, read_write> output_rows: array<f32>;/,
      'var<private> output_rows: array<f32, 4096>;',
    );
    expect(edited).not.toBe(gateUp.code);
    const r = await session.run(request({ [gateUp.key]: edited }));
    expect(r.original.ok).toBe(true);
    expect(r.edited?.ok).toBe(false);
    if (r.edited?.ok !== false) return;
    expect(r.edited.failure.kind).toBe('validation');
    expect(r.edited.failure.message.length).toBeGreaterThan(10);
    // The session still works afterwards.
    expect((await session.run(request())).original.ok).toBe(true);
  });

  it('loads the pipelines of a shape without timing, and reports a bad variant in words', async () => {
    const r = await session.programs({ kernel: 'router', shape, seed });
    expect(r.failure).toBeNull();
    // H % 4 == 0: the logits GEMM's pipeline and the selection's.
    expect(r.pipelines.map((p) => p.key.split(/[ :]/)[0]).sort()).toEqual(['dense_gemm', 'router']);
    const bad = await session.programs({
      kernel: 'attention',
      shape: { ...shape, headDim: 16 },
      variant: 'bk:100000',
      seed,
    });
    expect(bad.pipelines).toEqual([]);
    expect(bad.failure?.kind).toBe('error');
    expect(bad.failure?.message).toMatch(/workgroup memory/);
  });
});
