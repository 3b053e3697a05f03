/**
 * The charts' numbers computed the slow, obvious way, from the elevations themselves: the oracle
 * the elevation index's SQL aggregates (`chartAggregates`, laid out by `statsFromAggregates`)
 * are checked against. Not used by Elevate, which counts in SQL.
 */
import type { ElevationView } from '../../core/model/elevation.js';
import {
  OUTCOMES,
  outcomeOf,
  type Bar,
  type ElevationStats,
  type StatsWindow,
} from '../../server/admin-charts.js';

const DAY_MS = 86_400_000;

/** The `n` largest counts, most first, ties by label. */
function top(counts: Map<string, number>, n: number): Bar[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([label, value]) => ({ label, value }));
}

/**
 * The charts' numbers for `views` (the elevations requested in `window`): per UTC day by
 * outcome, grants in force during each interval up to `now`, revocation lags (windows that ran
 * out), approval turnarounds, and the ten busiest bots and roles.
 */
export function elevationStats(views: ElevationView[], window: StatsWindow): ElevationStats {
  const days: ElevationStats['days'] = [];
  const first = Math.floor(window.from.getTime() / DAY_MS) * DAY_MS;
  for (let t = first; t < window.to.getTime(); t += DAY_MS) {
    days.push({ day: new Date(t).toISOString().slice(0, 10), counts: OUTCOMES.map(() => 0) });
  }
  const byDay = new Map(days.map((d) => [d.day, d]));
  const bots = new Map<string, number>();
  const roles = new Map<string, number>();
  const lagsMs: number[] = [];
  const turnaroundsMs: number[] = [];
  /** [granted, ended] in ms; ended is Infinity while the grant is in force. */
  const grants: [number, number][] = [];
  for (const v of views) {
    const day = byDay.get(v.requestedAt.slice(0, 10));
    if (day) day.counts[OUTCOMES.indexOf(outcomeOf(v))]! += 1;
    bots.set(v.botId, (bots.get(v.botId) ?? 0) + 1);
    roles.set(v.roleId, (roles.get(v.roleId) ?? 0) + 1);
    if (v.grantedAt) grants.push([Date.parse(v.grantedAt), v.endedAt ? Date.parse(v.endedAt) : Infinity]);
    if (v.endReason === 'expired' && v.status === 'revoked' && v.expiresAt && v.endedAt) {
      lagsMs.push(Math.max(0, Date.parse(v.endedAt) - Date.parse(v.expiresAt)));
    }
    if (
      v.approval.mode === 'approvers' &&
      v.approvals.length >= v.approval.quorum &&
      v.approvals.length > 0
    ) {
      const approvedAt = Math.max(...v.approvals.map((a) => Date.parse(a.at)));
      turnaroundsMs.push(Math.max(0, approvedAt - Date.parse(v.requestedAt)));
    }
  }
  const points = window.points ?? 48;
  const start = window.from.getTime();
  const end = Math.min(window.to.getTime(), window.now.getTime());
  const step = Math.max(1, (end - start) / points);
  const active: ElevationStats['active'] = [];
  for (let i = 0; i < points; i += 1) {
    // Grants in force at some time in [t0, t1): short grants show up, not only those spanning an instant.
    const t0 = start + step * i;
    const t1 = t0 + step;
    const iso = new Date(t0).toISOString();
    active.push({
      at: iso,
      label: `${iso.slice(5, 10)} ${iso.slice(11, 16)}`,
      count: grants.filter(([g, e]) => g < t1 && e > t0).length,
    });
  }
  return {
    days,
    active,
    lagsMs: lagsMs.sort((a, b) => a - b),
    turnaroundsMs: turnaroundsMs.sort((a, b) => a - b),
    topBots: top(bots, 10),
    topRoles: top(roles, 10),
  };
}
