/** The console's charts: what happened in the last days, counted by the elevation index in SQL. */
import type { NextFunction, Request, Response, Router } from 'express';
import { activeSlots, chartWindow, statsFromAggregates } from '../../admin-charts.js';
import { crossSiteRefusal } from '../../cross-site.js';
import { consoleChartsQuerySchema } from '../console-schemas.js';
import { html, routePattern } from '../respond.js';
import { userOf, type ConsoleSessions } from '../session.js';
import { chartsPage } from '../views/charts.js';
import { messagePage } from '../views/layout.js';

/** The window when none (or one not offered) is asked for. */
const DEFAULT_DAYS = 14;

/** The charts page, on `router`. */
export function chartRoutes(router: Router, sessions: ConsoleSessions): void {
  const { deps } = sessions;

  /**
   * Counting a window of elevations is not something another site may make an admin's
   * browser do, over and over, by navigating to the URL. Refused before the session is read, as
   * an anonymous refusal (bounded and aggregated, and not a failed sign-in of the network).
   */
  const refuseCrossSite = async (req: Request, res: Response, next: NextFunction) => {
    const crossSite = sessions.enabled ? crossSiteRefusal(req) : undefined;
    if (!crossSite) return next();
    await deps.audit.recordRefusal(
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
    sessions.page(async (req, res, s) => {
      const query = consoleChartsQuerySchema.safeParse(req.query);
      const days = query.success && query.data.days ? Number(query.data.days) : DEFAULT_DAYS;
      const window = chartWindow(days, sessions.now());
      const aggregates = await deps.elevations.chartAggregates({
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        intervals: activeSlots(window),
      });
      const stats = statsFromAggregates(aggregates, window);
      html(res, 200, chartsPage({ user: userOf(s), days, stats, total: aggregates.total }));
    }),
  );
}
