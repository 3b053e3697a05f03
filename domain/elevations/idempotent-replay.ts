/**
 * Idempotent replay of a bot's request: a request that carries a `requestId` already used is
 * answered with the elevation that id started, provided it is the same request of the same bot.
 */
import type { ElevationView } from '../../core/model/elevation.js';
import { ApiError } from '../errors.js';
import { normalStart } from './schedule-check.js';

/** The fields of a request that a replay must repeat exactly. */
export interface ReplayedRequest {
  role?: string | undefined;
  bundle?: string | undefined;
  durationSeconds: number;
  justification: string;
  ticket?: string;
  requestId?: string;
  startsAt?: string;
}

/**
 * The elevation to answer a replayed request with: `existing`, when it is this bot's and the
 * request is the same.
 *
 * The elevation id is derived from (bot id, requestId), so another bot's elevation is found here
 * only through a collision of the 96-bit derivation; the bot check makes that impossible to
 * exploit rather than merely improbable (defence in depth). Such a request is refused like any
 * reused requestId, without saying whose elevation it found.
 *
 * @throws ApiError 409 `idempotency_conflict` (field `requestId`, or the field that differs)
 */
export function replayOf(existing: ElevationView, botId: string, req: ReplayedRequest): ElevationView {
  if (
    existing.botId !== botId ||
    (existing.requestId !== undefined && existing.requestId !== req.requestId)
  ) {
    throw new ApiError(
      'idempotency_conflict',
      `requestId "${req.requestId}" cannot be used for this request; use another requestId`,
      'requestId',
    );
  }
  const differs: [string, unknown, unknown][] = [
    // A bundle's elevation has the bundle's id as its roleId.
    ['role', existing.bundle ? undefined : existing.roleId, req.role],
    ['bundle', existing.bundle?.id, req.bundle],
    ['durationSeconds', existing.durationSeconds, req.durationSeconds],
    ['justification', existing.justification, req.justification],
    ['ticket', existing.ticket, req.ticket],
    // Compared as recorded (UTC, milliseconds): the same instant written another way is the same.
    ['startsAt', existing.startsAt, normalStart(req.startsAt)],
  ];
  const field = differs.find(([, a, b]) => a !== b)?.[0];
  if (field) {
    throw new ApiError(
      'idempotency_conflict',
      `requestId "${req.requestId}" was already used for a different request (${field} differs)`,
      field,
    );
  }
  return existing;
}
