/**
 * The audit payloads of extending an elevation (`extend.ts`): the extension the workflow accepted
 * and the attempts it or the API refused. Schemas in the style of `event-data.ts`.
 */
import { z } from 'zod';
import { actorSchema } from './event-data-records.js';

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
