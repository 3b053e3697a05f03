/**
 * The approver queue page: every request waiting for the signed-in approver, oldest first.
 * Components: every value is interpolated as JSX and so escaped by the renderer; the page loads
 * nothing (the approval pages' Content-Security-Policy applies).
 */
import type { QueueItem } from '../domain/approvals/approval-service.js';
import { duration } from './admin/views/format.js';
import { Page } from './approval-views.js';
import { renderDocument } from './html-document.js';

/** One queue entry with its personal approval link, when the person may approve it now. */
export interface QueueEntry extends QueueItem {
  link?: string;
}

/** Where a request's approvals stand, and its escalation if it has one. */
function progressOf(e: QueueItem['elevation']): string {
  if (e.approval.mode !== 'approvers') return '';
  const own = e.approval.groups.map((g) => `${g.name}: ${g.approved} of ${g.quorum}`).join(', ');
  const escalation = e.approval.escalation;
  if (!escalation) return own;
  const groups = escalation.groups.map((g) => g.name).join(', ');
  return escalation.escalatedAt
    ? `${own}; escalated to ${groups} at ${escalation.escalatedAt}`
    : `${own}; escalates to ${groups} at ${escalation.dueAt}`;
}

/** The queue of `approver`, after their MFA login. */
export function approverQueuePage(args: { approver: string; entries: QueueEntry[] }): string {
  const ready = args.entries.filter((e) => e.link !== undefined).length;
  return renderDocument(
    <Page title="My pending approvals">
      <h1>My pending approvals</h1>
      <p>
        Signed in as <strong>{args.approver}</strong>. {args.entries.length} request
        {args.entries.length === 1 ? '' : 's'} of roles you approve {args.entries.length === 1 ? 'is' : 'are'}{' '}
        waiting; you may approve {ready} now.
      </p>
      {args.entries.length > 0 && (
        <table>
          <tr>
            <th>Request</th>
            <th>Window closes</th>
            <th>Approvals</th>
            <th>You</th>
          </tr>
          {args.entries.map((e) => (
            <tr>
              <td>
                <code>{e.elevation.botId}</code> asks for <code>{e.elevation.roleId}</code> for{' '}
                {duration(e.elevation.durationSeconds)}: {e.elevation.justification}
                <br />
                <span class="note">
                  {e.elevation.id}, requested {e.elevation.requestedAt}
                </span>
              </td>
              <td>{e.elevation.approval.mode === 'approvers' ? e.elevation.approval.deadline : ''}</td>
              <td>{progressOf(e.elevation)}</td>
              <td>
                {e.link ? (
                  <a href={e.link}>Approve or review (for {e.groups.join(', ')})</a>
                ) : (
                  <span class="note">{e.refusal}</span>
                )}
              </td>
            </tr>
          ))}
        </table>
      )}
      <p class="note">
        Each link is yours alone and valid for 10 minutes; approving asks for a fresh login again. Reload this
        page with a new login to see the queue as it is now.
      </p>
    </Page>,
  );
}
