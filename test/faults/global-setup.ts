/**
 * The fault suite's global setup: a clean results folder first (FAULT_KEEP_ROWS=1 keeps the rows
 * of test files not run this time, to run one file of a long run again), the whole table at the end.
 */
import { clearRows, publishResults } from './fault-results.js';
import { faultSettings } from './fault-settings.js';

export default function setup(): () => Promise<void> {
  const started = Date.now();
  process.env.FAULT_SEED ??= String(started % 2 ** 31);
  const keep = process.env.FAULT_KEEP_ROWS === '1';
  if (!keep) clearRows();
  console.log(`fault suite: seed ${faultSettings.seed} (FAULT_SEED repeats the same kill points)`);
  return () => publishResults(Date.now() - started, keep);
}
