/**
 * The model of one elevation: who asked for what (the bot and role snapshots the workflow
 * starts with), its status and timing, its approvals and receipts, and the public view of it.
 * Part of the pure core: no I/O, imported by the workflow sandbox and by Node processes alike.
 */
import type { ApproverGroup } from './approver-group.js';
import type { ApprovalNudgeRule, EscalationView } from './approval-nudges.js';
import type { RiskDecision, RoleRiskRouting } from './risk.js';
import type { RequestSource } from './request-source.js';
import type { GrantHandle, TargetRef } from './targets.js';
import type { ExtendRule, PendingExtension } from './extend.js';
import type { BreakGlassRequest } from './break-glass.js';

export type { ApproverGroup } from './approver-group.js';
export type { AuthMethod, RequestSource, RunsFromMatch, WorkloadClaims } from './request-source.js';

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
  | 'withdrawn' // the bot withdrew a request still waiting for approval, or for its scheduled start
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

/** How a role is approved. */
export type ApprovalRule =
  | { mode: 'auto' }
  | ({
      mode: 'approvers';
      /** Every group's quorum must be met, each by different people. */
      groups: ApproverGroup[];
      /** How long a request waits for a decision before it expires. */
      windowSeconds: number;
      /** Whether the requesting bot's owner may approve it. */
      ownerMayApprove: boolean;
    } & ApprovalNudgeRule);

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
  /** How the risk score routes this role's requests (absent in runs started before scoring). */
  risk?: RoleRiskRouting;
  /** Whether and how far an active elevation may be extended (absent: never; `extend.ts`). */
  extend?: ExtendRule;
}

/** One role of a bundle as it was configured when the bot asked, with the bot's identity in its target. */
export interface BundleRoleSnapshot {
  role: RoleSnapshot;
  /** The bot's identity in this role's target (its LDAP DN, PostgreSQL login...). */
  principal: string;
}

/**
 * A role bundle (`bundles` in the policy): several roles granted together, all or nothing, and
 * revoked together. The request's `role` is then the bundle as one role (its id, the strictest
 * approval, the shortest maximum duration), which approval, scoring and quotas use as they are.
 */
export interface BundleSnapshot {
  id: string;
  /** The roles in the order they are granted (and the order the policy lists them). */
  roles: BundleRoleSnapshot[];
}

/** Where one role of a bundle stands: not tried yet, being granted, held, failed to grant, or revoked. */
export type BundleGrantStatus = 'pending' | 'granting' | 'granted' | 'failed' | 'revoked';

/** One role of a bundle in the elevation's view. */
export interface BundleGrantView {
  roleId: string;
  targetType: TargetRef['type'];
  status: BundleGrantStatus;
  /** When the target confirmed this role's grant by reading it back. */
  grantedAt?: string;
  /** When the target confirmed this role's revocation by reading it back. */
  revokedAt?: string;
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
  /** Where the request came from (absent in runs started before it was recorded). */
  source?: RequestSource;
  /** ISO-8601 instant the server accepted the request. */
  requestedAt: string;
  /**
   * A scheduled elevation: the ISO-8601 instant the grant is made (absent: as soon as approved).
   * Approval must come before it; the role is held for `durationSeconds` from the grant.
   */
  startsAt?: string;
  /**
   * A break-glass request (`break-glass.ts`): granted at once without approval, announced
   * loudly, reviewed by `reviewDeadline`. Absent for every other request.
   */
  breakGlass?: BreakGlassRequest;
  /** A bundle's request: its roles, granted all or nothing (absent for a single role). */
  bundle?: BundleSnapshot;
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
  /** The grant's handle, when its receipt carried one (the revocation in the next run takes it). */
  handle?: GrantHandle;
  /** A bundle's grant handles, one per role in order (null: none yet), for the next run's revocation. */
  bundleHandles?: (GrantHandle | null)[];
}

/** A message Elevate posted in Slack: its channel (or DM) and timestamp. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
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
  /**
   * What revokes and reads back the grant (see {@link GrantHandle}); the workflow keeps it.
   * Absent in receipts recorded before handles existed: the target derives it then.
   */
  handle?: GrantHandle;
  /**
   * When the window ends: `verifiedAt` plus the duration. Set when the worker put the grant on
   * its expiry revoker (`domain/expiry-revoker.ts`), which removes it at this instant; the
   * workflow then ends the window at the same instant and its own revocation verifies.
   */
  expiresAt?: string;
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
   * Who removed the grant: the worker's expiry revoker at the end of the window (`verifiedAt`
   * is then its read-back, and `recheckedAt` the workflow's own read-back afterwards), or the
   * workflow's revocation (absent in receipts recorded before the expiry revoker existed).
   */
  removedBy?: 'expiry-revoker' | 'workflow';
  /** When the workflow's revocation read the grant back gone after the expiry revoker removed it. */
  recheckedAt?: string;
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
  /**
   * Scheduled elevations only: when the grant is made. Until then the status is `approved` (or
   * `pending_approval`), with no `grantedAt`; the approval deadline is at the latest this instant.
   */
  startsAt?: string;
  approval:
    | { mode: 'auto' }
    | {
        mode: 'approvers';
        /** Distinct approvals needed in all (the sum of the groups' quorums). */
        quorum: number;
        deadline: string;
        /** Each group's quorum and how many approvals count towards it so far. */
        groups: { name: string; quorum: number; approved: number }[];
        /** The escalation, when the role has one (`approval-nudges.ts`). */
        escalation?: EscalationView;
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
  /** The request's risk score, its reasons and the route it took (absent before scoring ran). */
  risk?: RiskDecision;
  /** How many times the window was extended (absent until the first extension). */
  extensions?: number;
  /** Seconds the extensions added to the window, in all (absent until the first extension). */
  extendedSeconds?: number;
  /** An extension waiting for approvers (`roles[].extend.approval: same-as-request`). */
  pendingExtension?: PendingExtension;
  /** A bundle's elevation: the bundle and where each of its roles' grants stands (`roleId` is the bundle's id). */
  bundle?: { id: string; grants: BundleGrantView[] };
}
