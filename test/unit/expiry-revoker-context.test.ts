/**
 * The expiry revoker's timers must not keep the async context of the call that scheduled them:
 * the worker schedules from its `acquireGrant` activity, and a timer armed there kept that
 * finished activity (the SDK's context, input, logger, metric meter) in memory for as long as
 * the grant was held (docs/benchmarks.md, "Memory per active grant"). An async-local store
 * stands in for the activity's: the removal must not see it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { ExpiryRevoker } from '../../domain/expiry-revoker.js';
import type { ReleaseRequest } from '../../core/ports/activities.js';
import { releaseRequestOf, removedReceipt } from '../support/revoker-fixtures.js';

const requestOf = (id: string) => releaseRequestOf(id);
const receiptOf = (req: ReleaseRequest) => removedReceipt(req);

describe('expiry revoker timers', () => {
  it('when a grant is scheduled inside an async context, then its removal at the window end runs outside it', async () => {
    const activity = new AsyncLocalStorage<{ elevationId: string }>();
    const seen: ({ elevationId: string } | undefined)[] = [];
    const revoker = new ExpiryRevoker({
      releaseMany: (reqs) => {
        // One per request: under load both windows may end in one turn and go as one batch.
        for (const _ of reqs) seen.push(activity.getStore());
        return Promise.resolve(reqs.map(receiptOf));
      },
    });
    activity.run({ elevationId: 'e1' }, () => revoker.schedule(requestOf('e1'), Date.now() + 20));
    activity.run({ elevationId: 'e2' }, () => revoker.schedule(requestOf('e2'), Date.now() + 40));
    // Real timers: a fake clock runs callbacks in the test's own context and would prove nothing.
    await expect.poll(() => seen.length, { timeout: 5_000, interval: 10 }).toBe(2);
    expect(seen).toEqual([undefined, undefined]);
    expect(await revoker.settled('e1')).toMatchObject({ removed: true });
    expect(await revoker.settled('e2')).toMatchObject({ removed: true });
    await revoker.stop();
  });

  it('when a removal fails inside an async context, then its retry is armed outside it too', async () => {
    const activity = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    let tries = 0;
    const revoker = new ExpiryRevoker({
      releaseMany: (reqs) => {
        seen.push(activity.getStore());
        tries += 1;
        return Promise.resolve(reqs.map((req) => (tries === 1 ? new Error('target down') : receiptOf(req))));
      },
    });
    activity.run('acquireGrant', () => revoker.schedule(requestOf('e1'), Date.now() + 10));
    await expect.poll(() => tries, { timeout: 5_000, interval: 10 }).toBe(2);
    expect(seen).toEqual([undefined, undefined]);
    expect(await revoker.settled('e1')).toMatchObject({ removed: true });
    await revoker.stop();
  });
});
