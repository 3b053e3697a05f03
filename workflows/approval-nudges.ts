/**
 * The wait for approvers with reminders and escalation (runs that took the
 * `approval-reminders` patch): one timer per planned step, all inside the approval window, in
 * the order `core/rules/approval-nudges.ts` plans them from the rule the start input carried.
 * Deterministic: the plan depends on the input and the deadline only, and every step happens
 * at a timer, so a replay reaches the same steps at the same points of the history.
 *
 * At a reminder, the approvers who have not decided are reminded; at the escalation, the
 * escalation groups may approve from then on (the state widens eligibility only here). Each
 * step is recorded (`approval.reminded`, `approval.escalated`) and told to the bot's owner.
 */
import { condition } from '@temporalio/workflow';
import { approvalOpenedAt, nudgePlan } from '../core/rules/approval-nudges.js';
import type { AuditQueue } from './audit-queue.js';
import { SYSTEM, type ElevationState } from './elevation-state.js';
import type { NotifyQueue } from './notify-queue.js';

/**
 * Waits until a decision arrives (true) or the window closes (false), reminding and escalating
 * on the way. Steps whose time has passed already (none, for a new request) are skipped.
 */
export async function waitForDecision(
  state: ElevationState,
  audit: AuditQueue,
  notify: NotifyQueue,
): Promise<boolean> {
  const rule = state.role.approval;
  const approval = state.view.approval;
  if (rule.mode !== 'approvers' || approval.mode !== 'approvers') {
    return condition(() => state.decisionArrived(), state.approvalTimeLeft());
  }
  const deadline = Date.parse(approval.deadline);
  const opensAt = approvalOpenedAt(rule, approval, state.view.requestedAt);
  for (const step of nudgePlan(rule, opensAt, deadline)) {
    if (step.at <= Date.now()) continue;
    const untilStep = Math.max(step.at - Date.now(), 1);
    if (await condition(() => state.decisionArrived(), untilStep)) return true;
    if (Date.now() >= deadline) return false;
    if (step.kind === 'escalation') {
      const data = state.escalate();
      if (!data || rule.escalation === undefined) continue;
      audit.recordInBackground(audit.event('approval.escalated', SYSTEM, data));
      notify.nudge({ kind: 'escalation', groups: rule.escalation.groups });
    } else {
      audit.recordInBackground(
        audit.event('approval.reminded', SYSTEM, state.reminded(step.number, step.secondsLeft)),
      );
      notify.nudge({ kind: 'reminder', number: step.number, secondsLeft: step.secondsLeft });
    }
  }
  return condition(() => state.decisionArrived(), state.approvalTimeLeft());
}
