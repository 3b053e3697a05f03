/**
 * Signing in to the console and out of it:
 *
 *   GET  /admin/login     → sign-in at the OIDC provider (code flow, PKCE S256, state, nonce;
 *                           the transaction is bound to this browser by a cookie)
 *   GET  /admin/callback  → ID token checked (MFA, e-mail), admin rights checked (group claim
 *                           and/or LDAP group) → session cookie; a non-admin gets 403, audited
 *   POST /admin/logout
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Actor } from '../../core/model/elevation.js';
import type { SingleUseRecords } from '../../core/ports/single-use.js';
import { ApiError } from '../../domain/errors.js';
import type { AdminIdentity } from '../../integrations/oidc/admin-login.js';
import { StepUpError } from '../../integrations/oidc/step-up.js';
import { cookieOf, pendingLoginSchema, redirectToLogin, tokenDigest } from '../browser-login.js';
import type { OpenHandler, OpenRefusal } from './console-handler.js';
import { failed, html, notAdminPage } from './respond.js';
import { NO_RECORDS, sameToken, type ConsoleSessions } from './session.js';
import { messagePage } from './views/layout.js';

/** How long a sign-in at the provider may take. */
const LOGIN_TTL_MS = 10 * 60_000;

/** Sign-in refusals about who the person is (their address or directory id): 403. */
const IDENTITY_REFUSALS = new Set([
  'missing_email',
  'unverified_email',
  'non_ascii_address',
  'malformed_address',
  'missing_identity_claim',
]);

/** A sign-in in progress at the provider, and where to go after it. */
const PendingLoginSchema = pendingLoginSchema({ next: z.string() });
type PendingLogin = z.infer<typeof PendingLoginSchema>;

/** Where to go after sign-in: a console path on this server, never another site. */
function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2000) return '/admin';
  if (!/^\/admin(?:[/?][^\s\\]*)?$/.test(next) || next.startsWith('//')) return '/admin';
  if (/^\/admin\/(login|callback|logout)\b/.test(next)) return '/admin';
  return next;
}

/**
 * The sign-in, its callback and the sign-out, by operationId. The callback reads the request
 * itself (its URL goes to the provider as it came), so a query its schema refuses is read the same
 * way; a sign-out whose form has no valid token is refused as one.
 */
export function signInHandlers(sessions: ConsoleSessions) {
  const { deps, cookies, cookie, refuse } = sessions;
  const logins: SingleUseRecords<PendingLogin> = sessions.enabled
    ? deps.singleUse.namespace('admin-login', PendingLoginSchema)
    : NO_RECORDS;
  const anonymous: Actor = { kind: 'anonymous', id: 'unknown' };

  const startConsoleSignIn: OpenHandler<'startConsoleSignIn'> = async ({ query: { next } }, _req, res) => {
    const keep: Omit<PendingLogin, 'transaction' | 'browser'> = { next: safeNext(next) };
    await redirectToLogin(
      res,
      {
        client: deps.login!,
        logger: deps.logger,
        records: logins,
        expiresAt: () => new Date(sessions.now().getTime() + LOGIN_TTL_MS),
        cookie: (browser) => cookie(cookies.login, browser, LOGIN_TTL_MS / 1000),
      },
      keep,
    );
  };

  const finish: OpenRefusal = async (req, res) => {
    const wait = deps.authFailureLimit?.retryAfter(req.ip) ?? 0;
    if (wait > 0) {
      await refuse(req, anonymous, 'rate_limited', { stage: 'sign_in' });
      res.setHeader('retry-after', String(wait));
      return html(
        res,
        429,
        messagePage(
          'Too many attempts',
          `Too many failed sign-ins from your network; try again in ${wait} seconds.`,
        ),
      );
    }
    const state = typeof req.query.state === 'string' && req.query.state.length <= 200 ? req.query.state : '';
    const key = tokenDigest(state);
    // Peek, check the browser, then take: someone who learnt the `state` (a forwarded URL, the
    // provider's logs) must not be able to use up the admin's sign-in from another browser.
    const pending = state ? await logins.peek(key) : undefined;
    const again = { link: { href: '/admin/login', text: 'Sign in again' } };
    if (!pending) {
      await refuse(req, anonymous, 'state_mismatch', { stage: 'sign_in' });
      return html(
        res,
        400,
        messagePage('Sign-in failed', 'This sign-in is unknown, was already used, or has expired.', again),
      );
    }
    const taken = cookieOf(req, cookies.login) === pending.browser ? await logins.take(key) : undefined;
    if (!taken) {
      // Another browser, or the same sign-in completing twice at once (only one may take it).
      const reason = cookieOf(req, cookies.login) === pending.browser ? 'state_mismatch' : 'browser_mismatch';
      await refuse(req, anonymous, reason, { stage: 'sign_in' });
      return html(
        res,
        400,
        messagePage(
          'Sign-in failed',
          reason === 'browser_mismatch'
            ? 'This sign-in was started in another browser (or cookies are blocked).'
            : 'This sign-in is unknown, was already used, or has expired.',
          again,
        ),
      );
    }
    let identity: AdminIdentity;
    try {
      const client = await deps.login!();
      identity = await client.finish(new URL(req.originalUrl, deps.publicUrl), pending.transaction);
    } catch (err) {
      if (!(err instanceof StepUpError)) throw err;
      await refuse(req, anonymous, err.code, { stage: 'sign_in' });
      const status =
        err.code === 'insufficient_user_authentication' ? 401 : IDENTITY_REFUSALS.has(err.code) ? 403 : 400;
      return html(res, status, messagePage('Sign-in failed', err.message, again));
    }
    const person: Actor = { kind: 'human', id: identity.email };
    const rights = await sessions.rightsOf(identity);
    const who = { issuer: identity.issuer, subject: identity.subject, email: identity.email };
    if (rights.length === 0) {
      await refuse(req, person, 'not_admin', {
        stage: 'sign_in',
        ...who,
        groups: identity.groups.slice(0, 50),
      });
      res.setHeader('set-cookie', cookie(cookies.login, '', 0));
      return html(res, 403, notAdminPage(identity.email));
    }
    let sid: string;
    try {
      // Recorded before the session exists: nobody is signed in without a trace.
      await sessions.audit(
        'admin.signed_in',
        null,
        { kind: 'admin', id: identity.email },
        {
          via: 'console',
          ...who,
          amr: identity.amr,
          acr: identity.acr ?? null,
          authTime: identity.authTime ?? null,
          mfaMethod: identity.mfaMethod,
          idTokenHash: identity.idTokenHash,
          rights,
          ip: req.ip ?? null,
        },
      );
      sid = await sessions.open(req, identity, rights);
    } catch (err) {
      deps.logger.error({ err: (err as Error).message }, 'could not start a console session');
      return failed(
        req,
        res,
        new ApiError('service_unavailable', 'Could not sign you in right now; try again.'),
      );
    }
    res.append('set-cookie', cookie(cookies.session, sid, Math.floor(sessions.maxMs / 1000)));
    res.append('set-cookie', cookie(cookies.login, '', 0));
    res.redirect(303, pending.next);
  };

  /** `csrf`: the form's token, if it has one that looks like one. */
  const signOut = async (req: Request, res: Response, csrf: string | undefined) => {
    const current = await sessions.peek(req);
    if (!current) {
      res.setHeader('set-cookie', cookie(cookies.session, '', 0));
      return html(
        res,
        401,
        messagePage('Signed out', 'You are not signed in.', {
          link: { href: '/admin/login', text: 'Sign in' },
          tone: 'notice',
        }),
      );
    }
    if (!sameToken(csrf, current.session.csrf)) {
      await refuse(req, { kind: 'admin', id: current.session.email }, 'csrf_token');
      return html(
        res,
        403,
        messagePage('Refused', 'This form has no valid security token; reload the page and try again.'),
      );
    }
    await sessions.end(current.key);
    res.setHeader('set-cookie', cookie(cookies.session, '', 0));
    html(
      res,
      200,
      messagePage('Signed out', 'You are signed out of the admin console.', {
        link: { href: '/admin/login', text: 'Sign in again' },
        tone: 'notice',
      }),
    );
  };

  return {
    handlers: {
      startConsoleSignIn,
      finishConsoleSignIn: ((_input, req, res) =>
        finish(req, res)) satisfies OpenHandler<'finishConsoleSignIn'>,
      consoleSignOut: (({ body: { csrf } }, req, res) =>
        signOut(req, res, csrf)) satisfies OpenHandler<'consoleSignOut'>,
    },
    refused: {
      finishConsoleSignIn: finish,
      consoleSignOut: (req: Request, res: Response) => signOut(req, res, undefined),
    },
  };
}
