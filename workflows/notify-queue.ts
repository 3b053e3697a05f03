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
import type { ApprovalNudgeStep } from '../core/ports/approval-nudger.js';
import type { ElevationNotice } from '../core/ports/notifier.js';

/** Whether two refs name the same Slack message. */
function sameRef(a: SlackMessageRef, b: SlackMessageRef): boolean {
  return a.channel === b.channel && a.ts === b.ts;
}

/**
 * An attempt makes several Slack calls (the approval message, its thread, the owner), each tried
 * once with its own request timeout, so an attempt may take a while. A rate limit or an outage
 * fails the attempt and Temporal retries it, after the `Retry-After` Slack gave
 * (`activities/slack-failures.ts`); a message is retried for an hour before it is given up
 * (and logged).
 */
const { publishElevationEvent, nudgeApprovers } = proxyActivities<Activities>({
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

  /**
   * Tells people about a step (`notifyOwner`: the bot's owner too, for the ends; `about`: what the
   * view does not say of it, such as who extended the elevation and why).
   */
  publish(
    type: EventType,
    notifyOwner = false,
    about: Pick<ElevationNotice, 'extension' | 'closedExtension'> = {},
  ): void {
    if (!this.asksHumans) return;
    const d = this.details();
    this.published = this.published
      .then(() => publishElevationEvent({ ...d, ...about, messages: this.refs, event: type, notifyOwner }))
      .catch((err: unknown) => {
        log.warn('Could not publish an elevation event to Slack', {
          elevationId: this.input.elevationId,
          event: type,
          error: errorSummary(err),
        });
      });
  }

  /**
   * Reminds the approvers who have not decided, or asks the escalation groups, and tells the
   * owner, after the messages queued before it; messages it posts (the escalation's direct
   * messages) are updated by the later steps like the first ones.
   */
  nudge(step: ApprovalNudgeStep): void {
    if (!this.asksHumans) return;
    const d = this.details();
    this.published = this.published
      .then(() => nudgeApprovers({ ...d, messages: this.refs, step }))
      .then((refs) => {
        this.refs = [...this.refs, ...refs.filter((r) => !this.refs.some((m) => sameRef(m, r)))];
      })
      .catch((err: unknown) => {
        log.warn('Could not remind the approvers or ask the escalation groups in Slack', {
          elevationId: this.input.elevationId,
          step: step.kind,
          error: errorSummary(err),
        });
      });
  }

  /** Resolves once everything queued so far was sent (or given up). */
  drained(): Promise<void> {
    return this.published;
  }
}
