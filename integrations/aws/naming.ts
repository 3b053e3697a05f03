/**
 * How Elevate reads and writes ARNs in AWS IAM: the path of its policies, the ARN of a bot's role
 * or user, and an Elevate policy's elevation from its ARN. The names themselves (one per
 * elevation, so the name says whose it is) are in `core/crypto/aws-names.ts`, which the audit
 * exports read too.
 */
import { TargetInvalidError } from '../../core/errors/target-errors.js';
import { NAME_PREFIX } from '../../core/crypto/aws-names.js';
import { membershipKeyOf, nameKeyPart } from '../../core/rules/membership-key.js';

/** The path every policy Elevate creates lives under; nothing else should use it. */
export const POLICY_PATH = '/elevate/';

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
 * The elevation an attach-mode policy belongs to, read from its ARN: for
 * `arn:<partition>:iam::<account>:policy/elevate/elevate-<id>` it is `<id>`, exactly as it stands
 * after `elevate-`. Anything else is not an Elevate policy and gives `undefined`: another path
 * (`/elevate/x/` included), another name, an AWS-managed policy, a malformed ARN.
 *
 * Elevation ids (`el_` and 24 hex digits) come back as they went in. An id that
 * `policyName` had to clean or shorten comes back in that form, so compare with what
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

/**
 * The lease key of an AWS grant: `aws-iam|<mode>|<principal>|<elevationId>`. Each elevation has
 * its own grant (its own policy or session), so the key names the elevation.
 */
export function awsMembershipKey(
  mode: 'attach' | 'credentials',
  principal: string,
  elevationId: string,
): string {
  return membershipKeyOf('aws-iam', mode, nameKeyPart(principal), elevationId);
}
