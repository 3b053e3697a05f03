/**
 * An elevation's audit events as the elevation page shows them: one row per event, a line
 * about it read with its type's schema, and its data whole.
 */
import type { AuditEvent } from '../../../core/model/audit-record.js';
import { parseEventData } from '../../../core/model/event-data.js';
import { when } from './format.js';

/**
 * One line about an event, from its data read with its type's schema. Data of a type this
 * version does not know, or not in its type's shape, gets none: the row still shows it whole.
 */
function eventSummary(ev: AuditEvent): string {
  const parsed = parseEventData(ev.type, ev.data);
  if (!parsed.ok) return '';
  switch (parsed.type) {
    case 'approval.accepted':
      return `approved by ${parsed.data.approver}`;
    case 'revoke.started': {
      const { reason, comment } = parsed.data;
      return `reason ${reason}${comment ? `: “${comment}”` : ''}`;
    }
    case 'elevation.revoked':
    case 'elevation.failed':
      return `reason ${parsed.data.reason ?? '?'}`;
    case 'elevation.denied':
      return `“${parsed.data.reason}”`;
    case 'revoke.failed':
    case 'grant.failed': {
      const { type, message } = parsed.data.error;
      return `${type} ${message}`.trim();
    }
    case 'audit.exported': {
      const { format, via } = parsed.data;
      return `format ${format}${via ? ` via ${via}` : ''}`;
    }
    default: {
      // The first of the fields that say why, where the type has one (refusals, admin actions).
      const data: Record<string, unknown> = parsed.data;
      const why = [data.code, data.reason, data.action].find((v) => typeof v === 'string');
      return why ?? '';
    }
  }
}

/** The events in order, each with its chain position and (the start of) its hash. */
export function Timeline({ events }: { events: AuditEvent[] }) {
  return (
    <table class="timeline">
      <thead>
        <tr>
          <th>#</th>
          <th>At</th>
          <th>Event</th>
          <th>Actor</th>
          <th>Details</th>
          <th>Chain position</th>
          <th>Hash</th>
        </tr>
      </thead>
      <tbody>
        {events.map((ev) => (
          <tr>
            <td>{ev.seq}</td>
            <td>{when(ev.at)}</td>
            <td>
              <code>{ev.type}</code>
            </td>
            <td>{`${ev.actor.kind} ${ev.actor.id}`}</td>
            <td>
              {eventSummary(ev)}
              <details>
                <summary>data</summary>
                <pre>{JSON.stringify(ev.data, null, 2)}</pre>
              </details>
            </td>
            <td>{ev.position}</td>
            <td>
              <code title={ev.hash}>{`${ev.hash.slice(0, 12)}…`}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
