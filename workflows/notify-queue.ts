/**
 * What people are told about one elevation (Slack messages or, without Slack, log lines), in
 * order: the approval request is announced first, and every later step updates that message
 * (and its thread). Never on the critical path: nothing waits for it but the workflow's own end,
 * and a message that cannot be delivered is logged and given up, never fatal. Only elevations
 * that ask humans are announced; an auto-approved one tells nobody.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type {
  ElevationInput,
  ElevationView,
  RoleSnapshot,
  SlackMessageRef,
} from '../core/model/elevation.js';
import type { EventType } from '../core/model/events.js';
import { errorSummary } from './error-summary.js';

/**
 * An attempt makes several Slack calls (the approval message, its thread, the owner), each tried
 * once with its own request timeout, so an attempt may take a while. A rate limit or an outage
 * fails the attempt and Temporal retries it, after the `Retry-After` Slack gave
 * (`activities/slack-failures.ts`); a message is retried for an hour before it is given up
 * (and logged).
 */
const { publishElevationEvent } = proxyActivities<Activities>({
  startToCloseTimeout: '150s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s' },
});

/** The messages about one elevation, sent in order. */
export class NotifyQueue {
  private published: Promise<void> = Promise.resolve();
  private refs: SlackMessageRef[];

  /**
   * `snapshot` gives a copy of the elevation's view as it is when a message is queued. A run
   * that continued as new passes on the messages the first run posted.
   */
  constructor(
    private readonly input: ElevationInput,
    private readonly snapshot: () => ElevationView,
    /** The role as it applies now (its approval rule may be the one the risk score routed to). */
    private readonly role: () => RoleSnapshot = () => input.role,
  ) {
    this.refs = input.carried?.messages ?? [];
  }

  /** Where the approval request was posted, for the next run if the workflow continues as new. */
  get messages(): SlackMessageRef[] {
    return this.refs;
  }

  private get asksHumans(): boolean {
    return this.role().approval.mode === 'approvers';
  }

  private details() {
    return { elevation: this.snapshot(), bot: this.input.bot, role: this.role() };
  }

  /** Posts the approval request; later messages update it. */
  announce(): void {
    const rule = this.role().approval;
    if (rule.mode !== 'approvers') return;
    const { announceApproval } = proxyActivities<Activities>({
      startToCloseTimeout: '150s',
      // Retried while anyone could still approve: an approval prompt is never dropped silently.
      scheduleToCloseTimeout: `${Math.max(rule.windowSeconds, 60)}s`,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s' },
    });
    const d = this.details();
    this.published = this.published
      .then(() => announceApproval(d))
      .then((refs) => {
        this.refs = refs;
      })
      .catch((err: unknown) => {
        log.error('Could not announce the approval request', {
          elevationId: this.input.elevationId,
          error: errorSummary(err),
        });
      });
  }

  /** Tells people about a step (`notifyOwner`: the bot's owner too, for the ends). */
  publish(type: EventType, notifyOwner = false): void {
    if (!this.asksHumans) return;
    const d = this.details();
    this.published = this.published
      .then(() => publishElevationEvent({ ...d, messages: this.refs, event: type, notifyOwner }))
      .catch((err: unknown) => {
        log.warn('Could not publish an elevation event to Slack', {
          elevationId: this.input.elevationId,
          event: type,
          error: errorSummary(err),
        });
      });
  }

  /** Resolves once everything queued so far was sent (or given up). */
  drained(): Promise<void> {
    return this.published;
  }
}
