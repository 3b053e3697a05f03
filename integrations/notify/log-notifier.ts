/**
 * The notifier used when Slack is not configured: approval requests and their outcome go to
 * the log, with the link an approver opens to approve (after a fresh MFA login), so the whole
 * flow can be tried on one machine.
 */
import type { Logger } from 'pino';
import type { ApprovalNotifier, ElevationDetails, ElevationNotice } from '../../core/ports/notifier.js';
import type { SlackMessageRef } from '../../core/model/elevation.js';

export class LogNotifier implements ApprovalNotifier {
  constructor(
    private readonly opts: {
      logger: Logger;
      /** Link an approver opens for one elevation (no Slack identity to bind it to). */
      approvalUrl: (elevationId: string) => string;
    },
  ) {}

  announce({ elevation, bot, role }: ElevationDetails): Promise<SlackMessageRef[]> {
    const rule = role.approval;
    this.opts.logger.info(
      {
        elevationId: elevation.id,
        botId: bot.id,
        owner: bot.owner,
        roleId: role.id,
        durationSeconds: elevation.durationSeconds,
        justification: elevation.justification,
        approverGroups:
          rule.mode === 'approvers'
            ? rule.groups.map((g) => ({
                name: g.name,
                quorum: g.quorum,
                ...(g.members ? { members: g.members } : {}),
                ...(g.ldapGroupDn ? { ldapGroupDn: g.ldapGroupDn } : {}),
              }))
            : [],
        deadline: elevation.approval.mode === 'approvers' ? elevation.approval.deadline : undefined,
        approvalUrl: this.opts.approvalUrl(elevation.id),
      },
      'approval requested: an approver opens approvalUrl, logs in with MFA and confirms',
    );
    return Promise.resolve([]);
  }

  publish({ elevation, event, notifyOwner }: ElevationNotice): Promise<void> {
    if (notifyOwner) {
      this.opts.logger.info(
        {
          elevationId: elevation.id,
          owner: elevation.owner,
          event,
          status: elevation.status,
          approvals: elevation.approvals.map((a) => a.approver),
        },
        'elevation update for the bot owner',
      );
    }
    return Promise.resolve();
  }
}
