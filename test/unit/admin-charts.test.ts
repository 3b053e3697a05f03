/**
 * The console's SVG charts without a browser: numbers in, bars out (heights proportional to
 * the values on a round axis), text escaped, accessible names present; and how the elevation
 * index's counts become the charts' numbers.
 */
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import {
  LAG_BUCKETS,
  activeSlots,
  chartWindow,
  histogram,
  outcomeOf,
  quantile,
  statsFromAggregates,
} from '../../server/admin-charts.js';
import {
  BarChart,
  ChartTable,
  HorizontalBarChart,
  StackedBarChart,
  barHeight,
  niceMax,
} from '../../server/admin/views/chart-svg.js';
import type { ChartAggregates } from '../../store/elevation-index.js';

/** The chart components rendered to markup, as the charts page embeds them. */
const barChart = (o: Parameters<typeof BarChart>[0]) => renderToString(h(BarChart, o));
const stackedBarChart = (o: Parameters<typeof StackedBarChart>[0]) => renderToString(h(StackedBarChart, o));
const horizontalBarChart = (o: Parameters<typeof HorizontalBarChart>[0]) =>
  renderToString(h(HorizontalBarChart, o));
const chartTable = (caption: string, columns: string[], rows: (string | number)[][]) =>
  renderToString(h(ChartTable, { caption, columns, rows }));

/** The rectangles of an SVG: their attributes and tooltip. */
function rects(
  svg: string,
): { cls: string; x: number; y: number; width: number; height: number; title: string }[] {
  return [
    ...svg.matchAll(
      /<rect class="(c\d)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"><title>([^<]*)<\/title><\/rect>/g,
    ),
  ].map((m) => ({
    cls: m[1]!,
    x: Number(m[2]),
    y: Number(m[3]),
    width: Number(m[4]),
    height: Number(m[5]),
    title: m[6]!,
  }));
}

describe('bar charts', () => {
  it('when values are given, then bar heights are proportional and the axis is a round maximum', () => {
    const svg = barChart({
      id: 'lag',
      title: 'Lag',
      description: 'How long revocation took.',
      bars: [
        { label: 'a', value: 2 },
        { label: 'b', value: 4 },
        { label: 'c', value: 7 },
        { label: 'd', value: 0 },
      ],
      unit: ' revocations',
    });
    const bars = rects(svg);

    expect(bars).toHaveLength(4);
    expect(niceMax(7)).toBe(10);
    expect(bars.map((b) => b.height)).toEqual([2, 4, 7, 0].map((v) => barHeight(v, 10)));
    expect(bars[1]!.height).toBeCloseTo(bars[0]!.height * 2, 5);
    expect(bars[3]!.height).toBe(0);
    // Bars stand on one baseline, left to right.
    const baselines = bars.map((b) => Math.round((b.y + b.height) * 10) / 10);
    expect(new Set(baselines).size).toBe(1);
    expect(bars.map((b) => b.x)).toEqual([...bars.map((b) => b.x)].sort((p, q) => p - q));
    expect(bars[2]!.title).toBe('c: 7 revocations');
    // The axis shows 0, half and the maximum.
    expect(svg).toContain('>10</text>');
    expect(svg).toContain('>5</text>');
  });

  it('when a chart is drawn, then it has an accessible name and description and loads nothing', () => {
    const svg = barChart({ id: 'x y', title: 'T', description: 'D', bars: [{ label: 'a', value: 1 }] });

    expect(svg).toMatch(/^<svg class="chart" role="img"[^>]*aria-labelledby="x-y-title x-y-desc"/);
    expect(svg).toContain('<title id="x-y-title">T</title><desc id="x-y-desc">D</desc>');
    expect(svg).not.toMatch(/style=|<script|href=|on[a-z]+=/i);
  });

  it('when labels, titles or series names hold markup, then they are escaped everywhere', () => {
    const evil = '<script>alert("x")</script>&';
    const outputs = [
      barChart({ id: 'a', title: evil, description: evil, bars: [{ label: evil, value: 1 }] }),
      stackedBarChart({
        id: 'b',
        title: evil,
        description: evil,
        series: [evil],
        bars: [{ label: evil, values: [1] }],
      }),
      horizontalBarChart({ id: 'c', title: evil, description: evil, bars: [{ label: evil, value: 3 }] }),
      chartTable(evil, [evil], [[evil, 1]]),
    ];
    for (const out of outputs) {
      expect(out).not.toContain('<script');
      // The renderer escapes `<`, `&` and `"` in text, which is enough to keep markup out.
      expect(out).toContain('&lt;script>alert(&quot;x&quot;)&lt;/script>&amp;');
    }
  });

  it('when bars are stacked, then each segment is proportional and they stack up to the total', () => {
    const svg = stackedBarChart({
      id: 's',
      title: 'Per day',
      description: 'Per day by outcome.',
      series: ['ok', 'revoked', 'denied'],
      bars: [
        { label: '06-01', values: [3, 1, 0] },
        { label: '06-02', values: [5, 0, 5] },
      ],
    });
    const bars = rects(svg);

    expect(bars.map((b) => b.cls)).toEqual(['c0', 'c1', 'c0', 'c2']);
    const axis = niceMax(10);
    expect(bars.map((b) => b.height)).toEqual([3, 1, 5, 5].map((v) => barHeight(v, axis)));
    // The second segment sits right on top of the first.
    expect(bars[1]!.y + bars[1]!.height).toBeCloseTo(bars[0]!.y, 1);
    expect(bars[3]!.title).toBe('06-02, denied: 5');
    expect(svg).toContain('>revoked</text>');
  });

  it('when values are negative, not finite or absent, then they count as zero and nothing breaks', () => {
    const svg = barChart({
      id: 'z',
      title: 'Z',
      description: 'Z',
      bars: [
        { label: 'neg', value: -5 },
        { label: 'nan', value: Number.NaN },
        { label: 'inf', value: Infinity },
      ],
    });
    expect(rects(svg).map((b) => b.height)).toEqual([0, 0, 0]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(barChart({ id: 'e', title: 'E', description: 'E', bars: [] })).toContain('</svg>');
  });

  it('when a ranking is drawn, then bar lengths are proportional to the largest', () => {
    const svg = horizontalBarChart({
      id: 'top',
      title: 'Top',
      description: 'Top bots.',
      bars: [
        { label: 'etl', value: 8 },
        { label: 'ci', value: 2 },
      ],
    });
    const widths = [...svg.matchAll(/<rect class="c0" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(widths[0]! / widths[1]!).toBeCloseTo(4, 5);
  });
});

describe('the charts numbers', () => {
  const base = Date.parse('2026-06-01T00:00:00Z');
  const hours = (h: number) => new Date(base + h * 3_600_000);
  /** Two days from 2026-06-01, sampled up to 01:00 on the second, in four slots of 6¼ h. */
  const window = { from: hours(0), to: hours(48), now: hours(25), points: 4 };
  const counts = (over: Partial<ChartAggregates>): ChartAggregates => ({
    total: 0,
    byDay: [],
    active: [],
    revokeLagsMs: [],
    turnaroundsMs: [],
    topBots: [],
    topRoles: [],
    ...over,
  });

  it('when the index’s counts are laid out, then each day of the window has its outcomes, each slot its grants in force, and the rest is as counted', () => {
    const aggregates = counts({
      total: 7,
      byDay: [
        { day: '2026-06-01', status: 'revoked', endReason: 'expired', count: 1 },
        { day: '2026-06-01', status: 'revoked', endReason: 'admin_revoked', count: 1 },
        { day: '2026-06-02', status: 'denied', endReason: 'denied', count: 1 },
        { day: '2026-06-02', status: 'active', endReason: null, count: 2 },
        // Still being revoked: in progress, added to the active ones of the day.
        { day: '2026-06-02', status: 'revoking', endReason: 'expired', count: 1 },
        // A day the window does not show is left out.
        { day: '2026-05-31', status: 'failed', endReason: 'grant_failed', count: 1 },
      ],
      active: [2, 0, 0, 1],
      revokeLagsMs: [1500, 2500],
      turnaroundsMs: [7 * 60_000],
      topBots: [
        { label: 'etl', value: 5 },
        { label: 'ci', value: 2 },
      ],
      topRoles: [{ label: 'ops', value: 7 }],
    });

    const stats = statsFromAggregates(aggregates, window);

    expect(stats.days).toEqual([
      { day: '2026-06-01', counts: [1, 1, 0, 0, 0] },
      { day: '2026-06-02', counts: [0, 0, 1, 0, 3] },
    ]);
    expect(stats.active).toEqual([
      { at: '2026-06-01T00:00:00.000Z', label: '06-01 00:00', count: 2 },
      { at: '2026-06-01T06:15:00.000Z', label: '06-01 06:15', count: 0 },
      { at: '2026-06-01T12:30:00.000Z', label: '06-01 12:30', count: 0 },
      { at: '2026-06-01T18:45:00.000Z', label: '06-01 18:45', count: 1 },
    ]);
    expect(stats.lagsMs).toEqual([1500, 2500]);
    expect(stats.turnaroundsMs).toEqual([7 * 60_000]);
    expect(stats.topBots).toEqual(aggregates.topBots);
    expect(stats.topRoles).toEqual(aggregates.topRoles);
  });

  it('when the index has nothing for the window, then every day and slot is zero', () => {
    const stats = statsFromAggregates(counts({}), window);

    expect(stats.days.map((d) => d.counts)).toEqual([
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ]);
    expect(stats.active.map((p) => p.count)).toEqual([0, 0, 0, 0]);
  });

  it('when the charts ask for a window of days, then it ends with today and its slots run, back to back, up to now', () => {
    const now = new Date('2026-06-10T12:00:00Z');
    const w = chartWindow(14, now);

    expect(w).toEqual({
      from: new Date('2026-05-28T00:00:00Z'),
      to: new Date('2026-06-11T00:00:00Z'),
      now,
    });
    const slots = activeSlots(w);
    expect(slots).toHaveLength(48);
    expect(slots[0]!.from).toBe(w.from.toISOString());
    expect(slots.at(-1)!.to).toBe(now.toISOString());
    for (let i = 1; i < slots.length; i += 1) expect(slots[i]!.from).toBe(slots[i - 1]!.to);
  });

  it('when an elevation has ended or not, then its outcome follows its end reason', () => {
    expect(outcomeOf({ status: 'revoked', endReason: 'expired' })).toBe('ended normally');
    expect(outcomeOf({ status: 'revoked', endReason: 'given_back' })).toBe('ended normally');
    expect(outcomeOf({ status: 'revoking', endReason: 'expired' })).toBe('in progress');
    expect(outcomeOf({ status: 'revoked', endReason: 'admin_revoked' })).toBe('revoked by an admin');
    expect(outcomeOf({ status: 'expired', endReason: 'approval_timeout' })).toBe('denied or timed out');
    expect(outcomeOf({ status: 'revoked', endReason: 'orphaned' })).toBe('failed');
    expect(outcomeOf({ status: 'active' })).toBe('in progress');
  });

  it('when values are bucketed, then each lands in the first bucket it is below', () => {
    const bars = histogram([0, 99, 100, 499, 500, 999, 1000, 4999, 10 * 60_000], LAG_BUCKETS);
    expect(bars.map((b) => b.value)).toEqual([2, 1, 1, 2, 2, 0, 0, 1]);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});
