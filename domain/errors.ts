/**
 * Errors a caller of the API can cause or meet. One class, coded; the HTTP layer turns it into
 * `{error: {code, message, field?}}` with the status it gives the code (`server/http-status.ts`).
 * Messages are written for the caller and never contain secrets.
 */
import type { Logger } from 'pino';
import type { ErrorCode } from '../core/errors/error-codes.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** True when the refusal is already in the audit trail (the HTTP layer must not add it again). */
  audited = false;
  /** When the caller may usefully try again, in seconds (sent as `Retry-After`). */
  retryAfterSeconds?: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  /** Mark as already recorded; returns itself. */
  recorded(): this {
    this.audited = true;
    return this;
  }
}

/**
 * A refused approval, denial or revocation, already audited. `reason` is the specific reason
 * recorded in the audit event (`owner_may_not_approve`, `not_needed`, ...), finer than the API
 * `code` (`approval_refused`, `approval_not_needed`, ...), so the approver is shown the same
 * reason an admin finds in the audit trail.
 */
export class RefusalError extends ApiError {
  constructor(
    code: ErrorCode,
    readonly reason: string,
    message: string,
  ) {
    super(code, message);
    this.recorded();
  }
}

/**
 * `err` as the caller sees it: an {@link ApiError} as it is, anything else (a store or Temporal
 * that cannot be reached) logged and answered as `service_unavailable`, saying what could not be
 * done (`what`: "read the audit store").
 */
export function unavailable(logger: Pick<Logger, 'error'>, err: unknown, what: string): ApiError {
  if (err instanceof ApiError) return err;
  logger.error({ err: (err as Error)?.message }, `could not ${what}`);
  return new ApiError('service_unavailable', `could not ${what} right now; try again`);
}
