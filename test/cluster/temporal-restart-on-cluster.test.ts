/**
 * The fault suite's Temporal restart (test/faults/temporal-restart.test.ts) on a real Temporal
 * server on PostgreSQL (dev/temporal-cluster.ts) instead of the dev server, and harder: the
 * server process is killed with SIGKILL, a crash that releases no shard and leaves its
 * membership rows behind, and started again after FAULT_TEMPORAL_DOWN_SECONDS on the same config, ports and
 * database (PostgreSQL keeps running). Half the windows end while it is down, the others after
 * it is back; every grant must still be removed and recorded, on time. The worker runs in the
 * test process and is not restarted: it has to ride out the crash. Twice on the same cluster:
 * with the worker's expiry revoker, which removes grants at their end whether Temporal is up or
 * not, and without it, so that every removal waits for the workflows' timers on the cluster.
 * Not part of `npm test` (it needs the server `scripts/setup` builds where Go is installed):
 * `npm run test:cluster`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES } from '../../core/model/elevation.js';
import {
  startTemporalCluster,
  TEMPORAL_SERVER_VERSION,
  type TemporalCluster,
} from '../../dev/temporal-cluster.js';
import { recordRows } from '../faults/fault-results.js';
import { faultSettings, sleep } from '../faults/fault-settings.js';
import { InvariantChecker } from '../faults/invariants.js';
import { ldapMemberships } from '../faults/membership-sources.js';
import {
  grantUntil,
  maxOf,
  maxRevocationDelayMs,
  restartDelays,
  seconds,
  watchRemovals,
  windowEnds,
} from '../faults/temporal-restart-scenario.js';
import { startStack, type Stack } from '../support/stack.js';

const ROLE = 'deploy';
const n = Math.max(2, faultSettings.expiriesWhileDown);
const BOTS = Array.from({ length: n }, (_, i) => `cbot-${i + 1}`);
const downMs = faultSettings.temporalDownSeconds * 1000;
/**
 * How long the killed server takes, once started again, to answer in `default`: the windows
 * meant to end after the restart are placed after it. (Measured: 1.3-1.7 s here, on a busy
 * 2-core machine; the margin keeps a slower start from moving them into the outage.)
 */
const RESTART_ALLOWANCE_MS = 10_000;
/**
 * Every grant must be gone from slapd within this of its window's end, or of the restart (the
 * new process's start) for a window that ended while the server was down. The worker's expiry
 * revoker removes it at the end whatever Temporal does (0.1-0.4 s after it, measured here).
 * Without it, the restarted server takes its shards over, fires the timers that came due and
 * hands the revocations to the worker, which was polling all along (within 3.5 s of the new
 * process's start, measured here). 15 s leaves a busy machine a wide margin and stays below a
 * revocation retry pause (`revokeRetryMaxSeconds`, 30 s here): a removal that had to wait for a
 * failed round to be tried again fails the test.
 */
const REMOVAL_BOUND_MS = 15_000;

let cluster: TemporalCluster;

beforeAll(async () => {
  cluster = await startTemporalCluster();
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/**
 * One crash: grants made on a fresh stack, the server killed -9 while they run and started again;
 * the row recorded for the fault table, the checks left to the caller.
 */
async function crashWithGrantsActive(stack: Stack, row: { order: number; fault: string; note: string }) {
  const checker = new InvariantChecker({
    stores: stack.stores,
    sources: [ldapMemberships(stack, [ROLE])],
    // As for the dev server: the outage (here with the restart's start-up) plus 60 s.
    lagMs: downMs + RESTART_ALLOWANCE_MS + 60_000,
  });
  const stopSampling = checker.startSampling(500);
  try {
    // Half the windows end while the server is down, the rest 5 to 15 s after it should be
    // back (after time enough to request and grant them all, at most 0.5 s each on two busy cores).
    const downAt = Date.now() + 6000 + n * 500;
    const ends = windowEnds(n, downAt, downMs, downAt + downMs + RESTART_ALLOWANCE_MS);
    const ids = await grantUntil(stack, ROLE, BOTS, ends, 'cluster fault: Temporal server killed');
    const { gone, finish } = watchRemovals(stack, ROLE, BOTS, downMs + 300_000);

    await sleep(Math.max(0, downAt - Date.now()));
    const pidBefore = cluster.pid;
    const killedAt = Date.now();
    await cluster.restartServer({ downMs, signal: 'SIGKILL' });
    const backAt = Date.now();
    expect(cluster.pid).not.toBe(pidBefore);
    // The restart: when the new process started (the dead one took a few ms to exit). It fires
    // timers and takes tasks before the frontend answers the readiness probes: before backAt.
    const restartedAt = killedAt + downMs;

    const views = await checker.settle(180_000, ids);
    await finish();
    await checker.finalCheck(await checker.settle(60_000));
    const ended = await checker.endedReport(views);
    const chainOk = await checker.verifyChain();
    const delays = restartDelays(views, gone, restartedAt);
    const during = delays.filter((d) => d.during);
    const after = delays.filter((d) => !d.during);
    const whileDown = during.filter((d) => d.afterRestart < 0);
    const afterBack = during.filter((d) => d.afterRestart >= 0);
    const max = maxOf;
    const s = seconds;
    recordRows(`temporal-restart-cluster-${row.order}`, [
      {
        order: row.order,
        fault: row.fault,
        runs: n,
        lostRevocations: checker.count('lost-revocation'),
        leftoverGrants: checker.count('leftover-grant'),
        activeWithoutGrant: checker.count('active-without-grant'),
        maxRevocationDelayMs: maxRevocationDelayMs(delays),
        missingEvents: ended.missing,
        repeatedEvents: ended.repeated,
        chainVerified: chainOk,
        note:
          `the new process answered ${s(backAt - restartedAt)} after its start; ` +
          `${during.length} windows ended while the server was down: ${whileDown.length} removed before the restart` +
          (whileDown.length ? ` (at most ${s(max(whileDown.map((d) => d.late)))} after their end)` : '') +
          (afterBack.length
            ? `, ${afterBack.length} at most ${s(max(afterBack.map((d) => d.afterRestart)))} after the restart`
            : '') +
          `, their revocations recorded at most ${s(max(during.map((d) => d.recordedLate)))} after the restart; ` +
          `${after.length} ended after it, removed at most ${s(max(after.map((d) => d.late)))} and recorded at most ` +
          `${s(max(after.map((d) => d.recordedLate)))} after their end (seen in slapd; the delay column counts ` +
          `from the restart, the new process's start, for a window removed only after it); the worker was not ` +
          `restarted; ${row.note}`,
      },
    ]);
    return { ids, views, delays, gone, checker };
  } finally {
    await stopSampling();
  }
}

/** What both runs must show. */
function expectEveryGrantRemovedOnTime(result: Awaited<ReturnType<typeof crashWithGrantsActive>>) {
  const { ids, views, delays, gone, checker } = result;
  expect(views.map((v) => v.status)).toEqual(ids.map(() => 'revoked'));
  expect(gone.size).toBe(BOTS.length);
  expect(views.filter((v) => !FINAL_STATUSES.includes(v.status))).toEqual([]);
  expect(checker.violations).toEqual([]);
  // Both kinds of window happened: the kill came late enough, the restart did not take too long.
  expect(delays.filter((d) => d.during).length).toBeGreaterThan(0);
  expect(delays.filter((d) => !d.during).length).toBeGreaterThan(0);
  expect(delays.filter((d) => Math.min(d.late, d.afterRestart) > REMOVAL_BOUND_MS)).toEqual([]);
}

const startStackOn = (expiryRevoker: boolean) =>
  startStack({
    bots: BOTS.map((id) => ({ id, roles: [ROLE] })),
    roles: [{ id: ROLE, maxDurationSeconds: 3600 }],
    temporal: { address: cluster.address, namespace: cluster.namespace },
    timing: { revokeRetryMaxSeconds: 30, grantTimeoutSeconds: 60 },
    expiryRevoker,
  });

const fault = `Temporal cluster (server ${TEMPORAL_SERVER_VERSION} on PostgreSQL) killed -9, down ${faultSettings.temporalDownSeconds} s, restarted`;
const TEST_TIMEOUT_MS = downMs + RESTART_ALLOWANCE_MS + 420_000;

describe('a Temporal cluster crashed with grants active', () => {
  it(
    'when the Temporal server is killed -9 and started again on its database, then every grant is still removed and recorded, on time',
    async () => {
      const stack = await startStackOn(true);
      try {
        expectEveryGrantRemovedOnTime(
          await crashWithGrantsActive(stack, { order: 41, fault, note: 'the expiry revoker on' }),
        );
      } finally {
        await stack.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'when the worker has no expiry revoker, then the restarted server fires the timers that came due and the workflows remove every grant on time',
    async () => {
      const stack = await startStackOn(false);
      try {
        expectEveryGrantRemovedOnTime(
          await crashWithGrantsActive(stack, {
            order: 42,
            fault: `${fault}, worker without its expiry revoker`,
            note: 'every removal by the workflows',
          }),
        );
      } finally {
        await stack.close();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
