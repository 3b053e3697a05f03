/**
 * The policy's `bots[].allowedWindows`: when a bot may hold a role, as wall-clock windows of the
 * week in IANA time zones (the rule that applies them is `core/rules/time-windows.ts`). A request
 * whose window (now or `startsAt`, for its duration) does not lie wholly inside them is refused
 * with 403 `outside_allowed_window` before anything starts. Left out: any time.
 */
import { z } from 'zod';
import { WEEKDAYS, isTimeZone, minutesOf } from '../core/rules/time-windows.js';

const clock = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, { message: 'must be HH:MM, 00:00 to 23:59' });

const allowedWindowSchema = z
  .object({
    /** The days the window opens on (a window crossing midnight closes on the next day). */
    days: z
      .array(z.enum(WEEKDAYS, { message: `must be one of ${WEEKDAYS.join(', ')}` }))
      .min(1, { message: 'must list at least one day' })
      .max(7)
      .refine((d) => new Set(d).size === d.length, { message: 'lists the same day twice' }),
    from: clock,
    /** `24:00` is the end of the day; a time not after `from` is on the next day. */
    to: z.union([clock, z.literal('24:00')], { message: 'must be HH:MM, 00:00 to 24:00' }),
    timeZone: z
      .string()
      .min(1)
      .max(100)
      .refine(isTimeZone, { message: 'must be an IANA time zone, e.g. Europe/Berlin or UTC' }),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (minutesOf(w.from) === minutesOf(w.to)) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: 'must differ from from (for a whole day, write from: "00:00", to: "24:00")',
      });
    }
  });

/** `bots[].allowedWindows`: one window or more; a request must fit inside them. */
export const allowedWindowsSchema = z
  .array(allowedWindowSchema)
  .min(1, { message: 'must list at least one window (leave allowedWindows out to allow any time)' })
  .max(50);

/** A bot's allowed windows, as the policy gives them. */
export type AllowedWindows = z.output<typeof allowedWindowsSchema>;
