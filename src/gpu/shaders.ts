// WGSL sources: loaded from shaders/*.wgsl (bundled by Vite in the browser and tests,
// read from disk under plain Node), composed from parts with a line map, and compiled
// with diagnostics that point back at the original file and line.
import {
  GpuError,
  GpuOutOfMemoryError,
  GpuValidationError,
  ShaderCompileError,
  type ShaderDiagnostic,
} from './errors.ts';
import type { Gpu } from './device.ts';

let bundled: Record<string, string> | undefined;
try {
  // Vite replaces this call at build time; under plain Node (tsx) import.meta.glob is
  // undefined, the call throws, and loadWgsl reads the file from disk instead.
  const found = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
    string,
    string
  >;
  bundled = Object.fromEntries(Object.entries(found).map(([k, v]) => [k.slice(k.lastIndexOf('/') + 1), v]));
} catch {
  bundled = undefined;
}

const fromDisk = new Map<string, Promise<string>>();

/** The text of shaders/<file> (file name with extension, e.g. 'router.wgsl'). */
export async function loadWgsl(file: string): Promise<string> {
  if (bundled) {
    const text = bundled[file];
    if (text === undefined) throw new GpuError(`no shader named ${file} in shaders/`);
    return text;
  }
  let p = fromDisk.get(file);
  if (!p) {
    p = import('node:fs/promises').then((fs) =>
      fs.readFile(new URL(`../../shaders/${file}`, import.meta.url), 'utf8').catch(() => {
        throw new GpuError(`no shader named ${file} in shaders/`);
      }),
    );
    fromDisk.set(file, p);
  }
  return p;
}

/** One piece of a WGSL program: a file from shaders/ or generated text with a descriptive name. */
export interface WgslPart {
  file: string;
  code: string;
}

/** Several parts joined into one module; lineMap[i] says where line i+1 came from. */
export interface WgslProgram {
  code: string;
  lineMap: { file: string; line: number }[];
}

export function composeWgsl(parts: WgslPart[]): WgslProgram {
  const lines: string[] = [];
  const lineMap: { file: string; line: number }[] = [];
  for (const part of parts) {
    const partLines = part.code.replace(/\n$/, '').split('\n');
    partLines.forEach((l, i) => {
      lines.push(l);
      lineMap.push({ file: part.file, line: i + 1 });
    });
  }
  return { code: lines.join('\n') + '\n', lineMap };
}

/** Loads files and generated snippets in order and composes them. */
export async function wgslProgram(...parts: (string | WgslPart)[]): Promise<WgslProgram> {
  const resolved = await Promise.all(
    parts.map(async (p) => (typeof p === 'string' ? { file: `shaders/${p}`, code: await loadWgsl(p) } : p)),
  );
  return composeWgsl(resolved);
}

function mapDiagnostic(program: WgslProgram, m: GPUCompilationMessage): ShaderDiagnostic {
  const where = program.lineMap[m.lineNum - 1];
  return {
    file: where?.file ?? '<generated>',
    line: where?.line ?? m.lineNum,
    column: m.linePos,
    message: m.message,
  };
}

/** Compiles a program; throws ShaderCompileError with file:line for every error. */
export async function compileWgsl(gpu: Gpu, program: WgslProgram, label: string): Promise<GPUShaderModule> {
  const { device } = gpu;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: program.code, label });
  const [info, scopeError] = await gpu.guard(Promise.all([module.getCompilationInfo(), device.popErrorScope()]));
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) throw new ShaderCompileError(errors.map((m) => mapDiagnostic(program, m)));
  if (scopeError) throw new ShaderCompileError([{ file: label, line: 0, column: 0, message: scopeError.message }]);
  return module;
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

// The shader lab's hooks: every pipeline's program is recorded under its key (so the lab can
// show the exact WGSL a kernel runs, generated parts included), and an edited text set for a
// key is compiled in its place — same entry point and constants — until it is cleared.
const builtPrograms = new Map<string, WgslProgram>();
const overrides = new Map<string, string>();
const keyWatchers = new Set<Set<string>>();

/** The program last built for a pipeline key (undefined until the pipeline was first made). */
export function builtProgram(key: string): WgslProgram | undefined {
  return builtPrograms.get(key);
}

/** Compile `code` instead of the built program for `key` (undefined restores the original). */
export function setPipelineOverride(key: string, code: string | undefined): void {
  if (code === undefined) overrides.delete(key);
  else overrides.set(key, code);
}

/** Records the pipeline keys requested until stop() (which kernels a lab run used). */
export function watchPipelineKeys(): { stop(): string[] } {
  const seen = new Set<string>();
  keyWatchers.add(seen);
  return {
    stop: () => {
      keyWatchers.delete(seen);
      return [...seen];
    },
  };
}

function hashText(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

/** What a compute pipeline is built from: the program, its entry point (default 'main') and override constants. */
export interface PipelineSource {
  program: WgslProgram;
  entryPoint?: string;
  constants?: Record<string, number>;
}

/**
 * A compute pipeline, cached per device under `key` (which must capture everything
 * that changes the program or its constants).
 */
export function cachedPipeline(
  gpu: Gpu,
  key: string,
  build: () => Promise<PipelineSource>,
): Promise<GPUComputePipeline> {
  for (const w of keyWatchers) w.add(key);
  const edited = overrides.get(key);
  const cacheKey = edited === undefined ? key : `${key} #edited ${hashText(edited)}`;
  let perDevice = pipelineCache.get(gpu.device);
  if (!perDevice) pipelineCache.set(gpu.device, (perDevice = new Map()));
  let p = perDevice.get(cacheKey);
  if (!p) {
    p = (async () => {
      const built = await build();
      builtPrograms.set(key, built.program);
      const program = edited === undefined ? built.program : composeWgsl([{ file: `<edited: ${key}>`, code: edited }]);
      const { entryPoint = 'main', constants } = built;
      const module = await compileWgsl(gpu, program, cacheKey);
      try {
        return await gpu.guard(
          gpu.device.createComputePipelineAsync({
            label: cacheKey,
            layout: 'auto',
            compute: { module, entryPoint, constants },
          }),
        );
      } catch (e) {
        throw new GpuValidationError(`pipeline ${cacheKey}: ${(e as Error).message}`);
      }
    })();
    // Do not cache failures: a fixed shader (lab edits) must be able to compile next time.
    p.catch(() => perDevice!.delete(cacheKey));
    perDevice.set(cacheKey, p);
  }
  return p;
}

/**
 * Runs fn inside validation and out-of-memory error scopes and turns a captured error
 * into a typed exception naming `what`.
 */
export async function withErrorScopes<T>(gpu: Gpu, what: string, fn: () => T | Promise<T>): Promise<T> {
  const { device } = gpu;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await fn();
  } catch (e) {
    failure = e;
  }
  // Scopes are popped even when fn threw, or later scopes would misattribute errors.
  const validation = await gpu.guard(device.popErrorScope());
  const oom = await gpu.guard(device.popErrorScope());
  if (failure) throw failure;
  if (oom) throw new GpuOutOfMemoryError(`${what}: out of GPU memory (${oom.message})`);
  if (validation) throw new GpuValidationError(`${what}: ${validation.message}`);
  return result as T;
}
