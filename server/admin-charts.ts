/**
 * The numbers behind the admin console's charts: elevations folded into counts per day and
 * outcome, grants in force over time, revocation lags, approval turnarounds and the busiest
 * bots and roles. Pure, no markup: the charts are drawn by `admin/views/chart-svg.tsx`.
 */
import type { ElevationView } from '../core/model/elevation.js';
import type { ChartAggregates } from '../store/elevation-index.js';

/** One bar of a chart: a label and a value (negative or non-finite values count as 0). */
export interface Bar {
  label: string;
  value: number;
}

/** How the console groups elevations by outcome, in stacking order. */
export const OUTCOMES = [
  'ended normally',
  'revoked by an admin',
  'denied or timed out',
  'failed',
  'in progress',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The outcome of one elevation (by its end reason; none yet: in progress). */
export function outcomeOf(v: { status: string; endReason?: string | undefined }): Outcome {
  switch (v.endReason) {
    case 'expired':
    case 'given_back':
    case 'withdrawn':
      return v.status === 'revoking' ? 'in progress' : 'ended normally';
    case 'admin_revoked':
      return 'revoked by an admin';
    case 'denied':
    case 'approval_timeout':
      return 'denied or timed out';
    case 'grant_failed':
    case 'request_unverified':
    case 'orphaned': // the workflow ended without revoking; reconciliation took the grant back
      return 'failed';
    default:
      return 'in progress';
  }
}

/** Revocation lag buckets: from the end of the window to the read-back that confirmed removal. */
export const LAG_BUCKETS: { label: string; upToMs: number }[] = [
  // Finer below a second, where a healthy deployment's revocations land (half a second is the goal).
  { label: '< 100 ms', upToMs: 100 },
  { label: '100–250 ms', upToMs: 250 },
  { label: '250–500 ms', upToMs: 500 },
  { label: '0.5–1 s', upToMs: 1000 },
  { label: '1–5 s', upToMs: 5000 },
  { label: '5–30 s', upToMs: 30_000 },
  { label: '30 s–5 min', upToMs: 300_000 },
  { label: '≥ 5 min', upToMs: Infinity },
];

/** Approval turnaround buckets: from the request to the approval that met the quorum. */
export const TURNAROUND_BUCKETS: { label: string; upToMs: number }[] = [
  { label: '< 1 min', upToMs: 60_000 },
  { label: '1–5 min', upToMs: 300_000 },
  { label: '5–15 min', upToMs: 900_000 },
  { label: '15–60 min', upToMs: 3_600_000 },
  { label: '1–4 h', upToMs: 14_400_000 },
  { label: '≥ 4 h', upToMs: Infinity },
];

/** Counts of `values` per bucket (a value goes to the first bucket it is below). */
export function histogram(values: number[], buckets: { label: string; upToMs: number }[]): Bar[] {
  const counts = buckets.map((b) => ({ label: b.label, value: 0 }));
  for (const v of values) {
    const i = buckets.findIndex((b) => v < b.upToMs);
    counts[i === -1 ? buckets.length - 1 : i]!.value += 1;
  }
  return counts;
}

/** The value at quantile `q` (0..1) of sorted `values`, or undefined for none. */
export function quantile(sorted: number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Everything the charts page shows, computed from the elevations of a window. */
export interface ElevationStats {
  days: { day: string; counts: number[] }[];
  /** Per interval (from `at`): grants in force at some time during it. */
  active: { at: string; label: string; count: number }[];
  lagsMs: number[];
  turnaroundsMs: number[];
  topBots: Bar[];
  topRoles: Bar[];
}

function top(counts: Map<string, number>, n: number): Bar[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([label, value]) => ({ label, value }));
}

/** The window of the charts: elevations requested in [`from`, `to`), activity sampled up to `now`. */
export interface StatsWindow {
  from: Date;
  to: Date;
  now: Date;
  /** Intervals of the active-grants chart (default 48). */
  points?: number;
}

/**
 * Folds elevations, one at a time, into the charts' numbers: per UTC day by outcome, grants in
 * force during each interval up to `now`, revocation lags (windows that ran out), approval
 * turnarounds, and the ten busiest bots and roles. It keeps counters and a few numbers per
 * elevation, not the elevations, so a long window can be read page by page.
 */
export class ElevationStatsBuilder {
  private readonly days: ElevationStats['days'] = [];
  private readonly byDay: Map<string, ElevationStats['days'][number]>;
  private readonly bots = new Map<string, number>();
  private readonly roles = new Map<string, number>();
  private readonly lagsMs: number[] = [];
  private readonly turnaroundsMs: number[] = [];
  /** [granted, ended] in ms; ended is Infinity while the grant is in force. */
  private readonly grants: [number, number][] = [];
  /** How many elevations were added. */
  count = 0;

  constructor(private readonly window: StatsWindow) {
    const dayMs = 86_400_000;
    const first = Math.floor(window.from.getTime() / dayMs) * dayMs;
    for (let t = first; t < window.to.getTime(); t += dayMs) {
      this.days.push({ day: new Date(t).toISOString().slice(0, 10), counts: OUTCOMES.map(() => 0) });
    }
    this.byDay = new Map(this.days.map((d) => [d.day, d]));
  }

  add(v: ElevationView): void {
    this.count += 1;
    const day = this.byDay.get(v.requestedAt.slice(0, 10));
    if (day) day.counts[OUTCOMES.indexOf(outcomeOf(v))]! += 1;
    this.bots.set(v.botId, (this.bots.get(v.botId) ?? 0) + 1);
    this.roles.set(v.roleId, (this.roles.get(v.roleId) ?? 0) + 1);
    if (v.grantedAt) {
      // Not ended yet: active up to now and beyond.
      this.grants.push([Date.parse(v.grantedAt), v.endedAt ? Date.parse(v.endedAt) : Infinity]);
    }
    if (v.endReason === 'expired' && v.status === 'revoked' && v.expiresAt && v.endedAt) {
      this.lagsMs.push(Math.max(0, Date.parse(v.endedAt) - Date.parse(v.expiresAt)));
    }
    if (
      v.approval.mode === 'approvers' &&
      v.approvals.length >= v.approval.quorum &&
      v.approvals.length > 0
    ) {
      const approvedAt = Math.max(...v.approvals.map((a) => Date.parse(a.at)));
      this.turnaroundsMs.push(Math.max(0, approvedAt - Date.parse(v.requestedAt)));
    }
  }

  result(): ElevationStats {
    const points = this.window.points ?? 48;
    const start = this.window.from.getTime();
    const end = Math.min(this.window.to.getTime(), this.window.now.getTime());
    const step = Math.max(1, (end - start) / points);
    const active: ElevationStats['active'] = [];
    for (let i = 0; i < points; i += 1) {
      // Grants in force at some time in [t0, t1): short grants show up, not only those spanning an instant.
      const t0 = start + step * i;
      const t1 = t0 + step;
      const count = this.grants.filter(([g, e]) => g < t1 && e > t0).length;
      const iso = new Date(t0).toISOString();
      active.push({ at: iso, label: `${iso.slice(5, 10)} ${iso.slice(11, 16)}`, count });
    }
    return {
      days: this.days,
      active,
      lagsMs: [...this.lagsMs].sort((a, b) => a - b),
      turnaroundsMs: [...this.turnaroundsMs].sort((a, b) => a - b),
      topBots: top(this.bots, 10),
      topRoles: top(this.roles, 10),
    };
  }
}

/** The charts' numbers for `views` (see {@link ElevationStatsBuilder}). */
export function elevationStats(views: ElevationView[], window: StatsWindow): ElevationStats {
  const builder = new ElevationStatsBuilder(window);
  for (const v of views) builder.add(v);
  return builder.result();
}

/** The charts' window of `days` whole UTC days, ending with the day of `now`. */
export function chartWindow(days: number, now: Date): StatsWindow {
  const dayMs = 86_400_000;
  const to = new Date(Math.floor(now.getTime() / dayMs) * dayMs + dayMs);
  return { from: new Date(to.getTime() - days * dayMs), to, now };
}

/** The active-grants chart's slots of `window`: `points` equal intervals up to `now` (or the end). */
export function activeSlots(window: StatsWindow): { from: string; to: string; label: string }[] {
  const points = window.points ?? 48;
  const start = window.from.getTime();
  const end = Math.min(window.to.getTime(), window.now.getTime());
  const step = Math.max(1, (end - start) / points);
  return Array.from({ length: points }, (_, i) => {
    const from = new Date(start + step * i).toISOString();
    return {
      from,
      to: new Date(start + step * (i + 1)).toISOString(),
      label: `${from.slice(5, 10)} ${from.slice(11, 16)}`,
    };
  });
}

/**
 * The charts' numbers from the elevation index's grouped counts for `window` (asked for with the
 * slots of {@link activeSlots}): the same numbers {@link elevationStats} folds from the views.
 */
export function statsFromAggregates(agg: ChartAggregates, window: StatsWindow): ElevationStats {
  const dayMs = 86_400_000;
  const days: ElevationStats['days'] = [];
  const first = Math.floor(window.from.getTime() / dayMs) * dayMs;
  for (let t = first; t < window.to.getTime(); t += dayMs) {
    days.push({ day: new Date(t).toISOString().slice(0, 10), counts: OUTCOMES.map(() => 0) });
  }
  const byDay = new Map(days.map((d) => [d.day, d]));
  for (const row of agg.byDay) {
    const day = byDay.get(row.day);
    if (day)
      day.counts[
        OUTCOMES.indexOf(outcomeOf({ status: row.status, endReason: row.endReason ?? undefined }))
      ]! += row.count;
  }
  return {
    days,
    active: activeSlots(window).map((slot, i) => ({
      at: slot.from,
      label: slot.label,
      count: agg.active[i] ?? 0,
    })),
    lagsMs: agg.revokeLagsMs,
    turnaroundsMs: agg.turnaroundsMs,
    topBots: agg.topBots,
    topRoles: agg.topRoles,
  };
}

/** One page of the elevation list, as the service gives it. */
type ListPage = (query: {
  from: string;
  to: string;
  limit: number;
  cursor?: string;
}) => Promise<{ items: ElevationView[]; nextCursor?: string | undefined }>;

/**
 * The charts' numbers for the elevations requested in the window, read through `list` page by
 * page (`pageSize` at a time, newest first) and folded as they come: only counters stay in
 * memory. At most `limit` elevations are read; `capped` says whether more were left out.
 */
export async function readElevationStats(
  list: ListPage,
  window: StatsWindow,
  opts: { limit: number; pageSize: number },
): Promise<{ stats: ElevationStats; total: number; capped: boolean }> {
  const builder = new ElevationStatsBuilder(window);
  let cursor: string | undefined;
  do {
    const page = await list({
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      limit: Math.min(opts.pageSize, opts.limit - builder.count),
      ...(cursor ? { cursor } : {}),
    });
    for (const view of page.items) builder.add(view);
    cursor = page.nextCursor;
  } while (cursor && builder.count < opts.limit);
  return { stats: builder.result(), total: builder.count, capped: cursor !== undefined };
}
