/**
 * A revocation that keeps failing long enough for Temporal to suggest continue-as-new: the
 * workflow carries its state into the next run (reason, attempts, start time, Slack messages)
 * and keeps trying there, and the grant is removed once the target is back. The dev server is
 * told to suggest continue-as-new after a few dozen history events, so a few failed rounds do it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../core/model/elevation.js';
import { botOf, startStack, type Stack } from '../support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    bots: [{ id: 'batch-bot', roles: ['ledger'] }],
    roles: [{ id: 'ledger' }],
    timing: { revokeRetryMaxSeconds: 1, grantTimeoutSeconds: 30 },
    temporalConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
  });
});

afterAll(async () => {
  await stack?.close();
});

describe('revocation across continue-as-new', () => {
  it('when the target stays down until the workflow continues as new, then the next run carries the revocation on and removes the grant once the target is back', async () => {
    const { elevation } = await stack.services.requests.request(botOf(stack, 'batch-bot'), {
      role: 'ledger',
      durationSeconds: 2,
      justification: 'continue-as-new test',
    });
    await stack.waitFor(elevation.id, (v) => v.status === 'active');
    const handle = stack.env.client.workflow.getHandle(workflowIdFor(elevation.id));
    const firstRunId = (await handle.describe()).runId;

    await stack.slapd.stop();
    // Wait until the first run has handed over to the next one.
    const deadline = Date.now() + 60_000;
    let continued = false;
    while (!continued && Date.now() < deadline) {
      const first = await stack.env.client.workflow
        .getHandle(workflowIdFor(elevation.id), firstRunId)
        .describe();
      continued = first.status.name === 'CONTINUED_AS_NEW';
      if (!continued) await sleep(250);
    }
    expect(continued).toBe(true);
    const carried = await stack.waitFor(elevation.id, (v) => v.status === 'revoking', 10_000);
    expect(carried.revokeAttempts).toBeGreaterThanOrEqual(1);
    expect((await handle.describe()).runId).not.toBe(firstRunId);
    // The next run fails too before the target is back, so the count below spans both runs
    // (the first run may hand over after its first failure when its history is long enough).
    await stack.waitFor(elevation.id, (v) => v.revokeAttempts > carried.revokeAttempts, 20_000);

    await stack.slapd.restart();
    const done = await stack.waitFor(elevation.id, (v) => v.status === 'revoked', 30_000);
    expect(done.endReason).toBe('expired');
    expect(await stack.isMember('batch-bot', 'ledger')).toBe(false);

    // The grant's handle went over with the revocation: the next run started with it and revoked through it.
    const confirmed = (await stack.stores.auditLog.listEvents(elevation.id)).find(
      (e) => e.type === 'grant.confirmed',
    );
    const granted = (confirmed?.data['receipt'] as { handle?: unknown } | undefined)?.handle;
    expect(granted).toMatchObject({ type: 'ldap', member: botOf(stack, 'batch-bot').ldapDn });
    const { events } = await handle.fetchHistory();
    const payload = (p: { data?: Uint8Array | null } | undefined): unknown =>
      JSON.parse(Buffer.from(p?.data ?? new Uint8Array()).toString('utf8'));
    const started = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect((payload(started) as { carried?: { handle?: unknown } }).carried?.handle).toEqual(granted);
    const releases = (events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a?.activityType?.name === 'releaseGrant');
    expect(releases.length).toBeGreaterThanOrEqual(1);
    for (const r of releases)
      expect((payload(r?.input?.payloads?.[0]) as { handle?: unknown }).handle).toEqual(granted);

    // One trail across both runs: one revoke.started, every failure, one elevation.revoked that
    // counts them all (the count was carried over).
    const types = (await stack.stores.auditLog.listEvents(elevation.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'revoke.started')).toHaveLength(1);
    expect(types.filter((t) => t === 'elevation.revoked')).toHaveLength(1);
    const failures = types.filter((t) => t === 'revoke.failed').length;
    expect(failures).toBeGreaterThanOrEqual(2);
    const revoked = (await stack.stores.auditLog.listEvents(elevation.id)).at(-1)!;
    expect(revoked.type).toBe('elevation.revoked');
    expect(revoked.data['revokeAttempts']).toBe(failures);
    expect((await stack.stores.auditLog.verify()).ok).toBe(true);
  }, 120_000);
});
