/**
 * Errors a caller of the API can cause or meet. One class, coded; the HTTP layer turns it into
 * `{error: {code, message, field?}}` with the status it gives the code (`server/http-status.ts`).
 * Messages are written for the caller and never contain secrets.
 *
 * A refusal is recorded in the audit trail exactly once: by the domain when it refuses (it
 * throws an {@link AuditedRefusal}, which can only be made from the receipt of the refusal
 * recorder), else by the HTTP layer for any other 4xx of a known caller.
 */
import type { Logger } from 'pino';
import type { ErrorCode } from '../core/errors/error-codes.js';
import type { RefusalEventType } from '../core/model/event-data.js';

/** Brands a {@link RefusalReceipt}: no object literal has it, so no look-alike type-checks. */
declare const issuedByRecorder: unique symbol;

/**
 * Proof that a refusal went to the audit trail (appended, or counted into a summary of refusals
 * before authentication; a store that failed was logged loudly instead). Only
 * `AuditService.recordRefusal` issues one.
 */
export interface RefusalReceipt {
  /** The event type the refusal was recorded as. */
  readonly type: RefusalEventType;
  readonly [issuedByRecorder]: true;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** When the caller may usefully try again, in seconds (sent as `Retry-After`). */
  retryAfterSeconds?: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * A refusal already in the audit trail: made from the recorder's {@link RefusalReceipt}, so
 * whoever answers it (the HTTP error handler, the approval pages) does not record it again.
 */
export class AuditedRefusal extends ApiError {
  constructor(
    /** What the recorder recorded. */
    readonly receipt: RefusalReceipt,
    code: ErrorCode,
    message: string,
    field?: string,
  ) {
    super(code, message, field);
  }
}

/**
 * A refused approval, denial or revocation, already audited. `reason` is the specific reason
 * recorded in the audit event (`owner_may_not_approve`, `not_needed`, ...), finer than the API
 * `code` (`approval_refused`, `approval_not_needed`, ...), so the approver is shown the same
 * reason an admin finds in the audit trail.
 */
export class RefusalError extends AuditedRefusal {
  constructor(
    receipt: RefusalReceipt,
    code: ErrorCode,
    readonly reason: string,
    message: string,
    field?: string,
  ) {
    super(receipt, code, message, field);
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
