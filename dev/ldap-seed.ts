/**
 * The directory layout Elevate expects, as LDIF, for tests and benchmarks: bots under
 * `ou=bots`, groups under `ou=groups`, each group seeded with the placeholder member.
 * The demo directory for the embedded runtime is the same shape, in
 * `examples/demo-directory.ldif`.
 */
import { DEFAULT_PLACEHOLDER_DN } from '../core/model/targets.js';
import { isValidDn } from '../core/rules/dn.js';

/** What {@link seedLdif} creates. */
export interface SeedContents {
  /** Bot ids; each becomes `uid=<id>,ou=bots,<suffix>`. */
  bots: string[];
  /** Group ids; each becomes `cn=<id>,ou=groups,<suffix>` holding only the placeholder. */
  groups: string[];
  /** Placeholder member of each group (default {@link DEFAULT_PLACEHOLDER_DN}). */
  placeholderDn?: string;
  /** Humans (approvers): each becomes `uid=<uid>,ou=people,<suffix>` with its `mail`. */
  people?: { uid: string; mail: string }[];
  /** Groups of people (approver groups): `cn=<id>,ou=groups,<suffix>` with the people's DNs as members. */
  peopleGroups?: { id: string; members: string[] }[];
}

/** DN of the person `uid` in the seeded layout: `uid=<uid>,ou=people,<suffix>`. */
export function personDn(suffix: string, uid: string): string {
  checkSuffix(suffix);
  checkId('person', uid);
  return `uid=${uid},ou=people,${suffix}`;
}

// Ids end up unescaped in DNs and LDIF lines, so only characters that need no escaping in
// either are accepted; anything else is refused rather than escaped.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

function checkId(kind: string, id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new Error(`${kind} id ${JSON.stringify(id)} must match ${String(ID_PATTERN)}`);
  }
}

// LDIF would need base64 for anything else (RFC 2849 SAFE-STRING), so such DNs are refused.
const LDIF_SAFE_DN = /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/;

function checkDn(kind: string, dn: string): void {
  if (!isValidDn(dn) || !LDIF_SAFE_DN.test(dn)) {
    throw new Error(`${kind} ${JSON.stringify(dn)} is not a valid DN in printable ASCII`);
  }
}

function checkSuffix(suffix: string): void {
  checkDn('suffix', suffix);
}

/** DN of the bot `id` in the seeded layout: `uid=<id>,ou=bots,<suffix>`. */
export function botDn(suffix: string, id: string): string {
  checkSuffix(suffix);
  checkId('bot', id);
  return `uid=${id},ou=bots,${suffix}`;
}

/** DN of the group `id` in the seeded layout: `cn=<id>,ou=groups,<suffix>`. */
export function groupDn(suffix: string, id: string): string {
  checkSuffix(suffix);
  checkId('group', id);
  return `cn=${id},ou=groups,${suffix}`;
}

/** The entry for the suffix itself; its object class follows the type of its first RDN. */
function suffixEntry(suffix: string): string[] {
  const match = /^\s*(dc|o|ou)\s*=\s*([A-Za-z0-9._-]+)\s*(?:,|$)/i.exec(suffix);
  if (!match?.[1] || !match[2]) {
    throw new Error(`suffix ${JSON.stringify(suffix)} must start with a simple dc=, o= or ou= RDN`);
  }
  const type = match[1].toLowerCase();
  const value = match[2];
  switch (type) {
    case 'dc':
      return [
        `dn: ${suffix}`,
        'objectClass: dcObject',
        'objectClass: organization',
        `dc: ${value}`,
        `o: ${value}`,
      ];
    case 'o':
      return [`dn: ${suffix}`, 'objectClass: organization', `o: ${value}`];
    default:
      return [`dn: ${suffix}`, 'objectClass: organizationalUnit', `ou: ${value}`];
  }
}

/**
 * LDIF for a directory with the given bots and groups, ready for `slapadd` (see
 * `startSlapd`'s `seedLdif`). Bots are `account` entries (a structural class meant for
 * service accounts; they need no password, since Elevate binds as its own account).
 *
 * @throws when the suffix is not a DN starting with `dc=`, `o=` or `ou=`, or an id contains
 *   characters other than letters, digits, `.`, `_`, `@` and `-` (or starts with one of the last four).
 */
export function seedLdif(suffix: string, contents: SeedContents): string {
  checkSuffix(suffix);
  const placeholder = contents.placeholderDn ?? DEFAULT_PLACEHOLDER_DN;
  checkDn('placeholder', placeholder);
  const entries: string[][] = [
    suffixEntry(suffix),
    [`dn: ou=bots,${suffix}`, 'objectClass: organizationalUnit', 'ou: bots'],
    [`dn: ou=groups,${suffix}`, 'objectClass: organizationalUnit', 'ou: groups'],
  ];
  for (const id of contents.bots) {
    entries.push([
      `dn: ${botDn(suffix, id)}`,
      'objectClass: account',
      `uid: ${id}`,
      'description: Elevate bot',
    ]);
  }
  if (contents.people?.length || contents.peopleGroups?.length) {
    entries.push([`dn: ou=people,${suffix}`, 'objectClass: organizationalUnit', 'ou: people']);
  }
  for (const p of contents.people ?? []) {
    if (!/^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$/.test(p.mail))
      throw new Error(`mail ${JSON.stringify(p.mail)} is not a plain address`);
    entries.push([
      `dn: ${personDn(suffix, p.uid)}`,
      'objectClass: inetOrgPerson',
      `uid: ${p.uid}`,
      `cn: ${p.uid}`,
      `sn: ${p.uid}`,
      `mail: ${p.mail}`,
    ]);
  }
  for (const g of contents.peopleGroups ?? []) {
    entries.push([
      `dn: ${groupDn(suffix, g.id)}`,
      'objectClass: groupOfNames',
      `cn: ${g.id}`,
      `member: ${placeholder}`,
      ...g.members.map((uid) => `member: ${personDn(suffix, uid)}`),
    ]);
  }
  for (const id of contents.groups) {
    entries.push([
      `dn: ${groupDn(suffix, id)}`,
      'objectClass: groupOfNames',
      `cn: ${id}`,
      `member: ${placeholder}`,
    ]);
  }
  return entries.map((lines) => `${lines.join('\n')}\n`).join('\n');
}
