/**
 * The worker's expiry revoker on the real stack (Temporal dev server, slapd, audit store): it
 * takes the membership away when the window ends, never before, and the workflow's own
 * revocation rechecks; a worker that restarted (and so forgot its timers) leaves the whole
 * revocation to the workflow, which still does it at the end of the window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import {
  recordedGrantReceiptSchema,
  recordedRevokeReceiptSchema,
} from '../../core/model/event-data-records.js';
import { botOf, startStack, type Stack } from '../support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    bots: [{ id: 'etl-bot', roles: ['warehouse'] }],
    roles: [{ id: 'warehouse', maxDurationSeconds: 60 }],
  });
});

afterAll(async () => {
  await stack?.close();
});

const request = (durationSeconds: number) =>
  stack.services.requests.request(botOf(stack, 'etl-bot'), {
    role: 'warehouse',
    durationSeconds,
    justification: 'expiry revoker test',
  });

/** The receipt of an `event` of the elevation, read with the schema the audit trail records it by. */
const receiptOf = (events: AuditEvent[], type: 'grant.confirmed' | 'elevation.revoked') => {
  const data = events.find((e) => e.type === type)?.data as { receipt?: unknown } | undefined;
  return data?.receipt;
};

describe('expiry revoker', () => {
  it('when a window ends, then the revoker removes the membership no earlier than the end, the workflow rechecks, and the record says who removed it', async () => {
    const { elevation } = await request(2);
    const active = await stack.waitFor(elevation.id, (v) => v.status === 'active');
    expect(await stack.isMember('etl-bot', 'warehouse')).toBe(true);

    const revoked = await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
    expect(revoked.expiresAt).toBe(active.expiresAt);
    expect(await stack.isMember('etl-bot', 'warehouse')).toBe(false);

    const events = await stack.stores.auditLog.listEvents(elevation.id);
    expect(events.map((e) => e.type)).toEqual([
      'elevation.requested',
      'elevation.approved',
      'grant.confirmed',
      'revoke.started',
      'elevation.revoked',
    ]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    // The window the workflow shows is the one the revoker was given.
    const granted = recordedGrantReceiptSchema.parse(receiptOf(events, 'grant.confirmed'));
    expect(granted.expiresAt).toBe(active.expiresAt);

    const receipt = recordedRevokeReceiptSchema.parse(receiptOf(events, 'elevation.revoked'));
    expect(receipt).toMatchObject({ removed: true, stillHeldBy: [], removedBy: 'expiry-revoker' });
    const verifiedAt = Date.parse(receipt.verifiedAt!);
    expect(verifiedAt).toBeGreaterThanOrEqual(Date.parse(active.expiresAt!));
    expect(Date.parse(receipt.recheckedAt!)).toBeGreaterThanOrEqual(verifiedAt);
    expect((await stack.stores.auditLog.verify()).ok).toBe(true);
  });

  it('when the worker restarts during the window, then the new worker has no timer for it and the workflow alone revokes at the end', async () => {
    const { elevation } = await request(3);
    const active = await stack.waitFor(elevation.id, (v) => v.status === 'active');
    await stack.stopWorker();
    await stack.startWorker();

    await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
    expect(await stack.isMember('etl-bot', 'warehouse')).toBe(false);
    const receipt = recordedRevokeReceiptSchema.parse(
      receiptOf(await stack.stores.auditLog.listEvents(elevation.id), 'elevation.revoked'),
    );
    expect(receipt).toMatchObject({ removed: true, removedBy: 'workflow' });
    expect(receipt.recheckedAt).toBeUndefined();
    expect(Date.parse(receipt.verifiedAt!)).toBeGreaterThanOrEqual(Date.parse(active.expiresAt!));
  });
});
