/**
 * What a bot's request says about where it came from, as recorded with `elevation.requested`
 * and with every refusal of the bot: the workload claims of a workload identity token, in a
 * fixed shape, and whether the source matches the bot's `runsFrom` declaration (recorded, not
 * enforced).
 */
import { BlockList, isIP } from 'node:net';
import type { BotPolicy } from '../../config/policy.js';
import type {
  AuthMethod,
  BotIdentity,
  RequestSource,
  RunsFromMatch,
  WorkloadClaims,
} from '../../core/model/elevation.js';

/** Longest user agent kept, in characters; the rest is cut. */
export const MAX_USER_AGENT_LENGTH = 256;

/**
 * A user agent fit to record: control characters (C0, DEL, C1) and Unicode line and bidi
 * controls dropped, cut to {@link MAX_USER_AGENT_LENGTH}; null when absent or empty.
 */
export function cleanUserAgent(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  // Look at a bounded prefix only: a header can be many kilobytes.
  const cleaned = raw
    .slice(0, MAX_USER_AGENT_LENGTH * 4)
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .trim();
  if (cleaned === '') return null;
  return cleaned.length > MAX_USER_AGENT_LENGTH ? cleaned.slice(0, MAX_USER_AGENT_LENGTH) : cleaned;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value.slice(0, MAX_USER_AGENT_LENGTH) : undefined;

/**
 * The run a workload identity token vouched for, from the claims recorded with it: GitHub's
 * repository, workflow (`workflow`, else `job_workflow_ref`), ref and `runner_environment`;
 * Kubernetes's service account (`kubernetes.io` → `namespace/name`).
 */
export function workloadClaimsOf(identity: BotIdentity): WorkloadClaims {
  const claims = identity.claims;
  const k8s = claims['kubernetes.io'] as
    { namespace?: unknown; serviceaccount?: { name?: unknown } } | undefined;
  const namespace = text(k8s?.namespace);
  const account = text(k8s?.serviceaccount?.name);
  const fields: Omit<WorkloadClaims, 'issuer' | 'subject'> = {
    repository: text(claims.repository),
    workflow: text(claims.workflow) ?? text(claims.job_workflow_ref),
    ref: text(claims.ref),
    runnerEnvironment: text(claims.runner_environment),
    serviceAccount: namespace && account ? `${namespace}/${account}` : undefined,
  };
  return {
    issuer: identity.issuer,
    subject: identity.subject,
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  };
}

/** An IPv4-mapped IPv6 address as IPv4, so that `10.0.0.0/8` matches `::ffff:10.1.2.3`. */
function plainAddress(ip: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const family = isIP(v4);
  if (family === 0) return undefined;
  return { address: v4, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** Whether `ip` is in one of `networks` (CIDRs the policy validated). */
export function inNetworks(ip: string | null, networks: readonly string[]): boolean {
  const address = ip === null ? undefined : plainAddress(ip);
  if (!address) return false;
  const list = new BlockList();
  for (const cidr of networks) {
    const [net, prefix] = cidr.split('/');
    const family = isIP(net!) === 4 ? 'ipv4' : 'ipv6';
    list.addSubnet(net!, Number(prefix), family);
  }
  return list.check(address.address, address.family);
}

/**
 * Whether a request matches the bot's `runsFrom`: its address in a declared network, its
 * workload identity's subject, service account or runner environment among the declared
 * runners. Undefined when the bot declares nothing.
 */
export function matchRunsFrom(
  runsFrom: BotPolicy['runsFrom'],
  source: Pick<RequestSource, 'ip' | 'workload'>,
): RunsFromMatch | undefined {
  if (!runsFrom) return undefined;
  const match: RunsFromMatch = { matched: true };
  if (runsFrom.networks) {
    match.network = inNetworks(source.ip, runsFrom.networks);
    match.matched &&= match.network;
  }
  if (runsFrom.runners) {
    const w = source.workload;
    const names = [w?.subject, w?.serviceAccount, w?.runnerEnvironment].filter((n) => n !== undefined);
    match.runner = names.some((n) => runsFrom.runners!.includes(n));
    match.matched &&= match.runner;
  }
  return match;
}

/** Everything recorded about where an authenticated bot's request came from. */
export function requestSource(
  bot: Pick<BotPolicy, 'runsFrom'>,
  seen: { ip: string | null; userAgent: string | null; identity?: BotIdentity },
): RequestSource {
  const authMethod: AuthMethod = seen.identity ? 'workload_identity' : 'api_key';
  const workload = seen.identity ? workloadClaimsOf(seen.identity) : undefined;
  const runsFrom = matchRunsFrom(bot.runsFrom, { ip: seen.ip, ...(workload ? { workload } : {}) });
  return {
    ip: seen.ip,
    userAgent: seen.userAgent,
    authMethod,
    ...(workload ? { workload } : {}),
    ...(runsFrom ? { runsFrom } : {}),
  };
}
