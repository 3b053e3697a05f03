/**
 * Break-glass as the audit trail records it: one zod schema per event type. Every event carries
 * the elevation's id (`elevationId`), so they appear in its timeline. Pure (imports zod only):
 * workflows import from here only with `import type`.
 */
import { z } from 'zod';
import { openRecordSchema } from './event-data-records.js';
import { riskDecisionSchema } from './risk-records.js';

/** The emergency path was used: the role granted without approval, a review due by `reviewDeadline`. */
export const breakGlassActivatedSchema = z.object({
  botId: z.string(),
  roleId: z.string(),
  owner: z.string(),
  justification: z.string(),
  durationSeconds: z.number(),
  maxSeconds: z.number(),
  reviewers: z.array(z.string()),
  reviewDeadline: z.string(),
  /** The request's risk score: recorded, never acted on (`core/rules/break-glass.ts`). */
  risk: riskDecisionSchema.optional(),
});

/** A reviewer answered with MFA: confirmed (the incident closes) or rejected (the bot is locked down). */
export const breakGlassReviewedSchema = z.object({
  reviewId: z.string(),
  botId: z.string(),
  reviewer: z.string(),
  outcome: z.enum(['confirmed', 'rejected']),
  comment: z.string().nullable().optional(),
  /** After the deadline: the incident closes, the lockdown stays until an admin lifts it. */
  late: z.boolean(),
  /** Whether the bot was locked down because of this answer. */
  lockedDown: z.boolean().optional(),
  /** The MFA login's evidence. */
  evidence: openRecordSchema.nullable().optional(),
});

/** Nobody confirmed by the deadline: the bot is locked down and the incident stays open. */
export const breakGlassReviewMissedSchema = z.object({
  reviewId: z.string(),
  botId: z.string(),
  deadline: z.string(),
  reviewers: z.array(z.string()),
  lockedDown: z.boolean(),
});

/** An attempt to review that was refused (not a reviewer, the owner, no MFA, a stale link...): open. */
export const breakGlassRefusedSchema = z.looseObject({
  code: z.string().optional(),
  message: z.string().optional(),
  reviewId: z.string().optional(),
  stage: z.string().optional(),
  ip: z.string().nullable().optional(),
  evidence: openRecordSchema.nullable().optional(),
});
