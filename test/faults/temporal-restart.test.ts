/**
 * The Temporal dev server restarted with grants active: it keeps its state in its SQLite file
 * (`--db-filename`, as `elevate start` runs it), is stopped for FAULT_TEMPORAL_DOWN_SECONDS and
 * started again on the same file and port. Some windows end while it is down, the others after
 * it is back; every grant must still be removed, the later ones on time. The worker runs in
 * the test process and is not restarted: it has to ride out the outage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES } from '../../core/model/elevation.js';
import { freePort } from '../../dev/processes.js';
import { startTemporalDevServer, type DevServer } from '../../dev/temporal-cli.js';
import { startStack, type Stack } from '../support/stack.js';
import {
  grantUntil,
  maxOf,
  maxRevocationDelayMs,
  restartDelays,
  seconds,
  watchRemovals,
  windowEnds,
} from './temporal-restart-scenario.js';
import { recordRows } from './fault-results.js';
import { faultSettings, sleep } from './fault-settings.js';
import { InvariantChecker } from './invariants.js';
import { ldapMemberships } from './membership-sources.js';

const ROLE = 'deploy';
const n = Math.max(2, faultSettings.expiriesWhileDown);
const BOTS = Array.from({ length: n }, (_, i) => `tbot-${i + 1}`);

let dir: string;
let port: number;
let temporal: DevServer;
let stack: Stack;
let checker: InvariantChecker;
let stopSampling: () => Promise<void>;

const startTemporal = () =>
  startTemporalDevServer({
    dbFile: path.join(dir, 'temporal.db'),
    pidFile: path.join(dir, 'temporal.pid'),
    port,
    ui: false,
  });

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-fault-temporal-'));
  port = await freePort();
  temporal = await startTemporal();
  stack = await startStack({
    bots: BOTS.map((id) => ({ id, roles: [ROLE] })),
    roles: [{ id: ROLE, maxDurationSeconds: 3600 }],
    temporal: { address: temporal.address, namespace: 'default' },
    timing: { revokeRetryMaxSeconds: 30, grantTimeoutSeconds: 60 },
  });
  checker = new InvariantChecker({
    stores: stack.stores,
    sources: [ldapMemberships(stack, [ROLE])],
    lagMs: (faultSettings.temporalDownSeconds + 60) * 1000,
  });
  stopSampling = checker.startSampling(500);
}, 240_000);

afterAll(async () => {
  await stopSampling?.();
  await stack?.close();
  await temporal?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Temporal restarted with grants active', () => {
  it('when the Temporal server stops and starts again on its database, then every grant is still removed, those ending after the restart on time', async () => {
    const downMs = faultSettings.temporalDownSeconds * 1000;
    // Half the windows end while Temporal is down, the rest within 15 s after it is back.
    // (after time enough to request and grant them all, about 0.3 s each on two busy cores)
    const downAt = Date.now() + 4000 + n * 300;
    const ends = windowEnds(n, downAt, downMs, downAt + downMs);
    const ids = await grantUntil(stack, ROLE, BOTS, ends, 'fault suite: Temporal restart');
    const { gone, finish } = watchRemovals(stack, ROLE, BOTS, downMs + 240_000);

    await sleep(Math.max(0, downAt - Date.now()));
    await temporal.stop();
    const stoppedAt = Date.now();
    await sleep(Math.max(0, stoppedAt + downMs - Date.now()));
    temporal = await startTemporal();
    const backAt = Date.now();

    const views = await checker.settle(180_000, ids);
    await finish();
    await stopSampling();
    await checker.finalCheck(await checker.settle(60_000));
    const ended = await checker.endedReport(views);
    const chainOk = await checker.verifyChain();

    // From the window's end, or from the restart for a window that ended while Temporal was
    // down (negative: removed before Temporal was back).
    const delays = restartDelays(views, gone, backAt);
    const during = delays.filter((d) => d.during);
    const after = delays.filter((d) => !d.during);
    const whileDown = during.filter((d) => d.afterRestart < 0);
    const afterBack = during.filter((d) => d.afterRestart >= 0);
    const max = maxOf;
    const s = seconds;
    recordRows('temporal-restart', [
      {
        order: 40,
        fault: `Temporal dev server stopped ${faultSettings.temporalDownSeconds} s and restarted on its database`,
        runs: n,
        lostRevocations: checker.count('lost-revocation'),
        leftoverGrants: checker.count('leftover-grant'),
        activeWithoutGrant: checker.count('active-without-grant'),
        maxRevocationDelayMs: maxRevocationDelayMs(delays),
        missingEvents: ended.missing,
        repeatedEvents: ended.repeated,
        chainVerified: chainOk,
        note:
          `${during.length} windows ended while it was down: ${whileDown.length} removed before it was back ` +
          `(at most ${s(max(whileDown.map((d) => d.late)))} after their end)` +
          (afterBack.length
            ? `, ${afterBack.length} at most ${s(max(afterBack.map((d) => d.afterRestart)))} after the restart`
            : '') +
          `; ${after.length} ended after it, removed at most ${s(max(after.map((d) => d.late)))} after their end ` +
          `(seen in slapd; the delay column counts from the restart for a window removed only after it); ` +
          `the worker was not restarted`,
      },
    ]);

    expect(views.map((v) => v.status)).toEqual(ids.map(() => 'revoked'));
    expect(gone.size).toBe(BOTS.length);
    expect(views.filter((v) => !FINAL_STATUSES.includes(v.status))).toEqual([]);
    expect(checker.violations).toEqual([]);
  });
});
