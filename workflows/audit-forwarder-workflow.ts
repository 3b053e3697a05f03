/**
 * The audit forwarder: follows the audit chain and has it delivered to the webhook, one page
 * at a time. A singleton (fixed workflow id, started by each worker with the id-conflict
 * policy `USE_EXISTING`), so one dispatcher delivers at a time; its cursor is workflow state,
 * so progress survives every restart of every worker; it runs for good, continuing as new
 * when Temporal suggests it.
 *
 * Each page is one `deliverPage` activity. Retries, backoff and `Retry-After` are the
 * activity's retry policy and the `nextRetryDelay` of its failures; progress within a page is
 * its heartbeat. A page is finished only when every event in it is delivered (or skipped), so
 * order within an elevation holds across pages without more state here.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  INITIAL_FORWARDER_STATE,
  afterPage,
  type AuditForwarderInput,
  type AuditForwarderState,
} from '../core/model/audit-forwarding.js';
import type { AuditForwardingActivities } from '../core/ports/audit-forwarding.js';

/** Where delivery stands: the cursor and the skipped events. */
export const auditForwarderStatusQuery = defineQuery<AuditForwarderState>('status');

/** Follows the audit trail and delivers it to the webhook; never returns (continues as new). */
export async function auditForwarderWorkflow(input: AuditForwarderInput = {}): Promise<never> {
  const options = input.options ?? {};
  const { deliverPage } = proxyActivities<AuditForwardingActivities>({
    // A page waits up to `waitMs` for events, then sends at most `pageSize` requests per lane,
    // each bounded by the webhook timeout: an hour is far beyond that. A worker that dies is
    // noticed by the heartbeat timeout instead.
    startToCloseTimeout: '1h',
    heartbeatTimeout: options.heartbeatTimeoutMs ?? 30_000,
    retry: {
      initialInterval: options.initialRetryIntervalMs ?? 1_000,
      backoffCoefficient: 2,
      maximumInterval: options.maxRetryIntervalMs ?? 60_000,
      // No maximumAttempts: unlimited, an event is never given up on. The receiver's refusals are
      // settled by the activity itself (held or skipped, ELEVATE_WEBHOOK_ON_REJECT).
    },
  });
  let state: AuditForwarderState = input.state ?? INITIAL_FORWARDER_STATE;
  setHandler(auditForwarderStatusQuery, () => state);

  for (;;) {
    const page = await deliverPage({
      position: state.position,
      hash: state.hash,
      limit: options.pageSize ?? 200,
      waitMs: options.waitMs ?? 60_000,
    });
    state = afterPage(state, page);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof auditForwarderWorkflow>({ state, ...(input.options ? { options } : {}) });
    }
  }
}
