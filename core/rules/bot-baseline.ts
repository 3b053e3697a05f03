/**
 * A bot's baseline: what it usually does, learnt one observation at a time from the audit log
 * (requests, refusals, decisions, ends) and stored as one JSON document per bot.
 *
 * Incremental and bounded: {@link observe} touches only the bot's own small document, never the
 * history behind it, and the document stays a few kilobytes however long the bot has lived:
 *
 * - one bucket per UTC day of the window (`settings.windowDays`): counters (requests, refusals,
 *   decisions, early give-backs, how many requests brought a never-seen value) and requests
 *   per clock hour. They give the hour-of-week profile, the usual daily and hourly rates and the
 *   novelty rates, and a day leaves the window whole, so old observations stop counting exactly;
 * - what the bot was seen with (networks, user agents, workload claims field by field, roles),
 *   each with first and last seen and a count, capped in number (the least recently seen goes
 *   first) and dropped once not seen for the window;
 * - per role, the approval chain of its last request and its latest durations (a bounded sample
 *   for a robust median and spread);
 * - per minute, the requests and refusals of the last hour (the short-term rate).
 *
 * A request its score escalated or denied (`riskLevel` `high` or `critical`) is learnt, but its
 * hour and the count of new values it brought wait for its decision and count only if a person
 * approved it: an escalated burst, odd hour or stranger's network does not become usual, while
 * a legitimate change stops being news (a value first seen is news for a day: a retry within
 * it still scores most of the points).
 *
 * Pure: time comes only from the observations (`at`, milliseconds since the epoch, UTC). Reads
 * for scoring are in `baseline-window.ts`; the score in `risk-score.ts`.
 */
import type { BaselineObservation, BaselineSettings, RoleSensitivity } from '../model/risk.js';
import { networkOf, userAgentKey, workloadValues, type WorkloadField } from './baseline-keys.js';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** How many of each kind of remembered value a baseline keeps: bounds its size. */
export const BASELINE_LIMITS = {
  networks: 16,
  userAgents: 12,
  claimsPerField: 6,
  roles: 24,
  durationsPerRole: 16,
  /** Escalated requests waiting for their decision. */
  pending: 16,
  /** Longest user agent kept as an example for reasons. */
  exampleLength: 80,
} as const;

/** A daily counter. The `new…` ones count requests that brought a value not seen in the window. */
export const DAY_COUNTERS = [
  'requests',
  'refused',
  'approved',
  'denied',
  'expired',
  'ended',
  'givenBack',
  'newNetwork',
  'newUserAgent',
  'newRole',
  'newAuthMethod',
  'newIssuer',
  'newRepository',
  'newWorkflow',
  'newRef',
  'newRunner',
  'newServiceAccount',
] as const;
export type DayCounter = (typeof DAY_COUNTERS)[number];

/** The counter of requests that brought a new value of a workload field. */
export const NEW_CLAIM_COUNTER: Record<WorkloadField, DayCounter> = {
  authMethod: 'newAuthMethod',
  issuer: 'newIssuer',
  repository: 'newRepository',
  workflow: 'newWorkflow',
  ref: 'newRef',
  runner: 'newRunner',
  serviceAccount: 'newServiceAccount',
};

/** One UTC day of a bot's activity. */
export interface DayBucket {
  /** Days since the epoch (UTC). */
  day: number;
  /** Counters that are not zero. */
  counts: Partial<Record<DayCounter, number>>;
  /** Requests per clock hour (UTC, `"0"`–`"23"`), hours without requests left out; escalated ones not counted. */
  hours: Record<string, number>;
}

/** A value the bot was seen with: a network, a user agent key, or a workload claim. */
export interface SeenValue {
  key: string;
  first: number;
  last: number;
  /** Requests with it since it was first seen (reset when it leaves the window). */
  count: number;
  /** For user agents: the full string last seen, for reasons. */
  example?: string;
}

/** A workload claim value, kept per field. */
export interface SeenClaim extends SeenValue {
  field: WorkloadField;
}

/** A role the bot requested. */
export interface RoleHistory {
  roleId: string;
  first: number;
  last: number;
  count: number;
  /** The approval chain fingerprint its last request saw. */
  approvalChain: string;
  /** Its sensitivity when last requested, when the observation said. */
  sensitivity?: RoleSensitivity;
  /** Its latest requests' `[at, durationSeconds]`, oldest first. */
  durations: Array<[number, number]>;
}

/**
 * An escalated request waiting for its decision: what it would add to the usual once approved
 * (its hour and the counters of the new values it brought).
 */
export interface PendingRequest {
  elevationId: string;
  at: number;
  counters: DayCounter[];
}

/** A bot's baseline, as stored (JSON). */
export interface BotBaseline {
  version: 1;
  botId: string;
  /** The first request of the bot's current stretch of history (reset when the window empties). */
  firstRequestAt: number | null;
  /** The latest observation's time. */
  lastAt: number | null;
  /** The window's days that have any activity, oldest first. */
  days: DayBucket[];
  networks: SeenValue[];
  userAgents: SeenValue[];
  claims: SeenClaim[];
  roles: RoleHistory[];
  /** `[minute since the epoch, requests]` for the last hour. */
  recentRequests: Array<[number, number]>;
  /** `[minute since the epoch, refusals]` for the last hour. */
  recentRefusals: Array<[number, number]>;
  /** Escalated requests whose decision has not been seen yet, oldest first. */
  pending: PendingRequest[];
}

/** A bot's baseline before its first observation. */
export function emptyBaseline(botId: string): BotBaseline {
  return {
    version: 1,
    botId,
    firstRequestAt: null,
    lastAt: null,
    days: [],
    networks: [],
    userAgents: [],
    claims: [],
    roles: [],
    recentRequests: [],
    recentRefusals: [],
    pending: [],
  };
}

/** The UTC day of an instant. */
export function dayOf(at: number): number {
  return Math.floor(at / DAY_MS);
}

/** The window's length in milliseconds. */
export function windowMs(settings: BaselineSettings): number {
  return Math.max(1, settings.windowDays) * DAY_MS;
}

/** Whether a remembered value was seen within the window ending at `at`. */
export function inWindow(last: number, at: number, settings: BaselineSettings): boolean {
  return last > at - windowMs(settings);
}

/** The first day still in the window ending at `at` (the window holds `windowDays` calendar days). */
export function firstDayOfWindow(at: number, settings: BaselineSettings): number {
  return dayOf(at) - Math.max(1, settings.windowDays) + 1;
}

/**
 * The baseline after one more observation. Observations should come in time order; one that is
 * older than the window is ignored, and a slightly late one still counts on its own day.
 */
export function observe(
  baseline: BotBaseline,
  observation: BaselineObservation,
  settings: BaselineSettings,
): BotBaseline {
  if (observation.botId !== baseline.botId) return baseline;
  const now = Math.max(baseline.lastAt ?? observation.at, observation.at);
  if (observation.at <= now - windowMs(settings)) return baseline;
  const next = prune(copy(baseline), now, settings);
  next.lastAt = now;
  const bucket = bucketFor(next, observation.at);
  switch (observation.kind) {
    case 'requested':
      observeRequest(next, bucket, observation, settings);
      break;
    case 'refused':
      add(bucket, 'refused');
      next.recentRefusals = addMinute(next.recentRefusals, observation.at);
      break;
    case 'decided':
      add(bucket, observation.outcome);
      settle(next, observation, settings);
      break;
    case 'ended':
      add(bucket, 'ended');
      if (observation.givenBack) add(bucket, 'givenBack');
      break;
  }
  return next;
}

function observeRequest(
  next: BotBaseline,
  bucket: DayBucket,
  request: Extract<BaselineObservation, { kind: 'requested' }>,
  settings: BaselineSettings,
): void {
  const at = request.at;
  if (next.firstRequestAt === null || next.days.every((d) => !d.counts.requests)) next.firstRequestAt = at;
  add(bucket, 'requests');
  next.recentRequests = addMinute(next.recentRequests, at);
  // Escalated or denied by its score: its values are learnt (a legitimate change is then only
  // news for a day, see `risk-score.ts`), but its hour and the new values it brought wait for
  // a person's approval before they count as usual: an escalated burst, odd hour or stranger's
  // network must not make the next one look ordinary. A denied request is never approved.
  const escalated = request.riskLevel === 'high' || request.riskLevel === 'critical';
  const deferred: DayCounter[] = [];
  const news = (counter: DayCounter) => {
    if (escalated) deferred.push(counter);
    else add(bucket, counter);
  };
  if (!escalated) addHour(bucket, at);
  else if (request.elevationId !== undefined) {
    next.pending.push({ elevationId: request.elevationId, at, counters: deferred });
    if (next.pending.length > BASELINE_LIMITS.pending) next.pending.shift();
  }
  const network = networkOf(request.ip);
  if (network !== null) {
    if (see(next.networks, network, at, settings, BASELINE_LIMITS.networks)) news('newNetwork');
  }
  const agent = userAgentKey(request.userAgent);
  if (agent !== null) {
    const example = (request.userAgent ?? '').trim().slice(0, BASELINE_LIMITS.exampleLength);
    if (see(next.userAgents, agent.key, at, settings, BASELINE_LIMITS.userAgents, example)) {
      news('newUserAgent');
    }
  }
  for (const [field, value] of workloadValues(request.authMethod, request.workload)) {
    if (seeClaim(next.claims, field, value, at, settings)) news(NEW_CLAIM_COUNTER[field]);
  }
  if (seeRole(next, request, settings)) news('newRole');
}

/**
 * Records `key` as seen at `at`. Returns whether that was news: a value not seen in the window
 * while others were (the bot's very first value is its starting point, not a change).
 */
function see(
  values: SeenValue[],
  key: string,
  at: number,
  settings: BaselineSettings,
  limit: number,
  example?: string,
): boolean {
  const known = values.find((v) => v.key === key);
  if (known) {
    known.last = Math.max(known.last, at);
    known.count += 1;
    if (example !== undefined) known.example = example;
    return false;
  }
  const news = values.some((v) => inWindow(v.last, at, settings));
  values.push(
    example === undefined
      ? { key, first: at, last: at, count: 1 }
      : { key, first: at, last: at, count: 1, example },
  );
  evictBeyond(values, limit);
  return news;
}

function seeClaim(
  claims: SeenClaim[],
  field: WorkloadField,
  value: string,
  at: number,
  settings: BaselineSettings,
): boolean {
  const known = claims.find((c) => c.field === field && c.key === value);
  if (known) {
    known.last = Math.max(known.last, at);
    known.count += 1;
    return false;
  }
  const sameField = claims.filter((c) => c.field === field);
  const news = sameField.some((c) => inWindow(c.last, at, settings));
  claims.push({ field, key: value, first: at, last: at, count: 1 });
  if (sameField.length + 1 > BASELINE_LIMITS.claimsPerField) {
    const oldest = leastRecent([...sameField]);
    if (oldest) claims.splice(claims.indexOf(oldest), 1);
  }
  return news;
}

function seeRole(
  next: BotBaseline,
  request: Extract<BaselineObservation, { kind: 'requested' }>,
  settings: BaselineSettings,
): boolean {
  const at = request.at;
  const known = next.roles.find((r) => r.roleId === request.roleId);
  if (known) {
    known.last = Math.max(known.last, at);
    known.count += 1;
    known.approvalChain = request.approvalChain;
    if (request.sensitivity !== undefined) known.sensitivity = request.sensitivity;
    known.durations.push([at, request.durationSeconds]);
    if (known.durations.length > BASELINE_LIMITS.durationsPerRole) known.durations.shift();
    return false;
  }
  const news = next.roles.some((r) => inWindow(r.last, at, settings));
  next.roles.push({
    roleId: request.roleId,
    first: at,
    last: at,
    count: 1,
    approvalChain: request.approvalChain,
    ...(request.sensitivity !== undefined ? { sensitivity: request.sensitivity } : {}),
    durations: [[at, request.durationSeconds]],
  });
  if (next.roles.length > BASELINE_LIMITS.roles) {
    const oldest = leastRecent(next.roles.map((r) => ({ ...r, key: r.roleId })));
    next.roles = next.roles.filter((r) => r.roleId !== oldest?.key);
  }
  return news;
}

/** The least recently seen value (ties: the smallest key, so eviction is deterministic). */
function leastRecent<T extends { key: string; last: number }>(values: T[]): T | undefined {
  let oldest: T | undefined;
  for (const v of values) {
    if (!oldest || v.last < oldest.last || (v.last === oldest.last && v.key < oldest.key)) oldest = v;
  }
  return oldest;
}

function evictBeyond(values: SeenValue[], limit: number): void {
  while (values.length > limit) {
    const oldest = leastRecent(values);
    if (!oldest) return;
    values.splice(values.indexOf(oldest), 1);
  }
}

/** An escalated request's decision: approved, what it brought counts as usual after all. */
function settle(
  next: BotBaseline,
  decision: Extract<BaselineObservation, { kind: 'decided' }>,
  settings: BaselineSettings,
): void {
  const pending = next.pending.find((p) => p.elevationId === decision.elevationId);
  if (!pending || decision.elevationId === undefined) return;
  next.pending = next.pending.filter((p) => p !== pending);
  if (decision.outcome !== 'approved' || dayOf(pending.at) < firstDayOfWindow(decision.at, settings)) return;
  const bucket = bucketFor(next, pending.at);
  addHour(bucket, pending.at);
  for (const counter of pending.counters) add(bucket, counter);
}

function addHour(bucket: DayBucket, at: number): void {
  const hour = String(new Date(at).getUTCHours());
  bucket.hours[hour] = (bucket.hours[hour] ?? 0) + 1;
}

function add(bucket: DayBucket, counter: DayCounter): void {
  bucket.counts[counter] = (bucket.counts[counter] ?? 0) + 1;
}

/** The bucket of `at`'s day, created in order when missing. */
function bucketFor(baseline: BotBaseline, at: number): DayBucket {
  const day = dayOf(at);
  let i = baseline.days.length;
  while (i > 0 && (baseline.days[i - 1]?.day ?? -Infinity) > day) i -= 1;
  const existing = baseline.days[i - 1];
  if (existing?.day === day) return existing;
  const bucket: DayBucket = { day, counts: {}, hours: {} };
  baseline.days.splice(i, 0, bucket);
  return bucket;
}

/** Adds one to `at`'s minute and drops the minutes more than an hour before it. */
function addMinute(minutes: Array<[number, number]>, at: number): Array<[number, number]> {
  const minute = Math.floor(at / MINUTE_MS);
  const kept = minutes.filter(([m]) => m > minute - 60);
  const same = kept.find(([m]) => m === minute);
  if (same) same[1] += 1;
  else {
    kept.push([minute, 1]);
    kept.sort((a, b) => a[0] - b[0]);
  }
  return kept;
}

/** Drops what left the window ending at `now`. */
function prune(baseline: BotBaseline, now: number, settings: BaselineSettings): BotBaseline {
  const firstDay = firstDayOfWindow(now, settings);
  baseline.days = baseline.days.filter((d) => d.day >= firstDay);
  const keep = (v: { last: number }) => inWindow(v.last, now, settings);
  baseline.networks = baseline.networks.filter(keep);
  baseline.userAgents = baseline.userAgents.filter(keep);
  baseline.claims = baseline.claims.filter(keep);
  baseline.roles = baseline.roles.filter(keep);
  for (const role of baseline.roles) role.durations = role.durations.filter(([at]) => keep({ last: at }));
  const minute = Math.floor(now / MINUTE_MS);
  baseline.recentRequests = baseline.recentRequests.filter(([m]) => m > minute - 60);
  baseline.recentRefusals = baseline.recentRefusals.filter(([m]) => m > minute - 60);
  baseline.pending = baseline.pending.filter((p) => keep({ last: p.at }));
  return baseline;
}

/** A deep copy, so that {@link observe} never changes the baseline it was given. */
function copy(b: BotBaseline): BotBaseline {
  return {
    version: 1,
    botId: b.botId,
    firstRequestAt: b.firstRequestAt,
    lastAt: b.lastAt,
    days: b.days.map((d) => ({ day: d.day, counts: { ...d.counts }, hours: { ...d.hours } })),
    networks: b.networks.map((v) => ({ ...v })),
    userAgents: b.userAgents.map((v) => ({ ...v })),
    claims: b.claims.map((v) => ({ ...v })),
    roles: b.roles.map((r) => ({ ...r, durations: r.durations.map(([at, s]): [number, number] => [at, s]) })),
    recentRequests: b.recentRequests.map(([m, n]): [number, number] => [m, n]),
    recentRefusals: b.recentRefusals.map(([m, n]): [number, number] => [m, n]),
    pending: (b.pending ?? []).map((p) => ({ ...p, counters: [...p.counters] })),
  };
}
