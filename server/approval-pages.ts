/**
 * The few HTML pages of the approval flow: confirm an approval after the MFA login, the
 * result, and refusals that say exactly why. Server-rendered strings; every value is escaped,
 * and the pages load nothing (the Content-Security-Policy set by the router allows no
 * scripts, images or frames).
 */
import type { ElevationView } from '../core/model/elevation.js';

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{width:11rem;color:#555;font-weight:600}.ok{color:#116329}.refused{color:#a40e26}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:6px;border:0;background:#116329;color:#fff;cursor:pointer}
code{background:#f3f3f3;padding:0 .2rem}.note{color:#555;font-size:.9rem}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · Elevate</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h} h` : '', m ? `${m} min` : '', s || (!h && !m) ? `${s} s` : ''].filter(Boolean).join(' ');
}

function summary(e: ElevationView): string {
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
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

/** After a good MFA login: one click confirms the approval. */
export function confirmPage(args: {
  elevation: ElevationView;
  approver: string;
  groups: string[];
  mfaMethod: string;
  authTime: string;
  confirmation: string;
  validUntil: string;
}): string {
  return page(
    'Confirm approval',
    `<h1>Approve this elevation?</h1>
<p>You are signed in as <strong>${escapeHtml(args.approver)}</strong> with multi-factor authentication
(<code>${escapeHtml(args.mfaMethod)}</code> at ${escapeHtml(args.authTime)}), and you approve for
${escapeHtml(args.groups.join(', '))}.</p>
${summary(args.elevation)}
<form method="post" action="/approvals/confirm">
<input type="hidden" name="confirmation" value="${escapeHtml(args.confirmation)}">
<p><button type="submit">Confirm approval</button></p>
</form>
<p class="note">This confirmation is valid until ${escapeHtml(args.validUntil)}. Your approval is recorded with the
evidence of this login (issuer, subject, authentication methods and time).</p>`,
  );
}

/** The approval was accepted. */
export function approvedPage(elevation: ElevationView, approver: string): string {
  const done = elevation.status !== 'pending_approval';
  return page(
    'Approved',
    `<h1 class="ok">Your approval was recorded</h1>
<p>${escapeHtml(approver)} approved elevation <code>${escapeHtml(elevation.id)}</code>.
${done ? 'Every approver group has its quorum; the role is being granted.' : 'It still waits for other approvers.'}</p>
${summary(elevation)}`,
  );
}

/** A refusal: what happened and what to do, in words an approver understands. */
export function refusedPage(code: string, message: string, hint?: string, recorded = true): string {
  return page(
    'Not approved',
    `<h1 class="refused">Not approved</h1>
<p>${escapeHtml(message)}</p>
${hint ? `<p>${escapeHtml(hint)}</p>` : ''}
<p class="note">Reason code: <code>${escapeHtml(code)}</code>.${recorded ? ' This attempt has been recorded.' : ''}</p>`,
  );
}
