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

/** The extension an entry is for, while it still waits (the entry is the request without one). */
function extensionOf(entry: QueueItem) {
  const p = entry.elevation.pendingExtension;
  return entry.extension !== undefined && p?.number === entry.extension ? p : undefined;
}

/** What is asked: the request, or extension N of an active elevation, with its justification. */
function Asked({ entry }: { entry: QueueItem }) {
  const e = entry.elevation;
  const p = extensionOf(entry);
  return p ? (
    <>
      <code>{e.botId}</code> asks to keep <code>{e.roleId}</code> {duration(p.durationSeconds)} longer
      (extension {p.number}): {p.justification ?? '(no justification given)'}
      <br />
      <span class="note">
        {e.id}, active until {e.expiresAt ?? '?'}, extension asked {p.requestedAt}
      </span>
    </>
  ) : (
    <>
      <code>{e.botId}</code> asks for <code>{e.roleId}</code> for {duration(e.durationSeconds)}:{' '}
      {e.justification}
      <br />
      <span class="note">
        {e.id}, requested {e.requestedAt}
      </span>
    </>
  );
}

/** When approvers can decide until: the request's window, or the extension's. */
function deadlineOf(entry: QueueItem): string {
  const p = extensionOf(entry);
  if (p) return p.deadline;
  const approval = entry.elevation.approval;
  return approval.mode === 'approvers' ? approval.deadline : '';
}

/** Where a request's (or an extension's) approvals stand, and the request's escalation if it has one. */
function progressOf(entry: QueueItem): string {
  const p = extensionOf(entry);
  if (p) return p.groups.map((g) => `${g.name}: ${g.approved} of ${g.quorum}`).join(', ');
  const e = entry.elevation;
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
                <Asked entry={e} />
              </td>
              <td>{deadlineOf(e)}</td>
              <td>{progressOf(e)}</td>
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
