/**
 * Approver groups kept in LDAP: is this person a member of this group, and as which entry?
 * Asked when someone approves (never cached), so removing a person from the group takes effect
 * at once.
 *
 * Two searches: the group's `member` values, and the entries whose join attribute holds the
 * person's value (under a base DN, by default the `dc=` suffix of the group). The join attribute
 * is `mail` unless configured (`LDAP_APPROVER_JOIN_ATTRIBUTE`, e.g. `uid` or `entryUUID`, with
 * the value the identity provider asserts); a person known only by address (a Slack click before
 * the login) is looked up by `mail`. The person counts when exactly one entry holds the value,
 * that entry holds it once, and the entry is a member: a value on several entries, or several
 * values on one entry, is refused as {@link AmbiguousIdentityError} — people may be able to
 * write their own `mail`, and must not thereby lend their membership to another address.
 * Filter values are escaped by ldapts' filter classes, never concatenated into a filter string.
 */
import { Client, EqualityFilter, NoSuchObjectError, SizeLimitExceededError, type Entry } from 'ldapts';
import { AmbiguousIdentityError, type DirectoryPerson } from '../../core/ports/approver-directory.js';
import type { ApproverDirectory, PeopleDirectory } from '../../core/ports/approver-directory.js';
import { canonicalOrUndefined } from '../../core/rules/email-address.js';
import { normalizeDn } from '../../core/rules/dn.js';

export interface LdapApproverDirectoryOptions {
  url: string;
  bindDn: string;
  bindPassword: string;
  /** Where people are searched (default: the trailing `dc=` RDNs of each group's DN). */
  peopleBaseDn?: string;
  /**
   * The attribute that joins a person to their entry when the identity provider asserted a
   * value for it (`LDAP_APPROVER_JOIN_ATTRIBUTE`, default `mail`). Choose one people cannot
   * write themselves.
   */
  joinAttribute?: string;
  timeoutMs?: number;
}

/** The trailing `dc=` components of a DN, e.g. `dc=example,dc=org`; else the DN's parent. */
export function suffixOf(dn: string): string {
  // Split on the commas between RDNs only; the canonical form escapes any comma in a value.
  const rdns = normalizeDn(dn).match(/(?:\\.|[^\\,])+/g) ?? [];
  let i = rdns.length;
  while (i > 0 && rdns[i - 1]!.startsWith('dc=')) i -= 1;
  return i < rdns.length ? rdns.slice(i).join(',') : rdns.slice(1).join(',');
}

export class LdapApproverDirectory implements ApproverDirectory, PeopleDirectory {
  private readonly joinAttribute: string;

  constructor(private readonly opts: LdapApproverDirectoryOptions) {
    this.joinAttribute = opts.joinAttribute ?? 'mail';
    if (!ATTRIBUTE_NAME.test(this.joinAttribute)) {
      throw new Error(
        `the LDAP join attribute must be an attribute name, not ${JSON.stringify(this.joinAttribute)}`,
      );
    }
  }

  /** Whether the directory answers and accepts the bind (for health checks). */
  async ping(): Promise<void> {
    await this.session(() => Promise.resolve());
  }

  /** Whether the person with this address is a member of the group (looked up by `mail`). */
  async isMember(groupDn: string, email: string): Promise<boolean> {
    return (await this.memberEntry(groupDn, { email })) !== undefined;
  }

  /**
   * The normalised DN of the person's entry when that entry is a member of the group, else
   * undefined. Throws {@link AmbiguousIdentityError} when the value is held by several entries
   * or several times by one; an address or value that is not acceptable matches nobody.
   */
  async memberEntry(groupDn: string, person: DirectoryPerson): Promise<string | undefined> {
    const byJoin = person.joinValue !== undefined && this.joinAttribute.toLowerCase() !== 'mail';
    const attribute = byJoin ? this.joinAttribute : 'mail';
    // An address must be canonical (ASCII, one @): a look-alike or a NUL-truncated value matches nobody.
    const value = byJoin ? joinValueOf(person.joinValue) : canonicalOrUndefined(person.email);
    return this.session(async (client) => {
      const members = await this.members(client, groupDn);
      if (members.length === 0 || value === undefined) return undefined;
      const memberSet = new Set(members.map((m) => safeNormalize(m)));
      let people: Entry[];
      try {
        ({ searchEntries: people } = await client.search(this.opts.peopleBaseDn ?? suffixOf(groupDn), {
          scope: 'sub',
          filter: new EqualityFilter({ attribute, value }),
          attributes: [attribute],
          sizeLimit: 2,
        }));
      } catch (err) {
        if (err instanceof SizeLimitExceededError) people = [{ dn: '' }, { dn: '' }];
        else throw err;
      }
      if (people.length > 1) {
        throw new AmbiguousIdentityError(
          `${attribute} ${JSON.stringify(value)} is held by several directory entries, so it does not say who the person is`,
        );
      }
      const entry = people[0];
      if (entry === undefined) return undefined;
      const held = valuesOf(entry, attribute);
      if (held.length > 1) {
        throw new AmbiguousIdentityError(
          `the directory entry holding ${attribute} ${JSON.stringify(value)} has ${held.length} ${attribute} values, so it does not say who the person is`,
        );
      }
      const dn = safeNormalize(entry.dn);
      return memberSet.has(dn) ? dn : undefined;
    });
  }

  /**
   * Whether some entry holds this address in `mail`, under the people base DN (without one: the
   * `dc=` suffix of the bind DN). An address that is not plain ASCII with one @ matches nobody.
   */
  async hasPerson(email: string): Promise<boolean> {
    const value = canonicalOrUndefined(email);
    if (value === undefined) return false;
    return this.session(async (client) => {
      try {
        const { searchEntries } = await client.search(this.opts.peopleBaseDn ?? suffixOf(this.opts.bindDn), {
          scope: 'sub',
          filter: new EqualityFilter({ attribute: 'mail', value }),
          attributes: ['1.1'],
          sizeLimit: 1,
        });
        return searchEntries.length > 0;
      } catch (err) {
        // More than one holds it: still someone (who exactly does not matter here).
        if (err instanceof SizeLimitExceededError) return true;
        throw err;
      }
    });
  }

  /**
   * The `mail` addresses of a group's members (people without one, or with an address that is
   * not plain ASCII, are skipped), to message them directly. At most
   * {@link MAX_LISTED_MEMBERS} members are read.
   */
  async memberEmails(groupDn: string): Promise<string[]> {
    return this.session(async (client) => {
      const emails: string[] = [];
      for (const dn of (await this.members(client, groupDn)).slice(0, MAX_LISTED_MEMBERS)) {
        try {
          const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['mail'] });
          const entry = searchEntries[0];
          const mails = entry ? valuesOf(entry, 'mail') : [];
          // Joined by mail, an entry with several addresses cannot approve (see memberEntry): no DM.
          if (mails.length > 1 && this.joinAttribute.toLowerCase() === 'mail') continue;
          for (const m of mails) {
            const address = canonicalOrUndefined(m);
            if (address !== undefined) emails.push(address);
          }
        } catch (err) {
          if (!(err instanceof NoSuchObjectError)) throw err; // a member without an entry (the placeholder)
        }
      }
      return [...new Set(emails)];
    });
  }

  private async session<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const timeout = this.opts.timeoutMs ?? 5000;
    const client = new Client({ url: this.opts.url, timeout, connectTimeout: timeout });
    try {
      await client.bind(this.opts.bindDn, this.opts.bindPassword);
      return await fn(client);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private async members(client: Client, groupDn: string): Promise<string[]> {
    try {
      const { searchEntries } = await client.search(groupDn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['member', 'uniqueMember'],
      });
      const entry = searchEntries[0];
      return [entry?.member, entry?.uniqueMember].flat().filter((v): v is string => typeof v === 'string');
    } catch (err) {
      if (err instanceof NoSuchObjectError)
        throw new Error(`approver group ${groupDn} does not exist in LDAP`);
      throw err;
    }
  }
}

/** Reads at most this many members' entries when listing a group's addresses. */
const MAX_LISTED_MEMBERS = 200;

function safeNormalize(dn: string): string {
  try {
    return normalizeDn(dn);
  } catch {
    return dn.toLowerCase();
  }
}

/** An LDAP attribute name (a descriptor; OIDs are not needed here). */
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

/**
 * A join value asserted by the identity provider, if acceptable: printable ASCII without spaces
 * (OpenLDAP stops comparing at a NUL, and non-ASCII text may imitate another value), at most 256
 * characters. Compared by the attribute's own matching rule in the directory.
 */
function joinValueOf(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length > 256) return undefined;
  return /^[\x21-\x7e]+$/.test(value) ? value : undefined;
}

/** The string values of `attribute` on an entry, whatever case the server spelled its name in. */
function valuesOf(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined) return [];
  return [entry[key]]
    .flat()
    .map((v) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : ''));
}
