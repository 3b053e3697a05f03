/**
 * The API's guards: who may call a route, by the route's `security` (bot, admin, admin or
 * console user, metrics reader). Each refusal is audited (`auth.refused`, with a fingerprint of
 * the credential, never the credential); a network that failed too often is refused with 429
 * before anything is looked up.
 */
import type { NextFunction, Request, Response } from 'express';
import { hashSecret } from '../../core/crypto/credentials.js';
import type { Actor } from '../../core/model/elevation.js';
import type { AuditService } from '../../domain/audit/audit-service.js';
import type { AuthenticatedBot, Authenticator } from '../../domain/auth/authenticator.js';
import { cleanUserAgent, requestSource } from '../../domain/elevations/request-source.js';
import { ApiError, AuditedRefusal } from '../../domain/errors.js';
import { FederationError } from '../../integrations/federation/workload-identity.js';
import { decideScrape, methodLabel } from '../../integrations/metrics/prometheus.js';
import type { AdminConsole } from '../admin/console.js';
import { countFailure, type AuthFailureLimit } from '../auth-failure-limit.js';
import { crossSiteRefusal } from '../cross-site.js';
import { callerOf, routeLabel } from './request-context.js';

export interface AuthenticationDeps {
  /** Bots by API key or workload identity token, admins by token, scrapers by either. */
  auth: Pick<
    Authenticator,
    | 'authenticateBotKey'
    | 'isWorkloadIdentityToken'
    | 'authenticateWorkloadIdentity'
    | 'authenticateAdmin'
    | 'authenticateBot'
  >;
  /** Where refused credentials are recorded. */
  audit: Pick<AuditService, 'recordRefusal'>;
  /** Failed authentications per source network. */
  authFailureLimit: AuthFailureLimit;
  /** The console, whose signed-in users may download evidence packs. */
  adminConsole: AdminConsole;
  /** Hash (`sha256:…`) of `ELEVATE_METRICS_TOKEN`; admin tokens may scrape `/metrics` either way. */
  metricsTokenHash?: string;
}

/** A guard: calls `next()` for a caller it lets through, throws an {@link ApiError} otherwise. */
export type Guard = (req: Request, res: Response, next: NextFunction) => Promise<void>;

/** The guards for each kind of caller. */
export interface Guards {
  bot: Guard;
  admin: Guard;
  /** An admin token, or a console session (a download link on the console's page). */
  adminOrConsole: Guard;
  /** The metrics token or an admin token, never a bot's key. */
  metrics: Guard;
}

const ANONYMOUS: Actor = { kind: 'anonymous', id: 'unknown' };

/** The bearer token, `''` if the header is malformed, undefined if absent. */
function bearer(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header === undefined) return undefined;
  // Up to 8 KiB: workload identity tokens (JWTs) are often over a kilobyte.
  return /^Bearer ([\x21-\x7e]{1,8192})$/.exec(header)?.[1] ?? '';
}

/** A short, non-reversible fingerprint of a presented credential, to correlate failed attempts. */
function fingerprint(secret: string): string {
  return hashSecret(secret).slice('sha256:'.length, 'sha256:'.length + 12);
}

export function authenticationGuards({
  auth,
  audit,
  authFailureLimit,
  adminConsole,
  metricsTokenHash,
}: AuthenticationDeps): Guards {
  const refuseAuth = async (
    req: Request,
    reason: string,
    actor: Actor,
    secret?: string,
    extra: Record<string, unknown> = {},
  ): Promise<void> => {
    // Only the route pattern (never the raw path, which is the caller's to choose and size);
    // the service bounds and aggregates refusals of anonymous callers.
    // An issuer whose keys cannot be fetched is not the caller's failure.
    if (actor.kind === 'anonymous' && reason !== 'jwks_unavailable') countFailure(authFailureLimit, req);
    await audit.recordRefusal('auth.refused', null, actor, {
      reason,
      method: methodLabel(req.method),
      path: routeLabel(req),
      ip: req.ip ?? null,
      userAgent: cleanUserAgent(req.get('user-agent')),
      ...(secret ? { credential: fingerprint(secret) } : {}),
      ...extra,
    });
  };

  /**
   * A source that failed to authenticate too often is refused before anything is looked up:
   * 429 with `Retry-After`, counted (metrics, and the audit trail's summaries), not audited one
   * by one.
   */
  const refuseIfFlooding = async (req: Request): Promise<void> => {
    const wait = authFailureLimit.retryAfter(req.ip);
    if (wait === 0) return;
    const receipt = await audit.recordRefusal('auth.refused', null, ANONYMOUS, {
      reason: 'rate_limited',
      method: methodLabel(req.method),
      path: routeLabel(req),
      ip: req.ip ?? null,
      userAgent: cleanUserAgent(req.get('user-agent')),
    });
    const error = new AuditedRefusal(
      receipt,
      'too_many_requests',
      `too many failed authentications from your network; retry after ${wait} seconds`,
      'authorization',
    );
    error.retryAfterSeconds = wait;
    throw error;
  };

  /** The presented bearer secret; a missing or malformed one is audited and refused. */
  const presented = async (req: Request, what: string): Promise<string> => {
    await refuseIfFlooding(req);
    const secret = bearer(req);
    if (secret) return secret;
    await refuseAuth(req, secret === undefined ? 'missing' : 'malformed', ANONYMOUS);
    throw new ApiError(
      'unauthenticated',
      `send the ${what} as "Authorization: Bearer <${what}>"`,
      'authorization',
    );
  };

  const bot: Guard = async (req, res, next) => {
    const secret = await presented(req, 'bot API key');
    let found: AuthenticatedBot | undefined;
    if (auth.isWorkloadIdentityToken(secret)) {
      try {
        found = await auth.authenticateWorkloadIdentity(secret);
      } catch (err) {
        if (!(err instanceof FederationError)) throw err;
        await refuseAuth(req, err.code, ANONYMOUS, secret, {
          authMethod: 'workload_identity',
          ...(err.issuer ? { issuer: err.issuer } : {}),
        });
        if (err.code === 'jwks_unavailable') {
          // Not the caller's fault: the issuer's keys cannot be fetched right now.
          throw new ApiError('service_unavailable', err.message);
        }
        throw new ApiError('unauthenticated', err.message, 'authorization');
      }
      if (!found) {
        // A valid token whose bot has left the policy: refused like any other, and recorded.
        await refuseAuth(req, 'unknown_bot', ANONYMOUS, secret, { authMethod: 'workload_identity' });
        throw new ApiError('unauthenticated', 'no bot is configured for this token', 'authorization');
      }
    } else {
      found = await auth.authenticateBotKey(secret);
      if (!found) {
        await refuseAuth(req, 'unknown_key', ANONYMOUS, secret, { authMethod: 'api_key' });
        throw new ApiError('unauthenticated', 'the API key is not valid', 'authorization');
      }
    }
    // The state read here travels with the request (a new elevation reads it once more, under the bot's lock).
    Object.assign(callerOf(res), {
      bot: found.bot,
      botState: found.state,
      ...(found.identity ? { identity: found.identity } : {}),
      source: requestSource(found.bot, {
        ip: req.ip ?? null,
        userAgent: cleanUserAgent(req.get('user-agent')),
        ...(found.identity ? { identity: found.identity } : {}),
      }),
    });
    next();
  };

  const admin: Guard = async (req, res, next) => {
    const secret = await presented(req, 'admin token');
    const found = auth.authenticateAdmin(secret);
    if (!found) {
      const asBot = await auth.authenticateBotKey(secret);
      if (asBot) {
        await refuseAuth(req, 'not_admin', { kind: 'bot', id: asBot.bot.id });
        throw new ApiError('forbidden', 'bots may not use the admin API', 'authorization');
      }
      await refuseAuth(req, 'unknown_token', ANONYMOUS, secret);
      throw new ApiError('unauthenticated', 'the admin token is not valid', 'authorization');
    }
    callerOf(res).admin = found;
    next();
  };

  const adminOrConsole: Guard = async (req, res, next) => {
    if (req.get('authorization') === undefined) {
      // The console's cookie rides along on any top-level navigation (SameSite=Lax): a pack is
      // an audited export that re-verifies the whole chain, so another site may not start one.
      const crossSite = crossSiteRefusal(req);
      if (crossSite) {
        await audit.recordRefusal('auth.refused', null, ANONYMOUS, {
          reason: 'cross_site',
          via: 'console',
          method: methodLabel(req.method),
          path: routeLabel(req),
          ip: req.ip ?? null,
          secFetchSite: crossSite,
        });
        throw new ApiError(
          'forbidden',
          'evidence packs are downloaded from the admin console, not from another site',
          'sec-fetch-site',
        );
      }
      const user = await adminConsole.authenticate(req);
      if (user) {
        callerOf(res).consoleUser = user.email;
        next();
        return;
      }
    }
    await admin(req, res, next);
  };

  // Counts of grants and approvals are sensitive (they show when privilege is held and when
  // revocations struggle): the metrics token or an admin token, never a bot's key.
  const metrics: Guard = async (req, _res, next) => {
    const secret = await presented(req, 'metrics token');
    const decision = decideScrape(secret, metricsTokenHash, auth);
    if (!decision.allowed) {
      if (decision.reason === 'not_admin') await refuseAuth(req, decision.reason, decision.actor);
      else await refuseAuth(req, decision.reason, ANONYMOUS, secret);
      throw new ApiError('unauthenticated', 'the metrics token is not valid', 'authorization');
    }
    next();
  };

  return { bot, admin, adminOrConsole, metrics };
}
