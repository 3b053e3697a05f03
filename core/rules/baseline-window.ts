/**
 * Reading a bot's baseline as of one instant: only what is inside the window ending then counts,
 * whenever the baseline was last written. The statistics here are the explainable kind: counts,
 * a novelty rate (how often this bot shows something new), an hour-of-day and hour-of-week
 * profile smoothed by a small kernel, and medians with median absolute deviations.
 */
import type { BaselineSettings } from '../model/risk.js';
import {
  DAY_MS,
  MINUTE_MS,
  dayOf,
  firstDayOfWindow,
  inWindow,
  type BotBaseline,
  type DayBucket,
  type DayCounter,
  type RoleHistory,
} from './bot-baseline.js';

/** A baseline as of one instant. */
export interface WindowView {
  baseline: BotBaseline;
  at: number;
  settings: BaselineSettings;
  /** The window's day buckets up to and including `at`'s day. */
  days: DayBucket[];
  /** Requests in the window. */
  requests: number;
  /** Whole days since the first request of the bot's current history (0 without one). */
  historyDays: number;
  /** Whether the baseline counts: enough requests over enough days (`minRequests`, `minDays`). */
  baselined: boolean;
}

/** The baseline as of `at`. */
export function windowView(baseline: BotBaseline, at: number, settings: BaselineSettings): WindowView {
  const firstDay = firstDayOfWindow(at, settings);
  const today = dayOf(at);
  const days = baseline.days.filter((d) => d.day >= firstDay && d.day <= today);
  const requests = days.reduce((n, d) => n + (d.counts.requests ?? 0), 0);
  const historyDays =
    baseline.firstRequestAt === null ? 0 : Math.max(0, (at - baseline.firstRequestAt) / DAY_MS);
  const baselined = requests > 0 && requests >= settings.minRequests && historyDays >= settings.minDays;
  return { baseline, at, settings, days, requests, historyDays, baselined };
}

/** A counter summed over the window. */
export function total(view: WindowView, counter: DayCounter): number {
  return view.days.reduce((n, d) => n + (d.counts[counter] ?? 0), 0);
}

/**
 * How often this bot's requests brought a value of this kind not seen before (a Good–Turing
 * estimate of the chance that the next one does), smoothed so that a short history is never
 * taken for certainty. The bot's first `minDays` of history are left out once there are
 * `minRequests` requests after them: the values it starts with are its starting point, not
 * changes (until then they count, which errs on the side of fewer alerts).
 */
export function noveltyRate(view: WindowView, counter: DayCounter): number {
  const firstAt = view.baseline.firstRequestAt ?? view.at;
  const warmUpEnd = dayOf(firstAt + view.settings.minDays * DAY_MS);
  let news = 0;
  let requests = 0;
  let allNews = 0;
  for (const d of view.days) {
    allNews += d.counts[counter] ?? 0;
    if (d.day < warmUpEnd) continue;
    news += d.counts[counter] ?? 0;
    requests += d.counts.requests ?? 0;
  }
  if (requests < view.settings.minRequests) return (allNews + 0.5) / (view.requests + 1);
  return (news + 0.5) / (requests + 1);
}

/**
 * The chance that the next request brings a role not seen in the window, by Good and Turing's
 * estimate: the share of the window's requests made for roles asked for only once in it. A bot
 * that uses some of its roles once a month is likely to show a new one soon.
 */
export function rareRoleRate(view: WindowView): number {
  let once = 0;
  for (const role of view.baseline.roles) {
    const inside = role.durations.filter(
      ([at]) => inWindow(at, view.at, view.settings) && at <= view.at,
    ).length;
    if (inside === 1) once += 1;
  }
  return (once + 0.5) / (view.requests + 1);
}

/**
 * How surprising a new value is, 0 to 1, by the novelty rate on a log scale: nothing for a bot
 * that shows a new one in every other request or more (a test pipeline on a new branch each
 * time, a job on hosted runners), everything for one that shows one in twenty or fewer.
 */
export function surprise(rate: number): number {
  return clamp(Math.log(0.5 / rate) / Math.log(0.5 / 0.05), 0, 1);
}

export function clamp(x: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, x));
}

/** Requests per hour of the week (0 = Sunday 00:00 UTC) and per hour of the day, over the window. */
export interface HourProfile {
  byWeek: number[];
  byDay: number[];
  total: number;
}

/** The weekday of a UTC day, 0 = Sunday (the epoch's day 0 was a Thursday). */
export function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function hourProfile(view: WindowView): HourProfile {
  const byWeek = Array<number>(168).fill(0);
  const byDay = Array<number>(24).fill(0);
  let sum = 0;
  for (const d of view.days) {
    const base = weekdayOf(d.day) * 24;
    for (const [hour, n] of Object.entries(d.hours)) {
      const h = Number(hour);
      byWeek[base + h] = (byWeek[base + h] ?? 0) + n;
      byDay[h] = (byDay[h] ?? 0) + n;
      sum += n;
    }
  }
  return { byWeek, byDay, total: sum };
}

/** The kernel that spreads an hour's requests over its neighbours: ±1 h half, ±2 h a fifth. */
const KERNEL = [1, 0.5, 0.2] as const;
const KERNEL_MASS = KERNEL[0] + 2 * (KERNEL[1] + KERNEL[2]);

function smoothed(counts: number[], slot: number): number {
  const n = counts.length;
  let sum = 0;
  for (let k = -2; k <= 2; k += 1) sum += (counts[(((slot + k) % n) + n) % n] ?? 0) * KERNEL[Math.abs(k)]!;
  return sum / KERNEL_MASS;
}

/**
 * How usual the hour of `at` is for this bot, as a ratio to a bot that asks at every hour of the
 * week alike (1: as often as that; 0.05: twenty times less often). Half of it is the hour of the
 * week, half the hour of the day whatever the weekday (a nightly job that skipped a Sunday is
 * still a nightly job); both kernel-smoothed, with one request's worth of prior spread evenly.
 */
export function hourRatio(profile: HourProfile, at: number): number {
  if (profile.total === 0) return 1;
  const date = new Date(at);
  const hour = date.getUTCHours();
  const slot = weekdayOf(dayOf(at)) * 24 + hour;
  const week = smoothed(profile.byWeek, slot) / profile.total;
  const day = smoothed(profile.byDay, hour) / profile.total / 7;
  const mixed = 0.5 * week + 0.5 * day;
  const prior = 2;
  const p = (profile.total * mixed + prior / 168) / (profile.total + prior);
  return p * 168;
}

/** The shortest span of clock hours holding at least `share` of the requests, and whether they were on weekdays. */
export interface UsualHours {
  /** First hour of the span (UTC). */
  from: number;
  /** Hour the span ends (exclusive, UTC, may wrap past midnight). */
  to: number;
  /** Whether almost every request was on a weekday. */
  weekdays: boolean;
}

export function usualHours(profile: HourProfile, share = 0.8): UsualHours {
  const need = profile.total * share;
  let best = { from: 0, length: 24 };
  for (let length = 1; length <= 24 && best.length === 24; length += 1) {
    for (let from = 0; from < 24; from += 1) {
      let sum = 0;
      for (let k = 0; k < length; k += 1) sum += profile.byDay[(from + k) % 24] ?? 0;
      if (sum >= need) {
        best = { from, length };
        break;
      }
    }
  }
  const weekend = [0, 6].reduce(
    (n, wd) => n + profile.byWeek.slice(wd * 24, wd * 24 + 24).reduce((a, b) => a + b, 0),
    0,
  );
  return {
    from: best.from,
    to: (best.from + best.length) % 24,
    weekdays: profile.total >= 10 && weekend <= profile.total * 0.03,
  };
}

/** What the bot's busiest hours usually look like: its daily peaks of requests in one clock hour. */
export interface HourlyRate {
  /** The median daily peak. */
  typical: number;
  /** The 90th percentile of daily peaks (one odd day does not move it). */
  usualPeak: number;
  /** Days it was computed from. */
  days: number;
}

/**
 * The usual hourly rate from the window's days before `at`'s own (null: fewer than three days).
 * A day whose peak is beyond `outlier` times the median peak (never counted below three) is
 * left out: a burst that would itself have been a spike does not set what is usual.
 */
export function hourlyRate(view: WindowView, outlier: number): HourlyRate | null {
  const today = dayOf(view.at);
  const all = view.days
    .filter((d) => d.day < today)
    .map((d) => Math.max(0, ...Object.values(d.hours)))
    .filter((peak) => peak > 0)
    .sort((a, b) => a - b);
  if (all.length < 3) return null;
  const typical = quantile(all, 0.5);
  const peaks = all.filter((peak) => peak <= outlier * Math.max(typical, 3));
  return { typical, usualPeak: quantile(peaks, 0.9), days: peaks.length };
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Events in the hour before `at` from per-minute counts. */
export function lastHour(minutes: Array<[number, number]>, at: number): number {
  const minute = Math.floor(at / MINUTE_MS);
  let n = 0;
  for (const [m, count] of minutes) if (m > minute - 60 && m <= minute) n += count;
  return n;
}

/** A role's usual duration: median and robust spread of the logarithm of its recent durations. */
export interface DurationStats {
  /** Median duration, seconds. */
  median: number;
  /** Median absolute deviation of ln(duration), scaled to a standard deviation (×1.4826). */
  spread: number;
  /** The 90th percentile, seconds: the longest usual length of a role asked for in two lengths. */
  upper: number;
  samples: number;
}

/** The role's duration statistics in the window (null: fewer than five requests). */
export function durationStats(role: RoleHistory, view: WindowView): DurationStats | null {
  const logs = role.durations
    .filter(([at, seconds]) => inWindow(at, view.at, view.settings) && at <= view.at && seconds > 0)
    .map(([, seconds]) => Math.log(seconds))
    .sort((a, b) => a - b);
  if (logs.length < 5) return null;
  const centre = median(logs);
  const deviations = logs.map((l) => Math.abs(l - centre)).sort((a, b) => a - b);
  return {
    median: Math.exp(centre),
    spread: 1.4826 * median(deviations),
    upper: Math.exp(quantile(logs, 0.9)),
    samples: logs.length,
  };
}

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
