/**
 * The activity the audit forwarder workflow calls, implemented by
 * `activities/audit-forwarding.ts` and declared here so the workflow depends on the core alone.
 */
import type { DeliverPageInput, DeliverPageResult } from '../model/audit-forwarding.js';

/** `ApplicationFailure.type` of a page that could not be delivered yet (retried by Temporal). */
export const WEBHOOK_DELIVERY_FAILED = 'WebhookDeliveryFailed';
/** `ApplicationFailure.type` when the worker that ran the page has no webhook configured (retried). */
export const WEBHOOK_NOT_CONFIGURED = 'WebhookNotConfigured';
/** `ApplicationFailure.type` when the worker that ran the page is stopping (retried elsewhere). */
export const WORKER_STOPPING = 'WorkerStopping';

export interface AuditForwardingActivities {
  /**
   * Read the next page of audit events after the cursor (waiting up to `waitMs` for one),
   * deliver it to the webhook (one lane per elevation, in order within each, lanes in
   * parallel) and return the new cursor. Progress within the page is heartbeated, so a retry
   * sends nothing already accepted; a failure is retryable, with `nextRetryDelay` from the
   * receiver's `Retry-After` when it sent one.
   */
  deliverPage(input: DeliverPageInput): Promise<DeliverPageResult>;
}
