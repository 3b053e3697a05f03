/**
 * `/admin/elevations/{id}`: everything about one elevation (summary, approvals with their MFA
 * evidence, grant and revocation receipts, the audit timeline), and the revoke confirmation.
 */
import type { ApprovalRecord, ElevationView } from '../../../core/model/elevation.js';
import type { AuditEvent } from '../../../core/model/audit-record.js';
import { eventDataOf } from '../../../core/model/event-data.js';
import type { RecordedGrantReceipt, RecordedRevokeReceipt } from '../../../core/model/event-data-records.js';
import { isFinal } from '../../../core/rules/elevation-view.js';
import { renderDocument } from '../../html-document.js';
import { duration, when } from './format.js';
import {
  CsrfField,
  ErrorAlert,
  KeyValues,
  Layout,
  Notice,
  StatusBadge,
  TargetText,
  type PageUser,
} from './layout.js';
import { RiskDetails, SummaryRisk } from './risk-score.js';
import { Timeline } from './timeline.js';

/** An approval and the evidence of the MFA login behind it. */
function Evidence({ approval: a }: { approval: ApprovalRecord }) {
  const ev = a.evidence ?? {};
  const s = (k: string): string => {
    const v = ev[k];
    if (v === undefined || v === null) return '—';
    const text = (x: unknown): string => (typeof x === 'string' ? x : (JSON.stringify(x) ?? ''));
    return Array.isArray(v) ? v.map(text).join(' ') : text(v);
  };
  return (
    <KeyValues
      rows={[
        ['Approver', a.approver],
        ['Approved at', when(a.at)],
        ['Approver groups', a.groups.join(', ') || '—'],
        ['MFA issuer (iss)', s('issuer')],
        ['Subject (sub)', s('subject')],
        ['E-mail at the provider', s('email')],
        ['Methods (amr)', s('amr')],
        ['Context (acr)', s('acr')],
        ['Logged in at (auth_time)', when(typeof ev.authTime === 'string' ? ev.authTime : undefined)],
        ['MFA method that counted', s('mfaMethod')],
        ['ID token hash', s('idTokenHash')],
        ['Slack user', s('slackUserId')],
      ]}
    />
  );
}

function GrantReceipt({ receipt: r }: { receipt: RecordedGrantReceipt }) {
  return (
    <KeyValues
      rows={[
        ['Target', <TargetText target={r.target} />],
        ['Principal', <code>{r.principal}</code>],
        ['Confirmed by read-back at', when(r.verifiedAt)],
        [
          'Already present',
          r.alreadyPresent ? `yes (shared with ${(r.sharedWith ?? []).join(', ') || '—'})` : 'no',
        ],
        r.session && [
          'AWS session',
          <>
            <code>{r.session.sessionName}</code>, valid until {when(r.session.expiration)}
          </>,
        ],
      ]}
    />
  );
}

function RevokeReceipt({ receipt: r }: { receipt: RecordedRevokeReceipt }) {
  return (
    <KeyValues
      rows={[
        ['Target', <TargetText target={r.target} />],
        ['Principal', <code>{r.principal}</code>],
        ['Confirmed by read-back at', when(r.verifiedAt)],
        [
          'Membership',
          r.removed ? (
            <span class="ok">removed</span>
          ) : (
            `kept for ${(r.stillHeldBy ?? []).join(', ') || 'other elevations'}`
          ),
        ],
        r.session && [
          'AWS session',
          <>
            <code>{r.session.sessionName}</code>
            {`: ${r.session.delivered ? 'delivered' : 'never delivered'}${r.session.denied ? ', denied in AWS' : ''}`}
          </>,
        ],
      ]}
    />
  );
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
  return renderDocument(
    <Layout title={`Elevation ${v.id}`} user={args.user}>
      <Notice notice={args.notice} />
      <h1>
        Elevation <code>{v.id}</code>
      </h1>
      <div class="actions">
        <a class="button" href={`/v1/admin/elevations/${v.id}/evidence`} download>
          Download evidence pack
        </a>
        {!isFinal(v) && (
          <a class="button danger" href={`/admin/elevations/${v.id}/revoke`}>
            Revoke…
          </a>
        )}
      </div>
      <h2>Summary</h2>
      <KeyValues
        rows={[
          [
            'Status',
            <>
              <StatusBadge status={v.status} />
              {v.endReason && (
                <>
                  {' '}
                  <span class="muted">{v.endReason}</span>
                </>
              )}
            </>,
          ],
          ['Risk', <SummaryRisk view={v} />],
          ['Bot', <a href={`/admin/bots/${v.botId}`}>{v.botId}</a>],
          ['Owner', v.owner],
          ['Team', bot?.team ?? '—'],
          ['Purpose of the bot', bot?.purpose ?? '—'],
          [
            'Role',
            <>
              {v.roleId}
              {role?.description && (
                <>
                  {' '}
                  <span class="muted">{role.description}</span>
                </>
              )}
            </>,
          ],
          ['Target', <TargetText target={role?.target} />],
          ['Principal', bot?.principal ? <code>{bot.principal}</code> : '—'],
          ['Environment', v.environment],
          ['Duration', duration(v.durationSeconds)],
          ['Justification', v.justification],
          ['Ticket', v.ticket ?? '—'],
          ['Request id', v.requestId ?? '—'],
          identity && [
            'Workload identity',
            <>
              {identity.issuer} <code>{identity.subject}</code>
            </>,
          ],
          ['Requested at', when(v.requestedAt)],
          // A scheduled elevation: granted at this instant, not at its approval.
          v.startsAt !== undefined && ['Starts at', when(v.startsAt)],
          [
            'Approval',
            v.approval.mode === 'auto'
              ? 'automatic'
              : `${v.approval.groups.map((g) => `${g.name}: ${g.approved} of ${g.quorum}`).join(', ')}; deadline ${when(v.approval.deadline)}`,
          ],
          // Reminders and escalation (`approval-nudges.ts`): when the second group joins, or joined.
          v.approval.mode === 'approvers' &&
            v.approval.escalation !== undefined && [
              'Escalation',
              `${v.approval.escalation.groups.map((g) => `${g.name}: ${g.approved} of ${g.quorum}`).join(', ')}; ${
                v.approval.escalation.escalatedAt !== undefined
                  ? `joined ${when(v.approval.escalation.escalatedAt)}`
                  : `joins ${when(v.approval.escalation.dueAt)} without quorum`
              }`,
            ],
          ['Granted at', when(v.grantedAt)],
          ['Expires at', when(v.expiresAt)],
          // Extended: the window grew past what was requested (and approved).
          v.extensions !== undefined && [
            'Extended',
            `${v.extensions} time${v.extensions === 1 ? '' : 's'}, ${duration(v.extendedSeconds ?? 0)} in all`,
          ],
          ['Ended at', when(v.endedAt)],
          ['Failed revocation rounds', String(v.revokeAttempts)],
          ['Last error', v.lastError ? <code>{v.lastError}</code> : '—'],
          ['Temporal workflow', <code>{v.workflowId}</code>],
        ]}
      />
      <h2>Risk score</h2>
      <RiskDetails risk={v.risk} />
      <h2>Approvals</h2>
      {v.approvals.length === 0 ? (
        <p class="muted">No approvals recorded.</p>
      ) : (
        v.approvals.map((a, i) => (
          <>
            <h3>Approval {i + 1}</h3>
            <Evidence approval={a} />
          </>
        ))
      )}
      <h2>Grant</h2>
      {grant ? <GrantReceipt receipt={grant} /> : <p class="muted">Not granted.</p>}
      <h2>Revocation</h2>
      {revoke ? (
        <RevokeReceipt receipt={revoke} />
      ) : (
        <p class="muted">No revocation receipt (not granted, or not ended yet).</p>
      )}
      <h2>Timeline</h2>
      <p class="muted">
        Every audit event of this elevation, in order. Each hash is SHA-256 over the event and the hash before
        it in the chain.
      </p>
      <Timeline events={events} />
    </Layout>,
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
  return renderDocument(
    <Layout title="Revoke elevation" user={args.user}>
      <h1>
        Revoke elevation <code>{v.id}</code>?
      </h1>
      <p>
        Bot <strong>{v.botId}</strong> holds or asked for role <strong>{v.roleId}</strong> (
        <StatusBadge status={v.status} />
        ). Revoking takes the role away in the target now
        {v.status === 'pending_approval' ? ' (the request ends at once)' : ''}; it is recorded with your name.
      </p>
      <ErrorAlert error={args.error} />
      <form method="post" action={`/admin/elevations/${v.id}/revoke`}>
        <CsrfField csrf={args.user.csrf} />
        <p>
          <label>
            Reason (required, recorded in the audit trail)
            <br />
            <input type="text" name="reason" size={70} maxlength={1000} required value={args.reason ?? ''} />
          </label>
        </p>
        <p>
          <button class="danger" type="submit">
            Revoke
          </button>{' '}
          <a href={`/admin/elevations/${v.id}`}>Cancel</a>
        </p>
      </form>
    </Layout>,
  );
}
