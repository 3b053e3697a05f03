/**
 * The time checks of a bot's request, made before anything starts: a scheduled start
 * (`startsAt`) must lie between now, less a small tolerance, and the role's
 * `schedule.maxLeadSeconds` ahead (422 `start_out_of_range`); and the requested window, from the
 * start (now, or `startsAt`) for `durationSeconds`, must lie inside the bot's `allowedWindows`
 * (403 `outside_allowed_window`, naming the next allowed window that can hold it).
 */
import { maxLeadSecondsOf } from '../../config/schedule-policy.js';
import type { BotPolicy, RolePolicy } from '../../config/policy.js';
import { START_TOLERANCE_SECONDS } from '../../core/rules/scheduled-start.js';
import { checkAllowedWindows, describeOccurrence, describeWindow } from '../../core/rules/time-windows.js';
import { ApiError } from '../errors.js';

/** The request's time fields. */
export interface TimedRequest {
  durationSeconds: number;
  /** RFC 3339, as the API validated it. */
  startsAt?: string | undefined;
}

/** `startsAt` in the form the elevation records it: UTC, milliseconds (`toISOString`). */
export function normalStart(startsAt: string | undefined): string | undefined {
  return startsAt === undefined ? undefined : new Date(startsAt).toISOString();
}

/**
 * Checks the request's start and window against the role's lead and the bot's allowed windows
 * at `now`; returns its start, normalised (undefined for an immediate request).
 *
 * @throws ApiError 422 `start_out_of_range` (`startsAt`), 403 `outside_allowed_window`
 *   (`startsAt`, or `durationSeconds` when the window is open at the start but closes too soon)
 */
export function checkRequestTime(
  bot: Pick<BotPolicy, 'id' | 'allowedWindows'>,
  role: Pick<RolePolicy, 'id' | 'schedule'>,
  req: TimedRequest,
  now: Date,
): string | undefined {
  const startsAt = normalStart(req.startsAt);
  const nowMs = now.getTime();
  let start = nowMs;
  if (startsAt !== undefined) {
    const at = Date.parse(startsAt);
    const lead = Math.round((at - nowMs) / 1000);
    if (at < nowMs - START_TOLERANCE_SECONDS * 1000) {
      throw new ApiError(
        'start_out_of_range',
        `startsAt ${startsAt} is ${-lead} s in the past; send a time to come, or leave startsAt out to start as soon as approved`,
        'startsAt',
      );
    }
    const maxLead = maxLeadSecondsOf(role);
    if (lead > maxLead) {
      throw new ApiError(
        'start_out_of_range',
        maxLead === 0
          ? `role ${role.id} cannot be scheduled; leave startsAt out`
          : `startsAt must be at most ${maxLead} s ahead for role ${role.id} (it is ${lead} s ahead); latest ${new Date(nowMs + maxLead * 1000).toISOString()}`,
        'startsAt',
      );
    }
    start = Math.max(at, nowMs);
  }
  if (bot.allowedWindows) {
    const end = start + req.durationSeconds * 1000;
    const check = checkAllowedWindows(bot.allowedWindows, start, end);
    if (!check.ok) {
      const what = startsAt === undefined ? 'now' : `at ${startsAt}`;
      const windows = bot.allowedWindows.map(describeWindow).join('; ');
      const why =
        check.reason === 'ends_outside' && check.current
          ? `a window of ${req.durationSeconds} s starting ${what} runs past the end of the allowed window (${describeOccurrence(check.current)})`
          : `a window starting ${what} is outside the allowed windows`;
      const next = check.next
        ? `next allowed window that can hold ${req.durationSeconds} s: ${describeOccurrence(check.next)}; send startsAt to schedule it there`
        : `no allowed window is long enough for ${req.durationSeconds} s`;
      throw new ApiError(
        'outside_allowed_window',
        `bot ${bot.id} may hold roles only in its allowed windows (${windows}): ${why}; ${next}`,
        check.reason === 'ends_outside' ? 'durationSeconds' : 'startsAt',
      );
    }
  }
  return startsAt;
}
