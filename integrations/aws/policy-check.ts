/**
 * Whether a managed policy found under Elevate's name (`/elevate/elevate-<elevationId>`) is the
 * one Elevate makes for the elevation, so that Elevate never attaches (or keeps attached) a
 * policy someone else wrote there. Pure: the caller reads the policy from IAM.
 *
 * Elevate's own policy is recognised by its content, not by who made it or by a tag: a policy
 * whose document is exactly the role's document with the expiry Elevate adds, ending no later
 * than the elevation's window allows, grants nothing the approvers did not approve, whoever
 * created it. This is also how a retried grant recognises the policy its first attempt created
 * (the expiry then counts from that attempt, so it ends earlier, never later). A tag or a
 * description proves nothing (anyone who can create the policy can copy them), and an HMAC tag
 * would need a key the workers do not have and `iam:TagPolicy`.
 *
 * Elevate's policy always has exactly one version, the default. It is `v1` until the elevation is
 * extended; an extension (`IamPolicies.moveExpiry`) checks the default version's document
 * against the role's, writes the moved expiry as a new default version and deletes the old one,
 * so the policy again has one version, the one the extension reported. IAM versions cannot be
 * edited and IAM never gives a version id twice (ids only count up), so once a version has been
 * checked against the role's document, any later change to what the policy allows
 * (`CreatePolicyVersion`, `SetDefaultPolicyVersion`) shows as another version id:
 * {@link versionProblem}, told which version Elevate wrote last, detects it without the role's
 * document (drift detection has none). Which version that is, the worker keeps with the
 * extended window's end (`activities/extend.ts`); a policy never extended has `v1`.
 */
import { createHash } from 'node:crypto';
import { expiryCondition, iamTime, isObject, policyText, type Json } from './policy-document.js';

/** The version an Elevate policy is created with, and keeps until its elevation is extended. */
export const ELEVATE_POLICY_VERSION = 'v1';

/** One version of a managed policy, as `ListPolicyVersions` lists it. */
export interface PolicyVersionInfo {
  versionId: string;
  isDefault: boolean;
}

/**
 * What is wrong with a policy's versions for an Elevate policy whose version is `expected` (the
 * one the elevation's last extension wrote, `v1` when it was never extended): `undefined` when
 * `expected` is its only version and the default, else a sentence saying what was found.
 */
export function versionProblem(
  versions: PolicyVersionInfo[],
  defaultVersionId: string | undefined,
  expected: string = ELEVATE_POLICY_VERSION,
): string | undefined {
  const ids = versions.map((v) => v.versionId).sort();
  if (defaultVersionId !== expected) {
    return `its default version is ${defaultVersionId ?? '(none)'}, not ${expected}: someone else created or chose another version`;
  }
  if (ids.length !== 1 || ids[0] !== expected || versions[0]?.isDefault !== true) {
    return `it has the versions ${ids.join(', ') || '(none)'}, where Elevate's policy has only ${expected}`;
  }
  return undefined;
}

/** The first 16 hex digits of the SHA-256 of a stored document, to name it in messages and events. */
export function documentFingerprint(stored: string): string {
  return createHash('sha256').update(policyText(stored)).digest('hex').slice(0, 16);
}

/**
 * The latest `aws:CurrentTime` limit of a `DateLessThan` in the `Allow` statements (any spelling
 * of the key, several values ORed), in ms; `undefined` when there is none, `NaN` when one is not
 * a date.
 */
function latestExpiry(statements: Json[]): number | undefined {
  let latest: number | undefined;
  for (const statement of statements) {
    if (statement['Effect'] !== 'Allow') continue;
    const condition = statement['Condition'];
    const lessThan = isObject(condition) ? condition['DateLessThan'] : undefined;
    if (!isObject(lessThan)) continue;
    for (const [key, given] of Object.entries(lessThan)) {
      if (key.toLowerCase() !== 'aws:currenttime') continue;
      for (const value of Array.isArray(given) ? given : [given]) {
        const at = Date.parse(String(value));
        if (Number.isNaN(at)) return Number.NaN;
        latest = latest === undefined ? at : Math.max(latest, at);
      }
    }
  }
  return latest;
}

/** Deep equality of parsed JSON; object keys in any order, arrays in order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]))
    );
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]))
    );
  }
  return a === b;
}

/**
 * Whether `stored` (a policy version's document as IAM returns it) is `document`, whitespace and
 * key order aside: an extension retried after it wrote the moved expiry finds nothing to do.
 */
export function sameDocument(stored: string, document: string): boolean {
  try {
    return sameJson(JSON.parse(policyText(stored)), JSON.parse(document));
  } catch {
    return false;
  }
}

/**
 * What is wrong with `stored` (a policy version's document as IAM returns it) for the policy
 * Elevate makes from `roleDocument`: `undefined` when it is exactly
 * `expiryCondition(roleDocument, T)` for an expiry `T` no later than `notAfter` (rounded up to
 * the second as IAM conditions are written), else a sentence saying what differs. Whitespace and
 * key order do not matter; everything else does.
 *
 * @throws {TargetInvalidError} when `roleDocument` itself is not a policy document (the grant
 *   refuses it before any call to AWS).
 */
export function documentProblem(stored: string, roleDocument: string, notAfter: Date): string | undefined {
  const fingerprint = documentFingerprint(stored);
  let parsed: unknown;
  try {
    parsed = JSON.parse(policyText(stored));
  } catch {
    return `its document (SHA-256 ${fingerprint}…) is not JSON`;
  }
  if (!isObject(parsed)) return `its document (SHA-256 ${fingerprint}…) is not a JSON object`;
  const raw = parsed['Statement'];
  const statements = (Array.isArray(raw) ? raw : [raw]).filter(isObject);
  const latest = latestExpiry(statements);
  if (latest !== undefined && Number.isNaN(latest)) {
    return `its document (SHA-256 ${fingerprint}…) has an aws:CurrentTime limit that is not a date`;
  }
  const bound = Date.parse(iamTime(notAfter));
  if (latest !== undefined && latest > bound) {
    return `its document allows access until ${iamTime(new Date(latest))}, later than the elevation's window allows (${iamTime(notAfter)})`;
  }
  const expected = JSON.parse(expiryCondition(roleDocument, new Date(latest ?? bound))) as unknown;
  if (!sameJson(parsed, expected)) {
    return `its document (SHA-256 ${fingerprint}…) is not the role's document with Elevate's expiry`;
  }
  return undefined;
}
