/**
 * A generated fleet of bots for `npm run eval:detection`: who they are and what they normally do
 * over the evaluation's days. Seeded and reproducible: the same seed gives the same fleet.
 *
 * Four rhythms, as bots really run: nightly batch jobs, business-hours RPA robots, CI jobs on
 * push, and on-call tooling that is quiet until an incident and then bursts. Each bot has its
 * own time zone, networks (some on hosted CI runners that come from a new network nearly every
 * time), client, workload identity (GitHub Actions on hosted or self-hosted runners, Kubernetes
 * service accounts, or an API key), roles and durations.
 *
 * Normal is not perfectly regular: runs start late now and then, robots work a Saturday, clients
 * get minor and sometimes major upgrades, some bots move to a new network for good, test
 * pipelines run from a new branch most of the time, a duration is sometimes twice the usual,
 * incidents differ in size, a request is refused once in a while. A detector must tolerate that.
 */
import type { AuthMethod, WorkloadClaims } from '../core/model/elevation.js';
import type { RoleSensitivity } from '../core/model/risk.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** A small fast seeded generator (mulberry32) with the draws the fleet needs. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A generator of its own for `label`, so that adding draws in one place changes no other. */
  fork(label: string | number): Rng {
    let h = this.state ^ 0x9e3779b9;
    for (const ch of String(label)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return new Rng(Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0);
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }
  /** An integer in [low, high]. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from nothing');
    return item;
  }
  /** A standard normal draw. */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  poisson(mean: number): number {
    let n = 0;
    let p = Math.exp(-mean);
    let s = p;
    const u = this.next();
    while (u > s && n < 1000) {
      n += 1;
      p *= mean / n;
      s += p;
    }
    return n;
  }
  /** Weighted pick. */
  weighted<T>(items: readonly T[], weight: (item: T) => number): T {
    const sum = items.reduce((s, i) => s + weight(i), 0);
    let u = this.next() * sum;
    for (const item of items) {
      u -= weight(item);
      if (u <= 0) return item;
    }
    return this.pick(items);
  }
}

export type Rhythm = 'nightly' | 'business' | 'ci' | 'oncall';
export type Identity = 'api_key' | 'github_hosted' | 'github_self_hosted' | 'kubernetes';

export interface RoleSpec {
  id: string;
  environment: string;
  sensitivity: RoleSensitivity;
  /** Usual duration, seconds. */
  medianSeconds: number;
  /** Spread of ln(duration). */
  sigma: number;
  /** Some roles are asked for one of two lengths (a quick and a full run). */
  choices: number[];
  weight: number;
}

export interface BotSpec {
  index: number;
  id: string;
  rhythm: Rhythm;
  identity: Identity;
  /** Local time = UTC + tz hours. */
  tz: number;
  roles: RoleSpec[];
  /** Network prefixes (`a.b.c` or `2001:db8:x`) and the share of requests from each. */
  networks: Array<{ prefix: string; share: number }>;
  /** Day from which the first network is replaced by another for good (a move), if any. */
  migration?: { day: number; prefix: string };
  client: { family: string; major: number; minor: number; patch: number; tail: string };
  /** Days on which the client is upgraded: a minor release, or now and then a major one. */
  upgrades: Array<{ day: number; major: boolean }>;
  workload?: {
    issuer: string;
    repository?: string;
    workflows: string[];
    refs: 'main' | 'branches' | 'tags';
    runner?: 'github-hosted' | 'self-hosted';
    serviceAccount?: string;
  };
  /** Rhythm parameters. */
  params: Record<string, number>;
}

const ROLE_NAMES = [
  'reports-read',
  'orders-db-read',
  'orders-db-write',
  'billing-export',
  'ldap-helpdesk',
  'hr-sync',
  'crm-write',
  'backup-operator',
  'deploy-web',
  'deploy-api',
  'k8s-rollout',
  'secrets-read',
  'dns-edit',
  'queue-admin',
  'logs-read',
  'metrics-read',
  'payroll-export',
  'vendor-sync',
  'ticket-triage',
  'cache-flush',
];

/** Roles no bot is given at first: what anomalies reach for. */
export const SENSITIVE_ROLES: Array<{ id: string; sensitivity: RoleSensitivity; medianSeconds: number }> = [
  { id: 'db-admin', sensitivity: 'critical', medianSeconds: 3600 },
  { id: 'iam-admin', sensitivity: 'critical', medianSeconds: 1800 },
  { id: 'prod-shell', sensitivity: 'high', medianSeconds: 3600 },
  { id: 'payments-write', sensitivity: 'high', medianSeconds: 1800 },
  { id: 'secrets-admin', sensitivity: 'critical', medianSeconds: 900 },
  { id: 'audit-log-admin', sensitivity: 'critical', medianSeconds: 1800 },
  { id: 'customer-pii-read', sensitivity: 'high', medianSeconds: 3600 },
  { id: 'billing-admin', sensitivity: 'high', medianSeconds: 1800 },
];

const DURATIONS = [300, 600, 900, 1200, 1800, 3600, 7200];

const CLIENTS = [
  { family: 'elevate-client', tail: '(python 3.11)' },
  { family: 'elevate-cli', tail: '(linux; amd64)' },
  { family: 'UiPath-Robot', tail: '(Windows NT 10.0)' },
  { family: 'AutomationAnywhere-Bot', tail: '(Windows Server 2022)' },
  { family: 'elevate-action', tail: '(node 20)' },
  { family: 'Jenkins-elevate-plugin', tail: '(java 17)' },
  { family: 'elevate-go', tail: '(linux)' },
];

/** The fleet for a seed: `bots` bots, a quarter of each rhythm (the rest spread). */
export function generateFleet(seed: number, bots: number): BotSpec[] {
  const rng = new Rng(seed).fork('fleet');
  const rhythms: Rhythm[] = ['nightly', 'business', 'ci', 'oncall'];
  const used = new Set<string>();
  return Array.from({ length: bots }, (_, index) =>
    botSpec(rng.fork(index), index, rhythms[index % 4]!, used),
  );
}

function botSpec(rng: Rng, index: number, rhythm: Rhythm, usedNetworks: Set<string>): BotSpec {
  const identity: Identity =
    rhythm === 'ci'
      ? rng.weighted(['github_hosted', 'github_self_hosted', 'api_key'] as const, (i) =>
          i === 'github_hosted' ? 0.5 : 0.25,
        )
      : rhythm === 'nightly' && rng.chance(0.3)
        ? 'kubernetes'
        : 'api_key';
  const network = () => {
    for (;;) {
      const prefix = `10.${rng.int(0, 255)}.${rng.int(0, 255)}`;
      if (!usedNetworks.has(prefix)) {
        usedNetworks.add(prefix);
        return prefix;
      }
    }
  };
  const v6 = () => `2001:db8:${rng.int(1, 0xfffe).toString(16)}`;
  const networks: BotSpec['networks'] = [{ prefix: rng.chance(0.15) ? v6() : network(), share: 1 }];
  if (rng.chance(0.15)) {
    networks[0]!.share = 0.8;
    networks.push({ prefix: network(), share: 0.2 });
  }
  const roleCount = rng.weighted([1, 2, 3, 4], (n) => [0.2, 0.35, 0.3, 0.15][n - 1]!);
  const names = [...ROLE_NAMES];
  const roles: RoleSpec[] = Array.from({ length: roleCount }, () => {
    const id = names.splice(rng.int(0, names.length - 1), 1)[0]!;
    return {
      id,
      environment: rng.chance(0.6) ? 'prod' : 'staging',
      sensitivity: rng.weighted(['low', 'medium', 'high', 'critical'] as const, (s) =>
        s === 'critical' ? 0.1 : s === 'high' ? 0.3 : 0.3,
      ),
      medianSeconds: rng.pick(DURATIONS),
      sigma: rng.uniform(0.03, 0.25),
      choices: rng.chance(0.2) ? [1, 2] : [1],
      weight: rng.uniform(0.3, 1),
    };
  });
  const clientKind =
    rhythm === 'business'
      ? rng.pick(CLIENTS.slice(2, 4))
      : identity === 'github_hosted' || identity === 'github_self_hosted'
        ? CLIENTS[4]!
        : identity === 'api_key' && rhythm === 'ci'
          ? CLIENTS[5]!
          : rng.pick([CLIENTS[0]!, CLIENTS[1]!, CLIENTS[6]!]);
  const upgrades: BotSpec['upgrades'] = [];
  for (let k = rng.int(0, 2); k > 0; k -= 1) upgrades.push({ day: rng.int(3, 58), major: false });
  if (rng.chance(0.1)) upgrades.push({ day: rng.int(10, 58), major: true });
  upgrades.sort((a, b) => a.day - b.day);
  const bot: BotSpec = {
    index,
    id: `bot-${String(index).padStart(3, '0')}-${rhythm}`,
    rhythm,
    identity,
    tz: rng.pick([-8, -5, -3, 0, 1, 2, 5.5, 8, 9]),
    roles,
    networks,
    client: { ...clientKind, major: rng.int(1, 4), minor: rng.int(0, 20), patch: rng.int(0, 9) },
    upgrades,
    params: rhythmParams(rng, rhythm),
  };
  // Hosted runners come from the provider's ranges, not from the bot's own network.
  if (rng.chance(0.08) && identity !== 'github_hosted')
    bot.migration = { day: rng.int(8, 57), prefix: network() };
  if (identity === 'github_hosted' || identity === 'github_self_hosted') {
    const refs = rng.weighted(['main', 'branches', 'tags'] as const, (r) => (r === 'main' ? 0.5 : 0.25));
    bot.workload = {
      issuer: 'https://token.actions.githubusercontent.com',
      repository: `acme/${rng.pick(['web', 'api', 'billing', 'infra', 'data', 'mobile'])}-${index}`,
      workflows:
        refs === 'branches'
          ? ['ci.yml', 'integration.yml']
          : refs === 'tags'
            ? ['release.yml']
            : ['deploy.yml'],
      refs,
      runner: identity === 'github_hosted' ? 'github-hosted' : 'self-hosted',
    };
  } else if (identity === 'kubernetes') {
    bot.workload = {
      issuer: `https://oidc.eks.eu-west-1.amazonaws.com/id/${(index * 7919).toString(16).toUpperCase()}`,
      workflows: [],
      refs: 'main',
      serviceAccount: `batch-${index}/runner`,
    };
  }
  return bot;
}

function rhythmParams(rng: Rng, rhythm: Rhythm): Record<string, number> {
  switch (rhythm) {
    case 'nightly':
      return {
        hour: rng.int(0, 5),
        minute: rng.int(0, 59),
        jobs: rng.int(2, 5),
        weekends: rng.chance(0.7) ? 1 : 0,
      };
    case 'business':
      return { rate: rng.uniform(0.4, 2) };
    case 'ci':
      return { pushes: rng.uniform(0.3, 1.8), jobsMax: rng.int(1, 3) };
    case 'oncall':
      return { incidents: rng.uniform(0.2, 0.6), check: rng.chance(0.6) ? rng.int(6, 10) : -1 };
  }
}

/** One request of the generated history (normal or injected), before it is turned into events. */
export interface GenRequest {
  bot: BotSpec;
  at: number;
  role: { id: string; environment: string; sensitivity: RoleSensitivity };
  durationSeconds: number;
  ip: string | null;
  userAgent: string | null;
  authMethod: AuthMethod;
  workload?: WorkloadClaims;
}

/** Local time of day in hours → the UTC instant on `day` (days since the fleet's start). */
export function localToUtc(start: number, day: number, bot: BotSpec, localHours: number): number {
  return start + day * DAY + (localHours - bot.tz) * HOUR;
}

/** The weekday (0 = Sunday) of a fleet day in the bot's own time zone. */
export function localWeekday(start: number, day: number): number {
  return new Date(start + day * DAY).getUTCDay();
}

/** The normal request times of one bot over `days` days, with the role each asks for. */
export function normalSchedule(
  rng: Rng,
  bot: BotSpec,
  start: number,
  days: number,
): Array<{ at: number; role: RoleSpec }> {
  const out: Array<{ at: number; role: RoleSpec }> = [];
  const p = bot.params;
  const anyRole = () => rng.weighted(bot.roles, (r) => r.weight);
  for (let day = 0; day < days; day += 1) {
    const weekday = localWeekday(start, day);
    const weekend = weekday === 0 || weekday === 6;
    switch (bot.rhythm) {
      case 'nightly': {
        if ((weekend && !p.weekends) || rng.chance(0.02)) break;
        // Now and then the run starts hours late (a stuck upstream job).
        const late = rng.chance(0.02) ? rng.uniform(3, 8) : 0;
        let t = localToUtc(start, day, bot, p.hour! + p.minute! / 60 + late + rng.normal() * 0.12);
        const jobs = Math.max(1, p.jobs! + rng.int(-1, 1));
        for (let j = 0; j < jobs; j += 1) {
          const role = bot.roles[j % bot.roles.length]!;
          out.push({ at: t, role });
          if (rng.chance(0.03)) out.push({ at: t + rng.uniform(5, 20) * MINUTE, role });
          t += rng.uniform(2, 15) * MINUTE;
        }
        break;
      }
      case 'business': {
        if (weekend) {
          if (rng.chance(0.03)) {
            for (let k = rng.int(1, 4); k > 0; k -= 1)
              out.push({ at: localToUtc(start, day, bot, rng.uniform(10, 15)), role: anyRole() });
          }
          break;
        }
        if (rng.chance(0.04)) break;
        const end = rng.chance(0.1) ? 20 : 18;
        for (let h = 8; h < end; h += 1) {
          const rate = p.rate! * (h === 12 ? 0.5 : h >= 18 ? 0.5 : 1);
          for (let k = rng.poisson(rate); k > 0; k -= 1)
            out.push({ at: localToUtc(start, day, bot, h + rng.next()), role: anyRole() });
        }
        break;
      }
      case 'ci': {
        const busy = rng.chance(0.2) ? 2 : 1;
        const pushes: number[] = [];
        if (weekend) {
          if (rng.chance(0.15)) for (let k = rng.int(1, 3); k > 0; k -= 1) pushes.push(rng.uniform(10, 18));
        } else {
          for (let h = 9; h < 19; h += 1) {
            const rate = p.pushes! * busy * (h >= 10 && h < 17 ? 1 : 0.5);
            for (let k = rng.poisson(rate); k > 0; k -= 1) pushes.push(h + rng.next());
          }
          if (rng.chance(0.05)) pushes.push(rng.uniform(20, 24));
        }
        for (const local of pushes) {
          let t = localToUtc(start, day, bot, local);
          for (let j = rng.int(1, p.jobsMax!); j > 0; j -= 1) {
            out.push({ at: t, role: anyRole() });
            t += rng.uniform(1, 10) * MINUTE;
          }
        }
        break;
      }
      case 'oncall': {
        if (p.check! >= 0)
          out.push({ at: localToUtc(start, day, bot, p.check! + rng.uniform(0, 0.2)), role: bot.roles[0]! });
        for (let k = rng.poisson(p.incidents!); k > 0; k -= 1) {
          const local = rng.chance(0.7) ? rng.uniform(8, 20) : rng.uniform(0, 24);
          const size = Math.min(10, 1 + geometric(rng, 0.35));
          const spread = rng.uniform(15, 90);
          for (let j = 0; j < size; j += 1) {
            out.push({
              at: localToUtc(start, day, bot, local) + rng.uniform(0, spread) * MINUTE,
              role: anyRole(),
            });
          }
        }
        break;
      }
    }
  }
  return out.filter((r) => r.at >= start && r.at < start + days * DAY).sort((a, b) => a.at - b.at);
}

function geometric(rng: Rng, p: number): number {
  let n = 0;
  while (!rng.chance(p) && n < 50) n += 1;
  return n;
}

/** A usual duration for a role: its median, one of its lengths, a little noise; rarely about twice. */
export function normalDuration(rng: Rng, role: RoleSpec): number {
  const longer = rng.chance(0.01) ? rng.uniform(1.3, 2) : 1;
  return Math.max(
    60,
    Math.round(role.medianSeconds * rng.pick(role.choices) * longer * Math.exp(role.sigma * rng.normal())),
  );
}

/** The bot's client string on a day, after the upgrades before it. */
export function clientOn(bot: BotSpec, day: number): string {
  let { major, minor, patch } = bot.client;
  for (const u of bot.upgrades) {
    if (u.day > day) break;
    if (u.major) [major, minor, patch] = [major + 1, 0, 0];
    else [minor, patch] = [minor + 1, 0];
  }
  // Patch releases roll out without ceremony every couple of weeks.
  patch += Math.floor(day / 14);
  return `${bot.client.family}/${major}.${minor}.${patch} ${bot.client.tail}`;
}

/** An address of the bot on a day, as its networks and any move say. */
export function addressOn(rng: Rng, bot: BotSpec, day: number): string {
  if (bot.identity === 'github_hosted') {
    // The provider's large pool: nearly always a network this bot has not used in a month.
    return `20.${rng.int(0, 63)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  }
  let prefix = rng.weighted(bot.networks, (n) => n.share).prefix;
  if (bot.migration && day >= bot.migration.day && prefix === bot.networks[0]!.prefix)
    prefix = bot.migration.prefix;
  return prefix.includes(':')
    ? `${prefix}:${rng.int(0, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`
    : `${prefix}.${rng.int(10, 14)}`;
}

/** The workload claims of a bot's request (undefined for API-key bots). */
export function workloadOf(rng: Rng, bot: BotSpec): WorkloadClaims | undefined {
  const w = bot.workload;
  if (!w) return undefined;
  if (w.serviceAccount)
    return {
      issuer: w.issuer,
      subject: `system:serviceaccount:${w.serviceAccount}`,
      serviceAccount: w.serviceAccount,
    };
  const ref =
    w.refs === 'main'
      ? 'refs/heads/main'
      : w.refs === 'tags'
        ? `refs/tags/v${rng.int(1, 3)}.${rng.int(0, 40)}.${rng.int(0, 9)}`
        : rng.chance(0.3)
          ? 'refs/heads/main'
          : rng.chance(0.3)
            ? `refs/pull/${rng.int(100, 999)}/merge`
            : `refs/heads/feature/${rng.pick(['login', 'cart', 'search', 'billing', 'reports', 'infra'])}-${rng.int(1, 400)}`;
  return {
    issuer: w.issuer,
    subject: `repo:${w.repository}:ref:${ref}`,
    ...(w.repository ? { repository: w.repository } : {}),
    workflow: rng.pick(w.workflows),
    ref,
    ...(w.runner ? { runnerEnvironment: w.runner } : {}),
  };
}

/** The whole normal history of a bot, request by request. */
export function normalHistory(seedRng: Rng, bot: BotSpec, start: number, days: number): GenRequest[] {
  const rng = seedRng.fork(`history-${bot.index}`);
  return normalSchedule(rng, bot, start, days).map(({ at, role }) => {
    const day = Math.floor((at - start) / DAY);
    const workload = workloadOf(rng, bot);
    return {
      bot,
      at,
      role: { id: role.id, environment: role.environment, sensitivity: role.sensitivity },
      durationSeconds: normalDuration(rng, role),
      ip: addressOn(rng, bot, day),
      userAgent: clientOn(bot, day),
      authMethod: workload ? 'workload_identity' : 'api_key',
      ...(workload ? { workload } : {}),
    };
  });
}
