/**
 * The notifier used when Slack is not configured: approval requests and their outcome go to
 * the log, with the link an approver opens to approve (after a fresh MFA login), so the whole
 * flow can be tried on one machine.
 */
import type { Logger } from 'pino';
import type {
  AnomalyAlert,
  ApprovalNotifier,
  ElevationDetails,
  ElevationNotice,
  RiskAlert,
} from '../../core/ports/notifier.js';
import type { SlackMessageRef } from '../../core/model/elevation.js';
import type { AttestationRequest } from '../../core/model/attestation.js';

export class LogNotifier implements ApprovalNotifier {
  constructor(
    private readonly opts: {
      logger: Logger;
      /**
       * Link an approver opens for one elevation (no Slack identity to bind it to), or for its
       * pending extension `extension`.
       */
      approvalUrl: (elevationId: string, extension?: number) => string;
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
    const pending = elevation.pendingExtension;
    if (event === 'extension.requested' && pending) {
      this.opts.logger.info(
        {
          elevationId: elevation.id,
          roleId: elevation.roleId,
          extension: pending.number,
          durationSeconds: pending.durationSeconds,
          requestedBy: pending.requestedBy,
          justification: pending.justification,
          quorum: pending.quorum,
          deadline: pending.deadline,
          approvalUrl: this.opts.approvalUrl(elevation.id, pending.number),
        },
        'extension approval requested: an approver opens approvalUrl, logs in with MFA and confirms',
      );
    }
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

  /** One warning with what the owner and the security channel would be told in Slack. */
  alertRisk({ elevation, bot, role, channel, lockedDown }: RiskAlert): Promise<void> {
    const risk = elevation.risk;
    this.opts.logger.warn(
      {
        elevationId: elevation.id,
        botId: bot.id,
        owner: bot.owner,
        roleId: role.id,
        environment: elevation.environment,
        ...(risk
          ? {
              score: risk.score,
              // Not `level`: that is pino's own field.
              riskLevel: risk.level,
              route: risk.route,
              routeReason: risk.routeReason,
              reasons: risk.reasons,
            }
          : {}),
        lockedDown,
        ...(channel !== undefined ? { alertChannel: channel } : {}),
      },
      `request denied by risk score: bot ${bot.id} asked for role ${role.id}${
        risk ? `, score ${risk.score} (${risk.level})` : ''
      }${lockedDown ? '; the bot is locked down' : ''}`,
    );
    return Promise.resolve();
  }

  /** One warning with what the security channel would be told in Slack. */
  alertAnomaly({ eventId, at, finding, owner, team, channel }: AnomalyAlert): Promise<void> {
    this.opts.logger.warn(
      {
        eventId,
        at,
        kind: finding.kind,
        botId: finding.botId,
        severity: finding.severity,
        evidence: finding.evidence,
        ...(finding.fleet ? { fleet: finding.fleet } : {}),
        ...(owner !== undefined ? { owner } : {}),
        ...(team !== undefined ? { team } : {}),
        ...(channel !== undefined ? { alertChannel: channel } : {}),
      },
      `anomaly detected (${finding.kind}, ${finding.severity}): ${finding.text}`,
    );
    return Promise.resolve();
  }

  /** Without Slack, the owner's review link goes to the log. */
  askAttestation(request: AttestationRequest): Promise<void> {
    this.opts.logger.info(
      { ...request },
      'owner attestation requested: the bot owner opens reviewUrl, logs in with MFA and confirms the roles',
    );
    return Promise.resolve();
  }
}
