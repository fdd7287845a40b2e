import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The benchmark page (index.html + src/ui) is the app; shaders are bundled as raw text.
  // base './': every URL in the build is relative, so dist/ works from any static host under
  // any sub-path; the run worker is an ES module worker loaded relative to the page's script.
  base: './',
  build: { outDir: 'dist', target: 'es2022' },
  worker: { format: 'es' },
  server: { port: 5173, strictPort: false },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Hermetic: kernels in tests never read a developer's tuning cache (.cache/webgpu-dwdp), which
    // could pick another GEMM variant than the test expects; cache tests set their own paths.
    env: { DWDP_TUNING_CACHE: 'off' },
    // Each test file opens its own Dawn device on the CPU Vulkan driver; two files at a time
    // keeps a 2-core machine busy without thrashing SwiftShader's own thread pool.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
