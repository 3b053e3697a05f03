/**
 * Whether a cookie-authenticated GET was started by another site. The console's cookies are
 * SameSite=Lax, so a browser sends them on any top-level navigation, from any page: a GET that
 * writes (an evidence pack is an audited export) or costs a lot (the charts read up to 200,000
 * elevations) must not be something another site can make an admin's browser do.
 *
 * Browsers say where a request comes from in `Sec-Fetch-Site` (all current ones do). `same-origin`
 * is a link on the console; `none` is the admin typing the URL or opening a bookmark. Anything
 * else (`same-site`, `cross-site`) is refused. A request without the header (curl, an old browser)
 * is let through: it is not a browser that another site can steer.
 */
import type { Request } from 'express';

/** The `Sec-Fetch-Site` value that makes this request cross-site (bounded), or undefined if it is not. */
export function crossSiteRefusal(req: Request): string | undefined {
  const site = req.get('sec-fetch-site');
  if (site === undefined || site === 'same-origin' || site === 'none') return undefined;
  return /^[a-z-]{1,20}$/.test(site) ? site : 'other';
}
