/**
 * Drift detection and reconciliation on a real stack (Temporal dev server, slapd, SQLite
 * ledger): members added behind Elevate's back are recorded (and, when the role says so,
 * removed), while members explained by an elevation, standing members, and grants racing the
 * reconciliation are left alone.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrantLedger } from '../../domain/grant-ledger.js';
import { type GrantRequest } from '../../core/ports/activities.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { normalizeDn } from '../../core/rules/dn.js';
import { botDn, groupDn } from '../../dev/ldap-seed.js';
import { TargetRouter } from '../../integrations/target-router.js';
import type { DriftOutcome, Target } from '../../core/ports/target.js';
import { workflowIdFor } from '../../core/model/elevation.js';
import { type LdapTargetRef } from '../../core/model/targets.js';
import { type ReconcileResult, type ReconcileRole } from '../../core/model/reconcile.js';
import { reconcileWorkflow } from '../../workflows/reconcile-workflow.js';
import {
  ensureReconcileSchedule,
  reconcileRolesOf,
  scheduledReconcileRolesOf,
} from '../../worker/reconcile-schedule.js';
import { SUFFIX, botOf, startStack, type Stack } from '../support/stack.js';

const ROLES = ['ops', 'dba', 'web', 'standing', 'race', 'midgrant', 'sched', 'fleet'];
let s: Stack;

beforeAll(async () => {
  s = await startStack({
    bots: [
      { id: 'bot-a', roles: ['ops'] },
      { id: 'bot-b', roles: ['dba'] },
      { id: 'bot-c', roles: ['web'] },
      { id: 'bot-d', roles: ['standing'] },
      { id: 'bot-e', roles: ['race', 'midgrant'] },
      { id: 'bot-f', roles: ['sched'] },
      { id: 'bot-g', roles: ['fleet'] },
    ],
    roles: ROLES.map((id) => ({ id })),
  });
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const ref = (role: string): LdapTargetRef => ({ type: 'ldap', groupDn: groupDn(SUFFIX, role) });
const dn = (bot: string) => botDn(SUFFIX, bot);
const role = (id: string, action: 'alert' | 'revert', standing: string[] = []): ReconcileRole => ({
  id,
  target: ref(id),
  action,
  standing,
  principals: [],
});
const reconcile = (...roles: ReconcileRole[]): Promise<ReconcileResult> =>
  s.env.client.workflow.execute(reconcileWorkflow, {
    args: [{ roles }],
    taskQueue: s.taskQueue,
    workflowId: `reconcile-${randomUUID()}`,
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drift events (they belong to no elevation) about one role, in chain order. */
async function driftEvents(roleId: string): Promise<AuditEvent[]> {
  const events = await s.stores.auditLog.readEvents(0, 10_000);
  return events.filter((e) => e.type.startsWith('drift.') && e.data['role'] === roleId);
}

describe('reconciliation workflow', () => {
  it('when a member is added in LDAP behind Elevate, then the run records drift.detected and, with alert, leaves the member', async () => {
    await s.target.grant(ref('ops'), dn('bot-a'));
    const result = await reconcile(role('ops', 'alert'));

    expect(result.roles).toHaveLength(1);
    expect(result.roles[0]!.drift).toHaveLength(1);
    expect(normalizeDn(result.roles[0]!.drift[0]!.principal)).toBe(normalizeDn(dn('bot-a')));
    expect(result.roles[0]!.drift[0]!.action).toBe('alerted');
    const events = await driftEvents('ops');
    expect(events.map((e) => e.type)).toEqual(['drift.detected']);
    expect(events[0]).toMatchObject({ elevationId: null, actor: { kind: 'system' } });
    expect(events[0]!.data).toMatchObject({ action: 'alert', target: ref('ops') });
    expect(await s.isMember('bot-a', 'ops')).toBe(true);
  });

  it('when the role says revert, then the out-of-band member is removed and drift.reverted recorded after drift.detected', async () => {
    await s.target.grant(ref('dba'), dn('bot-b'));
    expect(await s.isMember('bot-b', 'dba')).toBe(true);
    const result = await reconcile(role('dba', 'revert'));

    expect(result.roles[0]!.drift.map((d) => d.action)).toEqual(['reverted']);
    expect(await s.isMember('bot-b', 'dba')).toBe(false);
    expect((await driftEvents('dba')).map((e) => e.type)).toEqual(['drift.detected', 'drift.reverted']);

    // Nothing left to find: a second run finds no drift and records nothing more.
    const again = await reconcile(role('dba', 'revert'));
    expect(again.roles[0]!.drift).toEqual([]);
    expect(await driftEvents('dba')).toHaveLength(2);
  });

  it('when the member is explained by an active elevation, then even a revert role leaves it alone', async () => {
    const { elevation } = await s.services.requests.request(botOf(s, 'bot-c'), {
      role: 'web',
      durationSeconds: 600,
      justification: 'drift test',
    });
    await s.waitFor(elevation.id, (v) => v.status === 'active');
    expect(await s.isMember('bot-c', 'web')).toBe(true);

    const result = await reconcile(role('web', 'revert'));
    expect(result.roles[0]!.drift).toEqual([]);
    expect(await s.isMember('bot-c', 'web')).toBe(true);
    expect(await driftEvents('web')).toEqual([]);

    // Once the elevation ends, the membership goes with it: nothing for reconciliation to see.
    await s.services.requests.revoke(
      elevation.id,
      { kind: 'admin', id: 'test-admin' },
      { kind: 'admin' },
      'done',
    );
    await s.waitFor(elevation.id, (v) => v.status === 'revoked');
    expect(await s.isMember('bot-c', 'web')).toBe(false);
  });

  it('when a member is listed as standing, then it is left alone while others are reverted', async () => {
    // The standing entry is written with other spacing and case: DNs are compared normalised.
    const standing = dn('bot-d').toUpperCase().replaceAll(',', ', ');
    await s.target.grant(ref('standing'), dn('bot-d'));
    await s.target.grant(ref('standing'), dn('bot-a'));
    const result = await reconcile(role('standing', 'revert', [standing]));

    expect(result.roles[0]!.drift.map((d) => normalizeDn(d.principal))).toEqual([normalizeDn(dn('bot-a'))]);
    expect(await s.target.check(s.target.handleFor(ref('standing'), dn('bot-d')))).toBe(true);
    expect(await s.target.check(s.target.handleFor(ref('standing'), dn('bot-a')))).toBe(false);
  });

  it("when the schedule's input leaves the bots' principals out, then the worker reads them from its policy and a bot's own membership is recorded as a bot's", async () => {
    const fleet = scheduledReconcileRolesOf(s.policy).find((r) => r.id === 'fleet')!;
    expect(fleet).not.toHaveProperty('principals');
    await s.target.grant(ref('fleet'), dn('bot-g'));
    await reconcile(fleet);
    const events = await driftEvents('fleet');
    expect(events.map((e) => e.type)).toEqual(['drift.detected']);
    expect(normalizeDn(String(events[0]!.data['principal']))).toBe(normalizeDn(dn('bot-g')));
    expect(events[0]!.data).toMatchObject({ bot: true });
  });

  it('when the policy is turned into workflow input, then each role carries its drift rule and its bots', () => {
    const roles = reconcileRolesOf(s.policy);
    expect(roles.find((r) => r.id === 'race')).toEqual({
      id: 'race',
      target: ref('race'),
      action: 'alert',
      standing: [],
      principals: [dn('bot-e')],
    });
  });
});

/** The test directory behind a router whose every call first waits a random few milliseconds. */
function slowTarget(
  extraGrantDelay?: () => Promise<void>,
): Pick<Target, 'grant' | 'revoke' | 'check' | 'handleFor' | 'listMembers' | 'membershipKey'> {
  const router = new TargetRouter({ ldap: s.target });
  const jitter = () => sleep(Math.random() * 15);
  return {
    async grant(r, p, ctx) {
      await jitter();
      const change = await router.grant(r, p, ctx);
      await extraGrantDelay?.();
      return change;
    },
    async revoke(handle) {
      await jitter();
      return router.revoke(handle);
    },
    async check(handle) {
      await jitter();
      return router.check(handle);
    },
    handleFor: (r, p, e) => router.handleFor(r, p, e),
    listMembers: (r) => router.listMembers(r),
    membershipKey: (r, p, e) => router.membershipKey(r, p, e),
  };
}

const grantRequest = (roleId: string, bot: string): GrantRequest & { target: LdapTargetRef } => ({
  elevationId: `el_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
  target: ref(roleId),
  principal: dn(bot),
});

describe('reconciliation racing grants', () => {
  it('when drift is reverted while a grant of the same membership races it, then the granted membership is never removed while its lease is held', async () => {
    const ledger = new GrantLedger(s.stores.leases, slowTarget());
    const outcomes: DriftOutcome[] = [];
    const violations: string[] = [];
    for (let round = 0; round < 25; round += 1) {
      // The membership already exists out of band (drift) when an elevation grants it.
      await s.target.grant(ref('race'), dn('bot-e'));
      const req = grantRequest('race', 'bot-e');
      const [, outcome] = await Promise.all([
        (async () => {
          await sleep(Math.random() * 20);
          await ledger.acquire(req);
        })(),
        (async () => {
          await sleep(Math.random() * 20);
          return ledger.reconcile(req.target, req.principal, 'revert');
        })(),
      ]);
      outcomes.push(outcome);
      if (!(await s.target.check(s.target.handleFor(req.target, req.principal))))
        violations.push(`round ${round}: ${outcome}`);
      await ledger.release(req);
    }
    expect(violations).toEqual([]);
    // Both orders happened: reconciliation first (reverted, then granted again) and after.
    expect(outcomes).toContain('explained');
  });

  it('when reconciliation runs while a grant is between adding the member and finishing, then the member is explained and kept', async () => {
    let release: () => void = () => undefined;
    const paused = new Promise<void>((r) => (release = r));
    const ledger = new GrantLedger(
      s.stores.leases,
      slowTarget(() => paused),
    );
    const req = grantRequest('midgrant', 'bot-e');
    // The lease's workflow runs (on a task queue no worker polls): reconciliation releases the
    // leases of workflows that have ended, and this grant is one in progress.
    const workflow = await s.env.client.workflow.start('elevationWorkflow', {
      taskQueue: `idle-${randomUUID()}`,
      workflowId: workflowIdFor(req.elevationId),
      args: [],
    });
    const acquiring = ledger.acquire(req);
    // Wait until the member is visible in the directory: the grant is now mid-way, under the lock.
    const deadline = Date.now() + 10_000;
    while (!(await s.target.check(s.target.handleFor(req.target, req.principal)))) {
      if (Date.now() > deadline) throw new Error('the grant never reached the directory');
      await sleep(10);
    }
    const reconciling = reconcile(role('midgrant', 'revert'));
    await sleep(500);
    release();
    await acquiring;
    const result = await reconciling;

    expect(result.roles[0]!.drift).toEqual([]);
    expect(await s.target.check(s.target.handleFor(req.target, req.principal))).toBe(true);
    expect(await driftEvents('midgrant')).toEqual([]);
    await ledger.release(req);
    expect(await s.target.check(s.target.handleFor(req.target, req.principal))).toBe(false);
    await workflow.terminate('test done');
  });
});

describe('reconciliation schedule', () => {
  it('when the schedule is ensured twice, then it is updated in place, and a triggered run records the drift', async () => {
    const scheduleId = `test-reconcile-${randomUUID()}`;
    const first = await ensureReconcileSchedule(s.env.client, {
      taskQueue: s.taskQueue,
      roles: [role('sched', 'alert')],
      intervalSeconds: 3600,
      scheduleId,
    });
    try {
      const handle = await ensureReconcileSchedule(s.env.client, {
        taskQueue: s.taskQueue,
        roles: [role('sched', 'revert')],
        intervalSeconds: 1800,
        scheduleId,
      });
      expect(handle.scheduleId).toBe(first.scheduleId);
      const described = await handle.describe();
      expect(described.spec.intervals?.[0]?.every).toBe(1800_000);
      expect(described.policies.overlap).toBe('SKIP');

      await s.target.grant(ref('sched'), dn('bot-f'));
      await handle.trigger();
      const deadline = Date.now() + 20_000;
      let types: string[] = [];
      while (Date.now() < deadline) {
        types = (await driftEvents('sched')).map((e) => e.type);
        if (types.includes('drift.reverted')) break;
        await sleep(100);
      }
      // The updated action (revert) ran, not the first one.
      expect(types).toEqual(['drift.detected', 'drift.reverted']);
      expect(await s.target.check(s.target.handleFor(ref('sched'), dn('bot-f')))).toBe(false);
    } finally {
      await first.delete();
    }
  });
});
