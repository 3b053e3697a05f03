/**
 * Grant handles derived without a receipt (`Target.handleFor`): what revokes an elevation whose
 * history was recorded before handles existed, so each must name exactly what that target's
 * grant writes, and stay so. Built without connecting: deriving a handle asks no server.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LdapTarget } from '../../integrations/ldap/ldap-target.js';
import { PostgresTarget } from '../../integrations/postgres/postgres-target.js';
import { AwsIamAttachTarget } from '../../integrations/aws/iam-attach-target.js';
import { AwsStsCredentialsTarget } from '../../integrations/aws/sts-credentials-target.js';
import { TargetRouter } from '../../integrations/target-router.js';
import { TargetInvalidError } from '../../core/errors/target-errors.js';
import type { GrantHandle } from '../../core/model/targets.js';

const router = new TargetRouter({
  ldap: new LdapTarget({ url: 'ldap://127.0.0.1:1', bindDn: 'cn=admin', bindPassword: 'x' }),
  postgres: { main: new PostgresTarget({ url: 'postgres://127.0.0.1:1/x', server: 'main' }) },
  awsIamAttach: new AwsIamAttachTarget({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1' }),
  awsStsCredentials: new AwsStsCredentialsTarget({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1' }),
});
afterAll(() => router.close());

const ROLE_ARN = 'arn:aws:iam::123456789012:role/bots/deployer';
const ELEVATION = 'el_0123456789abcdef01234567';

describe('grant handles derived from the request (receipts without one)', () => {
  it('when derived for each target, then the handle names what its grant writes: the member as spelled, the login, the elevation policy, the elevation session', () => {
    expect(
      router.handleFor({ type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=x' }, 'UID=Bot,dc=x', ELEVATION),
    ).toEqual({
      type: 'ldap',
      groupDn: 'cn=ops,ou=groups,dc=x',
      member: 'UID=Bot,dc=x',
    });
    expect(
      router.handleFor({ type: 'postgres', server: 'main', role: 'Reader' }, 'bot_a', ELEVATION),
    ).toEqual({
      type: 'postgres',
      server: 'main',
      role: 'Reader',
      login: 'bot_a',
    });
    expect(
      router.handleFor({ type: 'aws-iam', mode: 'attach', policyDocument: '{}' }, ROLE_ARN, ELEVATION),
    ).toEqual({
      type: 'aws-iam-attach',
      policyArn: `arn:aws:iam::123456789012:policy/elevate/elevate-${ELEVATION}`,
      principalArn: ROLE_ARN,
    });
    expect(
      router.handleFor({ type: 'aws-iam', mode: 'credentials', roleArn: ROLE_ARN }, 'bot-id', ELEVATION),
    ).toEqual({
      type: 'aws-sts-credentials',
      roleArn: ROLE_ARN,
      sessionName: `elevate-${ELEVATION}`,
      elevationId: ELEVATION,
    });
  });

  it('when an AWS grant is derived without its elevation (drift nobody granted), then it is refused: its names come from the elevation', () => {
    expect(() =>
      router.handleFor({ type: 'aws-iam', mode: 'attach', policyDocument: '{}' }, ROLE_ARN, ''),
    ).toThrow(TargetInvalidError);
    expect(() =>
      router.handleFor({ type: 'aws-iam', mode: 'credentials', roleArn: ROLE_ARN }, 'b', ''),
    ).toThrow(TargetInvalidError);
  });
});

describe('routing a handle read back from JSON', () => {
  it('when the handle is not a handle, names no configured target, or another server, then revoke and check refuse it as TargetInvalidError', async () => {
    const bad: unknown[] = [
      null,
      'ldap',
      { groupDn: 'cn=g', member: 'uid=b' },
      { type: 'kubernetes', namespace: 'x' },
      { type: 'postgres', server: 'elsewhere', role: 'r', login: 'l' },
      { type: 'postgres', server: 'toString', role: 'r', login: 'l' },
    ];
    for (const handle of bad) {
      await expect(router.revoke(handle as GrantHandle)).rejects.toBeInstanceOf(TargetInvalidError);
      await expect(router.check(handle as GrantHandle)).rejects.toBeInstanceOf(TargetInvalidError);
    }
    const ldapOnly = new TargetRouter({});
    await expect(ldapOnly.revoke({ type: 'ldap', groupDn: 'cn=g', member: 'uid=b' })).rejects.toThrow(
      'no ldap target is configured in this process',
    );
  });

  it('when a handle of the right type lacks a field, then its target refuses it, naming the field', async () => {
    const error = await router
      .revoke({ type: 'ldap', groupDn: 'cn=g' } as GrantHandle)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetInvalidError);
    expect((error as Error).message).toMatch(/not a grant handle of the LDAP target \(member: /);
  });
});
