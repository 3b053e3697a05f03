/**
 * How much the fault suite does, from the environment, so that the same tests make the quick
 * default run (`npm run test:faults`, a few minutes) and the documented one
 * (`FAULT_RUNS=20 FAULT_DOWN_SECONDS=180 npm run test:faults`, an hour or more).
 */

function intFrom(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: must be a whole number of at least ${min}`);
  return n;
}

function storeFrom(raw: string | undefined): 'sqlite' | 'postgres' {
  if (raw === undefined || raw === '' || raw === 'sqlite') return 'sqlite';
  if (raw === 'postgres') return raw;
  throw new Error('FAULT_STORE: must be sqlite or postgres');
}

export const faultSettings = {
  /** Kills per phase and per process kind (the documented run asks for at least 20). */
  runs: intFrom('FAULT_RUNS', 1, 1),
  /** How long a target stays down across the expiries (seconds). */
  downSeconds: intFrom('FAULT_DOWN_SECONDS', 30, 5),
  /** Elevations whose windows end while a target is down, per target. */
  expiriesWhileDown: intFrom('FAULT_EXPIRIES', 6, 1),
  /** How long the Temporal dev server stays down (seconds). */
  temporalDownSeconds: intFrom('FAULT_TEMPORAL_DOWN_SECONDS', 10, 1),
  /** The audit store of the process-kill runs: `sqlite` (the embedded default) or `postgres`. */
  store: storeFrom(process.env.FAULT_STORE),
  /** Only these faults (comma-separated names as in the table, e.g. `granting,active`): for development. */
  only: process.env.FAULT_ONLY ? process.env.FAULT_ONLY.split(',').map((s) => s.trim()) : undefined,
  /**
   * Seed of the random kill points (printed, so a run can be repeated). The global setup picks
   * one when FAULT_SEED is not set, and the test files, started after it, inherit it.
   */
  get seed(): number {
    return intFrom('FAULT_SEED', 1, 0);
  },
};

/** A small seeded generator (mulberry32): the same seed gives the same kill points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
