/**
 * The admin console: a few server-rendered pages under `/admin` where admins review elevation
 * history and act on it.
 *
 *   GET  /admin/login, /admin/callback, POST /admin/logout: signing in and out (`sign-in.ts`)
 *   GET  /admin, /admin/elevations/{id}, /admin/bots/{id}, /admin/charts,
 *        /admin/reports/least-privilege, /admin/anomalies, /admin/break-glass: the pages (`routes/`)
 *   GET+POST …/revoke, /admin/bots/{id}/lock|unlock, /admin/audit/verify: confirm, then act
 *
 * Each is registered from the route table (`openapi/routes/console.ts`) by `http/routes.ts`:
 * its guard (`session.ts`), then its inputs parsed with the table's schemas, then its handler
 * here, by operationId (`console-routes.ts`, which also answers in a page an input the schemas
 * refuse). A page's handler is typed from its route's schemas (`console-handler.ts`) and starts
 * with its real work: it is given who is signed in.
 *
 * Sessions, the CSRF defences and the re-check of admin rights are in `session.ts`; what the
 * pages read from query strings and forms, in `console-schemas.ts` (the API reference documents
 * the same schemas). Every action is audited with the person as actor
 * (`{kind: 'admin', id: <e-mail>}`) and `via: 'console'`.
 *
 * Without admin groups configured the console is off: every page says how to turn it on.
 */
import express, { type Request } from 'express';
import type { InputRefusals, PageHandlers } from './console-handler.js';
import type { AdminConsoleDeps, ConsoleUser } from './console-deps.js';
import { serveConsole, whileOn } from './console-routes.js';
import { securityHeaders } from './respond.js';
import { anomalyHandlers } from './routes/anomalies.js';
import { breakGlassHandlers } from './routes/break-glass.js';
import { auditHandlers } from './routes/audit.js';
import { botHandlers } from './routes/bots.js';
import { chartHandlers } from './routes/charts.js';
import { elevationHandlers } from './routes/elevations.js';
import { LEAST_PRIVILEGE_PATH, leastPrivilegeHandlers } from './routes/least-privilege.js';
import { consoleSessions } from './session.js';
import { signInHandlers } from './sign-in.js';
import { CONSOLE_CSS } from './views/console-css.js';

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

  // Each area's pages and forms; every page of `CONSOLE_PAGES` needs its handler here.
  const elevations = elevationHandlers(sessions, pageSize);
  const bots = botHandlers(sessions, pageSize);
  const audit = auditHandlers(sessions);
  const charts = chartHandlers(sessions);
  const leastPrivilege = leastPrivilegeHandlers(sessions);
  const anomalies = anomalyHandlers(sessions, pageSize);
  const breakGlass = breakGlassHandlers(sessions, pageSize);
  const handlers: PageHandlers = {
    ...elevations.handlers,
    ...bots.handlers,
    ...audit.handlers,
    ...charts.handlers,
    ...leastPrivilege.handlers,
    ...anomalies.handlers,
    ...breakGlass.handlers,
  };
  const refused: InputRefusals = { ...elevations.refused, ...bots.refused, ...audit.refused };

  const signIn = signInHandlers(sessions);

  router.use('/admin', securityHeaders);
  router.use('/admin/charts', charts.refuseCrossSite);
  router.use(LEAST_PRIVILEGE_PATH, leastPrivilege.refuseCrossSite);
  serveConsole(
    router,
    sessions,
    { handlers, refused },
    {
      handlers: {
        startConsoleSignIn: whileOn(sessions, signIn.handlers.startConsoleSignIn),
        finishConsoleSignIn: whileOn(sessions, signIn.handlers.finishConsoleSignIn),
        consoleSignOut: whileOn(sessions, signIn.handlers.consoleSignOut),
        // Served while the console is off too: its page saying how to turn it on uses it.
        getConsoleStylesheet: (_input, _req, res) => {
          res.setHeader('cache-control', 'no-cache');
          res.type('text/css').send(CONSOLE_CSS);
        },
      },
      refused: signIn.refused,
    },
  );

  return { enabled: sessions.enabled, router, authenticate: sessions.authenticate };
}
