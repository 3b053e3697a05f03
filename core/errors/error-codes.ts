/** The codes of the errors a caller of the API can cause or meet (`{error: {code, …}}`). */

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
  | 'attestation_overdue' // the owner did not confirm the bot's roles by the attestation deadline
  | 'role_suspended' // the owner removed this role from the bot at an attestation
  | 'unknown_role'
  | 'role_not_allowed'
  | 'break_glass_not_allowed' // the role has no break-glass path, or it does not list this bot
  | 'duration_too_long'
  | 'start_out_of_range' // startsAt is too far ahead for the role, or in the past (422)
  | 'outside_allowed_window' // the requested window is outside the bot's allowed time windows (403)
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
  | 'extension_not_allowed' // the role does not allow extending its elevations (403)
  | 'extension_too_long' // the extension would take the elevation past the role's total cap (422)
  | 'too_many_extensions' // the elevation has had as many extensions as the role allows (409)
  | 'extension_in_progress' // another extension of the elevation is being made or awaits approvers (409)
  | 'extension_not_pending' // the extension an approval or denial names is not waiting for approvers (409)
  | 'too_many_requests' // a per-bot quota of the policy's `limits` is reached (field names it)
  | 'service_unavailable'
  | 'internal';
