import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run test:cluster`: the tests on a local Temporal cluster on PostgreSQL (test/cluster),
// which `npm test` leaves out. The same settings otherwise (mergeConfig would join the lists).
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/cluster/**/*.test.ts'], exclude: configDefaults.exclude },
});
