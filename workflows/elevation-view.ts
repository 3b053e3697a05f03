/**
 * Pure helpers on {@link ElevationView}, shared by the workflow (which owns the live state)
 * and the server (which answers a new request before the workflow has run).
 */
import type { ElevationInput, ElevationView, RefusalCode } from './definitions.js';
import { FINAL_STATUSES, workflowIdFor } from './definitions.js';
import { quorumProgress, totalQuorum, wouldCount } from './approval-quorum.js';

/** The view of a request that has just been accepted. `now` is epoch milliseconds. */
export function initialView(input: ElevationInput, now: number): ElevationView {
  const rule = input.role.approval;
  return {
    id: input.elevationId,
    workflowId: workflowIdFor(input.elevationId),
    status: rule.mode === 'auto' ? 'approved' : 'pending_approval',
    botId: input.bot.id,
    roleId: input.role.id,
    owner: input.bot.owner,
    environment: input.role.environment,
    durationSeconds: input.durationSeconds,
    justification: input.justification,
    ...(input.ticket !== undefined ? { ticket: input.ticket } : {}),
    ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
    requestedAt: input.requestedAt,
    approval:
      rule.mode === 'auto'
        ? { mode: 'auto' }
        : {
            mode: 'approvers',
            quorum: totalQuorum(rule.groups),
            deadline: new Date(now + rule.windowSeconds * 1000).toISOString(),
            groups: rule.groups.map((g) => ({ name: g.name, quorum: g.quorum, approved: 0 })),
          },
    approvals: [],
    revokeAttempts: 0,
  };
}

/** Whether nothing more will happen to the elevation. */
export function isFinal(view: Pick<ElevationView, 'status'>): boolean {
  return FINAL_STATUSES.includes(view.status);
}

/** Approver ids are e-mail addresses, compared case-insensitively. */
export function sameApprover(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * Why `who` may not approve the elevation now, or undefined when the approval would count. One
 * rule for both places that ask: the workflow's approve validator (which decides) and the
 * server's check before an approver is sent to log in (so nobody logs in for nothing).
 * `groups` are the approver groups `who` was found in; `now` is epoch milliseconds.
 */
export function approvalRefusal(
  view: ElevationView,
  who: string,
  groups: string[],
  ownerMayApprove: boolean,
  now: number,
): { code: RefusalCode; message: string } | undefined {
  if (isFinal(view)) return { code: 'already_ended', message: `the elevation has ended (${view.status})` };
  const approval = view.approval;
  if (view.status !== 'pending_approval' || approval.mode !== 'approvers') {
    return { code: 'not_pending', message: `the elevation is not waiting for approval (${view.status})` };
  }
  if (now >= Date.parse(approval.deadline)) {
    return { code: 'approval_window_closed', message: `the approval window closed at ${approval.deadline}` };
  }
  if (groups.length === 0) {
    return { code: 'not_eligible', message: `${who} is not in any approver group of role ${view.roleId}` };
  }
  if (!ownerMayApprove && sameApprover(who, view.owner)) {
    return {
      code: 'owner_may_not_approve',
      message: `${who} owns bot ${view.botId} and may not approve its requests`,
    };
  }
  if (view.approvals.some((r) => sameApprover(r.approver, who))) {
    return { code: 'already_approved', message: `${who} has already approved; each approver counts once` };
  }
  if (quorumProgress(approval.groups, view.approvals).met) {
    return { code: 'not_pending', message: 'the quorum has already been reached' };
  }
  if (!wouldCount(approval.groups, view.approvals, { approver: who, groups })) {
    return {
      code: 'not_needed',
      message: `every approver group ${who} belongs to (${groups.join(', ')}) already has its quorum`,
    };
  }
  return undefined;
}
