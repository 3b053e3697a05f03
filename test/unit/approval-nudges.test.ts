/**
 * Reminders and escalation: when they are planned, who may approve before and after the
 * escalation, and the policy's `approval` fields that set them (errors name the field).
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../config/load-policy.js';
import { elevationPage } from '../../server/admin/views/elevation.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { approvalRefusal } from '../../core/rules/approval-eligibility.js';
import {
  approvalOpenedAt,
  nudgePlan,
  pendingEscalationView,
  quorumMetWithEscalation,
  reminderOffsets,
} from '../../core/rules/approval-nudges.js';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const ONCALL = { name: 'oncall', quorum: 1, members: ['ona@example.org'] };

describe('the reminder and escalation plan', () => {
  it('when the policy says nothing, then a window of ten minutes or more has one reminder five minutes before it closes', () => {
    expect(reminderOffsets({ windowSeconds: 900 })).toEqual([300]);
    expect(reminderOffsets({ windowSeconds: 599 })).toEqual([]);
    expect(reminderOffsets({ windowSeconds: 900, remindBeforeSeconds: [] })).toEqual([]);
  });

  it('when reminders come every N seconds, then they are counted from the request and stay inside the window', () => {
    expect(reminderOffsets({ windowSeconds: 1000, remindEverySeconds: 300 })).toEqual([700, 400, 100]);
    expect(reminderOffsets({ windowSeconds: 900, remindEverySeconds: 300 })).toEqual([600, 300]);
  });

  it('when a reminder and the escalation fall at the same instant, then the escalation comes first', () => {
    const plan = nudgePlan(
      { remindBeforeSeconds: [300, 600], escalation: { afterSeconds: 300, groups: [ONCALL] } },
      T0,
      T0 + 900_000,
    );
    expect(plan).toEqual([
      { kind: 'escalation', at: T0 + 300_000 },
      { kind: 'reminder', at: T0 + 300_000, number: 1, secondsLeft: 600 },
      { kind: 'reminder', at: T0 + 600_000, number: 2, secondsLeft: 300 },
    ]);
  });

  it('when a scheduled start closes the window early, then the escalation keeps its time and steps past the close are dropped', () => {
    const rule = { windowSeconds: 900, escalation: { afterSeconds: 600, groups: [ONCALL] } };
    expect(nudgePlan(rule, T0, T0 + 700_000)).toEqual(
      [
        { kind: 'escalation', at: T0 + 600_000 },
        { kind: 'reminder', at: T0 + 400_000, number: 1, secondsLeft: 300 },
      ].sort((a, b) => a.at - b.at),
    );
    expect(nudgePlan(rule, T0, T0 + 500_000).some((s) => s.kind === 'escalation')).toBe(false);
    const view = pendingEscalationView(rule, T0)!;
    const approval = {
      mode: 'approvers' as const,
      quorum: 1,
      deadline: new Date(T0 + 500_000).toISOString(),
      groups: [],
      escalation: view,
    };
    expect(approvalOpenedAt(rule, approval, new Date(T0 - 1000).toISOString())).toBe(T0);
  });
});

/** A pending request of a role with `leads` (alice) and the escalation group `oncall` (ona). */
function pending(escalatedAt?: string, approvals: ElevationView['approvals'] = []): ElevationView {
  return {
    id: 'el_1',
    workflowId: 'elevation-el_1',
    botId: 'ci-bot',
    owner: 'owner@example.org',
    roleId: 'deploy',
    environment: 'prod',
    status: 'pending_approval',
    durationSeconds: 60,
    justification: 'deploy',
    requestedAt: new Date(T0).toISOString(),
    approval: {
      mode: 'approvers',
      quorum: 1,
      deadline: new Date(T0 + 900_000).toISOString(),
      groups: [{ name: 'leads', quorum: 1, approved: 0 }],
      escalation: {
        dueAt: new Date(T0 + 300_000).toISOString(),
        ...(escalatedAt ? { escalatedAt } : {}),
        groups: [{ name: 'oncall', quorum: 1, approved: approvals.length }],
      },
    },
    approvals,
    revokeAttempts: 0,
  };
}

describe('who may approve around the escalation', () => {
  it('when the request has not escalated, then a member of the escalation group only is refused with the time it is due', () => {
    const problem = approvalRefusal(pending(), 'ona@example.org', ['oncall'], false, T0 + 1000);
    expect(problem?.code).toBe('not_eligible');
    expect(problem?.message).toContain('escalation group oncall');
    expect(problem?.message).toContain(new Date(T0 + 300_000).toISOString());
  });

  it('when the request escalated, then the escalation group member may approve, and alone meets its quorum', () => {
    const view = pending(new Date(T0 + 300_000).toISOString());
    expect(approvalRefusal(view, 'ona@example.org', ['oncall'], false, T0 + 301_000)).toBeUndefined();
    const approval = view.approval as Extract<ElevationView['approval'], { mode: 'approvers' }>;
    const ona = { approver: 'ona@example.org', groups: ['oncall'], at: new Date(T0).toISOString() };
    expect(quorumMetWithEscalation(approval, [ona])).toBe(true);
    // Before the escalation, the same approval would not count.
    const before = pending().approval as typeof approval;
    expect(quorumMetWithEscalation(before, [ona])).toBe(false);
  });
});

function policyWith(approval: string): string {
  return `version: 1
admins:
  - id: admin
    tokenHash: "sha256:${'b'.repeat(64)}"
bots:
  - id: deploy-bot
    owner: owner@example.org
    team: ops
    purpose: deploys
    environment: prod
    ldapDn: cn=deploy-bot,ou=bots,dc=example,dc=org
    apiKeyHash: "sha256:${'a'.repeat(64)}"
    roles: [deployer]
roles:
  - id: deployer
    environment: prod
    target: { type: ldap, groupDn: "cn=deployers,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 3600
    approval:
      mode: approvers
      approvers: [ann@example.org]
      windowSeconds: 900
${approval
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;
}

describe('reminders and escalation in the policy', () => {
  it('when they are given, then the role carries them with the escalation groups as approver groups', () => {
    const policy = parsePolicy(
      policyWith(
        'remindBeforeSeconds: [600, 120]\nescalation: { afterSeconds: 300, groups: [{ name: oncall, members: [Ona@Example.org] }] }',
      ),
      'policy.yaml',
    );
    expect(policy.roles[0]!.approval).toMatchObject({
      remindBeforeSeconds: [600, 120],
      escalation: {
        afterSeconds: 300,
        groups: [{ name: 'oncall', quorum: 1, members: ['ona@example.org'] }],
      },
    });
  });

  it.each([
    ['remindBeforeSeconds: [900]', 'roles[0].approval.remindBeforeSeconds[0]'],
    ['remindBeforeSeconds: [60, 60]', 'roles[0].approval.remindBeforeSeconds[1]'],
    ['remindBeforeSeconds: [60]\nremindEverySeconds: 300', 'roles[0].approval.remindEverySeconds'],
    ['remindEverySeconds: 900', 'roles[0].approval.remindEverySeconds'],
    [
      'escalation: { afterSeconds: 900, groups: [{ name: oncall, members: [o@example.org] }] }',
      'roles[0].approval.escalation.afterSeconds',
    ],
    [
      'escalation: { afterSeconds: 60, groups: [{ name: approvers, members: [o@example.org] }] }',
      'roles[0].approval.escalation.groups[0].name',
    ],
    ['escalation: { afterSeconds: 60, groups: [] }', 'roles[0].approval.escalation.groups'],
    [
      'escalation: { afterSeconds: 60, groups: [{ name: oncall }] }',
      'roles[0].approval.escalation.groups[0].members',
    ],
  ])('when %j, then loading fails naming the field', (yaml, field) => {
    expect(() => parsePolicy(policyWith(yaml), 'policy.yaml')).toThrow(field);
  });
});

describe('the escalation in the admin console', () => {
  it('when a request escalates, then its page says when the escalation group joins, then that it joined', () => {
    const user = { email: 'admin@example.org', csrf: 'csrf-token' };
    const before = elevationPage({ user, view: pending(), events: [] });
    expect(before).toContain('Escalation');
    expect(before).toContain('oncall: 0 of 1');
    expect(before).toContain('without quorum');
    const after = elevationPage({ user, view: pending(new Date(T0 + 300_000).toISOString()), events: [] });
    expect(after).toContain('joined');
    expect(after).not.toContain('without quorum');
  });
});
