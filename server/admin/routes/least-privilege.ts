/**
 * The console's least-privilege page: the report the admin API serves
 * (`domain/bots/least-privilege.ts`), computed over the console's own policy and elevation index.
 */
import type { NextFunction, Request, Response } from 'express';
import { createLeastPrivilegeReporter } from '../../../domain/bots/least-privilege.js';
import { crossSiteRefusal } from '../../cross-site.js';
import type { ConsoleArea, PageHandler } from '../console-handler.js';
import { html } from '../respond.js';
import type { ConsoleSessions } from '../session.js';
import { messagePage } from '../views/layout.js';
import { leastPrivilegePage } from '../views/least-privilege.js';

/** Where the page is (the check before its guard is mounted on it). */
export const LEAST_PRIVILEGE_PATH = '/admin/reports/least-privilege';

/**
 * The page, by operationId, and the check that runs before its guard (`refuseCrossSite`, mounted
 * on its path ahead of the route).
 */
export function leastPrivilegeHandlers(sessions: ConsoleSessions): ConsoleArea<'consoleLeastPrivilege'> & {
  refuseCrossSite: (req: Request, res: Response, next: NextFunction) => Promise<void>;
} {
  /**
   * The report reads every summary row of the bots: another site must not make an admin's
   * browser ask for it over and over. Refused before the session is read, as the charts are.
   */
  const refuseCrossSite = async (req: Request, res: Response, next: NextFunction) => {
    const crossSite =
      sessions.enabled && (req.method === 'GET' || req.method === 'HEAD') ? crossSiteRefusal(req) : undefined;
    if (!crossSite) return next();
    await sessions.deps.audit.recordRefusal(
      'auth.refused',
      null,
      { kind: 'anonymous', id: 'unknown' },
      {
        reason: 'cross_site',
        via: 'console',
        method: 'GET',
        path: LEAST_PRIVILEGE_PATH,
        ip: req.ip ?? null,
        secFetchSite: crossSite,
      },
    );
    html(
      res,
      403,
      messagePage('Refused', 'The least-privilege report opens from the console, not from another site.', {
        link: { href: LEAST_PRIVILEGE_PATH, text: 'Open the report' },
      }),
    );
  };

  // Built on first use: while the console is off its dependencies are not there.
  let reporter: ReturnType<typeof createLeastPrivilegeReporter> | undefined;
  const consoleLeastPrivilege: PageHandler<'consoleLeastPrivilege'> = async (_input, { user }, _req, res) => {
    const { deps } = sessions;
    reporter ??= createLeastPrivilegeReporter({
      policy: deps.policy,
      elevations: deps.elevations,
      logger: deps.logger,
      clock: sessions.now,
    });
    html(res, 200, leastPrivilegePage({ user, report: await reporter.report() }));
  };

  return { handlers: { consoleLeastPrivilege }, refuseCrossSite };
}
