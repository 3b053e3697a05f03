/**
 * The worker's own small HTTP endpoint, for a worker process that runs without the API:
 * `/metrics` (protected as the API's is) and the `/livez` and `/readyz` probes.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DEFAULT_HTTP_LIMITS, type HttpServerLimits } from '../config/http-limits.js';
import type { Actor } from '../core/model/elevation.js';
import type { AuditService } from '../domain/audit/audit-service.js';
import {
  decideScrape,
  scrapeFingerprint,
  type Metrics,
  type ScrapeCredentials,
} from '../integrations/metrics/prometheus.js';
import { cachedHealthChecks, type HealthCheck, type HealthReport } from '../server/health.js';
import { listenWithLimits } from './http-server.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  metrics: Metrics;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Hash (`sha256:…`) of `ELEVATE_METRICS_TOKEN`, when set; admin tokens are accepted either way. */
  tokenHash?: string;
  /** Checks tokens, as the API does. */
  auth: ScrapeCredentials;
  /** Records refused scrapes (`auth.refused`), as the API does. */
  audit: Pick<AuditService, 'recordRefusal'>;
  logger: Logger;
  /**
   * The worker's probes, unauthenticated as the API's are: `GET /livez` (the process answers)
   * and `GET /readyz` (these checks pass and the process is not stopping).
   */
  health?: { checks: Record<string, HealthCheck>; shutdown: AbortSignal; cacheMs?: number };
  /** Limits on slow and numerous clients (`ELEVATE_HTTP_*`); unset, the defaults. */
  limits?: HttpServerLimits;
}

/**
 * A tiny HTTP server for a worker process that runs without the API (the API serves these
 * itself): `GET /metrics`, with the same protection as the API's endpoint, and the probes
 * `GET /livez` and `GET /readyz`. Resolves once listening; close the returned server to stop it.
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<Server> {
  const { metrics, auth, audit, logger } = opts;
  const answer = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="elevate-metrics"' } : {}),
    });
    res.end(JSON.stringify({ error: { code, message } }));
  };
  const refuse = async (req: IncomingMessage, reason: string, actor: Actor, token?: string) => {
    await audit.recordRefusal('auth.refused', null, actor, {
      reason,
      method: req.method ?? 'GET',
      path: '/metrics',
      ip: req.socket.remoteAddress ?? null,
      ...(token ? { credential: scrapeFingerprint(token) } : {}),
    });
  };
  // As the API's: one round of checks at a time, reused for `cacheMs` (probes cannot fan out).
  const health = opts.health && {
    ...opts.health,
    report: cachedHealthChecks(opts.health.checks, opts.health.cacheMs ?? 0),
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (health && (path === '/livez' || path === '/readyz') && req.method === 'GET') {
      return probe(res, path, health);
    }
    if (path !== '/metrics') return answer(res, 404, 'not_found', `no route ${req.method} ${path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return answer(res, 404, 'not_found', `no route ${req.method} ${path}`);
    }
    const header = req.headers.authorization;
    const token =
      header === undefined ? undefined : (/^Bearer ([\x21-\x7e]{1,8192})$/.exec(header)?.[1] ?? '');
    if (!token) {
      await refuse(req, token === undefined ? 'missing' : 'malformed', { kind: 'anonymous', id: 'unknown' });
      return answer(res, 401, 'unauthenticated', 'send the metrics token as "Authorization: Bearer <token>"');
    }
    const decision = decideScrape(token, opts.tokenHash, auth);
    if (!decision.allowed) {
      if (decision.reason === 'not_admin') await refuse(req, decision.reason, decision.actor);
      else await refuse(req, decision.reason, { kind: 'anonymous', id: 'unknown' }, token);
      return answer(res, 401, 'unauthenticated', 'the metrics token is not valid');
    }
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  return listenWithLimits(
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'metrics scrape failed');
        if (!res.headersSent) answer(res, 500, 'internal', 'internal error');
        else res.destroy();
      });
    },
    opts.limits ?? DEFAULT_HTTP_LIMITS,
    opts.port,
    opts.host,
  );
}

/** Answer a probe of the worker's small server: what is down by name only, as `/readyz` does. */
async function probe(
  res: ServerResponse,
  path: '/livez' | '/readyz',
  health: { shutdown: AbortSignal; report: () => Promise<HealthReport> },
): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  if (path === '/livez') return send(200, { status: 'ok' });
  if (health.shutdown.aborted) return send(503, { status: 'draining', checks: {} });
  const report = await health.report();
  const checks = Object.fromEntries(Object.entries(report.checks).map(([n, c]) => [n, { ok: c.ok }]));
  send(report.status === 'ok' ? 200 : 503, { status: report.status, checks });
}
