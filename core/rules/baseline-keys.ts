/**
 * The keys a bot's baseline remembers a request by: its source network (an IPv4 /24 or an IPv6
 * /48, so that a new address in a known network is not news), its user agent's product and major
 * version (so that a patch or minor release of the bot's client is not news either), and its
 * workload claims one field at a time (so that a new branch and a new repository can weigh
 * differently). Pure string work.
 */
import type { AuthMethod, WorkloadClaims } from '../model/elevation.js';

/** The workload fields the baseline keeps apart, in the order reasons name them. */
export const WORKLOAD_FIELDS = [
  'authMethod',
  'issuer',
  'repository',
  'workflow',
  'ref',
  'runner',
  'serviceAccount',
] as const;
export type WorkloadField = (typeof WORKLOAD_FIELDS)[number];

/** The network an address belongs to, as the baseline counts them: `a.b.c.0/24` or `x:y:z::/48`. */
export function networkOf(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const address = ip.trim().replace(/%.*$/, '');
  const v4 = ipv4Octets(address);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const groups = ipv6Groups(address);
  if (!groups) return null;
  // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is the IPv4 network.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.0/24`;
  }
  return `${groups
    .slice(0, 3)
    .map((g) => g.toString(16))
    .join(':')}::/48`;
}

function ipv4Octets(address: string): number[] | null {
  const parts = address.split('.');
  if (parts.length !== 4) return null;
  const octets = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return octets.every((o) => o >= 0 && o <= 255) ? octets : null;
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  if (!address.includes(':')) return null;
  let text = address;
  // A trailing dotted IPv4 part (::ffff:192.0.2.1) is two groups written another way.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = ipv4Octets(last);
    if (!v4) return null;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string | undefined): number[] | null => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return null;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  return [...head, ...Array<number>(8 - known).fill(0), ...rest];
}

/** A user agent as the baseline keys it: its first product's name and major version (`curl/8`). */
export interface UserAgentKey {
  /** `name/major` (or `name` when it has no version). */
  key: string;
  /** The product's name alone, to tell a new major version from a new client. */
  family: string;
}

/** The key of a user agent string, or null when there is none. */
export function userAgentKey(userAgent: string | null | undefined): UserAgentKey | null {
  const first = userAgent?.trim().split(/\s+/)[0];
  if (!first) return null;
  const slash = first.indexOf('/');
  const family = (slash < 0 ? first : first.slice(0, slash)).toLowerCase().slice(0, 60);
  if (slash < 0) return { key: family, family };
  const major = /^v?(\d+)/i.exec(first.slice(slash + 1))?.[1];
  return { key: major === undefined ? family : `${family}/${Number(major)}`, family };
}

/**
 * A Git ref as the baseline compares it: a tag or a pull request's merge ref by its kind only
 * (every release has a new tag; that is no news), a branch by its name.
 */
export function normalizeRef(ref: string): string {
  if (ref.startsWith('refs/tags/')) return 'refs/tags/*';
  if (ref.startsWith('refs/pull/')) return 'refs/pull/*';
  return ref;
}

/** The values a request presents for each workload field it has (always its authentication method). */
export function workloadValues(
  authMethod: AuthMethod,
  workload: WorkloadClaims | undefined,
): Array<[WorkloadField, string]> {
  const values: Array<[WorkloadField, string]> = [['authMethod', authMethod]];
  if (!workload) return values;
  values.push(['issuer', workload.issuer]);
  if (workload.repository) values.push(['repository', workload.repository]);
  if (workload.workflow) values.push(['workflow', workload.workflow]);
  if (workload.ref) values.push(['ref', normalizeRef(workload.ref)]);
  if (workload.runnerEnvironment) values.push(['runner', workload.runnerEnvironment]);
  if (workload.serviceAccount) values.push(['serviceAccount', workload.serviceAccount]);
  // Bounded, so that a baseline's size is too; a claim this long is not told apart by its tail.
  return values.map(([field, value]) => [field, value.slice(0, 120)]);
}
