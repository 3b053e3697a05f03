/**
 * Reconciliation's search for orphaned leases. An elevation's workflow releases its lease on
 * every path it takes itself; one that ends any other way (terminated or reset by an operator,
 * failed, timed out, or deleted) leaves the lease held, and a held lease keeps the grant in
 * place and makes drift detection call it explained. This finds such leases and releases them
 * through the grant ledger, as the workflow would have.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from 'pino';
import type { GrantLedger } from '../domain/grant-ledger.js';
import type { ElevationIndex } from '../store/elevation-index.js';
import type { HeldLease, GrantLeases } from '../store/grant-leases.js';
import type { TypedNewAuditEvent } from '../core/model/audit-record.js';
import type { EventType } from '../core/model/events.js';
import type { TargetMetrics } from '../core/ports/metrics.js';
import {
  FINAL_STATUSES,
  type Actor,
  type ElevationView,
  type RevokeReceipt,
} from '../core/model/elevation.js';
import { workflowIdFor } from '../core/model/elevation.js';
import { type OrphanedLease, type OrphanedLeaseSweep } from '../core/model/reconcile.js';

/**
 * What the search asks Temporal: which elevation workflows run, and how one workflow stands.
 * A `Client` from `@temporalio/client` is one.
 */
export interface ElevationWorkflows {
  workflow: {
    list(options: { query: string }): AsyncIterable<{ workflowId: string }>;
    getHandle(workflowId: string): { describe(): Promise<{ status: { name: string } }> };
  };
}

export interface OrphanedLeaseDeps {
  /** Appends to the audit trail; each event's data is checked against its type (compile time). */
  append<T extends EventType>(event: TypedNewAuditEvent<T>): Promise<unknown>;
  leases: Pick<GrantLeases, 'heldLeases'>;
  /** Where the elevation each lease belongs to is read. */
  elevations: Pick<ElevationIndex, 'getElevation'>;
  ledger: Pick<GrantLedger, 'release'>;
  temporal: ElevationWorkflows;
  logger: Logger;
  metrics?: Pick<TargetMetrics, 'revocations' | 'revokeFailures'> | undefined;
  /** Held leases read per page. */
  pageSize?: number;
}

/** The workflow statuses after which nothing will release the lease any more. */
const CLOSED_STATUSES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);
/** The status recorded for a workflow Temporal does not know (deleted, or past retention). */
const NOT_FOUND = 'NOT_FOUND';
/** Orphans listed in the result (the log and the audit trail have every one). */
const MAX_LISTED = 100;
const SYSTEM: Actor = { kind: 'system', id: 'elevate' };

function messageOf(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * The visibility query for the running elevation workflows of `taskQueue`. A task queue name
 * that would need quoting is left out of the query: the list is then wider, never wrong.
 */
export function runningElevationsQuery(taskQueue: string): string {
  const base = "WorkflowType = 'elevationWorkflow' AND ExecutionStatus = 'Running'";
  return /^[\w.:@/-]+$/.test(taskQueue) ? `${base} AND TaskQueue = '${taskQueue}'` : base;
}

/**
 * Release every held lease whose elevation workflow is not running.
 *
 * The running elevation workflows of `taskQueue` are listed once through Temporal's visibility
 * (cheap, but it may lag); each held lease whose workflow is not in that list is then checked
 * with `describe()`, which is authoritative: a workflow that continued as new, or was reset,
 * runs under the same id and is left alone. For each lease whose workflow is closed or unknown
 * to Temporal: `lease.orphaned` is recorded, the lease is released through the ledger (the
 * membership is removed and read back unless another elevation still holds it), and
 * `elevation.revoked` is recorded with end reason `orphaned` and the receipt. A lease that
 * fails stays held and does not stop the others; the next run tries it again.
 */
export async function releaseOrphanedLeases(
  deps: OrphanedLeaseDeps,
  taskQueue: string,
): Promise<OrphanedLeaseSweep> {
  const { leases, temporal, logger } = deps;
  const running = await runningWorkflows(temporal, taskQueue, logger);
  const sweep: OrphanedLeaseSweep = { checked: 0, released: 0, failed: 0, orphaned: [] };
  const pageSize = deps.pageSize ?? 500;
  let after: string | undefined;
  for (;;) {
    const page = await leases.heldLeases({ ...(after !== undefined ? { after } : {}), limit: pageSize });
    for (const lease of page) {
      sweep.checked += 1;
      const workflowId = workflowIdFor(lease.elevationId);
      if (running.has(workflowId)) continue;
      const status = await statusOf(temporal, workflowId, logger);
      if (status === undefined || !(CLOSED_STATUSES.has(status) || status === NOT_FOUND)) continue;
      const outcome = await releaseOne(deps, lease, workflowId, status);
      if (outcome.removed === undefined) sweep.failed += 1;
      else sweep.released += 1;
      if (sweep.orphaned.length < MAX_LISTED) sweep.orphaned.push(outcome);
    }
    if (page.length < pageSize) break;
    after = page.at(-1)!.elevationId;
  }
  return sweep;
}

/**
 * The ids of the running elevation workflows, as far as visibility lists them. Visibility only
 * saves `describe()` calls: if it cannot answer (a server without advanced visibility), every
 * held lease is described instead.
 */
async function runningWorkflows(
  temporal: ElevationWorkflows,
  taskQueue: string,
  logger: Logger,
): Promise<Set<string>> {
  const running = new Set<string>();
  try {
    for await (const execution of temporal.workflow.list({ query: runningElevationsQuery(taskQueue) })) {
      running.add(execution.workflowId);
    }
  } catch (err) {
    logger.warn(
      { err: messageOf(err) },
      'could not list the running elevation workflows; describing the workflow of every held lease',
    );
  }
  return running;
}

/**
 * The workflow's status by `describe()`: `NOT_FOUND` when Temporal does not know it, and
 * undefined when Temporal could not say (the lease is left for the next run).
 */
async function statusOf(
  temporal: ElevationWorkflows,
  workflowId: string,
  logger: Logger,
): Promise<string | undefined> {
  try {
    return (await temporal.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return NOT_FOUND;
    logger.warn(
      { workflowId, err: messageOf(err) },
      'could not describe a workflow; the next run checks its lease',
    );
    return undefined;
  }
}

/** Record, release and record again one orphaned lease; never throws. */
async function releaseOne(
  deps: OrphanedLeaseDeps,
  lease: HeldLease,
  workflowId: string,
  workflowStatus: string,
): Promise<OrphanedLease> {
  const { elevationId, target, principal } = lease;
  const data = { workflowId, workflowStatus, target, principal, acquiredAt: lease.acquiredAt };
  const log = deps.logger.child({ elevationId, workflowId, workflowStatus });
  let receipt: RevokeReceipt;
  try {
    log.error(
      { target, principal, acquiredAt: lease.acquiredAt },
      'orphaned lease: the elevation workflow ended without revoking; releasing its grant',
    );
    // One event per elevation, however many runs it takes: the id makes the append idempotent.
    await deps.append({
      id: `${elevationId}:lease.orphaned`,
      elevationId,
      type: 'lease.orphaned',
      at: new Date().toISOString(),
      actor: SYSTEM,
      data,
    });
    receipt = await deps.ledger.release({ elevationId, target, principal });
  } catch (err) {
    deps.metrics?.revokeFailures.inc({ target_type: target.type });
    const error = messageOf(err);
    log.error(
      { err: error },
      'could not release an orphaned lease; it stays held and the next run tries again',
    );
    return { elevationId, workflowStatus, error };
  }
  deps.metrics?.revocations.inc({ target_type: target.type, outcome: receipt.removed ? 'removed' : 'kept' });
  try {
    const endedAt = new Date().toISOString();
    const before = await deps.elevations.getElevation(elevationId);
    await deps.append({
      id: `${elevationId}:elevation.revoked:orphaned`,
      elevationId,
      type: 'elevation.revoked',
      at: endedAt,
      actor: SYSTEM,
      data: { reason: 'orphaned', workflowId, workflowStatus, receipt },
      ...(before ? { elevation: revokedView(before, endedAt) } : {}),
    });
  } catch (err) {
    // The grant is gone (or kept for its other holders) and the lease released: only the record
    // of it is missing, and no later run will see this lease again to write it.
    const error = messageOf(err);
    log.error(
      { err: error, receipt },
      'released an orphaned lease but could not record elevation.revoked; the receipt is in this line',
    );
    return { elevationId, workflowStatus, removed: receipt.removed, error };
  }
  log.warn({ removed: receipt.removed, stillHeldBy: receipt.stillHeldBy }, 'orphaned lease released');
  return { elevationId, workflowStatus, removed: receipt.removed };
}

/** The elevation as it stands once reconciliation has revoked it (a final status stays as it is). */
function revokedView(view: ElevationView, endedAt: string): ElevationView {
  if (FINAL_STATUSES.includes(view.status)) return view;
  return { ...view, status: 'revoked', endReason: 'orphaned', endedAt };
}
