/**
 * Approval requests in Slack: one message in the approval channel, or a direct message to
 * each eligible approver; then, at every step, the same messages updated in place, a line in
 * each message's thread, and a direct message to the bot's owner when the request is decided
 * and when the grant ends.
 *
 * Runs inside activities, which Temporal retries. What was already posted is remembered in the
 * store's single-use table (by elevation, recipient and step), so a retry after a partial
 * success posts nothing twice.
 */
import type { Logger } from 'pino';
import type { ApprovalNotifier, ElevationDetails, ElevationNotice } from '../../activities/index.js';
import type { AuditStore, EphemeralStore } from '../audit/audit-store.js';
import type { SlackMessageRef, TargetRef } from '../../workflows/definitions.js';
import { sameApprover } from '../../workflows/elevation-view.js';
import {
  renderEventReply,
  renderOwnerNotice,
  renderRequestMessage,
  type ApprovalRequestDetails,
} from './messages.js';
import type { SlackClient } from './slack-client.js';

/** How long "already posted" marks are kept: longer than any approval window and grant. */
const POSTED_TTL_MS = 9 * 24 * 3600_000;

export interface SlackNotifierDeps {
  slack: SlackClient;
  store: Pick<AuditStore, 'listElevations'> & EphemeralStore;
  /** Members' addresses of an LDAP approver group (direct-message mode only). */
  directory?: { memberEmails(groupDn: string): Promise<string[]> };
  /** Post approval requests here; unset: direct messages to each approver. */
  channel?: string;
  logger: Logger;
}

/** The target in words an approver understands. */
export function describeTarget(target: TargetRef): string {
  switch (target.type) {
    case 'ldap':
      return `LDAP group ${target.groupDn}`;
    case 'postgres':
      return `PostgreSQL role ${target.role} on server ${target.server}`;
    case 'aws-iam':
      return target.mode === 'attach'
        ? 'AWS IAM policy attached to the bot for the window (it also expires by itself)'
        : `temporary AWS credentials for role ${target.roleArn}`;
  }
}

export class SlackNotifier implements ApprovalNotifier {
  constructor(private readonly deps: SlackNotifierDeps) {}

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
    // A step is identified by its event and the elevation's approvals so far (approval.accepted repeats).
    const step = `${notice.event}:${notice.elevation.approvals.length}`;
    for (const ref of notice.messages) {
      await this.deps.slack.updateMessage(ref, content);
      await this.once(`reply:${id}:${ref.channel}:${ref.ts}:${step}`, () =>
        this.deps.slack.postMessage(
          ref.channel,
          { text: renderEventReply(notice.event, d), blocks: [] },
          ref.ts,
        ),
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
        this.deps.slack.postMessage(owner, renderOwnerNotice(notice.event, d)),
      );
    }
  }

  /** Run `post` unless it already ran for `key`; returns what it returned (then or now). */
  private async once(key: string, post: () => Promise<SlackMessageRef>): Promise<SlackMessageRef> {
    const k = `slack-posted:${key}`;
    const before = (await this.deps.store.peek(k)) as SlackMessageRef | undefined;
    if (before) return before;
    const ref = await post();
    await this.deps.store.putIfAbsent(k, ref, new Date(Date.now() + POSTED_TTL_MS));
    return ref;
  }

  /** Everyone who may approve, except the owner when the role says so. */
  private async approverEmails({ bot, role }: ElevationDetails): Promise<string[]> {
    if (role.approval.mode !== 'approvers') return [];
    const emails = new Set<string>();
    for (const g of role.approval.groups) {
      for (const m of g.members ?? []) emails.add(m.toLowerCase());
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

  private async requestDetails({ elevation, bot, role }: ElevationDetails): Promise<ApprovalRequestDetails> {
    const page = await this.deps.store.listElevations({ botId: bot.id, limit: 6 }).catch((err: unknown) => {
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
        target: describeTarget(role.target),
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
