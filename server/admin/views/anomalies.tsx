/**
 * `/admin/anomalies`: the anomalies continuous detection recorded (`anomaly.detected`), newest
 * first and paged: when, what kind, which bot (or fleet), how serious, and the sentence that
 * says it with the numbers behind it.
 */
import type { AuditEvent } from '../../../core/model/audit-record.js';
import { eventDataOf } from '../../../core/model/event-data.js';
import { renderDocument } from '../../html-document.js';
import { when } from './format.js';
import { ErrorAlert, Layout, RiskBadge, type PageUser } from './layout.js';
import { Pager } from './list.js';

/** Where the page is. */
export const ANOMALIES_PATH = '/admin/anomalies';

/** One recorded anomaly as a row; a record this version cannot read says so. */
function AnomalyRow({ event }: { event: AuditEvent }) {
  const d = eventDataOf(event, 'anomaly.detected');
  if (!d) {
    return (
      <tr>
        <td data-label="When">{when(event.at)}</td>
        <td data-label="Kind" colSpan={4}>
          <span class="muted">{`Recorded in a shape this version does not read (event ${event.id})`}</span>
        </td>
      </tr>
    );
  }
  const evidence = Object.entries(d.evidence)
    .map(([name, value]) => `${name} ${value}`)
    .join(' · ');
  return (
    <tr>
      <td data-label="When">{when(event.at)}</td>
      <td data-label="Kind">
        <code>{d.kind}</code>
      </td>
      <td data-label="Bot">
        <a href={`/admin/bots/${encodeURIComponent(d.botId)}`}>{d.botId}</a>
        {d.fleet && (
          <>
            <br />
            <span class="muted">{`${d.fleet.by} ${d.fleet.id}: ${d.fleet.bots.join(', ')}`}</span>
          </>
        )}
      </td>
      <td data-label="Severity">
        <RiskBadge risk={d.severity} />
      </td>
      <td data-label="What">
        {d.text}
        {evidence && (
          <>
            <br />
            <span class="muted">{evidence}</span>
          </>
        )}
      </td>
    </tr>
  );
}

/** The page: the anomalies of this page, the pager, and what the list is. */
export function anomaliesPage(args: {
  user: PageUser;
  events: AuditEvent[];
  nextCursor: string | undefined;
  onFirst: boolean;
  error?: string;
}): string {
  return renderDocument(
    <Layout title="Anomalies" user={args.user}>
      <h1>Anomalies</h1>
      <p>
        What continuous detection found across requests and bots, newest first: rate spikes across a team’s or
        an owner’s bots, repeated credential refusals, bots that stopped giving grants back early, dormant
        bots and bots whose owner left the directory. The same anomaly of the same bot is listed again only
        after the re-alert time (<code>detection.realertHours</code>).
      </p>
      <ErrorAlert error={args.error} />
      {args.events.length === 0 ? (
        <p>No anomalies recorded.</p>
      ) : (
        <div class="list-scroll">
          <table class="list">
            <thead>
              <tr>
                <th>When</th>
                <th>Kind</th>
                <th>Bot</th>
                <th>Severity</th>
                <th>What</th>
              </tr>
            </thead>
            <tbody>
              {args.events.map((event) => (
                <AnomalyRow event={event} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        base={ANOMALIES_PATH}
        query={new URLSearchParams()}
        nextCursor={args.nextCursor}
        onFirst={args.onFirst}
      />
    </Layout>,
  );
}
