/**
 * The HTTP API as an Express app, built from its dependencies and started elsewhere (tests
 * listen on port 0). Transport only: every rule lives in the domain's capability services
 * (`domain/domain-services.ts`).
 *
 * The routes are those of the route table (`server/openapi/routes/`), registered from it with
 * their guards and handlers (`server/http/`); the Slack app, the approval pages and the console
 * are mounted beside them. Errors are one JSON shape, `{error: {code, message, field?}}`; 4xx
 * name the field at fault (`server/http/errors.ts`).
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { DomainServices } from '../domain/domain-services.js';
import { methodLabel, statusClass, type Metrics } from '../integrations/metrics/prometheus.js';
import { adminConsoleOff, type AdminConsole } from './admin/console.js';
import { AuthFailureLimit } from './auth-failure-limit.js';
import type { HealthCheck } from './health.js';
import { adminHandlers } from './http/admin-handlers.js';
import { authenticationGuards } from './http/authentication.js';
import { botHandlers } from './http/bot-handlers.js';
import { answerErrors } from './http/errors.js';
import { operationHandlers } from './http/operation-handlers.js';
import { routeLabel } from './http/request-context.js';
import { serveRoutes } from './http/routes.js';
import { ADMIN_ROUTES } from './openapi/routes/admins.js';
import { BOT_ROUTES } from './openapi/routes/bots.js';
import { OPERATION_ROUTES } from './openapi/routes/operations.js';

export interface AppDeps {
  /**
   * Authentication (workload identity included), the bots' requests, bot administration, the
   * least-privilege report, the audit trail.
   */
  services: Pick<DomainServices, 'auth' | 'requests' | 'bots' | 'leastPrivilege' | 'audit'>;
  healthChecks: Record<string, HealthCheck>;
  logger: Logger;
  /** Express `trust proxy`: set when a reverse proxy fronts the API, so audited IPs are the callers'. */
  trustProxy?: boolean | number | string;
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

export function createApp({
  services,
  healthChecks,
  logger,
  trustProxy = false,
  routers = [],
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

  // Each route of the table, registered with the guards its `security` names and its handler.
  const guards = authenticationGuards({
    auth: services.auth,
    audit: services.audit,
    authFailureLimit,
    adminConsole,
    metricsTokenHash,
  });
  serveRoutes(app, BOT_ROUTES, botHandlers({ requests: services.requests, metrics, shutdown }), {
    guards: { bot: [guards.bot] },
  });
  serveRoutes(app, ADMIN_ROUTES, adminHandlers(services), {
    guards: { admin: [guards.admin], adminOrConsole: [guards.adminOrConsole] },
  });
  serveRoutes(
    app,
    OPERATION_ROUTES,
    operationHandlers({ healthChecks, healthCacheMs, shutdown, metrics, roles: services.requests.roleIds() }),
    { guards: { none: [], metrics: [guards.metrics] } },
  );

  for (const router of routers) app.use(router);
  app.use(adminConsole.router);

  answerErrors(app, { audit: services.audit, metrics });
  return app;
}
