/**
 * The admin console: a few server-rendered pages under `/admin` where admins review elevation
 * history and act on it.
 *
 *   GET  /admin/login, /admin/callback, POST /admin/logout: signing in and out (`sign-in.ts`)
 *   GET  /admin, /admin/elevations/{id}, /admin/bots/{id}, /admin/charts: the pages (`routes/`)
 *   GET+POST …/revoke, /admin/bots/{id}/lock|unlock, /admin/audit/verify: confirm, then act
 *
 * Each is registered from the route table (`openapi/routes/console.ts`) by `http/routes.ts`:
 * its guard (`session.ts`), then its inputs parsed with the table's schemas, then its handler
 * here, by operationId. An input the schemas refuse is answered in a page, as below.
 *
 * Sessions, the CSRF defences and the re-check of admin rights are in `session.ts`; what the
 * pages read from query strings and forms, in `console-schemas.ts` (the API reference documents
 * the same schemas). Every action is audited with the person as actor
 * (`{kind: 'admin', id: <e-mail>}`) and `via: 'console'`.
 *
 * Without admin groups configured the console is off: every page says how to turn it on.
 */
import express, { type Request, type Response } from 'express';
import { ApiError } from '../../domain/errors.js';
import { serveRoutes, servedRouteOf, type InvalidInput, type RouteGuards } from '../http/routes.js';
import type { ApiRoute } from '../openapi/route-spec.js';
import { CONSOLE_ROUTES } from '../openapi/routes/console.js';
import type { AdminConsoleDeps, ConsoleUser } from './console-deps.js';
import type { ConsoleHandler, FormRefusal } from './console-handler.js';
import { failed, html, securityHeaders } from './respond.js';
import { auditHandlers } from './routes/audit.js';
import { botHandlers } from './routes/bots.js';
import { chartHandlers } from './routes/charts.js';
import { elevationHandlers } from './routes/elevations.js';
import { consoleSessions, sessionIn, userOf } from './session.js';
import { signInHandlers } from './sign-in.js';
import { CONSOLE_CSS } from './views/console-css.js';
import { messagePage } from './views/layout.js';

export type { AdminConsoleDeps, ConsoleUser } from './console-deps.js';

/** Rows per page of the lists, unless configured. */
const PAGE_SIZE = 50;

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
  const sessions = consoleSessions(given);
  const pageSize = given?.pageSize ?? PAGE_SIZE;

  const elevations = elevationHandlers(sessions, pageSize);
  const bots = botHandlers(sessions, pageSize);
  const audit = auditHandlers(sessions);
  const charts = chartHandlers(sessions);
  /** The routes behind the console's guard: a failure is shown inside the console. */
  const signedIn: Record<string, ConsoleHandler> = {
    ...elevations.handlers,
    ...bots.handlers,
    ...audit.handlers,
    ...charts.handlers,
  };
  const refusedForms: Record<string, FormRefusal | undefined> = {
    ...elevations.refusedForms,
    ...bots.refusedForms,
    ...audit.refusedForms,
  };
  const handlers: Record<string, ConsoleHandler> = {
    ...signInHandlers(sessions),
    getConsoleStylesheet: (_input, _req, res) => {
      res.setHeader('cache-control', 'no-cache');
      res.type('text/css').send(CONSOLE_CSS);
      return Promise.resolve();
    },
    ...Object.fromEntries(Object.entries(signedIn).map(([id, h]) => [id, shownInConsole(h)])),
  };

  /**
   * What the console makes of an input its schemas refuse: as it always has, in a page. An id
   * that is not one is a page not found; a form field, the form again saying why; the list's
   * filters, the list's form saying which. Anything else the console reads leniently: the routes
   * that read the request themselves (signing in and out), a pager longer than any cursor, a
   * notice or a window not offered are answered as if not given. (A cursor of a cursor's length
   * that the store did not issue is refused further on, with a 400 page; on the list, the query
   * schema also bounds `notice` and `cursor`, and an overlong one is a filter error.)
   */
  const invalidInput = async (invalid: InvalidInput<typeof CONSOLE_ROUTES>, req: Request, res: Response) => {
    const { operationId: id, part } = invalid;
    const params = (servedRouteOf(res).servedParams ?? {}) as Record<string, string>;
    const user = () => userOf(sessionIn(res));
    try {
      if (part === 'unreadable body') {
        html(res, 400, messagePage('Not done', 'The form was not valid; go back and try again.'));
      } else if (part === 'params') {
        const what = servedRouteOf(res).servedRoute?.path.startsWith('/admin/bots/') ? 'bot' : 'elevation';
        failed(req, res, new ApiError('not_found', `There is no such ${what}.`), user());
      } else if (part === 'body' && refusedForms[id]) {
        await refusedForms[id](params, req, res);
      } else if (part === 'query' && id === 'consoleElevations') {
        elevations.refusedList(req, res);
      } else {
        await handlers[id]!({ params, query: {}, body: req.body as unknown }, req, res);
      }
    } catch (err) {
      failed(req, res, err, signedIn[id] ? user() : undefined);
    }
  };

  router.use('/admin', securityHeaders);
  router.use('/admin/charts', charts.refuseCrossSite);
  // The console's routes name only these (serveRoutes refuses a route whose guard is missing).
  const guards: Partial<Guards> = {
    none: [],
    consoleSignIn: [],
    // Signing out checks its form's origin, then its own session and token.
    adminConsole: [sessions.sameOrigin],
  };
  const [outside, inside] = [
    CONSOLE_ROUTES.filter((r) => !signedIn[r.operationId]),
    CONSOLE_ROUTES.filter((r) => signedIn[r.operationId]),
  ];
  serveRoutes(router, outside, pick(handlers, outside), { guards: guards as Guards, invalidInput });
  serveRoutes(router, inside, pick(handlers, inside), {
    guards: { ...guards, adminConsole: [sessions.signedIn] } as Guards,
    invalidInput,
  });

  return { enabled: sessions.enabled, router, authenticate: sessions.authenticate };
}

type Guards = RouteGuards<typeof CONSOLE_ROUTES>;

/**
 * The handlers of `routes`, by operationId (the console's table is not typed route by route, so
 * its operationIds are strings, none of them numbers).
 */
function pick(
  handlers: Record<string, ConsoleHandler>,
  routes: readonly ApiRoute[],
): Record<string, ConsoleHandler> & Record<number, never> {
  return Object.fromEntries(routes.map((r) => [r.operationId, handlers[r.operationId]!])) as Record<
    string,
    ConsoleHandler
  > &
    Record<number, never>;
}

/** `handler`, its failures shown inside the console to the person signed in. */
function shownInConsole(handler: ConsoleHandler): ConsoleHandler {
  return async (input, req, res) => {
    try {
      await handler(input, req, res);
    } catch (err) {
      failed(req, res, err, userOf(sessionIn(res)));
    }
  };
}
