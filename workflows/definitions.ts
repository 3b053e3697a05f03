/**
 * The names and shapes that the elevation workflow, its activities, the HTTP server and the
 * tests must agree on. This module is pure: it imports nothing but `@temporalio/workflow`'s
 * definition helpers, so both the workflow sandbox and Node processes can load it.
 */
import { defineQuery, defineUpdate, type Sinks } from '@temporalio/workflow';

/** Default task queue for elevation workflows and their activities. */
export const DEFAULT_TASK_QUEUE = 'elevate';

/** Prefix of every elevation workflow id: `elevation-<elevationId>`. */
export const WORKFLOW_ID_PREFIX = 'elevation-';

/** Workflow id for an elevation id. */
export function workflowIdFor(elevationId: string): string {
  return `${WORKFLOW_ID_PREFIX}${elevationId}`;
}

/** Every status an elevation can be in. */
export const ELEVATION_STATUSES = [
  'pending_approval',
  'approved',
  'active',
  'revoking',
  'revoked',
  'denied',
  'expired',
  'failed',
] as const;
export type ElevationStatus = (typeof ELEVATION_STATUSES)[number];

/** Statuses after which nothing more happens to an elevation. */
export const FINAL_STATUSES: readonly ElevationStatus[] = ['revoked', 'denied', 'expired', 'failed'];

/** Why an elevation ended (or is ending). */
export type EndReason =
  | 'expired' // the granted window ran out
  | 'given_back' // the bot returned it early
  | 'admin_revoked' // an admin revoked it
  | 'withdrawn' // the bot withdrew a request that was still waiting for approval
  | 'denied' // an approver or admin said no
  | 'approval_timeout' // nobody decided within the approval window
  | 'grant_failed' // the target refused the grant
  | 'request_unverified' // the workflow was not started by Elevate's API (no valid request signature)
  // the workflow ended without revoking (terminated, reset, failed): reconciliation released its lease
  | 'orphaned';

/**
 * Who did something. Humans are identified by e-mail; bots and admins by their configured id;
 * `anonymous` is a caller whose credentials were missing or unknown.
 */
export interface Actor {
  kind: 'bot' | 'human' | 'admin' | 'system' | 'anonymous';
  id: string;
}

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
 * One group of people who may approve a role. A role can require several groups, each with its
 * own quorum, and all of them must be met (see {@link quorumProgress}).
 */
export interface ApproverGroup {
  /** Shown to approvers and recorded with each approval, e.g. `security`. */
  name: string;
  /** Distinct approvals this group must contribute. */
  quorum: number;
  /** E-mail addresses listed in the policy (compared case-insensitively). */
  members?: string[];
  /** DN of an LDAP group; its members, matched by their `mail`, may approve (looked up at approval time). */
  ldapGroupDn?: string;
}

/** How a role is approved. */
export type ApprovalRule =
  | { mode: 'auto' }
  | {
      mode: 'approvers';
      /** Every group's quorum must be met, each by different people. */
      groups: ApproverGroup[];
      /** How long a request waits for a decision before it expires. */
      windowSeconds: number;
      /** Whether the requesting bot's owner may approve it. */
      ownerMayApprove: boolean;
    };

/** The bot as it was configured when it asked (the workflow never re-reads config). */
export interface BotSnapshot {
  id: string;
  owner: string;
  team: string;
  purpose: string;
  environment: string;
  /** The bot's identity in the target, e.g. its LDAP DN. */
  principal: string;
}

/** The role as it was configured when the bot asked. */
export interface RoleSnapshot {
  id: string;
  description?: string;
  environment: string;
  target: TargetRef;
  maxDurationSeconds: number;
  approval: ApprovalRule;
}

/**
 * How the bot proved who it is when it asked with a workload identity token (a CI job's or a
 * Kubernetes service account's OIDC token): ties the elevation to the exact run.
 */
export interface BotIdentity {
  kind: 'workload_identity';
  issuer: string;
  subject: string;
  /** The token's `jti`, when it has one. */
  tokenId?: string;
  expiresAt: string;
  /** The run-identifying claims the policy records (run id, commit, workflow...). */
  claims: Record<string, unknown>;
}

/** Start input of an elevation workflow. */
export interface ElevationInput {
  elevationId: string;
  bot: BotSnapshot;
  role: RoleSnapshot;
  durationSeconds: number;
  justification: string;
  ticket?: string;
  requestId?: string;
  /** Present when the bot authenticated with a workload identity token instead of its key. */
  identity?: BotIdentity;
  /** ISO-8601 instant the server accepted the request. */
  requestedAt: string;
  timing: ElevationTiming;
  /**
   * The API's signature over this input (a compact JWS, see `domain/decision-signer.ts`): the
   * worker refuses to act on a workflow that someone else started through Temporal.
   */
  signature?: string;
  /** Present only when the workflow continued as new: the state it carries over. */
  carried?: CarriedState;
}

/** Operational timing, from settings (tests shorten it). */
export interface ElevationTiming {
  /** How long an approved elevation keeps trying to grant before it ends `failed`. */
  grantTimeoutSeconds: number;
  /** Longest pause between two revocation rounds while the target resists. */
  revokeRetryMaxSeconds: number;
}

/** State handed from one run to the next by continue-as-new (only while revoking). */
export interface CarriedState {
  view: ElevationView;
  revokeReason: EndReason;
  revokeStartedAt: string;
  revokeAttempts: number;
  /** Where the approval request was posted in Slack, so later steps update the same messages. */
  messages?: SlackMessageRef[];
  /** The decision keys the run trusted, so a revoke can still be verified in the next run. */
  trust?: DecisionTrust;
}

/** A message Elevate posted in Slack: its channel (or DM) and timestamp. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/**
 * What an approver submits. `groups` are the approver groups the server found this person in
 * (policy lists and LDAP groups, looked up at approval time); `evidence` is how they proved
 * who they are (the MFA login's issuer, subject, amr, acr, auth_time and ID-token hash).
 */
export interface ApproveInput {
  approver: { id: string; displayName?: string };
  groups: string[];
  evidence?: Record<string, unknown>;
  /** Who the approver is beyond their address; absent in approvals sent before it existed. */
  identity?: ApproverIdentity;
  comment?: string;
}

/**
 * Who an approver is beyond their e-mail address, so that one person counts once however many
 * addresses they hold: the directory entries that made them an approver, and their subject at
 * the identity provider. A second approval sharing an entry or the `(issuer, subject)` pair with
 * an earlier one is refused (`already_approved`). Optional everywhere: older histories lack it.
 */
export interface ApproverIdentity {
  /** Normalised DNs of the LDAP entries the approver was matched to (empty for policy lists). */
  entries: string[];
  /** The identity provider that vouched for the login (`iss`). */
  issuer?: string;
  /** The approver's subject at that provider (`sub`). */
  subject?: string;
}

/** A denial, by a human approver (with the approver groups they are in) or an admin. */
export interface DenyInput {
  by: Actor;
  reason: string;
  groups?: string[];
}

/** A request to end an elevation early: the bot gives it back, or an admin revokes it. */
export interface RevokeInput {
  by: Actor;
  reason?: string;
}

/** The three human decisions an elevation workflow accepts, each as an Update. */
export type DecisionKind = 'approve' | 'deny' | 'revoke';

/**
 * A decision as the API sends it: a compact JWS (Ed25519) whose payload carries the decision's
 * input (an {@link ApproveInput}, {@link DenyInput} or {@link RevokeInput}), the elevation id,
 * when it was made and a nonce (see `workflows/signed-decision.ts`). Nothing outside the token
 * is read.
 */
export interface SignedDecision {
  token: string;
}

/** A public key that may sign decisions: its RFC 7638 thumbprint and raw Ed25519 key (base64url). */
export interface TrustedDecisionKey {
  kid: string;
  x: string;
}

/** The decision keys an elevation trusts, as the worker's configuration gave them. */
export interface DecisionTrust {
  keys: TrustedDecisionKey[];
  /** When they were loaded (ISO 8601). */
  loadedAt: string;
}

/** What the worker found when it checked the signature over a workflow's start input. */
export interface RequestCheck {
  /** `verified`, or why the request is refused. */
  outcome: 'verified' | RequestRefusalCode;
  message: string;
  /** The key id the signature named, when there was one. */
  kid?: string;
  trust: DecisionTrust;
}

/** Why the worker refused to act on a workflow's start input. */
export type RequestRefusalCode =
  | 'unsigned' // no signature: not started by Elevate's API
  | 'bad_signature' // the signature does not verify, or covers a different input
  | 'unknown_key' // signed with a key the workers do not trust
  | 'wrong_workflow' // the input is for another workflow id
  | 'stale' // signed too long before the workflow started
  | 'replayed'; // the elevation already exists: a copy of an earlier request

/** Why a decision token was refused (recorded as `decision.refused`). */
export type DecisionRefusalCode =
  | 'unsigned' // no token
  | 'malformed' // not a compact JWS with the expected payload
  | 'bad_signature' // the signature does not verify
  | 'unknown_key' // signed with a key this elevation does not trust (yet)
  | 'wrong_elevation' // made for another elevation
  | 'wrong_decision' // a token for another kind of decision
  | 'stale' // too old, or dated in the future
  | 'replayed'; // its nonce was used before

/**
 * Workflow sinks: one-way calls from the workflow sandbox to its worker, used where the
 * workflow cannot run an activity (an update validator must not change anything) but a refused
 * attempt must still reach the audit trail.
 */
export interface ElevateSinks extends Sinks {
  audit: {
    /** A decision update refused by its validator because its signature did not hold. */
    decisionRefused(elevationId: string, refusal: DecisionRefusalRecord): void;
  };
}

/** What is recorded about a decision refused by the validator. */
export interface DecisionRefusalRecord {
  decision: DecisionKind;
  code: DecisionRefusalCode;
  message: string;
  /** The key id the token named, if any. */
  kid: string | null;
  /** Who the (unverified) update claimed to act for, when it said. */
  claimed: Actor | null;
  /** When the validator refused it (ISO 8601). */
  at: string;
}

/** One recorded approval. */
export interface ApprovalRecord {
  approver: string;
  at: string;
  /** Approver groups the person was found in when they approved. */
  groups: string[];
  evidence?: Record<string, unknown>;
  /** Who the approver is beyond their address (absent in approvals recorded before it existed). */
  identity?: ApproverIdentity;
}

/** What the grant in the target returned, confirmed by reading it back. */
export interface GrantReceipt {
  target: TargetRef;
  principal: string;
  /** True when the principal was already a member (another elevation holds the same grant). */
  alreadyPresent: boolean;
  /** Other elevations holding the same grant at the time. */
  sharedWith: string[];
  verifiedAt: string;
  /**
   * AWS credentials mode: the session issued (its name, as CloudTrail shows it, and when AWS
   * stops accepting it). The credentials themselves wait for the bot and are never recorded.
   */
  session?: { sessionName: string; expiration: string };
}

/** What the revocation returned, confirmed by reading it back. */
export interface RevokeReceipt {
  target: TargetRef;
  principal: string;
  /** False when other elevations still hold the grant, so the membership was kept for them. */
  removed: boolean;
  /** Elevations that still hold the grant (when `removed` is false). */
  stillHeldBy: string[];
  verifiedAt: string;
  /**
   * AWS credentials mode: what became of the session. Credentials not yet delivered are
   * destroyed; delivered ones still valid are cut off by a deny on the session (`denied`).
   */
  session?: { sessionName: string; expiration: string; delivered: boolean; denied: boolean };
}

/** The public picture of one elevation, returned by the status query and the API. */
export interface ElevationView {
  id: string;
  workflowId: string;
  status: ElevationStatus;
  botId: string;
  roleId: string;
  owner: string;
  environment: string;
  durationSeconds: number;
  justification: string;
  ticket?: string;
  requestId?: string;
  requestedAt: string;
  approval:
    | { mode: 'auto' }
    | {
        mode: 'approvers';
        /** Distinct approvals needed in all (the sum of the groups' quorums). */
        quorum: number;
        deadline: string;
        /** Each group's quorum and how many approvals count towards it so far. */
        groups: { name: string; quorum: number; approved: number }[];
      };
  approvals: ApprovalRecord[];
  grantedAt?: string;
  expiresAt?: string;
  endedAt?: string;
  endReason?: EndReason;
  /** Failed revocation rounds so far (non-zero only while the target resists). */
  revokeAttempts: number;
  /** Last error seen while granting or revoking, for operators. */
  lastError?: string;
}

/** `ApplicationFailure.type` of an update the workflow refused; `details[0]` is the {@link RefusalCode}. */
export const REFUSAL_FAILURE_TYPE = 'UpdateRefused';

/** Why the workflow refused an approve, deny or revoke update. */
export type RefusalCode =
  | 'not_pending' // the elevation is no longer waiting for a decision
  | 'already_ended' // the elevation has ended (denied, expired, failed, revoked)
  | 'approval_window_closed' // the approval window has passed
  | 'not_eligible' // the person is not an approver for this role
  | 'owner_may_not_approve' // the bot's owner may not approve its requests for this role
  | 'already_approved' // this approver has already approved (each counts once)
  | 'not_needed' // every group this approver belongs to already has its quorum
  | 'invalid_input' // the update's payload is malformed
  | 'unsigned_decision' // not signed by Elevate's API (details[1] is the DecisionRefusalCode)
  | 'unknown_decision_key'; // signed with a key the elevation does not trust yet: reload and retry

/**
 * Approve a pending elevation. Refused synchronously (never enters history) when invalid. The
 * argument is a {@link SignedDecision}; histories recorded before decisions were signed carry
 * a bare {@link ApproveInput}, which only replay still reads.
 */
export const approveUpdate = defineUpdate<ElevationView, [SignedDecision | ApproveInput]>('approve');
/** Deny a pending elevation (a {@link SignedDecision}, or a bare {@link DenyInput} in old histories). */
export const denyUpdate = defineUpdate<ElevationView, [SignedDecision | DenyInput]>('deny');
/**
 * End an elevation early (bot give-back or admin revoke). Idempotent once revoking. A
 * {@link SignedDecision}, or a bare {@link RevokeInput} in old histories.
 */
export const revokeUpdate = defineUpdate<ElevationView, [SignedDecision | RevokeInput]>('revoke');
/**
 * Load the worker's decision keys again (after a key rotation, or for an elevation started
 * before decisions were signed). Changes nothing else and needs no signature: the keys come
 * from the worker's configuration, never from the caller. At most once per 10 seconds.
 */
export const reloadDecisionKeysUpdate = defineUpdate<{ kids: string[] }, []>('reloadDecisionKeys');
/** Current state of the elevation. */
export const statusQuery = defineQuery<ElevationView>('status');

/** Every audit event type, in one place. */
export const EVENT_TYPES = [
  // recorded by the workflow
  'elevation.requested',
  'approval.accepted',
  'elevation.approved',
  'elevation.denied',
  'elevation.expired',
  'grant.failed',
  'grant.confirmed',
  'elevation.failed',
  'revoke.started',
  'revoke.failed',
  'elevation.revoked',
  // recorded by the server for attempts the workflow refused or never saw
  'approval.refused',
  'deny.refused',
  'revoke.refused',
  'request.refused',
  'auth.refused',
  // recorded by the server: how many refusals before authentication of one kind (type, reason,
  // route, source network, credential) a window saw beyond the first, which was recorded in full
  'refusals.summarized',
  // recorded by the worker: a decision update whose signature did not hold (sent around the
  // API, straight through Temporal), and a workflow started without the API's signature
  'decision.refused',
  'request.unverified',
  // recorded by reconciliation: a lease whose workflow ended without releasing it
  'lease.orphaned',
  // AWS credentials mode: the one delivery of a session's credentials to the bot, and refusals
  'credentials.delivered',
  'credentials.refused',
  // recorded by the server for an admin's export of the audit trail
  'audit.exported',
  // recorded by reconciliation (no elevation): a membership no elevation explains
  'drift.detected',
  'drift.reverted',
  // recorded by the server for an admin's change to a bot at runtime (no elevation)
  'bot.locked',
  'bot.unlocked',
  'bot.disabled',
  'bot.enabled',
  'bot.key_rotated',
  // recorded by the admin console: a sign-in, and what a signed-in admin did there
  'admin.signed_in',
  'admin.action',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Default pause between two reconciliation runs. */
export const DEFAULT_RECONCILE_INTERVAL_SECONDS = 60;

/** Id of the Temporal Schedule that runs {@link ReconcileInput reconciliation}. */
export const RECONCILE_SCHEDULE_ID = 'elevate-reconcile';

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
  /** Principals of the bots that may be granted the role (recorded with each drift). */
  principals: string[];
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

/** Start input of the reconciliation workflow. */
export interface ReconcileInput {
  roles: ReconcileRole[];
  /** The bots' AWS principals (absent in schedules made before AWS drift detection). */
  aws?: ReconcileAwsPrincipal[];
}

/** A holder of a role that no elevation explains, as reconciliation reports it to people. */
export interface DriftAlert {
  /** The role (for AWS: the bot's AWS attach-mode roles, comma-separated). */
  roleId: string;
  target: TargetRef;
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
}

/**
 * Error type names that cross the activity boundary (`ApplicationFailure.type`). Each is the
 * `name` of an error class thrown by an activity; the workflow decides by these names alone.
 */
export const ACTIVITY_ERROR_TYPES = {
  /** The target could not be reached (network, timeout, server down). Retryable. */
  unreachable: 'TargetUnreachableError',
  /** The group (or other target object) does not exist. Not retryable. */
  notFound: 'TargetNotFoundError',
  /** Elevate's own credentials may not do this. Not retryable for grants. */
  accessDenied: 'TargetAccessDeniedError',
  /** The target rejected the request as malformed (bad DN, schema violation). Not retryable. */
  invalid: 'TargetInvalidError',
  /** The change was made but reading it back did not show it. Retryable. */
  notVerified: 'TargetNotVerifiedError',
  /** The elevation's lease was already released; a late grant must not bring it back. */
  leaseReleased: 'LeaseReleasedError',
  /**
   * What Elevate was about to grant, or holds granted, was made or changed by someone else (an
   * AWS policy under Elevate's name with another document or version). Not retryable.
   */
  tampered: 'TargetTamperedError',
} as const;

/** Grant errors that retrying cannot fix. Revocation declares none: it is never abandoned. */
export const NON_RETRYABLE_GRANT_ERRORS: string[] = [
  ACTIVITY_ERROR_TYPES.notFound,
  ACTIVITY_ERROR_TYPES.accessDenied,
  ACTIVITY_ERROR_TYPES.invalid,
  ACTIVITY_ERROR_TYPES.leaseReleased,
  ACTIVITY_ERROR_TYPES.tampered,
];
