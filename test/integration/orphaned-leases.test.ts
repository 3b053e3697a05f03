/**
 * Leases whose workflow ended without revoking, on a real stack (Temporal dev server, slapd,
 * SQLite ledger): an operator terminates an active elevation's workflow, and the next
 * reconciliation run takes the grant back through the ledger and records it, while grants
 * that running workflows hold (alone or shared with the orphan) stay where they are.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseOrphanedLeases, type ElevationWorkflows } from '../../activities/orphaned-leases.js';
import type { GrantRequest } from '../../core/ports/activities.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { normalizeDn } from '../../core/rules/dn.js';
import { botDn, groupDn } from '../../dev/ldap-seed.js';
import { TargetUnreachableError } from '../../core/errors/target-errors.js';
import { workflowIdFor } from '../../core/model/elevation.js';
import { type LdapTargetRef } from '../../core/model/targets.js';
import { type ReconcileResult, type OrphanedLease } from '../../core/model/reconcile.js';
import { reconcileWorkflow } from '../../workflows/reconcile-workflow.js';
import { reconcileRolesOf } from '../../worker/reconcile-schedule.js';
import { SUFFIX, botOf, startStack, type Stack } from '../support/stack.js';

let s: Stack;

beforeAll(async () => {
  s = await startStack({
    bots: [
      { id: 'bot-term', roles: ['solo'] },
      { id: 'bot-share', roles: ['shared'] },
      { id: 'bot-live', roles: ['live'] },
      { id: 'bot-gone', roles: ['gone'] },
      { id: 'bot-flaky', roles: ['flaky-1', 'flaky-2', 'blind'] },
    ],
    roles: ['solo', 'shared', 'live', 'gone', 'flaky-1', 'flaky-2', 'blind'].map((id) => ({ id })),
  });
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const ref = (role: string): LdapTargetRef => ({ type: 'ldap', groupDn: groupDn(SUFFIX, role) });
const dn = (bot: string) => botDn(SUFFIX, bot);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One reconciliation run, as the schedule starts it, over the given roles of the policy. */
const reconcile = (...roleIds: string[]): Promise<ReconcileResult> =>
  s.env.client.workflow.execute(reconcileWorkflow, {
    args: [{ roles: reconcileRolesOf(s.policy).filter((r) => roleIds.includes(r.id)) }],
    taskQueue: s.taskQueue,
    workflowId: `reconcile-${randomUUID()}`,
  });

/** An elevation of `bot` for `role`, once it is active (granted and read back). */
async function activeElevation(bot: string, role: string): Promise<string> {
  const { elevation } = await s.services.requests.request(botOf(s, bot), {
    role,
    durationSeconds: 600,
    justification: 'orphaned lease test',
  });
  await s.waitFor(elevation.id, (v) => v.status === 'active');
  return elevation.id;
}

/** What an operator does in the Temporal UI or CLI: end the workflow with no revocation. */
async function terminate(elevationId: string): Promise<void> {
  const handle = s.env.client.workflow.getHandle(workflowIdFor(elevationId));
  await handle.terminate('operator');
  expect((await handle.describe()).status.name).toBe('TERMINATED');
}

const workflowStatus = async (elevationId: string) =>
  (await s.env.client.workflow.getHandle(workflowIdFor(elevationId)).describe()).status.name;

const eventsOf = async (elevationId: string, type: string): Promise<AuditEvent[]> =>
  (await s.stores.auditLog.listEvents(elevationId)).filter((e) => e.type === type);

const orphanOf = (result: ReconcileResult, elevationId: string): OrphanedLease | undefined =>
  result.orphanedLeases?.orphaned.find((o) => o.elevationId === elevationId);

describe('an elevation whose workflow is terminated', () => {
  it('when reconciliation runs, then the grant is removed and read back, the trail records it, and the elevation reads revoked', async () => {
    const id = await activeElevation('bot-term', 'solo');
    expect(await s.isMember('bot-term', 'solo')).toBe(true);

    await terminate(id);
    // The hole: nothing revokes, and the held lease keeps the grant in place.
    await sleep(500);
    expect(await s.isMember('bot-term', 'solo')).toBe(true);
    expect((await s.stores.leases.getLease(id))?.state).toBe('held');

    const result = await reconcile('solo');

    expect(await s.isMember('bot-term', 'solo')).toBe(false);
    expect((await s.stores.leases.getLease(id))?.state).toBe('released');
    expect(orphanOf(result, id)).toEqual({ elevationId: id, workflowStatus: 'TERMINATED', removed: true });
    expect(result.orphanedLeases).toMatchObject({ failed: 0 });
    expect(result.orphanedLeases?.error).toBeUndefined();
    // Reconciling the role in the same run never calls the orphan's grant drift.
    expect(result.roles).toEqual([{ roleId: 'solo', drift: [], alerts: [] }]);

    const [orphaned, ...moreOrphaned] = await eventsOf(id, 'lease.orphaned');
    expect(moreOrphaned).toEqual([]);
    expect(orphaned).toMatchObject({
      actor: { kind: 'system', id: 'elevate' },
      data: { workflowId: workflowIdFor(id), workflowStatus: 'TERMINATED', target: ref('solo') },
    });
    expect(normalizeDn(orphaned!.data.principal as string)).toBe(normalizeDn(dn('bot-term')));
    const lease = await s.stores.leases.getLease(id);
    expect(orphaned!.data.acquiredAt).toBe(lease?.acquiredAt);
    expect(Number.isNaN(Date.parse(lease!.acquiredAt!))).toBe(false);

    const events = await s.stores.auditLog.listEvents(id);
    expect(events.slice(-2).map((e) => e.type)).toEqual(['lease.orphaned', 'elevation.revoked']);
    const revoked = events.at(-1)!;
    expect(revoked.data).toMatchObject({
      reason: 'orphaned',
      workflowId: workflowIdFor(id),
      workflowStatus: 'TERMINATED',
      receipt: { target: ref('solo'), removed: true, stillHeldBy: [] },
    });

    const view = await s.services.requests.get(id, { kind: 'admin' });
    expect(view).toMatchObject({
      status: 'revoked',
      endReason: 'orphaned',
      botId: 'bot-term',
      roleId: 'solo',
    });
    expect(Date.parse(view.endedAt!)).toBeGreaterThanOrEqual(Date.parse(orphaned!.at));
    expect(await s.stores.auditLog.verify()).toMatchObject({ ok: true });

    // Nothing left to do: the next run finds no orphan and records nothing more.
    const again = await reconcile('solo');
    expect(orphanOf(again, id)).toBeUndefined();
    expect(await s.stores.auditLog.listEvents(id)).toHaveLength(events.length);
  });

  it('when another running elevation shares the membership, then only the lease goes and the membership stays for the other', async () => {
    const first = await activeElevation('bot-share', 'shared');
    const second = await activeElevation('bot-share', 'shared');
    expect((await eventsOf(second, 'grant.confirmed'))[0]!.data.receipt).toMatchObject({
      sharedWith: [first],
    });

    await terminate(first);
    const result = await reconcile('shared');

    expect(orphanOf(result, first)).toEqual({
      elevationId: first,
      workflowStatus: 'TERMINATED',
      removed: false,
    });
    expect(orphanOf(result, second)).toBeUndefined();
    expect(await s.isMember('bot-share', 'shared')).toBe(true);
    expect((await s.stores.leases.getLease(first))?.state).toBe('released');
    expect((await s.stores.leases.getLease(second))?.state).toBe('held');
    expect((await eventsOf(first, 'elevation.revoked'))[0]!.data).toMatchObject({
      reason: 'orphaned',
      receipt: { removed: false, stillHeldBy: [second] },
    });
    expect(await s.services.requests.get(first, { kind: 'admin' })).toMatchObject({
      status: 'revoked',
      endReason: 'orphaned',
    });
    expect(await s.services.requests.get(second, { kind: 'admin' })).toMatchObject({ status: 'active' });
    expect(await eventsOf(second, 'lease.orphaned')).toEqual([]);
    expect(await workflowStatus(second)).toBe('RUNNING');

    // The other elevation ends as usual, and as the last holder it takes the membership away.
    await s.services.requests.revoke(second, { kind: 'admin', id: 'test-admin' }, { kind: 'admin' }, 'done');
    await s.waitFor(second, (v) => v.status === 'revoked');
    expect(await s.isMember('bot-share', 'shared')).toBe(false);
    expect(await s.stores.auditLog.verify()).toMatchObject({ ok: true });
  });
});

describe('a running elevation', () => {
  it('when reconciliation runs, then its lease is looked at and left held, and its grant and record are untouched', async () => {
    const id = await activeElevation('bot-live', 'live');
    const before = await s.stores.auditLog.listEvents(id);

    const results = [await reconcile('live'), await reconcile('live')];

    for (const result of results) {
      expect(result.orphanedLeases?.checked).toBeGreaterThanOrEqual(1);
      expect(orphanOf(result, id)).toBeUndefined();
    }
    expect((await s.stores.leases.getLease(id))?.state).toBe('held');
    expect(await s.isMember('bot-live', 'live')).toBe(true);
    expect(await s.stores.auditLog.listEvents(id)).toEqual(before);
    expect(await s.services.requests.get(id, { kind: 'admin' })).toMatchObject({ status: 'active' });
    expect(await workflowStatus(id)).toBe('RUNNING');
  });
});

describe('a lease whose workflow Temporal does not know', () => {
  it('when reconciliation runs, then it counts as ended: released, the grant removed, and both events recorded', async () => {
    // What a lost Temporal database, or a history past retention, leaves behind.
    const req: GrantRequest = {
      elevationId: `el_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
      target: ref('gone'),
      principal: dn('bot-gone'),
    };
    await s.ledger.acquire(req);
    expect(await s.isMember('bot-gone', 'gone')).toBe(true);

    const result = await reconcile();

    expect(orphanOf(result, req.elevationId)).toEqual({
      elevationId: req.elevationId,
      workflowStatus: 'NOT_FOUND',
      removed: true,
    });
    expect(await s.isMember('bot-gone', 'gone')).toBe(false);
    expect(
      (await s.stores.auditLog.listEvents(req.elevationId)).map((e) => [e.type, e.data.workflowStatus]),
    ).toEqual([
      ['lease.orphaned', 'NOT_FOUND'],
      ['elevation.revoked', 'NOT_FOUND'],
    ]);
    // No summary is made up for an elevation the store never had.
    expect(await s.stores.elevations.getElevation(req.elevationId)).toBeUndefined();
  });
});

describe('failures while releasing orphaned leases', () => {
  it('when one release fails and one workflow cannot be described, then the others are released and the failed one is released by the next run', async () => {
    const failing = await activeElevation('bot-flaky', 'flaky-1');
    const fine = await activeElevation('bot-flaky', 'flaky-2');
    const live = await activeElevation('bot-live', 'live');
    await terminate(failing);
    await terminate(fine);
    // Wait until visibility lists the running one, so the search need not describe it.
    const query = `WorkflowId = '${workflowIdFor(live)}' AND ExecutionStatus = 'Running'`;
    for (let i = 0; ; i += 1) {
      let listed = false;
      for await (const _ of s.env.client.workflow.list({ query })) listed = true;
      if (listed) break;
      if (i > 100) throw new Error('visibility never listed the running elevation');
      await sleep(100);
    }

    const described: string[] = [];
    const temporal: ElevationWorkflows = {
      workflow: {
        list: (options) => s.env.client.workflow.list(options),
        getHandle: (workflowId) => ({
          describe: () => {
            described.push(workflowId);
            return s.env.client.workflow.getHandle(workflowId).describe();
          },
        }),
      },
    };
    const ledger = {
      release: (req: GrantRequest) =>
        req.elevationId === failing
          ? Promise.reject(new TargetUnreachableError('ldap down'))
          : s.ledger.release(req),
    };
    const sweep = await releaseOrphanedLeases(
      {
        append: (e) => s.stores.auditLog.append(e),
        leases: s.stores.leases,
        elevations: s.stores.elevations,
        ledger,
        temporal,
        logger: s.logger,
        pageSize: 1,
      },
      s.taskQueue,
    );

    const failed = {
      elevationId: failing,
      workflowStatus: 'TERMINATED',
      error: expect.stringMatching(/ldap down/) as unknown,
    };
    const released = { elevationId: fine, workflowStatus: 'TERMINATED', removed: true };
    // In elevation id order, the order leases are paged in.
    expect(sweep.orphaned).toEqual(failing < fine ? [failed, released] : [released, failed]);
    expect(sweep).toMatchObject({ released: 1, failed: 1 });
    // Paged one lease at a time, and every held lease was looked at.
    expect(sweep.checked).toBeGreaterThanOrEqual(3);
    // Visibility already said the live one runs: only workflows not listed are described.
    expect(described).toContain(workflowIdFor(failing));
    expect(described).not.toContain(workflowIdFor(live));
    expect(await s.isMember('bot-flaky', 'flaky-2')).toBe(false);
    expect(await s.isMember('bot-flaky', 'flaky-1')).toBe(true);
    expect((await s.stores.leases.getLease(failing))?.state).toBe('held');
    expect(await eventsOf(failing, 'elevation.revoked')).toEqual([]);

    // A describe that fails leaves the lease for later rather than guessing.
    const blind: ElevationWorkflows = {
      workflow: {
        list: (options) => s.env.client.workflow.list(options),
        getHandle: () => ({ describe: () => Promise.reject(new Error('temporal unavailable')) }),
      },
    };
    const unsure = await releaseOrphanedLeases(
      {
        append: (e) => s.stores.auditLog.append(e),
        leases: s.stores.leases,
        elevations: s.stores.elevations,
        ledger: s.ledger,
        temporal: blind,
        logger: s.logger,
      },
      s.taskQueue,
    );
    expect(unsure.orphaned).toEqual([]);
    expect((await s.stores.leases.getLease(failing))?.state).toBe('held');

    // The next scheduled run releases it, and its lease.orphaned is still recorded once.
    const result = await reconcile();
    expect(orphanOf(result, failing)).toEqual({
      elevationId: failing,
      workflowStatus: 'TERMINATED',
      removed: true,
    });
    expect(await s.isMember('bot-flaky', 'flaky-1')).toBe(false);
    expect(await eventsOf(failing, 'lease.orphaned')).toHaveLength(1);
    expect(await s.services.requests.get(failing, { kind: 'admin' })).toMatchObject({
      status: 'revoked',
      endReason: 'orphaned',
    });
    expect((await s.stores.leases.getLease(live))?.state).toBe('held');
    expect(await s.stores.auditLog.verify()).toMatchObject({ ok: true });
  });

  it('when visibility cannot list the running workflows, then every held lease is described, and only the orphan is released', async () => {
    const orphan = await activeElevation('bot-flaky', 'blind');
    const running = await activeElevation('bot-live', 'live');
    await terminate(orphan);
    const described: string[] = [];
    const temporal: ElevationWorkflows = {
      workflow: {
        list: () => ({
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('visibility unavailable')) }),
        }),
        getHandle: (workflowId) => ({
          describe: () => {
            described.push(workflowId);
            return s.env.client.workflow.getHandle(workflowId).describe();
          },
        }),
      },
    };

    const sweep = await releaseOrphanedLeases(
      {
        append: (e) => s.stores.auditLog.append(e),
        leases: s.stores.leases,
        elevations: s.stores.elevations,
        ledger: s.ledger,
        temporal,
        logger: s.logger,
      },
      s.taskQueue,
    );

    expect(sweep.orphaned).toEqual([{ elevationId: orphan, workflowStatus: 'TERMINATED', removed: true }]);
    expect(described).toEqual(expect.arrayContaining([workflowIdFor(orphan), workflowIdFor(running)]));
    expect(described).toHaveLength(sweep.checked);
    expect(await s.isMember('bot-flaky', 'blind')).toBe(false);
    expect(await s.isMember('bot-live', 'live')).toBe(true);
    expect((await s.stores.leases.getLease(running))?.state).toBe('held');
  });
});
