/**
 * The names Elevate gives what it creates in AWS for one elevation: the attach-mode policy, the
 * credentials-mode session and the inline policy that denies a revoked session. The AWS targets
 * create them under these names, and the audit exports name them from recorded events, so both
 * read them here. In `crypto/` because an unusual elevation id is shortened with a SHA-256 of it
 * (Node's `crypto`, which the sandbox-safe core folders may not import).
 */
import { createHash } from 'node:crypto';
import { TargetInvalidError } from '../errors/target-errors.js';

/** Prefix of policy and session names: `elevate-<elevationId>`. */
export const NAME_PREFIX = 'elevate-';

/** Prefix of the inline policies that deny a revoked elevation's session (credentials mode). */
export const DENY_PREFIX = 'elevate-deny-';

/** IAM limits on names: policy names up to 128 characters, session names up to 64, both `[\w+=,.@-]`. */
export const MAX_POLICY_NAME = 128;
export const MAX_SESSION_NAME = 64;
export const NOT_NAME_CHARS = /[^\w+=,.@-]/g;

/**
 * `elevate-<elevationId>` cut to `max` characters of the characters IAM allows. Elevation ids
 * (`el_` and 24 hex digits) come out unchanged; anything else has disallowed characters
 * replaced by `-` and, if too long, is shortened with a hash of the whole id at the end, so
 * the name stays the same on every attempt and distinct ids stay distinct.
 */
export function elevationName(elevationId: string, max: number): string {
  if (!elevationId) throw new TargetInvalidError('an AWS grant needs the elevation id');
  const cleaned = elevationId.replace(NOT_NAME_CHARS, '-');
  const name = `${NAME_PREFIX}${cleaned}`;
  if (cleaned === elevationId && name.length <= max) return name;
  const hash = createHash('sha256').update(elevationId).digest('hex').slice(0, 16);
  return `${name.slice(0, max - hash.length - 1)}-${hash}`;
}

/**
 * The name of the inline policy that denies a revoked elevation's session:
 * `elevate-deny-<elevationId>` (IAM allows 128 characters).
 */
export function denyPolicyName(elevationId: string): string {
  return `${DENY_PREFIX}${elevationName(elevationId, MAX_POLICY_NAME - DENY_PREFIX.length + NAME_PREFIX.length).slice(NAME_PREFIX.length)}`;
}

/** The name of the elevation's managed policy in attach mode. */
export function policyName(elevationId: string): string {
  return elevationName(elevationId, MAX_POLICY_NAME);
}

/** The `RoleSessionName` of the elevation's session in credentials mode (at most 64 characters). */
export function sessionName(elevationId: string): string {
  return elevationName(elevationId, MAX_SESSION_NAME);
}
