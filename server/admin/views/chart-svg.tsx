/**
 * The admin console's charts: server-rendered SVG, no scripts, each with a table of the same
 * numbers for screen readers and for copying. Pure components, numbers in, markup out, so the
 * drawing is tested without a browser.
 *
 * Every chart is an `<svg role="img">` labelled by its own `<title>` and `<desc>`; each bar has
 * a `<title>` with its label and value (shown as a tooltip). Colours come from classes in the
 * console's stylesheet (`.c0` … `.c5`), never from inline styles, so a strict Content Security
 * Policy applies. Labels (bot and role ids) are JSX text, escaped like every other value.
 */
import type { ComponentChildren } from 'preact';
import type { Bar } from '../../admin-charts.js';

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

/** The `<svg>` element with its accessible name and description. */
function Chart({
  o,
  width = WIDTH,
  height = HEIGHT,
  children,
}: {
  o: ChartOptions;
  width?: number;
  height?: number;
  children: ComponentChildren;
}) {
  const id = idOf(o.id);
  return (
    <svg
      class="chart"
      role="img"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      aria-labelledby={`${id}-title ${id}-desc`}
    >
      <title id={`${id}-title`}>{o.title}</title>
      <desc id={`${id}-desc`}>{o.description}</desc>
      {children}
    </svg>
  );
}

/** The y axis: gridlines and labels at 0, half and the maximum. */
function YAxis({ axisMax }: { axisMax: number }) {
  return (
    <>
      {[0, 0.5, 1].map((f) => {
        const y = PAD.top + PLOT_H - f * PLOT_H;
        return (
          <>
            <line class="grid" x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} />
            <text class="axis" x={PAD.left - 6} y={y + 4} text-anchor="end">
              {fmt(axisMax * f)}
            </text>
          </>
        );
      })}
    </>
  );
}

/** Labels under the bars, on the line `y`; with many bars only every n-th, so they do not overlap. */
function XLabels({ labels, slot, y }: { labels: string[]; slot: number; y: number }) {
  const every = Math.max(1, Math.ceil(labels.length / Math.max(1, Math.floor(PLOT_W / 64))));
  return (
    <>
      {labels.map(
        (label, i) =>
          i % every === 0 && (
            <text class="axis" x={(PAD.left + slot * (i + 0.5)).toFixed(1)} y={y} text-anchor="middle">
              {label}
            </text>
          ),
      )}
    </>
  );
}

/** A vertical bar chart. */
export function BarChart(o: ChartOptions & { bars: Bar[] }) {
  const axisMax = niceMax(Math.max(0, ...o.bars.map((b) => clean(b.value))));
  const slot = PLOT_W / Math.max(1, o.bars.length);
  const w = Math.max(1, slot * 0.8);
  return (
    <Chart o={o}>
      <YAxis axisMax={axisMax} />
      {o.bars.map((b, i) => {
        const h = barHeight(b.value, axisMax);
        const x = PAD.left + slot * i + (slot - w) / 2;
        return (
          <rect
            class="c0"
            x={x.toFixed(1)}
            y={(PAD.top + PLOT_H - h).toFixed(1)}
            width={w.toFixed(1)}
            height={h}
          >
            <title>{`${b.label}: ${fmt(clean(b.value))}${o.unit ?? ''}`}</title>
          </rect>
        );
      })}
      <XLabels labels={o.bars.map((b) => b.label)} slot={slot} y={HEIGHT - PAD.bottom + 16} />
    </Chart>
  );
}

/** A stacked vertical bar chart: one colour per series, with a legend. */
export function StackedBarChart(o: ChartOptions & { series: string[]; bars: StackedBar[] }) {
  const totals = o.bars.map((b) => b.values.reduce((s, v) => s + clean(v), 0));
  const axisMax = niceMax(Math.max(0, ...totals));
  const slot = PLOT_W / Math.max(1, o.bars.length);
  const w = Math.max(1, slot * 0.8);
  const segments = o.bars.flatMap((b, i) => {
    let base = 0;
    const x = PAD.left + slot * i + (slot - w) / 2;
    return b.values.flatMap((v, s) => {
      const h = barHeight(v, axisMax);
      if (h === 0) return [];
      base += h;
      return [
        <rect
          class={`c${s % 6}`}
          x={x.toFixed(1)}
          y={(PAD.top + PLOT_H - base).toFixed(1)}
          width={w.toFixed(1)}
          height={h}
        >
          <title>{`${b.label}, ${o.series[s] ?? `series ${s + 1}`}: ${fmt(clean(v))}${o.unit ?? ''}`}</title>
        </rect>,
      ];
    });
  });
  let x = PAD.left;
  const legend = o.series.map((name, s) => {
    const item = (
      <>
        <rect class={`c${s % 6}`} x={x} y={HEIGHT - 14} width="10" height="10" />
        <text class="legend" x={x + 14} y={HEIGHT - 5}>
          {name}
        </text>
      </>
    );
    // About 6 px per character of the 11 px legend font, then a gap.
    x += 14 + Math.ceil(name.length * 6.2) + 16;
    return item;
  });
  return (
    <Chart o={o}>
      <YAxis axisMax={axisMax} />
      {segments}
      {/* A little higher than on the other charts: the legend is below them. */}
      <XLabels labels={o.bars.map((b) => b.label)} slot={slot} y={HEIGHT - PAD.bottom + 13} />
      {legend}
    </Chart>
  );
}

/** A horizontal bar chart (rankings): labels on the left, values at the bar ends. */
export function HorizontalBarChart(o: ChartOptions & { bars: Bar[] }) {
  const rowH = 22;
  const labelW = 170;
  const height = Math.max(1, o.bars.length) * rowH + 8;
  const plotW = WIDTH - labelW - 60;
  const max = Math.max(0, ...o.bars.map((b) => clean(b.value))) || 1;
  return (
    <Chart o={o} width={WIDTH} height={height}>
      {o.bars.map((b, i) => {
        const w = Math.round((clean(b.value) / max) * plotW * 10) / 10;
        const y = 4 + i * rowH;
        return (
          <>
            <text class="axis" x={labelW - 6} y={y + 15} text-anchor="end">
              {b.label}
            </text>
            <rect class="c0" x={labelW} y={y + 3} width={w} height={rowH - 6}>
              <title>{`${b.label}: ${fmt(clean(b.value))}${o.unit ?? ''}`}</title>
            </rect>
            <text class="axis" x={(labelW + w + 6).toFixed(1)} y={y + 15}>
              {fmt(clean(b.value))}
            </text>
          </>
        );
      })}
    </Chart>
  );
}

/** The same numbers as an HTML table: the chart's text alternative. */
export function ChartTable({
  caption,
  columns,
  rows,
}: {
  caption: string;
  columns: string[];
  rows: (string | number)[][];
}) {
  return (
    <table class="chart-data">
      <caption>{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th scope="col">{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            {r.map((cell, i) =>
              i === 0 ? (
                <th scope="row">{String(cell)}</th>
              ) : (
                <td>{typeof cell === 'number' ? fmt(cell) : cell}</td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
