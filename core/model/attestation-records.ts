/**
 * Periodic owner attestation as the audit trail records it: one zod schema per event type
 * (`attestation.requested`, `.confirmed`, `.expired`, `.refused`). These events belong to no
 * elevation (`elevationId` null); the bot is in `botId`. Pure (imports zod only): workflows
 * import from here only with `import type`.
 */
import { z } from 'zod';
import { openRecordSchema } from './event-data-records.js';

/** The owner was asked to confirm the bot's roles by `deadline`. */
export const attestationRequestedSchema = z.object({
  attestationId: z.string(),
  botId: z.string(),
  owner: z.string(),
  roles: z.array(z.string()),
  /** Roles an earlier attestation trimmed (shown unticked). */
  trimmed: z.array(z.string()),
  deadline: z.string(),
});

/** The owner attested with MFA: the roles kept and those trimmed (refused from now on). */
export const attestationConfirmedSchema = z.object({
  attestationId: z.string(),
  botId: z.string(),
  owner: z.string(),
  kept: z.array(z.string()),
  trimmed: z.array(z.string()),
  /** Whether this answer lifted a suspension of the bot for an earlier unanswered attestation. */
  liftedSuspension: z.boolean().optional(),
  /** The MFA login's evidence. */
  evidence: openRecordSchema.nullable().optional(),
});

/** Nobody answered by the deadline: the bot's eligibility is suspended. */
export const attestationExpiredSchema = z.object({
  attestationId: z.string(),
  botId: z.string(),
  owner: z.string(),
  deadline: z.string(),
  roles: z.array(z.string()),
});

/** An attempt to attest that was refused (not the owner, no MFA, a stale link...): open, all optional. */
export const attestationRefusedSchema = z.looseObject({
  code: z.string().optional(),
  message: z.string().optional(),
  attestationId: z.string().optional(),
  botId: z.string().optional(),
  /** The step of the owner's flow that refused it (`start`, `callback`, `confirm`). */
  stage: z.string().optional(),
  ip: z.string().nullable().optional(),
  evidence: openRecordSchema.nullable().optional(),
});
