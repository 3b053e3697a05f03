/**
 * The rules of continuous detection: what single requests cannot show, found by looking across
 * requests, bots and time. Each rule is given what it needs, already read (baselines, the bot's
 * latest elevations, refusals, the directory's answer) and the instant it looks at, and returns
 * the finding with a sentence for people and the numbers behind it, or nothing. Pure and
 * deterministic: the run that reads and records is `domain/detection/anomaly-detector.ts`.
 *
 * The statistics are the explainable kind the inline score uses: counts, medians and
 * percentiles of a bot's (or a fleet's) own history, never a fixed rate for everyone.
 */
import type { AnomalyFinding, AnomalyFleet, AnomalySettings } from '../model/anomaly.js';
import type { BaselineSettings } from '../model/risk.js';
import { DAY_MS, HOUR_MS, dayOf, firstDayOfWindow, type BotBaseline } from './bot-baseline.js';
import { lastHour, quantile } from './baseline-window.js';

/** Days of activity a fleet needs in the window before its usual busiest hour says anything. */
export const MIN_FLEET_DAYS = 3;

/** Grants given back or run out before the streak, at the least, to call the bot's habit early give-back. */
export const MIN_EARLY_HISTORY = 5;

/** The share of those it must have given back early: "always", allowing one slip in ten. */
export const EARLY_SHARE = 0.9;

/** A bot as the fleet rules group it. */
export interface FleetBot {
  id: string;
  team: string;
  owner: string;
}

/**
 * The fleets of a policy: the bots of each team and of each owner, when there are two or more.
 * An owner's fleet with exactly the bots of a team is that team's fleet (one spike, one finding).
 * Ordered by kind, then name, then bots by id.
 */
export function fleetsOf(bots: readonly FleetBot[]): AnomalyFleet[] {
  const group = (by: 'team' | 'owner', key: (b: FleetBot) => string): AnomalyFleet[] => {
    const members = new Map<string, string[]>();
    for (const b of bots) members.set(key(b), [...(members.get(key(b)) ?? []), b.id]);
    return [...members]
      .filter(([, ids]) => ids.length >= 2)
      .map(([id, ids]) => ({ by, id, bots: [...ids].sort() }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  };
  const teams = group('team', (b) => b.team);
  const sameAsTeam = new Set(teams.map((t) => t.bots.join('\n')));
  const owners = group('owner', (b) => b.owner.toLowerCase()).filter(
    (o) => !sameAsTeam.has(o.bots.join('\n')),
  );
  return [...teams, ...owners];
}

/**
 * The fleet's requests in the last hour against its usual busiest hour, summed over its bots.
 *
 * Usual: for each day of the window before today, the fleet's busiest clock hour (the bots'
 * requests in that hour added up); the 90th percentile of those daily peaks, days far above the
 * median (beyond `fleetSpikeFactor` times it) left out so that an earlier spike does not set
 * what is usual. The last hour is the 60 minutes before `at`, which can straddle two clock hours:
 * the factor leaves room for that. A spike: above `fleetSpikeFactor` times the usual and above
 * `fleetSpikeMinRequests`. Nothing before the fleet has {@link MIN_FLEET_DAYS} days of activity.
 *
 * The finding names the bot that requested most in the last hour (ties: the first by id).
 */
export function fleetRateSpike(
  fleet: AnomalyFleet,
  baselines: ReadonlyMap<string, BotBaseline>,
  at: number,
  settings: Pick<AnomalySettings, 'fleetSpikeFactor' | 'fleetSpikeMinRequests'>,
  window: BaselineSettings,
): AnomalyFinding | undefined {
  const today = dayOf(at);
  const firstDay = firstDayOfWindow(at, window);
  const hoursByDay = new Map<number, number[]>();
  const recent: Array<[string, number]> = [];
  for (const botId of fleet.bots) {
    const baseline = baselines.get(botId);
    if (!baseline) continue;
    recent.push([botId, lastHour(baseline.recentRequests, at)]);
    for (const d of baseline.days) {
      if (d.day < firstDay || d.day >= today) continue;
      const hours = hoursByDay.get(d.day) ?? Array<number>(24).fill(0);
      for (const [hour, n] of Object.entries(d.hours)) hours[Number(hour)] = (hours[Number(hour)] ?? 0) + n;
      hoursByDay.set(d.day, hours);
    }
  }
  const peaks = [...hoursByDay.values()]
    .map((hours) => Math.max(...hours))
    .filter((peak) => peak > 0)
    .sort((a, b) => a - b);
  if (peaks.length < MIN_FLEET_DAYS) return undefined;
  const median = quantile(peaks, 0.5);
  const usual = quantile(
    peaks.filter((peak) => peak <= settings.fleetSpikeFactor * Math.max(median, 3)),
    0.9,
  );
  const now = recent.reduce((n, [, r]) => n + r, 0);
  const threshold = Math.max(settings.fleetSpikeMinRequests, settings.fleetSpikeFactor * usual);
  if (now <= threshold) return undefined;
  const [top, topRequests] = recent.reduce((best, r) => (r[1] > best[1] ? r : best));
  const ratio = usual > 0 ? `${round1(now / usual)} times` : 'far above';
  return {
    kind: 'fleet_rate_spike',
    botId: top,
    severity: now > 2 * threshold ? 'high' : 'medium',
    text:
      `the ${fleet.bots.length} bots of ${fleet.by} ${fleet.id} made ${now} requests in the last hour, ` +
      `${ratio} their usual busiest hour (${usual} requests, over ${peaks.length} days); ` +
      `${top} made ${topRequests} of them`,
    evidence: {
      requestsLastHour: now,
      usualBusiestHour: usual,
      threshold: round1(threshold),
      daysOfHistory: peaks.length,
      bots: fleet.bots.length,
      topBotRequests: topRequests,
    },
    fleet,
  };
}

/** A refused credentials fetch (`credentials.refused` by a bot). */
export interface CredentialRefusal {
  botId: string;
  at: number;
  /** The refusal's reason (`already_delivered`, `not_active`...). */
  reason: string;
  elevationId: string | null;
}

/**
 * Bots refused their credentials at least `credentialRefusalsPerHour` times in the hour before
 * `at`. Credentials are handed over once; asking again is a copied key or a replayed request as
 * often as it is a bug. One finding per bot, ordered by bot id.
 */
export function credentialRefusalBursts(
  refusals: readonly CredentialRefusal[],
  at: number,
  settings: Pick<AnomalySettings, 'credentialRefusalsPerHour'>,
): AnomalyFinding[] {
  const byBot = new Map<string, CredentialRefusal[]>();
  for (const r of refusals) {
    if (r.at <= at - HOUR_MS || r.at > at) continue;
    byBot.set(r.botId, [...(byBot.get(r.botId) ?? []), r]);
  }
  const threshold = settings.credentialRefusalsPerHour;
  return [...byBot]
    .filter(([, list]) => list.length >= threshold)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([botId, list]) => {
      const reasons = new Map<string, number>();
      for (const r of list) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      const why = [...reasons]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ');
      const elevations = new Set(list.map((r) => r.elevationId ?? '')).size;
      return {
        kind: 'credential_refusals' as const,
        botId,
        severity: list.length >= 2 * threshold ? ('high' as const) : ('medium' as const),
        text:
          `bot ${botId} was refused its credentials ${list.length} times in the last hour (${why}), ` +
          `for ${elevations} elevation${elevations === 1 ? '' : 's'}: credentials are handed over ` +
          `once, so a copied key or a replayed request may be asking`,
        evidence: { refusals: list.length, threshold, elevations },
      };
    });
}

/** How one of a bot's grants ended: given back by the bot, or run to the end of its window. */
export interface GrantEnd {
  at: number;
  givenBack: boolean;
}

/**
 * A bot that gives its grants back early (at least {@link EARLY_SHARE} of its last
 * {@link MIN_EARLY_HISTORY} or more) now letting `expiryStreak` or more in a row run to expiry:
 * whoever holds its key may not know the habit, or is using the time. `ends` are the bot's grants
 * that were given back or ran out (other ends say nothing of the habit), oldest first.
 */
export function grantsRunToExpiry(
  botId: string,
  ends: readonly GrantEnd[],
  settings: Pick<AnomalySettings, 'expiryStreak'>,
): AnomalyFinding | undefined {
  let streak = 0;
  while (streak < ends.length && !ends[ends.length - 1 - streak]!.givenBack) streak += 1;
  if (streak < settings.expiryStreak) return undefined;
  const before = ends.slice(0, ends.length - streak);
  const givenBack = before.filter((e) => e.givenBack).length;
  if (before.length < MIN_EARLY_HISTORY || givenBack < EARLY_SHARE * before.length) return undefined;
  return {
    kind: 'grants_run_to_expiry',
    botId,
    severity: 'medium',
    text:
      `bot ${botId} let its last ${streak} grants run to expiry; before that it gave ` +
      `${givenBack} of ${before.length} back early`,
    evidence: { expiredInARow: streak, earlierGrants: before.length, earlierGivenBack: givenBack },
  };
}

/** What the dormant rule knows of a bot. */
export interface BotActivity {
  botId: string;
  /** The roles the policy lets it request. */
  roles: readonly string[];
  /** Neither disabled by the policy nor by an admin. */
  enabled: boolean;
  /** Its latest request, or null when it never made one. */
  lastRequestAt: number | null;
  /** Since when detection has known the bot (for one that never requested), or null. */
  watchedSince: number | null;
}

/**
 * A bot that may request roles but has not for `dormantDays` days (stale: retired, or its job
 * moved; its roles are standing eligibility nobody uses). A bot that never requested counts from
 * when detection first saw it. A disabled bot, or one with no roles, is not dormant: nothing is
 * left to take away.
 */
export function dormantBot(
  bot: BotActivity,
  at: number,
  settings: Pick<AnomalySettings, 'dormantDays'>,
): AnomalyFinding | undefined {
  if (!bot.enabled || bot.roles.length === 0) return undefined;
  const since = bot.lastRequestAt ?? bot.watchedSince;
  if (since === null) return undefined;
  const days = Math.floor((at - since) / DAY_MS);
  if (days < settings.dormantDays) return undefined;
  const roles = bot.roles.join(', ');
  const idle =
    bot.lastRequestAt === null
      ? `has never requested a role in the ${days} days detection has watched it`
      : `has not requested a role for ${days} days (last on ${new Date(bot.lastRequestAt).toISOString().slice(0, 10)})`;
  return {
    kind: 'dormant',
    botId: bot.botId,
    severity: 'low',
    text:
      `bot ${bot.botId} ${idle}, yet may still request ${roles}: take away the roles it no ` +
      `longer needs, or the bot if it is retired`,
    evidence: {
      daysIdle: days,
      roles: bot.roles.length,
      neverRequested: bot.lastRequestAt === null ? 1 : 0,
    },
  };
}

/**
 * A bot whose owner the directory no longer knows: nobody answers for it, its alerts go nowhere,
 * and its eligibility outlives the person who asked for it.
 */
export function orphanedBot(
  bot: { botId: string; owner: string; roles: readonly string[] },
  ownerInDirectory: boolean,
): AnomalyFinding | undefined {
  if (ownerInDirectory) return undefined;
  return {
    kind: 'orphaned',
    botId: bot.botId,
    severity: 'medium',
    text:
      `the owner of bot ${bot.botId}, ${bot.owner}, is no longer in the directory: nobody answers ` +
      `for it; give it a new owner in the policy, or retire it`,
    evidence: { roles: bot.roles.length },
  };
}

/**
 * What a finding is about, for deduplication: its fleet (`team:data`), or its bot (`bot:etl`).
 * The same kind about the same subject is one anomaly until it is re-alerted.
 */
export function anomalySubject(finding: Pick<AnomalyFinding, 'botId' | 'fleet'>): string {
  return finding.fleet ? `${finding.fleet.by}:${finding.fleet.id}` : `bot:${finding.botId}`;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
