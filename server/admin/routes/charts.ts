/** The console's charts: what happened in the last days, counted by the elevation index in SQL. */
import type { NextFunction, Request, Response } from 'express';
import { activeSlots, chartWindow, statsFromAggregates } from '../../admin-charts.js';
import { crossSiteRefusal } from '../../cross-site.js';
import type { ConsoleArea, PageHandler } from '../console-handler.js';
import { html } from '../respond.js';
import type { ConsoleSessions } from '../session.js';
import { chartsPage } from '../views/charts.js';
import { messagePage } from '../views/layout.js';

/** The window when none (or one not offered) is asked for. */
const DEFAULT_DAYS = 14;

/**
 * The charts page, by operationId, and the check that runs before its guard (`refuseCrossSite`,
 * mounted on its path ahead of the route).
 */
export function chartHandlers(sessions: ConsoleSessions): ConsoleArea<'consoleCharts'> & {
  refuseCrossSite: (req: Request, res: Response, next: NextFunction) => Promise<void>;
} {
  const { deps } = sessions;

  /**
   * Counting a window of elevations is not something another site may make an admin's
   * browser do, over and over, by navigating to the URL. Refused before the session is read, as
   * an anonymous refusal (bounded and aggregated, and not a failed sign-in of the network).
   */
  const refuseCrossSite = async (req: Request, res: Response, next: NextFunction) => {
    const crossSite =
      sessions.enabled && (req.method === 'GET' || req.method === 'HEAD') ? crossSiteRefusal(req) : undefined;
    if (!crossSite) return next();
    await deps.audit.recordRefusal(
      'auth.refused',
      null,
      { kind: 'anonymous', id: 'unknown' },
      {
        reason: 'cross_site',
        via: 'console',
        method: 'GET',
        path: '/admin/charts',
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

  /** A window not offered is the default one (its query is then `{}`). */
  const consoleCharts: PageHandler<'consoleCharts'> = async (
    { query: { days: given } },
    { user },
    _req,
    res,
  ) => {
    const days = given ? Number(given) : DEFAULT_DAYS;
    const window = chartWindow(days, sessions.now());
    const aggregates = await deps.elevations.chartAggregates({
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      intervals: activeSlots(window),
    });
    const stats = statsFromAggregates(aggregates, window);
    html(res, 200, chartsPage({ user, days, stats, total: aggregates.total }));
  };

  return { handlers: { consoleCharts }, refuseCrossSite };
}
