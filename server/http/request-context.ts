/**
 * What the API learns about a request on its way (who called, which elevation it is about) and
 * how the route that answered it is named in metrics and audit events.
 */
import type { Request, Response } from 'express';
import type { AdminPolicy, BotPolicy } from '../../config/policy.js';
import type { BotIdentity, RequestSource } from '../../core/model/elevation.js';
import { cleanUserAgent } from '../../domain/elevations/request-source.js';
import type { BotState } from '../../store/bot-state.js';

/** Set by the guards (`authentication.ts`) in `res.locals`. */
export interface CallerLocals {
  bot?: BotPolicy;
  /** The bot's runtime state as its guard read it (null: none), handed on so it is read once. */
  botState?: BotState | null;
  /** How the bot authenticated, when it used a workload identity token. */
  identity?: BotIdentity;
  /** Where the bot's request came from (address, user agent, how it authenticated, `runsFrom`). */
  source?: RequestSource;
  admin?: AdminPolicy;
  /** The console user (e-mail), when an admin route was called with a console session instead of a token. */
  consoleUser?: string;
}

/**
 * What a refusal records of where the request came from: the bot's {@link RequestSource} once
 * its guard let it through, else the address and the user agent (cleaned and bounded).
 */
export function sourceFields(req: Request, res: Response): Partial<RequestSource> {
  return callerOf(res).source ?? { ip: req.ip ?? null, userAgent: cleanUserAgent(req.get('user-agent')) };
}

/** The caller's record in `res.locals`. */
export function callerOf(res: Response): CallerLocals {
  return res.locals as CallerLocals;
}

/** The bot a `bot` guard let through. */
export function botOf(res: Response): BotPolicy {
  return callerOf(res).bot!;
}

/** The admin an `admin` guard let through. */
export function adminOf(res: Response): AdminPolicy {
  return callerOf(res).admin!;
}

/** The route pattern that answered (never the raw path, which carries ids), or `unmatched`. */
export function routeLabel(req: Request): string {
  const route = req.route as { path?: string | RegExp | (string | RegExp)[] } | undefined;
  return route?.path === undefined ? 'unmatched' : req.baseUrl + String(route.path);
}
