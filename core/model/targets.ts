/**
 * Where a role is granted: one reference type per kind of target. Part of the pure core: no
 * I/O, imported by the workflow sandbox and by Node processes alike.
 */

/** LDAP group membership of the bot's existing entry. */
export interface LdapTargetRef {
  type: 'ldap';
  /** DN of the `groupOfNames` whose `member` attribute carries the grant. */
  groupDn: string;
}

/** A PostgreSQL role granted to the bot's login (`GRANT role TO login`). */
export interface PostgresTargetRef {
  type: 'postgres';
  /** Id of a configured PostgreSQL server (its connection comes from the environment). */
  server: string;
  /** The role granted. */
  role: string;
}

/**
 * AWS IAM, attach mode: a policy attached to the bot's IAM role or user for the window. The
 * document carries its own backstop: a `DateLessThan` condition on `aws:CurrentTime` at the
 * window's end, so it stops working on time even if Elevate cannot detach it.
 */
export interface AwsIamAttachTargetRef {
  type: 'aws-iam';
  mode: 'attach';
  /** The IAM policy document (JSON) granted for the window; Elevate adds the expiry condition. */
  policyDocument: string;
}

/**
 * AWS IAM, credentials mode: no standing attachment. Elevate assumes `roleArn` for the window,
 * with a session policy that narrows it, and hands the temporary credentials to the bot once.
 */
export interface AwsIamCredentialsTargetRef {
  type: 'aws-iam';
  mode: 'credentials';
  roleArn: string;
  /** Session policy (JSON) that narrows the role for this session. */
  sessionPolicy?: string;
}

/** Where a role is granted. */
export type TargetRef =
  LdapTargetRef | PostgresTargetRef | AwsIamAttachTargetRef | AwsIamCredentialsTargetRef;
export type TargetType = TargetRef['type'];

/**
 * The member every Elevate-managed `groupOfNames` is seeded with, and which `LdapTarget`
 * never reports, grants or revokes.
 *
 * Why it exists: `groupOfNames` requires at least one `member`, so without it revoking the last
 * bot would fail with an object-class violation and the revocation would never complete.
 * Why this DN: it is a single RDN outside any directory suffix, so it can never be the DN of a
 * real bot, and OpenLDAP (without the refint overlay) does not require a member to exist.
 */
export const DEFAULT_PLACEHOLDER_DN = 'cn=placeholder';
