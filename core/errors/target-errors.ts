/**
 * Errors a target (LDAP, later IAM and databases) reports. Each class's `name` is the
 * `ApplicationFailure.type` the workflow sees, so retry decisions are declared by name
 * (see `NON_RETRYABLE_GRANT_ERRORS` in `activity-error-types.ts`), never guessed.
 */
import { ACTIVITY_ERROR_TYPES } from './activity-error-types.js';

/** Base of every target error; `code` is a stable, machine-readable string. */
export abstract class TargetError extends Error {
  abstract readonly code: string;
  /** Whether trying again later could succeed. */
  abstract readonly retryable: boolean;
}

/** The target could not be reached: connection refused, timeout, server going away. */
export class TargetUnreachableError extends TargetError {
  override readonly name = ACTIVITY_ERROR_TYPES.unreachable;
  readonly code = 'target_unreachable';
  readonly retryable = true;
}

/** The object the role points at (e.g. the LDAP group) does not exist. */
export class TargetNotFoundError extends TargetError {
  override readonly name = ACTIVITY_ERROR_TYPES.notFound;
  readonly code = 'target_not_found';
  readonly retryable = false;
}

/** Elevate's own service account lacks the right to make this change. */
export class TargetAccessDeniedError extends TargetError {
  override readonly name = ACTIVITY_ERROR_TYPES.accessDenied;
  readonly code = 'target_access_denied';
  readonly retryable = false;
}

/** The target refused the change as malformed (bad DN syntax, schema violation). */
export class TargetInvalidError extends TargetError {
  override readonly name = ACTIVITY_ERROR_TYPES.invalid;
  readonly code = 'target_invalid';
  readonly retryable = false;
}

/** The change was sent, but reading the target back does not show it. */
export class TargetNotVerifiedError extends TargetError {
  override readonly name = ACTIVITY_ERROR_TYPES.notVerified;
  readonly code = 'target_not_verified';
  readonly retryable = true;
}

/**
 * What Elevate was about to grant, or holds granted, was made or changed by someone else: an
 * AWS policy under Elevate's name whose document is not the one Elevate would create, or that
 * has versions Elevate never makes. Not retryable (asking again finds the same object); the
 * grant is refused and the failure audited, and drift detection takes such a policy away.
 */
export class TargetTamperedError extends TargetError {
  override readonly name = ACTIVITY_ERROR_TYPES.tampered;
  readonly code = 'target_tampered';
  readonly retryable = false;
}
