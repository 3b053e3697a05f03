/**
 * Reconciliation (drift detection and orphaned leases): what it is given and what it reports.
 * Part of the pure core.
 */
import type { TargetRef } from './targets.js';

/** Default pause between two reconciliation runs. */
export const DEFAULT_RECONCILE_INTERVAL_SECONDS = 60;

/**
 * What reconciliation does about a member of a role's target that no elevation explains:
 * `alert` records and logs it; `revert` also removes it.
 */
export type DriftAction = 'alert' | 'revert';

/** One role as reconciliation sees it (from the policy at the time the schedule was set up). */
export interface ReconcileRole {
  id: string;
  target: TargetRef;
  action: DriftAction;
  /** Principals that hold the role permanently by design (never drift). */
  standing: string[];
  /**
   * Principals of the bots that may be granted the role (recorded with each drift). Absent in the
   * schedule's input: the worker running the reconciliation reads them from the policy it loaded
   * ({@link ReconcilePolicyView}), which keeps the input small however many bots there are
   * (Temporal refuses a payload over 2 MiB).
   */
  principals?: string[];
}

/** What reconciliation reads from the worker's own policy rather than from the schedule's input. */
export interface ReconcilePolicyView {
  /** The principals of the bots that may be granted `roleId`. */
  principalsOf(roleId: string): string[];
  /** Every bot's target identities (`config/identity-uniqueness.ts`). */
  identities(): ReconcileIdentity[];
}

/**
 * A bot's IAM role or user, as reconciliation sees it: the bot holds no standing privilege, so
 * every policy attached to it (managed or inline) is drift unless it is the policy of one of
 * its live elevations or declared standing by one of the AWS attach-mode roles it may request.
 */
export interface ReconcileAwsPrincipal {
  /** The role or user ARN (`bots[].awsPrincipal`). */
  principal: string;
  /** The AWS attach-mode roles the bot may request (recorded with each drift). */
  roles: string[];
  /** `revert` when any of those roles says so. */
  action: DriftAction;
  /** Managed policy ARNs, and `inline:<name>` for inline policies, that may stay attached. */
  standing: string[];
}

/** The kinds of target identity a bot has: an LDAP entry, a PostgreSQL login, an IAM role or user. */
export type IdentityKind = 'ldap' | 'postgres' | 'aws';

/** A bot's identity in one kind of target, as the policy gives it (`bots[].ldapDn`, ...). */
export interface ReconcileIdentity {
  botId: string;
  kind: IdentityKind;
  /** As the policy writes it. */
  principal: string;
}

/** Start input of the reconciliation workflow. */
export interface ReconcileInput {
  roles: ReconcileRole[];
  /** The bots' AWS principals (absent in schedules made before AWS drift detection). */
  aws?: ReconcileAwsPrincipal[];
  /** The bots' target identities (absent in schedules made before shared-identity detection). */
  identities?: ReconcileIdentity[];
}

/** A target identity used by more than one bot (`core/rules/target-identity.ts`). */
export interface SharedIdentity {
  kind: IdentityKind;
  /** Its canonical form. */
  identity: string;
  /** The ways the policy and the grants write it. */
  principals: string[];
  /** Each bot that uses it: whether the policy gives it to the bot, and its elevations holding it. */
  bots: { botId: string; owner: boolean; elevations: string[] }[];
}

/** What reconciliation's search for target identities used by more than one bot found. */
export interface SharedIdentitySweep {
  /** Held leases looked at. */
  checked: number;
  shared: SharedIdentity[];
  /** Why the search failed (the next run tries again). */
  error?: string;
}

/**
 * Where drift was found: a role's target, or, for AWS, the policies attached to a bot's IAM
 * role or user (not one role's target: those are read per principal, whatever role they came
 * from). Alerts recorded before `aws-iam-principal` existed name the AWS case as an attach-mode
 * target with an empty policy document.
 */
export type DriftScope = TargetRef | { type: 'aws-iam-principal' };

/** A holder of a role that no elevation explains, as reconciliation reports it to people. */
export interface DriftAlert {
  /** The role (for AWS: the bot's AWS attach-mode roles, comma-separated). */
  roleId: string;
  target: DriftScope;
  /** Who holds it: a DN, a PostgreSQL login, an IAM role or user ARN. */
  principal: string;
  /** Whether the holder is one of the bots that may request the role. */
  bot: boolean;
  /** `alerted`: left in place (the role's drift action is `alert`); `reverted`: removed. */
  outcome: 'alerted' | 'reverted';
  /** What exactly is held, when the role alone does not say (AWS: the policy ARN or `inline:<name>`). */
  detail?: string;
  /** When reconciliation found it (ISO 8601). */
  at: string;
}

/** One member that no elevation explained, and what was done about it. */
export interface DriftFinding {
  principal: string;
  action: 'alerted' | 'reverted';
  /** AWS: the policy held (its ARN, or `inline:<name>`). */
  detail?: string;
}

/** What reconciling one role (or one AWS principal) found. */
export interface RoleReconciliation {
  drift: DriftFinding[];
  /** What to tell people, one per finding (the workflow hands each to the notifier). */
  alerts?: DriftAlert[];
  /** Why the role was not checked (its kind of target has nothing standing to list). */
  skipped?: string;
}

/** One lease whose workflow had ended without releasing it, as reconciliation left it. */
export interface OrphanedLease {
  elevationId: string;
  /** The workflow's status (`TERMINATED`, `FAILED`, `TIMED_OUT`...), or `NOT_FOUND`. */
  workflowStatus: string;
  /**
   * Present once the lease is released: true when the grant was removed (read back), false
   * when other elevations still hold the membership, so it was kept for them.
   */
  removed?: boolean;
  /**
   * What went wrong: the release (no `removed`: the lease stays held and the next run tries
   * again), or only the `elevation.revoked` record after it.
   */
  error?: string;
}

/** What reconciliation's search for leases whose workflow is no longer running did. */
export interface OrphanedLeaseSweep {
  /** Held leases looked at. */
  checked: number;
  /** Orphaned leases released in this run. */
  released: number;
  /** Orphaned leases whose release failed (still held: the next run tries again). */
  failed: number;
  /** The orphaned leases found, the first 100 (the log and the audit trail have every one). */
  orphaned: OrphanedLease[];
  /** Why the search itself failed (the next run tries again). */
  error?: string;
}

/** What one reconciliation run found, role by role and AWS principal by principal. */
export interface ReconcileResult {
  roles: (RoleReconciliation & { roleId: string; error?: string })[];
  aws?: (RoleReconciliation & { principal: string; error?: string })[];
  /** Leases released because their workflow had ended (absent in runs started by older code). */
  orphanedLeases?: OrphanedLeaseSweep;
  /** Target identities used by more than one bot (absent in runs started by older code). */
  sharedIdentities?: SharedIdentitySweep;
}
