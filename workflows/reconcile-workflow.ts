/**
 * Reconciliation: compares each role's members in its target with the leases of running
 * elevations, and records (or removes) the members no elevation explains. Started by the
 * Temporal Schedule `elevate-reconcile` every few minutes; one activity per role does the work,
 * so this workflow is only the fan-out and the summary.
 */
import { ActivityFailure, ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ReconcileInput, ReconcileResult } from './definitions.js';

/**
 * A few quick tries per role: the schedule runs again soon, so a target that is down is left
 * for the next run rather than waited for.
 */
const { reconcileRole } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

function messageOf(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}

/** One reconciliation run over the given roles. A role that fails does not stop the others. */
export async function reconcileWorkflow(input: ReconcileInput): Promise<ReconcileResult> {
  const roles = await Promise.all(
    input.roles.map(async (role) => {
      try {
        return { roleId: role.id, ...(await reconcileRole(role)) };
      } catch (err) {
        const error = messageOf(err);
        log.error('Could not reconcile a role; the next run tries again', { roleId: role.id, error });
        return { roleId: role.id, drift: [], error };
      }
    }),
  );
  return { roles };
}
