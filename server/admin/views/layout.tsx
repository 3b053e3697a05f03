/**
 * The admin console's page frame and the pieces every page uses. Components: every value is
 * interpolated as JSX and so escaped by the renderer. No scripts and no inline styles (the
 * console's Content-Security-Policy allows only its own stylesheet, `/admin/console.css`).
 * Forms that change anything carry the session's CSRF token in a hidden field.
 */
import type { RiskLevel } from '../../../core/model/risk.js';
import type { ComponentChildren } from 'preact';
import { riskOf, type Risk } from '../../../core/rules/risk.js';
import type { TargetRef } from '../../../core/model/targets.js';
import { renderDocument } from '../../html-document.js';

/** The signed-in person, as the header shows them. */
export interface PageUser {
  email: string;
  csrf: string;
}

/** The hidden field that carries the session's CSRF token. */
export function CsrfField({ csrf }: { csrf: string }) {
  return <input type="hidden" name="csrf" value={csrf} />;
}

/** The page frame: header with navigation and sign-out, then the body. */
export function Layout({
  title,
  user,
  children,
}: {
  title: string;
  user?: PageUser | undefined;
  children?: ComponentChildren;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>{`${title} · Elevate admin`}</title>
        <link rel="stylesheet" href="/admin/console.css" />
      </head>
      <body>
        {user ? (
          <header class="top">
            <a href="/admin">Elevate admin</a>
            <nav>
              <a href="/admin">Elevations</a>
              <a href="/admin/charts">Charts</a>
              <a href="/admin/reports/least-privilege">Least privilege</a>
              <a href="/admin/anomalies">Anomalies</a>
              <a href="/admin/break-glass">Break-glass</a>
              <a href="/admin/audit/verify">Verify audit</a>
            </nav>
            <span class="who">{user.email}</span>
            <form method="post" action="/admin/logout">
              <CsrfField csrf={user.csrf} />
              <button class="link" type="submit">
                Sign out
              </button>
            </form>
          </header>
        ) : (
          <header class="top">
            <a href="/admin">Elevate admin</a>
          </header>
        )}
        <main>{children}</main>
      </body>
    </html>
  );
}

/** A refusal or problem with the form, announced to screen readers. */
export function ErrorAlert({ error }: { error?: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

const NOTICES: Record<string, string> = {
  revoke_started: 'Revocation started: the role is being removed from the target.',
  revoked: 'The elevation is revoked.',
  locked: 'The bot is locked down.',
  unlocked: 'The bot is unlocked.',
};

/** A fixed notice by its key (never text from the request: an unknown key shows nothing). */
export function Notice({ notice }: { notice: unknown }) {
  const text = typeof notice === 'string' ? NOTICES[notice] : undefined;
  return text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null;
}

/** An elevation's status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status.replace('_', ' ')}</span>;
}

/** A risk level (a role's, or a score's, which may be `critical`) as a coloured badge. */
export function RiskBadge({ risk }: { risk: Risk | RiskLevel }) {
  return <span class={`badge r-${risk}`}>{risk}</span>;
}

/** The risk of an elevation or a role, as a badge. */
export function RiskOf({ of }: { of: Parameters<typeof riskOf>[0] }) {
  return <RiskBadge risk={riskOf(of)} />;
}

/** One row of a {@link KeyValues} table: a label and what to show. */
export type Row = [label: string, value: ComponentChildren];

/** A two-column table: each row's label, then its value. */
export function KeyValues({ rows }: { rows: (Row | false | undefined)[] }) {
  return (
    <table class="kv">
      {rows.map(
        (row) =>
          row && (
            <tr>
              <th scope="row">{row[0]}</th>
              <td>{row[1]}</td>
            </tr>
          ),
      )}
    </table>
  );
}

/** Where a role is granted, in words. */
export function TargetText({ target }: { target: TargetRef | undefined }) {
  if (!target) return <>—</>;
  switch (target.type) {
    case 'ldap':
      return (
        <>
          LDAP group <code>{target.groupDn}</code>
        </>
      );
    case 'postgres':
      return (
        <>
          PostgreSQL role <code>{target.role}</code> on server <code>{target.server}</code>
        </>
      );
    case 'aws-iam':
      return target.mode === 'attach' ? (
        <>AWS IAM policy attached for the window</>
      ) : (
        <>
          AWS credentials of role <code>{target.roleArn}</code>
        </>
      );
  }
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
  return renderDocument(
    <Layout title={title} user={opts.user}>
      <h1>{title}</h1>
      <p class={opts.tone ?? 'error'}>{message}</p>
      {opts.hint && <p>{opts.hint}</p>}
      {opts.link && (
        <p>
          <a href={opts.link.href}>{opts.link.text}</a>
        </p>
      )}
    </Layout>,
  );
}

/** What `/admin` shows when the console is off: how to turn it on. */
export function consoleOffPage(): string {
  return renderDocument(
    <Layout title="Admin console is off">
      <h1>The admin console is not enabled</h1>
      <p>To turn it on, say who the admins are, in the environment of the API server:</p>
      <ul>
        <li>
          <code>ADMIN_OIDC_GROUPS</code>: comma-separated groups; a person whose ID token lists one of them in
          the claim <code>ADMIN_OIDC_GROUPS_CLAIM</code> (default <code>groups</code>) is an admin; and/or
        </li>
        <li>
          <code>ADMIN_LDAP_GROUP_DN</code>: an LDAP group; its members, found by their <code>mail</code>, are
          admins.
        </li>
      </ul>
      <p>
        Admins sign in at the OpenID Connect provider configured with <code>OIDC_ISSUER</code>, with
        multi-factor authentication. Register <code>{'<ELEVATE_PUBLIC_URL>/admin/callback'}</code> as a
        redirect URI of Elevate's client there. See docs/operations.md, “The admin console”. The admin API (
        <code>/v1/admin/…</code> with an admin token) works either way.
      </p>
    </Layout>,
  );
}
