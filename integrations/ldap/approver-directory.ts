/**
 * Approver groups kept in LDAP: is the person with this e-mail address a member of this group?
 * Asked when someone approves (never cached), so removing a person from the group takes effect
 * at once.
 *
 * Two searches: the group's `member` values, and the entries whose `mail` is the address
 * (under a base DN, by default the `dc=` suffix of the group). A person counts when one of
 * their entries is a member. Filter values are escaped by ldapts' filter classes, never
 * concatenated into a filter string.
 */
import { Client, EqualityFilter, NoSuchObjectError } from 'ldapts';
import type { ApproverDirectory } from '../../domain/elevation-service.js';
import { normalizeDn } from './dn.js';

export interface LdapApproverDirectoryOptions {
  url: string;
  bindDn: string;
  bindPassword: string;
  /** Where people are searched by `mail` (default: the trailing `dc=` RDNs of each group's DN). */
  peopleBaseDn?: string;
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

export class LdapApproverDirectory implements ApproverDirectory {
  constructor(private readonly opts: LdapApproverDirectoryOptions) {}

  async isMember(groupDn: string, email: string): Promise<boolean> {
    const address = email.trim().toLowerCase();
    return this.session(async (client) => {
      const members = await this.members(client, groupDn);
      if (members.length === 0) return false;
      // OpenLDAP compares an assertion value only up to a NUL, so `ann@example.org\0x` would
      // match ann. No real address holds a control character: such a value matches nobody.
      if ([...address].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return false;
      const memberSet = new Set(members.map((m) => safeNormalize(m)));
      const { searchEntries: people } = await client.search(this.opts.peopleBaseDn ?? suffixOf(groupDn), {
        scope: 'sub',
        filter: new EqualityFilter({ attribute: 'mail', value: address }),
        attributes: ['dn'],
        sizeLimit: 10,
      });
      return people.some((p) => memberSet.has(safeNormalize(p.dn)));
    });
  }

  /**
   * The `mail` addresses of a group's members (people without one are skipped), to message
   * them directly. At most {@link MAX_LISTED_MEMBERS} members are read.
   */
  async memberEmails(groupDn: string): Promise<string[]> {
    return this.session(async (client) => {
      const emails: string[] = [];
      for (const dn of (await this.members(client, groupDn)).slice(0, MAX_LISTED_MEMBERS)) {
        try {
          const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['mail'] });
          const mail = searchEntries[0]?.mail;
          for (const m of [mail].flat())
            if (typeof m === 'string' && m.includes('@')) emails.push(m.toLowerCase());
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
