/**
 * Errors a caller of the API can cause or meet. One class, coded; the HTTP layer turns it into
 * `{error: {code, message, field?}}` with `status`. Messages are written for the caller and
 * never contain secrets.
 */
export type ErrorCode =
  | 'invalid_request' // a field is missing, malformed or out of range
  | 'invalid_json'
  | 'invalid_body' // the body could not be read: corrupt compression, a wrong length, an abort
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthenticated' // no or unknown credentials
  | 'forbidden' // valid credentials, not allowed here
  | 'bot_disabled'
  | 'bot_locked' // an admin locked the bot down (requests only; reads and revokes still work)
  | 'unknown_role'
  | 'role_not_allowed'
  | 'duration_too_long'
  | 'not_found'
  | 'method_not_allowed' // the path exists, with other methods (`Allow` lists them)
  | 'idempotency_conflict' // the requestId was used before with different parameters
  | 'already_ended'
  | 'not_pending'
  | 'already_approved' // this approver has already approved (each counts once)
  | 'approval_window_closed'
  | 'approval_refused' // this person may not approve this elevation
  | 'approval_not_needed' // every group this approver belongs to already has its quorum
  | 'insufficient_user_authentication' // the login was not MFA, or not fresh (RFC 9470)
  | 'identity_mismatch' // the login's identity is not the Slack user who clicked
  | 'approval_link_invalid' // the approval link or login is unknown, used or expired
  | 'not_active' // the elevation has not been granted yet (or is no longer active)
  | 'not_credentials_mode' // the elevation's role does not hand out credentials
  | 'credentials_gone' // the credentials were already delivered, withdrawn or expired (410)
  | 'too_many_requests' // a per-bot quota of the policy's `limits` is reached (field names it)
  | 'service_unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_body: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthenticated: 401,
  forbidden: 403,
  bot_disabled: 403,
  bot_locked: 403,
  unknown_role: 422,
  role_not_allowed: 403,
  duration_too_long: 422,
  not_found: 404,
  method_not_allowed: 405,
  idempotency_conflict: 409,
  already_ended: 409,
  not_pending: 409,
  already_approved: 409,
  approval_window_closed: 409,
  approval_refused: 403,
  approval_not_needed: 409,
  insufficient_user_authentication: 401,
  identity_mismatch: 403,
  approval_link_invalid: 400,
  not_active: 409,
  not_credentials_mode: 409,
  credentials_gone: 410,
  too_many_requests: 429,
  service_unavailable: 503,
  internal: 500,
};

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
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
    this.status = STATUS[code];
  }

  /** Mark as already recorded; returns itself. */
  recorded(): this {
    this.audited = true;
    return this;
  }
}
