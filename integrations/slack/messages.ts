/**
 * The Slack messages and modals of an approval request, as Block Kit. Pure: no I/O, same input
 * same output, so the workflow's activities can render a message again at every step and
 * replace the old one.
 *
 * Everything a requester controls (justification, ticket, purpose, team, descriptions, names)
 * is escaped for mrkdwn and sent with `verbatim: true`, so text such as `<!channel>`,
 * `<https://evil|your bank>` or `@here` shows as typed instead of pinging people or hiding a
 * link. Long text is cut with `…` to stay inside Block Kit's limits (3000 characters per
 * section, 2000 per field, 150 per header, 50 blocks per message), which Slack would
 * otherwise answer with `invalid_blocks` and no message at all.
 *
 * The Block Kit pieces (escaping, cutting, blocks) are in `block-kit.ts`; the risk score's
 * section and the alert about a request it denied are in `risk-messages.ts`.
 */
import type { ActionsBlock, Block, KnownBlock, View } from '@slack/types';
import type { DriftAlert, DriftScope } from '../../core/model/reconcile.js';
import type {
  ApprovalRecord,
  ElevationStatus,
  ElevationView,
  EndReason,
} from '../../core/model/elevation.js';
import type { TargetRef } from '../../core/model/targets.js';
import {
  LIMITS,
  code,
  context,
  escapeMrkdwn,
  fieldsSection,
  formatDuration,
  formatTime,
  header,
  linesWithin,
  oneLine,
  quote,
  section,
  truncate,
} from './block-kit.js';
import { deniedByScore, riskScoreWords, riskSection } from './risk-messages.js';
import type { SlackContent } from './slack-client.js';

/** Kept here for callers that import them with the messages; they live with the other Block Kit pieces. */
export { LIMITS, escapeMrkdwn, formatDuration, formatTime, truncate } from './block-kit.js';

/** Everything an approver needs to decide, gathered by the caller. */
export interface ApprovalRequestDetails {
  elevation: ElevationView;
  bot: { id: string; owner: string; team: string; purpose: string; environment: string };
  role: {
    id: string;
    description?: string;
    environment: string;
    /** Human-readable, e.g. `LDAP group cn=x,ou=groups,dc=example,dc=org`. */
    target: string;
  };
  /** The role's approver groups; every group's quorum must be met. */
  approverGroups: { name: string; quorum: number }[];
  /** This bot's previous elevations, newest first (at most 5 are shown). */
  history: { id: string; roleId: string; status: string; requestedAt: string; endReason?: string }[];
}

/** `action_id` of the Approve button; its `value` is the elevation id. */
export const APPROVE_ACTION = 'elevate_approve';
/** `action_id` of the Deny button; its `value` is the elevation id. */
export const DENY_ACTION = 'elevate_deny';
/** `callback_id` of the deny modal; its `private_metadata` is the elevation id. */
export const DENY_CALLBACK = 'elevate_deny_reason';
/**
 * `action_id` of the approve modal's "Verify with MFA" link button. Slack still sends a
 * `block_actions` request when a link button is clicked; the app must acknowledge it (and need
 * do nothing else), or Slack shows the person an error icon.
 */
export const VERIFY_ACTION = 'elevate_verify_mfa';

/** The approve modals' "Verify with MFA" link button: the personal login link, and what it is for in `value`. */
export function verifyButton(loginUrl: string, value: string): ActionsBlock {
  return {
    type: 'actions',
    block_id: 'elevate_verify',
    elements: [
      {
        type: 'button',
        action_id: VERIFY_ACTION,
        text: { type: 'plain_text', text: 'Verify with MFA', emoji: true },
        style: 'primary',
        url: loginUrl,
        value: truncate(value, LIMITS.buttonValue),
      },
    ],
  };
}
/** `block_id` of the request message's buttons. */
export const ACTIONS_BLOCK_ID = 'elevate_actions';
/** `block_id` and `action_id` of the deny modal's reason input. */
export const DENY_REASON_BLOCK = 'reason';
export const DENY_REASON_ACTION = 'reason';
/** Longest deny reason the modal accepts. */
export const DENY_REASON_MAX_LENGTH = 500;

/** How many earlier elevations the request message lists. */
const HISTORY_SHOWN = 5;

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

/**
 * The message about one holder of a role that no elevation explains (drift), for the people
 * who watch the drift channel: who holds what, whether it is one of the role's own bots, and
 * whether Elevate left it in place or removed it. No buttons: what to do about a holder left in
 * place (remove it, or declare it in the role's `drift.standing`) is a decision for people.
 */
export function renderDriftAlert(alert: DriftAlert): SlackContent {
  const role = code(alert.roleId);
  const principal = code(alert.principal, 300);
  const reverted = alert.outcome === 'reverted';
  const blocks: (KnownBlock | Block)[] = [
    header(`${reverted ? 'Drift removed' : 'Drift'}: ${alert.roleId} held outside Elevate`),
    section(
      reverted
        ? `:rotating_light: ${principal} held ${role} without an elevation. Elevate *removed it* and read ` +
            "the target back: it is gone. If it was put there on purpose, list it in the role's " +
            '`drift.standing`, or it will be removed again.'
        : `:warning: ${principal} holds ${role}, and no elevation explains it. It was *left in place* ` +
            "(the role's drift action is `alert`): remove it, or list it in the role's `drift.standing` " +
            'if it is meant to be there.',
    ),
    fieldsSection([
      `*Role*\n${role}`,
      `*Held by*\n${principal}`,
      `*One of the role's bots?*\n${
        alert.bot
          ? 'Yes: it may request the role, but holds it without an elevation'
          : 'No: not a bot the role is for'
      }`,
      `*Outcome*\n${reverted ? 'Removed, and read back: gone' : 'Left in place'}`,
      `*Found*\n${formatTime(alert.at)}`,
    ]),
    section(`*Target*\n${escapeMrkdwn(truncate(oneLine(driftTargetWords(alert.target)), 1000))}`),
  ];
  if (alert.detail !== undefined && alert.detail !== '') {
    const label = '*What is held*\n```';
    const room = LIMITS.sectionText - label.length - 3;
    blocks.push(section(`${label}${truncate(escapeMrkdwn(alert.detail), room)}\`\`\``));
  }
  blocks.push(
    context(
      `Found by reconciliation · recorded in the audit trail as \`drift.detected\`${
        reverted ? ' and `drift.reverted`' : ''
      }`,
    ),
  );
  return {
    text: truncate(
      `${reverted ? 'Drift removed' : 'Drift'} in role ${escapeMrkdwn(oneLine(alert.roleId))}: ` +
        `${escapeMrkdwn(oneLine(alert.principal))} ${
          reverted ? 'held it without an elevation and was removed' : 'holds it without an elevation'
        }`,
      LIMITS.fallbackText,
    ),
    blocks: blocks.slice(0, LIMITS.blocks),
  };
}

/** The approval request message: everything to decide on, and Approve/Deny while it is pending. */
export function renderRequestMessage(d: ApprovalRequestDetails): SlackContent {
  const v = d.elevation;
  const blocks: (KnownBlock | Block)[] = [
    header(`Elevation request: ${d.bot.id} → ${d.role.id}`),
    section(stateText(d)),
    // Right under the state: the score is what decided who must approve.
    ...(v.risk ? [riskSection(v.risk)] : []),
    fieldsSection([
      `*Bot*\n${code(d.bot.id)}`,
      `*Owner*\n${escapeMrkdwn(d.bot.owner)}`,
      `*Team*\n${escapeMrkdwn(d.bot.team)}`,
      `*Environment*\n${escapeMrkdwn(v.environment)}`,
      `*Role*\n${code(d.role.id)}`,
      `*Duration*\n${formatDuration(v.durationSeconds)}`,
      `*Ticket*\n${v.ticket ? escapeMrkdwn(v.ticket) : '—'}`,
      `*Requested*\n${formatTime(v.requestedAt)}`,
      // A scheduled request: approvers see when the grant would be made.
      ...(v.startsAt ? [`*Starts*\n${formatTime(v.startsAt)}`] : []),
    ]),
    section(
      [
        `*Target*\n${escapeMrkdwn(truncate(d.role.target, 1000))}`,
        d.role.description ? `*What the role is for*\n${escapeMrkdwn(d.role.description)}` : undefined,
      ]
        .filter((s) => s !== undefined)
        .join('\n'),
    ),
    section(`*Bot's purpose*\n${escapeMrkdwn(d.bot.purpose)}`),
    section(`*Justification*\n${quote(v.justification, LIMITS.sectionText - 20)}`),
    { type: 'divider' },
    section(linesWithin(['*Approvals*', ...approvalLines(d)], LIMITS.sectionText)),
    section(linesWithin([`*Earlier elevations of this bot*`, ...historyLines(d)], LIMITS.sectionText)),
  ];
  if (v.status === 'pending_approval') {
    const actions: ActionsBlock = {
      type: 'actions',
      block_id: ACTIONS_BLOCK_ID,
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION,
          text: { type: 'plain_text', text: 'Approve', emoji: true },
          style: 'primary',
          value: truncate(v.id, LIMITS.buttonValue),
        },
        {
          type: 'button',
          action_id: DENY_ACTION,
          text: { type: 'plain_text', text: 'Deny', emoji: true },
          style: 'danger',
          value: truncate(v.id, LIMITS.buttonValue),
        },
      ],
    };
    blocks.push(actions);
  }
  blocks.push(context(idLine(v)));
  return {
    text: truncate(
      `Elevation request: ${escapeMrkdwn(d.bot.id)} → ${escapeMrkdwn(d.role.id)} ` +
        `(${escapeMrkdwn(v.environment)}, ${formatDuration(v.durationSeconds)}` +
        `${v.risk ? `, risk ${riskScoreWords(v.risk)}` : ''}): ${STATUS_WORDS[v.status]}`,
      LIMITS.fallbackText,
    ),
    blocks: blocks.slice(0, LIMITS.blocks),
  };
}

/** One mrkdwn line for the request's thread, saying what just happened. */
export function renderEventReply(eventType: string, d: ApprovalRequestDetails): string {
  const v = d.elevation;
  const bot = code(d.bot.id);
  const role = code(d.role.id);
  switch (eventType) {
    case 'elevation.requested':
      return `:incoming_envelope: ${bot} asked for ${role} in ${escapeMrkdwn(v.environment)} for ${formatDuration(v.durationSeconds)}${
        v.approval.mode === 'approvers' ? ` — waiting for ${quorumWords(d)}` : ''
      }.`;
    case 'approval.accepted': {
      const latest = v.approvals[v.approvals.length - 1];
      const progress =
        v.approval.mode === 'approvers' ? ` (${v.approvals.length} of ${v.approval.quorum})` : '';
      if (!latest) return `:ballot_box_with_check: An approval was accepted${progress}.`;
      const evidence = evidenceText(latest.evidence);
      return oneLine(
        `:ballot_box_with_check: Approved by ${escapeMrkdwn(latest.approver)}${progress} at ${formatTime(latest.at)}${
          evidence ? ` — ${evidence}` : ''
        }.`,
      );
    }
    case 'elevation.approved':
      if (v.startsAt && !v.grantedAt) {
        return `:white_check_mark: Approved${v.approval.mode === 'auto' ? ' automatically by policy' : ''}; ${role} will be granted to ${bot} at ${formatTime(v.startsAt)}.`;
      }
      return v.approval.mode === 'auto'
        ? `:white_check_mark: Approved automatically by policy; granting ${role} to ${bot}.`
        : `:white_check_mark: Approved; granting ${role} to ${bot}.`;
    case 'elevation.denied':
      return deniedByScore(v.risk)
        ? `:no_entry: Denied by its risk score, ${riskScoreWords(v.risk)}${v.endedAt ? `, at ${formatTime(v.endedAt)}` : ''}; ${role} will not be granted.`
        : `:no_entry: Denied${v.endedAt ? ` at ${formatTime(v.endedAt)}` : ''}; ${role} will not be granted.`;
    case 'elevation.expired': {
      const deadline = deadlineOf(v);
      return `:hourglass: Expired: nobody decided ${deadline ? `by ${formatTime(deadline)}` : 'in time'}.`;
    }
    case 'grant.confirmed':
      return `:large_green_circle: ${role} granted to ${bot}${v.grantedAt ? ` at ${formatTime(v.grantedAt)}` : ''}${
        v.expiresAt ? `; it expires ${formatTime(v.expiresAt)}` : ''
      }.`;
    case 'grant.failed':
      return oneLine(`:warning: Granting ${role} failed; trying again.${errorSuffix(v)}`);
    case 'elevation.failed':
      return oneLine(`:x: Failed: ${role} could not be granted.${errorSuffix(v)}`);
    case 'revoke.started':
      return `:arrows_counterclockwise: Revoking ${role}${v.endReason ? `: ${REASON_WORDS[v.endReason]}` : ''}.`;
    case 'elevation.extended':
      return `:hourglass_flowing_sand: ${role} extended${v.expiresAt ? `; it now expires ${formatTime(v.expiresAt)}` : ''}.`;
    case 'elevation.revoked':
      return `:lock: ${role} revoked${v.endedAt ? ` at ${formatTime(v.endedAt)}` : ''}${
        v.endReason ? ` (${REASON_WORDS[v.endReason]})` : ''
      }.`;
    default:
      return `:information_source: ${escapeMrkdwn(truncate(oneLine(eventType), 100))}: the elevation is now ${STATUS_WORDS[v.status].toLowerCase()}.`;
  }
}

/** A direct message to the bot's owner about their bot's elevation. No buttons. */
export function renderOwnerNotice(
  eventType: string,
  d: ApprovalRequestDetails,
  line = renderEventReply(eventType, d),
): SlackContent {
  const v = d.elevation;
  const blocks: (KnownBlock | Block)[] = [
    section(`*Your bot ${code(d.bot.id)}*\n${line}`),
    fieldsSection([
      `*Role*\n${code(d.role.id)}`,
      `*Environment*\n${escapeMrkdwn(v.environment)}`,
      `*Duration*\n${formatDuration(v.durationSeconds)}`,
      `*Status*\n${STATUS_WORDS[v.status]}`,
    ]),
    // An owner whose bot the score refused needs the reasons to tell a false alarm from a theft.
    ...(v.status === 'denied' && deniedByScore(v.risk) ? [riskSection(v.risk)] : []),
    section(`*Justification*\n${quote(v.justification, 1000)}`),
    context(idLine(v)),
  ];
  return {
    text: truncate(
      `Your bot ${escapeMrkdwn(d.bot.id)}: ${escapeMrkdwn(d.role.id)} is ${STATUS_WORDS[v.status].toLowerCase()}`,
      LIMITS.fallbackText,
    ),
    blocks,
  };
}

/**
 * The modal an approver sees after clicking Approve: approving needs a fresh MFA login, which
 * the "Verify with MFA" button starts. It has no submit button: the approval is confirmed on
 * the web page after the login, where the person's identity is proven.
 */
export function renderApproveModal(elevationId: string, loginUrl: string, d?: ApprovalRequestDetails): View {
  const blocks: (KnownBlock | Block)[] = [
    section(
      ':closed_lock_with_key: Approving needs a *fresh MFA login*. Sign in with your identity provider ' +
        'using the button below, then confirm the approval on the page that opens. ' +
        'An earlier login does not count, and nothing is approved until you confirm.',
    ),
  ];
  if (d) {
    const v = d.elevation;
    blocks.push(
      fieldsSection([
        `*Bot*\n${code(d.bot.id)}`,
        `*Owner*\n${escapeMrkdwn(d.bot.owner)}`,
        `*Role*\n${code(d.role.id)}`,
        `*Environment*\n${escapeMrkdwn(v.environment)}`,
        `*Duration*\n${formatDuration(v.durationSeconds)}`,
        `*Ticket*\n${v.ticket ? escapeMrkdwn(v.ticket) : '—'}`,
      ]),
      section(`*Target*\n${escapeMrkdwn(d.role.target)}`),
      section(`*Justification*\n${quote(v.justification, 1000)}`),
    );
  }
  blocks.push(verifyButton(loginUrl, elevationId), context(`Elevation \`${escapeMrkdwn(elevationId)}\``));
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Approve elevation' },
    close: { type: 'plain_text', text: 'Close' },
    private_metadata: elevationId,
    blocks,
  };
}

/**
 * The modal asking why a request is denied. On submit, Slack sends a `view_submission` with
 * `callback_id` {@link DENY_CALLBACK}, the elevation id in `private_metadata` and the reason at
 * `state.values.reason.reason.value`.
 */
export function renderDenyModal(elevationId: string): View {
  return {
    type: 'modal',
    callback_id: DENY_CALLBACK,
    private_metadata: elevationId,
    title: { type: 'plain_text', text: 'Deny elevation' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        `The bot will not get the role, and the request ends for every approver. ` +
          `Your reason is recorded in the audit trail. Elevation \`${escapeMrkdwn(elevationId)}\`.`,
      ),
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        optional: false,
        label: { type: 'plain_text', text: 'Reason' },
        element: {
          type: 'plain_text_input',
          action_id: DENY_REASON_ACTION,
          multiline: true,
          max_length: DENY_REASON_MAX_LENGTH,
          placeholder: { type: 'plain_text', text: 'Why should this bot not get the role?' },
        },
      },
    ],
  };
}

const STATUS_WORDS: Record<ElevationStatus, string> = {
  pending_approval: 'Waiting for approval',
  approved: 'Approved',
  active: 'Active',
  revoking: 'Revoking',
  revoked: 'Ended',
  denied: 'Denied',
  expired: 'Expired',
  failed: 'Failed',
};

const STATUS_EMOJI: Record<ElevationStatus, string> = {
  pending_approval: ':hourglass_flowing_sand:',
  approved: ':white_check_mark:',
  active: ':large_green_circle:',
  revoking: ':arrows_counterclockwise:',
  revoked: ':lock:',
  denied: ':no_entry:',
  expired: ':hourglass:',
  failed: ':x:',
};

const REASON_WORDS: Record<EndReason, string> = {
  expired: 'the granted window ran out',
  given_back: 'given back early by the bot',
  admin_revoked: 'revoked by an admin',
  withdrawn: 'withdrawn by the bot',
  denied: 'denied',
  approval_timeout: 'nobody decided in time',
  grant_failed: 'the grant failed',
  request_unverified: 'refused: not requested through Elevate',
  orphaned: 'revoked by reconciliation: its workflow had ended without revoking',
};

/**
 * The target of a drifted role in words. An AWS attach-mode role names no one IAM object (the
 * policy is attached to each bot), so the alert's `detail` says which policy is held.
 */
function driftTargetWords(target: DriftScope): string {
  // The second form: alerts of reconciliation runs from before `aws-iam-principal`.
  return target.type === 'aws-iam-principal' || (target.type === 'aws-iam' && target.mode === 'attach')
    ? "AWS IAM policy attached to the role's bots"
    : describeTarget(target);
}

/** Where the request stands, with its times. */
function stateText(d: ApprovalRequestDetails): string {
  const v = d.elevation;
  const lines = [`${STATUS_EMOJI[v.status]} *${STATUS_WORDS[v.status]}*`];
  const deadline = deadlineOf(v);
  switch (v.status) {
    case 'pending_approval':
      lines[0] += ` — needs ${quorumWords(d)}`;
      if (deadline) lines.push(`Decide by ${formatTime(deadline)}`);
      break;
    case 'approved':
      lines[0] += v.startsAt
        ? ` — the role will be granted at ${formatTime(v.startsAt)}`
        : ' — granting the role';
      break;
    case 'denied':
      lines[0] += ' — the role will not be granted';
      break;
    case 'expired':
      lines[0] += ' — nobody decided in time';
      if (deadline) lines.push(`Deadline was ${formatTime(deadline)}`);
      break;
    default:
      if (v.endReason && v.endReason !== 'denied' && v.endReason !== 'approval_timeout') {
        lines[0] += ` — ${REASON_WORDS[v.endReason]}`;
      }
  }
  if (v.grantedAt) lines.push(`Granted at ${formatTime(v.grantedAt)}`);
  if (v.expiresAt) {
    const over = v.status === 'revoked' || v.status === 'revoking';
    lines.push(`${over ? 'Was due to expire' : 'Expires'} at ${formatTime(v.expiresAt)}`);
  }
  if (v.status === 'active' && v.pendingExtension) {
    const p = v.pendingExtension;
    lines.push(
      `:hourglass_flowing_sand: Extension ${p.number} (${formatDuration(p.durationSeconds)} more) waits for approval ` +
        `until ${formatTime(p.deadline)}: see the thread`,
    );
  }
  if (v.endedAt) lines.push(`Ended at ${formatTime(v.endedAt)}`);
  if (v.status === 'revoking' && v.revokeAttempts > 0) {
    lines.push(`Revocation attempts failed so far: ${v.revokeAttempts}`);
  }
  if (v.lastError && (v.status === 'failed' || v.status === 'revoking' || v.status === 'approved')) {
    lines.push(`Last error: ${escapeMrkdwn(truncate(oneLine(v.lastError), 500))}`);
  }
  return linesWithin(lines, LIMITS.sectionText);
}

/** `2 approvals (security 1, ops 1)` or `1 approval`. */
function quorumWords(d: ApprovalRequestDetails): string {
  const v = d.elevation;
  if (v.approval.mode !== 'approvers') return 'no approval';
  const n = v.approval.quorum;
  const groups = d.approverGroups.length > 1 ? d.approverGroups : [];
  const perGroup = groups.map((g) => `${escapeMrkdwn(g.name)} ${g.quorum}`).join(', ');
  return `${n} approval${n === 1 ? '' : 's'}${perGroup ? ` (${perGroup})` : ''}`;
}

/** The approver groups with their progress, then each approval with its MFA evidence. */
function approvalLines(d: ApprovalRequestDetails): string[] {
  const v = d.elevation;
  if (v.approval.mode === 'auto') return ['Approved automatically by policy: no human approval needed.'];
  const lines: string[] = [];
  const fromView = viewGroups(v);
  const groups = d.approverGroups.length > 0 ? d.approverGroups : (fromView ?? []);
  for (const g of groups) {
    const approved =
      fromView?.find((f) => f.name === g.name)?.approved ??
      (groups.length === 1
        ? v.approvals.length
        : v.approvals.filter((a) => recordGroups(a).includes(g.name)).length);
    const done = approved >= g.quorum ? ' :white_check_mark:' : '';
    lines.push(`• Group *${escapeMrkdwn(g.name)}*: ${Math.min(approved, g.quorum)} of ${g.quorum}${done}`);
  }
  if (groups.length !== 1) lines.push(`• In all: ${v.approvals.length} of ${v.approval.quorum}`);
  if (v.approvals.length === 0) {
    lines.push('_No approvals yet._');
  }
  for (const a of v.approvals) {
    const groupNames = recordGroups(a);
    const evidence = evidenceText(a.evidence);
    lines.push(
      oneLine(
        `:ballot_box_with_check: *${escapeMrkdwn(a.approver)}*${
          groupNames.length > 0 ? ` (${groupNames.map(escapeMrkdwn).join(', ')})` : ''
        } at ${formatTime(a.at)} — ${evidence ?? '_no MFA evidence recorded_'}`,
      ),
    );
  }
  return lines;
}

/** How the approver proved who they are: `MFA totp · amr pwd, otp · acr … · signed in <time>`. */
function evidenceText(evidence: Record<string, unknown> | undefined): string | undefined {
  if (!evidence) return undefined;
  const parts: string[] = [];
  if (typeof evidence.mfaMethod === 'string')
    parts.push(`MFA: ${escapeMrkdwn(truncate(evidence.mfaMethod, 100))}`);
  if (Array.isArray(evidence.amr)) {
    const amr = evidence.amr
      .filter((x): x is string => typeof x === 'string')
      .map((x) => escapeMrkdwn(truncate(x, 50)));
    if (amr.length > 0) parts.push(`amr ${amr.slice(0, 10).join(', ')}`);
  }
  if (typeof evidence.acr === 'string') parts.push(`acr ${escapeMrkdwn(truncate(evidence.acr, 200))}`);
  const authTime =
    typeof evidence.authTime === 'string'
      ? evidence.authTime
      : typeof evidence.authTime === 'number'
        ? new Date(evidence.authTime * 1000).toISOString()
        : undefined;
  if (authTime !== undefined) parts.push(`signed in ${formatTime(authTime)}`);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** The bot's earlier elevations, newest first. */
function historyLines(d: ApprovalRequestDetails): string[] {
  if (d.history.length === 0) return ['_None: this is the first elevation of this bot._'];
  const lines = d.history.slice(0, HISTORY_SHOWN).map((h) => {
    const reason = h.endReason
      ? ` (${REASON_BY_NAME.get(h.endReason) ?? escapeMrkdwn(truncate(h.endReason, 50))})`
      : '';
    const status = STATUS_BY_NAME.get(h.status) ?? escapeMrkdwn(truncate(h.status, 50));
    return oneLine(
      `• \`${escapeMrkdwn(truncate(h.id, 60))}\` \`${escapeMrkdwn(truncate(h.roleId, 100))}\` — ${status}${reason} — requested ${formatTime(h.requestedAt)}`,
    );
  });
  if (d.history.length > HISTORY_SHOWN) lines.push(`_…and earlier ones._`);
  return lines;
}

const STATUS_BY_NAME = new Map<string, string>(Object.entries(STATUS_WORDS));
const REASON_BY_NAME = new Map<string, string>(Object.entries(REASON_WORDS));

/** The approver groups the view reports, when the workflow reports them (newer views do). */
function viewGroups(v: ElevationView): { name: string; quorum: number; approved?: number }[] | undefined {
  const groups = (v.approval as { groups?: unknown }).groups;
  if (!Array.isArray(groups)) return undefined;
  return groups.filter(
    (g): g is { name: string; quorum: number; approved?: number } =>
      typeof g === 'object' &&
      g !== null &&
      typeof (g as { name?: unknown }).name === 'string' &&
      typeof (g as { quorum?: unknown }).quorum === 'number',
  );
}

/** The approver groups an approval counted for, when recorded. */
function recordGroups(a: ApprovalRecord): string[] {
  const groups = (a as { groups?: unknown }).groups;
  return Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [];
}

function deadlineOf(v: ElevationView): string | undefined {
  return v.approval.mode === 'approvers' ? v.approval.deadline : undefined;
}

function errorSuffix(v: ElevationView): string {
  return v.lastError ? ` Error: ${escapeMrkdwn(truncate(oneLine(v.lastError), 300))}` : '';
}

function idLine(v: ElevationView): string {
  return [
    `Elevation \`${escapeMrkdwn(v.id)}\``,
    v.requestId ? `request \`${escapeMrkdwn(truncate(v.requestId, 200))}\`` : undefined,
  ]
    .filter((s) => s !== undefined)
    .join(' · ');
}
