/**
 * The names the elevation workflow and its callers agree on, and nothing else: the task queue,
 * the Updates and the Query, the sinks, and the schedule's id. The model they
 * carry is in `core/model/`. Pure: it imports `@temporalio/workflow`'s definition helpers and
 * the core's types, so both the workflow sandbox and Node processes can load it.
 */
import { defineQuery, defineUpdate, type Sinks } from '@temporalio/workflow';
import type {
  ApproveInput,
  DecisionRefusalRecord,
  DenyInput,
  RevokeInput,
  SignedDecision,
} from '../core/model/decisions.js';
import type { ElevationView } from '../core/model/elevation.js';

/** Default task queue for elevation workflows and their activities. */
export const DEFAULT_TASK_QUEUE = 'elevate';

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

/** `ApplicationFailure.type` of an update the workflow refused; `details[0]` is the `RefusalCode` (`core/model/decisions.ts`). */
export const REFUSAL_FAILURE_TYPE = 'UpdateRefused';

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
/**
 * Extend an active elevation's window (a bot's or an admin's {@link SignedDecision} carrying an
 * `ExtendInput`). Refused synchronously when not active, over the role's caps, or unsigned;
 * answers with the view once the new end is in force.
 */
export const extendUpdate = defineUpdate<ElevationView, [SignedDecision]>('extend');
/** Current state of the elevation. */
export const statusQuery = defineQuery<ElevationView>('status');

/** Id of the Temporal Schedule that runs reconciliation (`core/model/reconcile.ts`). */
export const RECONCILE_SCHEDULE_ID = 'elevate-reconcile';
