/**
 * Access to Temporal is not approval. Someone who can reach the Temporal frontend (but not the
 * API's signing key) drives the elevation workflow straight through the Temporal client:
 * forged starts, and approve / deny / revoke updates that are unsigned, signed by another key,
 * signed for another elevation, replayed, stale or altered. Each is refused before anything
 * changes, nothing is granted, and each attempt is in the audit trail.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDecisionKeyPair, parseSigningKey } from '../../core/crypto/decision-keys.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import {
  approveUpdate,
  denyUpdate,
  reloadDecisionKeysUpdate,
  revokeUpdate,
} from '../../workflows/definitions.js';
import { workflowIdFor } from '../../core/model/elevation.js';
import { type ElevationInput } from '../../core/model/elevation.js';
import type { elevationWorkflow } from '../../workflows/elevation-workflow.js';
import { botOf, startStack, testDecisionKey, type Stack } from '../support/stack.js';

let stack: Stack;
/** A key pair the workers do not trust: an attacker's. */
const attackerKey = parseSigningKey(newDecisionKeyPair().privatePem);
const attacker = new DecisionSigner(attackerKey);

beforeAll(async () => {
  stack = await startStack({
    bots: [{ id: 'ci-bot', roles: ['deploy', 'reviewed'], owner: 'owner@example.org' }],
    roles: [
      { id: 'deploy', maxDurationSeconds: 120 },
      {
        id: 'reviewed',
        approval: {
          mode: 'approvers',
          approvers: ['ann@example.org', 'ben@example.org'],
          quorum: 2,
          windowSeconds: 120,
        },
      },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
});

const request = (role: string, durationSeconds = 60) =>
  stack.services.requests
    .request(botOf(stack, 'ci-bot'), { role, durationSeconds, justification: 'forgery test' })
    .then((r) => r.elevation);

const handle = (id: string): WorkflowHandle<typeof elevationWorkflow> =>
  stack.env.client.workflow.getHandle(workflowIdFor(id));

/** The refusal (code, detail) of an update the workflow refused. */
async function refusalOf(p: Promise<unknown>): Promise<{ code: unknown; detail: unknown }> {
  const err = await p.then(
    () => {
      throw new Error('the update was accepted');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  const details = (cause as ApplicationFailure).details ?? [];
  return { code: details[0], detail: details[1] };
}

/** The elevation's `decision.refused` events, once `count` of them are stored (sinks are asynchronous). */
async function refusedDecisions(id: string, count: number): Promise<AuditEvent[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = (await stack.stores.auditLog.listEvents(id)).filter((e) => e.type === 'decision.refused');
    if (events.length >= count || Date.now() > deadline) return events;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The start input the API signed for an elevation, read back from Temporal's history. */
async function startInputOf(id: string): Promise<ElevationInput> {
  const history = await handle(id).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error('no start input in the history');
  return defaultPayloadConverter.fromPayload<ElevationInput>(payload);
}

/** Start the elevation workflow as someone with Temporal access would, around the API. */
async function startAround(input: ElevationInput, workflowId = workflowIdFor(input.elevationId)) {
  const h = await stack.env.client.workflow.start<typeof elevationWorkflow>('elevationWorkflow', {
    workflowId,
    taskQueue: stack.taskQueue,
    args: [input],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  return await h.result();
}

describe('updates sent around the API', () => {
  it('when approvals are unsigned, signed by another key, forged under a trusted key id, or for another decision, then each is refused, nothing is granted, and each attempt is recorded', async () => {
    const pending = await request('reviewed');
    await stack.waitFor(pending.id, (v) => v.status === 'pending_approval');
    const h = handle(pending.id);
    const asAnn = { approver: { id: 'ann@example.org' }, groups: ['approvers'], evidence: { amr: ['mfa'] } };

    // 1. The bare input the workflow used to take, without a token.
    expect(await refusalOf(h.executeUpdate(approveUpdate, { args: [asAnn] }))).toEqual({
      code: 'unsigned_decision',
      detail: 'unsigned',
    });
    // 2. A well-formed token signed by a key the workers do not trust; reloading their keys
    //    (which anyone may ask for) does not help.
    const byAttacker = await attacker.decision(pending.id, 'approve', asAnn);
    expect(await refusalOf(h.executeUpdate(approveUpdate, { args: [byAttacker] }))).toEqual({
      code: 'unknown_decision_key',
      detail: 'unknown_key',
    });
    await h.executeUpdate(reloadDecisionKeysUpdate);
    expect((await refusalOf(h.executeUpdate(approveUpdate, { args: [byAttacker] }))).detail).toBe(
      'unknown_key',
    );
    // 3. The attacker's signature under the trusted key's id.
    const [header, payload, signature] = byAttacker.token.split('.') as [string, string, string];
    const relabelled = {
      ...JSON.parse(Buffer.from(header, 'base64url').toString()),
      kid: stack.signer.kid,
    } as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify(relabelled)).toString('base64url')}.${payload}.${signature}`;
    expect((await refusalOf(h.executeUpdate(approveUpdate, { args: [{ token: forged }] }))).detail).toBe(
      'bad_signature',
    );
    // 4. A genuine token's payload changed (another approver) under its signature.
    const genuine = await stack.signer.decision(pending.id, 'approve', asAnn);
    const [gh, gp, gs] = genuine.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(gp, 'base64url').toString()) as { input: typeof asAnn };
    claims.input.approver.id = 'mallory@example.org';
    const altered = `${gh}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${gs}`;
    expect((await refusalOf(h.executeUpdate(approveUpdate, { args: [{ token: altered }] }))).detail).toBe(
      'bad_signature',
    );
    // 5. A genuine deny token sent as an approval.
    const denial = await stack.signer.decision(pending.id, 'deny', {
      by: { kind: 'admin', id: 'test-admin' },
      reason: 'x',
    });
    expect((await refusalOf(h.executeUpdate(approveUpdate, { args: [denial] }))).detail).toBe(
      'wrong_decision',
    );

    const view = await stack.services.requests.get(pending.id, { kind: 'admin' });
    expect(view.status).toBe('pending_approval');
    expect(view.approvals).toEqual([]);
    expect(await stack.isMember('ci-bot', 'reviewed')).toBe(false);

    const refused = await refusedDecisions(pending.id, 6);
    expect(refused.map((e) => e.data.code)).toEqual([
      'unsigned',
      'unknown_key',
      'unknown_key',
      'bad_signature',
      'bad_signature',
      'wrong_decision',
    ]);
    expect(refused[0]!.data).toMatchObject({
      decision: 'approve',
      claimed: { kind: 'human', id: 'ann@example.org' },
    });
    expect(refused[1]!.data).toMatchObject({ kid: attackerKey.kid });
    expect(refused.every((e) => e.actor.kind === 'anonymous')).toBe(true);
    expect((await stack.stores.auditLog.verify()).ok).toBe(true);
    await stack.services.requests.revoke(
      pending.id,
      { kind: 'admin', id: 'test-admin' },
      { kind: 'admin' },
      'clean up',
    );
  });

  it('when a genuine approval is replayed, sent to another elevation, or is stale, then it is refused and counts once at most', async () => {
    const first = await request('reviewed');
    const second = await request('reviewed');
    await stack.waitFor(first.id, (v) => v.status === 'pending_approval');
    await stack.waitFor(second.id, (v) => v.status === 'pending_approval');
    const asAnn = { approver: { id: 'ann@example.org' }, groups: ['approvers'] };

    // A genuine approval, as it appears in the first elevation's history, counts once...
    const token = await stack.signer.decision(first.id, 'approve', asAnn);
    await handle(first.id).executeUpdate(approveUpdate, { args: [token] });
    // ...and is refused when sent again, to the same or to another elevation.
    expect((await refusalOf(handle(first.id).executeUpdate(approveUpdate, { args: [token] }))).detail).toBe(
      'replayed',
    );
    expect((await refusalOf(handle(second.id).executeUpdate(approveUpdate, { args: [token] }))).detail).toBe(
      'wrong_elevation',
    );
    // A decision signed ten minutes ago (a token kept for later) is stale.
    const past = new DecisionSigner(testDecisionKey(), () => new Date(Date.now() - 10 * 60_000));
    const old = await past.decision(second.id, 'approve', {
      approver: { id: 'ben@example.org' },
      groups: ['approvers'],
    });
    expect((await refusalOf(handle(second.id).executeUpdate(approveUpdate, { args: [old] }))).detail).toBe(
      'stale',
    );

    expect(
      (await stack.services.requests.get(first.id, { kind: 'admin' })).approvals.map((a) => a.approver),
    ).toEqual(['ann@example.org']);
    expect((await stack.services.requests.get(second.id, { kind: 'admin' })).approvals).toEqual([]);
    expect(await stack.isMember('ci-bot', 'reviewed')).toBe(false);
    expect((await refusedDecisions(first.id, 1)).map((e) => e.data.code)).toEqual(['replayed']);
    expect((await refusedDecisions(second.id, 2)).map((e) => e.data.code)).toEqual([
      'wrong_elevation',
      'stale',
    ]);
    for (const id of [first.id, second.id]) {
      await stack.services.requests.revoke(
        id,
        { kind: 'admin', id: 'test-admin' },
        { kind: 'admin' },
        'clean up',
      );
    }
  });

  it('when a deny or a revoke is unsigned, then the pending request and the active grant are left alone', async () => {
    const pending = await request('reviewed');
    await stack.waitFor(pending.id, (v) => v.status === 'pending_approval');
    const active = await request('deploy');
    await stack.waitFor(active.id, (v) => v.status === 'active');

    const deny = { by: { kind: 'admin' as const, id: 'test-admin' }, reason: 'forged' };
    expect((await refusalOf(handle(pending.id).executeUpdate(denyUpdate, { args: [deny] }))).code).toBe(
      'unsigned_decision',
    );
    const revoke = { by: { kind: 'bot' as const, id: 'ci-bot' } };
    expect((await refusalOf(handle(active.id).executeUpdate(revokeUpdate, { args: [revoke] }))).code).toBe(
      'unsigned_decision',
    );
    expect((await stack.services.requests.get(pending.id, { kind: 'admin' })).status).toBe(
      'pending_approval',
    );
    expect((await stack.services.requests.get(active.id, { kind: 'admin' })).status).toBe('active');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(true);
    expect((await refusedDecisions(pending.id, 1))[0]!.data).toMatchObject({
      decision: 'deny',
      code: 'unsigned',
    });
    expect((await refusedDecisions(active.id, 1))[0]!.data).toMatchObject({
      decision: 'revoke',
      code: 'unsigned',
      claimed: { kind: 'bot', id: 'ci-bot' },
    });

    // Through the API, signed, the same decisions do count.
    await stack.services.requests.revoke(
      active.id,
      { kind: 'bot', id: 'ci-bot' },
      { kind: 'bot', botId: 'ci-bot' },
    );
    await stack.services.approvals.deny(pending.id, deny);
    await stack.waitFor(active.id, (v) => v.status === 'revoked');
    await stack.waitFor(pending.id, (v) => v.status === 'denied');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(false);
  });
});

describe('a decision key rotated as the docs say', () => {
  it('when the workers trust the old and the new key and the API signs with the new one, then an elevation started under the old key still takes decisions, after one reload', async () => {
    // Before the rotation: an elevation waits for approval, its workflow trusting the old key only.
    const pending = await request('reviewed');
    await stack.waitFor(pending.id, (v) => v.status === 'pending_approval');
    const next = parseSigningKey(newDecisionKeyPair().privatePem);
    const before = stack.trustedKeys;
    try {
      // 1. The workers learn the new public key (restarted with both keys).
      await stack.stopWorker();
      stack.trustedKeys = [...before, next.publicKey];
      await stack.startWorker();
      // 2. The API signs with the new key: its first decision is refused as unknown_decision_key,
      //    the workflow reloads its keys from the worker, and the decision is sent again.
      const api = stack.servicesWith({ signer: new DecisionSigner(next) });
      await api.approvals.approve(pending.id, {
        approver: { id: 'ann@example.org' },
        evidence: { amr: ['mfa'] },
      });
      await api.approvals.approve(pending.id, {
        approver: { id: 'ben@example.org' },
        evidence: { amr: ['mfa'] },
      });
      await stack.waitFor(pending.id, (v) => v.status === 'active');
      const refused = await refusedDecisions(pending.id, 1);
      expect(refused.map((e) => [e.data.code, e.data.kid])).toEqual([['unknown_key', next.kid]]);
      // A new elevation is signed by the new key from the start.
      const fresh = await api.requests
        .request(botOf(stack, 'ci-bot'), {
          role: 'deploy',
          durationSeconds: 60,
          justification: 'after rotation',
        })
        .then((r) => r.elevation);
      await stack.waitFor(fresh.id, (v) => v.status === 'active');
      for (const id of [pending.id, fresh.id]) {
        await api.requests.revoke(id, { kind: 'admin', id: 'test-admin' }, { kind: 'admin' }, 'clean up');
        await stack.waitFor(id, (v) => v.status === 'revoked');
      }
    } finally {
      await stack.stopWorker();
      stack.trustedKeys = before;
      await stack.startWorker();
    }
  });
});

describe('workflows started around the API', () => {
  it('when a workflow is started unsigned, signed by another key, altered after signing, replayed, or under another id, then it ends failed without a grant and is recorded', async () => {
    // A genuine request, to copy from: its signed input is in Temporal's history for anyone to read.
    const genuine = await request('deploy', 1);
    await stack.waitFor(genuine.id, (v) => v.status === 'revoked');
    const signed = await startInputOf(genuine.id);
    expect(typeof signed.signature).toBe('string');

    const cases: [string, ElevationInput, string | undefined][] = [];
    const fresh = () => ({
      ...signed,
      elevationId: `forged-${randomUUID()}`,
      requestedAt: new Date().toISOString(),
    });
    const { signature: _drop, ...unsigned } = fresh();
    cases.push(['unsigned', unsigned, undefined]);
    cases.push(['unknown_key', await attacker.request(fresh()), undefined]);
    // The genuine signature on the input made longer.
    cases.push([
      'bad_signature',
      { ...signed, durationSeconds: 120 },
      `${workflowIdFor(signed.elevationId)}`,
    ]);
    // The genuine input, started again after its workflow ended (a copy of a past request).
    cases.push(['replayed', signed, undefined]);
    // A correctly signed input under another workflow id.
    const other = await stack.signer.request(fresh());
    cases.push(['wrong_workflow', other, `elevation-${randomUUID()}`]);

    for (const [code, input, workflowId] of cases) {
      const before = new Date().toISOString();
      const result = await startAround(input, workflowId);
      expect(result.status, code).toBe('failed');
      expect(result.endReason, code).toBe('request_unverified');
      const events = await stack.stores.auditLog.listEvents(input.elevationId);
      const unverified = events.filter((e) => e.type === 'request.unverified');
      expect(
        unverified.map((e) => e.data.code),
        code,
      ).toContain(code);
      expect(
        events.some((e) => e.type === 'grant.confirmed' && e.at >= before),
        code,
      ).toBe(false);
      expect(
        unverified.every((e) => e.actor.kind === 'anonymous'),
        code,
      ).toBe(true);
    }
    // A forged start creates no elevation in the list, and leaves the genuine one's summary alone.
    expect(await stack.stores.elevations.getElevation(unsigned.elevationId)).toBeUndefined();
    expect((await stack.services.requests.get(genuine.id, { kind: 'admin' })).status).toBe('revoked');
    expect(await stack.isMember('ci-bot', 'deploy')).toBe(false);
    expect((await stack.stores.auditLog.verify()).ok).toBe(true);
  });
});
