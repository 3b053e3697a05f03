/**
 * Reminders and escalation as the audit trail records them (`approval.reminded`,
 * `approval.escalated`): one zod schema per event type, recorded by the workflow while a request
 * waits for approval. Pure (imports zod only): workflows import from here only with `import type`.
 */
import { z } from 'zod';
import { groupProgressSchema } from './event-data-records.js';

/** The approvers who had not decided were reminded (reminder `number`, `secondsLeft` in the window). */
export const approvalRemindedSchema = z.object({
  number: z.number(),
  secondsLeft: z.number(),
  /** Approvals counted by then. */
  approvals: z.number(),
  /** Each of the role's approver groups' progress. */
  progress: z.array(groupProgressSchema),
  /** Whether the escalation groups had joined (they are reminded too). */
  escalated: z.boolean(),
  /** When the window closes. */
  deadline: z.string(),
});

/** No quorum `afterSeconds` into the window: the escalation `groups` joined and may approve from now on. */
export const approvalEscalatedSchema = z.object({
  groups: z.array(z.string()),
  afterSeconds: z.number(),
  /** Approvals counted by then. */
  approvals: z.number(),
  /** Each of the role's approver groups' progress. */
  progress: z.array(groupProgressSchema),
  /** Each escalation group's progress (approvals already given by their members count). */
  escalationProgress: z.array(groupProgressSchema),
  /** When the window closes (unchanged by the escalation). */
  deadline: z.string(),
});
