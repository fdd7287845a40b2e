export * from './device.ts';
export * from './errors.ts';
export * from './shaders.ts';
export * from './timer.ts';
export * from './buffers.ts';
export * from './budget.ts';
export * from './program.ts';
