/**
 * How the score routes a request (`core/rules/risk-routing.ts`) and how the policy resolves a
 * role's routing (`config/risk-policy.ts`): each route, its sentence, and the edges between them.
 */
import { describe, expect, it } from 'vitest';
import { riskRoutingFor, DEFAULT_DETECTION } from '../../config/risk-policy.js';
import type { ApprovalRule, RoleSnapshot } from '../../core/model/elevation.js';
import type { RiskAssessment } from '../../core/model/risk.js';
import { approvalChainOf, levelOf, routeRequest } from '../../core/rules/risk-routing.js';

const security = { name: 'security', quorum: 1, members: ['sec@example.org'] };
const owners: ApprovalRule = {
  mode: 'approvers',
  groups: [{ name: 'owners', quorum: 1, members: ['ann@example.org'] }],
  windowSeconds: 600,
  ownerMayApprove: false,
};

function role(approval: ApprovalRule, risk: Partial<NonNullable<RoleSnapshot['risk']>> = {}): RoleSnapshot {
  return {
    id: 'deploy',
    environment: 'prod',
    target: { type: 'ldap', groupDn: 'cn=deploy,dc=example,dc=org' },
    maxDurationSeconds: 3600,
    approval,
    risk: { ...riskRoutingFor(DEFAULT_DETECTION, { approval, environment: 'prod' }), ...risk },
  };
}

const scored = (score: number): RiskAssessment => ({
  score,
  level: levelOf(score, DEFAULT_DETECTION.thresholds),
  reasons: [],
  baselined: true,
});

describe('levels', () => {
  it('when a score equals a threshold, then it is of the level below; above it, of that level', () => {
    const t = { medium: 30, high: 60, critical: 85 };
    expect([0, 30, 31, 60, 61, 85, 86, 100].map((s) => levelOf(s, t))).toEqual([
      'low',
      'low',
      'medium',
      'medium',
      'high',
      'high',
      'critical',
      'critical',
    ]);
  });
});

describe('an automatic role', () => {
  it('when the score is at most autoApproveMax, then it is approved automatically', () => {
    const routed = routeRequest(role({ mode: 'auto' }, { escalation: security }), scored(30));
    expect(routed.decision.route).toBe('auto');
    expect(routed.approval).toEqual({ mode: 'auto' });
    expect(routed.decision.routeReason).toBe('score 30 is at most 30, the highest approved automatically');
  });

  it('when the score is above autoApproveMax, then the escalation group becomes its approvers', () => {
    const routed = routeRequest(role({ mode: 'auto' }, { escalation: security }), scored(31));
    expect(routed.decision.route).toBe('escalated');
    expect(routed.approval).toEqual({
      mode: 'approvers',
      groups: [security],
      windowSeconds: 900,
      ownerMayApprove: false,
    });
    expect(routed.decision.routeReason).toContain('the security group must approve');
  });

  it('when the score is above autoApproveMax and no escalation group is configured, then it is denied', () => {
    const routed = routeRequest(role({ mode: 'auto' }), scored(45));
    expect(routed.decision.route).toBe('denied');
    expect(routed.decision.routeReason).toContain('names no escalation group');
    expect(routed.lockDown).toBe(false);
  });
});

describe('a role with approvers', () => {
  it('when the score is at most high, then its own approvers decide', () => {
    const routed = routeRequest(role(owners, { escalation: security }), scored(60));
    expect(routed.decision.route).toBe('approvers');
    expect(routed.approval).toBe(owners);
  });

  it('when the score is above high, then the escalation group joins the quorum', () => {
    const routed = routeRequest(role(owners, { escalation: security }), scored(61));
    expect(routed.decision.route).toBe('escalated');
    expect(routed.approval).toEqual({
      ...owners,
      groups: [...(owners.mode === 'approvers' ? owners.groups : []), security],
    });
  });

  it('when the escalation group is already one of its groups, then nothing is added', () => {
    const withSecurity: ApprovalRule = { ...owners, groups: [security] };
    const routed = routeRequest(role(withSecurity, { escalation: security }), scored(70));
    expect(routed.decision.route).toBe('approvers');
    expect(routed.approval).toBe(withSecurity);
    expect(routed.decision.routeReason).toContain('already approves');
  });
});

describe('critical', () => {
  it('when the score is above critical, then any role is denied, and locked down only if the role says so', () => {
    for (const approval of [{ mode: 'auto' } as ApprovalRule, owners]) {
      const plain = routeRequest(role(approval, { escalation: security }), {
        ...scored(86),
        level: 'critical',
      });
      expect(plain.decision.route).toBe('denied');
      expect(plain.decision.routeReason).toBe('score 86 is above the critical threshold 85');
      expect(plain.lockDown).toBe(false);
      const locking = routeRequest(role(approval, { lockDownOnCritical: true }), {
        ...scored(86),
        level: 'critical',
      });
      expect(locking.lockDown).toBe(true);
    }
  });
});

describe('the policy resolves a role’s routing', () => {
  it('when neither the role nor detection say, then the defaults apply and sensitivity follows the role', () => {
    expect(riskRoutingFor(undefined, { approval: { mode: 'auto' }, environment: 'prod' })).toEqual({
      sensitivity: 'low',
      thresholds: { medium: 30, high: 60, critical: 85 },
      autoApproveMax: 30,
      escalationWindowSeconds: 900,
      lockDownOnCritical: false,
    });
    expect(riskRoutingFor(undefined, { approval: owners, environment: 'prod-eu' }).sensitivity).toBe('high');
    expect(riskRoutingFor(undefined, { approval: owners, environment: 'staging' }).sensitivity).toBe(
      'medium',
    );
  });

  it('when the role overrides detection, then the role wins field by field', () => {
    const detection = {
      ...DEFAULT_DETECTION,
      escalation: security,
      autoApproveMax: 25,
      lockDownOnCritical: true,
    };
    const resolved = riskRoutingFor(detection, {
      approval: { mode: 'auto' },
      environment: 'test',
      risk: {
        sensitivity: 'critical',
        thresholds: { medium: 10, high: 20, critical: 40 },
        lockDownOnCritical: false,
      },
    });
    expect(resolved).toMatchObject({
      sensitivity: 'critical',
      thresholds: { medium: 10, high: 20, critical: 40 },
      autoApproveMax: 25,
      escalation: security,
      lockDownOnCritical: false,
    });
  });
});

describe('approval chains', () => {
  it('when groups are listed in another order, then the chain is the same; when a member changes, it differs', () => {
    const a: ApprovalRule = {
      ...owners,
      groups: [security, { name: 'owners', quorum: 1, members: ['b@x.org', 'a@x.org'] }],
    };
    const b: ApprovalRule = {
      ...owners,
      groups: [{ name: 'owners', quorum: 1, members: ['a@x.org', 'b@x.org'] }, security],
    };
    const c: ApprovalRule = {
      ...owners,
      groups: [{ name: 'owners', quorum: 1, members: ['a@x.org', 'c@x.org'] }, security],
    };
    expect(approvalChainOf(a)).toBe(approvalChainOf(b));
    expect(approvalChainOf(a)).not.toBe(approvalChainOf(c));
    expect(approvalChainOf({ mode: 'auto' })).toBe('auto');
  });
});
