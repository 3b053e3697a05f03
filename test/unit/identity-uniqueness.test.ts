/**
 * One bot, one identity at policy load: two bots with one LDAP entry, PostgreSQL login or IAM
 * principal (compared as the target compares them), or a role that hands one bot's identity to
 * another, stop start-up with an error naming both bots, the identity and the field; identities
 * that only look alike are accepted.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePolicy } from '../../config/load-policy.js';
import { botIdentitiesOf, identityConflicts } from '../../config/identity-uniqueness.js';
import { ConfigError } from '../../core/errors/config-error.js';

const hash = (seed: string) => `sha256:${createHash('sha256').update(seed).digest('hex')}`;

type Bot = { id: string; roles?: string[]; ldapDn?: string; postgresLogin?: string; awsPrincipal?: string };

const DOC = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
};

const ROLES = [
  { id: 'dir', target: { type: 'ldap', groupDn: 'cn=dir,ou=groups,dc=example,dc=org' } },
  { id: 'pg', target: { type: 'postgres', server: 'warehouse', role: 'reporting' } },
  { id: 'attach', target: { type: 'aws-iam', mode: 'attach', policy: DOC } },
  {
    id: 'creds',
    target: { type: 'aws-iam', mode: 'credentials', roleArn: 'arn:aws:iam::123456789012:role/shared-reader' },
  },
];

/** A policy file with these bots (each with its own key and, unless given, its own DN). */
function policyText(bots: Bot[], roles: { id: string; target: Record<string, unknown> }[] = ROLES): string {
  return stringify({
    version: 1,
    admins: [{ id: 'ops', tokenHash: hash('admin') }],
    bots: bots.map((b) => ({
      id: b.id,
      owner: 'owner@example.org',
      team: 'platform',
      purpose: 'tests',
      environment: 'prod',
      ldapDn: b.ldapDn ?? `uid=${b.id},ou=bots,dc=example,dc=org`,
      ...(b.postgresLogin !== undefined ? { postgresLogin: b.postgresLogin } : {}),
      ...(b.awsPrincipal !== undefined ? { awsPrincipal: b.awsPrincipal } : {}),
      apiKeyHash: hash(b.id),
      roles: b.roles ?? ['dir'],
    })),
    roles: roles.map((r) => ({
      id: r.id,
      environment: 'prod',
      target: r.target,
      maxDurationSeconds: 900,
      approval: { mode: 'auto' },
    })),
  });
}

function refusal(bots: Bot[], roles?: { id: string; target: Record<string, unknown> }[]): ConfigError {
  try {
    parsePolicy(policyText(bots, roles), 'policy.yaml', {});
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

const accepted = (bots: Bot[], roles?: { id: string; target: Record<string, unknown> }[]) =>
  parsePolicy(policyText(bots, roles), 'policy.yaml', {});

describe('one bot, one identity: LDAP entries', () => {
  it.each([
    ['written the same', 'uid=ci,ou=bots,dc=example,dc=org', 'uid=ci,ou=bots,dc=example,dc=org'],
    ['in another case', 'uid=ci,ou=bots,dc=example,dc=org', 'UID=CI,OU=Bots,DC=Example,DC=org'],
    [
      'with spaces around separators',
      'uid=ci,ou=bots,dc=example,dc=org',
      'uid = ci , ou=bots,dc=example,dc=org',
    ],
    [
      'with a long attribute name',
      'cn=ci,ou=bots,dc=example,dc=org',
      'commonName=ci,ou=bots,dc=example,dc=org',
    ],
    ['with an OID attribute type', 'cn=ci,ou=bots,dc=example,dc=org', '2.5.4.3=ci,ou=bots,dc=example,dc=org'],
    ['with a hex-escaped value', 'uid=ci,ou=bots,dc=example,dc=org', 'uid=\\63i,ou=bots,dc=example,dc=org'],
  ])(
    'when two bots have one DN %s, then the policy is refused naming both, the DN and the field',
    (_l, a, b) => {
      const err = refusal([
        { id: 'first-bot', ldapDn: a },
        { id: 'second-bot', ldapDn: b },
      ]);
      expect(err.field).toBe('bots[1].ldapDn');
      expect(err.message).toMatch(/^policy\.yaml:\d+:\d+ bots\[1\]\.ldapDn: /);
      expect(err.message).toContain(
        `bot "second-bot" shares LDAP entry ${JSON.stringify(b)} with bot "first-bot"`,
      );
      expect(err.message).toContain('bots[0].ldapDn');
      expect(err.message).toContain('one bot, one identity');
    },
  );

  it('when the DNs are written differently, then the message shows both spellings', () => {
    const err = refusal([
      { id: 'a', ldapDn: 'uid=ci,ou=bots,dc=example,dc=org' },
      { id: 'b', ldapDn: 'UID=ci,ou=bots,dc=example,dc=org' },
    ]);
    expect(err.message).toContain(
      '(bots[0].ldapDn = "uid=ci,ou=bots,dc=example,dc=org"; DNs are compared normalised)',
    );
  });

  it('when three bots share one DN, then each later bot is reported against the first, on its own line', () => {
    const dn = 'uid=ci,ou=bots,dc=example,dc=org';
    const err = refusal([
      { id: 'a', ldapDn: dn },
      { id: 'b', ldapDn: dn },
      { id: 'c', ldapDn: dn },
    ]);
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('bots[1].ldapDn: bot "b" shares');
    expect(lines[1]).toContain('bots[2].ldapDn: bot "c" shares');
    expect(lines.every((l) => l.includes('with bot "a"'))).toBe(true);
  });

  it.each([
    ['another value', 'uid=ci-a,ou=bots,dc=example,dc=org', 'uid=ci-b,ou=bots,dc=example,dc=org'],
    ['another naming attribute', 'uid=ci,ou=bots,dc=example,dc=org', 'cn=ci,ou=bots,dc=example,dc=org'],
    ['another parent', 'uid=ci,ou=bots,dc=example,dc=org', 'uid=ci,ou=robots,dc=example,dc=org'],
    [
      'an escaped comma that makes another RDN',
      'uid=ci\\,x,dc=example,dc=org',
      'uid=ci,x=1,dc=example,dc=org',
    ],
  ])('when two DNs differ by %s, then both bots are accepted', (_l, a, b) => {
    const policy = accepted([
      { id: 'a', ldapDn: a },
      { id: 'b', ldapDn: b },
    ]);
    expect(policy.bots.map((x) => x.ldapDn)).toEqual([a, b]);
  });
});

describe('one bot, one identity: PostgreSQL logins', () => {
  it('when two bots have one login, then the policy is refused naming both, the login and the field', () => {
    const err = refusal([
      { id: 'etl-a', postgresLogin: 'etl_bot' },
      { id: 'etl-b', postgresLogin: 'etl_bot' },
    ]);
    expect(err.field).toBe('bots[1].postgresLogin');
    expect(err.message).toMatch(
      /^policy\.yaml:\d+:\d+ bots\[1\]\.postgresLogin: bot "etl-b" shares PostgreSQL login "etl_bot" with bot "etl-a" \(bots\[0\]\.postgresLogin; logins are compared exactly/,
    );
  });

  it('when the bots with one login have roles on different servers, then it is still refused (two server ids may be one cluster)', () => {
    const roles = [
      ...ROLES,
      { id: 'pg-other', target: { type: 'postgres', server: 'ledger', role: 'reporting' } },
    ];
    const err = refusal(
      [
        { id: 'etl-a', postgresLogin: 'etl', roles: ['pg'] },
        { id: 'etl-b', postgresLogin: 'etl', roles: ['pg-other'] },
      ],
      roles,
    );
    expect(err.field).toBe('bots[1].postgresLogin');
  });

  it.each([
    ['only in case (Elevate quotes logins, so PostgreSQL does not fold them)', 'ETL_BOT', 'etl_bot'],
    ['in a trailing space', 'etl_bot', 'etl_bot '],
    ['in one character', 'etl_bot1', 'etl_bot2'],
  ])('when two logins differ %s, then both bots are accepted', (_l, a, b) => {
    const policy = accepted([
      { id: 'a', postgresLogin: a },
      { id: 'b', postgresLogin: b },
    ]);
    expect(policy.bots.map((x) => x.postgresLogin)).toEqual([a, b]);
  });

  it("when a PostgreSQL role of the policy is one bot's login and another bot may request it, then it is refused at the role's target", () => {
    const roles = ROLES.map((r) =>
      r.id === 'pg' ? { id: 'pg', target: { type: 'postgres', server: 'warehouse', role: 'etl_a' } } : r,
    );
    const err = refusal(
      [
        { id: 'etl-a', postgresLogin: 'etl_a' },
        { id: 'etl-b', postgresLogin: 'etl_b', roles: ['pg'] },
      ],
      roles,
    );
    expect(err.field).toBe('roles[1].target.role');
    expect(err.message).toContain(
      'roles[1].target.role: is the PostgreSQL login of bot "etl-a" (bots[0].postgresLogin = "etl_a"',
    );
    expect(err.message).toContain(
      'bot "etl-b" may request role "pg": granted it, it would act as bot "etl-a"',
    );
  });

  it('when a PostgreSQL role is named like a login only in case, then bots may request it', () => {
    const roles = ROLES.map((r) =>
      r.id === 'pg' ? { id: 'pg', target: { type: 'postgres', server: 'warehouse', role: 'ETL_A' } } : r,
    );
    expect(() =>
      accepted(
        [
          { id: 'etl-a', postgresLogin: 'etl_a' },
          { id: 'etl-b', postgresLogin: 'etl_b', roles: ['pg'] },
        ],
        roles,
      ),
    ).not.toThrow();
  });
});

describe('one bot, one identity: AWS principals', () => {
  const ARN = 'arn:aws:iam::123456789012:role/ci-deployer';

  it.each([
    ['written the same', ARN, ARN],
    ['in another case (IAM names are case-insensitive)', ARN, 'arn:aws:iam::123456789012:role/CI-Deployer'],
    [
      'with a path (IAM names are unique whatever their path)',
      ARN,
      'arn:aws:iam::123456789012:role/bots/ci-deployer',
    ],
    [
      'as users in another case and path',
      'arn:aws:iam::123456789012:user/a/Robot',
      'arn:aws:iam::123456789012:user/b/c/robot',
    ],
  ])(
    'when two bots have one IAM principal %s, then the policy is refused naming both and the field',
    (_l, a, b) => {
      const err = refusal([
        { id: 'deploy-a', awsPrincipal: a },
        { id: 'deploy-b', awsPrincipal: b },
      ]);
      expect(err.field).toBe('bots[1].awsPrincipal');
      expect(err.message).toContain(
        `bots[1].awsPrincipal: bot "deploy-b" shares AWS IAM principal ${JSON.stringify(b)} with bot "deploy-a"`,
      );
      expect(err.message).toContain('IAM names are compared case-insensitively and without their path');
    },
  );

  it.each([
    ['another account', ARN, 'arn:aws:iam::210987654321:role/ci-deployer'],
    ['another partition', ARN, 'arn:aws-cn:iam::123456789012:role/ci-deployer'],
    ['a user and a role of one name', ARN, 'arn:aws:iam::123456789012:user/ci-deployer'],
    ['another name', ARN, 'arn:aws:iam::123456789012:role/ci-deployer-2'],
  ])('when two IAM principals are in %s, then both bots are accepted', (_l, a, b) => {
    const policy = accepted([
      { id: 'a', awsPrincipal: a },
      { id: 'b', awsPrincipal: b },
    ]);
    expect(policy.bots.map((x) => x.awsPrincipal)).toEqual([a, b]);
  });

  it("when a credentials-mode role assumes one bot's principal and another bot may request it, then it is refused at the role's roleArn", () => {
    const err = refusal([
      { id: 'owner-bot', awsPrincipal: 'arn:aws:iam::123456789012:role/Shared-Reader' },
      { id: 'other-a', roles: ['creds'] },
      { id: 'other-b', roles: ['creds'] },
    ]);
    expect(err.field).toBe('roles[3].target.roleArn');
    expect(err.message).toContain('roles[3].target.roleArn: is the AWS IAM principal of bot "owner-bot"');
    expect(err.message).toContain(
      'bots "other-a", "other-b" may request role "creds": given its sessions, they would act as bot "owner-bot"',
    );
  });

  it("when many bots assume one credentials-mode role that is no bot's principal, or only its own bot does, then it is accepted", () => {
    expect(() =>
      accepted([
        { id: 'a', roles: ['creds'] },
        { id: 'b', roles: ['creds'] },
      ]),
    ).not.toThrow();
    expect(() =>
      accepted([
        { id: 'a', roles: ['creds'], awsPrincipal: 'arn:aws:iam::123456789012:role/shared-reader' },
        { id: 'b', roles: ['dir'] },
      ]),
    ).not.toThrow();
  });

  it('when bots use credentials mode without awsPrincipal, then their session labels never collide', () => {
    const policy = accepted([
      { id: 'a', roles: ['creds'] },
      { id: 'b', roles: ['creds'] },
    ]);
    expect(botIdentitiesOf(policy).filter((i) => i.kind === 'aws')).toEqual([]);
  });
});

describe('identities of different kinds', () => {
  it('when a login, a DN and an ARN are spelled alike, then they are not compared with each other', () => {
    const policy = accepted([
      { id: 'a', ldapDn: 'cn=x,dc=example,dc=org' },
      { id: 'b', postgresLogin: 'cn=x,dc=example,dc=org' },
    ]);
    expect(identityConflicts(policy)).toEqual([]);
    expect(botIdentitiesOf(policy)).toEqual([
      { botId: 'a', kind: 'ldap', principal: 'cn=x,dc=example,dc=org' },
      { botId: 'b', kind: 'ldap', principal: 'uid=b,ou=bots,dc=example,dc=org' },
      { botId: 'b', kind: 'postgres', principal: 'cn=x,dc=example,dc=org' },
    ]);
  });

  it('when one bot shares two kinds of identity with another, then each is reported', () => {
    const err = refusal([
      { id: 'a', postgresLogin: 'etl', awsPrincipal: 'arn:aws:iam::123456789012:role/etl' },
      { id: 'b', postgresLogin: 'etl', awsPrincipal: 'arn:aws:iam::123456789012:role/ETL' },
    ]);
    expect(err.message.split('\n').map((l) => l.replace(/^policy\.yaml:\d+:\d+ /, '').split(':')[0])).toEqual(
      ['bots[1].postgresLogin', 'bots[1].awsPrincipal'],
    );
  });
});
