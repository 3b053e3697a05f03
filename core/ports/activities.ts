/**
 * The activities the workflows call: the port `activities/index.ts` implements
 * (`createActivities`), declared here so that the workflows depend on the core alone.
 */
import type {
  DecisionTrust,
  ElevationInput,
  GrantReceipt,
  RevokeReceipt,
  SlackMessageRef,
} from '../model/elevation.js';
import type { RequestCheck } from '../model/decisions.js';
import type { ExtendGrantResult } from '../model/extend.js';
import type { WorkflowEvent } from '../model/events.js';
import type {
  DriftAlert,
  OrphanedLeaseSweep,
  ReconcileAwsPrincipal,
  ReconcileIdentity,
  ReconcileRole,
  RoleReconciliation,
  SharedIdentitySweep,
} from '../model/reconcile.js';
import type { GrantHandle, TargetRef } from '../model/targets.js';
import type { ElevationDetails, ElevationNotice, RiskAlert } from './notifier.js';
import type { ApprovalNudgeNotice } from './approval-nudger.js';
import type { RiskAssessment } from '../model/risk.js';
import type { DetectionRunResult } from '../model/anomaly.js';
import type { AttestationAnswer, AttestationInput, AttestationRequest } from '../model/attestation.js';
import type {
  BreakGlassActivation,
  BreakGlassAlert,
  BreakGlassContainment,
  BreakGlassReviewAnswer,
  BreakGlassReviewInput,
  BreakGlassReviewStatus,
} from '../model/break-glass.js';

/** What granting and revoking one elevation's access need. */
export interface GrantRequest {
  elevationId: string;
  target: TargetRef;
  principal: string;
  /** The window (targets with a built-in backstop end the grant this long after granting). */
  durationSeconds?: number;
  /**
   * Put the confirmed grant on the worker's expiry revoker, which removes it the instant the
   * window ends; the receipt then says when (`expiresAt`). Sent by workflows that end the window
   * at that instant (those started before the expiry revoker existed do not send it).
   */
  revokeAtExpiry?: boolean;
  /**
   * The role allows extensions: the worker's expiry revoker asks, when the window ends, whether
   * an extension made on another worker moved it (`domain/expiry-revoker.ts`).
   */
  extendable?: boolean;
}

/** What revoking one elevation's access needs: the request, and the grant's handle when known. */
export interface ReleaseRequest extends GrantRequest {
  /**
   * The handle the grant's receipt carried. Absent when there is none (histories recorded
   * before handles existed, a grant that never answered, a lease found orphaned): the target
   * then derives it from `target`, `principal` and `elevationId` (`Target.handleFor`).
   */
  handle?: GrantHandle;
}

/** What moving an active elevation's window needs (`extendGrant`): the grant, its old and new end. */
export interface ExtendGrantRequest extends ReleaseRequest {
  /** The window's end until now (ISO 8601). */
  previousExpiresAt: string;
  /** The window's new end (ISO 8601). */
  expiresAt: string;
}

/** Every activity of the elevation and reconcile workflows. */
/** The elevation's own activities (`activities/index.ts`), part of {@link Activities}. */
export interface ElevationActivities {
  /** Check the API's signature over the start input, and that no other run claimed it. */
  checkRequest(input: ElevationInput, startedAt: number): Promise<RequestCheck>;
  /** The decision keys the worker trusts now. */
  loadDecisionTrust(): Promise<DecisionTrust>;
  /** Append events to the audit chain (idempotent by event id). */
  recordEvents(elevationId: string, events: WorkflowEvent[]): Promise<void>;
  /** Grant through the ledger, read back. */
  acquireGrant(req: GrantRequest): Promise<GrantReceipt>;
  /** Revoke through the ledger, read back (kept when other elevations still hold it). */
  releaseGrant(req: ReleaseRequest): Promise<RevokeReceipt>;
  /**
   * Move an active grant's end: in its target when the grant carries one (an AWS policy's expiry),
   * then the expiry revokers' due time (`activities/extend.ts`).
   */
  extendGrant(req: ExtendGrantRequest): Promise<ExtendGrantResult>;
  /** Compare one role's holders with the live elevations; alert or revert the rest. */
  reconcileRole(role: ReconcileRole): Promise<RoleReconciliation>;
  /** The same for one bot's AWS role or user. */
  reconcileAwsPrincipal(unit: ReconcileAwsPrincipal): Promise<RoleReconciliation>;
  /** Release the leases whose workflow ended without releasing them. */
  releaseOrphanedLeases(): Promise<OrphanedLeaseSweep>;
  /** Record the target identities used by more than one bot (`identities`: the policy's). */
  findSharedIdentities(identities: ReconcileIdentity[]): Promise<SharedIdentitySweep>;
  /** Tell people about drift. */
  alertDrift(alert: DriftAlert): Promise<void>;
  /** Ask the eligible approvers; returns the messages posted. */
  announceApproval(details: ElevationDetails): Promise<SlackMessageRef[]>;
  /** Update the approval messages and tell the owner when asked. */
  publishElevationEvent(notice: ElevationNotice): Promise<void>;
  /** Remind the approvers, or ask the escalation groups, and tell the owner; the messages posted. */
  nudgeApprovers(notice: ApprovalNudgeNotice): Promise<SlackMessageRef[]>;
}

/** The risk score's activities (`activities/risk-scoring.ts`), part of {@link Activities}. */
export interface RiskActivities {
  /** Score a request against its bot's baseline, before it is routed (`activities/risk-scoring.ts`). */
  scoreRequest(input: ElevationInput): Promise<RiskAssessment>;
  /** Tell the owner and the security channel that the score denied a request. */
  alertRisk(alert: RiskAlert): Promise<void>;
  /** Lock the bot down after a critical request (new requests are refused), recorded as `bot.locked`. */
  lockDownBot(lockdown: RiskLockdown): Promise<void>;
}

/** Continuous detection's activity (`activities/anomaly-detection.ts`), part of {@link Activities}. */
export interface DetectionActivities {
  /**
   * Bring the baselines up to date with the audit log, then look across bots and requests for
   * anomalies (`core/model/anomaly.ts`); record, alert and count each new one once per
   * `detection.realertHours`.
   */
  detectAnomalies(): Promise<DetectionRunResult>;
}

/** Periodic owner attestation's activities (`activities/attestation.ts`), part of {@link Activities}. */
export interface AttestationActivities {
  /** Start an attestation workflow for each bot that is due (`core/rules/attestation.ts`). */
  startDueAttestations(): Promise<{ started: string[]; due: number }>;
  /** Note the open attestation in the bot's state and record `attestation.requested`. */
  openAttestation(input: AttestationInput): Promise<void>;
  /** Ask the owner (a Slack direct message, or a log line with the link). */
  askOwner(request: AttestationRequest): Promise<void>;
  /** Store the trimmed roles (lifting a suspension) and record `attestation.confirmed`. */
  confirmAttestation(
    input: AttestationInput,
    answer: AttestationAnswer & { trimmed: string[] },
  ): Promise<void>;
  /** Suspend the bot and record `attestation.expired`. */
  expireAttestation(input: AttestationInput): Promise<void>;
}

/** Break-glass's activities (`activities/break-glass.ts`), part of {@link Activities}. */
export interface BreakGlassActivities {
  /** Start the review workflow of a break-glass activation (idempotent: one per elevation). */
  startBreakGlassReview(activation: BreakGlassActivation): Promise<void>;
  /** Alert the security channel, the bot's owner and the reviewers (the log, without Slack). */
  alertBreakGlass(alert: BreakGlassAlert): Promise<void>;
  /** Where the review of a break-glass elevation stands (`open` when it cannot be read). */
  breakGlassReviewStatus(reviewId: string): Promise<BreakGlassReviewStatus>;
  /** Record a reviewer's answer as `breakglass.reviewed`. */
  recordBreakGlassReview(
    review: BreakGlassReviewInput,
    answer: BreakGlassReviewAnswer,
    late: boolean,
    lockedDown: boolean,
  ): Promise<void>;
  /** Lock the bot down for a missed or rejected review; records `bot.locked` (and `breakglass.review_missed`). */
  containBreakGlass(containment: BreakGlassContainment): Promise<void>;
}

/** Every activity the workflows call. */
export type Activities = ElevationActivities &
  RiskActivities &
  DetectionActivities &
  AttestationActivities &
  BreakGlassActivities;

/** A lockdown the risk score asked for. */
export interface RiskLockdown {
  botId: string;
  /** The request that scored critical. */
  elevationId: string;
  reason: string;
}
