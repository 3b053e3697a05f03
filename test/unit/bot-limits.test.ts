/**
 * The policy's per-bot quotas (`limits`): defaults that every bot gets, a bot's own overrides,
 * and bad values refused at start naming the field.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/config-error.js';
import { parsePolicy } from '../../config/load-policy.js';
import { DEFAULT_BOT_LIMITS, limitsFor } from '../../config/policy.js';

const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;
const HASH_C = `sha256:${'c'.repeat(64)}`;

function policyText(limits: string, botLimits = ''): string {
  return `version: 1
admins:
  - id: ops
    tokenHash: "${HASH_A}"
${limits}
bots:
  - id: ci-bot
    owner: owner@example.org
    team: platform
    purpose: deploys
    environment: prod
    ldapDn: uid=ci-bot,ou=bots,dc=example,dc=org
    apiKeyHash: "${HASH_B}"
    roles: [deploy]
${botLimits}
  - id: other-bot
    owner: owner@example.org
    team: platform
    purpose: reports
    environment: prod
    ldapDn: uid=other-bot,ou=bots,dc=example,dc=org
    apiKeyHash: "${HASH_C}"
    roles: [deploy]
roles:
  - id: deploy
    environment: prod
    target: { type: ldap, groupDn: "cn=deploy,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 900
    approval: { mode: auto }
`;
}

function refusal(text: string): string {
  try {
    parsePolicy(text, 'policy.yaml', {});
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

describe('policy limits', () => {
  it('when the policy says nothing about limits, then every bot gets the defaults', () => {
    const policy = parsePolicy(policyText(''), 'policy.yaml', {});

    expect(policy.limits).toEqual(DEFAULT_BOT_LIMITS);
    expect(limitsFor(policy, policy.bots[0]!)).toEqual(DEFAULT_BOT_LIMITS);
  });

  it("when a bot has its own limits, then they override the policy's field by field for that bot only", () => {
    const policy = parsePolicy(
      policyText(
        'limits:\n  pendingPerRole: 2\n  requestsPerHour: 30',
        '    limits: { requestsPerHour: 500 }',
      ),
      'policy.yaml',
      {},
    );

    expect(limitsFor(policy, policy.bots[0]!)).toEqual({
      pendingPerRole: 2,
      openPerRole: DEFAULT_BOT_LIMITS.openPerRole,
      requestsPerHour: 500,
    });
    expect(limitsFor(policy, policy.bots[1]!)).toMatchObject({ pendingPerRole: 2, requestsPerHour: 30 });
  });

  it('when a limit is zero, then the policy is refused naming the field', () => {
    expect(refusal(policyText('limits:\n  openPerRole: 0'))).toMatch(/limits\.openPerRole/);
  });

  it("when a bot's limits name an unknown limit, then the policy is refused naming the field", () => {
    expect(refusal(policyText('', '    limits: { requestsPerMinute: 5 }'))).toMatch(
      /bots\[0\]\.limits.*requestsPerMinute|requestsPerMinute/,
    );
  });
});
