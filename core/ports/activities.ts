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
import type { WorkflowEvent } from '../model/events.js';
import type {
  DriftAlert,
  OrphanedLeaseSweep,
  ReconcileAwsPrincipal,
  ReconcileRole,
  RoleReconciliation,
} from '../model/reconcile.js';
import type { GrantHandle, TargetRef } from '../model/targets.js';
import type { ElevationDetails, ElevationNotice } from './notifier.js';

/** What granting and revoking one elevation's access need. */
export interface GrantRequest {
  elevationId: string;
  target: TargetRef;
  principal: string;
  /** The window (targets with a built-in backstop end the grant this long after granting). */
  durationSeconds?: number;
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

/** Every activity of the elevation and reconcile workflows. */
export interface Activities {
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
  /** Compare one role's holders with the live elevations; alert or revert the rest. */
  reconcileRole(role: ReconcileRole): Promise<RoleReconciliation>;
  /** The same for one bot's AWS role or user. */
  reconcileAwsPrincipal(unit: ReconcileAwsPrincipal): Promise<RoleReconciliation>;
  /** Release the leases whose workflow ended without releasing them. */
  releaseOrphanedLeases(): Promise<OrphanedLeaseSweep>;
  /** Tell people about drift. */
  alertDrift(alert: DriftAlert): Promise<void>;
  /** Ask the eligible approvers; returns the messages posted. */
  announceApproval(details: ElevationDetails): Promise<SlackMessageRef[]>;
  /** Update the approval messages and tell the owner when asked. */
  publishElevationEvent(notice: ElevationNotice): Promise<void>;
}
