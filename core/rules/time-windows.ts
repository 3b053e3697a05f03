/**
 * A bot's allowed time windows (`bots[].allowedWindows` in the policy): the times of the week,
 * in a named time zone, when it may hold a role, e.g. a batch bot only 01:00–04:00 Berlin time
 * on weekdays. A request is admitted only when its whole window (from its start, now or
 * `startsAt`, to the start plus its duration) lies inside the allowed windows.
 *
 * Windows are wall-clock times, so they follow daylight saving time: a window `01:00–04:00` is
 * three hours long on most days, two on the night clocks skip 02:00–03:00, four on the night they
 * repeat it. A window whose `to` is not after its `from` crosses midnight and closes on the next
 * day (`days` names the day it opens); `to: '24:00'` is midnight at the end of the day.
 * Windows that touch or overlap (`mon 22:00–24:00` and `tue 00:00–02:00`) count as one.
 *
 * A wall-clock time the zone skips (02:30 on the night clocks go forward) is read as the same
 * time after the gap (03:30), and one it repeats (02:30 on the night clocks go back) as its first
 * occurrence: the `compatible` reading of the JavaScript Temporal proposal and of RFC 5545.
 *
 * Pure: the time zone rules come from `Intl` (the IANA database of the runtime), no I/O.
 */

/** The days of the week, Monday first, as the policy writes them. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One allowed window, as the policy gives it. */
export interface AllowedWindow {
  /** The days it opens on. */
  days: readonly Weekday[];
  /** Opening time, `HH:MM` (24-hour clock). */
  from: string;
  /** Closing time, `HH:MM` or `24:00`; not after `from`: on the next day. */
  to: string;
  /** IANA time zone, e.g. `Europe/Berlin`. */
  timeZone: string;
}

/** A window's one opening, as instants (epoch milliseconds), with the window it comes from. */
export interface WindowOccurrence {
  start: number;
  end: number;
  window: AllowedWindow;
}

/** Where a requested interval stands against the allowed windows. */
export type WindowCheck =
  | { ok: true; occurrence: WindowOccurrence }
  | {
      ok: false;
      /**
       * `starts_outside`: no allowed window is open at the start; `ends_outside`: one is, but it
       * closes before the end (`current` is that one).
       */
      reason: 'starts_outside' | 'ends_outside';
      current?: WindowOccurrence;
      /** The first allowed window after the start long enough to hold the duration, if any. */
      next?: WindowOccurrence;
    };

const DAY_MS = 86_400_000;
/** How far ahead the next window is looked for: every weekly window opens within it. */
const LOOKAHEAD_DAYS = 15;

/** Whether `timeZone` is a time zone the runtime knows (IANA names, `UTC`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Minutes after midnight of `HH:MM` (`24:00` is 1440). */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock in `timeZone` at instant `ms`: its fields. */
function wallClock(ms: number, timeZone: string) {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The zone's offset from UTC at instant `ms`, in milliseconds (local minus UTC). */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone);
  const local = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return local - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which the wall clock in `timeZone` shows `minutes` after midnight of the date
 * (`year`, `month` 1-12, `day`; an overflowing day rolls into the next month), read
 * `compatible` (see the module comment) where the zone skips or repeats it.
 */
export function zonedInstant(
  year: number,
  month: number,
  day: number,
  minutes: number,
  timeZone: string,
): number {
  const local = Date.UTC(year, month - 1, day) + minutes * 60_000;
  // The offsets a day before and after bracket any change of the zone's offset around it.
  const before = offsetAt(local - DAY_MS, timeZone);
  const after = offsetAt(local + DAY_MS, timeZone);
  const candidates = [local - before, local - after].filter((t) => t + offsetAt(t, timeZone) === local);
  if (candidates.length > 0) return Math.min(...candidates);
  // Skipped by the zone: the offset before the gap carries the time past it.
  return local - before;
}

/**
 * Every opening of `window` that overlaps `[fromMs, toMs]`, in order. An opening that starts
 * and ends at the same instant (only possible across a skipped hour) is left out.
 */
export function occurrences(window: AllowedWindow, fromMs: number, toMs: number): WindowOccurrence[] {
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  // A window not closing after it opens crosses midnight (equal: a whole day from `from`).
  const closeDayOffset = to <= from ? 1 : 0;
  const first = wallClock(fromMs - 2 * DAY_MS, window.timeZone);
  const days = Math.ceil((toMs - fromMs) / DAY_MS) + 4;
  const out: WindowOccurrence[] = [];
  for (let i = 0; i <= days; i++) {
    const date = new Date(Date.UTC(first.year, first.month - 1, first.day + i));
    const weekday = WEEKDAYS[(date.getUTCDay() + 6) % 7]!;
    if (!window.days.includes(weekday)) continue;
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const start = zonedInstant(y, m, d, from, window.timeZone);
    const end = zonedInstant(y, m, d + closeDayOffset, to, window.timeZone);
    if (end > start && end >= fromMs && start <= toMs) out.push({ start, end, window });
  }
  return out;
}

/**
 * The allowed time as one ordered list of disjoint openings over `[fromMs, toMs]`: the openings
 * of every window, with those that touch or overlap joined (the first one's window names it).
 */
export function allowedTime(
  windows: readonly AllowedWindow[],
  fromMs: number,
  toMs: number,
): WindowOccurrence[] {
  const all = windows.flatMap((w) => occurrences(w, fromMs, toMs)).sort((a, b) => a.start - b.start);
  const merged: WindowOccurrence[] = [];
  for (const o of all) {
    const last = merged[merged.length - 1];
    if (last && o.start <= last.end) last.end = Math.max(last.end, o.end);
    else merged.push({ ...o });
  }
  return merged;
}

/**
 * Whether `[startMs, endMs]` lies wholly inside the allowed windows; if not, why, and the first
 * allowed window from `startMs` on that can hold an interval as long.
 */
export function checkAllowedWindows(
  windows: readonly AllowedWindow[],
  startMs: number,
  endMs: number,
): WindowCheck {
  const length = endMs - startMs;
  const openings = allowedTime(windows, startMs, endMs + LOOKAHEAD_DAYS * DAY_MS);
  const current = openings.find((o) => o.start <= startMs && startMs < o.end);
  if (current && endMs <= current.end) return { ok: true, occurrence: current };
  const next = openings.find((o) => o.start > startMs && o.end - o.start >= length);
  return {
    ok: false,
    reason: current ? 'ends_outside' : 'starts_outside',
    ...(current ? { current } : {}),
    ...(next ? { next } : {}),
  };
}

const WEEKDAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/** `Tue 2026-12-08 01:00` in `timeZone` at instant `ms`. */
function localText(ms: number, timeZone: string): string {
  const w = wallClock(ms, timeZone);
  const day = WEEKDAY_NAMES[(new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay() + 6) % 7]!;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${day} ${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}`;
}

/**
 * An opening in words, in its window's time zone and in UTC, e.g.
 * `Tue 2026-12-08 01:00 to Tue 2026-12-08 04:00 Europe/Berlin (2026-12-08T00:00:00.000Z to 2026-12-08T03:00:00.000Z)`.
 */
export function describeOccurrence(o: WindowOccurrence): string {
  const tz = o.window.timeZone;
  return `${localText(o.start, tz)} to ${localText(o.end, tz)} ${tz} (${new Date(o.start).toISOString()} to ${new Date(o.end).toISOString()})`;
}

/** A window as the policy writes it, e.g. `mon,tue 01:00-04:00 Europe/Berlin`. */
export function describeWindow(w: AllowedWindow): string {
  return `${w.days.join(',')} ${w.from}-${w.to} ${w.timeZone}`;
}
