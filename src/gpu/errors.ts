// Typed errors for everything that can go wrong between us and the GPU.
// Callers catch these by class; messages are written for the person at the terminal.

export class GpuError extends Error {
  override name = 'GpuError';
}

/** WebGPU is not available at all (no navigator.gpu, no Vulkan loader, no adapter). */
export class WebGpuUnavailableError extends GpuError {
  override name = 'WebGpuUnavailableError';
}

/** Who sets a limit: the adapter (a GPUSupportedLimits field) or the WGSL spec itself (§2.4 "Limits", the same on every adapter). */
export type LimitSetter = 'adapter' | 'wgsl';

/**
 * What a refusal says the work is for: a string, or a function building it, called only when
 * refusing (a per-encode check within the limit then formats no message).
 */
export type Why = string | (() => string);

/** The text of `why`. */
export const whyText = (why: Why): string => (typeof why === 'string' ? why : why());

/** A configuration needs more of some limit than this adapter (or WGSL itself: `setBy`) allows. */
export class LimitExceededError extends GpuError {
  override name = 'LimitExceededError';
  constructor(
    readonly limit: string,
    readonly needed: number,
    readonly allowed: number,
    readonly why: string,
    readonly setBy: LimitSetter = 'adapter',
  ) {
    super(
      `${why} needs ${limit} = ${needed}, but ${setBy === 'wgsl' ? 'WGSL allows' : 'this adapter allows'} at most ${allowed}`,
    );
  }
}

export interface ShaderDiagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** WGSL failed to compile; every diagnostic points at the original .wgsl file and line. */
export class ShaderCompileError extends GpuError {
  override name = 'ShaderCompileError';
  constructor(readonly diagnostics: ShaderDiagnostic[]) {
    super(
      'WGSL compile error:\n' + diagnostics.map((d) => `  ${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n'),
    );
  }
}

export class GpuValidationError extends GpuError {
  override name = 'GpuValidationError';
}

export class GpuOutOfMemoryError extends GpuError {
  override name = 'GpuOutOfMemoryError';
}

export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(`GPU device lost (${reason})${detail ? `: ${detail}` : ''}`);
  }
}
