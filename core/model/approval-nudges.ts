/**
 * Approvals that do not time out silently: when the approvers who have not decided are reminded,
 * and which groups join when nobody reached the quorum in time. Part of a role's approval rule
 * (the policy's `approval.remindBeforeSeconds`, `remindEverySeconds` and `escalation`), carried in
 * the signed start input, so the workflow's timers follow the policy as it was when the bot asked.
 * Pure types.
 */
import type { ApproverGroup } from './approver-group.js';

/**
 * After `afterSeconds` without quorum, `groups` join: notified, and able to approve from then
 * on (never before). From then the request is approved when the role's own groups meet their
 * quorums, or when the escalation groups meet theirs.
 */
export interface ApprovalEscalation {
  afterSeconds: number;
  groups: ApproverGroup[];
}

/** The reminder and escalation settings of an approval rule (all optional). */
export interface ApprovalNudgeRule {
  /** Remind this many seconds before the window closes (each one once). */
  remindBeforeSeconds?: number[];
  /** Remind every this many seconds from the request, while the window is open. */
  remindEverySeconds?: number;
  escalation?: ApprovalEscalation;
}

/** One planned step of the wait for approval: a reminder, or the escalation. `at` is epoch ms. */
export type ApprovalNudge =
  | {
      kind: 'reminder';
      at: number;
      /** 1 for the first reminder, 2 for the next... */
      number: number;
      /** Seconds left in the window when it is sent. */
      secondsLeft: number;
    }
  | { kind: 'escalation'; at: number };

/** The escalation as the elevation's view shows it (`approval.escalation`). */
export interface EscalationView {
  /** When the escalation groups join if the quorum is not met by then (ISO 8601). */
  dueAt: string;
  /** When they joined (absent until then). */
  escalatedAt?: string;
  /** Each escalation group's quorum and the approvals that count towards it so far. */
  groups: { name: string; quorum: number; approved: number }[];
}
