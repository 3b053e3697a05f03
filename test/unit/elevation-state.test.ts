/**
 * The elevation workflow's state on its own (`workflows/elevation-state.ts`), without a Temporal
 * server: who may approve and when the quorum is met, denials, the revocation transitions, the
 * Update validators and the signed decisions they check.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { newDecisionKeyPair, parseSigningKey } from '../../core/crypto/decision-keys.js';
import type { ApproveInput } from '../../core/model/decisions.js';
import type { ElevationInput } from '../../core/model/elevation.js';
import { DecisionRefusal } from '../../core/rules/signed-decision.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { REFUSAL_FAILURE_TYPE } from '../../workflows/definitions.js';
import { ElevationState, RELOAD_INTERVAL_MS, SYSTEM } from '../../workflows/elevation-state.js';

const T0 = Date.parse('2026-03-01T09:00:00Z');
const OWNER = 'owner@example.org';

/** A request for role `deploy`: group `sre` (ann, ben, cat, the owner) must give two approvals within ten minutes. */
function request(overrides: Partial<ElevationInput> = {}, ownerMayApprove = false): ElevationInput {
  return {
    elevationId: 'e1',
    bot: {
      id: 'ci-bot',
      owner: OWNER,
      team: 'platform',
      purpose: 'deploys',
      environment: 'prod',
      principal: 'uid=ci-bot,ou=bots,dc=example,dc=org',
    },
    role: {
      id: 'deploy',
      environment: 'prod',
      target: { type: 'ldap', groupDn: 'cn=deploy,ou=groups,dc=example,dc=org' },
      maxDurationSeconds: 3600,
      approval: {
        mode: 'approvers',
        groups: [
          {
            name: 'sre',
            quorum: 2,
            members: ['ann@example.org', 'ben@example.org', 'cat@example.org', OWNER],
          },
        ],
        windowSeconds: 600,
        ownerMayApprove,
      },
    },
    durationSeconds: 900,
    justification: 'release 4.2',
    requestedAt: new Date(T0).toISOString(),
    timing: { grantTimeoutSeconds: 60, revokeRetryMaxSeconds: 60 },
    ...overrides,
  };
}

/** A state on a clock the test moves. */
function elevation(input = request()) {
  const clock = { now: T0 };
  const state = new ElevationState(input, () => clock.now);
  return { state, clock };
}

const approval = (id: string, groups = ['sre']): ApproveInput => ({ approver: { id }, groups });

/** The refusal code an Update validator answers with, or `accepted`. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === REFUSAL_FAILURE_TYPE)
      return String(err.details?.[0]);
    throw err;
  }
  return 'accepted';
}

describe('ElevationState: approvals', () => {
  it('when one of two required approvers approves, then it counts, the group shows one of two, and the quorum is not met', () => {
    const { state } = elevation();
    const { data, quorumMet } = state.approve(approval('Ann@Example.org'));
    expect(data).toMatchObject({ approver: 'ann@example.org', groups: ['sre'], count: 1, evidence: null });
    expect(data.progress).toEqual([{ name: 'sre', quorum: 2, approved: 1 }]);
    expect(quorumMet).toBe(false);
    expect(state.decisionArrived()).toBe(false);
    expect(state.view.approval).toMatchObject({ groups: [{ name: 'sre', approved: 1 }] });
  });

  it('when a second approver completes the quorum, then the wait ends and the elevation is approved by both', () => {
    const { state } = elevation();
    state.approve(approval('ann@example.org'));
    expect(state.approve(approval('ben@example.org')).quorumMet).toBe(true);
    expect(state.decisionArrived()).toBe(true);
    const outcome = state.closeApproval(true);
    expect(outcome).toEqual({
      type: 'elevation.approved',
      actor: SYSTEM,
      data: { approvers: ['ann@example.org', 'ben@example.org'] },
    });
    expect(state.view.status).toBe('approved');
    expect(state.isFinal()).toBe(false);
  });

  it('when the same approver approves again (in any letter case), then the validator refuses it as already_approved', () => {
    const { state } = elevation();
    state.approve(approval('ann@example.org'));
    expect(refusal(() => state.validateApproval(approval('ANN@example.org')))).toBe('already_approved');
    expect(state.view.approvals).toHaveLength(1);
  });

  it("when the bot's owner approves and the role does not allow it, then it is refused as owner_may_not_approve", () => {
    expect(refusal(() => elevation().state.validateApproval(approval(OWNER)))).toBe('owner_may_not_approve');
    expect(refusal(() => elevation(request({}, true)).state.validateApproval(approval(OWNER)))).toBe(
      'accepted',
    );
  });

  it('when someone claims a policy group that does not list them, then the claim is dropped and they are not_eligible', () => {
    const { state } = elevation();
    expect(state.eligibleGroups('mallory@example.org', ['sre'])).toEqual([]);
    expect(state.eligibleGroups('ann@example.org', ['sre', 'made-up'])).toEqual(['sre']);
    expect(refusal(() => state.validateApproval(approval('mallory@example.org')))).toBe('not_eligible');
  });

  it('when an approval names no usable address or a malformed identity, then the validator refuses it as invalid_input', () => {
    const { state } = elevation();
    expect(refusal(() => state.validateApproval(approval('not an address')))).toBe('invalid_input');
    expect(refusal(() => state.validateApproval({ approver: { id: '' }, groups: ['sre'] }))).toBe(
      'invalid_input',
    );
    const badIdentity = {
      ...approval('ann@example.org'),
      identity: { entries: 'x' },
    } as unknown as ApproveInput;
    expect(refusal(() => state.validateApproval(badIdentity))).toBe('invalid_input');
  });

  it('when the approval window has closed, then an approval is refused and the wait ends expired', () => {
    const { state, clock } = elevation();
    state.approve(approval('ann@example.org'));
    expect(state.approvalTimeLeft()).toBe(600_000);
    clock.now = T0 + 600_000;
    expect(state.approvalTimeLeft()).toBe(1);
    expect(refusal(() => state.validateApproval(approval('ben@example.org')))).toBe('approval_window_closed');
    const outcome = state.closeApproval(false);
    expect(outcome.type).toBe('elevation.expired');
    expect(outcome.data).toEqual({ approvals: 1, progress: [{ name: 'sre', quorum: 2, approved: 1 }] });
    expect(state.view).toMatchObject({ status: 'expired', endReason: 'approval_timeout' });
    expect(state.view.endedAt).toBe(new Date(T0 + 600_000).toISOString());
  });

  it('when an approval arrives after the quorum was met, then it is refused as not_pending', () => {
    const { state } = elevation();
    state.approve(approval('ann@example.org'));
    state.approve(approval('ben@example.org'));
    expect(refusal(() => state.validateApproval(approval('cat@example.org')))).toBe('not_pending');
    state.closeApproval(true);
    expect(refusal(() => state.validateApproval(approval('cat@example.org')))).toBe('not_pending');
    expect(() => state.approve(approval('cat@example.org'))).toThrow(/not waiting for approval/);
    expect(state.view.approvals).toHaveLength(2);
  });
});

describe('ElevationState: denials', () => {
  it('when an approver denies, then the first denial decides and is recorded by them with its reason', () => {
    const { state } = elevation();
    state.deny({ by: { kind: 'human', id: 'ben@example.org' }, reason: 'not today', groups: ['sre'] });
    state.deny({ by: { kind: 'admin', id: 'root' }, reason: 'second' });
    expect(state.decisionArrived()).toBe(true);
    expect(state.closeApproval(true)).toEqual({
      type: 'elevation.denied',
      actor: { kind: 'human', id: 'ben@example.org' },
      data: { reason: 'not today' },
    });
    expect(state.view).toMatchObject({ status: 'denied', endReason: 'denied' });
  });

  it('when the denial is not by an approver, the owner or an admin, or gives no reason, then it is refused', () => {
    const { state } = elevation();
    const human = (id: string) => ({ kind: 'human' as const, id });
    expect(
      refusal(() => state.checkDenial({ by: human('mallory@example.org'), reason: 'no', groups: ['sre'] })),
    ).toBe('not_eligible');
    expect(refusal(() => state.checkDenial({ by: human(OWNER), reason: 'no' }))).toBe('accepted');
    expect(refusal(() => state.checkDenial({ by: { kind: 'bot', id: 'ci-bot' }, reason: 'no' }))).toBe(
      'invalid_input',
    );
    expect(refusal(() => state.checkDenial({ by: { kind: 'admin', id: 'root' }, reason: ' ' }))).toBe(
      'invalid_input',
    );
  });

  it('when the elevation is no longer pending, then a denial is refused as not_pending, or already_ended once it has ended', () => {
    const { state } = elevation(request({ role: { ...request().role, approval: { mode: 'auto' } } }));
    const deny = { by: { kind: 'admin' as const, id: 'root' }, reason: 'late' };
    expect(state.view.status).toBe('approved');
    expect(refusal(() => state.checkDenial(deny))).toBe('not_pending');
    state.startRevoking('expired');
    state.revoked('expired');
    expect(refusal(() => state.checkDenial(deny))).toBe('already_ended');
  });
});

describe('ElevationState: revocation', () => {
  it('when the bot withdraws a pending request, then the wait ends revoked as withdrawn, never granted', () => {
    const { state } = elevation();
    state.requestRevoke({ by: { kind: 'bot', id: 'ci-bot' }, reason: 'not needed' });
    expect(state.decisionArrived()).toBe(true);
    expect(state.closeApproval(false)).toEqual({
      type: 'elevation.revoked',
      actor: { kind: 'bot', id: 'ci-bot' },
      data: { reason: 'withdrawn', comment: 'not needed', granted: false },
    });
    expect(state.view).toMatchObject({ status: 'revoked', endReason: 'withdrawn' });
  });

  it('when an admin revokes an active elevation, then the request is kept once, and a second one does not replace it', () => {
    const { state, clock } = elevation();
    state.approve(approval('ann@example.org'));
    state.approve(approval('ben@example.org'));
    state.closeApproval(true);
    state.activate();
    expect(state.view.expiresAt).toBe(new Date(T0 + 900_000).toISOString());
    clock.now = T0 + 100_000;
    expect(state.activeTimeLeft()).toBe(800_000);
    state.requestRevoke({ by: { kind: 'admin', id: 'root' }, reason: 'incident' });
    state.requestRevoke({ by: { kind: 'bot', id: 'ci-bot' } });
    expect(state.revocationRequested()).toEqual({
      by: { kind: 'admin', id: 'root' },
      reason: 'admin_revoked',
      comment: 'incident',
    });
    expect(state.revokingOrEnded()).toBe(false);
  });

  it('when a revocation is already under way or done, then another revoke is answered without starting a second one', () => {
    const { state } = elevation(request({ role: { ...request().role, approval: { mode: 'auto' } } }));
    state.startRevoking('expired');
    expect(refusal(() => state.requestRevoke({ by: { kind: 'bot', id: 'ci-bot' } }))).toBe('accepted');
    expect(state.revocationRequested()).toBeUndefined();
    expect(state.revokingOrEnded()).toBe(true);
    expect(state.revoked('expired')).toBe('elevation.revoked');
    expect(refusal(() => state.checkRevoke({ by: { kind: 'admin', id: 'root' } }))).toBe('accepted');
  });

  it('when a human, or anyone after a denial, asks to revoke, then it is refused', () => {
    const { state } = elevation();
    expect(refusal(() => state.checkRevoke({ by: { kind: 'human', id: 'ann@example.org' } }))).toBe(
      'invalid_input',
    );
    state.deny({ by: { kind: 'admin', id: 'root' }, reason: 'no' });
    state.closeApproval(true);
    expect(refusal(() => state.checkRevoke({ by: { kind: 'bot', id: 'ci-bot' } }))).toBe('already_ended');
  });

  it('when revocation rounds fail, then operators see the count and the last error, and the end reason decides revoked or failed', () => {
    const { state } = elevation(request({ role: { ...request().role, approval: { mode: 'auto' } } }));
    state.grantFailed({ type: 'NoSuchGroupError', message: 'cn=deploy is gone' });
    state.startRevoking('grant_failed');
    state.revokeFailed(2, { type: 'TargetUnavailableError', message: 'ldap down' });
    expect(state.view).toMatchObject({
      status: 'revoking',
      endReason: 'grant_failed',
      revokeAttempts: 2,
      lastError: 'TargetUnavailableError: ldap down',
    });
    expect(state.revoked('grant_failed')).toBe('elevation.failed');
    expect(state.view.status).toBe('failed');
  });

  it('when a revocation continues as new, then the next run starts from the carried view, keys and messages', () => {
    const { state } = elevation(request({ role: { ...request().role, approval: { mode: 'auto' } } }));
    const trust = { keys: [{ kid: 'k1', x: 'AAAA' }], loadedAt: new Date(T0).toISOString() };
    state.useTrust(trust);
    const handle = { type: 'ldap' as const, groupDn: 'cn=ops,dc=x', member: 'uid=bot,dc=x' };
    state.activate(handle);
    expect(state.grantHandle()).toEqual(handle);
    state.startRevoking('expired');
    state.revokeFailed(5, { type: 'Error', message: 'down' });
    const messages = [{ channel: 'C1', ts: '1.2' }];
    const carried = state.carriedOver({ reason: 'expired', startedAt: 'then', attempts: 5 }, messages);
    expect(carried).toMatchObject({
      revokeReason: 'expired',
      revokeStartedAt: 'then',
      revokeAttempts: 5,
      messages,
      trust,
      handle,
    });
    expect(carried.view).toEqual(state.view);
    expect(carried.view).not.toBe(state.view);

    const next = elevation(request({ carried })).state;
    expect(next.view).toMatchObject({ status: 'revoking', revokeAttempts: 5 });
    expect(next.trust).toEqual(trust);
    expect(next.grantHandle()).toEqual(handle);
  });

  it('when the receipt carried no handle (recorded before handles), then none is kept or carried over, and the target derives it', () => {
    const { state } = elevation(request({ role: { ...request().role, approval: { mode: 'auto' } } }));
    state.activate(undefined);
    state.startRevoking('expired');
    expect(state.grantHandle()).toBeUndefined();
    const carried = state.carriedOver({ reason: 'expired', startedAt: 'then', attempts: 1 }, []);
    expect(carried).not.toHaveProperty('handle');
    expect(elevation(request({ carried })).state.grantHandle()).toBeUndefined();
  });
});

describe('ElevationState: the path', () => {
  it('when the duration is outside what the role allows, then the elevation fails before anything is granted', () => {
    const { state } = elevation(request({ durationSeconds: 7200 }));
    expect(state.failOnBadDuration()).toBe('durationSeconds 7200 is outside 1..3600');
    expect(state.view).toMatchObject({ status: 'failed', endReason: 'grant_failed' });
    expect(elevation().state.failOnBadDuration()).toBeUndefined();
  });

  it('when the start input is not signed by the API, then the elevation fails as request_unverified', () => {
    const { state } = elevation();
    state.refuseUnverified('no signature');
    expect(state.view).toMatchObject({
      status: 'failed',
      endReason: 'request_unverified',
      lastError: "request not signed by Elevate's API: no signature",
    });
  });

  it('when the API signed it at a time outside the window (a clock off), then the error says the worker refused it, not that it was unsigned', () => {
    const { state } = elevation();
    state.refuseUnverified("the API's clock is ahead of Temporal's by more than 60 s", 'stale');
    expect(state.view).toMatchObject({ status: 'failed', endReason: 'request_unverified' });
    expect(state.view.lastError).toBe(
      "request refused by the worker: the API's clock is ahead of Temporal's by more than 60 s",
    );
  });
});

describe('ElevationState: signed decisions and their keys', () => {
  const key = parseSigningKey(newDecisionKeyPair().privatePem);
  const trust = { keys: [{ kid: key.kid, x: key.publicKey.x }], loadedAt: new Date(T0).toISOString() };

  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      if (err instanceof DecisionRefusal) return err.code;
      throw err;
    }
    return 'accepted';
  };

  it('when a decision is signed by a trusted key, then it is read once; its second use is refused as replayed', async () => {
    const { state } = elevation();
    state.useTrust(trust);
    const signed = await new DecisionSigner(key, () => new Date(T0)).decision(
      'e1',
      'approve',
      approval('ann@example.org'),
    );
    expect(state.verified('approve', signed)).toEqual(approval('ann@example.org'));
    expect(state.accepted<'approve'>(signed)).toEqual(approval('ann@example.org'));
    expect(code(() => state.verified('approve', signed))).toBe('replayed');
  });

  it('when a decision is signed by a key the elevation does not trust, for another elevation or of another kind, then it is refused', async () => {
    const { state } = elevation();
    const signer = new DecisionSigner(key, () => new Date(T0));
    const signed = await signer.decision('e1', 'approve', approval('ann@example.org'));
    expect(code(() => state.verified('approve', signed))).toBe('unknown_key');
    state.useTrust(trust);
    expect(code(() => state.verified('deny', signed))).toBe('wrong_decision');
    const forOther = await signer.decision('e2', 'approve', approval('ann@example.org'));
    expect(code(() => state.verified('approve', forOther))).toBe('wrong_elevation');
    expect(code(() => state.verified('approve', approval('ann@example.org')))).toBe('unsigned');
  });

  it('when a history from before signing is replayed, then the bare input is read as it is', () => {
    expect(elevation().state.accepted<'approve'>(approval('ann@example.org'))).toEqual(
      approval('ann@example.org'),
    );
  });

  it('when the keys were reloaded less than ten seconds ago, then another reload is refused', () => {
    const { state, clock } = elevation();
    expect(refusal(() => state.checkReload())).toBe('accepted');
    state.reloadStarted();
    clock.now += RELOAD_INTERVAL_MS - 1;
    expect(refusal(() => state.checkReload())).toBe('invalid_input');
    clock.now += 1;
    expect(refusal(() => state.checkReload())).toBe('accepted');
  });
});
