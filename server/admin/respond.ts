/**
 * How the console answers: its security headers, HTML pages with a status, failures shown inside
 * the console, and the page of a person who is not (or no longer) an admin.
 */
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../../domain/errors.js';
import { httpStatusOf } from '../http-status.js';
import { consoleOffPage, messagePage, type PageUser } from './views/layout.js';

/** The console's headers on every answer under `/admin`: its pages load nothing from elsewhere. */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader(
    'content-security-policy',
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  // Not no-referrer: browsers then send `Origin: null` with forms, which the CSRF check refuses.
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('x-frame-options', 'DENY');
  next();
}

/** Answer `page` with `status`. */
export function html(res: Response, status: number, page: string): void {
  res.status(status).type('html').send(page);
}

/** The answer of every console route while the console is off: how to turn it on. */
export function consoleOff(res: Response): void {
  html(res, 404, consoleOffPage());
}

/** The route pattern that answered (never the raw path), or `unmatched`. */
export function routePattern(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? req.baseUrl + path : 'unmatched';
}

/** Render a failure inside the console: API errors with their status, anything else as 500. */
export function failed(req: Request, res: Response, err: unknown, user?: PageUser): void {
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
}

/** The page of a person signed in at the provider who is not an admin (the attempt is audited). */
export function notAdminPage(email: string): string {
  return messagePage('Not an admin', `You are signed in as ${email}, who is not an admin of Elevate.`, {
    hint: 'Ask for the admin group if you need the console. This attempt has been recorded.',
  });
}
