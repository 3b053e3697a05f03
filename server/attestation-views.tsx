/**
 * The pages of an owner attestation: the bot's roles with a box each after the MFA login, and
 * the result. Every value is interpolated as JSX, so escaped; the pages load nothing.
 */
import type { AttestationView } from '../core/model/attestation.js';
import { AnswerNote, Page } from './approval-views.js';
import { renderDocument } from './html-document.js';

/** After a good MFA login by the owner: the roles, each ticked unless an earlier attestation trimmed it. */
export function reviewPage(args: {
  attestation: AttestationView;
  owner: string;
  mfaMethod: string;
  authTime: string;
  confirmation: string;
  validUntil: string;
}): string {
  const a = args.attestation;
  return renderDocument(
    <Page title="Review bot roles">
      <h1>Does bot {a.botId} still need these roles?</h1>
      <p>
        You are signed in as <strong>{args.owner}</strong>, the bot’s owner, with multi-factor authentication
        (<code>{args.mfaMethod}</code> at {args.authTime}). Untick each role the bot no longer needs: its
        requests for it will be refused. Answer by {a.deadline}, or the bot is suspended.
      </p>
      <form method="post" action="/approvals/attest/confirm">
        <input type="hidden" name="confirmation" value={args.confirmation} />
        <table>
          {a.roles.map((role) => (
            <tr>
              <td>
                <label>
                  <input type="checkbox" name="role" value={role} checked={!a.trimmed.includes(role)} />{' '}
                  <code>{role}</code>
                  {a.trimmed.includes(role) ? ' (trimmed at an earlier attestation)' : ''}
                </label>
              </td>
            </tr>
          ))}
        </table>
        <p>
          <button type="submit">Confirm these roles</button>
        </p>
      </form>
      <AnswerNote validUntil={args.validUntil} />
    </Page>,
  );
}

/** The answer was recorded. */
export function attestedPage(a: AttestationView): string {
  const kept = a.answer?.kept ?? [];
  const trimmed = a.answer?.trimmed ?? [];
  return renderDocument(
    <Page title="Attested">
      <h1 class="ok">Your attestation was recorded</h1>
      <p>
        Bot <code>{a.botId}</code> keeps {kept.length > 0 ? kept.join(', ') : 'no role'}.
        {trimmed.length > 0 ? ` Requests for ${trimmed.join(', ')} are refused from now on.` : ''}
      </p>
    </Page>,
  );
}
