/**
 * The targets a deployment needs, built from the policy (which kinds of target its roles use)
 * and the environment (how to reach them). A role whose target cannot be reached for lack of
 * configuration stops start-up, naming the variable to set.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../core/errors/config-error.js';
import type { Policy } from '../config/policy.js';
import type { CredentialHandoff } from '../core/ports/credential-handoff.js';
import type { AwsTargetOptions } from '../integrations/aws/aws-client.js';
import { AwsIamAttachTarget } from '../integrations/aws/iam-attach-target.js';
import { AwsStsCredentialsTarget } from '../integrations/aws/sts-credentials-target.js';
import type { LdapTarget } from '../integrations/ldap/ldap-target.js';
import {
  PostgresTarget,
  postgresServerIdEnv,
  readPostgresServerUrl,
} from '../integrations/postgres/postgres-target.js';
import { TargetRouter, type TargetSet } from '../integrations/target-router.js';

/** The targets built, all of them behind one router. */
export interface BuiltTargets {
  router: TargetRouter;
}

/** Every target the policy's roles use, behind one router. */
export function buildTargets(opts: {
  policy: Policy;
  /** Needed when a role is an LDAP group ({@link ldapUses}); absent, LDAP roles are refused. */
  ldap?: LdapTarget;
  /**
   * Where AWS credentials mode leaves issued credentials for their bot (the credentials vault);
   * without it, credentials-mode grants are refused.
   */
  credentialHandoff?: CredentialHandoff;
  env: NodeJS.ProcessEnv;
  logger: Logger;
}): BuiltTargets {
  const { policy, env } = opts;
  const set: TargetSet = opts.ldap ? { ldap: opts.ldap } : {};
  const servers = new Set<string>();
  const awsModes = new Set<string>();
  for (const role of policy.roles) {
    if (role.target.type === 'postgres') servers.add(role.target.server);
    if (role.target.type === 'aws-iam') awsModes.add(role.target.mode);
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
  const aws: AwsTargetOptions = {
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.ELEVATE_AWS_ENDPOINT_URL ? { endpoint: env.ELEVATE_AWS_ENDPOINT_URL } : {}),
    logger: opts.logger.child({ component: 'aws-iam' }),
  };
  if (awsModes.has('attach')) set.awsIamAttach = new AwsIamAttachTarget(aws);
  if (awsModes.has('credentials')) {
    set.awsStsCredentials = new AwsStsCredentialsTarget({
      ...aws,
      ...(opts.credentialHandoff ? { handoff: opts.credentialHandoff } : {}),
    });
  }
  return { router: new TargetRouter(set) };
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
