/**
 * A worker whose clock is off times windows on the Temporal server's clock
 * (`domain/server-clock.ts`): the estimate from activities' scheduled times, and the grant's
 * end and the expiry revoker's removal with a host clock five minutes ahead or behind.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import type { GrantRequest, ReleaseRequest } from '../../core/ports/activities.js';
import type { GrantReceipt, RevokeReceipt } from '../../core/model/elevation.js';
import { ExpiryRevoker } from '../../domain/expiry-revoker.js';
import { OFFSET_TOLERANCE_MS, SAMPLE_WINDOW_MS, ServerClock } from '../../domain/server-clock.js';
import { testLogger } from '../support/stack.js';

const MINUTE = 60_000;
/** The server's clock when each test starts. */
const T0 = Date.parse('2026-12-07T04:00:00Z');

describe('ServerClock', () => {
  it('when samples arrive with different delivery times, then the smallest recent one is the offset', () => {
    let local = T0 + 5 * MINUTE;
    const seen: number[] = [];
    const clock = new ServerClock({ now: () => local, onOffset: (ms) => seen.push(ms) });
    // Scheduled by the server 40 ms, 5 ms and 900 ms before this worker started the task.
    clock.observe(local - 5 * MINUTE - 40);
    clock.observe(local - 5 * MINUTE - 5);
    clock.observe(local - 5 * MINUTE - 900);
    expect(clock.offsetMs).toBe(5 * MINUTE + 5);
    expect(clock.now()).toBe(T0 - 5);
    expect(clock.toServer(local + 1_000)).toBe(T0 + 1_000 - 5);
    // Reported once: moves of milliseconds are not news.
    expect(seen).toEqual([5 * MINUTE + 40]);
    // The clock is set right: once the old samples are out of the window, the offset follows.
    local += SAMPLE_WINDOW_MS + 1;
    clock.observe(local - 20);
    expect(clock.offsetMs).toBe(0);
    expect(seen.at(-1)).toBe(0);
  });

  it('when the worker is behind, then the offset is negative and now() is the server time', () => {
    const local = T0 - 5 * MINUTE;
    const clock = new ServerClock({ now: () => local });
    clock.observe(T0 - 30);
    expect(clock.offsetMs).toBe(-5 * MINUTE + 30);
    expect(clock.now()).toBe(T0 - 30);
  });

  it('when the offset is within the tolerance, then the host clock is used as it is', () => {
    const clock = new ServerClock({ now: () => T0 });
    clock.observe(T0 - OFFSET_TOLERANCE_MS);
    clock.observe(Number.NaN);
    clock.observe(0);
    expect(clock.offsetMs).toBe(0);
    expect(clock.now()).toBe(T0);
  });
});

describe('a grant on a worker whose clock is off', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const target = { type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=example,dc=org' } as const;
  const grant: GrantRequest = {
    elevationId: 'el_skew',
    target,
    principal: 'uid=bot,ou=bots,dc=example,dc=org',
    durationSeconds: 60,
    revokeAtExpiry: true,
  };

  /**
   * The worker's host clock runs `offsetMs` off the server's (the fake clock is the server's);
   * the grant is confirmed 20 ms after the server scheduled it. Returns the receipt and when
   * (server time) the revoker removed the grant.
   */
  async function grantWith(offsetMs: number, correct: boolean) {
    const host = () => Date.now() + offsetMs;
    const removedAt: number[] = [];
    const clock = new ServerClock({ now: host });
    const revoker = new ExpiryRevoker({
      releaseMany: (reqs: ReleaseRequest[]) => {
        removedAt.push(Date.now());
        return Promise.resolve(
          reqs.map((r): RevokeReceipt => ({
            target: r.target,
            principal: r.principal,
            removed: true,
            stillHeldBy: [],
            verifiedAt: new Date(host()).toISOString(),
          })),
        );
      },
      now: correct ? () => clock.now() : host,
    });
    const ledger = {
      acquire: (req: GrantRequest): Promise<GrantReceipt> =>
        Promise.resolve({
          target: req.target,
          principal: req.principal,
          alreadyPresent: false,
          sharedWith: [],
          // The target's read-back, stamped with the host's clock.
          verifiedAt: new Date(host()).toISOString(),
        }),
    };
    const activities = createActivities({
      ledger: ledger as unknown as ActivityDeps['ledger'],
      expiry: revoker,
      ...(correct ? { serverClock: clock } : {}),
      logger: testLogger(),
    } as unknown as ActivityDeps);
    const scheduled = Date.now();
    vi.setSystemTime(scheduled + 20);
    const env = new MockActivityEnvironment({ currentAttemptScheduledTimestampMs: scheduled });
    const acquireGrant = (req: GrantRequest) => activities.acquireGrant(req);
    const receipt = await env.run<[GrantRequest], GrantReceipt, typeof acquireGrant>(acquireGrant, grant);
    const grantedAt = Date.now();
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    await new Promise((resolve) => setImmediate(resolve));
    await revoker.stop();
    return {
      expiresAt: Date.parse(receipt.expiresAt!),
      verifiedAt: Date.parse(receipt.verifiedAt),
      grantedAt,
      removedAt: removedAt[0]!,
    };
  }

  for (const offset of [5 * MINUTE, -5 * MINUTE]) {
    const way = offset > 0 ? 'ahead' : 'behind';
    it(`when the host clock is 5 minutes ${way}, then the window ends 60 s after the grant by the server's clock`, async () => {
      const { expiresAt, verifiedAt, grantedAt, removedAt } = await grantWith(offset, true);
      // The receipt's read-back time, as the audit trail keeps it, is on the server's clock too.
      expect(Math.abs(verifiedAt - grantedAt)).toBeLessThanOrEqual(20);
      // The end the workflow's timer uses: never later than the true one, at most the delivery time earlier.
      expect(expiresAt).toBeLessThanOrEqual(grantedAt + 60_000);
      expect(expiresAt).toBeGreaterThanOrEqual(grantedAt + 60_000 - 20);
      // The revoker removes at the true end, not before.
      expect(removedAt).toBeGreaterThanOrEqual(grantedAt + 60_000);
      expect(removedAt).toBeLessThanOrEqual(grantedAt + 60_000 + 50);
    });
  }

  it("when the host clock is 5 minutes ahead and not corrected, then the workflow's end is 5 minutes late (what the correction prevents)", async () => {
    const { expiresAt, grantedAt } = await grantWith(5 * MINUTE, false);
    expect(expiresAt - (grantedAt + 60_000)).toBe(5 * MINUTE);
  });
});
