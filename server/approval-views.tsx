/**
 * The few HTML pages of the approval flow: confirm an approval after the MFA login, the
 * result, and refusals that say exactly why. Components: every value is interpolated as JSX
 * and so escaped by the renderer. The pages load nothing (the Content-Security-Policy set by
 * the router allows no scripts, images or frames; only the inline stylesheet below).
 */
import type { ComponentChildren } from 'preact';
import type { ElevationView } from '../core/model/elevation.js';
import { duration } from './admin/views/format.js';
import { renderDocument } from './html-document.js';

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{width:11rem;color:#555;font-weight:600}.ok{color:#116329}.refused{color:#a40e26}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:6px;border:0;background:#116329;color:#fff;cursor:pointer}
code{background:#f3f3f3;padding:0 .2rem}.note{color:#555;font-size:.9rem}`;

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>{`${title} · Elevate`}</title>
        {/* A constant of this file, no value from outside: set as is, since escaping would alter CSS. */}
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>{children}</body>
    </html>
  );
}

/** A two-column table of facts: a label, and its value. */
export function Facts({ rows }: { rows: [string, string][] }) {
  return (
    <table>
      {rows.map(([k, v]) => (
        <tr>
          <th>{k}</th>
          <td>{v}</td>
        </tr>
      ))}
    </table>
  );
}

/** Under a signed answer's form: until when the page is valid, and that the login is evidence. */
export function AnswerNote({ validUntil }: { validUntil: string }) {
  return (
    <p class="note">
      This page is valid until {validUntil}. Your answer is recorded with the evidence of this login.
    </p>
  );
}

/** The elevation as the approver sees it. */
function Summary({ elevation: e }: { elevation: ElevationView }) {
  const rows: [string, string][] = [
    ['Elevation', e.id],
    ['Bot', e.botId],
    ['Owner', e.owner],
    ['Role', e.roleId],
    ['Environment', e.environment],
    ['Duration', duration(e.durationSeconds)],
    ['Justification', e.justification],
    ...(e.ticket ? ([['Ticket', e.ticket]] as [string, string][]) : []),
    ['Requested at', e.requestedAt],
    ['Status', e.status],
  ];
  if (e.approval.mode === 'approvers') {
    rows.push([
      'Approvals',
      e.approval.groups.map((g) => `${g.name}: ${g.approved} of ${g.quorum}`).join(', '),
    ]);
  }
  return <Facts rows={rows} />;
}

/**
 * What an approval of extension `extension` is about: who asked, for how long, why, the window's
 * new end, until when approvers can decide, and the extension's own progress. The elevation
 * below it is the context, already approved and active.
 */
function ExtensionSummary({ elevation: e, extension }: { elevation: ElevationView; extension: number }) {
  const p = e.pendingExtension?.number === extension ? e.pendingExtension : undefined;
  if (!p) return <p>Extension {extension} is not waiting for approval any more.</p>;
  const end = e.expiresAt ? Date.parse(e.expiresAt) : NaN;
  const rows: [string, string][] = [
    ['Extension', `${extension} of elevation ${e.id}`],
    ['Extend by', duration(p.durationSeconds)],
    ['Asked by', `${p.requestedBy.kind} ${p.requestedBy.id}`],
    ['Justification', p.justification ?? '(none given)'],
    ...(e.expiresAt ? ([['Now ends', e.expiresAt]] as [string, string][]) : []),
    ...(Number.isNaN(end)
      ? []
      : ([['Would end', new Date(end + p.durationSeconds * 1000).toISOString()]] as [string, string][])),
    ['Decide by', p.deadline],
    ['Approvals', p.groups.map((g) => `${g.name}: ${g.approved} of ${g.quorum}`).join(', ')],
  ];
  return <Facts rows={rows} />;
}

/**
 * After a good MFA login: one click confirms the approval, of the request or (`extension`) of
 * that extension of the active elevation.
 */
export function confirmPage(args: {
  elevation: ElevationView;
  approver: string;
  groups: string[];
  mfaMethod: string;
  authTime: string;
  confirmation: string;
  validUntil: string;
  extension?: number;
}): string {
  const n = args.extension;
  return renderDocument(
    <Page title={n === undefined ? 'Confirm approval' : `Confirm approval of extension ${n}`}>
      <h1>{n === undefined ? 'Approve this elevation?' : `Approve extension ${n} of this elevation?`}</h1>
      <p>
        You are signed in as <strong>{args.approver}</strong> with multi-factor authentication (
        <code>{args.mfaMethod}</code> at {args.authTime}), and you approve for {args.groups.join(', ')}.
      </p>
      {n !== undefined && (
        <p>
          This approves <strong>extension {n}</strong>: the bot keeps the role longer. The request itself was
          approved already; your approval counts for this extension only.
        </p>
      )}
      {n !== undefined && <ExtensionSummary elevation={args.elevation} extension={n} />}
      {n !== undefined && <h2>The elevation</h2>}
      <Summary elevation={args.elevation} />
      <form method="post" action="/approvals/confirm">
        <input type="hidden" name="confirmation" value={args.confirmation} />
        <p>
          <button type="submit">Confirm approval</button>
        </p>
      </form>
      <p class="note">
        This confirmation is valid until {args.validUntil}. Your approval is recorded with the evidence of
        this login (issuer, subject, authentication methods and time).
      </p>
    </Page>,
  );
}

/** The approval was accepted: of the request, or (`extension`) of that extension. */
export function approvedPage(elevation: ElevationView, approver: string, extension?: number): string {
  if (extension !== undefined) {
    // The view the Update answered may still hold the extension its approval completed.
    const p = elevation.pendingExtension;
    const waiting =
      p?.number === extension &&
      (p.approvals.length < p.quorum || p.groups.some((g) => g.approved < g.quorum));
    return renderDocument(
      <Page title="Approved">
        <h1 class="ok">Your approval was recorded</h1>
        <p>
          {approver} approved extension {extension} of elevation <code>{elevation.id}</code>.{' '}
          {waiting
            ? 'It still waits for other approvers.'
            : 'Every approver group has its quorum; the window is being extended.'}
        </p>
        {waiting && <ExtensionSummary elevation={elevation} extension={extension} />}
        <Summary elevation={elevation} />
      </Page>,
    );
  }
  const done = elevation.status !== 'pending_approval';
  return renderDocument(
    <Page title="Approved">
      <h1 class="ok">Your approval was recorded</h1>
      <p>
        {approver} approved elevation <code>{elevation.id}</code>.{' '}
        {done
          ? 'Every approver group has its quorum; the role is being granted.'
          : 'It still waits for other approvers.'}
      </p>
      <Summary elevation={elevation} />
    </Page>,
  );
}

/** A refusal: what happened and what to do, in words an approver understands. */
export function refusedPage(code: string, message: string, hint?: string, recorded = true): string {
  return renderDocument(
    <Page title="Not approved">
      <h1 class="refused">Not approved</h1>
      <p>{message}</p>
      {hint && <p>{hint}</p>}
      <p class="note">
        Reason code: <code>{code}</code>.{recorded ? ' This attempt has been recorded.' : ''}
      </p>
    </Page>,
  );
}
