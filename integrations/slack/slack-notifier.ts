/**
 * Approval requests in Slack: one message in the approval channel, or a direct message to
 * each eligible approver; then, at every step, the same messages updated in place, a line in
 * each message's thread, and a direct message to the bot's owner when the request is decided
 * and when the grant ends.
 *
 * Runs inside activities, which Temporal retries. What was already posted is remembered in the
 * store's single-use table (by elevation, recipient and step), so a retry after a partial
 * success posts nothing twice.
 *
 * Drift found by reconciliation is posted too, in the drift channel (or the approval channel),
 * at most once a day for a holder left in place: see {@link SlackNotifier.alertDrift}. A
 * request the risk score denied is posted in the security channel and sent to the bot's owner,
 * once per elevation: see {@link SlackNotifier.alertRisk}.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  AnomalyAlert,
  ApprovalNotifier,
  ElevationDetails,
  ElevationNotice,
  RiskAlert,
} from '../../core/ports/notifier.js';
import type { DriftAlert } from '../../core/model/reconcile.js';
import { z } from 'zod';
import type { SingleUseNamespaces, SingleUseRecords } from '../../core/ports/single-use.js';
import type { ApproverGroup, ElevationView, SlackMessageRef } from '../../core/model/elevation.js';
import { sameApprover } from '../../core/rules/approval-eligibility.js';
import {
  describeTarget,
  renderDriftAlert,
  renderEventReply,
  renderOwnerNotice,
  renderRequestMessage,
  type ApprovalRequestDetails,
} from './messages.js';
import { renderRiskAlert } from './risk-messages.js';
import { renderNudgeReply, renderOwnerNudge } from './nudge-messages.js';
import { OnCallUnavailableError, type OnCallDirectory } from '../../core/ports/oncall-directory.js';
import { onCallDirectory } from '../oncall/oncall-directory.js';
import {
  renderExtensionApprovalReply,
  renderExtensionClosedReply,
  renderExtensionReply,
  renderExtensionRequest,
} from './extend-messages.js';
import type { ApprovalNudgeNotice } from '../../core/ports/approval-nudger.js';
import { renderAnomalyAlert } from './anomaly-messages.js';
import { renderAttestationRequest } from './attestation-messages.js';
import { renderBreakGlassAlert } from './break-glass-messages.js';
import type { BreakGlassAlert } from '../../core/model/break-glass.js';
import type { AttestationRequest } from '../../core/model/attestation.js';
import { SlackApiError, type SlackClient, type SlackContent } from './slack-client.js';

/** Kept here too for callers that imported it from this module; it lives with the other renderings. */
export { describeTarget } from './messages.js';

/** Without a configured directory: rotations in the policy only. */
const ROTATIONS_ONLY = onCallDirectory();

/** How long "already posted" marks are kept: longer than any approval window and grant. */
const POSTED_TTL_MS = 9 * 24 * 3600_000;

/**
 * How long a holder left in place stays quiet in Slack after its alert, by default: a day.
 * Reconciliation finds it again at every run (every minute by default), and the audit trail and
 * the log record each of those; Slack only needs a reminder now and then.
 */
export const DEFAULT_DRIFT_REALERT_SECONDS = 24 * 3600;

export interface SlackNotifierDeps {
  slack: SlackClient;
  /** Where "already posted" marks are kept (single-use namespaces `slack-posted`, `slack-drift`). */
  singleUse: SingleUseNamespaces;
  /** The bot's recent elevations, shown with a request (the elevation index). */
  elevations: {
    listElevations(query: { botId: string; limit: number }): Promise<{ items: ElevationView[] }>;
  };
  /** Members' addresses of an LDAP approver group (direct-message mode only). */
  directory?: { memberEmails(groupDn: string): Promise<string[]> };
  /** Who is on call for on-call approver groups (default: policy rotations only). */
  oncall?: OnCallDirectory;
  /** Post approval requests here; unset: direct messages to each approver. */
  channel?: string;
  /** Post drift alerts here; unset: in {@link channel}; neither: drift is not posted (the log has it). */
  driftChannel?: string;
  /**
   * A holder left in place (`alerted`) is posted again after this many seconds at the earliest,
   * however often reconciliation finds it (default {@link DEFAULT_DRIFT_REALERT_SECONDS}).
   */
  driftRealertSeconds?: number;
  logger: Logger;
}

/** A message as Slack placed it, remembered so that a retried activity does not post again. */
const MessageRefSchema = z.object({ channel: z.string(), ts: z.string() });

export class SlackNotifier implements ApprovalNotifier {
  private readonly driftRealertMs: number;
  /** Messages posted, by what they were posted for (see {@link once}). */
  private readonly posted: SingleUseRecords<SlackMessageRef>;
  /** Drift alerts posted, by outcome and the hash of what was found. */
  private readonly driftPosted: SingleUseRecords<SlackMessageRef>;

  /** @throws RangeError when `driftRealertSeconds` is not a positive number */
  constructor(private readonly deps: SlackNotifierDeps) {
    const realert = deps.driftRealertSeconds ?? DEFAULT_DRIFT_REALERT_SECONDS;
    if (!Number.isFinite(realert) || realert <= 0) {
      throw new RangeError(`driftRealertSeconds must be a positive number of seconds, not ${realert}`);
    }
    this.driftRealertMs = realert * 1000;
    this.posted = deps.singleUse.namespace('slack-posted', MessageRefSchema);
    this.driftPosted = deps.singleUse.namespace('slack-drift', MessageRefSchema);
  }

  async announce(details: ElevationDetails): Promise<SlackMessageRef[]> {
    const content = renderRequestMessage(await this.requestDetails(details));
    const id = details.elevation.id;
    if (this.deps.channel) {
      return [
        await this.once(`announce:${id}:${this.deps.channel}`, () =>
          this.deps.slack.postMessage(this.deps.channel!, content),
        ),
      ];
    }
    const refs: SlackMessageRef[] = [];
    for (const email of await this.approverEmails(details)) {
      const userId = await this.deps.slack.userIdByEmail(email);
      if (!userId) {
        this.deps.logger.warn(
          { elevationId: id, approver: email },
          'approver has no Slack account with this e-mail address; not messaged',
        );
        continue;
      }
      refs.push(
        await this.once(`announce:${id}:${userId}`, () => this.deps.slack.postMessage(userId, content)),
      );
    }
    if (refs.length === 0) {
      this.deps.logger.error(
        { elevationId: id },
        'no approver could be reached in Slack; the request waits until its window closes',
      );
    }
    return refs;
  }

  async publish(notice: ElevationNotice): Promise<void> {
    const d = await this.requestDetails(notice);
    const content = renderRequestMessage(d);
    const id = notice.elevation.id;
    const { step, reply, line } = replyOf(notice, d);
    for (const ref of notice.messages) {
      await this.deps.slack.updateMessage(ref, content);
      await this.once(`reply:${id}:${ref.channel}:${ref.ts}:${step}`, () =>
        this.deps.slack.postMessage(ref.channel, reply, ref.ts),
      );
    }
    if (notice.notifyOwner) {
      const owner = await this.deps.slack.userIdByEmail(notice.bot.owner);
      if (!owner) {
        this.deps.logger.warn(
          { elevationId: id, owner: notice.bot.owner },
          'the bot owner has no Slack account with this e-mail address',
        );
        return;
      }
      await this.once(`owner:${id}:${step}`, () =>
        this.deps.slack.postMessage(owner, renderOwnerNotice(notice.event, d, line)),
      );
    }
  }

  /**
   * A reminder or the escalation (`core/ports/approval-nudger.ts`). A reminder replies in the
   * approval message's thread, mentioning the approvers who have not decided (in direct-message
   * mode: in each of their own messages' threads). The escalation asks the escalation groups'
   * members: mentioned in the channel message's thread, or sent the approval request as a direct
   * message, which later steps update like the first ones (returned). The bot's owner is told
   * either way. Once per elevation, step and recipient, like every other post.
   */
  async nudge(notice: ApprovalNudgeNotice): Promise<SlackMessageRef[]> {
    const d = await this.requestDetails(notice);
    const { step, elevation } = notice;
    const id = elevation.id;
    const stepKey = step.kind === 'reminder' ? `reminder-${step.number}` : 'escalation';
    const people = await this.slackUsers(id, await this.nudgeEmails(notice));
    const posted: SlackMessageRef[] = [];
    if (this.deps.channel) {
      const reply = renderNudgeReply(
        step,
        d,
        people.map((p) => p.userId),
      );
      for (const ref of notice.messages) {
        await this.once(`nudge:${id}:${stepKey}:${ref.channel}:${ref.ts}`, () =>
          this.deps.slack.postMessage(ref.channel, { text: reply, blocks: [] }, ref.ts),
        );
      }
    } else {
      const reply = renderNudgeReply(step, d, []);
      const request = step.kind === 'escalation' ? renderRequestMessage(d) : undefined;
      for (const { userId } of people) {
        const key = `announce:${id}:${userId}`;
        // A reminder goes to the thread of the person's own approval message; the escalation
        // sends the request first to those who have none.
        const ref = request
          ? await this.once(key, () => this.deps.slack.postMessage(userId, request))
          : await this.posted.peek(key);
        if (!ref) continue;
        if (!notice.messages.some((m) => m.channel === ref.channel && m.ts === ref.ts)) posted.push(ref);
        await this.once(`nudge:${id}:${stepKey}:${userId}`, () =>
          this.deps.slack.postMessage(ref.channel, { text: reply, blocks: [] }, ref.ts),
        );
      }
    }
    const owner = await this.deps.slack.userIdByEmail(notice.bot.owner);
    if (!owner) {
      this.deps.logger.warn(
        { elevationId: id, owner: notice.bot.owner, step: stepKey },
        'the bot owner has no Slack account with this e-mail address; not told of the reminder or escalation',
      );
    } else {
      await this.once(`owner-nudge:${id}:${stepKey}`, () =>
        this.deps.slack.postMessage(owner, renderOwnerNudge(step, d)),
      );
    }
    return posted;
  }

  /**
   * Who a reminder or the escalation is for: the approvers who have not decided (of the role's
   * groups, and of the escalation groups once escalated), or the escalation groups' members.
   */
  private async nudgeEmails(notice: ApprovalNudgeNotice): Promise<string[]> {
    const rule = notice.role.approval;
    if (rule.mode !== 'approvers') return [];
    const approval = notice.elevation.approval;
    const escalated = approval.mode === 'approvers' && approval.escalation?.escalatedAt !== undefined;
    const groups =
      notice.step.kind === 'escalation'
        ? notice.step.groups
        : [...rule.groups, ...(escalated ? (rule.escalation?.groups ?? []) : [])];
    const decided = notice.elevation.approvals.map((a) => a.approver);
    return (await this.groupEmails(groups, notice)).filter((e) => !decided.some((a) => sameApprover(a, e)));
  }

  /** The Slack users of `emails`; an address without one is logged and left out. */
  private async slackUsers(id: string, emails: string[]): Promise<{ email: string; userId: string }[]> {
    const found: { email: string; userId: string }[] = [];
    for (const email of emails) {
      const userId = await this.deps.slack.userIdByEmail(email);
      if (userId) found.push({ email, userId });
      else
        this.deps.logger.warn(
          { elevationId: id, approver: email },
          'approver has no Slack account with this e-mail address; not reminded',
        );
    }
    return found;
  }

  /**
   * Posts a drift finding in the drift channel (or, without one, the approval channel).
   *
   * A holder left in place (`alerted`) is found again at every reconciliation run; it is posted
   * once, then again only after `driftRealertSeconds`, per role, holder and detail. A removal
   * (`reverted`) is posted every time, since each is a new removal, but once per finding (role,
   * holder, detail and time found), so a retried activity does not post it twice.
   *
   * The "posted" mark is written only after Slack accepted the message. A failed post therefore
   * leaves no mark, and the retry posts it; the price is that a post Slack carried out but whose
   * answer was lost (or a mark the store could not write) is posted again, which is better than
   * an alert never shown. Reconciliation runs never overlap (the schedule skips overlapping
   * runs), so two posts of one finding do not race for the mark.
   *
   * @throws SlackApiError when Slack failed in a way a retry may fix (unreachable, rate-limited,
   *   `internal_error`); errors a retry cannot fix (`channel_not_found`, `not_in_channel`,
   *   `invalid_auth`, …) are logged and not thrown, and the next run that finds the holder tries
   *   again
   */
  async alertDrift(alert: DriftAlert): Promise<void> {
    const about = {
      roleId: alert.roleId,
      principal: alert.principal,
      outcome: alert.outcome,
      ...(alert.detail !== undefined ? { detail: alert.detail } : {}),
    };
    const channel = this.deps.driftChannel ?? this.deps.channel;
    if (!channel) {
      this.deps.logger.warn(
        about,
        'drift not posted in Slack: no drift channel and no approval channel is set (the log and the audit trail have it)',
      );
      return;
    }
    const reverted = alert.outcome === 'reverted';
    // Hashed: a principal or an inline policy can be longer than a key may be, and may contain `:`.
    const identity = reverted
      ? [alert.roleId, alert.principal, alert.detail ?? null, alert.at]
      : [alert.roleId, alert.principal, alert.detail ?? null];
    const key = `${alert.outcome}:${createHash('sha256').update(JSON.stringify(identity)).digest('hex')}`;
    if ((await this.driftPosted.peek(key)) !== undefined) return;

    let ref: SlackMessageRef;
    try {
      ref = await this.deps.slack.postMessage(channel, renderDriftAlert(alert));
    } catch (err) {
      if (err instanceof SlackApiError && !err.retryable) {
        this.deps.logger.error(
          { ...about, channel, code: err.code, err: err.message },
          'drift could not be posted in Slack, and retrying will not help (check the channel and the app)',
        );
        return;
      }
      throw err;
    }
    const ttlMs = reverted ? POSTED_TTL_MS : this.driftRealertMs;
    try {
      await this.driftPosted.put(key, ref, new Date(Date.now() + ttlMs));
    } catch (err) {
      // The alert is in Slack: failing now would only have it posted again by the retry.
      this.deps.logger.warn(
        { ...about, err: (err as Error).message },
        'drift posted in Slack, but the store could not remember it; it may be posted again',
      );
    }
  }

  /**
   * Tells the security channel and the bot's owner that the risk score denied a request: posts
   * {@link renderRiskAlert} in `alert.channel` (the policy's `detection.alertChannel`), else in
   * the approval channel, and sends it to the owner as a direct message. Without either channel
   * only the owner hears (and a warning is logged); an owner with no Slack account is logged.
   *
   * Once per elevation and recipient: each post leaves a mark in the single-use table (as the
   * approval messages do), so a retried activity posts nothing twice.
   *
   * @throws SlackApiError when Slack failed in a way a retry may fix (unreachable,
   *   rate-limited); errors a retry cannot fix (`channel_not_found`, `not_in_channel`, …) are
   *   logged and not thrown, and the other recipient is still told
   */
  async alertRisk(alert: RiskAlert): Promise<void> {
    const id = alert.elevation.id;
    const about = {
      elevationId: id,
      botId: alert.bot.id,
      roleId: alert.role.id,
      score: alert.elevation.risk?.score,
      // Not `level`: that is pino's own field.
      riskLevel: alert.elevation.risk?.level,
      lockedDown: alert.lockedDown,
    };
    const channel = alert.channel ?? this.deps.channel;
    if (channel) {
      await this.deliverAlert(`risk:${id}:${channel}`, channel, renderRiskAlert(alert), about);
    } else {
      this.deps.logger.warn(
        about,
        'risk alert not posted in a channel: no alert channel and no approval channel is set (the log and the audit trail have it)',
      );
    }
    const owner = await this.deps.slack.userIdByEmail(alert.bot.owner);
    if (!owner) {
      this.deps.logger.warn(
        { ...about, owner: alert.bot.owner },
        'the bot owner has no Slack account with this e-mail address; not told of the risk denial',
      );
      return;
    }
    await this.deliverAlert(`risk-owner:${id}`, owner, renderRiskAlert(alert, true), about);
  }

  /**
   * Posts an anomaly continuous detection found in `alert.channel` (the policy's
   * `detection.alertChannel`), else in the approval channel; without either it is only logged
   * (the audit trail has it). Once per event: detection decides when an anomaly is alerted again
   * (`detection.realertHours`, with a new event), and a retry after a failure posts nothing twice.
   *
   * @throws SlackApiError when Slack failed in a way a retry may fix; errors a retry cannot fix
   *   are logged and not thrown
   */
  async alertAnomaly(alert: AnomalyAlert): Promise<void> {
    const about = {
      eventId: alert.eventId,
      kind: alert.finding.kind,
      botId: alert.finding.botId,
      severity: alert.finding.severity,
    };
    const channel = alert.channel ?? this.deps.channel;
    if (!channel) {
      this.deps.logger.warn(
        about,
        'anomaly not posted in Slack: no alert channel and no approval channel is set (the log and the audit trail have it)',
      );
      return;
    }
    await this.deliverAlert(`anomaly:${alert.eventId}:${channel}`, channel, renderAnomalyAlert(alert), about);
  }

  /**
   * Asks a bot's owner, in a direct message, to review its roles (once per attestation). An
   * owner with no Slack account is logged with the link, so an operator can pass it on.
   */
  async askAttestation(request: AttestationRequest): Promise<void> {
    const about = { attestationId: request.attestationId, botId: request.botId, owner: request.owner };
    const owner = await this.deps.slack.userIdByEmail(request.owner);
    if (!owner) {
      this.deps.logger.warn(
        { ...about, reviewUrl: request.reviewUrl },
        'the bot owner has no Slack account with this e-mail address; send them the review link',
      );
      return;
    }
    await this.deliverAlert(
      `attest:${request.attestationId}`,
      owner,
      renderAttestationRequest(request),
      about,
    );
  }

  /**
   * Announces a break-glass activation in `alert.channel` (the security channel), else in the
   * approval channel, and in direct messages to the bot's owner and each reviewer (theirs with
   * the Review button). Once per activation and recipient; a recipient with no Slack account is
   * logged with the link, and the others are still told.
   */
  async alertBreakGlass(alert: BreakGlassAlert): Promise<void> {
    const id = alert.elevation.id;
    const about = { elevationId: id, botId: alert.bot.id, roleId: alert.role.id, breakGlass: true };
    const channel = alert.channel ?? this.deps.channel;
    if (channel) {
      await this.deliverAlert(
        `breakglass:${id}:${channel}`,
        channel,
        renderBreakGlassAlert(alert, 'channel'),
        about,
      );
    } else {
      this.deps.logger.warn(
        about,
        'break-glass alert not posted in a channel: no alert channel and no approval channel is set',
      );
    }
    const people: [string, 'owner' | 'reviewer'][] = [
      [alert.bot.owner, 'owner'],
      ...alert.breakGlass.reviewers.map((r): [string, 'reviewer'] => [r, 'reviewer']),
    ];
    for (const [email, audience] of people) {
      const user = await this.deps.slack.userIdByEmail(email);
      if (!user) {
        this.deps.logger.warn(
          { ...about, email, audience, reviewUrl: alert.reviewUrl },
          'no Slack account with this e-mail address; not told of the break-glass activation',
        );
        continue;
      }
      await this.deliverAlert(
        `breakglass-${audience}:${id}:${email}`,
        user,
        renderBreakGlassAlert(alert, audience),
        about,
      );
    }
  }

  /** Posts an alert once per `key`; a failure retrying cannot fix is logged, not thrown. */
  private async deliverAlert(
    key: string,
    to: string,
    content: SlackContent,
    about: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.once(key, () => this.deps.slack.postMessage(to, content));
    } catch (err) {
      if (err instanceof SlackApiError && !err.retryable) {
        this.deps.logger.error(
          { ...about, to, code: err.code, err: err.message },
          'alert could not be posted in Slack, and retrying will not help (check the channel and the app)',
        );
        return;
      }
      throw err;
    }
  }

  /** Run `post` unless it already ran for `key`; returns what it returned (then or now). */
  private async once(key: string, post: () => Promise<SlackMessageRef>): Promise<SlackMessageRef> {
    const before = await this.posted.peek(key);
    if (before) return before;
    const ref = await post();
    await this.posted.put(key, ref, new Date(Date.now() + POSTED_TTL_MS));
    return ref;
  }

  /** Everyone who may approve, except the owner when the role says so. */
  private async approverEmails(details: ElevationDetails): Promise<string[]> {
    const rule = details.role.approval;
    return rule.mode === 'approvers' ? this.groupEmails(rule.groups, details) : [];
  }

  /** The members of `groups`, except the owner when the role says so. */
  private async groupEmails(groups: ApproverGroup[], { bot, role }: ElevationDetails): Promise<string[]> {
    if (role.approval.mode !== 'approvers') return [];
    const emails = new Set<string>();
    for (const g of groups) {
      for (const m of g.members ?? []) emails.add(m.toLowerCase());
      if (g.oncall) for (const m of await this.onCall(g)) emails.add(m);
      if (g.ldapGroupDn) {
        if (!this.deps.directory)
          throw new Error(`cannot list LDAP approver group ${g.ldapGroupDn}: no directory`);
        for (const m of await this.deps.directory.memberEmails(g.ldapGroupDn)) emails.add(m);
      }
    }
    return [...emails].filter(
      (e) =>
        role.approval.mode !== 'approvers' || role.approval.ownerMayApprove || !sameApprover(e, bot.owner),
    );
  }

  /**
   * Who is on call for an on-call group now. A provider that cannot be asked is logged: its
   * group's person is not messaged (the others are), rather than holding up every message.
   */
  private async onCall(g: ApproverGroup): Promise<string[]> {
    try {
      return await (this.deps.oncall ?? ROTATIONS_ONLY).onCall(g.oncall!, new Date());
    } catch (err) {
      if (!(err instanceof OnCallUnavailableError)) throw err;
      this.deps.logger.warn(
        { group: g.name, err: err.message },
        'could not look up who is on call for an approver group; they are not messaged',
      );
      return [];
    }
  }

  private async requestDetails({ elevation, bot, role }: ElevationDetails): Promise<ApprovalRequestDetails> {
    const page = await this.deps.elevations
      .listElevations({ botId: bot.id, limit: 6 })
      .catch((err: unknown) => {
        this.deps.logger.warn({ err: (err as Error).message }, 'could not read the bot history for Slack');
        return { items: [] };
      });
    return {
      elevation,
      bot: {
        id: bot.id,
        owner: bot.owner,
        team: bot.team,
        purpose: bot.purpose,
        environment: bot.environment,
      },
      role: {
        id: role.id,
        ...(role.description !== undefined ? { description: role.description } : {}),
        environment: role.environment,
        // A bundle's roles each have their own target: listed, the first's described in full.
        target: elevation.bundle
          ? `${elevation.bundle.grants.map((g) => `${g.roleId} (${g.targetType})`).join(', ')}; first: ${describeTarget(role.target)}`
          : describeTarget(role.target),
      },
      approverGroups:
        role.approval.mode === 'approvers'
          ? role.approval.groups.map((g) => ({ name: g.name, quorum: g.quorum }))
          : [],
      history: page.items
        .filter((e) => e.id !== elevation.id)
        .slice(0, 5)
        .map((e) => ({
          id: e.id,
          roleId: e.roleId,
          status: e.status,
          requestedAt: e.requestedAt,
          ...(e.endReason ? { endReason: e.endReason } : {}),
        })),
    };
  }
}

/**
 * The thread reply of one step, its line for the owner, and the key that identifies the step
 * (posted once per message and step). A step is its event and the elevation's approvals so far
 * (`approval.accepted` repeats); an extension's steps carry its number, and an approval of an
 * extension the extension's approvals so far, so they never take the request's keys nor another
 * extension's (`elevation.extended` repeats with the count of extensions made).
 */
function replyOf(
  notice: ElevationNotice,
  d: ApprovalRequestDetails,
): { step: string; reply: SlackContent; line: string } {
  const v = notice.elevation;
  const pending = v.pendingExtension;
  const plain = (step: string, line: string) => ({ step, reply: { text: line, blocks: [] }, line });
  switch (notice.event) {
    case 'elevation.extended':
      return plain(
        `${notice.event}:${v.approvals.length}:${v.extensions ?? 0}`,
        renderExtensionReply(d, notice.extension),
      );
    case 'extension.requested': {
      if (!pending) break;
      const reply = renderExtensionRequest(d, pending);
      return { step: `${notice.event}:${pending.number}`, reply, line: reply.text };
    }
    case 'approval.accepted':
      if (!pending) break;
      return plain(
        `${notice.event}:extension-${pending.number}:${pending.approvals.length}`,
        renderExtensionApprovalReply(pending),
      );
    case 'extension.closed': {
      const closed = notice.closedExtension;
      return plain(
        closed
          ? `${notice.event}:${closed.number}`
          : `${notice.event}:${v.extensions ?? 0}:${v.approvals.length}`,
        renderExtensionClosedReply(d, closed),
      );
    }
  }
  return plain(`${notice.event}:${v.approvals.length}`, renderEventReply(notice.event, d));
}
