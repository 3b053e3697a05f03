/**
 * What reminders and escalation say in Slack: the line in the approval message's thread (with
 * the people it is meant for mentioned) and the direct message to the bot's owner. Pure, like
 * `messages.ts`; everything the requester controls is escaped.
 */
import type { ApprovalNudgeStep } from '../../core/ports/approval-nudger.js';
import {
  LIMITS,
  code,
  context,
  escapeMrkdwn,
  formatDuration,
  formatTime,
  section,
  truncate,
} from './block-kit.js';
import type { ApprovalRequestDetails } from './messages.js';
import type { SlackContent } from './slack-client.js';

/** Slack mentions of `userIds` (ids Slack gave for the approvers' addresses). */
function mentions(userIds: string[]): string {
  return userIds.map((id) => `<@${id}>`).join(' ');
}

/** Where the approvals stand, e.g. `1 of 2 approvals`. */
function progressWords(d: ApprovalRequestDetails): string {
  const v = d.elevation;
  const needed = v.approval.mode === 'approvers' ? v.approval.quorum : 0;
  return `${v.approvals.length} of ${needed} approval${needed === 1 ? '' : 's'}`;
}

/** The window's end, in the reader's time zone. */
function closesWords(d: ApprovalRequestDetails): string {
  const v = d.elevation;
  return v.approval.mode === 'approvers' ? `closes ${formatTime(v.approval.deadline)}` : 'is open';
}

/**
 * The thread line of a reminder or the escalation. `to` are the Slack ids of the people it is
 * for (the approvers who have not decided; the escalation groups' members), mentioned when given.
 */
export function renderNudgeReply(step: ApprovalNudgeStep, d: ApprovalRequestDetails, to: string[]): string {
  const who = to.length > 0 ? ` ${mentions(to)}` : '';
  const request = `${code(d.bot.id)} asks for ${code(d.role.id)}`;
  if (step.kind === 'reminder') {
    return truncate(
      `:alarm_clock: Reminder ${step.number}: ${request} and is still waiting (${progressWords(d)}); the approval window ${closesWords(d)}, in ${formatDuration(step.secondsLeft)}.${who}`,
      LIMITS.sectionText,
    );
  }
  const groups = step.groups.map((g) => escapeMrkdwn(g.name)).join(', ');
  return truncate(
    `:rotating_light: Escalated: no quorum yet (${progressWords(d)}), so ${groups} may approve ${request} from now on; the window ${closesWords(d)}.${who}`,
    LIMITS.sectionText,
  );
}

/** The direct message that tells the bot's owner about a reminder or the escalation. */
export function renderOwnerNudge(step: ApprovalNudgeStep, d: ApprovalRequestDetails): SlackContent {
  const v = d.elevation;
  const line =
    step.kind === 'reminder'
      ? `The approvers who have not decided were reminded (reminder ${step.number}, ${formatDuration(step.secondsLeft)} left; ${progressWords(d)}).`
      : `Nobody reached the quorum in time: the request was escalated to ${step.groups
          .map((g) => escapeMrkdwn(g.name))
          .join(', ')}, who may approve it from now on (${progressWords(d)}).`;
  const text = `Your bot ${code(d.bot.id)} asked for ${code(d.role.id)}: ${line} The approval window ${closesWords(d)}.`;
  return {
    text: truncate(
      `Your bot ${escapeMrkdwn(d.bot.id)}: ${step.kind === 'reminder' ? 'approvers reminded' : 'request escalated'}`,
      LIMITS.fallbackText,
    ),
    blocks: [section(truncate(text, LIMITS.sectionText)), context(`Elevation \`${escapeMrkdwn(v.id)}\``)],
  };
}
