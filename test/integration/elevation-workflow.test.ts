/**
 * The elevation lifecycle end to end: real Temporal dev server, real slapd, real audit store.
 * Windows are a few seconds long so the tests run in real time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../domain/errors.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { workflowIdFor } from '../../core/model/elevation.js';
import { botOf, startStack, type Stack } from '../support/stack.js';

let stack: Stack;

const APPROVERS = ['ann@example.org', 'ben@example.org', 'cat@example.org', 'owner@example.org'];

beforeAll(async () => {
  stack = await startStack({
    bots: [
      {
        id: 'ci-bot',
        roles: ['deploy', 'reviewed', 'quick-window', 'owner-ok', 'ldap-reviewed'],
        owner: 'owner@example.org',
      },
      { id: 'other-bot', roles: ['deploy'] },
    ],
    roles: [
      { id: 'deploy', maxDurationSeconds: 60 },
      { id: 'reviewed', approval: { mode: 'approvers', approvers: APPROVERS, quorum: 2, windowSeconds: 60 } },
      {
        id: 'ldap-reviewed',
        approval: { mode: 'approvers', groups: [{ name: 'sre', ldapGroup: 'sre' }], windowSeconds: 60 },
      },
      {
        id: 'quick-window',
        approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 10 },
      },
      {
        id: 'owner-ok',
        approval: {
          mode: 'approvers',
          approvers: ['owner@example.org'],
          windowSeconds: 60,
          ownerMayApprove: true,
        },
      },
    ],
    // `twin` shares dee's address: a second entry holding it (self-written, say).
    people: [
      { uid: 'dee', mail: 'dee@example.org' },
      { uid: 'twin', mail: 'dee@example.org' },
    ],
    peopleGroups: [{ id: 'sre', members: ['dee'] }],
  });
});

afterAll(async () => {
  await stack?.close();
});

const types = (events: AuditEvent[]) => events.map((e) => e.type);
const approve = (id: string, who: string) =>
  stack.services.approvals.approve(id, { approver: { id: who }, evidence: { method: 'test' } });
const request = (role: string, durationSeconds = 30, extra: Record<string, unknown> = {}) =>
  stack.services.requests.request(botOf(stack, 'ci-bot'), {
    role,
    durationSeconds,
    justification: 'integration test',
    ...extra,
  });

describe('auto-approved elevation', () => {
  it("when the worker shares the client's connection (API and worker in one process), then the elevation starts eagerly: its first workflow task comes back with the start", async () => {
    const { elevation } = await request('deploy', 2);
    expect(stack.eagerStarts.get(workflowIdFor(elevation.id))).toBe(true);
    await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
  });

  it('when a bot asks for an auto role, then it is granted in LDAP, removed when the window ends, and every step is recorded in a chain that verifies', async () => {
    const { elevation } = await request('deploy', 2);
    expect(elevation.status).toBe('approved');

    const active = await stack.waitFor(elevation.id, (v) => v.status === 'active');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(true);
    // The expiry clock starts when the grant is in place.
    expect(Date.parse(active.expiresAt!) - Date.parse(active.grantedAt!)).toBe(2000);

    const revoked = await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
    expect(revoked.endReason).toBe('expired');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(false);

    const events = await stack.stores.auditLog.listEvents(elevation.id);
    expect(types(events)).toEqual([
      'elevation.requested',
      'elevation.approved',
      'grant.confirmed',
      'revoke.started',
      'elevation.revoked',
    ]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events[4]!.data.receipt).toMatchObject({ removed: true, stillHeldBy: [] });
    expect((await stack.stores.auditLog.verify()).ok).toBe(true);
  });
});

describe('approval by humans', () => {
  it('when two distinct approvers approve a quorum-2 role, then it is granted; the same approver twice counts once and is refused', async () => {
    const { elevation } = await request('reviewed');
    expect(elevation.status).toBe('pending_approval');
    await stack.waitFor(elevation.id, (v) => v.status === 'pending_approval');

    const first = await approve(elevation.id, 'ann@example.org');
    expect(first.status).toBe('pending_approval');
    expect(first.approvals).toHaveLength(1);

    await expect(approve(elevation.id, 'ANN@example.org')).rejects.toMatchObject({
      code: 'already_approved',
    });
    const afterDuplicate = await stack.services.requests.get(elevation.id, { kind: 'admin' });
    expect(afterDuplicate.approvals).toHaveLength(1);
    expect(afterDuplicate.status).toBe('pending_approval');

    const second = await approve(elevation.id, 'ben@example.org');
    expect(['approved', 'active']).toContain(second.status);
    await stack.waitFor(elevation.id, (v) => v.status === 'active');
    expect(await stack.isMember('ci-bot', 'reviewed')).toBe(true);

    const events = await stack.stores.auditLog.listEvents(elevation.id);
    const refused = events.filter((e) => e.type === 'approval.refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.data.code).toBe('already_approved');
    expect(types(events).filter((t) => t === 'approval.accepted')).toHaveLength(2);

    await stack.services.requests.revoke(
      elevation.id,
      { kind: 'bot', id: 'ci-bot' },
      { kind: 'bot', botId: 'ci-bot' },
    );
    await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
    expect(await stack.isMember('ci-bot', 'reviewed')).toBe(false);
  });

  it('when one identity-provider account approves twice under two addresses, then the workflow counts it once and refuses the second (M1)', async () => {
    const { elevation } = await request('reviewed');
    await stack.waitFor(elevation.id, (v) => v.status === 'pending_approval');
    const login = { issuer: 'https://idp.example.org', subject: 'sub-ann' };
    const evidence = { ...login, amr: ['pwd', 'otp'] };

    await stack.services.approvals.approve(
      elevation.id,
      { approver: { id: 'ann@example.org' }, evidence },
      login,
    );
    // The same person (same iss and sub) behind another approver address on the list.
    const again = stack.services.approvals.approve(
      elevation.id,
      { approver: { id: 'ben@example.org' }, evidence },
      login,
    );
    await expect(again).rejects.toMatchObject({ code: 'already_approved' });

    const view = await stack.services.requests.get(elevation.id, { kind: 'admin' });
    expect(view.status).toBe('pending_approval');
    expect(view.approvals).toHaveLength(1);
    expect(view.approvals[0]!.identity).toEqual({ entries: [], ...login });
    const refused = (await stack.stores.auditLog.listEvents(elevation.id)).filter(
      (e) => e.type === 'approval.refused',
    );
    expect(refused.map((e) => [e.actor.id, e.data.code])).toEqual([['ben@example.org', 'already_approved']]);

    await stack.services.approvals.deny(elevation.id, {
      by: { kind: 'admin', id: 'test-admin' },
      reason: 'cleanup',
    });
  });

  it('when the approver address is held by two directory entries, then the approval is refused ambiguous_identity and audited (M1)', async () => {
    const { elevation } = await request('ldap-reviewed');
    await stack.waitFor(elevation.id, (v) => v.status === 'pending_approval');
    await expect(approve(elevation.id, 'dee@example.org')).rejects.toMatchObject({
      code: 'approval_refused',
    });
    const refused = (await stack.stores.auditLog.listEvents(elevation.id)).filter(
      (e) => e.type === 'approval.refused',
    );
    expect(refused.map((e) => e.data.code)).toEqual(['ambiguous_identity']);
    expect((await stack.services.requests.get(elevation.id, { kind: 'admin' })).approvals).toHaveLength(0);
    await stack.services.approvals.deny(elevation.id, {
      by: { kind: 'admin', id: 'test-admin' },
      reason: 'cleanup',
    });
  });

  it("when the bot's owner approves a role that does not allow it, then it is refused and audited; an outsider is refused too", async () => {
    const { elevation } = await request('reviewed');
    await stack.waitFor(elevation.id, (v) => v.status === 'pending_approval');

    const owner = await approve(elevation.id, 'owner@example.org').catch((e: unknown) => e);
    expect(owner).toBeInstanceOf(ApiError);
    expect(owner).toMatchObject({ code: 'approval_refused' });
    expect((owner as Error).message).toMatch(/owns bot ci-bot/);

    await expect(approve(elevation.id, 'mallory@example.org')).rejects.toMatchObject({
      code: 'approval_refused',
    });

    const refusals = (await stack.stores.auditLog.listEvents(elevation.id)).filter(
      (e) => e.type === 'approval.refused',
    );
    expect(refusals.map((e) => e.data.code)).toEqual(['owner_may_not_approve', 'not_eligible']);
    expect(refusals[0]!.actor).toEqual({ kind: 'human', id: 'owner@example.org' });
    expect((await stack.services.requests.get(elevation.id, { kind: 'admin' })).approvals).toHaveLength(0);

    await stack.services.approvals.deny(elevation.id, {
      by: { kind: 'admin', id: 'test-admin' },
      reason: 'cleanup',
    });
  });

  it('when the role allows it, then the owner may approve', async () => {
    const { elevation } = await request('owner-ok', 5);
    await stack.waitFor(elevation.id, (v) => v.status === 'pending_approval');
    await approve(elevation.id, 'owner@example.org');
    await stack.waitFor(elevation.id, (v) => v.status === 'active');
    await stack.services.requests.revoke(
      elevation.id,
      { kind: 'admin', id: 'test-admin' },
      { kind: 'admin' },
      'done',
    );
    const done = await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
    expect(done.endReason).toBe('admin_revoked');
  });

  it('when an approver denies, then the elevation ends denied with the reason, nothing is granted, and a later approval is refused', async () => {
    const { elevation } = await request('reviewed');
    await stack.waitFor(elevation.id, (v) => v.status === 'pending_approval');
    const denied = await stack.services.approvals.deny(elevation.id, {
      by: { kind: 'human', id: 'cat@example.org' },
      reason: 'not during the freeze',
    });
    expect(denied.status).toBe('denied');
    expect(await stack.isMember('ci-bot', 'reviewed')).toBe(false);

    await expect(approve(elevation.id, 'ann@example.org')).rejects.toMatchObject({ code: 'already_ended' });
    const events = await stack.stores.auditLog.listEvents(elevation.id);
    expect(types(events)).toEqual(['elevation.requested', 'elevation.denied', 'approval.refused']);
    expect(events[1]!.data.reason).toBe('not during the freeze');
    expect(events[1]!.actor).toEqual({ kind: 'human', id: 'cat@example.org' });
    expect(events.some((e) => e.type.startsWith('grant.'))).toBe(false);
  });

  it('when nobody decides within the approval window, then the elevation expires without a grant', async () => {
    const { elevation } = await request('quick-window');
    const expired = await stack.waitFor(elevation.id, (v) => v.status === 'expired', 20_000);
    expect(expired.endReason).toBe('approval_timeout');
    expect(await stack.isMember('ci-bot', 'quick-window')).toBe(false);
    const events = await stack.stores.auditLog.listEvents(elevation.id);
    expect(types(events)).toEqual(['elevation.requested', 'elevation.expired']);
    await expect(approve(elevation.id, 'ann@example.org')).rejects.toMatchObject({ code: 'already_ended' });
  });

  it('when the bot withdraws a pending request, then it ends without ever being granted', async () => {
    const { elevation } = await request('reviewed');
    await stack.waitFor(elevation.id, (v) => v.status === 'pending_approval');
    const view = await stack.services.requests.revoke(
      elevation.id,
      { kind: 'bot', id: 'ci-bot' },
      { kind: 'bot', botId: 'ci-bot' },
    );
    expect(view.status).toBe('revoked');
    expect(view.endReason).toBe('withdrawn');
    expect(view.grantedAt).toBeUndefined();
  });
});

describe('ending early', () => {
  it('when the bot gives an active elevation back, then the membership is removed before the window ends', async () => {
    const { elevation } = await request('deploy', 60);
    await stack.waitFor(elevation.id, (v) => v.status === 'active');
    await stack.services.requests.revoke(
      elevation.id,
      { kind: 'bot', id: 'ci-bot' },
      { kind: 'bot', botId: 'ci-bot' },
      'job done',
    );
    const done = await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
    expect(done.endReason).toBe('given_back');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(false);
    const started = (await stack.stores.auditLog.listEvents(elevation.id)).find(
      (e) => e.type === 'revoke.started',
    )!;
    expect(started.actor).toEqual({ kind: 'bot', id: 'ci-bot' });
    expect(started.data.comment).toBe('job done');
  });

  it('when another bot tries to revoke it, then it is not found and nothing changes', async () => {
    const { elevation } = await request('deploy', 60);
    await stack.waitFor(elevation.id, (v) => v.status === 'active');
    await expect(
      stack.services.requests.revoke(
        elevation.id,
        { kind: 'bot', id: 'other-bot' },
        { kind: 'bot', botId: 'other-bot' },
      ),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect((await stack.services.requests.get(elevation.id, { kind: 'admin' })).status).toBe('active');
    await stack.services.requests.revoke(
      elevation.id,
      { kind: 'admin', id: 'test-admin' },
      { kind: 'admin' },
      'cleanup',
    );
    await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
  });

  it('when revocations race the expiry, then the membership is revoked exactly once', async () => {
    const { elevation } = await request('deploy', 1);
    const active = await stack.waitFor(elevation.id, (v) => v.status === 'active');
    const at = Date.parse(active.expiresAt!);
    await new Promise((r) => setTimeout(r, Math.max(at - Date.now() - 30, 0)));
    const racers = await Promise.allSettled(
      [0, 1, 2].map(() =>
        stack.services.requests.revoke(
          elevation.id,
          { kind: 'bot', id: 'ci-bot' },
          { kind: 'bot', botId: 'ci-bot' },
        ),
      ),
    );
    for (const r of racers)
      if (r.status === 'fulfilled') expect(['revoking', 'revoked']).toContain(r.value.status);
    await stack.waitFor(elevation.id, (v) => v.status === 'revoked');
    const events = await stack.stores.auditLog.listEvents(elevation.id);
    expect(types(events).filter((t) => t === 'revoke.started')).toHaveLength(1);
    expect(types(events).filter((t) => t === 'elevation.revoked')).toHaveLength(1);
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(false);
  });
});

describe('overlapping elevations', () => {
  it('when two elevations of the same bot and role overlap, then the first ending keeps the membership for the second', async () => {
    const first = (await request('deploy', 2)).elevation;
    const second = (await request('deploy', 6)).elevation;
    await stack.waitFor(first.id, (v) => v.status === 'active');
    await stack.waitFor(second.id, (v) => v.status === 'active');

    await stack.waitFor(first.id, (v) => v.status === 'revoked');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(true);
    const firstEnd = (await stack.stores.auditLog.listEvents(first.id)).find(
      (e) => e.type === 'elevation.revoked',
    )!;
    expect(firstEnd.data.receipt).toMatchObject({ removed: false, stillHeldBy: [second.id] });

    await stack.waitFor(second.id, (v) => v.status === 'revoked');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(false);
  });
});

describe('idempotent requests', () => {
  it('when a bot repeats a requestId, then it gets the same elevation and no second workflow', async () => {
    const a = await request('deploy', 5, { requestId: 'job-42' });
    const b = await request('deploy', 5, { requestId: 'job-42' });
    expect(b.elevation.id).toBe(a.elevation.id);
    expect(a.replayed).toBe(false);
    expect(b.replayed).toBe(true);
    const runs = stack.env.client.workflow.list({ query: `WorkflowId = '${a.elevation.workflowId}'` });
    let count = 0;
    for await (const _ of runs) count += 1;
    expect(count).toBe(1);
  });

  it('when the same requestId comes with a different request, then it is refused naming the field', async () => {
    await request('deploy', 5, { requestId: 'job-43' });
    await expect(request('deploy', 6, { requestId: 'job-43' })).rejects.toMatchObject({
      code: 'idempotency_conflict',
      field: 'durationSeconds',
    });
  });

  it('when another bot uses the same requestId, then it gets its own elevation', async () => {
    const mine = await request('deploy', 5, { requestId: 'shared-id' });
    const theirs = await stack.services.requests.request(botOf(stack, 'other-bot'), {
      role: 'deploy',
      durationSeconds: 5,
      justification: 'integration test',
      requestId: 'shared-id',
    });
    expect(theirs.elevation.id).not.toBe(mine.elevation.id);
    expect(theirs.elevation.botId).toBe('other-bot');
  });
});
