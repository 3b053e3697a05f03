/**
 * Scheduled elevations (`startsAt` in the request): the rules the API, the workflow and the view
 * share. A scheduled request is approved ahead; if no decision has come by its start it expires
 * then (the approval window ends at the start at the latest), so a grant is never made later
 * than the bot asked for by waiting on approvers. A start the API accepted up to
 * {@link START_TOLERANCE_SECONDS} in the past (clocks differ) starts at once, like an immediate
 * request, and its approval window is the usual one.
 */
import type { ElevationInput } from '../model/elevation.js';

/** How far in the past a `startsAt` may be (clock skew between a bot and Elevate). */
export const START_TOLERANCE_SECONDS = 60;

/** The start of a scheduled request, in epoch milliseconds, if it is after the request. */
function futureStart(input: Pick<ElevationInput, 'startsAt' | 'requestedAt'>): number | undefined {
  if (input.startsAt === undefined) return undefined;
  const start = Date.parse(input.startsAt);
  return start > Date.parse(input.requestedAt) ? start : undefined;
}

/**
 * When the approval window of a request closes (epoch milliseconds): `windowSeconds` from `now`,
 * or the request's start if that comes first.
 */
export function approvalDeadline(
  input: Pick<ElevationInput, 'startsAt' | 'requestedAt'>,
  now: number,
  windowSeconds: number,
): number {
  const usual = now + windowSeconds * 1000;
  const start = futureStart(input);
  return start === undefined ? usual : Math.min(usual, start);
}
