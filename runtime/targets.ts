/**
 * The targets a deployment needs, built from the policy (which kinds of target its roles use)
 * and the environment (how to reach them). A role whose target cannot be reached for lack of
 * configuration stops start-up, naming the variable to set.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../core/errors/config-error.js';
import type { Policy } from '../config/policy.js';
import { AwsIamTarget } from '../integrations/aws/iam-target.js';
import type { LdapTarget } from '../integrations/ldap/ldap-target.js';
import {
  PostgresTarget,
  postgresServerIdEnv,
  readPostgresServerUrl,
} from '../integrations/postgres/postgres-target.js';
import { TargetRouter, type TargetSet } from '../integrations/target-router.js';

/** The targets built: all of them behind one router, and the AWS one by itself for credentials mode. */
export interface BuiltTargets {
  router: TargetRouter;
  /** Present when a role uses AWS IAM. */
  awsIam?: AwsIamTarget;
}

/** Every target the policy's roles use, behind one router. */
export function buildTargets(opts: {
  policy: Policy;
  /** Needed when a role is an LDAP group ({@link ldapUses}); absent, LDAP roles are refused. */
  ldap?: LdapTarget;
  env: NodeJS.ProcessEnv;
  logger: Logger;
}): BuiltTargets {
  const { policy, env } = opts;
  const set: TargetSet = opts.ldap ? { ldap: opts.ldap } : {};
  const servers = new Set<string>();
  let aws = false;
  for (const role of policy.roles) {
    if (role.target.type === 'postgres') servers.add(role.target.server);
    if (role.target.type === 'aws-iam') aws = true;
  }
  if (servers.size > 0) {
    set.postgres = {};
    for (const server of servers) {
      const url = readPostgresServerUrl(env, server);
      if (!url) {
        const name = postgresServerIdEnv(server);
        throw new ConfigError(
          `${name}: must be set (or ${name}_FILE): roles are granted on PostgreSQL server "${server}"`,
          name,
        );
      }
      set.postgres[server] = new PostgresTarget({ url, server });
    }
  }
  if (aws) {
    set.awsIam = new AwsIamTarget({
      ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
      ...(env.ELEVATE_AWS_ENDPOINT_URL ? { endpoint: env.ELEVATE_AWS_ENDPOINT_URL } : {}),
      logger: opts.logger.child({ component: 'aws-iam' }),
    });
  }
  const awsIam = set.awsIam as AwsIamTarget | undefined;
  return { router: new TargetRouter(set), ...(awsIam ? { awsIam } : {}) };
}

/** Whether any role hands out AWS credentials (and so needs `ELEVATE_CREDENTIALS_KEY`). */
export function usesCredentialsMode(policy: Pick<Policy, 'roles'>): boolean {
  return policy.roles.some((r) => r.target.type === 'aws-iam' && r.target.mode === 'credentials');
}

/**
 * What needs the LDAP directory in this process, in words for an error: in a worker, roles that
 * are LDAP groups (the target) and approver groups kept in LDAP (whom to ask); in the API,
 * approver groups kept in LDAP (who may approve) and the console's admin group when it is an
 * LDAP group. Empty when a deployment grants only PostgreSQL roles and AWS policies, with
 * approvers listed by address. The API never writes to LDAP: give it a read-only account.
 */
export function ldapUses(
  policy: Pick<Policy, 'roles'>,
  adminConsole: { ldapGroupDn?: string | undefined } | undefined,
  run: { api: boolean; worker: boolean } = { api: true, worker: true },
): string[] {
  const uses: string[] = [];
  const ldapRoles = policy.roles.filter((r) => r.target.type === 'ldap').map((r) => r.id);
  if (run.worker && ldapRoles.length > 0) uses.push(`roles ${ldapRoles.join(', ')} are LDAP groups`);
  const approverRoles = policy.roles
    .filter((r) => r.approval.mode === 'approvers' && r.approval.groups.some((g) => g.ldapGroupDn))
    .map((r) => r.id);
  if (approverRoles.length > 0) {
    uses.push(`roles ${approverRoles.join(', ')} have approver groups in LDAP`);
  }
  if (run.api && adminConsole?.ldapGroupDn) uses.push('ADMIN_LDAP_GROUP_DN names an LDAP group of admins');
  return uses;
}
