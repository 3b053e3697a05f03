/**
 * The policy's `detection` section and a role's `risk`: defaults, overrides, and errors that
 * name the field.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../config/load-policy.js';
import { riskRoutingFor } from '../../config/risk-policy.js';

function policyWith(detection: string, roleRisk = ''): string {
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
${detection}
roles:
  - id: deployer
    environment: prod
    target: { type: ldap, groupDn: "cn=deployers,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 3600
    approval: { mode: auto }
${roleRisk ? `    risk: ${roleRisk}` : ''}
`;
}

describe('detection in the policy', () => {
  it('when it is left out, then every role routes with the defaults', () => {
    const policy = parsePolicy(policyWith(''), 'policy.yaml');
    expect(policy.detection).toBeUndefined();
    expect(riskRoutingFor(policy.detection, policy.roles[0]!)).toEqual({
      sensitivity: 'low',
      thresholds: { medium: 30, high: 60, critical: 85 },
      autoApproveMax: 30,
      escalationWindowSeconds: 900,
      lockDownOnCritical: false,
    });
  });

  it('when detection and the role set fields, then the role’s win and defaults fill the rest', () => {
    const policy = parsePolicy(
      policyWith(
        'detection:\n  minRequests: 5\n  escalation: { name: security, members: [Sec@Example.org] }\n  alertChannel: C0SECURITY',
        '{ sensitivity: critical, autoApproveMax: 10 }',
      ),
      'policy.yaml',
    );
    expect(policy.detection).toMatchObject({
      windowDays: 30,
      minRequests: 5,
      minDays: 7,
      alertChannel: 'C0SECURITY',
    });
    expect(riskRoutingFor(policy.detection, policy.roles[0]!)).toMatchObject({
      sensitivity: 'critical',
      autoApproveMax: 10,
      escalation: { name: 'security', quorum: 1, members: ['sec@example.org'] },
    });
  });

  it.each([
    ['detection:\n  thresholds: { medium: 50, high: 40, critical: 90 }', 'detection.thresholds: must rise'],
    ['detection:\n  thresholds: { medium: 10, high: 40, critical: 101 }', 'detection.thresholds.critical'],
    ['detection:\n  alertChannel: "#security"', 'detection.alertChannel: must be a Slack channel id'],
    ['detection:\n  escalation: { name: security }', 'detection.escalation.members'],
    ['detection:\n  windowDays: 0', 'detection.windowDays'],
    ['detection:\n  baselineDays: 30', 'detection.baselineDays: unknown field'],
  ])('when %j, then loading fails naming the field', (yaml, message) => {
    expect(() => parsePolicy(policyWith(yaml), 'policy.yaml')).toThrow(message);
  });

  it('when a role’s risk names an unknown sensitivity, then loading fails naming it', () => {
    expect(() => parsePolicy(policyWith('', '{ sensitivity: extreme }'), 'policy.yaml')).toThrow(
      'roles[0].risk.sensitivity',
    );
  });
});
