/**
 * Errors a caller of the API can cause or meet. One class, coded; the HTTP layer turns it into
 * `{error: {code, message, field?}}` with the status it gives the code (`server/http-status.ts`).
 * Messages are written for the caller and never contain secrets.
 */
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
