/**
 * The admin console: a few server-rendered pages under `/admin` where admins review elevation
 * history and act on it.
 *
 *   GET  /admin/login, /admin/callback, POST /admin/logout: signing in and out (`sign-in.ts`)
 *   GET  /admin, /admin/elevations/{id}, /admin/bots/{id}, /admin/charts: the pages (`routes/`)
 *   GET+POST …/revoke, /admin/bots/{id}/lock|unlock, /admin/audit/verify: confirm, then act
 *
 * Sessions, the CSRF defences and the re-check of admin rights are in `session.ts`; what the
 * pages read from query strings and forms, in `console-schemas.ts` (the API reference documents
 * the same schemas). Every action is audited with the person as actor
 * (`{kind: 'admin', id: <e-mail>}`) and `via: 'console'`.
 *
 * Without admin groups configured the console is off: every page says how to turn it on.
 */
import express, { type Request } from 'express';
import type { AdminConsoleDeps, ConsoleUser } from './console-deps.js';
import { securityHeaders } from './respond.js';
import { auditRoutes } from './routes/audit.js';
import { botRoutes } from './routes/bots.js';
import { chartRoutes } from './routes/charts.js';
import { elevationRoutes } from './routes/elevations.js';
import { consoleSessions } from './session.js';
import { signInRoutes } from './sign-in.js';
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

  router.use('/admin', securityHeaders);
  router.get('/admin/console.css', (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.type('text/css').send(CONSOLE_CSS);
  });
  signInRoutes(router, sessions);
  elevationRoutes(router, sessions, pageSize);
  botRoutes(router, sessions, pageSize);
  auditRoutes(router, sessions);
  chartRoutes(router, sessions);

  return { enabled: sessions.enabled, router, authenticate: sessions.authenticate };
}
