/**
 * Every way an elevation can fail a bot, as a class a program can tell apart with `instanceof`
 * or `kind`, each with the exit code `elevate exec` ends with for it.
 *
 * - {@link ElevateApiError}: Elevate answered with an error (`{error: {code, message, field?}}`).
 *   - {@link ElevationRefusedError}: the request itself was refused (4xx): nothing started.
 * - {@link ElevateUnreachableError}: Elevate could not be reached, or kept failing (5xx), after retries.
 * - {@link ElevationEndedError}: the elevation ended before it became what was waited for:
 *   {@link ElevationDeniedError}, {@link ElevationExpiredError} (nobody decided in the approval
 *   window), {@link ElevationFailedError} (the grant failed), or ended otherwise (withdrawn,
 *   revoked by an admin).
 * - {@link ElevationWaitTimeoutError}: the client stopped waiting; the elevation may still be pending.
 */
import type { BotElevation, ErrorCode } from './generated.js';

/**
 * Exit codes of `elevate exec` when the command did not run (when it ran, exec exits with its
 * status). 0-5 are those of every `elevate` command.
 */
export const EXIT_CODES = {
  /** Something else went wrong (a bug, a broken answer). */
  failure: 1,
  /** The command line is wrong. */
  usage: 2,
  /** No token, a token file that cannot be read, a bad URL. */
  config: 3,
  /** Elevate refused the request (4xx: unknown role, not allowed, bot locked, over a quota…) or a later call. */
  refused: 4,
  /** Elevate could not be reached, or kept failing (5xx). */
  unreachable: 5,
  /** An approver denied the request, or policy did. */
  denied: 6,
  /** Nobody decided within the approval window. */
  expired: 7,
  /** The client stopped waiting (`--wait-timeout`); the request was withdrawn. */
  timedOut: 8,
  /** The grant failed in the target. */
  failed: 9,
  /** The elevation ended before it was active: withdrawn, or revoked by an admin. */
  ended: 10,
} as const;

/** What kind of failure an {@link ElevateError} is. */
export type ElevateErrorKind =
  'api' | 'refused' | 'unreachable' | 'denied' | 'expired' | 'failed' | 'ended' | 'timed_out';

/** The base of every error this client throws on purpose. */
export abstract class ElevateError extends Error {
  abstract readonly kind: ElevateErrorKind;
  /** The exit code `elevate exec` ends with for this failure ({@link EXIT_CODES}). */
  abstract readonly exitCode: number;
}

/** Elevate answered with an error: its HTTP status, code, message, and the field at fault. */
export class ElevateApiError extends ElevateError {
  override readonly name: string = 'ElevateApiError';
  readonly kind: ElevateErrorKind = 'api';
  readonly exitCode: number;

  constructor(
    /** The HTTP status. */
    readonly status: number,
    /** The API's error code (a string the client does not know yet is passed through). */
    readonly code: ErrorCode | (string & {}),
    message: string,
    /** The field, query parameter or header at fault, when the API names one. */
    readonly field?: string,
  ) {
    super(message);
    this.exitCode = status >= 500 ? EXIT_CODES.unreachable : EXIT_CODES.refused;
  }
}

/** The request was refused (4xx at `POST /v1/elevations`): no elevation started. */
export class ElevationRefusedError extends ElevateApiError {
  override readonly name: string = 'ElevationRefusedError';
  override readonly kind: ElevateErrorKind = 'refused';
}

/** Elevate could not be reached, timed out, or answered 5xx, on every attempt. */
export class ElevateUnreachableError extends ElevateError {
  override readonly name: string = 'ElevateUnreachableError';
  readonly kind: ElevateErrorKind = 'unreachable';
  readonly exitCode: number = EXIT_CODES.unreachable;

  constructor(
    message: string,
    /** The last HTTP status, when Elevate answered at all. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The elevation ended before it became what was waited for; `elevation` is how it ended. */
export class ElevationEndedError extends ElevateError {
  override readonly name: string = 'ElevationEndedError';
  readonly kind: ElevateErrorKind = 'ended';
  readonly exitCode: number = EXIT_CODES.ended;

  constructor(
    readonly elevation: BotElevation,
    message = `elevation ${elevation.id} ended ${elevation.status}${elevation.endReason ? ` (${elevation.endReason})` : ''} before it was active`,
  ) {
    super(message);
  }
}

/** The request was denied (by an approver, or by policy on its risk score). */
export class ElevationDeniedError extends ElevationEndedError {
  override readonly name: string = 'ElevationDeniedError';
  override readonly kind: ElevateErrorKind = 'denied';
  override readonly exitCode: number = EXIT_CODES.denied;

  constructor(elevation: BotElevation) {
    super(elevation, `elevation ${elevation.id} of role ${elevation.roleId} was denied`);
  }
}

/** Nobody decided within the approval window. */
export class ElevationExpiredError extends ElevationEndedError {
  override readonly name: string = 'ElevationExpiredError';
  override readonly kind: ElevateErrorKind = 'expired';
  override readonly exitCode: number = EXIT_CODES.expired;

  constructor(elevation: BotElevation) {
    super(
      elevation,
      `elevation ${elevation.id} of role ${elevation.roleId} expired: nobody approved it within the approval window`,
    );
  }
}

/** The grant failed in the target (or the request could not be verified by the worker). */
export class ElevationFailedError extends ElevationEndedError {
  override readonly name: string = 'ElevationFailedError';
  override readonly kind: ElevateErrorKind = 'failed';
  override readonly exitCode: number = EXIT_CODES.failed;

  constructor(elevation: BotElevation) {
    super(
      elevation,
      `elevation ${elevation.id} of role ${elevation.roleId} failed${elevation.endReason ? ` (${elevation.endReason})` : ''}: the role could not be granted`,
    );
  }
}

/** The client stopped waiting; `elevation` is the last status it saw (still in progress). */
export class ElevationWaitTimeoutError extends ElevateError {
  override readonly name: string = 'ElevationWaitTimeoutError';
  readonly kind: ElevateErrorKind = 'timed_out';
  readonly exitCode: number = EXIT_CODES.timedOut;

  constructor(
    readonly elevation: BotElevation,
    readonly timeoutMs: number,
  ) {
    super(
      `gave up waiting for elevation ${elevation.id} after ${Math.round(timeoutMs / 1000)} s; it was ${elevation.status.replace('_', ' ')}`,
    );
  }
}

/** The error for an elevation that ended in `elevation.status` while something else was waited for. */
export function endedError(elevation: BotElevation): ElevationEndedError {
  switch (elevation.status) {
    case 'denied':
      return new ElevationDeniedError(elevation);
    case 'expired':
      return new ElevationExpiredError(elevation);
    case 'failed':
      return new ElevationFailedError(elevation);
    default:
      return new ElevationEndedError(elevation);
  }
}
