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

/**
 * What a grant returns and its revocation and read-back take: the grant as the target wrote it,
 * so that taking it away never recomputes names from the request. Small, JSON-serialisable and
 * free of secrets (the workflow keeps it in its history and the audit trail records it with the
 * grant's receipt). Opaque to everyone but its target, which checks its shape before using it;
 * `type` names the target that made it (the router routes by it).
 *
 * Receipts recorded before handles existed have none: the target derives the same handle from the
 * reference, the principal and the elevation (`Target.handleFor`).
 */
export type GrantHandle =
  LdapGrantHandle | PostgresGrantHandle | AwsIamAttachGrantHandle | AwsStsCredentialsGrantHandle;

/** The `member` value written to a group: the DN as the bot's principal spells it. */
export interface LdapGrantHandle {
  type: 'ldap';
  groupDn: string;
  member: string;
}

/** `GRANT role TO login` on one configured server. */
export interface PostgresGrantHandle {
  type: 'postgres';
  server: string;
  role: string;
  login: string;
}

/** The elevation's own policy, attached to the bot's IAM role or user. */
export interface AwsIamAttachGrantHandle {
  type: 'aws-iam-attach';
  policyArn: string;
  principalArn: string;
}

/** The elevation's STS session of `roleArn` (its credentials wait in the hand-off under the elevation). */
export interface AwsStsCredentialsGrantHandle {
  type: 'aws-sts-credentials';
  roleArn: string;
  sessionName: string;
  elevationId: string;
}
