/**
 * An approver group's `oncall`: its member is whoever is on call when someone asks, instead of a
 * `members` list or an `ldapGroup`.
 *
 * ```yaml
 * - name: sre-oncall
 *   oncall:
 *     rotation:                       # kept in the policy: each takes a turn of shiftSeconds
 *       startsAt: 2026-12-07T09:00:00Z
 *       shiftSeconds: 604800
 *       members: [ann@example.org, ben@example.org]
 * - name: db-oncall
 *   oncall: { pagerduty: { scheduleId: PABC123 } }   # or { opsgenie: { scheduleId: <uuid> } }
 * ```
 *
 * Such a group's quorum is 1: one person is on call at a time.
 */
import { z } from 'zod';
import type { OnCallSource } from '../core/model/oncall.js';

/** PagerDuty schedule ids are short upper-case codes; Opsgenie's are UUIDs. */
const scheduleId = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, { message: 'must be the schedule id (letters, digits and dashes)' });

/** The policy's `oncall` of an approver group; `email` is the policy's e-mail address schema. */
export function onCallSchema(email: z.ZodType<string>) {
  const rotation = z
    .object({
      startsAt: z
        .string()
        .datetime({ offset: true, message: 'must be an ISO 8601 instant with a time zone' }),
      shiftSeconds: z
        .number()
        .int()
        .min(60)
        .max(90 * 86_400),
      members: z.array(email).min(1, { message: 'must list at least one member' }).max(100),
    })
    .strict()
    .superRefine((r, ctx) => {
      if (new Set(r.members).size !== r.members.length) {
        ctx.addIssue({ code: 'custom', path: ['members'], message: 'lists the same person twice' });
      }
    })
    .transform((r) => ({ ...r, startsAt: new Date(r.startsAt).toISOString() }));
  return z.union(
    [
      z.object({ rotation }).strict(),
      z.object({ pagerduty: z.object({ scheduleId }).strict() }).strict(),
      z.object({ opsgenie: z.object({ scheduleId }).strict() }).strict(),
    ],
    { message: 'give one of rotation, pagerduty or opsgenie' },
  ) satisfies z.ZodType<OnCallSource, unknown>;
}
