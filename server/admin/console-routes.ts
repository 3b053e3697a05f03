/**
 * Registers the console's routes from the route table (`openapi/routes/console.ts`) with
 * `http/routes.ts`, which runs each route's guard, reads its body and parses its inputs with the
 * route's own schemas before its handler runs.
 *
 * - The pages and forms behind the sign-in (`CONSOLE_PAGES`): the guard is the console's
 *   `signedIn` (session, admin rights, and for a form its origin and CSRF token). Each handler is
 *   then given who is signed in, and what it throws is shown inside the console to them.
 * - The open routes (`CONSOLE_OPEN_ROUTES`): signing in needs no guard; signing out checks its
 *   form's origin, then its own session and token.
 *
 * An input the schemas refuse is answered in a page, as the console always has: a path parameter
 * that is not an id is a page not found; a query or a form, by the route's own refusal if it has
 * one (the form again saying why, the list's filters saying which), else a query is read as if
 * none was given (a pager longer than any cursor, a notice or a window not offered) and a form
 * is a 400 page.
 */
import type express from 'express';
import type { Request, Response } from 'express';
import { ApiError } from '../../domain/errors.js';
import { serveRoutes, servedRouteOf, type RouteHandlers } from '../http/routes.js';
import type { ApiRoute } from '../openapi/route-spec.js';
import { CONSOLE_OPEN_ROUTES, CONSOLE_PAGES } from '../openapi/routes/console.js';
import type {
  ConsoleOpenId,
  InputRefusals,
  OpenHandler,
  OpenHandlers,
  OpenRefusals,
  PageHandlers,
  SignedIn,
} from './console-handler.js';
import { consoleOff, failed, html } from './respond.js';
import { signedInOf, type ConsoleSessions } from './session.js';
import { messagePage } from './views/layout.js';

/** Every page and form behind the sign-in, and the refusals some answer their own way. */
export interface ConsolePages {
  handlers: PageHandlers;
  refused: InputRefusals;
}

/** The open routes, and the refusals some answer their own way. */
export interface ConsoleOpenRoutes {
  handlers: OpenHandlers;
  refused: OpenRefusals;
}

/** A route's inputs as the registration parsed them, with that very route's schemas. */
type Parsed = { params: Record<string, unknown>; query: unknown; body: unknown };

/**
 * `handlers` by operationId, as Express dispatches them: by a name known only at run time. The
 * types of `console-handler.ts` say which inputs each handler gets, and the registration gives
 * each exactly those (parsed with its route's schemas); TypeScript cannot follow a lookup by such
 * a name, so here, and only here, each is seen as taking any route's `Parsed` inputs.
 */
function byName<F>(handlers: object): Partial<Record<string, F>> {
  return handlers;
}

/** The page of a form that was not read, or whose fields were refused with no page of its own. */
const formNotValid = (res: Response) =>
  html(res, 400, messagePage('Not done', 'The form was not valid; go back and try again.'));

/** Register the console's routes on `router`. */
export function serveConsole(
  router: express.IRouter,
  sessions: ConsoleSessions,
  pages: ConsolePages,
  open: ConsoleOpenRoutes,
): void {
  type OpenDispatch = (input: Parsed, req: Request, res: Response) => Promise<void> | void;
  serveRoutes(router, CONSOLE_OPEN_ROUTES, open.handlers, {
    guards: { none: [], consoleSignIn: [], adminConsole: [sessions.sameOrigin] },
    invalidInput: async ({ operationId: id, part }, req, res) => {
      // Past this, as in `whileOn`, the console's dependencies are there.
      if (!sessions.enabled) return consoleOff(res);
      try {
        const refusal = part === 'query' || part === 'body' ? open.refused[id] : undefined;
        if (refusal) return await refusal(req, res);
        const handler = byName<OpenDispatch>(open.handlers)[id];
        if (part === 'query' && handler && (await withoutQuery(CONSOLE_OPEN_ROUTES, id, handler, req, res)))
          return;
        formNotValid(res);
      } catch (err) {
        failed(req, res, err);
      }
    },
  });

  type PageDispatch = (input: Parsed, who: SignedIn, req: Request, res: Response) => Promise<void>;
  type RefusalDispatch = (
    params: Parsed['params'],
    who: SignedIn,
    req: Request,
    res: Response,
  ) => Promise<void>;
  const handlers = byName<PageDispatch>(pages.handlers);
  const refusals = byName<RefusalDispatch>(pages.refused);
  /** Page `id`'s handler, given who is signed in, its failures shown to them. */
  const signedIn =
    (id: string) =>
    async (input: Parsed, req: Request, res: Response): Promise<void> => {
      const who = signedInOf(res);
      try {
        await handlers[id]!(input, who, req, res);
      } catch (err) {
        failed(req, res, err, who.user);
      }
    };
  // Each page's handler under the name it is registered by (see byName).
  const served = Object.fromEntries(CONSOLE_PAGES.map((r) => [r.operationId, signedIn(r.operationId)]));

  serveRoutes(router, CONSOLE_PAGES, served as unknown as RouteHandlers<typeof CONSOLE_PAGES>, {
    guards: { adminConsole: [sessions.signedIn] },
    invalidInput: async ({ operationId: id, part }, req, res) => {
      const who = signedInOf(res);
      try {
        if (part === 'unreadable body') return formNotValid(res);
        const { servedRoute, servedParams = {} } = servedRouteOf(res);
        if (part === 'params') {
          const what = servedRoute?.path.startsWith('/admin/bots/') ? 'bot' : 'elevation';
          return failed(req, res, new ApiError('not_found', `There is no such ${what}.`), who.user);
        }
        // Only the query or the form was refused: the path parameters parsed.
        const refusal = refusals[id];
        if (refusal) return await refusal(servedParams, who, req, res);
        if (part === 'query' && (await withoutQuery(CONSOLE_PAGES, id, signedIn(id), req, res))) return;
        formNotValid(res);
      } catch (err) {
        failed(req, res, err, who.user);
      }
    },
  });
}

/**
 * Answer route `id` with `handler` as if no query had been given, when its query schema takes
 * none; false when it does not. Its path parameters (parsed) are kept; it has no body (a page).
 */
async function withoutQuery(
  routes: readonly ApiRoute[],
  id: string,
  handler: (input: Parsed, req: Request, res: Response) => Promise<void> | void,
  req: Request,
  res: Response,
): Promise<boolean> {
  const route = routes.find((r) => r.operationId === id);
  const none = route?.query?.safeParse({});
  if (!none?.success || route?.body) return false;
  const params = servedRouteOf(res).servedParams ?? {};
  await handler({ params, query: none.data, body: undefined }, req, res);
  return true;
}

/**
 * `handler`, answered only while the console is on (else the page that says how to turn it on),
 * its failures shown as a console page.
 */
export function whileOn<Id extends ConsoleOpenId>(
  sessions: ConsoleSessions,
  handler: OpenHandler<Id>,
): OpenHandler<Id> {
  return async (input, req, res) => {
    if (!sessions.enabled) return consoleOff(res);
    try {
      await handler(input, req, res);
    } catch (err) {
      failed(req, res, err);
    }
  };
}
