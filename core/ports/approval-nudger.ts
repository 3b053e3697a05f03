/**
 * Reminders and escalation reach people through the notifier: what one such step describes.
 * The Slack notifier replies in the approval messages' threads (or direct messages), asks the
 * escalation groups, and tells the bot's owner; the log notifier logs it.
 */
import type { ApproverGroup, SlackMessageRef } from '../model/elevation.js';
import type { ElevationDetails } from './notifier.js';

/** A reminder, or the escalation, as the workflow hands it to the notifier. */
export type ApprovalNudgeStep =
  | { kind: 'reminder'; number: number; secondsLeft: number }
  | {
      kind: 'escalation';
      /** The groups that joined (as the start input carried them). */
      groups: ApproverGroup[];
    };

/** One reminder or escalation of an elevation waiting for approval. */
export interface ApprovalNudgeNotice extends ElevationDetails {
  /** The approval messages posted so far (to reply in their threads). */
  messages: SlackMessageRef[];
  step: ApprovalNudgeStep;
}
