/**
 * The workflow's revocation after the worker's expiry revoker removed the grant
 * (`releaseGrant` in `activities/index.ts`): it reads the target back once, and only when the
 * member is found again, or the read-back fails, does it release through the ledger in full.
 */
import { describe, expect, it } from 'vitest';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import type { RevokeReceipt } from '../../core/model/elevation.js';
import type { ReleaseRequest } from '../../core/ports/activities.js';
import { TargetUnreachableError } from '../../core/errors/target-errors.js';
import { releaseRequestOf, removedReceipt } from '../support/revoker-fixtures.js';
import { testLogger } from '../support/stack.js';

/** A ledger whose read-back answers `stillRemoved`, counting full releases. */
function backstopWith(stillRemoved: () => Promise<boolean>, fast: RevokeReceipt | undefined) {
  const calls = { release: 0, stillRemoved: 0, forgotten: [] as string[] };
  const ledger = {
    stillRemoved: () => {
      calls.stillRemoved += 1;
      return stillRemoved();
    },
    release: (r: ReleaseRequest) => {
      calls.release += 1;
      return Promise.resolve(removedReceipt(r));
    },
  };
  const expiry = {
    settled: () => Promise.resolve(fast),
    forget: (id: string) => void calls.forgotten.push(id),
    schedule: () => undefined,
    reschedule: () => false,
  };
  const activities = createActivities({
    ledger: ledger as unknown as ActivityDeps['ledger'],
    expiry,
    logger: testLogger(),
  } as unknown as ActivityDeps);
  return { activities, calls };
}

describe('the revocation after the expiry revoker', () => {
  const req = releaseRequestOf('el_000000000000000000000042');
  const fast = removedReceipt(req, Date.now() - 5);

  it('when the revoker removed it and the target still shows it gone, then one read-back and no second removal', async () => {
    const { activities, calls } = backstopWith(() => Promise.resolve(true), fast);
    const receipt = await activities.releaseGrant(req);
    expect(calls).toEqual({ release: 0, stillRemoved: 1, forgotten: [req.elevationId] });
    expect(receipt).toMatchObject({
      removed: true,
      removedBy: 'expiry-revoker',
      verifiedAt: fast.verifiedAt,
    });
    expect(Date.parse(receipt.recheckedAt!)).toBeGreaterThanOrEqual(Date.parse(fast.verifiedAt));
  });

  it('when the member is back after the revoker removed it, then the ledger releases it in full', async () => {
    const { activities, calls } = backstopWith(() => Promise.resolve(false), fast);
    const receipt = await activities.releaseGrant(req);
    expect(calls.release).toBe(1);
    expect(receipt.removedBy).toBe('expiry-revoker');
  });

  it('when the read-back fails, then the ledger releases it in full', async () => {
    const { activities, calls } = backstopWith(
      () => Promise.reject(new TargetUnreachableError('down')),
      fast,
    );
    await activities.releaseGrant(req);
    expect(calls.release).toBe(1);
  });

  it('when the revoker did not remove it, then no read-back first: the ledger releases it', async () => {
    const { activities, calls } = backstopWith(() => Promise.resolve(true), undefined);
    const receipt = await activities.releaseGrant(req);
    expect(calls).toMatchObject({ release: 1, stillRemoved: 0 });
    expect(receipt.removedBy).toBe('workflow');
  });
});
