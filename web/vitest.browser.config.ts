import { defineConfig } from 'vitest/config';

// Browser tests: a real presenced and Debian's chromium, one file after the other.
export default defineConfig({
  test: {
    include: [process.env.PRESENCED_PERF ? 'tests/perf/**/*.test.ts' : 'tests/browser/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
