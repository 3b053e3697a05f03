/** Error type names that cross the activity boundary. Part of the pure core. */

/**
 * Error type names that cross the activity boundary (`ApplicationFailure.type`). Each is the
 * `name` of an error class thrown by an activity; the workflow decides by these names alone.
 */
export const ACTIVITY_ERROR_TYPES = {
  /** The target could not be reached (network, timeout, server down). Retryable. */
  unreachable: 'TargetUnreachableError',
  /** The group (or other target object) does not exist. Not retryable. */
  notFound: 'TargetNotFoundError',
  /** Elevate's own credentials may not do this. Not retryable for grants. */
  accessDenied: 'TargetAccessDeniedError',
  /** The target rejected the request as malformed (bad DN, schema violation). Not retryable. */
  invalid: 'TargetInvalidError',
  /** The change was made but reading it back did not show it. Retryable. */
  notVerified: 'TargetNotVerifiedError',
  /** The elevation's lease was already released; a late grant must not bring it back. */
  leaseReleased: 'LeaseReleasedError',
  /**
   * What Elevate was about to grant, or holds granted, was made or changed by someone else (an
   * AWS policy under Elevate's name with another document or version). Not retryable.
   */
  tampered: 'TargetTamperedError',
} as const;

/** Grant errors that retrying cannot fix. Revocation declares none: it is never abandoned. */
export const NON_RETRYABLE_GRANT_ERRORS: string[] = [
  ACTIVITY_ERROR_TYPES.notFound,
  ACTIVITY_ERROR_TYPES.accessDenied,
  ACTIVITY_ERROR_TYPES.invalid,
  ACTIVITY_ERROR_TYPES.leaseReleased,
  ACTIVITY_ERROR_TYPES.tampered,
];
