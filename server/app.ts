/**
 * The HTTP API as an Express app, built from its dependencies and started elsewhere (tests
 * listen on port 0). Transport only: every rule lives in {@link ElevationService}.
 *
 * Errors are one JSON shape, `{error: {code, message, field?}}`; 4xx name the field at fault.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { z } from 'zod';
import { formatPath } from '../config/load-policy.js';
import type { AdminPolicy, BotPolicy } from '../config/policy.js';
import { hashSecret } from '../core/crypto/credentials.js';
import { type ElevationService } from '../domain/elevation-service.js';
import { ApiError } from '../domain/errors.js';
import { httpStatusOf } from './http-status.js';
import {
  FederationError,
  WorkloadIdentityVerifier,
  type WorkloadIdentity,
} from '../integrations/federation/workload-identity.js';
import type { Actor, BotIdentity, ElevationView } from '../core/model/elevation.js';
import { isFinal } from '../core/rules/elevation-view.js';
import { cachedHealthChecks, type HealthCheck } from './health.js';
import { contentTypeOf } from '../integrations/audit/export.js';
import { mountApiReference } from './openapi/serve.js';
import { allowedMethods } from './allowed-methods.js';
import { isClientAbort, toApiError } from './request-errors.js';
import { elevationQuery } from './elevation-filters.js';
import { adminConsoleOff, type AdminConsole } from './admin-console.js';
import { AuthFailureLimit, countFailure } from './auth-failure-limit.js';
import { crossSiteRefusal } from './cross-site.js';
import { decideScrape, methodLabel, statusClass, type Metrics } from '../integrations/metrics/prometheus.js';
import {
  botChangeBodySchema,
  botIdSchema,
  botLockBodySchema,
  elevationIdSchema,
  elevationRequestSchema,
  exportQuerySchema,
  listQuerySchema,
  revokeBodySchema,
  verifyQuerySchema,
  waitQuerySchema,
} from './schemas.js';

export interface AppDeps {
  service: ElevationService;
  healthChecks: Record<string, HealthCheck>;
  logger: Logger;
  /** Express `trust proxy`: set when a reverse proxy fronts the API, so audited IPs are the callers'. */
  trustProxy?: boolean | number | string;
  /** Verifies workload identity tokens that bots may present instead of their API key. */
  federation?: WorkloadIdentityVerifier;
  /** More routes served by the same app: the Slack app and the approval pages. */
  routers?: express.Router[];
  /** The process's metrics: HTTP requests and elevation requests are counted, and `GET /metrics` serves them. */
  metrics?: Metrics;
  /** Hash (`sha256:…`) of `ELEVATE_METRICS_TOKEN`; admin tokens may scrape `/metrics` either way. */
  metricsTokenHash?: string;
  /** The admin console under `/admin` (without one, its pages say how to turn it on). */
  adminConsole?: AdminConsole;
  /**
   * Aborted when the process starts to stop: `/readyz` answers 503 so balancers send nothing
   * new, and waiting long-polls answer at once with the current state.
   */
  shutdown?: AbortSignal;
  /**
   * How long a readiness result is reused (`ELEVATE_HEALTH_CACHE_MS`); 0 (the default here) runs
   * the checks for every probe, though never two rounds at once.
   */
  healthCacheMs?: number;
  /**
   * Failed authentications per source network (shared with the approval pages and the console):
   * a source over it gets 429 before any credential is looked up. Default: its own, with the
   * default numbers.
   */
  authFailureLimit?: AuthFailureLimit;
  /** Send `Strict-Transport-Security` (when the public URL is https). */
  strictTransportSecurity?: boolean;
}

interface Locals {
  bot?: BotPolicy;
  /** How the bot authenticated, when it used a workload identity token. */
  identity?: BotIdentity;
  admin?: AdminPolicy;
  /** The elevation the request is about, once its id parsed. */
  elevationId?: string;
  /** The console user (e-mail), when an admin route was called with a console session instead of a token. */
  consoleUser?: string;
}

/** Parse with a zod schema; the first issue becomes a 400 naming its field. */
function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const field = formatPath([...path, issue.keys[0] ?? '']);
    throw new ApiError('invalid_request', `${field}: unknown field`, field);
  }
  // A query parameter is named as the caller wrote it (`status`, not `status[0]`).
  const field = path.length === 0 ? where : where === 'query' ? String(path[0]) : formatPath(path);
  const missing = issue.code === 'invalid_type' && valueAt(value, path) === undefined;
  throw new ApiError('invalid_request', `${field}: ${missing ? 'is required' : issue.message}`, field);
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const p of path)
    v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

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

/** The route pattern that answered (never the raw path, which carries ids), or `unmatched`. */
function routeLabel(req: Request): string {
  const route = req.route as { path?: string | RegExp | (string | RegExp)[] } | undefined;
  return route?.path === undefined ? 'unmatched' : req.baseUrl + String(route.path);
}

export function createApp({
  service,
  healthChecks,
  logger,
  trustProxy = false,
  routers = [],
  federation,
  metrics,
  metricsTokenHash,
  adminConsole = adminConsoleOff(),
  shutdown,
  healthCacheMs = 0,
  authFailureLimit = new AuthFailureLimit(),
  strictTransportSecurity = false,
}: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxy);

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          // Approval links and the provider's callback carry one-time secrets in the query.
          url: req.url.replace(/([?&](?:ticket|code|state|session_state)=)[^&]*/g, '$1[redacted]'),
        }),
      },
    }),
  );
  if (metrics) {
    app.use((req, res, next) => {
      const started = process.hrtime.bigint();
      res.on('close', () => {
        const labels = {
          method: methodLabel(req.method),
          route: routeLabel(req),
          // A connection the caller closed before the answer (e.g. a long-poll given up).
          status_class: res.writableFinished ? statusClass(res.statusCode) : 'aborted',
        };
        metrics.httpRequests.inc(labels);
        metrics.httpRequestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    });
  }
  app.use((_req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    // Served over https: browsers must never fall back to http for this host (cookies, tickets).
    if (strictTransportSecurity) res.setHeader('strict-transport-security', 'max-age=31536000');
    next();
  });

  // Liveness: the process answers. Orchestrators restart it when this stops answering.
  app.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Readiness: everything Elevate needs answers, and the process is not stopping. One round of
  // checks at a time, reused for `healthCacheMs`: probes cannot fan out to Temporal, the store
  // and LDAP faster than that.
  const health = cachedHealthChecks(healthChecks, healthCacheMs);
  const ready = async (req: Request, res: Response) => {
    if (shutdown?.aborted) {
      res.status(503).json({ status: 'draining', checks: {} });
      return;
    }
    const report = await health();
    if (report.status !== 'ok') req.log.warn({ checks: report.checks }, 'health check failed');
    // Unauthenticated: which part is down, never addresses, DNs, error text or latencies
    // (those are in the log line above).
    const checks = Object.fromEntries(Object.entries(report.checks).map(([name, c]) => [name, { ok: c.ok }]));
    res.status(report.status === 'ok' ? 200 : 503).json({ status: report.status, checks });
  };
  app.get('/readyz', ready);
  app.get('/healthz', ready);
  // GET /openapi.json and /docs/api: the reference, generated from the schemas and this policy's roles.
  mountApiReference(app, { roles: service.roleIds() });

  const jsonBody = express.json({ limit: '16kb', strict: true });
  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (hasBody && !req.is('application/json')) {
      next(new ApiError('unsupported_media_type', 'content-type must be application/json', 'content-type'));
      return;
    }
    next();
  };

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
    await service.recordRefusal('auth.refused', null, actor, {
      reason,
      method: methodLabel(req.method),
      path: routeLabel(req),
      ip: req.ip ?? null,
      ...(secret ? { credential: fingerprint(secret) } : {}),
      ...extra,
    });
  };

  const ANONYMOUS: Actor = { kind: 'anonymous', id: 'unknown' };

  /**
   * A source that failed to authenticate too often is refused before anything is looked up:
   * 429 with `Retry-After`, counted (metrics, and the audit trail's summaries), not audited one
   * by one.
   */
  const refuseIfFlooding = async (req: Request): Promise<void> => {
    const wait = authFailureLimit.retryAfter(req.ip);
    if (wait === 0) return;
    await service.recordRefusal('auth.refused', null, ANONYMOUS, {
      reason: 'rate_limited',
      method: methodLabel(req.method),
      path: routeLabel(req),
      ip: req.ip ?? null,
    });
    const error = new ApiError(
      'too_many_requests',
      `too many failed authentications from your network; retry after ${wait} seconds`,
      'authorization',
    ).recorded();
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

  const requireBot = async (req: Request, res: Response, next: NextFunction) => {
    const secret = await presented(req, 'bot API key');
    if (federation && WorkloadIdentityVerifier.looksLikeJwt(secret)) {
      let identity: WorkloadIdentity;
      try {
        identity = await federation.verify(secret);
      } catch (err) {
        if (!(err instanceof FederationError)) throw err;
        await refuseAuth(req, err.code, ANONYMOUS, secret, err.issuer ? { issuer: err.issuer } : {});
        if (err.code === 'jwks_unavailable') {
          // Not the caller's fault: the issuer's keys cannot be fetched right now.
          throw new ApiError('service_unavailable', err.message);
        }
        throw new ApiError('unauthenticated', err.message, 'authorization');
      }
      const bot = service.botById(identity.botId);
      if (!bot) throw new ApiError('unauthenticated', 'no bot is configured for this token', 'authorization');
      const { botId: _bot, ...rest } = identity;
      Object.assign(res.locals as Locals, { bot, identity: { kind: 'workload_identity', ...rest } });
      next();
      return;
    }
    const bot = await service.authenticateBotKey(secret);
    if (!bot) {
      await refuseAuth(req, 'unknown_key', ANONYMOUS, secret);
      throw new ApiError('unauthenticated', 'the API key is not valid', 'authorization');
    }
    (res.locals as Locals).bot = bot;
    next();
  };

  const requireAdmin = async (req: Request, res: Response, next: NextFunction) => {
    const secret = await presented(req, 'admin token');
    const admin = service.authenticateAdmin(secret);
    if (!admin) {
      const bot = await service.authenticateBotKey(secret);
      if (bot) {
        await refuseAuth(req, 'not_admin', { kind: 'bot', id: bot.id });
        throw new ApiError('forbidden', 'bots may not use the admin API', 'authorization');
      }
      await refuseAuth(req, 'unknown_token', ANONYMOUS, secret);
      throw new ApiError('unauthenticated', 'the admin token is not valid', 'authorization');
    }
    (res.locals as Locals).admin = admin;
    next();
  };

  const botOf = (res: Response): BotPolicy => (res.locals as Locals).bot!;
  const adminOf = (res: Response): AdminPolicy => (res.locals as Locals).admin!;
  const idOf = (req: Request, res: Response): string => {
    const id = parse(elevationIdSchema, req.params.id, 'id');
    (res.locals as Locals).elevationId = id;
    return id;
  };
  /** What a bot may see of its elevation: operator diagnostics (`lastError`) stay with admins. */
  const forBot = ({ lastError: _hidden, ...view }: ElevationView): Omit<ElevationView, 'lastError'> => view;

  // ---- bot API --------------------------------------------------------------------------------

  app.post('/v1/elevations', requireBot, requireJson, jsonBody, async (req, res) => {
    if (req.body === undefined) {
      throw new ApiError(
        'unsupported_media_type',
        'send a JSON body with content-type application/json',
        'content-type',
      );
    }
    const body = parse(elevationRequestSchema, req.body, 'body');
    const { elevation, replayed } = await service.request(botOf(res), body, (res.locals as Locals).identity);
    metrics?.elevationRequests.inc({ outcome: replayed ? 'replayed' : 'accepted' });
    if (replayed) res.setHeader('idempotent-replayed', 'true');
    res.status(202).location(`/v1/elevations/${elevation.id}`).json(forBot(elevation));
  });

  app.get('/v1/elevations/:id', requireBot, async (req, res) => {
    const id = idOf(req, res);
    const { waitSeconds, until } = parse(waitQuerySchema, req.query, 'query');
    const scope = { kind: 'bot', botId: botOf(res).id } as const;
    if (!waitSeconds) {
      res.json(forBot(await service.get(id, scope)));
      return;
    }
    const gone = new AbortController();
    const stop = () => gone.abort();
    res.on('close', stop);
    shutdown?.addEventListener('abort', stop, { once: true });
    try {
      res.json(forBot(await service.waitForChange(id, scope, waitSeconds, gone.signal, until)));
    } finally {
      // One listener per long-poll on a signal that lives as long as the process: take it off.
      shutdown?.removeEventListener('abort', stop);
    }
  });

  app.post('/v1/elevations/:id/revoke', requireBot, requireJson, jsonBody, async (req, res) => {
    const id = idOf(req, res);
    const { reason } = parse(revokeBodySchema, req.body ?? {}, 'body');
    const bot = botOf(res);
    const view = await service.revoke(
      id,
      { kind: 'bot', id: bot.id },
      { kind: 'bot', botId: bot.id },
      reason,
    );
    res.status(isFinal(view) ? 200 : 202).json(forBot(view));
  });

  // AWS credentials mode: the session's temporary credentials, once. POST, not GET: it changes
  // state (a second call is refused), and no proxy or browser caches or prefetches a POST.
  app.post('/v1/elevations/:id/credentials', requireBot, async (req, res) => {
    const id = idOf(req, res);
    const credentials = await service.deliverCredentials(id, botOf(res).id, { ip: req.ip ?? null });
    res.setHeader('pragma', 'no-cache');
    res.json(credentials);
  });

  // ---- admin API ------------------------------------------------------------------------------

  app.get('/v1/admin/elevations', requireAdmin, async (req, res) => {
    const q = parse(listQuerySchema, req.query, 'query');
    const page = await service.list(elevationQuery(q, q.limit, (at) => new Date(at).toISOString()));
    res.json(page);
  });

  app.get('/v1/admin/elevations/:id', requireAdmin, async (req, res) => {
    res.json(await service.timeline(idOf(req, res)));
  });

  // The evidence pack: also for a signed-in console user (a download link on the console's page).
  const requireAdminOrConsole = async (req: Request, res: Response, next: NextFunction) => {
    if (req.get('authorization') === undefined) {
      // The console's cookie rides along on any top-level navigation (SameSite=Lax): a pack is
      // an audited export that re-verifies the whole chain, so another site may not start one.
      const crossSite = crossSiteRefusal(req);
      if (crossSite) {
        await service.recordRefusal('auth.refused', null, ANONYMOUS, {
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
        (res.locals as Locals).consoleUser = user.email;
        next();
        return;
      }
    }
    await requireAdmin(req, res, next);
  };

  app.get('/v1/admin/elevations/:id/evidence', requireAdminOrConsole, async (req, res) => {
    const id = idOf(req, res);
    const { consoleUser } = res.locals as Locals;
    const pack = consoleUser
      ? await service.evidencePack(id, { kind: 'admin', id: consoleUser }, 'console')
      : await service.evidencePack(id, { kind: 'admin', id: adminOf(res).id }, 'api');
    res.setHeader('content-disposition', `attachment; filename="elevate-evidence-${id}.json"`);
    res.json(pack);
  });

  app.post('/v1/admin/elevations/:id/revoke', requireAdmin, requireJson, jsonBody, async (req, res) => {
    const id = idOf(req, res);
    const body = parse(revokeBodySchema, req.body ?? {}, 'body');
    if (!body.reason)
      throw new ApiError('invalid_request', 'reason: is required for an admin revocation', 'reason');
    const admin = adminOf(res);
    const view = await service.revoke(id, { kind: 'admin', id: admin.id }, { kind: 'admin' }, body.reason);
    res.status(isFinal(view) ? 200 : 202).json(view);
  });

  app.get('/v1/admin/audit/verify', requireAdmin, async (req, res) => {
    const { anchor } = parse(verifyQuerySchema, req.query, 'query');
    res.json(await service.verifyAudit(anchor ? [anchor] : []));
  });

  // Streamed page by page with backpressure: a slow reader holds one page, not the whole log.
  app.get('/v1/admin/audit/export', requireAdmin, async (req, res) => {
    const q = parse(exportQuerySchema, req.query, 'query');
    const chunks = await service.exportAudit(
      {
        format: q.format,
        ...(q.since ? { since: new Date(q.since).toISOString() } : {}),
        ...(q.until ? { until: new Date(q.until).toISOString() } : {}),
      },
      { kind: 'admin', id: adminOf(res).id },
    );
    const ext = q.format === 'csv' ? 'csv' : 'jsonl';
    res.setHeader('content-type', contentTypeOf(q.format));
    res.setHeader(
      'content-disposition',
      `attachment; filename="elevate-audit-${q.format}-${new Date().toISOString().replace(/[:.]/g, '-')}.${ext}"`,
    );
    try {
      await pipeline(Readable.from(chunks), res);
    } catch (err) {
      // Past the headers an error cannot become a JSON answer: cut the connection, so the
      // client sees a truncated transfer instead of a complete-looking file.
      req.log.error({ err }, 'audit export failed part-way');
      res.destroy(err as Error);
    }
  });

  // Bots at runtime: lockdown, disable/enable, key rotation. Each change is audited with the
  // admin as actor; the policy file stays the source of which bots exist and what they may do.
  const botIdOf = (req: Request): string => parse(botIdSchema, req.params.id, 'id');
  const adminActor = (res: Response): Actor => ({ kind: 'admin', id: adminOf(res).id });

  app.get('/v1/admin/bots', requireAdmin, async (_req, res) => {
    res.json({ items: await service.listBots() });
  });

  app.get('/v1/admin/bots/:id', requireAdmin, async (req, res) => {
    res.json(await service.getBot(botIdOf(req)));
  });

  app.post('/v1/admin/bots/:id/lock', requireAdmin, requireJson, jsonBody, async (req, res) => {
    const id = botIdOf(req);
    const { reason } = parse(botLockBodySchema, req.body ?? {}, 'body');
    res.json(await service.lockBot(id, adminActor(res), reason));
  });

  app.post('/v1/admin/bots/:id/unlock', requireAdmin, requireJson, jsonBody, async (req, res) => {
    const id = botIdOf(req);
    const { reason } = parse(botLockBodySchema, req.body ?? {}, 'body');
    res.json(await service.unlockBot(id, adminActor(res), reason));
  });

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(`/v1/admin/bots/:id/${action}`, requireAdmin, requireJson, jsonBody, async (req, res) => {
      const id = botIdOf(req);
      const { reason } = parse(botChangeBodySchema, req.body ?? {}, 'body');
      res.json(await service.setBotDisabled(id, disabled, adminActor(res), reason));
    });
  }

  // The new key is in this answer and nowhere else: `cache-control: no-store` (set for every
  // answer) and `pragma: no-cache` keep it out of caches.
  app.post('/v1/admin/bots/:id/rotate-key', requireAdmin, requireJson, jsonBody, async (req, res) => {
    const id = botIdOf(req);
    const { reason } = parse(botChangeBodySchema, req.body ?? {}, 'body');
    const rotation = await service.rotateBotKey(id, adminActor(res), reason);
    res.setHeader('pragma', 'no-cache');
    res.json(rotation);
  });

  // Counts of grants and approvals are sensitive (they show when privilege is held and when
  // revocations struggle): the metrics token or an admin token, never a bot's key.
  if (metrics) {
    app.get('/metrics', async (req, res) => {
      const secret = await presented(req, 'metrics token');
      const decision = decideScrape(secret, metricsTokenHash, service);
      if (!decision.allowed) {
        if (decision.reason === 'not_admin') await refuseAuth(req, decision.reason, decision.actor);
        else await refuseAuth(req, decision.reason, ANONYMOUS, secret);
        throw new ApiError('unauthenticated', 'the metrics token is not valid', 'authorization');
      }
      res.setHeader('content-type', metrics.registry.contentType);
      res.send(await metrics.registry.metrics());
    });
  }

  for (const router of routers) app.use(router);
  app.use(adminConsole.router);

  // ---- errors ---------------------------------------------------------------------------------

  app.use((req, res, next) => {
    // A path served with other methods is 405 with `Allow`, not 404 (RFC 9110 §15.5.6).
    const allow = allowedMethods(app, req.path);
    if (allow.length > 0 && !allow.includes(req.method)) {
      res.setHeader('allow', allow.join(', '));
      next(new ApiError('method_not_allowed', `${req.method} is not allowed here; use ${allow.join(', ')}`));
      return;
    }
    next(new ApiError('not_found', `no route ${req.method} ${req.path}`));
  });

  // Express recognises an error handler by its four parameters.
  app.use(async (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = toApiError(err);
    if (req.method === 'POST' && routeLabel(req) === '/v1/elevations') {
      metrics?.elevationRequests.inc({ outcome: error.code });
    }
    if (isClientAbort(err)) {
      // The client went away mid-body: nothing failed here, and there is nobody to answer.
      req.log.info({ code: error.code }, 'client aborted the request body');
      return;
    }
    const status = httpStatusOf(error);
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
    } else if (status !== 401 && error.code !== 'forbidden' && !error.audited) {
      // Every refused attempt by a known caller is part of the audit trail.
      const { bot, admin } = res.locals as Locals;
      const actor: Actor | undefined = bot
        ? { kind: 'bot', id: bot.id }
        : admin
          ? { kind: 'admin', id: admin.id }
          : undefined;
      if (actor) {
        const id = (res.locals as Locals).elevationId ?? null;
        await service.recordRefusal('request.refused', id, actor, {
          method: req.method,
          path: req.route ? String((req.route as { path: unknown }).path) : req.path,
          code: error.code,
          field: error.field ?? null,
          message: error.message,
        });
      }
    }
    if (res.headersSent) return;
    if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
    res.status(status).json({
      error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) },
    });
  });

  return app;
}
