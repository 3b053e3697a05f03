/**
 * Labelled anomalies for `npm run eval:detection`, injected into the generated fleet's history.
 * Each injection is one incident of one kind, made of one or more requests (and, for a stolen
 * key, sometimes the refusals the thief ran into first):
 *
 * - `stolen_key`: an API-key bot's key used from a network it never used, at an hour its
 *   history is quiet, in a session of one to three requests; the thief mostly uses his own
 *   client, sometimes copies the bot's user agent, sometimes asks for longer than usual;
 * - `role_never_used`: a request, otherwise ordinary (usual hour, network, client), for a
 *   sensitive role the bot never asked for;
 * - `duration_spike`: an ordinary request of one of the bot's roles for 4 to 12 times its
 *   longest usual length;
 * - `rate_spike`: 4 to 8 times the bot's busiest usual hour (at least 12 requests), within 20 to
 *   50 minutes, from the bot's own network and client;
 * - `compromised_ci`: a workload-identity bot's request whose claims differ as a hijacked
 *   pipeline's would: a workflow file added on a new branch, another repository, a runner of
 *   the other kind, a branch other than the only one it runs from, another Kubernetes service
 *   account or cluster;
 * - `privilege_creep`: over two to three weeks, two or three roles the bot never had, each more
 *   sensitive than the last, each used a few times on ordinary days at ordinary hours.
 *
 * Incidents never overlap on one bot, start after the first three weeks, only on bots with more
 * than 25 requests in the 30 days before (enough for a baseline under the default settings), and
 * are placed by the seed alone: the detector's code is never consulted.
 */
import {
  DAY,
  HOUR,
  MINUTE,
  Rng,
  SENSITIVE_ROLES,
  addressOn,
  clientOn,
  normalDuration,
  workloadOf,
  type BotSpec,
  type GenRequest,
} from './detection-fleet.js';

export const ANOMALY_KINDS = [
  'stolen_key',
  'role_never_used',
  'duration_spike',
  'rate_spike',
  'compromised_ci',
  'privilege_creep',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** One injected incident. */
export interface Incident {
  id: number;
  kind: AnomalyKind;
  bot: BotSpec;
  /** A few words on what was injected (a variant), for the report. */
  variant: string;
  requests: GenRequest[];
  /** Times of refusals the incident caused before its requests. */
  refusals: number[];
}

export interface InjectionOptions {
  start: number;
  days: number;
  /** First day (from the start) an incident may begin on. */
  firstDay: number;
  /** Incidents per kind. */
  perKind: number;
}

const ATTACKER_CLIENTS = [
  'python-requests/2.31.0',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'PostmanRuntime/7.36.1',
];
const CREEP_ROLES = [
  { id: 'reports-admin', sensitivity: 'medium' as const, medianSeconds: 1800 },
  { id: 'orders-db-admin', sensitivity: 'medium' as const, medianSeconds: 1800 },
  { id: 'crm-admin', sensitivity: 'medium' as const, medianSeconds: 1200 },
];

/** Injects `perKind` incidents of every kind into the histories (by bot index) and returns them. */
export function injectAnomalies(
  seed: number,
  fleet: BotSpec[],
  histories: Map<number, GenRequest[]>,
  options: InjectionOptions,
): Incident[] {
  const rng = new Rng(seed).fork('anomalies');
  const busy = new Map<number, Array<[number, number]>>();
  // What earlier incidents on a bot used (roles, a runner swap): a later one must be new again.
  const used = new Map<number, Set<string>>();
  const incidents: Incident[] = [];
  const free = (bot: BotSpec, from: number, to: number) =>
    !(busy.get(bot.index) ?? []).some(([a, b]) => from <= b + 1 && to >= a - 1);
  for (const kind of ANOMALY_KINDS) {
    const eligible = fleet.filter((b) => eligibleFor(kind, b));
    for (let n = 0; n < options.perKind && eligible.length > 0; n += 1) {
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const bot = rng.pick(eligible);
        const latest = options.days - 2 - (kind === 'privilege_creep' ? 18 : 0);
        const day = rng.int(options.firstDay, latest);
        if (!free(bot, day, day)) continue;
        const history = histories.get(bot.index) ?? [];
        const taken = used.get(bot.index) ?? new Set<string>();
        const context = { history, taken, options };
        const incident = build(
          kind,
          rng.fork(`${kind}-${n}-${attempt}`),
          bot,
          context,
          day,
          incidents.length + 1,
        );
        if (!incident) continue;
        // Only where the bot has history enough for a baseline (more than the policy's default
        // 20 requests in the 30 days before each request): without one it is scored on static
        // factors alone.
        if (
          !incident.requests.every(
            (r) => history.filter((h) => h.at < r.at && h.at >= r.at - 30 * DAY).length >= 25,
          )
        ) {
          continue;
        }
        const times = [...incident.requests.map((r) => r.at), ...incident.refusals];
        const [first, last] = [Math.min(...times), Math.max(...times)].map((t) =>
          Math.floor((t - options.start) / DAY),
        );
        if (!free(bot, first!, last!)) continue;
        busy.set(bot.index, [...(busy.get(bot.index) ?? []), [first!, last!]]);
        for (const r of incident.requests) taken.add(r.role.id);
        if (incident.variant === 'other runner') taken.add('runner');
        used.set(bot.index, taken);
        incidents.push(incident);
        break;
      }
    }
  }
  return incidents;
}

function eligibleFor(kind: AnomalyKind, bot: BotSpec): boolean {
  if (kind === 'stolen_key') return bot.identity === 'api_key';
  if (kind === 'compromised_ci') return bot.workload !== undefined;
  return true;
}

interface BuildContext {
  history: GenRequest[];
  /** Roles (and `runner`) earlier incidents on the bot used. */
  taken: Set<string>;
  options: InjectionOptions;
}

function build(
  kind: AnomalyKind,
  rng: Rng,
  bot: BotSpec,
  context: BuildContext,
  day: number,
  id: number,
): Incident | null {
  const { history, options } = context;
  const base = { id, kind, bot, refusals: [] as number[] };
  switch (kind) {
    case 'stolen_key':
      return stolenKey(rng, bot, history, day, options, base);
    case 'role_never_used': {
      const near = ordinaryRequest(rng, history, options, day);
      const candidates = SENSITIVE_ROLES.filter((r) => !context.taken.has(r.id));
      if (!near || candidates.length === 0) return null;
      const role = rng.pick(candidates);
      const request: GenRequest = {
        ...near,
        at: near.at + rng.uniform(1, 20) * MINUTE,
        role: { id: role.id, environment: 'prod', sensitivity: role.sensitivity },
        durationSeconds: Math.round(role.medianSeconds * Math.exp(0.2 * rng.normal())),
      };
      return { ...base, variant: role.id, requests: [request] };
    }
    case 'duration_spike': {
      const near = ordinaryRequest(rng, history, options, day);
      if (!near) return null;
      const spec = bot.roles.find((r) => r.id === near.role.id)!;
      const factor = Math.exp(rng.uniform(Math.log(4), Math.log(12)));
      const request: GenRequest = {
        ...near,
        at: near.at + rng.uniform(1, 20) * MINUTE,
        durationSeconds: Math.round(spec.medianSeconds * Math.max(...spec.choices) * factor),
      };
      return { ...base, variant: `x${factor.toFixed(1)}`, requests: [request] };
    }
    case 'rate_spike':
      return rateSpike(rng, bot, history, day, options, base);
    case 'compromised_ci':
      return compromisedCi(rng, bot, context, day, base);
    case 'privilege_creep':
      return privilegeCreep(rng, context, day, base);
  }
}

/** A normal request of the bot on `day` or within the next three days, to copy the context of. */
function ordinaryRequest(
  rng: Rng,
  history: GenRequest[],
  options: InjectionOptions,
  day: number,
): GenRequest | null {
  for (let d = day; d < Math.min(options.days - 1, day + 4); d += 1) {
    const from = options.start + d * DAY;
    const onDay = history.filter((r) => r.at >= from && r.at < from + DAY);
    if (onDay.length > 0) return rng.pick(onDay);
  }
  return null;
}

/** The bot's requests per UTC hour of day over the 30 days before `at`. */
function hoursBefore(history: GenRequest[], at: number): number[] {
  const counts = Array<number>(24).fill(0);
  for (const r of history) {
    if (r.at < at && r.at >= at - 30 * DAY) counts[new Date(r.at).getUTCHours()]! += 1;
  }
  return counts;
}

function stolenKey(
  rng: Rng,
  bot: BotSpec,
  history: GenRequest[],
  day: number,
  options: InjectionOptions,
  base: Omit<Incident, 'variant' | 'requests'>,
): Incident {
  const dayStart = options.start + day * DAY;
  const counts = hoursBefore(history, dayStart);
  const around = counts.map((_, h) => [-1, 0, 1].reduce((s, k) => s + counts[(h + k + 24) % 24]!, 0));
  const quietest = Math.min(...around);
  const hour = rng.pick(around.flatMap((c, h) => (c === quietest ? [h] : [])));
  let at = dayStart + hour * HOUR + rng.uniform(0, 55) * MINUTE;
  const prefix = `${rng.pick([185, 45, 91, 103, 198])}.${rng.int(0, 255)}.${rng.int(0, 255)}`;
  const ownClient = rng.chance(0.7);
  const userAgent = ownClient ? rng.pick(ATTACKER_CLIENTS) : clientOn(bot, day);
  const refusals: number[] = [];
  if (rng.chance(0.3)) {
    for (let k = rng.int(1, 4); k > 0; k -= 1) refusals.push(at - rng.uniform(1, 10) * MINUTE);
  }
  const requests: GenRequest[] = [];
  for (let k = rng.weighted([1, 2, 3], (n) => [0.5, 0.3, 0.2][n - 1]!); k > 0; k -= 1) {
    const spec = rng.weighted(bot.roles, (r) => r.weight);
    const greedy = rng.chance(0.5) ? rng.uniform(1.5, 3) : 1;
    requests.push({
      bot,
      at,
      role: { id: spec.id, environment: spec.environment, sensitivity: spec.sensitivity },
      durationSeconds: Math.round(normalDuration(rng, spec) * greedy),
      ip: `${prefix}.${rng.int(2, 250)}`,
      userAgent,
      authMethod: 'api_key',
    });
    at += rng.uniform(2, 20) * MINUTE;
  }
  return {
    ...base,
    variant: `${String(hour).padStart(2, '0')}h UTC, ${ownClient ? 'own client' : 'copied client'}`,
    requests,
    refusals,
  };
}

function rateSpike(
  rng: Rng,
  bot: BotSpec,
  history: GenRequest[],
  day: number,
  options: InjectionOptions,
  base: Omit<Incident, 'variant' | 'requests'>,
): Incident | null {
  const near = ordinaryRequest(rng, history, options, day);
  if (!near) return null;
  // The bot's busiest usual hour: the 90th percentile of its daily peaks over 30 days.
  const peaks = new Map<number, Map<number, number>>();
  for (const r of history) {
    if (r.at >= near.at || r.at < near.at - 30 * DAY) continue;
    const d = Math.floor(r.at / DAY);
    const h = Math.floor(r.at / HOUR);
    const hours = peaks.get(d) ?? new Map<number, number>();
    hours.set(h, (hours.get(h) ?? 0) + 1);
    peaks.set(d, hours);
  }
  const daily = [...peaks.values()].map((h) => Math.max(...h.values())).sort((a, b) => a - b);
  const usual = daily[Math.max(0, Math.ceil(0.9 * daily.length) - 1)] ?? 1;
  const count = Math.max(12, Math.ceil(usual * rng.uniform(4, 8)));
  const minutes = rng.uniform(20, 50);
  const first = near.at + rng.uniform(1, 10) * MINUTE;
  const nearDay = Math.floor((near.at - options.start) / DAY);
  const times = Array.from({ length: count }, () => first + rng.uniform(0, minutes) * MINUTE).sort(
    (a, b) => a - b,
  );
  const requests = times.map((at): GenRequest => {
    const spec = rng.weighted(bot.roles, (r) => r.weight);
    const workload = workloadOf(rng, bot);
    return {
      ...near,
      at,
      role: { id: spec.id, environment: spec.environment, sensitivity: spec.sensitivity },
      durationSeconds: normalDuration(rng, spec),
      ip: addressOn(rng, bot, nearDay),
      ...(workload ? { workload } : {}),
    };
  });
  return { ...base, variant: `${count} in ${Math.round(minutes)} min (usual peak ${usual})`, requests };
}

function compromisedCi(
  rng: Rng,
  bot: BotSpec,
  context: BuildContext,
  day: number,
  base: Omit<Incident, 'variant' | 'requests'>,
): Incident | null {
  const near = ordinaryRequest(rng, context.history, context.options, day);
  const w = bot.workload;
  if (!near?.workload || !w) return null;
  const claims = { ...near.workload };
  const branch = `refs/heads/${rng.pick(['patch', 'fix', 'tmp', 'dependabot/npm', 'wip'])}-${rng.int(1000, 9999)}`;
  let ip = near.ip;
  let variant: string;
  if (w.serviceAccount) {
    if (rng.chance(0.5)) {
      variant = 'other service account';
      claims.serviceAccount = rng.chance(0.5)
        ? `${w.serviceAccount.split('/')[0]}/${rng.pick(['default', 'debug', 'admin-tools'])}-${base.id}`
        : `${rng.pick(['kube-system', 'tools', 'sandbox'])}-${base.id}/${w.serviceAccount.split('/')[1]}`;
      claims.subject = `system:serviceaccount:${claims.serviceAccount}`;
    } else {
      variant = 'other cluster';
      claims.issuer = `https://oidc.eks.us-east-1.amazonaws.com/id/${rng.int(1e6, 9e6).toString(16).toUpperCase()}`;
      ip = `172.${rng.int(16, 31)}.${rng.int(0, 255)}.${rng.int(2, 250)}`;
    }
  } else {
    const variants = ['new workflow on a new branch', 'other repository'];
    if (!context.taken.has('runner')) variants.push('other runner');
    if (w.refs === 'main') variants.push('new branch');
    variant = rng.pick(variants);
    if (variant === 'new workflow on a new branch') {
      claims.workflow = `${rng.pick(['debug', 'tmp', 'cache-warm', 'test-deploy', 'lint-fix'])}-${base.id}.yml`;
      claims.ref = branch;
    } else if (variant === 'other repository') {
      claims.repository = `${rng.pick(['acme', 'acme-forks', 'acme-sandbox'])}/${rng.pick(['tools', 'playground', 'scripts'])}-${base.id}`;
    } else if (variant === 'other runner') {
      claims.runnerEnvironment = w.runner === 'github-hosted' ? 'self-hosted' : 'github-hosted';
      if (claims.runnerEnvironment === 'self-hosted')
        ip = `${rng.pick([185, 45, 91])}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(2, 250)}`;
      else ip = `20.${rng.int(0, 63)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    } else {
      claims.ref = branch;
    }
    claims.subject = `repo:${claims.repository}:ref:${claims.ref}`;
  }
  return {
    ...base,
    variant,
    requests: [{ ...near, at: near.at + rng.uniform(1, 20) * MINUTE, ip, workload: claims }],
  };
}

function privilegeCreep(
  rng: Rng,
  context: BuildContext,
  day: number,
  base: Omit<Incident, 'variant' | 'requests'>,
): Incident | null {
  const { history, options } = context;
  const steps = rng.int(2, 3);
  const fresh = <T extends { id: string }>(roles: T[]) => roles.filter((r) => !context.taken.has(r.id));
  const rungs = [
    fresh(CREEP_ROLES),
    fresh(SENSITIVE_ROLES.filter((r) => r.sensitivity === 'high')),
    fresh(SENSITIVE_ROLES.filter((r) => r.sensitivity === 'critical')),
  ];
  if (rungs.some((r) => r.length === 0)) return null;
  const ladder = rungs.map((r) => rng.pick(r)).slice(3 - steps);
  const requests: GenRequest[] = [];
  let stepDay = day;
  for (const role of ladder) {
    let useDay = stepDay;
    for (let use = rng.int(2, 4); use > 0; use -= 1) {
      const near = ordinaryRequest(rng, history, options, useDay);
      if (!near) break;
      requests.push({
        ...near,
        at: near.at + rng.uniform(1, 15) * MINUTE,
        role: { id: role.id, environment: 'prod', sensitivity: role.sensitivity },
        durationSeconds: Math.round(role.medianSeconds * Math.exp(0.15 * rng.normal())),
      });
      useDay = Math.floor((near.at - options.start) / DAY) + rng.int(1, 3);
    }
    stepDay += rng.int(4, 8);
  }
  if (requests.length === 0) return null;
  return {
    ...base,
    variant: ladder.map((r) => r.id).join(' > '),
    requests: requests.sort((a, b) => a.at - b.at),
  };
}
