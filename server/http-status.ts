/**
 * The HTTP status of each error code: the one place where the domain's refusals become HTTP.
 */
import type { ErrorCode } from '../core/errors/error-codes.js';

/** The status every API answer with this error code carries. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_body: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unauthenticated: 401,
  forbidden: 403,
  bot_disabled: 403,
  bot_locked: 403,
  attestation_overdue: 403,
  role_suspended: 403,
  unknown_role: 422,
  role_not_allowed: 403,
  break_glass_not_allowed: 403,
  duration_too_long: 422,
  start_out_of_range: 422,
  outside_allowed_window: 403,
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
  extension_not_allowed: 403,
  extension_too_long: 422,
  too_many_extensions: 409,
  extension_in_progress: 409,
  extension_not_pending: 409,
  too_many_requests: 429,
  service_unavailable: 503,
  internal: 500,
};

/** The HTTP status of an error with this code. */
export function httpStatusOf(err: { code: ErrorCode }): number {
  return HTTP_STATUS[err.code];
}
