/**
 * The parts a target builds its membership keys from (`Target.membershipKey`): one comparable
 * string per grant, so the grant ledger can lease it without knowing the target.
 *
 * The parts of a key never contain a bare `|`, so no two different grants share a key (role
 * `a|b` of login `c` is not role `a` of login `b|c`). Parts without `|` (and, for names, `\`)
 * are kept as they always were, so leases recorded before this escaping keep their keys.
 */
import { normalizeDn } from './dn.js';

/** A DN in canonical form, its `|` written as the RFC 4514 escape `\7c` (which canonical form never holds). */
export function dnKeyPart(dn: string): string {
  return normalizeDn(dn).replaceAll('|', '\\7c');
}

/** A case-sensitive name with `\` and `|` escaped by a backslash. */
export function nameKeyPart(name: string): string {
  return name.replace(/[\\|]/g, (c) => `\\${c}`);
}

/** The key made of `parts`, each already escaped with {@link dnKeyPart} or {@link nameKeyPart}. */
export function membershipKeyOf(...parts: string[]): string {
  return parts.join('|');
}
