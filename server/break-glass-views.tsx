/**
 * The pages of a break-glass review: the activation with a Confirm / Reject form after the MFA
 * login, and the result. Every value is interpolated as JSX, so escaped; the pages load nothing.
 */
import type { BreakGlassReviewView } from '../core/model/break-glass.js';
import { AnswerNote, Facts, Page } from './approval-views.js';
import { renderDocument } from './html-document.js';

/** The activation as the reviewer sees it. */
function Activation({ review: r }: { review: BreakGlassReviewView }) {
  const rows: [string, string][] = [
    ['Elevation', r.elevationId],
    ['Bot', r.botId],
    ['Owner', r.owner],
    ['Role', r.roleId],
    ['Justification', r.justification],
    ['Activated at', r.activatedAt],
    ['Review due', r.deadline],
    ['Status', r.status === 'overdue' ? 'overdue: the bot is locked down' : r.status],
  ];
  return <Facts rows={rows} />;
}

/** After a good MFA login by a named reviewer: confirm or reject the activation. */
export function breakGlassReviewPage(args: {
  review: BreakGlassReviewView;
  reviewer: string;
  mfaMethod: string;
  authTime: string;
  confirmation: string;
  validUntil: string;
}): string {
  const r = args.review;
  return renderDocument(
    <Page title="Review break-glass">
      <h1>
        Was the break-glass of bot {r.botId} on role {r.roleId} justified?
      </h1>
      <p>
        You are signed in as <strong>{args.reviewer}</strong>, a named reviewer, with multi-factor
        authentication (<code>{args.mfaMethod}</code> at {args.authTime}). The bot was granted the role at
        once, without approval. Confirm it if the emergency was real; reject it and the bot is locked down.
      </p>
      <Activation review={r} />
      <form method="post" action="/approvals/breakglass/confirm">
        <input type="hidden" name="confirmation" value={args.confirmation} />
        <p>
          <label>
            Comment (optional)
            <br />
            <textarea name="comment" rows={3} cols={60} maxLength={2000}></textarea>
          </label>
        </p>
        <p>
          <button type="submit" name="outcome" value="confirmed">
            Confirm: the emergency was real
          </button>{' '}
          <button type="submit" name="outcome" value="rejected" style="background:#a40e26">
            Reject: lock the bot down
          </button>
        </p>
      </form>
      <AnswerNote validUntil={args.validUntil} />
    </Page>,
  );
}

/** The answer was recorded. */
export function breakGlassReviewedPage(r: BreakGlassReviewView): string {
  const outcome = r.answer?.outcome ?? r.status;
  return renderDocument(
    <Page title="Reviewed">
      <h1 class="ok">Your review was recorded</h1>
      <p>
        The break-glass of bot <code>{r.botId}</code> on role <code>{r.roleId}</code> is{' '}
        <strong>{outcome}</strong>.
        {outcome === 'rejected' ? ' The bot is locked down until an admin unlocks it.' : ''}
        {r.answer?.late
          ? ' The review came after its deadline: the lockdown stays until an admin lifts it.'
          : ''}
      </p>
    </Page>,
  );
}
