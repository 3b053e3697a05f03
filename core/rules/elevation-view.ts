/**
 * Pure helpers on {@link ElevationView}, shared by the workflow (which owns the live state)
 * and the server (which answers a new request before the workflow has run).
 */
import type { ElevationInput, ElevationView } from '../model/elevation.js';
import { FINAL_STATUSES, workflowIdFor } from '../model/elevation.js';
import { totalQuorum } from './approval-quorum.js';
import { approvalDeadline } from './scheduled-start.js';
import { pendingEscalationView } from './approval-nudges.js';

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
    ...(input.startsAt !== undefined ? { startsAt: input.startsAt } : {}),
    approval:
      rule.mode === 'auto'
        ? { mode: 'auto' }
        : {
            mode: 'approvers',
            quorum: totalQuorum(rule.groups),
            // A scheduled request's window closes at its start at the latest.
            deadline: new Date(approvalDeadline(input, now, rule.windowSeconds)).toISOString(),
            groups: rule.groups.map((g) => ({ name: g.name, quorum: g.quorum, approved: 0 })),
            ...escalationOf(rule, now),
          },
    approvals: [],
    revokeAttempts: 0,
    ...(input.bundle
      ? {
          bundle: {
            id: input.bundle.id,
            grants: input.bundle.roles.map(({ role }) => ({
              roleId: role.id,
              targetType: role.target.type,
              status: 'pending' as const,
            })),
          },
        }
      : {}),
  };
}

/** The view's `escalation`, present when the role escalates (`approval-nudges.ts`). */
function escalationOf(rule: Parameters<typeof pendingEscalationView>[0], opensAt: number) {
  const escalation = pendingEscalationView(rule, opensAt);
  return escalation ? { escalation } : {};
}

/** Whether nothing more will happen to the elevation. */
export function isFinal(view: Pick<ElevationView, 'status'>): boolean {
  return FINAL_STATUSES.includes(view.status);
}
