/**
 * A bot's `runsFrom` declaration in the policy: validated with errors naming the field, and
 * matched against a request's source (recorded, not enforced).
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../config/load-policy.js';
import {
  cleanUserAgent,
  matchRunsFrom,
  MAX_USER_AGENT_LENGTH,
  requestSource,
} from '../../domain/elevations/request-source.js';

const HASH = `sha256:${'a'.repeat(64)}`;

function policyWith(runsFrom: string): string {
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
    apiKeyHash: "${HASH}"
    roles: [deployer]
${runsFrom
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
roles:
  - id: deployer
    environment: prod
    target: { type: ldap, groupDn: "cn=deployers,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 3600
    approval: { mode: auto }
`;
}

describe('runsFrom in the policy', () => {
  it('accepts networks and runners, and is optional', () => {
    const policy = parsePolicy(
      policyWith('runsFrom:\n  networks: [10.0.0.0/8, "2001:db8::/32"]\n  runners: [self-hosted]'),
      'policy.yaml',
    );
    expect(policy.bots[0]!.runsFrom).toEqual({
      networks: ['10.0.0.0/8', '2001:db8::/32'],
      runners: ['self-hosted'],
    });
    expect(parsePolicy(policyWith(''), 'policy.yaml').bots[0]!.runsFrom).toBeUndefined();
  });

  it.each([
    ['runsFrom:\n  networks: [10.0.0.0]', 'bots[0].runsFrom.networks[0]: must be a network in CIDR notation'],
    [
      'runsFrom:\n  networks: [10.0.0.0/33]',
      'bots[0].runsFrom.networks[0]: prefix length of 10.0.0.0/33 must be at most 32',
    ],
    [
      'runsFrom:\n  networks: [not-a-net/8]',
      'bots[0].runsFrom.networks[0]: must be a network in CIDR notation',
    ],
    ['runsFrom:\n  networks: []', 'bots[0].runsFrom.networks: must list at least one network'],
    ['runsFrom: {}', 'bots[0].runsFrom: must declare networks, runners or both'],
    ['runsFrom:\n  cidrs: [10.0.0.0/8]', 'bots[0].runsFrom.cidrs: unknown field'],
  ])('refuses %j naming the field', (yaml, message) => {
    expect(() => parsePolicy(policyWith(yaml), 'policy.yaml')).toThrow(message);
  });
});

describe('matching a source against runsFrom', () => {
  const networks = ['203.0.113.0/24', '2001:db8::/32'];

  it('is undefined when the bot declares nothing', () => {
    expect(matchRunsFrom(undefined, { ip: '203.0.113.5' })).toBeUndefined();
  });

  it.each([
    ['203.0.113.5', true],
    ['::ffff:203.0.113.5', true],
    ['2001:db8:1::1', true],
    ['198.51.100.1', false],
    [null, false],
  ])('network: %s matched is %s', (ip, matched) => {
    expect(matchRunsFrom({ networks }, { ip })).toEqual({ matched, network: matched });
  });

  it('matches runners by subject, service account or runner environment; all declared checks must hold', () => {
    const workload = {
      issuer: 'https://token.actions.githubusercontent.com',
      subject: 'repo:acme/app:ref:refs/heads/main',
      runnerEnvironment: 'self-hosted',
    };
    expect(matchRunsFrom({ runners: ['self-hosted'] }, { ip: null, workload })).toEqual({
      matched: true,
      runner: true,
    });
    expect(matchRunsFrom({ runners: ['system:serviceaccount:ci:x'] }, { ip: null, workload })).toEqual({
      matched: false,
      runner: false,
    });
    expect(
      matchRunsFrom({ networks, runners: [workload.subject] }, { ip: '198.51.100.1', workload }),
    ).toEqual({ matched: false, network: false, runner: true });
    // An API key carries no workload: a declared runner cannot match.
    expect(matchRunsFrom({ runners: ['self-hosted'] }, { ip: null })).toEqual({
      matched: false,
      runner: false,
    });
  });

  it('records the workload claims of a Kubernetes token', () => {
    const source = requestSource(
      { runsFrom: { runners: ['ci/deployer'] } },
      {
        ip: '10.1.2.3',
        userAgent: 'kubectl',
        identity: {
          kind: 'workload_identity',
          issuer: 'https://k8s.example',
          subject: 'system:serviceaccount:ci:deployer',
          expiresAt: '2030-01-01T00:00:00.000Z',
          claims: { 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'deployer', uid: 'u' } } },
        },
      },
    );
    expect(source).toEqual({
      ip: '10.1.2.3',
      userAgent: 'kubectl',
      authMethod: 'workload_identity',
      workload: {
        issuer: 'https://k8s.example',
        subject: 'system:serviceaccount:ci:deployer',
        serviceAccount: 'ci/deployer',
      },
      runsFrom: { matched: true, runner: true },
    });
  });
});

describe('cleanUserAgent', () => {
  it('drops control characters and bidi overrides, and bounds the length', () => {
    expect(cleanUserAgent('curl/8.0\r\n\x1b[2J\x00\x7f\x9b\u202eevil\u2028')).toBe('curl/8.0[2Jevil');
    const long = cleanUserAgent(`x${'\x01A'.repeat(10_000)}`)!;
    expect(long).toHaveLength(MAX_USER_AGENT_LENGTH);
    expect(long).toMatch(/^xA+$/);
    expect(cleanUserAgent(undefined)).toBeNull();
    expect(cleanUserAgent(' \x00 ')).toBeNull();
  });
});
