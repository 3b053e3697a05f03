/**
 * Where approvers and owners hear about elevations: the port the Slack and log notifiers
 * implement, and what a notification describes.
 */
import type { BotSnapshot, ElevationView, RoleSnapshot, SlackMessageRef } from '../model/elevation.js';
import type { EventType } from '../model/events.js';
import type { DriftAlert } from '../model/reconcile.js';
import type { AnomalyFinding } from '../model/anomaly.js';
import type { AttestationRequest } from '../model/attestation.js';
import type { BreakGlassAlert } from '../model/break-glass.js';
import type { ApprovalNudgeNotice } from './approval-nudger.js';
import type { ClosedExtensionNote, ExtensionNote } from '../model/extend.js';

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
  /** `elevation.extended` only: who extended it, by how much and why (`extend.ts`). */
  extension?: ExtensionNote;
  /**
   * `extension.closed` only: the extension that waited for approvers and ended without moving
   * the window (the view no longer has it), how, by whom and why (`extension-approval.ts`).
   */
  closedExtension?: ClosedExtensionNote;
}

/** Where approvers and owners hear about elevations: Slack, or the log when Slack is not set up. */
export interface ApprovalNotifier {
  /** Ask the eligible approvers; returns the messages posted, to be updated later. */
  announce(details: ElevationDetails): Promise<SlackMessageRef[]>;
  /** Update the approval messages, reply in their threads, and tell the owner when asked. */
  publish(notice: ElevationNotice): Promise<void>;
  /**
   * Remind the approvers who have not decided, or ask the escalation groups, and tell the bot's
   * owner (`approval-nudger.ts`). Returns the messages it posted that later steps must update
   * (the escalation's direct messages). Optional: a notifier without it tells nobody.
   */
  nudge?(notice: ApprovalNudgeNotice): Promise<SlackMessageRef[]>;
  /**
   * Tell people about drift (the log has it already). Optional: without Slack there is no one
   * else to tell. Must not throw for a delivery problem that retrying cannot fix.
   */
  alertDrift?(alert: DriftAlert): Promise<void>;
  /**
   * Tell the bot's owner (a direct message) and the security channel that a request scored
   * critical and was denied (the log and the audit trail have it already). Optional, like
   * {@link alertDrift}; must not throw for a delivery problem that retrying cannot fix.
   */
  alertRisk?(alert: RiskAlert): Promise<void>;
  /**
   * Announce a break-glass activation loudly: the security channel, the bot's owner and each
   * reviewer (with the review link), once per activation and recipient. Optional: without it the
   * worker logs the alert. Must not throw for a delivery problem that retrying cannot fix.
   */
  alertBreakGlass?(alert: BreakGlassAlert): Promise<void>;
  /**
   * Tell the security channel about an anomaly continuous detection found (the audit trail has
   * it already; detection calls this once per anomaly and re-alert period, and again with the
   * same `eventId` only when the earlier call failed). Optional, like {@link alertDrift}; must not
   * throw for a delivery problem that retrying cannot fix.
   */
  alertAnomaly?(alert: AnomalyAlert): Promise<void>;
  /**
   * Ask a bot's owner to review its roles (a direct message with a Review button linking to the
   * MFA login; the log, without Slack). Optional: without it the worker logs the link itself.
   */
  askAttestation?(request: AttestationRequest): Promise<void>;
}

/** An anomaly found by continuous detection: what the alert shows. */
export interface AnomalyAlert {
  /** The `anomaly.detected` event that recorded it (the alert is posted once per event). */
  eventId: string;
  /** When it was found (ISO 8601). */
  at: string;
  finding: AnomalyFinding;
  /** The bot's owner and team, as the policy has them (absent for a bot no longer in it). */
  owner?: string;
  team?: string;
  /** The policy's `detection.alertChannel`, when set (else the approval channel). */
  channel?: string;
}

/** A request the risk score denied: what the alert shows. */
export interface RiskAlert extends ElevationDetails {
  /** The policy's `detection.alertChannel`, when set (else the approval channel). */
  channel?: string;
  /** Whether the bot was locked down as well. */
  lockedDown: boolean;
}
