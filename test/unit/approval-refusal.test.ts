/**
 * The approve validator's rule (`approvalRefusal`), on the identity behind an address: a person
 * who already approved is refused under another address too, by directory entry or by their
 * subject at the identity provider (M1).
 */
import { describe, expect, it } from 'vitest';
import type { ApprovalRecord, ElevationView } from '../../core/model/elevation.js';
import { approvalRefusal } from '../../core/rules/approval-eligibility.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const BOB_ENTRY = 'uid=bob,ou=people,dc=example,dc=org';
const IDP = 'https://idp.example.org';

/** A pending elevation of a role whose group `sre` needs two approvals, with `approvals` so far. */
function pending(approvals: ApprovalRecord[]): ElevationView {
  return {
    id: 'e1',
    status: 'pending_approval',
    roleId: 'deploy',
    botId: 'ci-bot',
    owner: 'owner@example.org',
    approval: {
      mode: 'approvers',
      quorum: 2,
      deadline: new Date(NOW + 600_000).toISOString(),
      groups: [{ name: 'sre', quorum: 2, approved: approvals.length }],
    },
    approvals,
  } as unknown as ElevationView;
}

const bobApproved: ApprovalRecord = {
  approver: 'bob@example.org',
  at: new Date(NOW).toISOString(),
  groups: ['sre'],
  evidence: { issuer: IDP, subject: 'sub-bob' },
  identity: { entries: [BOB_ENTRY], issuer: IDP, subject: 'sub-bob' },
};

describe('approvalRefusal and the person behind the address', () => {
  it('when a second address resolves to the same directory entry, then it is refused as already_approved', () => {
    const problem = approvalRefusal(pending([bobApproved]), 'mallory@example.org', ['sre'], false, NOW, {
      entries: [BOB_ENTRY],
      issuer: IDP,
      subject: 'sub-mallory',
    });
    expect(problem?.code).toBe('already_approved');
    expect(problem?.message).toContain('bob@example.org');
  });

  it('when a second address logs in as the same identity-provider subject, then it is refused as already_approved', () => {
    const problem = approvalRefusal(pending([bobApproved]), 'bob.alias@example.org', ['sre'], false, NOW, {
      entries: [],
      issuer: IDP,
      subject: 'sub-bob',
    });
    expect(problem?.code).toBe('already_approved');
  });

  it('when the earlier approval predates identities, then its evidence issuer and subject still identify it', () => {
    const { identity: _old, ...legacy } = bobApproved;
    const problem = approvalRefusal(pending([legacy]), 'bob.alias@example.org', ['sre'], false, NOW, {
      entries: [],
      issuer: IDP,
      subject: 'sub-bob',
    });
    expect(problem?.code).toBe('already_approved');
  });

  it('when another person approves, then the approval counts', () => {
    expect(
      approvalRefusal(pending([bobApproved]), 'ann@example.org', ['sre'], false, NOW, {
        entries: ['uid=ann,ou=people,dc=example,dc=org'],
        issuer: IDP,
        subject: 'sub-ann',
      }),
    ).toBeUndefined();
  });

  it('when the approval carries no identity (an old history replaying), then only the address is compared', () => {
    expect(
      approvalRefusal(pending([bobApproved]), 'mallory@example.org', ['sre'], false, NOW),
    ).toBeUndefined();
  });
});
