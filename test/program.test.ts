// ComputeProgram's check of a kernel's hand-written `uses` list against the layout the device
// derives from its WGSL (layout 'auto'): a random module of n storage bindings, one of them
// declared but unused by the entry point, and `uses` lists right, with one extra binding, with
// one missing binding; that a cached pipeline is probed once (later creates build no probe
// bind group); plus bindGroup's refusal of a buffer not given.
import { describe, expect, it } from 'vitest';
import {
  BIND_GROUP_CACHE_SIZE,
  ComputeProgram,
  GpuError,
  GpuValidationError,
  createBuffer,
  composeWgsl,
  type BindingBuffer,
} from '../src/gpu/index.ts';
import { Rng } from '../src/util/random.ts';
import { testGpu } from './gpu-fixture.ts';
import { testSeed } from './seed.ts';

const seed = testSeed();
const rng = new Rng(seed);
const because = (what: string) => `${what} (seed ${seed})`;

/** n storage bindings; `unused` declared but never read; `out` written with the sum of the others' first words. */
function module(n: number, unused: number, out: number): string {
  const lines: string[] = [];
  const read: string[] = [];
  for (let b = 0; b < n; b++) {
    const access = b === out ? 'read_write' : 'read';
    lines.push(`@group(0) @binding(${b}) var<storage, ${access}> b${b}: array<f32>;`);
    if (b !== out && b !== unused) read.push(`b${b}[0]`);
  }
  lines.push(`@compute @workgroup_size(1) fn main() { b${out}[0] = ${read.join(' + ') || '0.0'}; }`);
  return lines.join('\n');
}

describe("ComputeProgram.create checks a hand-written 'uses' list against the derived layout", () => {
  it('accepts the right list; names the binding listed but unused, or used but unlisted', async () => {
    const gpu = await testGpu();
    for (let i = 0; i < 4; i++) {
      const n = 3 + rng.int(6);
      const unused = rng.int(n);
      const out = (unused + 1 + rng.int(n - 1)) % n;
      const code = module(n, unused, out);
      const key = `program test ${n} ${unused} ${out}`;
      const build = async () => ({ program: composeWgsl([{ file: '<program test>', code }]) });
      const used = [...Array(n).keys()].filter((b) => b !== unused);
      const what = because(`${n} bindings, ${unused} unused, ${out} written`);

      const ok = await ComputeProgram.create(gpu, key, build, { uses: used, label: 'test kernel' });
      expect(ok.label, what).toBe('test kernel');

      const extra = [...used, unused].sort((a, b) => a - b);
      await expect(ComputeProgram.create(gpu, key, build, { uses: extra, label: 'test kernel' }), what).rejects.toThrow(
        new RegExp(`^test kernel: .*binding ${unused} is listed, but the entry point does not use it`),
      );
      const beyond = n + rng.int(8);
      await expect(
        ComputeProgram.create(gpu, key, build, { uses: [...used, beyond], label: 'test kernel' }),
        what,
      ).rejects.toThrow(new RegExp(`^test kernel: .*binding ${beyond} is listed, but the entry point does not use it`));
      const dropped = used[rng.int(used.length)];
      const err = await ComputeProgram.create(gpu, key, build, {
        uses: used.filter((b) => b !== dropped),
        label: 'test kernel',
      }).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(GpuValidationError);
      expect((err as Error).message, what).toMatch(
        new RegExp(`^test kernel: .*the entry point uses binding ${dropped}, which is not listed`),
      );

      // bindGroup: a used binding with no buffer is refused, naming it.
      const buffer = createBuffer(gpu, 16, 'program test');
      const buffers = [...Array(n).keys()].map(() => buffer);
      expect(() => ok.bindGroup(buffers), what).not.toThrow();
      delete buffers[dropped];
      const missing = (() => {
        try {
          ok.bindGroup(buffers);
        } catch (e) {
          return e;
        }
      })();
      expect(missing, what).toBeInstanceOf(GpuError);
      expect((missing as Error).message, what).toBe(
        `test kernel: no buffer given for binding ${dropped}, which its entry point uses`,
      );
      buffer.destroy();
    }
  });

  it('probes a cached pipeline once: a second create with the same list builds no probe bind group', async () => {
    const gpu = await testGpu();
    const n = 3 + rng.int(6);
    const unused = rng.int(n);
    const out = (unused + 1 + rng.int(n - 1)) % n;
    const code = module(n, unused, out);
    const key = `program test once ${seed} ${n} ${unused} ${out}`;
    const build = async () => ({ program: composeWgsl([{ file: '<program test>', code }]) });
    const uses = [...Array(n).keys()].filter((b) => b !== unused);
    const device = gpu.device;
    const create = device.createBindGroup.bind(device);
    let probes = 0;
    device.createBindGroup = (d: GPUBindGroupDescriptor) => {
      if (d.label === 'layout probe') probes++;
      return create(d);
    };
    try {
      await ComputeProgram.create(gpu, key, build, { uses });
      expect(probes, because('first create')).toBe(1); // the whole list, accepted at once
      for (let i = 0; i < 3; i++) await ComputeProgram.create(gpu, key, build, { uses: [...uses] });
      expect(probes, because('later creates of the cached pipeline')).toBe(1);
    } finally {
      delete (device as { createBindGroup?: unknown }).createBindGroup;
    }
    expect(device.createBindGroup, 'the device method restored').toBe(Object.getPrototypeOf(device).createBindGroup);
  });
});

describe('ComputeProgram.bindGroup keeps the groups it built', () => {
  it('returns the same group for the same buffers and ranges, and builds a new one when any of them differs', async () => {
    const gpu = await testGpu();
    const n = 3 + rng.int(6);
    const unused = rng.int(n);
    const out = (unused + 1 + rng.int(n - 1)) % n;
    const code = module(n, unused, out);
    const build = async () => ({ program: composeWgsl([{ file: '<program test>', code }]) });
    const uses = [...Array(n).keys()].filter((b) => b !== unused);
    const program = await ComputeProgram.create(gpu, `program test cache ${seed} ${n} ${unused} ${out}`, build, {
      uses,
    });
    const device = gpu.device;
    const create = device.createBindGroup.bind(device);
    let built = 0;
    device.createBindGroup = (d: GPUBindGroupDescriptor) => {
      built++;
      return create(d);
    };
    const made: GPUBuffer[] = [];
    const buffer = () => {
      const b = createBuffer(gpu, 512, 'program test');
      made.push(b);
      return b;
    };
    try {
      const buffers: BindingBuffer[] = [...Array(n).keys()].map(() => buffer());
      const first = program.bindGroup(buffers);
      expect(built).toBe(1);
      // The unused binding's buffer is not part of the group: changing it reuses the group.
      expect(program.bindGroup(buffers.map((b, i) => (i === unused ? buffer() : b)))).toBe(first);
      expect(program.bindGroup([...buffers]), because('the same buffers again')).toBe(first);
      expect(built, because('the same buffers again')).toBe(1);

      const changed = uses[rng.int(uses.length)];
      const other = program.bindGroup(buffers.map((b, i) => (i === changed ? buffer() : b)));
      expect(other, because(`binding ${changed} given a new buffer`)).not.toBe(first);
      expect(built).toBe(2);

      // A range of a buffer: keyed by its offset and size too.
      const whole = buffers[changed] as GPUBuffer;
      const range = (offset: number, size: number) =>
        buffers.map((b, i) => (i === changed ? { buffer: whole, offset, size } : b));
      const a = program.bindGroup(range(256, 256));
      expect(program.bindGroup(range(256, 256)), because('the same range again')).toBe(a);
      expect(program.bindGroup(range(0, 256)), because('another offset')).not.toBe(a);
      expect(program.bindGroup(range(256, 128)), because('another size')).not.toBe(a);
      expect(program.bindGroup(buffers, 'another label'), because('another label')).not.toBe(first);
      expect(built, because('one group per distinct binding set')).toBe(6);
      expect(program.bindGroup(buffers), because('the first set again')).toBe(first);
      expect(built).toBe(6);
    } finally {
      delete (device as { createBindGroup?: unknown }).createBindGroup;
      for (const b of made) b.destroy();
    }
  });

  it(`holds at most ${BIND_GROUP_CACHE_SIZE} groups, dropping the least recently used`, async () => {
    const gpu = await testGpu();
    const code = module(2, 2, 1); // binding 0 read, binding 1 written; no unused binding
    const build = async () => ({ program: composeWgsl([{ file: '<program test>', code }]) });
    const program = await ComputeProgram.create(gpu, 'program test lru', build);
    const out = createBuffer(gpu, 16, 'program test out');
    const inputs = [...Array(BIND_GROUP_CACHE_SIZE + 1).keys()].map(() => createBuffer(gpu, 16, 'program test in'));
    try {
      const groups = inputs.slice(0, BIND_GROUP_CACHE_SIZE).map((b) => program.bindGroup([b, out]));
      // Used again: the oldest (so dropping the first built would be wrong) and a random few more.
      const used = [0, ...[...Array(4).keys()].map(() => rng.int(BIND_GROUP_CACHE_SIZE))];
      for (const k of used)
        expect(program.bindGroup([inputs[k], out]), because(`group ${k} used again`)).toBe(groups[k]);
      program.bindGroup([inputs[BIND_GROUP_CACHE_SIZE], out]); // one past the bound: drops the least recently used
      const dropped = [...groups.keys()].find((k) => !used.includes(k))!;
      for (const k of used)
        expect(program.bindGroup([inputs[k], out]), because(`group ${k}, recently used`)).toBe(groups[k]);
      expect(program.bindGroup([inputs[dropped], out]), because(`group ${dropped}, least recently used`)).not.toBe(
        groups[dropped],
      );
    } finally {
      out.destroy();
      for (const b of inputs) b.destroy();
    }
  });
});
