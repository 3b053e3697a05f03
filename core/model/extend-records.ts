/**
 * The audit payloads of extending an elevation (`extend.ts`): the extension the workflow accepted
 * and the attempts it or the API refused. Schemas in the style of `event-data.ts`.
 */
import { z } from 'zod';
import { actorSchema, groupProgressSchema } from './event-data-records.js';

/**
 * An active elevation's window moved: from `from` to `to` (ISO 8601), by `durationSeconds`, at
 * the request of the actor (the bot or an admin), with their justification; `extensions` and
 * `lifetimeSeconds` count what the elevation has had so far, this one included, against the
 * role's `maxTotalSeconds`. `rescheduled` says whether the worker's expiry revoker moved with it.
 */
export const elevationExtendedSchema = z.object({
  from: z.string(),
  to: z.string(),
  durationSeconds: z.number(),
  justification: z.string().nullable(),
  requestedBy: actorSchema,
  extensions: z.number(),
  lifetimeSeconds: z.number(),
  maxTotalSeconds: z.number(),
  rescheduled: z.boolean().optional(),
  /** An extension approvers approved (`approval: same-as-request`): its number and who approved it. */
  extension: z.number().optional(),
  approvers: z.array(z.string()).optional(),
});

/**
 * An extension asked for that waits for approvers (`approval: same-as-request`): extension
 * `number` of this elevation, by `durationSeconds`, until `deadline` at the latest.
 */
export const extensionRequestedSchema = z.object({
  number: z.number(),
  durationSeconds: z.number(),
  justification: z.string().nullable(),
  requestedBy: actorSchema,
  deadline: z.string(),
  quorum: z.number(),
  progress: z.array(groupProgressSchema),
});

/**
 * An extension that waited for approvers ended without moving the window: `denied` (by the
 * event's actor, `reason`), `expired` (no quorum by its deadline, or the elevation ended first),
 * or `failed` (approved, but the new end could not be put in force: `reason` says why).
 */
export const extensionClosedSchema = z.object({
  number: z.number(),
  outcome: z.enum(['denied', 'expired', 'failed']),
  durationSeconds: z.number(),
  reason: z.string().nullable(),
  /** Approvals counted by then. */
  approvals: z.number(),
  deadline: z.string(),
});

/** An extension refused, by the API or by the workflow (open object, as every refusal). */
export const extendRefusedSchema = z.looseObject({
  code: z.string().optional(),
  message: z.string().optional(),
  ip: z.string().nullable().optional(),
  userAgent: z.string().nullable().optional(),
  /** The seconds asked for. */
  durationSeconds: z.number().optional(),
  justification: z.string().optional(),
  /** The elevation's status when refused. */
  status: z.string().nullable().optional(),
  field: z.string().nullable().optional(),
});
