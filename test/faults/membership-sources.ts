/**
 * What the targets themselves say is granted, read straight from them (never through Elevate):
 * the members of the roles' LDAP groups, PostgreSQL's `pg_auth_members`, the policies attached
 * to a bot's IAM role. The invariant checker compares this with the elevations in the store.
 */
import { ListAttachedRolePoliciesCommand, type IAMClient } from '@aws-sdk/client-iam';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { botDn, groupDn } from '../../dev/ldap-seed.js';
import { SUFFIX, type Stack } from '../support/stack.js';

/** One grant found in a target: the bot holds the role. */
export interface Membership {
  botId: string;
  roleId: string;
}

/** A target read for its grants; `read` rejects when the target cannot be read right now. */
export interface MembershipSource {
  name: string;
  /** The roles this source answers for. */
  roleIds: string[];
  read(): Promise<Membership[]>;
}

const normalDn = (dn: string) => dn.toLowerCase().replace(/\s*,\s*/g, ',');

/** The members of the given roles' groups in the stack's slapd (the seeded placeholder left out). */
export function ldapMemberships(stack: Pick<Stack, 'slapd' | 'policy'>, roleIds: string[]): MembershipSource {
  const bots = new Map(stack.policy.bots.map((b) => [normalDn(botDn(SUFFIX, b.id)), b.id]));
  return {
    name: 'ldap',
    roleIds,
    async read() {
      // A fresh connection each time: slapd is stopped, paused and restarted under it.
      const client = new LdapClient({ url: stack.slapd.url, timeout: 3000, connectTimeout: 2000 });
      try {
        await client.bind(stack.slapd.rootDn, stack.slapd.rootPassword);
        const found: Membership[] = [];
        for (const roleId of roleIds) {
          const { searchEntries } = await client.search(groupDn(SUFFIX, roleId), {
            scope: 'base',
            attributes: ['member'],
          });
          const raw = searchEntries[0]?.member ?? [];
          for (const dn of Array.isArray(raw) ? raw : [raw]) {
            const botId = bots.get(normalDn(String(dn)));
            if (botId) found.push({ botId, roleId });
          }
        }
        return found;
      } finally {
        await client.unbind().catch(() => undefined);
      }
    },
  };
}

/** Members of PostgreSQL roles, by the policy's roles on that server and bots' logins. */
export function postgresMemberships(
  url: string,
  roles: { roleId: string; pgRole: string }[],
  logins: { botId: string; login: string }[],
): MembershipSource {
  return {
    name: 'postgres',
    roleIds: roles.map((r) => r.roleId),
    async read() {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      await client.connect();
      try {
        const { rows } = await client.query<{ role: string; login: string }>(
          `SELECT r.rolname AS role, u.rolname AS login FROM pg_auth_members m
             JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member`,
        );
        return rows.flatMap((row) => {
          const role = roles.find((r) => r.pgRole === row.role);
          const bot = logins.find((l) => l.login === row.login);
          return role && bot ? [{ botId: bot.botId, roleId: role.roleId }] : [];
        });
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

/**
 * Elevate's policies (path `/elevate/`, one per elevation in attach mode) attached to bots' IAM
 * roles: each is a grant of `roleId`.
 */
export function awsAttachMemberships(
  iam: IAMClient,
  roleId: string,
  principals: { botId: string; roleName: string }[],
): MembershipSource {
  return {
    name: 'aws-iam',
    roleIds: [roleId],
    async read() {
      const found: Membership[] = [];
      for (const p of principals) {
        const { AttachedPolicies } = await iam.send(
          new ListAttachedRolePoliciesCommand({ RoleName: p.roleName }),
        );
        for (const a of AttachedPolicies ?? []) {
          if (a.PolicyArn?.includes(':policy/elevate/')) found.push({ botId: p.botId, roleId });
        }
      }
      return found;
    },
  };
}
