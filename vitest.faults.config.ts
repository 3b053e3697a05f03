import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run test:faults`: the fault suite (test/faults: processes killed at every phase, targets
// and Temporal down across expiries), which `npm test` leaves out. One file at a time: the
// suite measures revocation delays, and files side by side on two cores would measure each
// other. FAULT_RUNS and friends scale it (test/faults/fault-settings.ts, docs/reliability.md).
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/faults/**/*.test.ts'],
    exclude: configDefaults.exclude,
    fileParallelism: false,
    globalSetup: ['test/faults/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
