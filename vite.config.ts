import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The benchmark page (index.html + src/ui) is the app; shaders are bundled as raw text.
  build: { outDir: 'dist', target: 'es2022' },
  server: { port: 5173, strictPort: false },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Each test file opens its own Dawn device on the CPU Vulkan driver; two files at a time
    // keeps a 2-core machine busy without thrashing SwiftShader's own thread pool.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
