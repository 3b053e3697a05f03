/**
 * The one comparison of target identities that the policy loader and drift detection share:
 * canonical forms per kind, which grant uses which identity, which identities more than one bot
 * uses, and that the loader refuses exactly the spellings drift would call one identity (and
 * that reconciliation's membership keys agree for DNs and logins).
 */
import { describe, expect, it } from 'vitest';
import { identityConflicts } from '../../config/identity-uniqueness.js';
import type { IdentityKind, ReconcileIdentity } from '../../core/model/reconcile.js';
import { dnKeyPart, nameKeyPart } from '../../core/rules/membership-key.js';
import {
  canonicalAwsPrincipal,
  canonicalIdentity,
  describeSharedIdentity,
  identitiesOfGrant,
  identityKey,
  sharedIdentitiesOf,
  type IdentityHolding,
} from '../../core/rules/target-identity.js';

const ROLE = 'arn:aws:iam::123456789012:role';

describe('canonical identities', () => {
  it.each([
    [`${ROLE}/ci`, `${ROLE}/ci`],
    [`${ROLE}/CI-Deployer`, `${ROLE}/ci-deployer`],
    [`${ROLE}/bots/team-a/CI`, `${ROLE}/ci`],
    ['arn:aws-us-gov:iam::123456789012:user/Path/Bob', 'arn:aws-us-gov:iam::123456789012:user/bob'],
    // Not an IAM role or user ARN: kept as written, so it can only equal itself.
    ['bot:etl', 'bot:etl'],
    [
      'arn:aws:sts::123456789012:assumed-role/ci/session',
      'arn:aws:sts::123456789012:assumed-role/ci/session',
    ],
  ])('when the AWS principal is %s, then its canonical form is %s', (arn, canonical) => {
    expect(canonicalAwsPrincipal(arn)).toBe(canonical);
  });

  it('when identities of each kind are compared, then each kind uses its own target rule', () => {
    expect(canonicalIdentity('ldap', 'UID=Bot , OU=Bots,DC=Example')).toBe('uid=bot,ou=bots,dc=example');
    expect(canonicalIdentity('postgres', 'ETL_Bot')).toBe('ETL_Bot');
    expect(canonicalIdentity('aws', `${ROLE}/x/ETL`)).toBe(`${ROLE}/etl`);
    // A member value a directory returns that is not a DN can only equal itself.
    expect(canonicalIdentity('ldap', 'not a dn')).toBe('not a dn');
    expect(identityKey('postgres', 'etl')).not.toBe(identityKey('aws', 'etl'));
  });

  it('when DNs and logins are equal here, then reconciliation keys their memberships as one, and only then', () => {
    const dns = [
      'uid=ci,ou=bots,dc=example,dc=org',
      'UID=CI,ou=bots,dc=example,dc=org',
      'commonName=ci,ou=bots,dc=example,dc=org',
      'cn=ci,ou=bots,dc=example,dc=org',
      'uid=ci\\,x,dc=example,dc=org',
    ];
    for (const a of dns)
      for (const b of dns)
        expect(identityKey('ldap', a) === identityKey('ldap', b)).toBe(dnKeyPart(a) === dnKeyPart(b));
    const logins = ['etl', 'ETL', 'etl ', 'e|tl'];
    for (const a of logins)
      for (const b of logins)
        expect(identityKey('postgres', a) === identityKey('postgres', b)).toBe(
          nameKeyPart(a) === nameKeyPart(b),
        );
  });
});

describe('the identities a grant uses', () => {
  it('when a role is granted, then the bot principal is used as its own, and a role a bot can be is used in common', () => {
    expect(identitiesOfGrant({ type: 'ldap', groupDn: 'cn=g,dc=x' }, 'uid=b,dc=x')).toEqual([
      { kind: 'ldap', value: 'uid=b,dc=x', common: false },
    ]);
    expect(identitiesOfGrant({ type: 'postgres', server: 'wh', role: 'reporting' }, 'etl')).toEqual([
      { kind: 'postgres', value: 'etl', common: false },
      { kind: 'postgres', value: 'reporting', common: true },
    ]);
    expect(
      identitiesOfGrant({ type: 'aws-iam', mode: 'attach', policyDocument: '{}' }, `${ROLE}/ci`),
    ).toEqual([{ kind: 'aws', value: `${ROLE}/ci`, common: false }]);
    expect(
      identitiesOfGrant({ type: 'aws-iam', mode: 'credentials', roleArn: `${ROLE}/reader` }, 'bot:ci'),
    ).toEqual([
      { kind: 'aws', value: 'bot:ci', common: false },
      { kind: 'aws', value: `${ROLE}/reader`, common: true },
    ]);
  });
});

const hold = (botId: string, elevationId: string, kind: IdentityKind, value: string, common = false) =>
  ({ botId, elevationId, use: { kind, value, common } }) satisfies IdentityHolding;

describe('identities used by more than one bot', () => {
  const owners: ReconcileIdentity[] = [
    { botId: 'a', kind: 'ldap', principal: 'uid=a,ou=bots,dc=example,dc=org' },
    { botId: 'b', kind: 'ldap', principal: 'uid=b,ou=bots,dc=example,dc=org' },
    { botId: 'b', kind: 'aws', principal: `${ROLE}/b` },
  ];

  it('when every bot holds only its own identities, then nothing is shared', () => {
    expect(
      sharedIdentitiesOf(owners, [
        hold('a', 'el_1', 'ldap', 'uid=a,ou=bots,dc=example,dc=org'),
        hold('b', 'el_2', 'ldap', 'UID=B,ou=bots,dc=example,dc=org'),
        hold('b', 'el_3', 'aws', `${ROLE}/bots/B`),
      ]),
    ).toEqual([]);
  });

  it('when an elevation of bot a holds what the policy now gives bot b, then that identity is shared by a and b', () => {
    const shared = sharedIdentitiesOf(owners, [
      hold('a', 'el_old', 'ldap', 'uid=B,ou=bots,dc=example,dc=org'),
    ]);
    expect(shared).toEqual([
      {
        kind: 'ldap',
        identity: 'uid=b,ou=bots,dc=example,dc=org',
        principals: ['uid=B,ou=bots,dc=example,dc=org', 'uid=b,ou=bots,dc=example,dc=org'],
        bots: [
          { botId: 'a', owner: false, elevations: ['el_old'] },
          { botId: 'b', owner: true, elevations: [] },
        ],
      },
    ]);
    expect(describeSharedIdentity(shared[0]!)).toBe(
      "LDAP entry uid=b,ou=bots,dc=example,dc=org is used by bot a (elevation el_old) and bot b (the policy's)",
    );
  });

  it('when two bots hold one principal under two names and the policy gives it to neither, then it is shared', () => {
    const shared = sharedIdentitiesOf(
      [],
      [
        hold('x', 'el_1', 'aws', `${ROLE}/Deploy`),
        hold('y', 'el_2', 'aws', `${ROLE}/team/deploy`),
        hold('y', 'el_3', 'aws', `${ROLE}/deploy`),
      ],
    );
    expect(shared).toHaveLength(1);
    expect(shared[0]).toMatchObject({
      kind: 'aws',
      identity: `${ROLE}/deploy`,
      principals: [`${ROLE}/Deploy`, `${ROLE}/deploy`, `${ROLE}/team/deploy`],
    });
    expect(describeSharedIdentity(shared[0]!)).toBe(
      `AWS IAM principal ${ROLE}/deploy is used by bot x (elevation el_1) and bot y (elevations el_2, el_3)`,
    );
  });

  it("when many bots assume a credentials-mode role that is nobody's, then it is not shared; when it is one bot's principal, it is", () => {
    const assume = [
      hold('a', 'el_1', 'aws', `${ROLE}/reader`, true),
      hold('c', 'el_2', 'aws', `${ROLE}/reader`, true),
    ];
    expect(sharedIdentitiesOf(owners, assume)).toEqual([]);
    const onB = [hold('a', 'el_1', 'aws', `${ROLE}/B`, true)];
    expect(sharedIdentitiesOf(owners, onB).map((s) => s.bots.map((b) => b.botId))).toEqual([['a', 'b']]);
    // Its own bot assuming it shares it with nobody.
    expect(sharedIdentitiesOf(owners, [hold('b', 'el_3', 'aws', `${ROLE}/b`, true)])).toEqual([]);
  });

  it('when logins differ only in case, then they are two identities (PostgreSQL sees two roles)', () => {
    expect(
      sharedIdentitiesOf(
        [{ botId: 'a', kind: 'postgres', principal: 'ETL' }],
        [hold('b', 'el_1', 'postgres', 'etl'), hold('c', 'el_2', 'postgres', 'Etl')],
      ),
    ).toEqual([]);
  });
});

describe('the loader and drift agree', () => {
  const bot = (id: string, fields: Record<string, string>) => ({
    id,
    ldapDn: `uid=${id},ou=bots,dc=example,dc=org`,
    roles: [] as string[],
    ...fields,
  });
  const spellings: [IdentityKind, 'ldapDn' | 'postgresLogin' | 'awsPrincipal', string, string][] = [
    ['ldap', 'ldapDn', 'uid=s,ou=bots,dc=example,dc=org', 'UID = s, OU=bots,dc=example,dc=org'],
    ['ldap', 'ldapDn', 'uid=s,ou=bots,dc=example,dc=org', 'cn=s,ou=bots,dc=example,dc=org'],
    ['ldap', 'ldapDn', 'cn=s,ou=bots,dc=example,dc=org', '2.5.4.3=S,ou=bots,dc=example,dc=org'],
    ['postgres', 'postgresLogin', 'etl', 'etl'],
    ['postgres', 'postgresLogin', 'etl', 'ETL'],
    ['aws', 'awsPrincipal', `${ROLE}/ci`, `${ROLE}/a/CI`],
    ['aws', 'awsPrincipal', `${ROLE}/ci`, 'arn:aws:iam::123456789012:user/ci'],
    ['aws', 'awsPrincipal', `${ROLE}/ci`, 'arn:aws:iam::999999999999:role/ci'],
  ];

  it.each(spellings)(
    'when a %s identity (%s) is %s for bot a and %s for bot b, then the loader refuses it exactly when drift calls it shared',
    (kind, field, a, b) => {
      const refused =
        identityConflicts({ bots: [bot('a', { [field]: a }), bot('b', { [field]: b })] as never, roles: [] })
          .length > 0;
      const flagged =
        sharedIdentitiesOf([{ botId: 'a', kind, principal: a }], [hold('b', 'el_1', kind, b)]).length > 0;
      expect(refused).toBe(flagged);
      expect(refused).toBe(identityKey(kind, a) === identityKey(kind, b));
    },
  );
});
