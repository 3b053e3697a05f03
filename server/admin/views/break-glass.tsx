/**
 * `/admin/break-glass`: every break-glass activation (`breakglass.activated`), newest first and
 * paged, with where its post-hoc review stands. An incident stays open until a reviewer answers
 * (`breakglass.reviewed`), however late: an activation whose review was missed
 * (`breakglass.review_missed`) shows open and overdue, with its bot locked down.
 */
import type { AuditEvent } from '../../../core/model/audit-record.js';
import { eventDataOf } from '../../../core/model/event-data.js';
import { renderDocument } from '../../html-document.js';
import { when } from './format.js';
import { ErrorAlert, Layout, type PageUser } from './layout.js';
import { Pager } from './list.js';

/** Where the page is. */
export const BREAK_GLASS_PATH = '/admin/break-glass';

/** The review events of the activations shown, by elevation id. */
export interface BreakGlassOutcomes {
  reviewed: Map<string, AuditEvent>;
  missed: Map<string, AuditEvent>;
}

/** Open (with why) or closed (with the verdict), for one activation. */
function ReviewState({ elevationId, outcomes }: { elevationId: string; outcomes: BreakGlassOutcomes }) {
  const reviewed = outcomes.reviewed.get(elevationId);
  const r = reviewed ? eventDataOf(reviewed, 'breakglass.reviewed') : undefined;
  if (reviewed && r) {
    return (
      <>
        <strong>{`closed: ${r.outcome}`}</strong>
        <br />
        <span class="muted">{`by ${r.reviewer}, ${when(reviewed.at)}${r.late ? ' (late)' : ''}`}</span>
      </>
    );
  }
  if (outcomes.missed.has(elevationId)) {
    return (
      <>
        <strong class="bad">open: review missed</strong>
        <br />
        <span class="muted">the bot is locked down; a review still closes the incident</span>
      </>
    );
  }
  return <strong>open: awaiting review</strong>;
}

/** One activation as a row; a record this version cannot read says so. */
function ActivationRow({ event, outcomes }: { event: AuditEvent; outcomes: BreakGlassOutcomes }) {
  const d = eventDataOf(event, 'breakglass.activated');
  if (!d || !event.elevationId) {
    return (
      <tr>
        <td data-label="When">{when(event.at)}</td>
        <td data-label="Bot" colSpan={4}>
          <span class="muted">{`Recorded in a shape this version does not read (event ${event.id})`}</span>
        </td>
      </tr>
    );
  }
  return (
    <tr>
      <td data-label="When">
        <a href={`/admin/elevations/${encodeURIComponent(event.elevationId)}`}>{when(event.at)}</a>
      </td>
      <td data-label="Bot">
        <a href={`/admin/bots/${encodeURIComponent(d.botId)}`}>{d.botId}</a>
        <br />
        <span class="muted">{d.owner}</span>
      </td>
      <td data-label="Role">
        <code>{d.roleId}</code>
        <br />
        <span class="muted">{`${d.durationSeconds} s of at most ${d.maxSeconds} s`}</span>
      </td>
      <td data-label="Review">
        <ReviewState elevationId={event.elevationId} outcomes={outcomes} />
        <br />
        <span class="muted">{`due ${when(d.reviewDeadline)}; reviewers ${d.reviewers.join(', ')}`}</span>
      </td>
      <td data-label="Justification">{d.justification}</td>
    </tr>
  );
}

/** The page: the activations of this page, the pager, and what the list is. */
export function breakGlassPage(args: {
  user: PageUser;
  events: AuditEvent[];
  outcomes: BreakGlassOutcomes;
  nextCursor: string | undefined;
  onFirst: boolean;
  error?: string;
}): string {
  const open = args.events.filter((e) => e.elevationId && !args.outcomes.reviewed.has(e.elevationId)).length;
  return renderDocument(
    <Layout title="Break-glass" user={args.user}>
      <h1>Break-glass</h1>
      <p>
        Roles granted without approval on their emergency path, newest first. Each stays open until one of the
        role’s reviewers confirms or rejects it with MFA; a review missed by its deadline locks the bot down,
        and the incident stays open until someone reviews it.
      </p>
      <ErrorAlert error={args.error} />
      {args.events.length === 0 ? (
        <p>No break-glass activations recorded.</p>
      ) : (
        <>
          <p>{open === 0 ? 'No open incident on this page.' : `${open} open on this page.`}</p>
          <div class="list-scroll">
            <table class="list">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Bot</th>
                  <th>Role</th>
                  <th>Review</th>
                  <th>Justification</th>
                </tr>
              </thead>
              <tbody>
                {args.events.map((event) => (
                  <ActivationRow event={event} outcomes={args.outcomes} />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <Pager
        base={BREAK_GLASS_PATH}
        query={new URLSearchParams()}
        nextCursor={args.nextCursor}
        onFirst={args.onFirst}
      />
    </Layout>,
  );
}
