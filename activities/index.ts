/**
 * Activities of the elevation workflow: all of its I/O. Built by a factory from their
 * dependencies, so tests run them against real servers and processes wire them once.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { ElevationIndex } from '../store/elevation-index.js';
import type { GrantLeases } from '../store/grant-leases.js';
import type { SingleUseRecords } from '../core/ports/single-use.js';
import type { OrderedAuditAppender } from '../core/model/audit-record.js';
import type { RequestVerifier } from '../domain/decision-signer.js';
import { type GrantLedger } from '../domain/grant-ledger.js';
import type { ExpiryRevoker } from '../domain/expiry-revoker.js';
import type { ServerClock } from '../domain/server-clock.js';
import { type GrantRequest, type ReleaseRequest } from '../core/ports/activities.js';
import type {
  GrantReceipt,
  RevokeReceipt,
  SlackMessageRef,
  DecisionTrust,
  ElevationInput,
} from '../core/model/elevation.js';
import type {
  DriftFinding,
  ReconcileRole,
  RoleReconciliation,
  DriftAlert,
  ReconcileAwsPrincipal,
  OrphanedLeaseSweep,
  ReconcileIdentity,
  SharedIdentitySweep,
  ReconcilePolicyView,
} from '../core/model/reconcile.js';
import type { EventDataOf } from '../core/model/event-data.js';
import type { RequestCheck } from '../core/model/decisions.js';
import { TargetError } from '../core/errors/target-errors.js';
import type { TargetMetrics } from '../core/ports/metrics.js';
import type { ElevationActivities } from '../core/ports/activities.js';
import type { ApprovalNotifier, ElevationDetails, ElevationNotice } from '../core/ports/notifier.js';
import type { ApprovalNudgeNotice } from '../core/ports/approval-nudger.js';
import type { WorkflowEvent } from '../core/model/events.js';
import { releaseOrphanedLeases, type ElevationWorkflows } from './orphaned-leases.js';
import { withSlackFailures } from './slack-failures.js';
import { sweepSharedIdentities, type ElevationOwner } from './shared-identities.js';
import { extendGrantActivity, grantVersionFrom } from './extend.js';
import { membershipKeys } from './membership-keys.js';

/** How long a request stays claimed by the workflow run that first checked it. */
const REQUEST_CLAIM_TTL_MS = 24 * 3600_000;

export interface ActivityDeps {
  /** The audit log (`store/audit-log.ts`): each event's data is checked against its type. */
  store: OrderedAuditAppender;
  /**
   * Checks the API's signature over each workflow's start input and holds the public keys
   * decisions are checked with (the worker's ELEVATE_DECISION_PUBLIC_KEYS).
   */
  requests: Pick<RequestVerifier, 'check' | 'trust'>;
  /**
   * Where a checked request is claimed by its workflow run, by elevation id (a copied start is
   * refused): the store's `request-run` single-use namespace.
   */
  requestRuns: Pick<SingleUseRecords<string>, 'put' | 'peek'>;
  ledger: Pick<
    GrantLedger,
    | 'acquire'
    | 'release'
    | 'stillRemoved'
    | 'members'
    | 'membershipKey'
    | 'explainedKeys'
    | 'unreconciledReason'
    | 'reconcile'
    | 'reconcilePrincipal'
    | 'extend'
  >;
  notifier: ApprovalNotifier;
  logger: Logger;
  /**
   * Where reconciliation pages through held leases and reads the elevations they belong to
   * (the audit store), for `releaseOrphanedLeases`, which refuses to run without it.
   */
  leases?: Pick<GrantLeases, 'heldLeases'>;
  /** Where `releaseOrphanedLeases` reads the elevation a held lease belongs to. */
  elevations?: Pick<ElevationIndex, 'getElevation'>;
  /** Temporal, asked which elevation workflows still run (`releaseOrphanedLeases` needs it too). */
  temporal?: ElevationWorkflows;
  /** Where grants, revocations, their lag, target errors and drift are counted (optional). */
  metrics?: TargetMetrics;
  /**
   * The worker's fast path at the end of windows (`domain/expiry-revoker.ts`). Without it, a
   * grant that asks for it is confirmed without `expiresAt` and its workflow revokes alone.
   */
  expiry?: Pick<ExpiryRevoker, 'schedule' | 'settled' | 'forget' | 'reschedule'>;
  /**
   * Where extended windows' ends are kept for every worker's expiry revoker, and the versions
   * extensions left versioned grants at for drift detection (`extend.ts`).
   */
  extendedWindows?: Pick<SingleUseRecords<string>, 'put' | 'replace' | 'peek'>;
  /**
   * The Temporal server's clock as this worker tells it (`domain/server-clock.ts`): windows the
   * expiry revoker times end on it, not on this host's clock. Without it, this host's clock.
   */
  serverClock?: Pick<ServerClock, 'observe' | 'toServer'>;
  /** The bots' principals and identities, for reconciliation runs whose input leaves them out. */
  reconcilePolicy?: ReconcilePolicyView;
}

export function createActivities({
  store,
  requests,
  requestRuns,
  elevations,
  ledger,
  notifier,
  logger,
  leases,
  temporal,
  metrics,
  expiry,
  extendedWindows,
  serverClock,
  reconcilePolicy,
}: ActivityDeps): ElevationActivities {
  /** Record a drift event (no elevation explains it, so it belongs to none). */
  const recordDrift = (
    type: 'drift.detected' | 'drift.reverted',
    at: string,
    data: EventDataOf<'drift.detected'>,
  ) =>
    store.append({
      id: randomUUID(),
      elevationId: null,
      type,
      at,
      actor: { kind: 'system', id: 'elevate' },
      data,
    });

  /** The bot and role of elevations the shared-identity search has read (they never change). */
  const elevationOwners = new Map<string, ElevationOwner>();

  /**
   * A receipt with its read-back time (this host's clock) on the server's, so that the audit
   * trail has one clock: the workflow's events and the window's end are on the server's.
   */
  const onServerClock = <R extends { verifiedAt: string }>(receipt: R): R => {
    const at = Date.parse(receipt.verifiedAt);
    const server = serverClock?.toServer(at) ?? at;
    return server === at ? receipt : { ...receipt, verifiedAt: new Date(server).toISOString() };
  };

  /** When the server scheduled this attempt (its clock); 0 outside an activity. */
  const scheduledAt = (): number => {
    try {
      return Context.current().info.currentAttemptScheduledTimestampMs;
    } catch {
      return 0;
    }
  };

  const attemptOf = (): number => {
    try {
      return Context.current().info.attempt;
    } catch {
      return 1; // called outside an activity (tests)
    }
  };

  /** Run `op`; log its failure (with the attempt number) at `level` and rethrow for Temporal to retry. */
  const logFailure = async <T>(
    req: GrantRequest,
    level: 'warn' | 'error',
    message: string,
    op: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      logger[level](
        {
          elevationId: req.elevationId,
          attempt: attemptOf(),
          err: (err as Error).message,
          type: (err as Error).name,
        },
        message,
      );
      throw err;
    }
  };

  /** Count a target's error by its class name (other errors are not the target's). */
  const countTargetError = (targetType: string, err: unknown): void => {
    if (err instanceof TargetError) metrics?.targetErrors.inc({ target_type: targetType, error: err.name });
  };

  /**
   * The revocation lag of an elevation revoked at the end of its window: from `expiresAt` (in
   * the event's view) to the target's confirmation (`verifiedAt` in the receipt).
   */
  const observeRevocationLag = (e: WorkflowEvent): void => {
    if (!metrics || e.type !== 'elevation.revoked' || e.data.reason !== 'expired') return;
    const receipt = e.data.receipt;
    const expiresAt = Date.parse(e.elevation?.expiresAt ?? '');
    const verifiedAt = Date.parse(receipt?.verifiedAt ?? '');
    if (!receipt?.target || Number.isNaN(expiresAt) || Number.isNaN(verifiedAt)) return;
    metrics.revocationLag.observe(
      { target_type: receipt.target.type },
      Math.max(verifiedAt - expiresAt, 0) / 1000,
    );
  };

  return {
    /**
     * Check that Elevate's API signed the workflow's start input, for this workflow, shortly
     * before Temporal started it, and that no other run claimed it; hand the workflow the
     * public keys its decisions must be signed with. A refusal is returned, not thrown: the
     * workflow records it and ends without granting anything.
     */
    async checkRequest(input: ElevationInput, startedAt: number): Promise<RequestCheck> {
      const execution = Context.current().info.workflowExecution ?? { workflowId: '', runId: '' };
      const check = await requests.check(input, {
        workflowId: execution.workflowId,
        runId: execution.runId,
        startedAt,
        async claim(elevationId, runId) {
          if (await requestRuns.put(elevationId, runId, new Date(Date.now() + REQUEST_CLAIM_TTL_MS)))
            return true;
          return (await requestRuns.peek(elevationId)) === runId;
        },
      });
      if (check.outcome !== 'verified') {
        logger.error(
          { elevationId: input.elevationId, workflowId: execution.workflowId, outcome: check.outcome },
          `refused a workflow not started by Elevate's API: ${check.message}`,
        );
      }
      return check;
    },

    /** The public keys decisions must be signed with, as this worker is configured now. */
    loadDecisionTrust(): Promise<DecisionTrust> {
      return Promise.resolve(requests.trust());
    },

    /**
     * Append events in order, all or none, in the transaction other activities' appends of the
     * moment share. Idempotent by event id, so a retried call stores nothing twice.
     */
    async recordEvents(elevationId: string, events: WorkflowEvent[]): Promise<void> {
      await store.appendAll(events.map((e) => ({ ...e, elevationId })));
      events.forEach(observeRevocationLag);
    },

    /**
     * Grant the role in its target (via the ledger), confirmed by reading it back. When the
     * workflow asks for it and this worker has an expiry revoker, the grant is put on it: the
     * window ends `durationSeconds` after the read-back, and the receipt says when.
     */
    async acquireGrant(req: GrantRequest): Promise<GrantReceipt> {
      const target_type = req.target.type;
      serverClock?.observe(scheduledAt());
      try {
        const receipt = onServerClock(
          await logFailure(req, 'warn', 'grant attempt failed', () => ledger.acquire(req)),
        );
        metrics?.grants.inc({ target_type, outcome: receipt.alreadyPresent ? 'already_present' : 'granted' });
        if (req.revokeAtExpiry && expiry && req.durationSeconds !== undefined) {
          // On the server's clock (the receipt's is), which the workflow's timer runs on.
          const expiresAt = Date.parse(receipt.verifiedAt) + req.durationSeconds * 1000;
          const { revokeAtExpiry: _asked, ...request } = req;
          expiry.schedule({ ...request, handle: receipt.handle }, expiresAt);
          return { ...receipt, expiresAt: new Date(expiresAt).toISOString() };
        }
        return receipt;
      } catch (err) {
        metrics?.grants.inc({ target_type, outcome: 'failed' });
        countTargetError(target_type, err);
        throw err;
      }
    },

    /**
     * Release the elevation's grant; removes the membership when no other elevation holds it,
     * through the handle the grant's receipt carried (a request without one, as workflows
     * recorded before handles send, is revoked through the handle the target derives from it).
     */
    async releaseGrant(req: ReleaseRequest): Promise<RevokeReceipt> {
      const target_type = req.target.type;
      try {
        // The expiry revoker may have removed it already: its receipt says when access ended.
        const settled = await expiry?.settled(req.elevationId);
        const fast = settled && onServerClock(settled);
        // Removed and released by the revoker: read back once more (a compare, no lock or
        // write), so the backstop does not repeat the whole removal at the busiest instant.
        if (fast?.removed && (await ledger.stillRemoved(req).catch(() => false))) {
          metrics?.revocations.inc({ target_type, outcome: 'removed' });
          expiry?.forget(req.elevationId);
          const recheckedAt = onServerClock({ verifiedAt: new Date().toISOString() }).verifiedAt;
          return { ...fast, removedBy: 'expiry-revoker', recheckedAt };
        }
        // Otherwise released through the ledger: idempotent, and it reads the target back, so
        // a removal the revoker missed or that was undone (found a member again) is done here.
        // An error line on every failed attempt: a revocation that does not go through is an incident.
        const receipt = onServerClock(
          await logFailure(
            req,
            'error',
            'revocation attempt failed; it will be retried until it succeeds',
            () => ledger.release(req),
          ),
        );
        metrics?.revocations.inc({ target_type, outcome: receipt.removed ? 'removed' : 'kept' });
        expiry?.forget(req.elevationId);
        if (fast?.removed) {
          return { ...fast, removedBy: 'expiry-revoker', recheckedAt: receipt.verifiedAt };
        }
        return expiry ? { ...receipt, removedBy: 'workflow' } : receipt;
      } catch (err) {
        metrics?.revokeFailures.inc({ target_type });
        countTargetError(target_type, err);
        throw err;
      }
    },

    /** Move an extended elevation's end for the expiry revokers (`extend.ts`). */
    extendGrant: extendGrantActivity({
      grants: ledger,
      ...(expiry ? { expiry } : {}),
      ...(extendedWindows ? { windows: extendedWindows } : {}),
      logger,
    }),

    /**
     * Compare who holds the role in its target with the leases of running elevations. A member
     * that no lease explains and the role does not list as standing is drift: recorded as
     * `drift.detected` (and logged as a warning), and with `action: revert` removed, read back
     * and recorded as `drift.reverted`. Which members held leases explain is asked of the lease
     * store for the whole list (a thousand keys a query); each of the others is decided under the
     * ledger's lock for its membership, so a grant in progress is never mistaken for drift.
     */
    async reconcileRole(role: ReconcileRole): Promise<RoleReconciliation> {
      const target = role.target;
      // A grant per elevation (AWS) is reconciled per bot principal (reconcileAwsPrincipal).
      const skipped = ledger.unreconciledReason(target);
      if (skipped) return { drift: [], skipped };
      const keysOf = membershipKeys((principal) => ledger.membershipKey(target, principal, ''));
      const standing = new Set(await keysOf(role.standing));
      const members = await ledger.members(target);
      const memberKeys = await keysOf(members);
      const listed = members
        .map((principal, i) => ({ principal, key: memberKeys[i]! }))
        .filter(({ key }) => !standing.has(key));
      // The lease store is asked about the whole list, not member by member; only the members no
      // held lease explains are decided one by one, each under its lock (`ledger.reconcile`).
      const explained = await ledger.explainedKeys(listed.map(({ key }) => key));
      // Only drift is recorded with whether it is a bot's: read when some is found.
      let bots: Set<string> | undefined;
      const drift: DriftFinding[] = [];
      const alerts: DriftAlert[] = [];
      for (const { principal, key } of listed) {
        if (explained.has(key)) continue;
        const at = new Date().toISOString();
        bots ??= new Set(await keysOf(role.principals ?? reconcilePolicy?.principalsOf(role.id) ?? []));
        const bot = bots.has(key);
        const data = { role: role.id, target, principal, action: role.action, bot };
        const outcome = await ledger.reconcile(target, principal, role.action, async () => {
          logger.warn(data, 'drift: a member of the role that no elevation explains');
          await recordDrift('drift.detected', at, data);
        });
        if (outcome !== 'alerted' && outcome !== 'reverted') continue;
        metrics?.driftFindings.inc({ target_type: target.type, outcome });
        if (outcome === 'reverted') {
          logger.warn(data, 'drift reverted: the member was removed');
          await recordDrift('drift.reverted', new Date().toISOString(), data);
        }
        drift.push({ principal, action: outcome });
        alerts.push({ roleId: role.id, target, principal, bot, outcome, at });
      }
      return { drift, alerts };
    },

    /**
     * Compare everything a bot principal holds in its target (for AWS, every policy attached to
     * its IAM role or user) with what Elevate explains: the grants of its live elevations, each
     * under its lease's lock as for memberships, and what its roles declare standing. The rest
     * is drift, recorded and (with `revert`) removed by the target's own reconciliation.
     */
    async reconcileAwsPrincipal(unit: ReconcileAwsPrincipal): Promise<RoleReconciliation> {
      return await ledger.reconcilePrincipal(unit, {
        ...(extendedWindows ? { grantVersion: grantVersionFrom(extendedWindows) } : {}),
        record: recordDrift,
        log: (level, data, message) => logger[level](data, message),
        count: (target_type, outcome) => metrics?.driftFindings.inc({ target_type, outcome }),
      });
    },

    /**
     * Release the held leases whose elevation workflow is no longer running (terminated or
     * reset by an operator, failed, gone): record `lease.orphaned`, release through the
     * ledger, record `elevation.revoked` with end reason `orphaned`. One lease that fails
     * stays held for the next run and does not stop the others.
     */
    async releaseOrphanedLeases(): Promise<OrphanedLeaseSweep> {
      if (!leases || !elevations || !temporal) {
        throw new Error('this worker was not given the lease store and the Temporal client');
      }
      return releaseOrphanedLeases(
        { append: (e) => store.append(e), leases, elevations, ledger, temporal, logger, metrics },
        Context.current().info.taskQueue,
      );
    },

    /**
     * Record every target identity used by more than one bot: held leases of different bots'
     * elevations on one identity, or one on an identity the policy (`identities`) gives another
     * bot (`shared-identities.ts`). Needs the lease store and the elevations, as above.
     */
    async findSharedIdentities(identities: ReconcileIdentity[]): Promise<SharedIdentitySweep> {
      if (!leases || !elevations) {
        throw new Error('this worker was not given the lease store and the elevations');
      }
      return sweepSharedIdentities(
        { append: (e) => store.append(e), leases, elevations, logger, metrics, remembered: elevationOwners },
        // A schedule's input leaves them out: they are this worker's policy's.
        identities.length > 0 ? identities : (reconcilePolicy?.identities() ?? []),
      );
    },

    /*
     * The notifications below make each Slack call once; a failed one fails the activity for
     * Temporal to retry (or not) under its policy (`slack-failures.ts`). What was already
     * posted is remembered by the notifier, so a retry posts nothing twice.
     */

    /** Tell people about one drift finding (Slack when configured; the log has it already). */
    async alertDrift(alert: DriftAlert): Promise<void> {
      await withSlackFailures(() => notifier.alertDrift?.(alert) ?? Promise.resolve());
    },

    /** Ask the approvers (a Slack message each, or a log line with the approval link). */
    announceApproval(details: ElevationDetails): Promise<SlackMessageRef[]> {
      return withSlackFailures(() => notifier.announce(details));
    },

    /** Bring the approval messages up to date with one step of the elevation. */
    publishElevationEvent(notice: ElevationNotice): Promise<void> {
      return withSlackFailures(() => notifier.publish(notice));
    },

    /** Remind the approvers, or ask the escalation groups, and tell the owner. */
    nudgeApprovers(notice: ApprovalNudgeNotice): Promise<SlackMessageRef[]> {
      return withSlackFailures(() => notifier.nudge?.(notice) ?? Promise.resolve([]));
    },
  };
}
