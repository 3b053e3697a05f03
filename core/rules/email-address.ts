/**
 * E-mail addresses as Elevate compares them: approvers, admins and bot owners are named by
 * address, and the same person arrives through Slack, the identity provider, LDAP and the
 * policy file. Pure (no Node imports), so the workflow's validators use it too.
 *
 * The rule is deliberately narrow: an address counts only when it is printable ASCII as given
 * (after trimming surrounding spaces), with one `@` between a non-empty local part and domain,
 * at most 320 characters. Its canonical form is then the ASCII lower case.
 *
 * Why not NFKC and Unicode case folding: folding is lossy, and lossy in the attacker's favour.
 * `K` (U+212A KELVIN SIGN) lower-cases to ASCII `k`, full-width and compatibility forms NFKC to
 * ASCII, and Cyrillic `а` looks like Latin `a` without folding to it. Each is a way for an
 * address the identity provider or a directory lets someone choose to compare equal to, or be
 * shown as, someone else's. An ASCII string is already NFKC-stable and its case folding is
 * plain ASCII lower-casing, so accepting ASCII only gives the same answer as "NFKC + case-fold,
 * refuse if anything changed or if scripts mix" without a confusables table to keep current.
 * Internationalised addresses (RFC 6531) are therefore refused (`non_ascii_address`); an
 * internationalised *domain* still works in its ASCII (`xn--`) form.
 */

/** Why an address is refused. */
export type AddressProblem = 'non_ascii_address' | 'malformed_address';

/** The canonical form of an address, or why it has none. */
export type CanonicalAddress =
  { ok: true; address: string } | { ok: false; problem: AddressProblem; message: string };

/** Longest address accepted (RFC 5321's 64 + 1 + 255, rounded as the rest of Elevate does). */
export const MAX_ADDRESS_LENGTH = 320;

/**
 * The canonical (trimmed, ASCII lower-case) form of `raw`, or the reason it is refused. See the
 * module comment for the rule and why it is ASCII only.
 */
export function canonicalAddress(raw: unknown): CanonicalAddress {
  if (typeof raw !== 'string') return malformed('an e-mail address must be text');
  const trimmed = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  // Checked before anything else: a non-ASCII address is refused by name, whatever else is wrong.
  if (/[^\x00-\x7f]/.test(trimmed)) {
    return {
      ok: false,
      problem: 'non_ascii_address',
      message: `the e-mail address ${JSON.stringify(trimmed.slice(0, 80))} contains non-ASCII characters, which can imitate another address; only ASCII addresses are accepted`,
    };
  }
  if (trimmed.length === 0 || trimmed.length > MAX_ADDRESS_LENGTH)
    return malformed(`an e-mail address must have 1 to ${MAX_ADDRESS_LENGTH} characters`);
  // Controls and spaces: OpenLDAP stops comparing at a NUL, and no real address holds them.
  if (/[\x00-\x20\x7f]/.test(trimmed))
    return malformed('an e-mail address must not contain spaces or control characters');
  const at = trimmed.indexOf('@');
  if (at <= 0 || at !== trimmed.lastIndexOf('@') || at === trimmed.length - 1)
    return malformed('an e-mail address must have one @ between a local part and a domain');
  return { ok: true, address: trimmed.toLowerCase() };
}

/** The canonical form of `raw`, or undefined when it is refused. */
export function canonicalOrUndefined(raw: unknown): string | undefined {
  const c = canonicalAddress(raw);
  return c.ok ? c.address : undefined;
}

/**
 * Whether two addresses name the same person: both acceptable and equal in canonical form. An
 * address that is refused equals nothing, not even itself, so a look-alike never matches.
 */
export function sameAddress(a: unknown, b: unknown): boolean {
  const x = canonicalOrUndefined(a);
  return x !== undefined && x === canonicalOrUndefined(b);
}

function malformed(message: string): CanonicalAddress {
  return { ok: false, problem: 'malformed_address', message };
}
