import { afterAll, describe, expect, it } from 'vitest';
import { LdapTarget } from '../../integrations/ldap/ldap-target.js';
import { PostgresTarget } from '../../integrations/postgres/postgres-target.js';
import { AwsIamAttachTarget } from '../../integrations/aws/iam-attach-target.js';
import { AwsStsCredentialsTarget } from '../../integrations/aws/sts-credentials-target.js';
import { TargetRouter } from '../../integrations/target-router.js';
import type { TargetRef } from '../../core/model/targets.js';

// Built without connecting: membership keys are computed, never fetched.
const ldap = new LdapTarget({ url: 'ldap://127.0.0.1:1', bindDn: 'cn=admin', bindPassword: 'x' });
const postgres = new PostgresTarget({ url: 'postgres://127.0.0.1:1/x', server: 'main' });
const attach = new AwsIamAttachTarget({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1' });
const sts = new AwsStsCredentialsTarget({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1' });
const router = new TargetRouter({
  ldap,
  postgres: { main: postgres },
  awsIamAttach: attach,
  awsStsCredentials: sts,
});
afterAll(() => router.close());

const key = (target: TargetRef, principal: string, elevationId = 'el_1') =>
  router.membershipKey(target, principal, elevationId);

const ROLE_ARN = 'arn:aws:iam::123456789012:role/bots/deployer';

describe('membership keys (the grant ledger leases them)', () => {
  it('when names contain `|` or `\\`, then two different grants never share a key', () => {
    const pg = (role: string, login: string) => key({ type: 'postgres', server: 'main', role }, login);
    expect(pg('a|b', 'c')).not.toBe(pg('a', 'b|c'));
    expect(pg('a\\', '|c')).not.toBe(pg('a\\|', 'c'));

    const dn = (group: string, principal: string) => key({ type: 'ldap', groupDn: group }, principal);
    // `dc=x|uid=b` is one value: the split must not move between group and principal.
    expect(dn('cn=g,dc=x|cn=h', 'uid=b')).not.toBe(dn('cn=g,dc=x', 'cn=h|uid=b'));
  });

  it('when names hold neither character, then the key is the one recorded by earlier versions', () => {
    expect(key({ type: 'postgres', server: 'main', role: 'reader' }, 'bot_a')).toBe(
      'postgres|main|reader|bot_a',
    );
    expect(key({ type: 'ldap', groupDn: 'CN=Deployers,DC=Example' }, 'uid=Bot-1')).toBe(
      'ldap|cn=deployers,dc=example|uid=bot-1',
    );
    expect(
      key({ type: 'aws-iam', mode: 'attach', policyDocument: '{"Statement":[]}' }, ROLE_ARN, 'el_9'),
    ).toBe(`aws-iam|attach|${ROLE_ARN}|el_9`);
    expect(key({ type: 'aws-iam', mode: 'credentials', roleArn: ROLE_ARN }, ROLE_ARN, 'el_9')).toBe(
      `aws-iam|credentials|${ROLE_ARN}|el_9`,
    );
  });

  it('when two elevations share a membership, then they share its key; an AWS grant is its elevation’s own', () => {
    const group: TargetRef = { type: 'ldap', groupDn: 'cn=deployers,dc=example' };
    expect(key(group, 'uid=bot-1,dc=example', 'el_1')).toBe(key(group, 'UID=Bot-1, DC=Example', 'el_2'));
    const pg: TargetRef = { type: 'postgres', server: 'main', role: 'reader' };
    expect(key(pg, 'bot_a', 'el_1')).toBe(key(pg, 'bot_a', 'el_2'));
    // Role and login names are case-sensitive in PostgreSQL.
    expect(key(pg, 'bot_a')).not.toBe(key(pg, 'Bot_A'));
    const policy: TargetRef = { type: 'aws-iam', mode: 'attach', policyDocument: '{}' };
    expect(key(policy, ROLE_ARN, 'el_1')).not.toBe(key(policy, ROLE_ARN, 'el_2'));
  });
});
