/**
 * The admin console: a few server-rendered pages under `/admin` where admins review elevation
 * history and act on it.
 *
 *   GET  /admin/login     → sign-in at the OIDC provider (code flow, PKCE S256, state, nonce;
 *                           the transaction is bound to this browser by a cookie)
 *   GET  /admin/callback  → ID token checked (MFA, e-mail), admin rights checked (group claim
 *                           and/or LDAP group) → session cookie; a non-admin gets 403, audited
 *   POST /admin/logout
 *   GET  /admin, /admin/elevations/{id}, /admin/bots/{id}, /admin/charts: the pages
 *   GET+POST …/revoke, /admin/bots/{id}/lock|unlock, /admin/audit/verify: confirm, then act
 *
 * Sessions live in the store's single-use table (so any API process serves any request), keyed
 * by the SHA-256 of a random id that only the browser holds, in an HttpOnly, SameSite=Lax cookie
 * (`__Host-elevate_admin` over HTTPS, with Secure). A session ends after
 * {@link AdminConsoleSettings.idleMinutes} unused or {@link AdminConsoleSettings.maxHours} after
 * sign-in, whichever comes first, and its admin rights are checked again every
 * {@link AdminConsoleSettings.recheckMinutes}: in LDAP in place; for rights that came from the
 * group claim, by sending the person through the provider again (usually without a prompt).
 *
 * Every POST carries the session's CSRF token and must come from a page of this origin
 * (`Origin` and `Sec-Fetch-Site` are checked when the browser sends them); anything else is 403.
 * Every action is audited with the person as actor (`{kind: 'admin', id: <e-mail>}`) and
 * `via: 'console'`.
 *
 * Without admin groups configured the console is off: every page says how to turn it on.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ID_PATTERN, type Policy } from '../config/policy.js';
import type { AdminConsoleSettings } from '../config/settings.js';
import { AmbiguousIdentityError, type DirectoryPerson } from '../core/ports/approver-directory.js';
import type { ApproverDirectory } from '../core/ports/approver-directory.js';
import type { ElevationService } from '../domain/elevation-service.js';
import { ApiError } from '../domain/errors.js';
import { httpStatusOf } from './http-status.js';
import { RISKS } from '../core/rules/risk.js';
import type { SingleUseNamespaces, SingleUseRecords } from '../core/ports/single-use.js';
import type { ElevationIndex } from '../store/elevation-index.js';
import type { TypedAuditAppender } from '../core/model/audit-record.js';
import type { AdminIdentity, AdminLoginClient } from '../integrations/oidc/admin-login.js';
import { StepUpError } from '../integrations/oidc/step-up.js';
import { ELEVATION_STATUSES, type Actor, type ElevationView } from '../core/model/elevation.js';
import type { EventDataOf } from '../core/model/event-data.js';
import { activeSlots, chartWindow, statsFromAggregates } from './admin-charts.js';
import { verifyConfirmPage, verifyResultPage } from './admin/views/audit-verify.js';
import { botPage, lockConfirmPage } from './admin/views/bot.js';
import { chartsPage } from './admin/views/charts.js';
import { CONSOLE_CSS } from './admin/views/console-css.js';
import { elevationPage, revokeConfirmPage } from './admin/views/elevation.js';
import { consoleOffPage, messagePage, type PageUser } from './admin/views/layout.js';
import { listPage, type ListFilters } from './admin/views/list.js';
import { cookieOf, newToken, pendingLoginSchema, redirectToLogin, tokenDigest } from './browser-login.js';
import { elevationQuery } from './elevation-filters.js';
import { elevationIdSchema } from './schemas.js';
import { countFailure, type AuthFailureLimit } from './auth-failure-limit.js';
import { crossSiteRefusal } from './cross-site.js';
import { unsafeTextProblem } from './safe-text.js';

/** How long a sign-in at the provider may take. */
const LOGIN_TTL_MS = 10 * 60_000;
/** A session's last use is written back at most this often (the idle timeout's precision). */
const TOUCH_EVERY_MS = 60_000;
/** Rows per page of the lists, unless configured. */
const PAGE_SIZE = 50;

/** What the console needs. Without `settings` (or without `login`) it is off. */
export interface AdminConsoleDeps {
  service: ElevationService;
  policy: Policy;
  /** Where the console's own audit events go. */
  auditLog: TypedAuditAppender;
  /** The charts' grouped counts (the elevation index). */
  elevations: Pick<ElevationIndex, 'chartAggregates'>;
  /** Sessions and sign-in transactions (single-use namespaces `admin-session`, `admin-login`). */
  singleUse: SingleUseNamespaces;
  settings?: AdminConsoleSettings;
  /** The relying party, discovered on first use (the provider may start after Elevate). */
  login?: () => Promise<AdminLoginClient>;
  /** Looks up membership of `settings.ldapGroupDn`; needed when it is set. */
  directory?: ApproverDirectory;
  /** Where browsers reach this server: the cookie's security and the allowed `Origin` follow from it. */
  publicUrl: string;
  logger: Logger;
  /** For tests: the console's clock (sessions' idle and absolute timeouts, re-checks). */
  clock?: () => Date;
  /** Rows per page of the lists (default 50). */
  pageSize?: number;
  /** Failed sign-ins per source network, shared with the API: over it, the callback answers 429. */
  authFailureLimit?: AuthFailureLimit;
}

/** A person signed in to the console. */
export interface ConsoleUser {
  email: string;
}

/** The console's routes, and its session check for JSON endpoints that accept a console session. */
export interface AdminConsole {
  enabled: boolean;
  router: express.Router;
  /**
   * The person whose valid, current session the request carries (idle and absolute timeouts
   * and the rights re-check applied), else undefined. For GET endpoints only: it does not check
   * CSRF.
   */
  authenticate(req: Request): Promise<ConsoleUser | undefined>;
}

/** Sign-in refusals about who the person is (their address or directory id): 403. */
const IDENTITY_REFUSALS = new Set([
  'missing_email',
  'unverified_email',
  'non_ascii_address',
  'malformed_address',
  'missing_identity_claim',
]);

/** Why a person is an admin: the group claim, the LDAP group, or both. */
const RightSchema = z.enum(['oidc_group', 'ldap_group']);
type Right = z.infer<typeof RightSchema>;

/** A signed-in admin, kept under the hash of the session cookie. */
const SessionSchema = z.object({
  email: z.string(),
  /** The directory join value the provider asserted at sign-in, when one is configured. */
  joinValue: z.string().optional(),
  issuer: z.string(),
  subject: z.string(),
  rights: z.array(RightSchema),
  csrf: z.string(),
  /** Epoch milliseconds. */
  createdAt: z.number(),
  lastSeenAt: z.number(),
  checkedAt: z.number(),
});
type Session = z.infer<typeof SessionSchema>;

/** A sign-in in progress at the provider, and where to go after it. */
const PendingLoginSchema = pendingLoginSchema({ next: z.string() });
type PendingLogin = z.infer<typeof PendingLoginSchema>;

/** The records of a console that is off: it keeps nothing. */
const NO_RECORDS: SingleUseRecords<never> = {
  put: () => Promise.resolve(false),
  peek: () => Promise.resolve(undefined),
  take: () => Promise.resolve(undefined),
  replace: () => Promise.resolve(false),
};

type SessionState =
  | { kind: 'none' }
  | { kind: 'ok'; key: string; session: Session }
  | { kind: 'relogin'; key: string; session: Session }
  | { kind: 'revoked'; session: Session };

const TOKEN = /^[A-Za-z0-9_-]{40,64}$/;

function sameToken(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The route pattern that answered (never the raw path), or `unmatched`. */
function routePattern(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? req.baseUrl + path : 'unmatched';
}

/** Where to go after sign-in: a console path on this server, never another site. */
function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2000) return '/admin';
  if (!/^\/admin(?:[/?][^\s\\]*)?$/.test(next) || next.startsWith('//')) return '/admin';
  if (/^\/admin\/(login|callback|logout)\b/.test(next)) return '/admin';
  return next;
}

// ---- the list's query ------------------------------------------------------------------------

const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalId = (what: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(ID_PATTERN, { message: `is not a ${what} id` })
      .optional(),
  );
/** A day (`2025-06-01`) or a minute (`2025-06-01T12:30`) in UTC, as date and datetime inputs send them. */
const dayOrMinute = z.preprocess(
  blankToUndefined,
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/, { message: 'must be a date, YYYY-MM-DD' })
    .refine((s) => !Number.isNaN(Date.parse(`${s.length === 10 ? `${s}T00:00` : s}Z`)), {
      message: 'is not a valid date',
    })
    .optional(),
);

/** The list's filters as the console's form sends them. */
const consoleListSchema = z
  .object({
    bot: optionalId('bot'),
    role: optionalId('role'),
    environment: optionalId('environment'),
    owner: z.preprocess(blankToUndefined, z.string().trim().toLowerCase().max(320).optional()),
    team: z.preprocess(blankToUndefined, z.string().trim().max(100).optional()),
    targetType: z.preprocess(blankToUndefined, z.enum(['ldap', 'postgres', 'aws-iam']).optional()),
    risk: z.preprocess(blankToUndefined, z.enum(RISKS).optional()),
    status: z.preprocess(
      (v) => (v === undefined || v === '' ? undefined : [v].flat()),
      z
        .array(z.enum(ELEVATION_STATUSES, { message: 'is not a status' }))
        .max(8)
        .optional(),
    ),
    from: dayOrMinute,
    to: dayOrMinute,
    cursor: z.preprocess(blankToUndefined, z.string().max(512).optional()),
    notice: z.string().max(40).optional(),
  })
  .strict();

/** A UTC instant from a form's day or minute; `to` of a bare day includes that whole day. */
function instantOf(value: string, end: boolean): string {
  if (value.length === 10) {
    const t = Date.parse(`${value}T00:00:00Z`) + (end ? 86_400_000 : 0);
    return new Date(t).toISOString();
  }
  return new Date(`${value}Z`).toISOString();
}

/** The request's query string without `notice` (kept by the pager). */
function pagerQuery(req: Request): URLSearchParams {
  const params = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
  params.delete('notice');
  for (const [k, v] of [...params]) if (v === '') params.delete(k);
  return params;
}

/** The first problem of a failed parse, as a sentence naming the field. */
function problemOf(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'The filters are not valid.';
  if (issue.code === 'unrecognized_keys') return `Unknown filter: ${issue.keys.join(', ')}.`;
  return `${String(issue.path[0] ?? 'filter')}: ${issue.message}.`;
}

const reasonSchema = z
  .string()
  .trim()
  .min(1, { message: 'Give a reason: it is recorded in the audit trail.' })
  .max(1000, { message: 'The reason must be at most 1000 characters.' })
  .check((ctx) => {
    // The API's rule for text people read later (`safe-text.ts`).
    const problem = unsafeTextProblem(ctx.value);
    if (problem) ctx.issues.push({ code: 'custom', message: `The reason ${problem}.`, input: ctx.value });
  });

/** The posted form's `reason`, or why it cannot be taken (shown with the form again). */
function formReason(req: Request): { reason: string } | { problem: string } {
  const raw = (req.body as Record<string, unknown>).reason;
  const parsed = reasonSchema.safeParse(typeof raw === 'string' ? raw : '');
  return parsed.success
    ? { reason: parsed.data }
    : { problem: parsed.error.issues[0]?.message ?? 'Give a reason.' };
}

const anchorSchema = z
  .string()
  .trim()
  .regex(/^[1-9][0-9]{0,15}:[0-9a-f]{64}$/, {
    message: 'An anchor is <position>:<hash>, as a verification shows its head.',
  });

/** The console's routes. Off without `settings` or `login`: every page then says how to turn it on. */
export function adminConsole(deps: AdminConsoleDeps): AdminConsole {
  return build(deps);
}

/**
 * The console when nothing is configured for it (an app built without one): the same routes,
 * each saying how to turn the console on.
 */
export function adminConsoleOff(): AdminConsole {
  return build(undefined);
}

function build(given: AdminConsoleDeps | undefined): AdminConsole {
  const router = express.Router();
  const settings = given?.settings;
  const enabled = Boolean(settings && given?.login);
  // Every handler checks `enabled` first: past that check, the dependencies are there.
  const deps = given as AdminConsoleDeps;
  const sessions: SingleUseRecords<Session> = given
    ? given.singleUse.namespace('admin-session', SessionSchema)
    : NO_RECORDS;
  const logins: SingleUseRecords<PendingLogin> = given
    ? given.singleUse.namespace('admin-login', PendingLoginSchema)
    : NO_RECORDS;
  const now = () => (given?.clock ?? (() => new Date()))();
  const publicUrl = given?.publicUrl ?? 'http://127.0.0.1';
  const secure = publicUrl.startsWith('https://');
  const origin = new URL(publicUrl).origin;
  const SESSION_COOKIE = secure ? '__Host-elevate_admin' : 'elevate_admin';
  const LOGIN_COOKIE = secure ? '__Host-elevate_admin_login' : 'elevate_admin_login';
  const idleMs = (settings?.idleMinutes ?? 30) * 60_000;
  const maxMs = (settings?.maxHours ?? 8) * 3_600_000;
  const recheckMs = (settings?.recheckMinutes ?? 5) * 60_000;
  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });
  const pageSize = given?.pageSize ?? PAGE_SIZE;

  const cookie = (name: string, value: string, maxAgeSeconds: number) =>
    `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;

  router.use('/admin', (_req, res, next) => {
    res.setHeader(
      'content-security-policy',
      "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    // Not no-referrer: browsers then send `Origin: null` with forms, which the CSRF check refuses.
    res.setHeader('referrer-policy', 'same-origin');
    res.setHeader('x-frame-options', 'DENY');
    next();
  });

  const html = (res: Response, status: number, page: string) => {
    res.status(status).type('html').send(page);
  };
  const off = (res: Response) => html(res, 404, consoleOffPage());

  const audit = async <T extends 'admin.signed_in' | 'admin.action'>(
    type: T,
    elevationId: string | null,
    actor: Actor,
    data: EventDataOf<T>,
  ) => {
    await deps.auditLog.append({ id: randomUUID(), elevationId, type, at: now().toISOString(), actor, data });
  };
  const refuse = (req: Request, actor: Actor, reason: string, extra: Record<string, unknown> = {}) => {
    // A form from another origin is a forgery attempt through someone's browser, not a failed
    // sign-in of their network.
    if (actor.kind === 'anonymous' && reason !== 'cross_origin') countFailure(deps.authFailureLimit, req);
    return deps.service.recordRefusal('auth.refused', null, actor, {
      reason,
      via: 'console',
      method: req.method === 'POST' ? 'POST' : 'GET',
      // The route pattern, never the raw path (the caller's to choose and size).
      path: routePattern(req),
      ip: req.ip ?? null,
      ...extra,
    });
  };

  // ---- admin rights ----------------------------------------------------------------------------

  /** Whether the person's one directory entry is in the admin group (ambiguous: not an admin). */
  const ldapMember = async (person: DirectoryPerson): Promise<boolean> => {
    if (!settings?.ldapGroupDn) return false;
    if (!deps.directory) throw new ApiError('service_unavailable', 'no LDAP directory is configured');
    const entry = await deps.directory.memberEntry(settings.ldapGroupDn, person).catch((err: unknown) => {
      if (err instanceof AmbiguousIdentityError) {
        deps.logger.warn({ reason: err.message }, 'the admin group lookup is ambiguous: not an admin');
        return undefined;
      }
      deps.logger.error({ err: (err as Error).message }, 'could not look up the admin group in LDAP');
      throw new ApiError('service_unavailable', 'The directory cannot be reached right now; try again.');
    });
    return entry !== undefined;
  };
  const personOf = (p: { email: string; joinValue?: string | undefined }): DirectoryPerson => ({
    email: p.email,
    ...(p.joinValue === undefined ? {} : { joinValue: p.joinValue }),
  });

  const rightsOf = async (identity: AdminIdentity): Promise<Right[]> => {
    const rights: Right[] = [];
    if (settings?.groups.length && identity.groups.some((g) => settings.groups.includes(g))) {
      rights.push('oidc_group');
    }
    if (await ldapMember(personOf(identity))) rights.push('ldap_group');
    return rights;
  };

  // ---- sessions --------------------------------------------------------------------------------

  const expiryOf = (s: Session) => new Date(Math.min(s.lastSeenAt + idleMs, s.createdAt + maxMs));

  /** The request's session, its timeouts applied, its rights re-checked when due. */
  const sessionOf = async (req: Request): Promise<SessionState> => {
    const sid = cookieOf(req, SESSION_COOKIE);
    if (!sid || !TOKEN.test(sid)) return { kind: 'none' };
    const key = tokenDigest(sid);
    const session = await sessions.peek(key);
    if (!session) return { kind: 'none' };
    const t = now().getTime();
    if (t - session.lastSeenAt > idleMs || t - session.createdAt > maxMs) {
      await sessions.take(key);
      return { kind: 'none' };
    }
    let changed = false;
    if (t - session.checkedAt >= recheckMs) {
      if (await ldapMember(personOf(session))) {
        session.rights = ['ldap_group'];
      } else if (session.rights.includes('oidc_group') && settings?.groups.length) {
        // Only the provider can say whether the claim still holds: sign in again.
        return { kind: 'relogin', key, session };
      } else {
        await sessions.take(key);
        await refuse(req, { kind: 'admin', id: session.email }, 'not_admin', { stage: 'recheck' });
        return { kind: 'revoked', session };
      }
      session.checkedAt = t;
      changed = true;
    }
    if (changed || t - session.lastSeenAt >= TOUCH_EVERY_MS) {
      session.lastSeenAt = t;
      if (!(await sessions.replace(key, session, expiryOf(session)))) return { kind: 'none' };
    }
    return { kind: 'ok', key, session };
  };

  const userOf = (s: Session): PageUser => ({ email: s.email, csrf: s.csrf });

  /** Render a failure inside the console: API errors with their status, anything else as 500. */
  const failed = (req: Request, res: Response, err: unknown, user?: PageUser) => {
    if (err instanceof ApiError) {
      const status = httpStatusOf(err);
      if (status >= 500) req.log.error({ err }, 'console request failed');
      html(res, status, messagePage(status === 404 ? 'Not found' : 'Not done', err.message, { user }));
      return;
    }
    req.log.error({ err }, 'console request failed');
    html(
      res,
      500,
      messagePage('Something went wrong', 'Something went wrong on our side; try again.', { user }),
    );
  };

  const loginUrl = (next: string) => `/admin/login?next=${encodeURIComponent(next)}`;

  type Handler = (req: Request, res: Response, session: Session) => Promise<void>;

  /** A page: signed out (or due for a fresh sign-in) → 302 to the sign-in. */
  const page =
    (handler: Handler) =>
    async (req: Request, res: Response): Promise<void> => {
      if (!enabled) return off(res);
      let state: SessionState;
      try {
        state = await sessionOf(req);
      } catch (err) {
        return failed(req, res, err);
      }
      if (state.kind === 'none' || state.kind === 'relogin') {
        res.redirect(302, loginUrl(req.originalUrl));
        return;
      }
      if (state.kind === 'revoked') {
        res.setHeader('set-cookie', cookie(SESSION_COOKIE, '', 0));
        return html(res, 403, notAdminPage(state.session.email));
      }
      try {
        await handler(req, res, state.session);
      } catch (err) {
        failed(req, res, err, userOf(state.session));
      }
    };

  /** The CSRF defences before a form is read: same origin, as far as the browser says. */
  const sameOrigin = async (req: Request, res: Response, next: NextFunction) => {
    if (!enabled) return off(res);
    const from = req.get('origin');
    const site = req.get('sec-fetch-site');
    if ((from !== undefined && from !== origin) || (site !== undefined && site !== 'same-origin')) {
      await refuse(req, { kind: 'anonymous', id: 'unknown' }, 'cross_origin', {
        origin: from?.slice(0, 200) ?? null,
        secFetchSite: site?.slice(0, 40) ?? null,
      });
      return html(
        res,
        403,
        messagePage('Refused', 'This form was not sent from a page of the admin console.', {
          link: { href: '/admin', text: 'Go to the console' },
        }),
      );
    }
    form(req, res, (err?: unknown) => {
      if (err) {
        html(res, 400, messagePage('Not done', 'The form was not valid; go back and try again.'));
        return;
      }
      next();
    });
  };

  /** A form post: a session (401 without), its CSRF token (403 without), then the handler. */
  const action = (handler: Handler) => [
    sameOrigin,
    async (req: Request, res: Response): Promise<void> => {
      let state: SessionState;
      try {
        state = await sessionOf(req);
      } catch (err) {
        return failed(req, res, err);
      }
      if (state.kind === 'none' || state.kind === 'relogin') {
        return html(
          res,
          401,
          messagePage(
            'Sign in again',
            state.kind === 'none'
              ? 'Your console session has ended, so nothing was done.'
              : 'Your admin rights must be checked again, so nothing was done.',
            { link: { href: loginUrl('/admin'), text: 'Sign in' } },
          ),
        );
      }
      if (state.kind === 'revoked') {
        res.setHeader('set-cookie', cookie(SESSION_COOKIE, '', 0));
        return html(res, 403, notAdminPage(state.session.email));
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (!sameToken(body.csrf, state.session.csrf)) {
        await refuse(req, { kind: 'admin', id: state.session.email }, 'csrf_token');
        return html(
          res,
          403,
          messagePage('Refused', 'This form has no valid security token; reload the page and try again.', {
            user: userOf(state.session),
          }),
        );
      }
      try {
        await handler(req, res, state.session);
      } catch (err) {
        failed(req, res, err, userOf(state.session));
      }
    },
  ];

  const notAdminPage = (email: string) =>
    messagePage('Not an admin', `You are signed in as ${email}, who is not an admin of Elevate.`, {
      hint: 'Ask for the admin group if you need the console. This attempt has been recorded.',
    });

  // ---- sign-in ---------------------------------------------------------------------------------

  router.get('/admin/console.css', (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.type('text/css').send(CONSOLE_CSS);
  });

  router.get('/admin/login', async (req, res) => {
    if (!enabled) return off(res);
    try {
      const keep: Omit<PendingLogin, 'transaction' | 'browser'> = { next: safeNext(req.query.next) };
      await redirectToLogin(
        res,
        {
          client: deps.login!,
          logger: deps.logger,
          records: logins,
          expiresAt: () => new Date(now().getTime() + LOGIN_TTL_MS),
          cookie: (browser) => cookie(LOGIN_COOKIE, browser, LOGIN_TTL_MS / 1000),
        },
        keep,
      );
    } catch (err) {
      failed(req, res, err);
    }
  });

  router.get('/admin/callback', async (req, res) => {
    if (!enabled) return off(res);
    const wait = deps.authFailureLimit?.retryAfter(req.ip) ?? 0;
    if (wait > 0) {
      await refuse(req, { kind: 'anonymous', id: 'unknown' }, 'rate_limited', { stage: 'sign_in' });
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
      await refuse(req, { kind: 'anonymous', id: 'unknown' }, 'state_mismatch', { stage: 'sign_in' });
      return html(
        res,
        400,
        messagePage('Sign-in failed', 'This sign-in is unknown, was already used, or has expired.', again),
      );
    }
    const taken = cookieOf(req, LOGIN_COOKIE) === pending.browser ? await logins.take(key) : undefined;
    if (!taken) {
      // Another browser, or the same sign-in completing twice at once (only one may take it).
      const reason = cookieOf(req, LOGIN_COOKIE) === pending.browser ? 'state_mismatch' : 'browser_mismatch';
      await refuse(req, { kind: 'anonymous', id: 'unknown' }, reason, { stage: 'sign_in' });
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
      if (!(err instanceof StepUpError)) return failed(req, res, err);
      await refuse(req, { kind: 'anonymous', id: 'unknown' }, err.code, { stage: 'sign_in' });
      const status =
        err.code === 'insufficient_user_authentication' ? 401 : IDENTITY_REFUSALS.has(err.code) ? 403 : 400;
      return html(res, status, messagePage('Sign-in failed', err.message, again));
    }
    const person: Actor = { kind: 'human', id: identity.email };
    let rights: Right[];
    try {
      rights = await rightsOf(identity);
    } catch (err) {
      return failed(req, res, err);
    }
    const who = { issuer: identity.issuer, subject: identity.subject, email: identity.email };
    if (rights.length === 0) {
      await refuse(req, person, 'not_admin', {
        stage: 'sign_in',
        ...who,
        groups: identity.groups.slice(0, 50),
      });
      res.setHeader('set-cookie', cookie(LOGIN_COOKIE, '', 0));
      return html(res, 403, notAdminPage(identity.email));
    }
    const t = now().getTime();
    const session: Session = {
      email: identity.email,
      ...(identity.joinValue === undefined ? {} : { joinValue: identity.joinValue }),
      issuer: identity.issuer,
      subject: identity.subject,
      rights,
      csrf: newToken(),
      createdAt: t,
      lastSeenAt: t,
      checkedAt: t,
    };
    const sid = newToken();
    try {
      // Recorded before the session exists: nobody is signed in without a trace.
      await audit(
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
      const old = cookieOf(req, SESSION_COOKIE);
      if (old && TOKEN.test(old)) await sessions.take(tokenDigest(old));
      await sessions.put(tokenDigest(sid), session, expiryOf(session));
    } catch (err) {
      deps.logger.error({ err: (err as Error).message }, 'could not start a console session');
      return failed(
        req,
        res,
        new ApiError('service_unavailable', 'Could not sign you in right now; try again.'),
      );
    }
    res.append('set-cookie', cookie(SESSION_COOKIE, sid, Math.floor(maxMs / 1000)));
    res.append('set-cookie', cookie(LOGIN_COOKIE, '', 0));
    res.redirect(303, pending.next);
  });

  router.post('/admin/logout', sameOrigin, async (req, res) => {
    const sid = cookieOf(req, SESSION_COOKIE);
    const key = sid && TOKEN.test(sid) ? tokenDigest(sid) : undefined;
    const session = key ? await sessions.peek(key) : undefined;
    if (!session || !key) {
      res.setHeader('set-cookie', cookie(SESSION_COOKIE, '', 0));
      return html(
        res,
        401,
        messagePage('Signed out', 'You are not signed in.', {
          link: { href: '/admin/login', text: 'Sign in' },
          tone: 'notice',
        }),
      );
    }
    if (!sameToken((req.body as Record<string, unknown> | undefined)?.csrf, session.csrf)) {
      await refuse(req, { kind: 'admin', id: session.email }, 'csrf_token');
      return html(
        res,
        403,
        messagePage('Refused', 'This form has no valid security token; reload the page and try again.'),
      );
    }
    await sessions.take(key);
    res.setHeader('set-cookie', cookie(SESSION_COOKIE, '', 0));
    html(
      res,
      200,
      messagePage('Signed out', 'You are signed out of the admin console.', {
        link: { href: '/admin/login', text: 'Sign in again' },
        tone: 'notice',
      }),
    );
  });

  // ---- pages -----------------------------------------------------------------------------------

  router.get(
    '/admin',
    page(async (req, res, s) => {
      const parsed = consoleListSchema.safeParse(req.query);
      const query = pagerQuery(req);
      /** The form again, with no rows and what is wrong with the filters. */
      const invalid = (filters: ListFilters, error: string) =>
        html(
          res,
          400,
          listPage({ user: userOf(s), policy: deps.policy, filters, query, items: [], onFirst: true, error }),
        );
      if (!parsed.success) return invalid({}, problemOf(parsed.error));
      const q = parsed.data;
      // The form shows the filters as given; the cursor and notice belong to the pager.
      const { cursor: _cursor, notice: _notice, ...filters } = q;
      try {
        const result = await deps.service.list(elevationQuery(q, pageSize, instantOf));
        html(
          res,
          200,
          listPage({
            user: userOf(s),
            policy: deps.policy,
            filters,
            query,
            items: result.items,
            ...(result.nextCursor ? { nextCursor: result.nextCursor } : {}),
            onFirst: !q.cursor,
          }),
        );
      } catch (err) {
        if (!(err instanceof ApiError) || httpStatusOf(err) !== 400) throw err;
        invalid(filters, err.message);
      }
    }),
  );

  const elevationId = (req: Request): string => {
    const parsed = elevationIdSchema.safeParse(req.params.id);
    if (!parsed.success) throw new ApiError('not_found', 'There is no such elevation.');
    return parsed.data;
  };
  const botId = (req: Request): string => {
    const id = req.params.id;
    if (typeof id !== 'string' || !ID_PATTERN.test(id))
      throw new ApiError('not_found', 'There is no such bot.');
    return id;
  };
  const admin = (s: Session): Actor => ({ kind: 'admin', id: s.email });

  router.get(
    '/admin/elevations/:id',
    page(async (req, res, s) => {
      const { elevation, events } = await deps.service.timeline(elevationId(req));
      html(res, 200, elevationPage({ user: userOf(s), view: elevation, events, notice: req.query.notice }));
    }),
  );

  router.get(
    '/admin/elevations/:id/revoke',
    page(async (req, res, s) => {
      const view = await deps.service.get(elevationId(req), { kind: 'admin' });
      html(res, 200, revokeConfirmPage({ user: userOf(s), view }));
    }),
  );

  router.post(
    '/admin/elevations/:id/revoke',
    ...action(async (req, res, s) => {
      const id = elevationId(req);
      const view = await deps.service.get(id, { kind: 'admin' });
      const given = formReason(req);
      if ('problem' in given) {
        return html(res, 400, revokeConfirmPage({ user: userOf(s), view, error: given.problem }));
      }
      const { reason } = given;
      // The request is on record before it reaches the workflow (whose events name the admin too).
      await audit('admin.action', id, admin(s), { action: 'revoke_elevation', via: 'console', reason });
      const after: ElevationView = await deps.service.revoke(id, admin(s), { kind: 'admin' }, reason);
      res.redirect(
        303,
        `/admin/elevations/${id}?notice=${after.status === 'revoked' ? 'revoked' : 'revoke_started'}`,
      );
    }),
  );

  const botHistory = async (req: Request, id: string) => {
    const parsed = z
      .object({ cursor: z.string().max(512).optional(), notice: z.string().max(40).optional() })
      .safeParse(req.query);
    const cursor = parsed.success ? parsed.data.cursor : undefined;
    return {
      cursor,
      page: await deps.service.list({ botId: id, limit: pageSize, ...(cursor ? { cursor } : {}) }),
    };
  };

  router.get(
    '/admin/bots/:id',
    page(async (req, res, s) => {
      const id = botId(req);
      const inPolicy = deps.policy.bots.some((b) => b.id === id);
      const summary = inPolicy ? await deps.service.getBot(id) : undefined;
      const { cursor, page: history } = await botHistory(req, id);
      if (!inPolicy && history.items.length === 0 && !cursor)
        throw new ApiError('not_found', `There is no bot ${id}.`);
      const lock = summary?.locked;
      html(
        res,
        200,
        botPage({
          user: userOf(s),
          botId: id,
          policy: deps.policy,
          ...(summary
            ? {
                state: {
                  locked: Boolean(lock),
                  ...(lock ? { detail: `by ${lock.by} at ${lock.at}: ${lock.reason}` } : {}),
                },
              }
            : {}),
          canLock: inPolicy,
          items: history.items,
          query: pagerQuery(req),
          ...(history.nextCursor ? { nextCursor: history.nextCursor } : {}),
          onFirst: !cursor,
          notice: req.query.notice,
        }),
      );
    }),
  );

  for (const act of ['lock', 'unlock'] as const) {
    router.get(
      `/admin/bots/:id/${act}`,
      page(async (req, res, s) => {
        const id = botId(req);
        await deps.service.getBot(id); // 404 for a bot the policy does not have
        html(res, 200, lockConfirmPage({ user: userOf(s), botId: id, action: act }));
      }),
    );
    router.post(
      `/admin/bots/:id/${act}`,
      ...action(async (req, res, s) => {
        const id = botId(req);
        await deps.service.getBot(id);
        const given = formReason(req);
        if ('problem' in given) {
          return html(
            res,
            400,
            lockConfirmPage({ user: userOf(s), botId: id, action: act, error: given.problem }),
          );
        }
        if (act === 'lock') await deps.service.lockBot(id, admin(s), given.reason, { via: 'console' });
        else await deps.service.unlockBot(id, admin(s), given.reason, { via: 'console' });
        res.redirect(303, `/admin/bots/${id}?notice=${act === 'lock' ? 'locked' : 'unlocked'}`);
      }),
    );
  }

  router.get(
    '/admin/audit/verify',
    page((_req, res, s) => {
      html(res, 200, verifyConfirmPage({ user: userOf(s) }));
      return Promise.resolve();
    }),
  );

  router.post(
    '/admin/audit/verify',
    ...action(async (req, res, s) => {
      const raw = (req.body as Record<string, unknown>).anchor;
      let anchors: { position: number; hash: string }[] = [];
      if (typeof raw === 'string' && raw.trim() !== '') {
        const parsed = anchorSchema.safeParse(raw);
        if (!parsed.success) {
          return html(
            res,
            400,
            verifyConfirmPage({ user: userOf(s), error: parsed.error.issues[0]?.message ?? 'Bad anchor.' }),
          );
        }
        const [position, hash] = parsed.data.split(':') as [string, string];
        anchors = [{ position: Number(position), hash }];
      }
      const result = await deps.service.verifyAudit(anchors);
      await audit('admin.action', null, admin(s), {
        action: 'verify_audit',
        via: 'console',
        anchors,
        ok: result.ok,
        checked: result.checked,
        head: result.head ?? null,
        firstBroken: result.firstBroken ?? null,
      });
      html(res, 200, verifyResultPage({ user: userOf(s), result }));
    }),
  );

  /**
   * Counting a window of elevations is not something another site may make an admin's
   * browser do, over and over, by navigating to the URL. Refused before the session is read, as
   * an anonymous refusal (bounded and aggregated, and not a failed sign-in of the network).
   */
  const refuseCrossSite = async (req: Request, res: Response, next: NextFunction) => {
    const crossSite = enabled ? crossSiteRefusal(req) : undefined;
    if (!crossSite) return next();
    await deps.service.recordRefusal(
      'auth.refused',
      null,
      { kind: 'anonymous', id: 'unknown' },
      {
        reason: 'cross_site',
        via: 'console',
        method: 'GET',
        path: routePattern(req),
        ip: req.ip ?? null,
        secFetchSite: crossSite,
      },
    );
    html(
      res,
      403,
      messagePage('Refused', 'The charts open from the console, not from another site.', {
        link: { href: '/admin/charts', text: 'Open the charts' },
      }),
    );
  };

  router.get(
    '/admin/charts',
    refuseCrossSite,
    page(async (req, res, s) => {
      const days = [7, 14, 30, 90].includes(Number(req.query.days)) ? Number(req.query.days) : 14;
      const window = chartWindow(days, now());
      const aggregates = await deps.elevations.chartAggregates({
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        intervals: activeSlots(window),
      });
      const stats = statsFromAggregates(aggregates, window);
      html(res, 200, chartsPage({ user: userOf(s), days, stats, total: aggregates.total, capped: false }));
    }),
  );

  return {
    enabled,
    router,
    async authenticate(req) {
      if (!enabled) return undefined;
      const state = await sessionOf(req);
      return state.kind === 'ok' ? { email: state.session.email } : undefined;
    },
  };
}
