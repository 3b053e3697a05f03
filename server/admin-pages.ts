/**
 * The admin console's HTML: server-rendered strings, every value escaped with
 * {@link escapeHtml}, no scripts and no inline styles (the console's Content-Security-Policy
 * allows only its own stylesheet, `/admin/console.css`). Forms that change anything carry the
 * session's CSRF token in a hidden field.
 */
import type { Policy } from '../config/policy.js';
import { riskOf, type Risk } from '../core/rules/risk.js';
import type { AuditEvent, VerifyResult } from '../integrations/audit/audit-store.js';
import type { ApprovalRecord, ElevationView } from '../core/model/elevation.js';
import { eventDataOf, parseEventData } from '../core/model/event-data.js';
import type { RecordedGrantReceipt, RecordedRevokeReceipt } from '../core/model/event-data-records.js';
import type { TargetRef } from '../core/model/targets.js';
import { isFinal } from '../core/rules/elevation-view.js';
import {
  barChart,
  chartTable,
  histogram,
  horizontalBarChart,
  LAG_BUCKETS,
  OUTCOMES,
  quantile,
  stackedBarChart,
  TURNAROUND_BUCKETS,
  type ElevationStats,
} from './admin-charts.js';
import { escapeHtml } from './approval-pages.js';

/** The console's one stylesheet, served as `/admin/console.css`. */
export const CONSOLE_CSS = `
:root{--fg:#1d1d1f;--muted:#5b5b60;--line:#e2e2e6;--bg:#fafafa;--ok:#116329;--bad:#a40e26;--warn:#8a5a00;--link:#0b57b0}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header.top{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.6rem 1.2rem;background:#1d1d1f;color:#fff}
header.top a{color:#fff;text-decoration:none;font-weight:600}header.top nav{display:flex;gap:1rem;flex:1}
header.top form{margin:0}header.top .who{color:#ccc;font-size:.9rem}
main{max-width:78rem;margin:0 auto;padding:1rem 1.2rem 3rem}
h1{font-size:1.45rem;margin:.6rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
a{color:var(--link)}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}table.kv th{width:13rem}
code,pre{font:13px/1.4 ui-monospace,monospace;background:#f1f1f3;border-radius:3px}code{padding:0 .2rem}pre{padding:.5rem;overflow:auto;max-width:60rem;margin:.3rem 0}
.badge{display:inline-block;padding:0 .45rem;border-radius:9px;font-size:.82rem;font-weight:600;background:#e8e8ec}
.s-active,.s-approved{background:#dff3e4;color:var(--ok)}.s-revoking,.s-pending_approval{background:#fff1cf;color:var(--warn)}
.s-denied,.s-failed{background:#fde2e4;color:var(--bad)}.r-high{background:#fde2e4;color:var(--bad)}.r-medium{background:#fff1cf;color:var(--warn)}.r-low{background:#e8e8ec}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem .8rem;background:#fff;padding:.8rem;border:1px solid var(--line);border-radius:6px}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted)}
form.filters fieldset{grid-column:1/-1;border:0;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem}
input,select,button{font:inherit}input[type=text],input[type=date],select{padding:.25rem .35rem;border:1px solid #c8c8ce;border-radius:4px;background:#fff}
button,.button{display:inline-block;padding:.4rem 1rem;border:0;border-radius:5px;background:#2d2d33;color:#fff;cursor:pointer;text-decoration:none;font-weight:600}
button.danger,.button.danger{background:var(--bad)}button.link{background:none;color:#fff;padding:0;font-weight:400;text-decoration:underline}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin:.8rem 0}.notice{background:#e6f0ff;border:1px solid #b6cdf5;padding:.5rem .8rem;border-radius:5px}
.error{background:#fde2e4;border:1px solid #f2b8bf;padding:.5rem .8rem;border-radius:5px}.ok{color:var(--ok)}.bad{color:var(--bad)}
.muted{color:var(--muted);font-size:.9rem}.pager{display:flex;gap:1rem;margin:.8rem 0}details summary{cursor:pointer;color:var(--link)}
svg.chart{max-width:100%;height:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
svg .grid{stroke:#e4e4e8;stroke-width:1}svg .axis,svg .legend{font-size:11px;fill:#5b5b60}
svg .c0{fill:#2f6fdb}svg .c1{fill:#c2410c}svg .c2{fill:#8b8b95}svg .c3{fill:#a40e26}svg .c4{fill:#2e9d5b}svg .c5{fill:#7c3aed}
table.chart-data{margin:.4rem 0 1.2rem;font-size:.9rem;max-width:40rem}table.chart-data caption{text-align:left;color:var(--muted);padding:.2rem 0}
.charts section{margin-bottom:1.5rem}.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.list-scroll{overflow-x:auto}
@media (max-width:40rem){
main{padding:.8rem .7rem 2rem}header.top{padding:.6rem .7rem}header.top .who{overflow-wrap:anywhere}
table.list,table.list tbody,table.list tr,table.list td{display:block}table.list{background:none}
table.list thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.list tr{background:#fff;border:1px solid var(--line);border-radius:6px;margin:.6rem 0;padding:.35rem .7rem}
table.list td{position:relative;border:0;padding:.15rem 0 .15rem 6.8rem;min-height:1.6rem;overflow-wrap:anywhere}
table.list td::before{content:attr(data-label);position:absolute;left:0;width:6.3rem;color:var(--muted);font-weight:600;font-size:.85rem}
}
`;

/** The signed-in person, as the header shows them. */
export interface PageUser {
  email: string;
  csrf: string;
}

const e = escapeHtml;

/** An ISO instant as `YYYY-MM-DD HH:MM:SS UTC` (or `—`). */
export function when(iso: string | undefined | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return e(iso);
  return e(`${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`);
}

/** Seconds as `1 h 5 min`, `45 s`. */
export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return [h ? `${h} h` : '', m ? `${m} min` : '', s || (!h && !m) ? `${s} s` : ''].filter(Boolean).join(' ');
}

/** Milliseconds as `850 ms`, `2.3 s`, `4 min`. */
export function millis(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return duration(Math.round(ms / 1000));
}

const csrfField = (csrf: string) => `<input type="hidden" name="csrf" value="${e(csrf)}">`;

/** The page frame: header with navigation and sign-out, then the body. */
export function layout(title: string, body: string, user?: PageUser): string {
  const header = user
    ? `<header class="top"><a href="/admin">Elevate admin</a><nav><a href="/admin">Elevations</a><a href="/admin/charts">Charts</a><a href="/admin/audit/verify">Verify audit</a></nav><span class="who">${e(user.email)}</span><form method="post" action="/admin/logout">${csrfField(user.csrf)}<button class="link" type="submit">Sign out</button></form></header>`
    : '<header class="top"><a href="/admin">Elevate admin</a></header>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${e(title)} · Elevate admin</title><link rel="stylesheet" href="/admin/console.css"></head><body>${header}<main>${body}</main></body></html>`;
}

/** A page with one message (a refusal, an error, the result of signing out). */
export function messagePage(
  title: string,
  message: string,
  opts: {
    hint?: string;
    user?: PageUser;
    link?: { href: string; text: string };
    tone?: 'error' | 'notice';
  } = {},
): string {
  return layout(
    title,
    `<h1>${e(title)}</h1><p class="${opts.tone ?? 'error'}">${e(message)}</p>${opts.hint ? `<p>${e(opts.hint)}</p>` : ''}${
      opts.link ? `<p><a href="${e(opts.link.href)}">${e(opts.link.text)}</a></p>` : ''
    }`,
    opts.user,
  );
}

/** What `/admin` shows when the console is off: how to turn it on. */
export function consoleOffPage(): string {
  return layout(
    'Admin console is off',
    `<h1>The admin console is not enabled</h1>
<p>To turn it on, say who the admins are, in the environment of the API server:</p>
<ul>
<li><code>ADMIN_OIDC_GROUPS</code>: comma-separated groups; a person whose ID token lists one of them in the claim
<code>ADMIN_OIDC_GROUPS_CLAIM</code> (default <code>groups</code>) is an admin; and/or</li>
<li><code>ADMIN_LDAP_GROUP_DN</code>: an LDAP group; its members, found by their <code>mail</code>, are admins.</li>
</ul>
<p>Admins sign in at the OpenID Connect provider configured with <code>OIDC_ISSUER</code>, with multi-factor
authentication. Register <code>&lt;ELEVATE_PUBLIC_URL&gt;/admin/callback</code> as a redirect URI of Elevate's client there.
See docs/operations.md, “The admin console”. The admin API (<code>/v1/admin/…</code> with an admin token) works either way.</p>`,
  );
}

function statusBadge(status: string): string {
  return `<span class="badge s-${e(status)}">${e(status.replace('_', ' '))}</span>`;
}

function riskBadge(risk: Risk): string {
  return `<span class="badge r-${risk}">${risk}</span>`;
}

function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th scope="row">${e(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function targetText(t: TargetRef | undefined): string {
  if (!t) return '—';
  switch (t.type) {
    case 'ldap':
      return `LDAP group <code>${e(t.groupDn)}</code>`;
    case 'postgres':
      return `PostgreSQL role <code>${e(t.role)}</code> on server <code>${e(t.server)}</code>`;
    case 'aws-iam':
      return t.mode === 'attach'
        ? 'AWS IAM policy attached for the window'
        : `AWS credentials of role <code>${e(t.roleArn)}</code>`;
  }
}

// ---- the elevation list ------------------------------------------------------------------------

/** The filters of the list, as the form shows them (strings as typed). */
export interface ListFilters {
  bot?: string | undefined;
  owner?: string | undefined;
  team?: string | undefined;
  role?: string | undefined;
  targetType?: string | undefined;
  environment?: string | undefined;
  status?: readonly string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  risk?: string | undefined;
}

const STATUS_CHOICES = [
  'pending_approval',
  'approved',
  'active',
  'revoking',
  'revoked',
  'denied',
  'expired',
  'failed',
];

/** `<datalist>` suggestions for the filters, from the policy. */
function suggestions(policy: Policy): string {
  const list = (id: string, values: Iterable<string>) =>
    `<datalist id="${id}">${[...new Set(values)]
      .sort()
      .map((v) => `<option value="${e(v)}"></option>`)
      .join('')}</datalist>`;
  return [
    list(
      'dl-bots',
      policy.bots.map((b) => b.id),
    ),
    list(
      'dl-owners',
      policy.bots.map((b) => b.owner),
    ),
    list(
      'dl-teams',
      policy.bots.map((b) => b.team),
    ),
    list(
      'dl-roles',
      policy.roles.map((r) => r.id),
    ),
    list('dl-envs', [...policy.roles.map((r) => r.environment), ...policy.bots.map((b) => b.environment)]),
  ].join('');
}

function filterForm(f: ListFilters, policy: Policy, action: string, hidden: string[] = []): string {
  const text = (name: keyof ListFilters, label: string, list?: string) =>
    `<label>${e(label)}<input type="text" name="${name}" value="${e(String(f[name] ?? ''))}"${list ? ` list="${list}"` : ''}></label>`;
  const select = (name: keyof ListFilters, label: string, options: [string, string][]) =>
    `<label>${e(label)}<select name="${name}"><option value="">any</option>${options
      .map(([v, t]) => `<option value="${e(v)}"${f[name] === v ? ' selected' : ''}>${e(t)}</option>`)
      .join('')}</select></label>`;
  const statuses = STATUS_CHOICES.map(
    (s) =>
      `<label class="inline"><input type="checkbox" name="status" value="${s}"${f.status?.includes(s) ? ' checked' : ''}> ${e(s.replace('_', ' '))}</label>`,
  ).join('');
  return `<form class="filters" method="get" action="${e(action)}">
${hidden.includes('bot') ? '' : text('bot', 'Bot', 'dl-bots')}${text('owner', 'Owner', 'dl-owners')}${text('team', 'Team', 'dl-teams')}${text('role', 'Role', 'dl-roles')}
${select('targetType', 'Target type', [
  ['ldap', 'LDAP group'],
  ['postgres', 'PostgreSQL role'],
  ['aws-iam', 'AWS IAM'],
])}${text('environment', 'Environment', 'dl-envs')}${select('risk', 'Risk', [
    ['high', 'high'],
    ['medium', 'medium'],
    ['low', 'low'],
  ])}
<label>Requested from (UTC)<input type="date" name="from" value="${e(f.from ?? '')}"></label>
<label>Requested until (UTC, inclusive)<input type="date" name="to" value="${e(f.to ?? '')}"></label>
<fieldset><legend class="visually-hidden">Status</legend>${statuses}</fieldset>
<div><button type="submit">Filter</button> <a href="${e(action)}">Clear</a></div>
</form>${suggestions(policy)}`;
}

function elevationRows(items: ElevationView[], showBot = true): string {
  if (items.length === 0) return '<p class="muted">No elevations match.</p>';
  // On a narrow screen each row is shown as a card, each cell under its column's name (CONSOLE_CSS).
  const cell = (label: string, html: string) => `<td data-label="${label}">${html}</td>`;
  const rows = items
    .map(
      (v) =>
        `<tr>${cell('Requested', when(v.requestedAt))}${cell('Elevation', `<a href="/admin/elevations/${e(v.id)}"><code>${e(v.id)}</code></a>`)}${
          showBot ? cell('Bot', `<a href="/admin/bots/${e(v.botId)}">${e(v.botId)}</a>`) : ''
        }${cell('Role', e(v.roleId))}${cell('Owner', e(v.owner))}${cell('Environment', e(v.environment))}${cell('Status', statusBadge(v.status))}${cell('Risk', riskBadge(riskOf(v)))}${cell(
          'Ended',
          v.endedAt ? when(v.endedAt) : v.expiresAt ? `expires ${when(v.expiresAt)}` : '—',
        )}</tr>`,
    )
    .join('');
  // Between a phone and a wide screen the table scrolls sideways in its own box, not the page.
  return `<div class="list-scroll"><table class="list"><thead><tr><th>Requested</th><th>Elevation</th>${showBot ? '<th>Bot</th>' : ''}<th>Role</th><th>Owner</th><th>Env.</th><th>Status</th><th>Risk</th><th>Ended</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** The pager: the first page, and the next one if any (same filters, new cursor). */
function pager(
  base: string,
  query: URLSearchParams,
  nextCursor: string | undefined,
  onFirst: boolean,
): string {
  const first = new URLSearchParams(query);
  first.delete('cursor');
  const next = new URLSearchParams(query);
  if (nextCursor) next.set('cursor', nextCursor);
  const q = (p: URLSearchParams) => (p.toString() ? `?${p.toString()}` : '');
  return `<nav class="pager" aria-label="Pages">${onFirst ? '' : `<a href="${e(base + q(first))}">First page</a>`}${
    nextCursor
      ? `<a href="${e(base + q(next))}" rel="next">Next page</a>`
      : '<span class="muted">Last page</span>'
  }</nav>`;
}

/** `/admin`: the elevations, filtered and paged. */
export function listPage(args: {
  user: PageUser;
  policy: Policy;
  filters: ListFilters;
  query: URLSearchParams;
  items: ElevationView[];
  nextCursor?: string;
  onFirst: boolean;
  error?: string;
}): string {
  return layout(
    'Elevations',
    `<h1>Elevations</h1>${filterForm(args.filters, args.policy, '/admin')}${
      args.error ? `<p class="error" role="alert">${e(args.error)}</p>` : ''
    }${elevationRows(args.items)}${pager('/admin', args.query, args.nextCursor, args.onFirst)}`,
    args.user,
  );
}

// ---- one elevation -----------------------------------------------------------------------------

const NOTICES: Record<string, string> = {
  revoke_started: 'Revocation started: the role is being removed from the target.',
  revoked: 'The elevation is revoked.',
  locked: 'The bot is locked down.',
  unlocked: 'The bot is unlocked.',
};

/** A fixed notice by its key (never text from the request). */
export function notice(key: unknown): string {
  const text = typeof key === 'string' ? NOTICES[key] : undefined;
  return text ? `<p class="notice" role="status">${e(text)}</p>` : '';
}

function evidenceTable(a: ApprovalRecord): string {
  const ev = a.evidence ?? {};
  const s = (k: string) => {
    const v = ev[k];
    if (v === undefined || v === null) return '—';
    const text = (x: unknown): string => (typeof x === 'string' ? x : (JSON.stringify(x) ?? ''));
    return Array.isArray(v) ? e(v.map(text).join(' ')) : e(text(v));
  };
  return kv([
    ['Approver', e(a.approver)],
    ['Approved at', when(a.at)],
    ['Approver groups', e(a.groups.join(', ') || '—')],
    ['MFA issuer (iss)', s('issuer')],
    ['Subject (sub)', s('subject')],
    ['E-mail at the provider', s('email')],
    ['Methods (amr)', s('amr')],
    ['Context (acr)', s('acr')],
    ['Logged in at (auth_time)', when(typeof ev.authTime === 'string' ? ev.authTime : undefined)],
    ['MFA method that counted', s('mfaMethod')],
    ['ID token hash', s('idTokenHash')],
    ['Slack user', s('slackUserId')],
  ]);
}

function grantReceipt(r: RecordedGrantReceipt): string {
  return kv([
    ['Target', targetText(r.target)],
    ['Principal', `<code>${e(r.principal)}</code>`],
    ['Confirmed by read-back at', when(r.verifiedAt)],
    [
      'Already present',
      r.alreadyPresent ? `yes (shared with ${e((r.sharedWith ?? []).join(', ') || '—')})` : 'no',
    ],
    ...(r.session
      ? ([
          [
            'AWS session',
            `<code>${e(r.session.sessionName)}</code>, valid until ${when(r.session.expiration)}`,
          ],
        ] as [string, string][])
      : []),
  ]);
}

function revokeReceipt(r: RecordedRevokeReceipt): string {
  return kv([
    ['Target', targetText(r.target)],
    ['Principal', `<code>${e(r.principal)}</code>`],
    ['Confirmed by read-back at', when(r.verifiedAt)],
    [
      'Membership',
      r.removed
        ? '<span class="ok">removed</span>'
        : `kept for ${e((r.stillHeldBy ?? []).join(', ') || 'other elevations')}`,
    ],
    ...(r.session
      ? ([
          [
            'AWS session',
            `<code>${e(r.session.sessionName)}</code>: ${r.session.delivered ? 'delivered' : 'never delivered'}${r.session.denied ? ', denied in AWS' : ''}`,
          ],
        ] as [string, string][])
      : []),
  ]);
}

/**
 * One line about an event, from its data read with its type's schema. Data of a type this
 * version does not know, or not in its type's shape, gets none: the row still shows it whole.
 */
function eventSummary(ev: AuditEvent): string {
  const parsed = parseEventData(ev.type, ev.data);
  if (!parsed.ok) return '';
  switch (parsed.type) {
    case 'approval.accepted':
      return `approved by ${e(parsed.data.approver)}`;
    case 'revoke.started': {
      const { reason, comment } = parsed.data;
      return `reason ${e(reason)}${comment ? `: “${e(comment)}”` : ''}`;
    }
    case 'elevation.revoked':
    case 'elevation.failed':
      return `reason ${e(parsed.data.reason ?? '?')}`;
    case 'elevation.denied':
      return `“${e(parsed.data.reason)}”`;
    case 'revoke.failed':
    case 'grant.failed': {
      const { type, message } = parsed.data.error;
      return e(`${type} ${message}`.trim());
    }
    case 'audit.exported': {
      const { format, via } = parsed.data;
      return `format ${e(format)}${via ? ` via ${e(via)}` : ''}`;
    }
    default: {
      // The first of the fields that say why, where the type has one (refusals, admin actions).
      const data: Record<string, unknown> = parsed.data;
      const why = [data.code, data.reason, data.action].find((v) => typeof v === 'string');
      return why ? e(why) : '';
    }
  }
}

function timeline(events: AuditEvent[]): string {
  const rows = events
    .map(
      (ev) =>
        `<tr><td>${ev.seq}</td><td>${when(ev.at)}</td><td><code>${e(ev.type)}</code></td><td>${e(ev.actor.kind)} ${e(ev.actor.id)}</td><td>${eventSummary(ev)}<details><summary>data</summary><pre>${e(JSON.stringify(ev.data, null, 2))}</pre></details></td><td>${ev.position}</td><td><code title="${e(ev.hash)}">${e(ev.hash.slice(0, 12))}…</code></td></tr>`,
    )
    .join('');
  return `<table class="timeline"><thead><tr><th>#</th><th>At</th><th>Event</th><th>Actor</th><th>Details</th><th>Chain position</th><th>Hash</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** `/admin/elevations/{id}`: everything about one elevation. */
export function elevationPage(args: {
  user: PageUser;
  view: ElevationView;
  events: AuditEvent[];
  notice?: unknown;
}): string {
  const { view: v, events } = args;
  const requested = eventDataOf(
    events.find((x) => x.type === 'elevation.requested'),
    'elevation.requested',
  );
  const bot = requested?.bot;
  const role = requested?.role;
  const identity = requested?.identity;
  const last = (type: string) => [...events].reverse().find((x) => x.type === type);
  const grant = eventDataOf(last('grant.confirmed'), 'grant.confirmed')?.receipt;
  const ended = last('elevation.revoked') ?? last('elevation.failed');
  const revoke = (eventDataOf(ended, 'elevation.revoked') ?? eventDataOf(ended, 'elevation.failed'))?.receipt;
  const summary = kv([
    [
      'Status',
      `${statusBadge(v.status)}${v.endReason ? ` <span class="muted">${e(v.endReason)}</span>` : ''}`,
    ],
    ['Risk', riskBadge(riskOf(v))],
    ['Bot', `<a href="/admin/bots/${e(v.botId)}">${e(v.botId)}</a>`],
    ['Owner', e(v.owner)],
    ['Team', e(bot?.team ?? '—')],
    ['Purpose of the bot', e(bot?.purpose ?? '—')],
    [
      'Role',
      `${e(v.roleId)}${role?.description ? ` <span class="muted">${e(role.description)}</span>` : ''}`,
    ],
    ['Target', targetText(role?.target)],
    ['Principal', bot?.principal ? `<code>${e(bot.principal)}</code>` : '—'],
    ['Environment', e(v.environment)],
    ['Duration', e(duration(v.durationSeconds))],
    ['Justification', e(v.justification)],
    ['Ticket', e(v.ticket ?? '—')],
    ['Request id', e(v.requestId ?? '—')],
    ...(identity
      ? ([['Workload identity', `${e(identity.issuer)} <code>${e(identity.subject)}</code>`]] as [
          string,
          string,
        ][])
      : []),
    ['Requested at', when(v.requestedAt)],
    [
      'Approval',
      v.approval.mode === 'auto'
        ? 'automatic'
        : `${e(v.approval.groups.map((g) => `${g.name}: ${g.approved} of ${g.quorum}`).join(', '))}; deadline ${when(v.approval.deadline)}`,
    ],
    ['Granted at', when(v.grantedAt)],
    ['Expires at', when(v.expiresAt)],
    ['Ended at', when(v.endedAt)],
    ['Failed revocation rounds', e(String(v.revokeAttempts))],
    ['Last error', v.lastError ? `<code>${e(v.lastError)}</code>` : '—'],
    ['Temporal workflow', `<code>${e(v.workflowId)}</code>`],
  ]);
  const approvals =
    v.approvals.length === 0
      ? '<p class="muted">No approvals recorded.</p>'
      : v.approvals.map((a, i) => `<h3>Approval ${i + 1}</h3>${evidenceTable(a)}`).join('');
  const actions = `<div class="actions"><a class="button" href="/v1/admin/elevations/${e(v.id)}/evidence" download>Download evidence pack</a>${
    isFinal(v) ? '' : `<a class="button danger" href="/admin/elevations/${e(v.id)}/revoke">Revoke…</a>`
  }</div>`;
  return layout(
    `Elevation ${v.id}`,
    `${notice(args.notice)}<h1>Elevation <code>${e(v.id)}</code></h1>${actions}<h2>Summary</h2>${summary}
<h2>Approvals</h2>${approvals}
<h2>Grant</h2>${grant ? grantReceipt(grant) : '<p class="muted">Not granted.</p>'}
<h2>Revocation</h2>${revoke ? revokeReceipt(revoke) : '<p class="muted">No revocation receipt (not granted, or not ended yet).</p>'}
<h2>Timeline</h2><p class="muted">Every audit event of this elevation, in order. Each hash is SHA-256 over the event and the hash before it in the chain.</p>${timeline(events)}`,
    args.user,
  );
}

/** `/admin/elevations/{id}/revoke`: the confirmation, with the reason to give. */
export function revokeConfirmPage(args: {
  user: PageUser;
  view: ElevationView;
  error?: string;
  reason?: string;
}): string {
  const v = args.view;
  return layout(
    'Revoke elevation',
    `<h1>Revoke elevation <code>${e(v.id)}</code>?</h1>
<p>Bot <strong>${e(v.botId)}</strong> holds or asked for role <strong>${e(v.roleId)}</strong> (${statusBadge(v.status)}).
Revoking takes the role away in the target now${v.status === 'pending_approval' ? ' (the request ends at once)' : ''}; it is recorded with your name.</p>
${args.error ? `<p class="error" role="alert">${e(args.error)}</p>` : ''}
<form method="post" action="/admin/elevations/${e(v.id)}/revoke">${csrfField(args.user.csrf)}
<p><label>Reason (required, recorded in the audit trail)<br><input type="text" name="reason" size="70" maxlength="1000" required value="${e(args.reason ?? '')}"></label></p>
<p><button class="danger" type="submit">Revoke</button> <a href="/admin/elevations/${e(v.id)}">Cancel</a></p></form>`,
    args.user,
  );
}

// ---- bots ----------------------------------------------------------------------------------------

/** What the bot page knows about a bot's runtime state (lockdown), when the service reports it. */
export interface BotStateView {
  locked: boolean;
  detail?: string;
}

/** `/admin/bots/{id}`: the bot as configured, the roles it may request, its history. */
export function botPage(args: {
  user: PageUser;
  botId: string;
  policy: Policy;
  state?: BotStateView;
  canLock: boolean;
  items: ElevationView[];
  query: URLSearchParams;
  nextCursor?: string;
  onFirst: boolean;
  notice?: unknown;
}): string {
  const bot = args.policy.bots.find((b) => b.id === args.botId);
  const info = bot
    ? kv([
        ['Purpose', e(bot.purpose)],
        ['Owner', e(bot.owner)],
        ['Team', e(bot.team)],
        ['Environment', e(bot.environment)],
        [
          'Authenticates with',
          bot.federation ? `API key or workload identity (${e(bot.federation.issuer)})` : 'API key',
        ],
        ['Disabled in the policy', bot.disabled ? '<span class="bad">yes</span>' : 'no'],
        ...(args.state
          ? ([
              [
                'Lockdown',
                args.state.locked
                  ? `<span class="bad">locked down</span>${args.state.detail ? ` <span class="muted">${e(args.state.detail)}</span>` : ''}`
                  : 'no',
              ],
            ] as [string, string][])
          : []),
      ])
    : '<p class="error">This bot is not in the current policy; its history is shown as recorded.</p>';
  const roles = bot
    ? `<table><thead><tr><th>Role</th><th>Target</th><th>Approval</th><th>Longest window</th><th>Risk</th></tr></thead><tbody>${bot.roles
        .map((id) => {
          const r = args.policy.roles.find((x) => x.id === id);
          if (!r) return `<tr><td>${e(id)}</td><td colspan="4">not in the policy</td></tr>`;
          const approval =
            r.approval.mode === 'auto'
              ? 'automatic'
              : e(r.approval.groups.map((g) => `${g.name} (${g.quorum})`).join(', '));
          return `<tr><td>${e(r.id)}${r.description ? `<br><span class="muted">${e(r.description)}</span>` : ''}</td><td>${targetText(r.target)}</td><td>${approval}</td><td>${e(duration(r.maxDurationSeconds))}</td><td>${riskBadge(riskOf({ approval: r.approval, environment: r.environment }))}</td></tr>`;
        })
        .join('')}</tbody></table>`
    : '';
  const lock =
    args.canLock && bot
      ? `<div class="actions">${
          args.state?.locked
            ? `<a class="button" href="/admin/bots/${e(args.botId)}/unlock">Unlock…</a>`
            : `<a class="button danger" href="/admin/bots/${e(args.botId)}/lock">Lock down…</a>`
        }</div>`
      : '';
  return layout(
    `Bot ${args.botId}`,
    `${notice(args.notice)}<h1>Bot ${e(args.botId)}</h1>${lock}${info}${roles ? `<h2>Roles it may request</h2>${roles}` : ''}
<h2>History</h2>${elevationRows(args.items, false)}${pager(`/admin/bots/${args.botId}`, args.query, args.nextCursor, args.onFirst)}`,
    args.user,
  );
}

/** The confirmation of a lockdown or an unlock. */
export function lockConfirmPage(args: {
  user: PageUser;
  botId: string;
  action: 'lock' | 'unlock';
  error?: string;
}): string {
  const lock = args.action === 'lock';
  return layout(
    lock ? 'Lock bot down' : 'Unlock bot',
    `<h1>${lock ? 'Lock down' : 'Unlock'} bot ${e(args.botId)}?</h1>
<p>${
      lock
        ? 'A locked-down bot cannot request elevations, and its active elevations are revoked.'
        : 'The bot may request elevations again, as its policy allows.'
    } The change is recorded with your name.</p>
${args.error ? `<p class="error" role="alert">${e(args.error)}</p>` : ''}
<form method="post" action="/admin/bots/${e(args.botId)}/${args.action}">${csrfField(args.user.csrf)}
<p><label>Reason (required, recorded in the audit trail)<br><input type="text" name="reason" size="70" maxlength="1000" required></label></p>
<p><button class="${lock ? 'danger' : ''}" type="submit">${lock ? 'Lock down' : 'Unlock'}</button> <a href="/admin/bots/${e(args.botId)}">Cancel</a></p></form>`,
    args.user,
  );
}

// ---- the audit chain -----------------------------------------------------------------------------

/** `/admin/audit/verify`: the confirmation (walking the chain reads every event). */
export function verifyConfirmPage(args: { user: PageUser; error?: string }): string {
  return layout(
    'Verify the audit chain',
    `<h1>Verify the audit chain</h1>
<p>Walks every audit event in chain order and checks each hash, the links between them, the store's head
record and the signed checkpoints. On a large trail this takes a while. The run and its result are recorded.</p>
${args.error ? `<p class="error" role="alert">${e(args.error)}</p>` : ''}
<form method="post" action="/admin/audit/verify">${csrfField(args.user.csrf)}
<p><label>Anchor from an earlier run (optional, <code>position:hash</code>)<br><input type="text" name="anchor" size="80" maxlength="100"></label></p>
<p><button type="submit">Verify now</button></p></form>`,
    args.user,
  );
}

/**
 * The result of a verification. "Intact" only when signed checkpoints vouch for the chain:
 * without them a clean walk shows the chain is self-consistent, which anyone who can write the
 * database can make it after rewriting it, so the page says "not anchored" instead.
 */
export function verifyResultPage(args: { user: PageUser; result: VerifyResult }): string {
  const r = args.result;
  const broken = r.firstBroken;
  const anchoring = r.anchoring;
  const anchored = anchoring?.status === 'anchored';
  const status = !r.ok
    ? '<span class="bad">broken</span>'
    : anchored
      ? '<span class="ok">intact</span>'
      : '<span class="bad">not anchored</span>';
  const anchorRow: [string, string] = [
    'Signed checkpoints',
    anchoring?.through
      ? `${anchoring.checkpoints} valid, the newest at position ${anchoring.through.position} (${e(anchoring.through.at)}, key <code>${e(anchoring.through.kid)}</code>); ${anchoring.unanchored} event(s) after it`
      : anchoring?.reason === 'no_key'
        ? '<span class="bad">none checked: no checkpoint key is configured (ELEVATE_AUDIT_CHECKPOINT_KEY), so anyone who can write the database could have rewritten the chain undetected</span>'
        : '<span class="bad">none written yet: nothing vouches for the chain against a database writer</span>',
  ];
  return layout(
    'Audit chain verified',
    `<h1>Audit chain: ${status}</h1>
${kv([
  [
    'Result',
    r.ok
      ? anchored
        ? '<span class="ok">every event checks out, up to a signed checkpoint</span>'
        : '<span class="bad">every event checks out, but no signed checkpoint vouches for them</span>'
      : '<span class="bad">does not check out</span>',
  ],
  anchorRow,
  ['Events checked', String(r.checked)],
  [
    'Head (record it elsewhere as an anchor)',
    r.head ? `<code>${r.head.position}:${e(r.head.hash)}</code>` : '—',
  ],
  ...(broken
    ? ([
        ['First broken position', String(broken.position)],
        ['Why', `<code>${e(broken.reason)}</code>`],
        ['Event', e(broken.eventId ?? '—')],
        [
          'Elevation',
          broken.elevationId
            ? `<a href="/admin/elevations/${e(broken.elevationId)}">${e(broken.elevationId)}</a>`
            : '—',
        ],
      ] as [string, string][])
    : []),
])}
<p><a href="/admin/audit/verify">Verify again</a></p>`,
    args.user,
  );
}

// ---- charts ---------------------------------------------------------------------------------------

/** `/admin/charts`: what happened in the last `days` days, as charts with tables beside them. */
export function chartsPage(args: {
  user: PageUser;
  days: number;
  stats: ElevationStats;
  total: number;
  capped: boolean;
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
  const windows = [7, 14, 30, 90]
    .map((d) =>
      d === args.days ? `<strong>${d} days</strong>` : `<a href="/admin/charts?days=${d}">${d} days</a>`,
    )
    .join(' · ');
  const section = (heading: string, svg: string, table: string, note = '') =>
    `<section><h2>${e(heading)}</h2>${note ? `<p class="muted">${note}</p>` : ''}${svg}${table}</section>`;
  return layout(
    'Charts',
    `<h1>Charts</h1><p>Elevations requested in the last ${args.days} days (UTC): ${args.total}${
      args.capped ? ' — the newest ones only; narrow the window to see all' : ''
    }. ${windows}</p><div class="charts">
${section(
  'Elevations per day, by outcome',
  stackedBarChart({
    id: 'per-day',
    title: 'Elevations per day, by outcome',
    description: `Elevations requested each day over the last ${args.days} days, stacked by how they ended.`,
    series: [...OUTCOMES],
    bars: stats.days.map((d) => ({ label: d.day.slice(5), values: d.counts })),
    unit: ' elevations',
  }),
  `<details><summary>Table</summary>${chartTable(
    'Elevations per day, by outcome',
    ['Day', ...OUTCOMES],
    stats.days.map((d) => [d.day, ...d.counts]),
  )}</details>`,
)}
${section(
  'Active grants over time',
  barChart({
    id: 'active',
    title: 'Active grants over time',
    description: 'How many grants were in force at some time during each interval of the window.',
    bars: stats.active.map((p) => ({ label: p.label, value: p.count })),
    unit: ' active grants',
  }),
  `<details><summary>Table</summary>${chartTable(
    'Active grants over time',
    ['Interval from (UTC)', 'Grants in force'],
    stats.active.map((p) => [p.at, p.count]),
  )}</details>`,
)}
${section(
  'Revocation lag',
  barChart({
    id: 'lag',
    title: 'Revocation lag distribution',
    description:
      'For windows that ran out: time from the end of the window until a read-back confirmed the role was gone.',
    bars: lagBars,
    unit: ' revocations',
  }),
  chartTable(
    'Revocation lag distribution',
    ['Lag', 'Revocations'],
    lagBars.map((b) => [b.label, b.value]),
  ),
  `${stats.lagsMs.length} revocations; median ${e(millis(lag.p50))}, 95th percentile ${e(millis(lag.p95))}, longest ${e(millis(lag.max))}.`,
)}
${section(
  'Approval turnaround',
  barChart({
    id: 'turnaround',
    title: 'Approval turnaround',
    description: 'For roles with approvers: time from the request to the approval that met the quorum.',
    bars: turnBars,
    unit: ' approvals',
  }),
  chartTable(
    'Approval turnaround',
    ['Turnaround', 'Elevations'],
    turnBars.map((b) => [b.label, b.value]),
  ),
  `${stats.turnaroundsMs.length} approved requests; median ${e(millis(turn.p50))}, 95th percentile ${e(millis(turn.p95))}.`,
)}
${section(
  'Busiest bots',
  horizontalBarChart({
    id: 'top-bots',
    title: 'Busiest bots',
    description: 'The ten bots with the most elevations in the window.',
    bars: stats.topBots,
    unit: ' elevations',
  }),
  chartTable(
    'Busiest bots',
    ['Bot', 'Elevations'],
    stats.topBots.map((b) => [b.label, b.value]),
  ),
)}
${section(
  'Busiest roles',
  horizontalBarChart({
    id: 'top-roles',
    title: 'Busiest roles',
    description: 'The ten roles requested most in the window.',
    bars: stats.topRoles,
    unit: ' elevations',
  }),
  chartTable(
    'Busiest roles',
    ['Role', 'Elevations'],
    stats.topRoles.map((b) => [b.label, b.value]),
  ),
)}</div>`,
    args.user,
  );
}
