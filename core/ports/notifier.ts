/**
 * Where approvers and owners hear about elevations: the port the Slack and log notifiers
 * implement, and what a notification describes.
 */
import type { BotSnapshot, ElevationView, RoleSnapshot, SlackMessageRef } from '../model/elevation.js';
import type { EventType } from '../model/events.js';
import type { DriftAlert } from '../model/reconcile.js';

/** An elevation with the bot and role it was requested for: what a notification describes. */
export interface ElevationDetails {
  elevation: ElevationView;
  bot: BotSnapshot;
  role: RoleSnapshot;
}

/** One step of an elevation to tell people about. */
export interface ElevationNotice extends ElevationDetails {
  /** The approval messages {@link ApprovalNotifier.announce} posted (empty without Slack). */
  messages: SlackMessageRef[];
  event: EventType;
  /** Also tell the bot's owner (the request was decided, or the grant ended). */
  notifyOwner: boolean;
}

/** Where approvers and owners hear about elevations: Slack, or the log when Slack is not set up. */
export interface ApprovalNotifier {
  /** Ask the eligible approvers; returns the messages posted, to be updated later. */
  announce(details: ElevationDetails): Promise<SlackMessageRef[]>;
  /** Update the approval messages, reply in their threads, and tell the owner when asked. */
  publish(notice: ElevationNotice): Promise<void>;
  /**
   * Tell people about drift (the log has it already). Optional: without Slack there is no one
   * else to tell. Must not throw for a delivery problem that retrying cannot fix.
   */
  alertDrift?(alert: DriftAlert): Promise<void>;
}
