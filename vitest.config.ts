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
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
