/**
 * The numbers behind the admin console's charts: elevations per day and outcome, grants in force
 * over time, revocation lags, approval turnarounds and the busiest bots and roles. The elevation
 * index counts them in SQL (`store/elevation-index.ts` `chartAggregates`); this lays its counts
 * out as the charts show them. Pure, no markup: the charts are drawn by `admin/views/chart-svg.tsx`.
 */
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

/** Everything the charts page shows, for the elevations requested in a window. */
export interface ElevationStats {
  days: { day: string; counts: number[] }[];
  /** Per interval (from `at`): grants in force at some time during it. */
  active: { at: string; label: string; count: number }[];
  lagsMs: number[];
  turnaroundsMs: number[];
  topBots: Bar[];
  topRoles: Bar[];
}

/** The window of the charts: elevations requested in [`from`, `to`), activity sampled up to `now`. */
export interface StatsWindow {
  from: Date;
  to: Date;
  now: Date;
  /** Intervals of the active-grants chart (default 48). */
  points?: number;
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
 * slots of {@link activeSlots}): each day of the window with its elevations by outcome (days
 * outside the window are left out), each slot's grants in force, and the rest as counted.
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
