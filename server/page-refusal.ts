/**
 * A refusal on the human pages (approval and owner attestation): the HTTP status and API code
 * the page answers with, the specific reason the audit event records, and a hint for the person.
 * Also what a failed MFA step-up login answers, the same on both kinds of page.
 */

/** A refusal shown to the person on the page and recorded. */
export class PageRefusal extends Error {
  constructor(
    readonly status: number,
    readonly apiCode: string,
    /** Specific reason, recorded in the audit event. */
    readonly reason: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The status and API code of each step-up failure (`StepUpError.code`). */
const STEP_UP_STATUS: Record<string, [number, string]> = {
  insufficient_user_authentication: [401, 'insufficient_user_authentication'],
  login_too_old: [401, 'insufficient_user_authentication'],
  missing_auth_time: [401, 'insufficient_user_authentication'],
  missing_email: [403, 'identity_mismatch'],
  unverified_email: [403, 'identity_mismatch'],
  non_ascii_address: [403, 'identity_mismatch'],
  malformed_address: [403, 'identity_mismatch'],
  missing_identity_claim: [403, 'identity_mismatch'],
  state_mismatch: [400, 'approval_link_invalid'],
  nonce_mismatch: [400, 'approval_link_invalid'],
  token_rejected: [400, 'approval_link_invalid'],
  idp_error: [400, 'approval_link_invalid'],
};

/** What a step-up failure answers: its status and API code (a failure not listed: 400, link invalid). */
export function stepUpStatus(code: string): [number, string] {
  return STEP_UP_STATUS[code] ?? [400, 'approval_link_invalid'];
}
