/**
 * Reconciliation: compares each role's members in its target with the leases of running
 * elevations, and records (or removes) the members no elevation explains. Started by the
 * Temporal Schedule `elevate-reconcile` every few minutes; one activity per role does the work,
 * so this workflow is only the fan-out and the summary.
 */
import { ActivityFailure, ApplicationFailure, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type {
  DriftAlert,
  OrphanedLeaseSweep,
  ReconcileIdentity,
  ReconcileInput,
  ReconcileResult,
  SharedIdentitySweep,
} from '../core/model/reconcile.js';

/**
 * A few quick tries per role: the schedule runs again soon, so a target that is down is left
 * for the next run rather than waited for.
 */
const { reconcileRole, reconcileAwsPrincipal, releaseOrphanedLeases, findSharedIdentities } =
  proxyActivities<Activities>({
    startToCloseTimeout: '5m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
  });

/**
 * Alerts are their own activity, so a Slack failure retries the message alone (with the same
 * finding, so it is posted once) and never re-runs or loses the reconciliation that found it.
 * Bounded: drift is in the audit trail and the log whatever happens to an alert.
 */
const { alertDrift } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

function messageOf(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}

/** Hand each finding to the notifier; a failed alert is logged, never fatal to the run. */
async function alertAll(alerts: DriftAlert[] | undefined): Promise<void> {
  await Promise.all(
    (alerts ?? []).map(async (alert) => {
      try {
        await alertDrift(alert);
      } catch (err) {
        log.error('Could not deliver a drift alert (it is in the audit trail and the log)', {
          roleId: alert.roleId,
          principal: alert.principal,
          error: messageOf(err),
        });
      }
    }),
  );
}

/**
 * Release the leases whose elevation workflow has ended without releasing them. A failure is
 * logged and reported, never fatal to the run: the next run searches again.
 */
async function sweepOrphanedLeases(): Promise<OrphanedLeaseSweep> {
  try {
    return await releaseOrphanedLeases();
  } catch (err) {
    const error = messageOf(err);
    log.error('Could not search for orphaned leases; the next run tries again', { error });
    return { checked: 0, released: 0, failed: 0, orphaned: [], error };
  }
}

/**
 * Look for target identities used by more than one bot. A failure is logged and reported, never
 * fatal to the run: the next run searches again.
 */
async function sweepSharedIdentities(identities: ReconcileIdentity[]): Promise<SharedIdentitySweep> {
  try {
    return await findSharedIdentities(identities);
  } catch (err) {
    const error = messageOf(err);
    log.error('Could not search for identities shared by bots; the next run tries again', { error });
    return { checked: 0, shared: [], error };
  }
}

/**
 * One reconciliation run over the given roles and AWS principals, over the held leases whose
 * workflow has ended, and over the identities the bots use. One that fails does not stop the
 * others.
 */
export async function reconcileWorkflow(input: ReconcileInput): Promise<ReconcileResult> {
  // Runs started by code without the search replay without it.
  const orphans = patched('orphaned-leases') ? sweepOrphanedLeases() : undefined;
  const shared = patched('shared-identities') ? sweepSharedIdentities(input.identities ?? []) : undefined;
  const roles = Promise.all(
    input.roles.map(async (role) => {
      try {
        const result = await reconcileRole(role);
        await alertAll(result.alerts);
        return { roleId: role.id, ...result };
      } catch (err) {
        const error = messageOf(err);
        log.error('Could not reconcile a role; the next run tries again', { roleId: role.id, error });
        return { roleId: role.id, drift: [], error };
      }
    }),
  );
  const aws = Promise.all(
    (input.aws ?? []).map(async (unit) => {
      try {
        const result = await reconcileAwsPrincipal(unit);
        await alertAll(result.alerts);
        return { principal: unit.principal, ...result };
      } catch (err) {
        const error = messageOf(err);
        log.error("Could not reconcile a bot's AWS principal; the next run tries again", {
          principal: unit.principal,
          error,
        });
        return { principal: unit.principal, drift: [], error };
      }
    }),
  );
  const result: ReconcileResult = input.aws ? { roles: await roles, aws: await aws } : { roles: await roles };
  const withOrphans = orphans ? { ...result, orphanedLeases: await orphans } : result;
  return shared ? { ...withOrphans, sharedIdentities: await shared } : withOrphans;
}
