/**
 * The policy's `roles[].schedule`: how far ahead a bot may schedule an elevation of the role
 * (`startsAt` in the request). Left out, a role may be scheduled up to
 * {@link DEFAULT_MAX_LEAD_SECONDS} ahead; `maxLeadSeconds: 0` allows immediate requests only.
 */
import { z } from 'zod';

/** Default lead: a week, enough for the next change window, short enough to revisit the policy. */
export const DEFAULT_MAX_LEAD_SECONDS = 7 * 24 * 3600;

/**
 * Longest lead any role may allow (30 days). A scheduled elevation is judged by the policy as it
 * is when the bot asks: a longer lead leaves longer for the policy to move on without it.
 */
export const MAX_LEAD_SECONDS = 30 * 24 * 3600;

/** `roles[].schedule`. */
export const roleScheduleSchema = z
  .object({
    maxLeadSeconds: z
      .number({ message: 'must be a whole number of seconds' })
      .int({ message: 'must be a whole number of seconds' })
      .min(0, { message: 'must be at least 0 (0: the role cannot be scheduled)' })
      .max(MAX_LEAD_SECONDS, { message: `must be at most ${MAX_LEAD_SECONDS} (30 days)` }),
  })
  .strict();

/** How far ahead (seconds) a role's elevations may be scheduled. */
export function maxLeadSecondsOf(role: { schedule?: { maxLeadSeconds: number } | undefined }): number {
  return role.schedule?.maxLeadSeconds ?? DEFAULT_MAX_LEAD_SECONDS;
}
