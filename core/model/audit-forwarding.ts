/**
 * The audit forwarder: a singleton workflow that follows the audit chain and has the worker
 * deliver it, page by page, to the webhook (`workflows/audit-forwarder-workflow.ts`, the
 * `deliverPage` activity in `activities/audit-forwarding.ts`). What the two sides exchange.
 * Part of the pure core.
 */

/** The forwarder's fixed workflow id: one forwarder per namespace, whoever starts it. */
export const AUDIT_FORWARDER_WORKFLOW_ID = 'elevate-audit-forwarder';

/** Skipped events remembered in the forwarder's state, newest last. */
export const SKIPPED_EVENTS_KEPT = 20;

/** One event the receiver refused for good and that was skipped (`ELEVATE_WEBHOOK_ON_REJECT=skip`). */
export interface SkippedEvent {
  position: number;
  eventId: string;
  elevationId: string | null;
  status: number;
  /** When it was skipped (ISO-8601). */
  at: string;
}

/**
 * Where delivery stands: the forwarder's workflow state, carried across continue-as-new, and
 * what its `status` Query answers.
 */
export interface AuditForwarderState {
  /** Every event up to this chain position is delivered or skipped (0: none yet). */
  position: number;
  /**
   * Hash of the event at `position`: a store restored from a backup, or rewritten, no longer
   * has it, and the trail is then delivered again from its start.
   */
  hash: string | null;
  /** Events skipped since the forwarder first started. */
  skipped: number;
  /** The last ones skipped, oldest first (at most {@link SKIPPED_EVENTS_KEPT}). */
  lastSkipped: SkippedEvent[];
}

/** The state of a forwarder that has delivered nothing yet. */
export const INITIAL_FORWARDER_STATE: AuditForwarderState = {
  position: 0,
  hash: null,
  skipped: 0,
  lastSkipped: [],
};

/** Pacing of the forwarder; the defaults suit production, tests shorten them. */
export interface AuditForwarderOptions {
  /**
   * Events per page, and so how far other elevations get ahead of one whose event keeps
   * failing (the page is finished only when every event in it is settled). Default 200.
   */
  pageSize?: number;
  /** How long one `deliverPage` waits for a new event before it returns an empty page. Default 60 s. */
  waitMs?: number;
  /**
   * Silence after which Temporal gives up on an attempt and retries it elsewhere (a worker
   * that crashed). Default 30 s.
   */
  heartbeatTimeoutMs?: number;
  /** First pause between two attempts of a failing page, doubling up to `maxRetryIntervalMs`. Default 1 s. */
  initialRetryIntervalMs?: number;
  /** Longest pause between two attempts. Default 60 s. */
  maxRetryIntervalMs?: number;
}

/** The forwarder workflow's argument (also what it continues as new with). */
export interface AuditForwarderInput {
  /** Where to resume; absent on the first start. */
  state?: AuditForwarderState;
  options?: AuditForwarderOptions;
}

/** One call of `deliverPage`: the next page after the cursor. */
export interface DeliverPageInput {
  /** Every event up to here is settled. */
  position: number;
  /** Hash of the event at `position` (null at 0). */
  hash: string | null;
  /** Most events in the page. */
  limit: number;
  /** How long to wait for a first new event before returning an empty page. */
  waitMs: number;
}

/** What one page settled. Every event read was delivered or skipped. */
export interface DeliverPageResult {
  /** The new cursor: the last event of the page (unchanged when the page was empty). */
  position: number;
  hash: string | null;
  /** Events the receiver accepted in this page. */
  delivered: number;
  /** Events skipped in this page, in chain order. */
  skipped: SkippedEvent[];
  /**
   * The trail no longer held the event at the input's `position` (a restore or a rewrite):
   * the page was read from the start of the trail instead.
   */
  restarted: boolean;
}

/** The forwarder's state after one page. */
export function afterPage(state: AuditForwarderState, page: DeliverPageResult): AuditForwarderState {
  return {
    position: page.position,
    hash: page.hash,
    skipped: state.skipped + page.skipped.length,
    lastSkipped: [...state.lastSkipped, ...page.skipped].slice(-SKIPPED_EVENTS_KEPT),
  };
}
