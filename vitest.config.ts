import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/cluster needs the Temporal server that setup builds only where Go is installed:
    // `npm run test:cluster` (vitest.cluster.config.ts) runs it, `npm test` does not. The fault
    // suite takes minutes to hours: `npm run test:faults` (vitest.faults.config.ts).
    exclude: [...configDefaults.exclude, 'test/cluster/**', 'test/faults/**'],
    // Temporal's native worker runs best in child processes, not worker threads.
    pool: 'forks',
    // Two test files at a time, also on two cores (vitest's default there is one): most of an
    // integration test's time is spent waiting on servers and windows, so the whole run takes
    // about 7 minutes instead of 12 on a 2-core machine.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
