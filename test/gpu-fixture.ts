// One Dawn device per test file (per worker process), created on first use.
import { getGpu, type Gpu } from '../src/gpu/index.ts';

let gpu: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  gpu ??= getGpu({ label: 'test' });
  return gpu;
}
