import { describe, expect, it } from 'vitest';
import {
  GpuTimer,
  GpuValidationError,
  LimitExceededError,
  ShaderCompileError,
  cachedPipeline,
  composeWgsl,
  compileWgsl,
  createBufferWith,
  getGpu,
  readF32,
  resolveLimits,
  withErrorScopes,
  DeviceLostError,
} from '../src/gpu/index.ts';
import { testGpu } from './gpu-fixture.ts';

describe('GPU runtime', () => {
  it('gets a device and runs a compute pass', async () => {
    const gpu = await testGpu();
    const data = Float32Array.from({ length: 100 }, (_, i) => i * 0.5 - 7);
    const buf = createBufferWith(gpu, data, 'x');
    const program = composeWgsl([
      {
        file: 'inline.wgsl',
        code: `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < 100u) { x[id.x] = x[id.x] * 3.0 + 1.0; }
}`,
      },
    ]);
    const pipeline = await cachedPipeline(gpu, 'runtime-test-triple', async () => ({ program }));
    const bind = gpu.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: buf } }],
    });
    const timer = new GpuTimer(gpu);
    const enc = gpu.device.createCommandEncoder();
    const pass = enc.beginComputePass({ timestampWrites: timer.writes('triple') });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(2);
    pass.end();
    timer.resolve(enc);
    gpu.device.queue.submit([enc.finish()]);
    const got = await readF32(gpu, buf, 100);
    got.forEach((g, i) => expect(g).toBe(data[i] * 3 + 1));
    const times = await timer.read();
    expect(timer.source).toBe(gpu.timestamps ? 'timestamp-query' : 'host');
    if (gpu.timestamps) expect(times.get('triple')).toBeGreaterThanOrEqual(0);
  });

  it('reports WGSL errors at the original file and line', async () => {
    const gpu = await testGpu();
    const program = composeWgsl([
      { file: 'shaders/first.wgsl', code: 'const A: u32 = 1u;\nconst B: u32 = 2u;' },
      { file: 'shaders/second.wgsl', code: '// comment\nfn f() -> u32 {\n  return undefined_name;\n}' },
    ]);
    const err = await compileWgsl(gpu, program, 'bad').catch((e) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    const d = (err as ShaderCompileError).diagnostics[0];
    expect(d.file).toBe('shaders/second.wgsl');
    expect(d.line).toBe(3);
    expect(err.message).toContain('shaders/second.wgsl:3:');
  });

  it('turns validation errors into typed errors', async () => {
    const gpu = await testGpu();
    const err = await withErrorScopes(gpu, 'oversized copy', () => {
      const a = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_SRC });
      const b = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST });
      const enc = gpu.device.createCommandEncoder();
      enc.copyBufferToBuffer(a, 0, b, 0, 64);
      gpu.device.queue.submit([enc.finish()]);
    }).catch((e) => e);
    expect(err).toBeInstanceOf(GpuValidationError);
    expect(err.message).toContain('oversized copy');
  });

  it('names the limit a need exceeds', async () => {
    const gpu = await testGpu();
    const allowed = gpu.adapter.limits.maxStorageBufferBindingSize;
    expect(() =>
      resolveLimits(gpu.adapter.limits, [
        { limit: 'maxStorageBufferBindingSize', value: allowed + 4, why: 'expert weights of one layer' },
      ]),
    ).toThrow(LimitExceededError);
    expect(() =>
      resolveLimits(gpu.adapter.limits, [
        { limit: 'maxStorageBufferBindingSize', value: allowed + 4, why: 'expert weights of one layer' },
      ]),
    ).toThrow(/expert weights of one layer needs maxStorageBufferBindingSize/);
  });

  it('reports device loss instead of hanging', async () => {
    const gpu = await getGpu({ label: 'doomed' });
    const buf = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ });
    gpu.destroy();
    await gpu.lost;
    await expect(gpu.guard(buf.mapAsync(GPUMapMode.READ))).rejects.toBeInstanceOf(DeviceLostError);
  });
});

describe('pipeline overrides (the lab edits WGSL through them)', () => {
  it('records the built program, compiles an edited one in its place, and restores it', async () => {
    const gpu = await testGpu();
    const { builtProgram, setPipelineOverride, watchPipelineKeys } = await import('../src/gpu/shaders.ts');
    const code = (factor: string) => `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < 8u) { x[id.x] = x[id.x] * ${factor}; }
}`;
    const key = `override-test-${Math.random()}`;
    const build = async () => ({ program: composeWgsl([{ file: 'double.wgsl', code: code('2.0') }]) });
    const run = async () => {
      const pipeline = await cachedPipeline(gpu, key, build);
      const buf = createBufferWith(
        gpu,
        Float32Array.from({ length: 8 }, (_, i) => i + 1),
        'x',
      );
      const enc = gpu.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(
        0,
        gpu.device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [{ binding: 0, resource: { buffer: buf } }],
        }),
      );
      pass.dispatchWorkgroups(1);
      pass.end();
      gpu.device.queue.submit([enc.finish()]);
      return Array.from(await readF32(gpu, buf, 8));
    };
    const watch = watchPipelineKeys();
    expect(await run()).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(watch.stop()).toEqual([key]);
    expect(builtProgram(key)!.code).toContain('* 2.0');
    setPipelineOverride(key, code('3.0'));
    expect(await run()).toEqual([3, 6, 9, 12, 15, 18, 21, 24]);
    setPipelineOverride(key, 'fn broken( {');
    const err = await cachedPipeline(gpu, key, build).catch((e) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    expect((err as ShaderCompileError).diagnostics[0].file).toBe(`<edited: ${key}>`);
    expect((err as ShaderCompileError).diagnostics[0].line).toBe(1);
    setPipelineOverride(key, undefined);
    expect(await run()).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
  });
});
