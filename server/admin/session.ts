/**
 * The console's sessions, the guards of its pages and forms, and the re-check of admin rights
 * (the checks themselves are in `admin-rights.ts`).
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
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AdminConsoleSettings } from '../../config/settings.js';
import type { Actor } from '../../core/model/elevation.js';
import type { EventDataOf } from '../../core/model/event-data.js';
import type { SingleUseRecords } from '../../core/ports/single-use.js';
import type { AdminIdentity } from '../../integrations/oidc/admin-login.js';
import { countFailure } from '../auth-failure-limit.js';
import { cookieOf, newToken, tokenDigest } from '../browser-login.js';
import { adminRights, RightSchema, type Right } from './admin-rights.js';
import type { AdminConsoleDeps, ConsoleUser } from './console-deps.js';
import { consoleCsrfSchema } from './console-schemas.js';
import { consoleOff, failed, html, notAdminPage, routePattern } from './respond.js';
import { messagePage, type PageUser } from './views/layout.js';

/** A session's last use is written back at most this often (the idle timeout's precision). */
const TOUCH_EVERY_MS = 60_000;

/** The shape of a session id (and of the sign-in's browser binding) in a cookie. */
export const TOKEN = /^[A-Za-z0-9_-]{40,64}$/;

/** Whether `a` is the token `b`, compared in constant time. */
export function sameToken(a: unknown, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

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
export type Session = z.infer<typeof SessionSchema>;

/** The records of a console that is off: it keeps nothing. */
export const NO_RECORDS: SingleUseRecords<never> = {
  put: () => Promise.resolve(false),
  peek: () => Promise.resolve(undefined),
  take: () => Promise.resolve(undefined),
  replace: () => Promise.resolve(false),
};

/** A request's session: none, usable, due for a fresh sign-in, or ended because its rights went. */
export type SessionState =
  | { kind: 'none' }
  | { kind: 'ok'; key: string; session: Session }
  | { kind: 'relogin'; key: string; session: Session }
  | { kind: 'revoked'; session: Session };

/** Who a page is shown to: the address in the header and the token of its forms. */
const userOf = (s: Session): PageUser => ({ email: s.email, csrf: s.csrf });

/** The person signed in, as a page or form behind the sign-in is given them. */
export interface SignedIn {
  /** Who the page is shown to: the address in its header and the token of its forms. */
  user: PageUser;
  /** The person as the actor of what they do: `{kind: 'admin', id: <e-mail>}`. */
  actor: Actor;
}

/** Where {@link ConsoleSessions.signedIn} leaves the session it let through. */
interface SessionLocals {
  consoleSession?: Session;
}

/** The person whose session the console's guard let through (a route guarded by `signedIn` only). */
export function signedInOf(res: Response): SignedIn {
  const session = (res.locals as SessionLocals).consoleSession;
  if (!session) throw new Error('a console route without its guard');
  return { user: userOf(session), actor: { kind: 'admin', id: session.email } };
}

type Middleware = (req: Request, res: Response, next: NextFunction) => Promise<void>;

/** The console's sessions and guards, shared by its routes. */
export interface ConsoleSessions {
  /** Whether the console is on. Every route checks it first: past that, `deps` are all there. */
  readonly enabled: boolean;
  readonly deps: AdminConsoleDeps;
  now: () => Date;
  /** The cookies' names (`__Host-` prefixed over HTTPS). */
  readonly cookies: { session: string; login: string };
  /** A `set-cookie` value: HttpOnly, SameSite=Lax, Secure over HTTPS; `maxAgeSeconds` 0 clears it. */
  cookie: (name: string, value: string, maxAgeSeconds: number) => string;
  /** The longest a session lives. */
  readonly maxMs: number;
  /** Record one of the console's own events. */
  audit: <T extends 'admin.signed_in' | 'admin.action'>(
    type: T,
    elevationId: string | null,
    actor: Actor,
    data: EventDataOf<T>,
  ) => Promise<void>;
  /** Record a refusal (`auth.refused`, `via: console`); an anonymous one counts as a failed sign-in. */
  refuse: (req: Request, actor: Actor, reason: string, extra?: Record<string, unknown>) => Promise<void>;
  /** Why the signed-in `identity` is an admin; none: not an admin. */
  rightsOf: (identity: AdminIdentity) => Promise<Right[]>;
  /** A new session for `identity` (the browser's previous one ends); its id, for the cookie. */
  open: (req: Request, identity: AdminIdentity, rights: Right[]) => Promise<string>;
  /** The request's session, its timeouts applied, its rights re-checked when due. */
  sessionOf: (req: Request) => Promise<SessionState>;
  /** The request's stored session as it is (no timeouts, no re-check), and its key. */
  peek: (req: Request) => Promise<{ key: string; session: Session } | undefined>;
  /** End the session stored under `key`. */
  end: (key: string) => Promise<void>;
  /** The CSRF defences before a form is read: same origin, as far as the browser says. */
  sameOrigin: Middleware;
  /**
   * The guard of the console's pages and forms (security `adminConsole`). A page: signed out (or
   * due for a fresh sign-in) → 302 to the sign-in. A form post: same origin, then a session (401
   * without), then its CSRF token (403 without). Whom it lets through is {@link signedInOf}
   * the response.
   */
  signedIn: Middleware;
  /** The person of the request's valid, current session, else undefined (GET only: no CSRF check). */
  authenticate: (req: Request) => Promise<ConsoleUser | undefined>;
}

const loginUrl = (next: string) => `/admin/login?next=${encodeURIComponent(next)}`;

/** The sessions of the console built from `given` (none: the console is off). */
export function consoleSessions(given: AdminConsoleDeps | undefined): ConsoleSessions {
  const settings: AdminConsoleSettings | undefined = given?.settings;
  const enabled = Boolean(settings && given?.login);
  // Every route checks `enabled` first: past that check, the dependencies are there.
  const deps = given as AdminConsoleDeps;
  const sessions: SingleUseRecords<Session> = given
    ? given.singleUse.namespace('admin-session', SessionSchema)
    : NO_RECORDS;
  const now = () => (given?.clock ?? (() => new Date()))();
  const publicUrl = given?.publicUrl ?? 'http://127.0.0.1';
  const secure = publicUrl.startsWith('https://');
  const origin = new URL(publicUrl).origin;
  const cookies = {
    session: secure ? '__Host-elevate_admin' : 'elevate_admin',
    login: secure ? '__Host-elevate_admin_login' : 'elevate_admin_login',
  };
  const idleMs = (settings?.idleMinutes ?? 30) * 60_000;
  const maxMs = (settings?.maxHours ?? 8) * 3_600_000;
  const recheckMs = (settings?.recheckMinutes ?? 5) * 60_000;
  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });
  const rights = adminRights(settings, given?.directory, given?.logger);

  const cookie = (name: string, value: string, maxAgeSeconds: number) =>
    `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;

  const audit: ConsoleSessions['audit'] = async (type, elevationId, actor, data) => {
    await deps.audit.recordAdminAction(type, elevationId, actor, data, 'record it', now().toISOString());
  };
  const refuse: ConsoleSessions['refuse'] = async (req, actor, reason, extra = {}) => {
    // A form from another origin is a forgery attempt through someone's browser, not a failed
    // sign-in of their network.
    if (actor.kind === 'anonymous' && reason !== 'cross_origin') countFailure(deps.authFailureLimit, req);
    await deps.audit.recordRefusal('auth.refused', null, actor, {
      reason,
      via: 'console',
      method: req.method === 'POST' ? 'POST' : 'GET',
      // The route pattern, never the raw path (the caller's to choose and size).
      path: routePattern(req),
      ip: req.ip ?? null,
      ...extra,
    });
  };

  // ---- sessions --------------------------------------------------------------------------------

  const expiryOf = (s: Session) => new Date(Math.min(s.lastSeenAt + idleMs, s.createdAt + maxMs));

  const open = async (req: Request, identity: AdminIdentity, held: Right[]): Promise<string> => {
    const t = now().getTime();
    const session: Session = {
      email: identity.email,
      ...(identity.joinValue === undefined ? {} : { joinValue: identity.joinValue }),
      issuer: identity.issuer,
      subject: identity.subject,
      rights: held,
      csrf: newToken(),
      createdAt: t,
      lastSeenAt: t,
      checkedAt: t,
    };
    const sid = newToken();
    const old = cookieOf(req, cookies.session);
    if (old && TOKEN.test(old)) await sessions.take(tokenDigest(old));
    await sessions.put(tokenDigest(sid), session, expiryOf(session));
    return sid;
  };

  const sessionOf = async (req: Request): Promise<SessionState> => {
    const sid = cookieOf(req, cookies.session);
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
      if (await rights.inLdapGroup(session)) {
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

  const peek = async (req: Request) => {
    const sid = cookieOf(req, cookies.session);
    const key = sid && TOKEN.test(sid) ? tokenDigest(sid) : undefined;
    const session = key ? await sessions.peek(key) : undefined;
    return session && key ? { key, session } : undefined;
  };

  // ---- guards ----------------------------------------------------------------------------------

  const sameOrigin: Middleware = async (req, res, next) => {
    if (!enabled) return consoleOff(res);
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

  /** A page: signed out (or due for a fresh sign-in) → 302 to the sign-in. */
  const pageSession: Middleware = async (req, res, next) => {
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
      res.setHeader('set-cookie', cookie(cookies.session, '', 0));
      return html(res, 403, notAdminPage(state.session.email));
    }
    (res.locals as SessionLocals).consoleSession = state.session;
    next();
  };

  /** A form, once read: a session (401 without), then its CSRF token (403 without). */
  const formSession: Middleware = async (req, res, next) => {
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
      res.setHeader('set-cookie', cookie(cookies.session, '', 0));
      return html(res, 403, notAdminPage(state.session.email));
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const csrf = consoleCsrfSchema.safeParse(body.csrf);
    if (!csrf.success || !sameToken(csrf.data, state.session.csrf)) {
      await refuse(req, { kind: 'admin', id: state.session.email }, 'csrf_token');
      return html(
        res,
        403,
        messagePage('Refused', 'This form has no valid security token; reload the page and try again.', {
          user: userOf(state.session),
        }),
      );
    }
    (res.locals as SessionLocals).consoleSession = state.session;
    next();
  };

  const signedIn: Middleware = async (req, res, next) => {
    if (!enabled) return consoleOff(res);
    if (req.method !== 'POST') return pageSession(req, res, next);
    await sameOrigin(req, res, () => {
      formSession(req, res, next).catch(next);
    });
  };

  return {
    enabled,
    deps,
    now,
    cookies,
    cookie,
    maxMs,
    audit,
    refuse,
    rightsOf: (identity) => rights.of(identity),
    open,
    sessionOf,
    peek,
    end: async (key) => {
      await sessions.take(key);
    },
    sameOrigin,
    signedIn,
    authenticate: async (req) => {
      if (!enabled) return undefined;
      const state = await sessionOf(req);
      return state.kind === 'ok' ? { email: state.session.email } : undefined;
    },
  };
}
