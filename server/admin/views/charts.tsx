/**
 * `/admin/charts`: what happened in the last days, as charts with tables of the same numbers.
 */
import type { ComponentChildren } from 'preact';
import {
  histogram,
  LAG_BUCKETS,
  OUTCOMES,
  quantile,
  TURNAROUND_BUCKETS,
  type ElevationStats,
} from '../../admin-charts.js';
import { renderDocument } from '../../html-document.js';
import { BarChart, ChartTable, HorizontalBarChart, StackedBarChart } from './chart-svg.js';
import { millis } from './format.js';
import { Layout, type PageUser } from './layout.js';

/** One chart: its heading, a note, the drawing and its table. */
function Section({
  heading,
  note,
  children,
}: {
  heading: string;
  note?: string;
  children: ComponentChildren;
}) {
  return (
    <section>
      <h2>{heading}</h2>
      {note && <p class="muted">{note}</p>}
      {children}
    </section>
  );
}

/** `/admin/charts`: what happened in the last `days` days, as charts with tables beside them. */
export function chartsPage(args: {
  user: PageUser;
  days: number;
  stats: ElevationStats;
  total: number;
}): string {
  const { stats } = args;
  const lag = {
    p50: quantile(stats.lagsMs, 0.5),
    p95: quantile(stats.lagsMs, 0.95),
    max: stats.lagsMs.at(-1),
  };
  const turn = { p50: quantile(stats.turnaroundsMs, 0.5), p95: quantile(stats.turnaroundsMs, 0.95) };
  const lagBars = histogram(stats.lagsMs, LAG_BUCKETS);
  const turnBars = histogram(stats.turnaroundsMs, TURNAROUND_BUCKETS);
  return renderDocument(
    <Layout title="Charts" user={args.user}>
      <h1>Charts</h1>
      <p>
        {`Elevations requested in the last ${args.days} days (UTC): ${args.total}. `}
        {[7, 14, 30, 90].map((d, i) => (
          <>
            {i > 0 && ' · '}
            {d === args.days ? <strong>{d} days</strong> : <a href={`/admin/charts?days=${d}`}>{d} days</a>}
          </>
        ))}
      </p>
      <div class="charts">
        <Section heading="Elevations per day, by outcome">
          <StackedBarChart
            id="per-day"
            title="Elevations per day, by outcome"
            description={`Elevations requested each day over the last ${args.days} days, stacked by how they ended.`}
            series={[...OUTCOMES]}
            bars={stats.days.map((d) => ({ label: d.day.slice(5), values: d.counts }))}
            unit=" elevations"
          />
          <details>
            <summary>Table</summary>
            <ChartTable
              caption="Elevations per day, by outcome"
              columns={['Day', ...OUTCOMES]}
              rows={stats.days.map((d) => [d.day, ...d.counts])}
            />
          </details>
        </Section>
        <Section heading="Active grants over time">
          <BarChart
            id="active"
            title="Active grants over time"
            description="How many grants were in force at some time during each interval of the window."
            bars={stats.active.map((p) => ({ label: p.label, value: p.count }))}
            unit=" active grants"
          />
          <details>
            <summary>Table</summary>
            <ChartTable
              caption="Active grants over time"
              columns={['Interval from (UTC)', 'Grants in force']}
              rows={stats.active.map((p) => [p.at, p.count])}
            />
          </details>
        </Section>
        <Section
          heading="Revocation lag"
          note={`${stats.lagsMs.length} revocations; median ${millis(lag.p50)}, 95th percentile ${millis(lag.p95)}, longest ${millis(lag.max)}.`}
        >
          <BarChart
            id="lag"
            title="Revocation lag distribution"
            description="For windows that ran out: time from the end of the window until a read-back confirmed the role was gone."
            bars={lagBars}
            unit=" revocations"
          />
          <ChartTable
            caption="Revocation lag distribution"
            columns={['Lag', 'Revocations']}
            rows={lagBars.map((b) => [b.label, b.value])}
          />
        </Section>
        <Section
          heading="Approval turnaround"
          note={`${stats.turnaroundsMs.length} approved requests; median ${millis(turn.p50)}, 95th percentile ${millis(turn.p95)}.`}
        >
          <BarChart
            id="turnaround"
            title="Approval turnaround"
            description="For roles with approvers: time from the request to the approval that met the quorum."
            bars={turnBars}
            unit=" approvals"
          />
          <ChartTable
            caption="Approval turnaround"
            columns={['Turnaround', 'Elevations']}
            rows={turnBars.map((b) => [b.label, b.value])}
          />
        </Section>
        <Section heading="Busiest bots">
          <HorizontalBarChart
            id="top-bots"
            title="Busiest bots"
            description="The ten bots with the most elevations in the window."
            bars={stats.topBots}
            unit=" elevations"
          />
          <ChartTable
            caption="Busiest bots"
            columns={['Bot', 'Elevations']}
            rows={stats.topBots.map((b) => [b.label, b.value])}
          />
        </Section>
        <Section heading="Busiest roles">
          <HorizontalBarChart
            id="top-roles"
            title="Busiest roles"
            description="The ten roles requested most in the window."
            bars={stats.topRoles}
            unit=" elevations"
          />
          <ChartTable
            caption="Busiest roles"
            columns={['Role', 'Elevations']}
            rows={stats.topRoles.map((b) => [b.label, b.value])}
          />
        </Section>
      </div>
    </Layout>,
  );
}
