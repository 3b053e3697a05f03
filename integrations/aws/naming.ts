/**
 * How Elevate names what it creates in AWS IAM, and how it reads ARNs: the path and names of its
 * policies and sessions (one per elevation, so the name says whose it is), the ARN of a bot's
 * role or user, and an Elevate policy's elevation from its ARN.
 */
import { createHash } from 'node:crypto';
import { TargetInvalidError } from '../../core/errors/target-errors.js';

/** The path every policy Elevate creates lives under; nothing else should use it. */
export const POLICY_PATH = '/elevate/';

/** Prefix of policy and session names: `elevate-<elevationId>`. */
export const NAME_PREFIX = 'elevate-';

/** IAM limits on names: policy names up to 128 characters, session names up to 64, both `[\w+=,.@-]`. */
export const MAX_POLICY_NAME = 128;
export const MAX_SESSION_NAME = 64;
export const NOT_NAME_CHARS = /[^\w+=,.@-]/g;

export const ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,128})$/;

/** A managed policy: customer-managed (12-digit account) or AWS-managed (`aws`), with its path. */
export const POLICY_ARN =
  /^arn:aws[a-z-]*:iam::(\d{12}|aws):policy(\/(?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,128})$/;

/** Inline policy names: up to 128 of the characters IAM allows in names. */
export const INLINE_NAME = /^[\w+=,.@-]{1,128}$/;

/** The IAM role or user a bot acts as, taken apart from its ARN. */
export interface AwsPrincipal {
  arn: string;
  partition: string;
  account: string;
  kind: 'role' | 'user';
  /** The name without the path, as IAM's API calls want it. */
  name: string;
}

/**
 * Parses the ARN of an IAM role or user (`arn:aws:iam::123456789012:role/path/name`).
 *
 * @throws {TargetInvalidError} for anything else: groups, assumed-role sessions, other services.
 */
export function parsePrincipal(arn: string): AwsPrincipal {
  const m = ARN.exec(arn);
  if (!m) {
    throw new TargetInvalidError(
      `AWS principal ${JSON.stringify(arn)} is not the ARN of an IAM role or user (arn:aws:iam::<account>:role/<name> or :user/<name>)`,
    );
  }
  const [, partition = '', account = '', kind, , name = ''] = m;
  return { arn, partition, account, kind: kind === 'user' ? 'user' : 'role', name };
}

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

/** Prefix of the inline policies that deny a revoked elevation's session (credentials mode). */
export const DENY_PREFIX = 'elevate-deny-';

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

/**
 * The elevation an attach-mode policy belongs to, read from its ARN: for
 * `arn:<partition>:iam::<account>:policy/elevate/elevate-<id>` it is `<id>`, exactly as it stands
 * after `elevate-`. Anything else is not an Elevate policy and gives `undefined`: another path
 * (`/elevate/x/` included), another name, an AWS-managed policy, a malformed ARN.
 *
 * Elevation ids (`el_` and 24 hex digits) come back as they went in. An id that
 * {@link policyName} had to clean or shorten comes back in that form, so compare with what
 * `policyName(id)` names rather than with the id itself when ids may be unusual.
 */
export function elevationIdOfPolicy(policyArn: string): string | undefined {
  const m = POLICY_ARN.exec(policyArn);
  if (!m) return undefined;
  const [, account, path, name = ''] = m;
  // Elevate creates its policies in the bot's account, never as AWS-managed ones.
  if (account === 'aws' || path !== POLICY_PATH || !name.startsWith(NAME_PREFIX)) return undefined;
  const id = name.slice(NAME_PREFIX.length);
  return id.length > 0 ? id : undefined;
}

/** The path of a managed policy from its ARN (`…:policy/service-role/X` → `/service-role/`). */
export function policyPathOf(policyArn: string): string {
  const at = policyArn.indexOf(':policy/');
  if (at < 0) return '/';
  const resource = policyArn.slice(at + ':policy'.length);
  return resource.slice(0, resource.lastIndexOf('/') + 1);
}

/** The name at the end of a managed policy's ARN. */
export function policyNameOf(policyArn: string): string {
  return policyArn.slice(policyArn.lastIndexOf('/') + 1);
}
