import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['platform/**/*.test.ts', 'harness/**/*.test.ts', 'cli/**/*.test.ts', 'workloads/**/*.test.ts', 'experiments/**/*.test.ts', 'report/**/*.test.ts', 'sdk/**/*.test.ts', 'test/**/*.test.ts'],
    // End-to-end tests start real processes; give them room on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Timing-sensitive and process-heavy suites must not fight each other for the two cores.
    fileParallelism: false,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
