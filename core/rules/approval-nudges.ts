/**
 * Reminders and escalation while a request waits for approval: when they happen, who may
 * approve at each point, and when the quorum counts as met. Pure, so the workflow (which
 * decides, with its deterministic clock), the server's check before an approver logs in, and the
 * approver queue page all agree.
 *
 * Escalation groups widen eligibility only once the escalation happened: before it their members
 * are refused (with the time it is due), after it their approvals count. From then on the
 * request is approved when the role's own groups meet their quorums, or when the escalation
 * groups meet theirs: escalation exists to unblock a request nobody could decide, so it never
 * makes approval harder.
 */
import type { ApprovalNudge, ApprovalNudgeRule, EscalationView } from '../model/approval-nudges.js';
import type { ApproverGroup, ElevationView } from '../model/elevation.js';
import { quorumProgress, wouldCount, type CountedApproval } from './approval-quorum.js';

/**
 * Without `remindBeforeSeconds` or `remindEverySeconds`, one reminder this many seconds before
 * the window closes...
 */
export const DEFAULT_REMIND_BEFORE_SECONDS = 300;
/** ...for windows of at least this long (a shorter window has none unless the policy asks). */
export const DEFAULT_REMINDER_MIN_WINDOW_SECONDS = 600;
/** At most this many reminders per request, whatever `remindEverySeconds` gives. */
export const MAX_REMINDERS = 20;

/** The approval rule's parts the plan reads. */
export type NudgeRule = ApprovalNudgeRule & { windowSeconds: number };

/**
 * When to remind, as seconds before the window closes, latest reminder last (descending):
 * the policy's `remindBeforeSeconds`, or every `remindEverySeconds` from the request, or the
 * default. Values outside the window are dropped; at most {@link MAX_REMINDERS}.
 */
export function reminderOffsets(rule: NudgeRule): number[] {
  const window = rule.windowSeconds;
  let offsets: number[];
  if (rule.remindBeforeSeconds !== undefined) {
    offsets = rule.remindBeforeSeconds;
  } else if (rule.remindEverySeconds !== undefined && rule.remindEverySeconds > 0) {
    offsets = [];
    for (let k = 1; window - k * rule.remindEverySeconds > 0 && offsets.length < MAX_REMINDERS; k++) {
      offsets.push(window - k * rule.remindEverySeconds);
    }
  } else {
    offsets = window >= DEFAULT_REMINDER_MIN_WINDOW_SECONDS ? [DEFAULT_REMIND_BEFORE_SECONDS] : [];
  }
  return [...new Set(offsets.filter((s) => Number.isFinite(s) && s > 0 && s < window))]
    .sort((a, b) => b - a)
    .slice(0, MAX_REMINDERS);
}

/**
 * Every reminder and the escalation of one request, in time order (epoch ms), for a window open
 * from `opensAt` to `closesAt` (shorter than the rule's `windowSeconds` when a scheduled start
 * closes it early). The escalation is planned only when it falls inside the window; a reminder
 * and the escalation at the same instant come escalation first, so the reminder reaches the new
 * group too.
 */
export function nudgePlan(rule: ApprovalNudgeRule, opensAt: number, closesAt: number): ApprovalNudge[] {
  const windowSeconds = Math.max(0, Math.floor((closesAt - opensAt) / 1000));
  const plan: ApprovalNudge[] = reminderOffsets({ ...rule, windowSeconds }).map((before, i) => ({
    kind: 'reminder',
    at: closesAt - before * 1000,
    number: i + 1,
    secondsLeft: before,
  }));
  const escalation = rule.escalation;
  if (escalation && opensAt + escalation.afterSeconds * 1000 < closesAt) {
    plan.push({ kind: 'escalation', at: opensAt + escalation.afterSeconds * 1000 });
  }
  return plan.sort((a, b) => a.at - b.at || (a.kind === 'escalation' ? -1 : 1));
}

/**
 * When a request's approval window opened (epoch ms), from its view: the escalation's due time
 * says it exactly; otherwise the window's full length before its close, or the request's time
 * when a scheduled start closed the window early.
 */
export function approvalOpenedAt(
  rule: ApprovalNudgeRule & { windowSeconds: number },
  approval: ApproverState,
  requestedAt: string,
): number {
  if (approval.escalation && rule.escalation) {
    return Date.parse(approval.escalation.dueAt) - rule.escalation.afterSeconds * 1000;
  }
  return Math.max(Date.parse(approval.deadline) - rule.windowSeconds * 1000, Date.parse(requestedAt));
}

/** The escalation as a new request's view shows it: due `afterSeconds` after the window opened. */
export function pendingEscalationView(rule: ApprovalNudgeRule, opensAt: number): EscalationView | undefined {
  const escalation = rule.escalation;
  if (!escalation) return undefined;
  return {
    dueAt: new Date(opensAt + escalation.afterSeconds * 1000).toISOString(),
    groups: escalation.groups.map((g) => ({ name: g.name, quorum: g.quorum, approved: 0 })),
  };
}

/** The approval state of a view that waits for approvers (its `approval` of mode `approvers`). */
type ApproverState = Extract<ElevationView['approval'], { mode: 'approvers' }>;

/** Whether the escalation groups have joined (false without an escalation). */
export function hasEscalated(approval: ApproverState): boolean {
  return approval.escalation?.escalatedAt !== undefined;
}

/**
 * Of the groups a person was found in, all but the escalation groups that may not approve yet
 * (see {@link waitingGroups}). Other names pass as they are: the quorum rules decide whether
 * they fill a seat.
 */
export function usableGroups(approval: ApproverState, groups: string[]): string[] {
  const waiting = new Set(waitingGroups(approval, groups));
  return groups.filter((g) => !waiting.has(g));
}

/** Of the groups a person was found in, the escalation groups that may not approve yet. */
export function waitingGroups(approval: ApproverState, groups: string[]): string[] {
  if (!approval.escalation || hasEscalated(approval)) return [];
  const own = new Set(approval.groups.map((g) => g.name));
  const escalation = new Set(approval.escalation.groups.map((g) => g.name));
  return groups.filter((g) => !own.has(g) && escalation.has(g));
}

/** Why a member of escalation groups only may not approve yet. */
export function notYetEscalatedMessage(who: string, approval: ApproverState, waiting: string[]): string {
  const due = approval.escalation?.dueAt ?? 'later';
  return `${who} is in escalation group ${waiting.join(', ')}, which may approve only after the request escalates (due at ${due}, if the quorum is not met by then); escalation widens who may approve only once its timer fired`;
}

/** Whether the approvals meet the role's groups, or the escalation groups once escalated. */
export function quorumMetWithEscalation(approval: ApproverState, approvals: CountedApproval[]): boolean {
  if (quorumProgress(approval.groups, approvals).met) return true;
  return hasEscalated(approval) && quorumProgress(approval.escalation!.groups, approvals).met;
}

/** Whether one more approval fills a seat of the role's groups, or of the escalation groups once escalated. */
export function wouldCountWithEscalation(
  approval: ApproverState,
  approvals: CountedApproval[],
  next: CountedApproval,
): boolean {
  if (wouldCount(approval.groups, approvals, next)) return true;
  return hasEscalated(approval) && wouldCount(approval.escalation!.groups, approvals, next);
}

/** The escalation groups' progress, as the view shows it. */
export function escalationProgress(
  groups: Pick<ApproverGroup, 'name' | 'quorum'>[],
  approvals: CountedApproval[],
): EscalationView['groups'] {
  return quorumProgress(groups, approvals).groups;
}
