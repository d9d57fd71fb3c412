import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real processes, real HTTP and real files: keep the machine's two cores from thrashing.
    maxWorkers: 2,
    pool: 'forks',
  },
});
