/**
 * The console's SVG charts without a browser: numbers in, bars out (heights proportional to
 * the values on a round axis), text escaped, accessible names present; and the numbers the
 * charts page computes from elevations.
 */
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import {
  LAG_BUCKETS,
  elevationStats,
  histogram,
  outcomeOf,
  quantile,
  readElevationStats,
} from '../../server/admin-charts.js';
import {
  BarChart,
  ChartTable,
  HorizontalBarChart,
  StackedBarChart,
  barHeight,
  niceMax,
} from '../../server/admin/views/chart-svg.js';
import type { ElevationView } from '../../core/model/elevation.js';

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
  const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();
  const v = (over: Partial<ElevationView>): ElevationView => ({
    id: 'el_1',
    workflowId: 'elevation-el_1',
    status: 'revoked',
    botId: 'etl',
    roleId: 'ops',
    owner: 'o@example.org',
    environment: 'prod',
    durationSeconds: 600,
    justification: 'j',
    requestedAt: at(0),
    approval: { mode: 'auto' },
    approvals: [],
    revokeAttempts: 0,
    ...over,
  });

  it('when elevations are summed up, then days, outcomes, lags, turnarounds, activity and rankings follow', () => {
    const views = [
      v({
        grantedAt: at(1),
        expiresAt: at(11),
        endedAt: new Date(base + 11 * 60_000 + 1500).toISOString(),
        endReason: 'expired',
      }),
      v({ botId: 'ci', grantedAt: at(2), endReason: 'admin_revoked', endedAt: at(5) }),
      v({ requestedAt: at(24 * 60 + 5), status: 'denied', endReason: 'denied', endedAt: at(24 * 60 + 9) }),
      v({
        requestedAt: at(24 * 60 + 30),
        status: 'active',
        grantedAt: at(24 * 60 + 40),
        approval: { mode: 'approvers', quorum: 1, deadline: at(99_999), groups: [] },
        approvals: [{ approver: 'a@example.org', at: at(24 * 60 + 37), groups: ['g'] }],
      }),
    ];
    const stats = elevationStats(views, {
      from: new Date(base),
      to: new Date(base + 2 * 86_400_000),
      now: new Date(base + 24 * 3_600_000 + 60 * 60_000),
      points: 4,
    });

    expect(stats.days.map((d) => d.day)).toEqual(['2026-06-01', '2026-06-02']);
    expect(stats.days[0]!.counts).toEqual([1, 1, 0, 0, 0]);
    expect(stats.days[1]!.counts).toEqual([0, 0, 1, 0, 1]);
    expect(stats.lagsMs).toEqual([1500]);
    expect(stats.turnaroundsMs).toEqual([7 * 60_000]);
    expect(stats.topBots).toEqual([
      { label: 'etl', value: 3 },
      { label: 'ci', value: 1 },
    ]);
    // Four intervals of 6¼ h up to now: the first has the two short grants of day one, the
    // last the grant still in force.
    expect(stats.active.map((p) => p.count)).toEqual([2, 0, 0, 1]);
    expect(outcomeOf({ status: 'revoking', endReason: 'expired' })).toBe('in progress');
  });

  it('when the window is read page by page, then the folded numbers equal those of the whole list, up to the limit', async () => {
    // 25 elevations, newest first as the store lists them, one every hour, some with a lag.
    const all = Array.from({ length: 25 }, (_, i) =>
      v({
        id: `el_${i}`,
        botId: `bot-${i % 3}`,
        requestedAt: at((24 - i) * 60),
        grantedAt: at((24 - i) * 60 + 1),
        expiresAt: at((24 - i) * 60 + 11),
        endedAt: new Date(base + ((24 - i) * 60 + 11) * 60_000 + i * 10).toISOString(),
        endReason: 'expired',
      }),
    );
    const queries: { limit: number; cursor?: string }[] = [];
    const list = (q: { limit: number; cursor?: string }) => {
      queries.push(q);
      const offset = q.cursor ? Number(q.cursor) : 0;
      const items = all.slice(offset, offset + q.limit);
      const next = offset + q.limit;
      return Promise.resolve({ items, ...(next < all.length ? { nextCursor: String(next) } : {}) });
    };
    const window = {
      from: new Date(base),
      to: new Date(base + 2 * 86_400_000),
      now: new Date(base + 86_400_000),
    };

    const whole = await readElevationStats(list, window, { limit: 1000, pageSize: 10 });
    expect(queries.map((q) => q.limit)).toEqual([10, 10, 10]);
    expect(whole).toMatchObject({ total: 25, capped: false });
    expect(whole.stats).toEqual(elevationStats(all, window));

    queries.length = 0;
    const capped = await readElevationStats(list, window, { limit: 15, pageSize: 10 });
    // The second page asks only for what the limit leaves; the newest 15 are counted.
    expect(queries.map((q) => q.limit)).toEqual([10, 5]);
    expect(capped).toMatchObject({ total: 15, capped: true });
    expect(capped.stats).toEqual(elevationStats(all.slice(0, 15), window));
    expect(capped.stats.lagsMs).toHaveLength(15);
  });

  it('when values are bucketed, then each lands in the first bucket it is below', () => {
    const bars = histogram([0, 99, 100, 499, 500, 999, 1000, 4999, 10 * 60_000], LAG_BUCKETS);
    expect(bars.map((b) => b.value)).toEqual([2, 1, 1, 2, 2, 0, 0, 1]);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});
