/**
 * The admin console's charts: server-rendered SVG, no scripts, each with a table of the same
 * numbers for screen readers and for copying. Pure functions — numbers in, markup out — so the
 * drawing is tested without a browser.
 *
 * Every chart is an `<svg role="img">` labelled by its own `<title>` and `<desc>`; each bar has
 * a `<title>` with its label and value (shown as a tooltip). Colours come from classes in the
 * console's stylesheet (`.c0` … `.c5`), never from inline styles, so a strict Content Security
 * Policy applies. Every text is escaped.
 */
import { escapeHtml } from './approval-pages.js';
import type { ElevationView } from '../core/model/elevation.js';

/** One bar: a label under it and a value (negative or non-finite values count as 0). */
export interface Bar {
  label: string;
  value: number;
}

/** One stacked bar: a value per series, bottom first. */
export interface StackedBar {
  label: string;
  values: number[];
}

/** Common options of the charts. */
export interface ChartOptions {
  /** Unique within the page: the ids of the chart's `<title>` and `<desc>` derive from it. */
  id: string;
  title: string;
  /** One sentence that says what the chart shows (read by screen readers). */
  description: string;
  /** Appended to values in tooltips, e.g. ` elevations`. */
  unit?: string;
}

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 38, left: 44 };
const PLOT_W = WIDTH - PAD.left - PAD.right;
const PLOT_H = HEIGHT - PAD.top - PAD.bottom;

const clean = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);
const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const idOf = (id: string): string => id.replace(/[^A-Za-z0-9_-]/g, '-');

/** A round axis maximum at or above `max` (1, 2, 5 × 10ⁿ); 1 for an empty chart. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** Pixel height of `value` on an axis from 0 to `axisMax` (rounded to 0.1 px). */
export function barHeight(value: number, axisMax: number): number {
  return Math.round((clean(value) / axisMax) * PLOT_H * 10) / 10;
}

function open(o: ChartOptions, width = WIDTH, height = HEIGHT): string {
  const id = idOf(o.id);
  return `<svg class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-labelledby="${id}-title ${id}-desc"><title id="${id}-title">${escapeHtml(o.title)}</title><desc id="${id}-desc">${escapeHtml(o.description)}</desc>`;
}

/** The y axis: gridlines and labels at 0, half and the maximum. */
function yAxis(axisMax: number): string {
  const out: string[] = [];
  for (const f of [0, 0.5, 1]) {
    const y = PAD.top + PLOT_H - f * PLOT_H;
    out.push(
      `<line class="grid" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y}" y2="${y}"/>`,
      `<text class="axis" x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${fmt(axisMax * f)}</text>`,
    );
  }
  return out.join('');
}

/** Labels under the bars; with many bars only every n-th, so they do not overlap. */
function xLabels(labels: string[], slot: number): string {
  const every = Math.max(1, Math.ceil(labels.length / Math.max(1, Math.floor(PLOT_W / 64))));
  return labels
    .map((label, i) =>
      i % every === 0
        ? `<text class="axis" x="${(PAD.left + slot * (i + 0.5)).toFixed(1)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${escapeHtml(label)}</text>`
        : '',
    )
    .join('');
}

/** A vertical bar chart. */
export function barChart(o: ChartOptions & { bars: Bar[] }): string {
  const axisMax = niceMax(Math.max(0, ...o.bars.map((b) => clean(b.value))));
  const slot = PLOT_W / Math.max(1, o.bars.length);
  const w = Math.max(1, slot * 0.8);
  const rects = o.bars.map((b, i) => {
    const h = barHeight(b.value, axisMax);
    const x = PAD.left + slot * i + (slot - w) / 2;
    return `<rect class="c0" x="${x.toFixed(1)}" y="${(PAD.top + PLOT_H - h).toFixed(1)}" width="${w.toFixed(1)}" height="${h}"><title>${escapeHtml(`${b.label}: ${fmt(clean(b.value))}${o.unit ?? ''}`)}</title></rect>`;
  });
  return `${open(o)}${yAxis(axisMax)}${rects.join('')}${xLabels(
    o.bars.map((b) => b.label),
    slot,
  )}</svg>`;
}

/** A stacked vertical bar chart: one colour per series, with a legend. */
export function stackedBarChart(o: ChartOptions & { series: string[]; bars: StackedBar[] }): string {
  const totals = o.bars.map((b) => b.values.reduce((s, v) => s + clean(v), 0));
  const axisMax = niceMax(Math.max(0, ...totals));
  const slot = PLOT_W / Math.max(1, o.bars.length);
  const w = Math.max(1, slot * 0.8);
  const rects: string[] = [];
  o.bars.forEach((b, i) => {
    let base = 0;
    const x = PAD.left + slot * i + (slot - w) / 2;
    b.values.forEach((v, s) => {
      const h = barHeight(v, axisMax);
      if (h === 0) return;
      base += h;
      rects.push(
        `<rect class="c${s % 6}" x="${x.toFixed(1)}" y="${(PAD.top + PLOT_H - base).toFixed(1)}" width="${w.toFixed(1)}" height="${h}"><title>${escapeHtml(`${b.label}, ${o.series[s] ?? `series ${s + 1}`}: ${fmt(clean(v))}${o.unit ?? ''}`)}</title></rect>`,
      );
    });
  });
  let x = PAD.left;
  const legend = o.series
    .map((name, s) => {
      const item = `<rect class="c${s % 6}" x="${x}" y="${HEIGHT - 14}" width="10" height="10"/><text class="legend" x="${x + 14}" y="${HEIGHT - 5}">${escapeHtml(name)}</text>`;
      // About 6 px per character of the 11 px legend font, then a gap.
      x += 14 + Math.ceil(name.length * 6.2) + 16;
      return item;
    })
    .join('');
  const labels = xLabels(
    o.bars.map((b) => b.label),
    slot,
  ).replaceAll(`y="${HEIGHT - PAD.bottom + 16}"`, `y="${HEIGHT - PAD.bottom + 13}"`);
  return `${open(o)}${yAxis(axisMax)}${rects.join('')}${labels}${legend}</svg>`;
}

/** A horizontal bar chart (rankings): labels on the left, values at the bar ends. */
export function horizontalBarChart(o: ChartOptions & { bars: Bar[] }): string {
  const rowH = 22;
  const labelW = 170;
  const height = Math.max(1, o.bars.length) * rowH + 8;
  const plotW = WIDTH - labelW - 60;
  const max = Math.max(0, ...o.bars.map((b) => clean(b.value))) || 1;
  const rows = o.bars.map((b, i) => {
    const w = Math.round((clean(b.value) / max) * plotW * 10) / 10;
    const y = 4 + i * rowH;
    return `<text class="axis" x="${labelW - 6}" y="${y + 15}" text-anchor="end">${escapeHtml(b.label)}</text><rect class="c0" x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 6}"><title>${escapeHtml(`${b.label}: ${fmt(clean(b.value))}${o.unit ?? ''}`)}</title></rect><text class="axis" x="${(labelW + w + 6).toFixed(1)}" y="${y + 15}">${fmt(clean(b.value))}</text>`;
  });
  return `${open(o, WIDTH, height)}${rows.join('')}</svg>`;
}

/** The same numbers as an HTML table: the chart's text alternative. */
export function chartTable(caption: string, columns: string[], rows: (string | number)[][]): string {
  const head = columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r
          .map((cell, i) =>
            i === 0
              ? `<th scope="row">${escapeHtml(String(cell))}</th>`
              : `<td>${escapeHtml(typeof cell === 'number' ? fmt(cell) : cell)}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('');
  return `<table class="chart-data"><caption>${escapeHtml(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// ---- what the charts show -------------------------------------------------------------------

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
export function outcomeOf(v: Pick<ElevationView, 'endReason' | 'status'>): Outcome {
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
