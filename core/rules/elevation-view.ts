/**
 * Pure helpers on {@link ElevationView}, shared by the workflow (which owns the live state)
 * and the server (which answers a new request before the workflow has run).
 */
import type { ElevationInput, ElevationView } from '../model/elevation.js';
import { FINAL_STATUSES, workflowIdFor } from '../model/elevation.js';
import { totalQuorum } from './approval-quorum.js';

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
