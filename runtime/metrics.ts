/**
 * Prometheus metrics: one registry per process, the metrics Elevate records into it, and the
 * protected `GET /metrics` endpoint that serves it (on the API's own port, or on
 * `ELEVATE_METRICS_PORT` in a worker process without the API).
 *
 * Why the endpoint needs a token: the counts say how many privileges are held right now, how
 * many requests wait for approval, and when revocations fail, which tells an attacker when
 * Elevate is weakest. So a scrape must present `ELEVATE_METRICS_TOKEN` or an admin token, like
 * the admin API; refused scrapes are recorded in the audit trail like any refused attempt.
 *
 * Labels never carry an elevation id, a principal, a URL or a secret: only bounded sets of
 * names (route patterns, target types, error class names), so the series count stays small.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { hashSecret, sameHash } from '../domain/credentials.js';
import type { Actor, ElevationStatus } from '../workflows/definitions.js';

/** Prefix of every metric name, Node's process metrics included. */
export const METRICS_PREFIX = 'elevate_';

/** Buckets of `elevate_revocation_lag_seconds`: 10 ms to a minute. */
export const REVOCATION_LAG_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Buckets of `elevate_http_request_duration_seconds`, up to a minute (long-polls wait). */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What {@link createMetrics} needs; everything is optional. */
export interface MetricsOptions {
  /**
   * How many elevations are in each status, read at each scrape for the
   * `elevate_active_grants` and `elevate_pending_approvals` gauges (one call per scrape).
   * Without it the two gauges are left out.
   */
  statusCounts?: () => Promise<Record<ElevationStatus, number>>;
  /** Told when `statusCounts` fails; that scrape then leaves the two gauges out. */
  onCollectError?: (err: unknown) => void;
  /** Node's process metrics (CPU, memory, event loop, GC), prefixed `elevate_`. Default true. */
  processMetrics?: boolean;
}

/** The metrics of one process, typed, all in {@link Metrics.registry}. */
export interface Metrics {
  /** The process's own registry (not prom-client's global one). */
  registry: Registry;
  /** `elevate_http_requests_total{method,route,status_class}`. */
  httpRequests: Counter<'method' | 'route' | 'status_class'>;
  /** `elevate_http_request_duration_seconds{method,route,status_class}`. */
  httpRequestDuration: Histogram<'method' | 'route' | 'status_class'>;
  /** `elevate_elevation_requests_total{outcome}`: `accepted`, `replayed`, or the refusal's error code. */
  elevationRequests: Counter<'outcome'>;
  /** `elevate_active_grants`: elevations `active` or `revoking` (computed at scrape time). */
  activeGrants: Gauge;
  /** `elevate_pending_approvals`: elevations `pending_approval` (computed at scrape time). */
  pendingApprovals: Gauge;
  /** `elevate_revocation_lag_seconds{target_type}`: confirmed removal minus window end. */
  revocationLag: Histogram<'target_type'>;
  /** `elevate_revocations_total{target_type,outcome}`: `removed`, or `kept` for other holders. */
  revocations: Counter<'target_type' | 'outcome'>;
  /** `elevate_revoke_failures_total{target_type}`: every failed revocation attempt. */
  revokeFailures: Counter<'target_type'>;
  /** `elevate_grants_total{target_type,outcome}`: `granted`, `already_present` or `failed` (per attempt). */
  grants: Counter<'target_type' | 'outcome'>;
  /** `elevate_target_errors_total{target_type,error}`: the target error's class name. */
  targetErrors: Counter<'target_type' | 'error'>;
  /** `elevate_drift_findings_total{target_type,outcome}`: `alerted` or `reverted`. */
  driftFindings: Counter<'target_type' | 'outcome'>;
  /** `elevate_slack_api_errors_total{method}`: every failed Slack Web API attempt. */
  slackApiErrors: Counter<'method'>;
  /** `elevate_oidc_errors_total{stage}`: `discovery`, `token` (code exchange) or `claims`. */
  oidcErrors: Counter<'stage'>;
}

/** A fresh registry with every Elevate metric in it. Call once per process (tests may call it more). */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });

  // Both gauges come from one query: the first collect of a scrape starts it, the other shares it.
  let inFlight: Promise<Record<ElevationStatus, number> | undefined> | undefined;
  const counts = (): Promise<Record<ElevationStatus, number> | undefined> => {
    const source = opts.statusCounts;
    if (!source) return Promise.resolve(undefined);
    inFlight ??= source()
      .catch((err: unknown) => {
        opts.onCollectError?.(err);
        return undefined;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const fromCounts = (pick: (c: Record<ElevationStatus, number>) => number) =>
    async function (this: Gauge) {
      const c = await counts();
      // Unknown this time: leave the series out rather than report a stale or made-up number.
      if (c) this.set(pick(c));
      else this.remove();
    };

  return {
    registry,
    httpRequests: new Counter({
      name: 'elevate_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern (unmatched for unknown paths) and status class.',
      labelNames: ['method', 'route', 'status_class'] as const,
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'elevate_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to the end of its answer, in seconds (long-polls included).',
      labelNames: ['method', 'route', 'status_class'] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    }),
    elevationRequests: new Counter({
      name: 'elevate_elevation_requests_total',
      help: 'Elevation requests (POST /v1/elevations) answered: accepted, replayed (same requestId), or the error code of the refusal.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    activeGrants: new Gauge({
      name: 'elevate_active_grants',
      help: 'Elevations whose grant is in place: status active, or revoking until the target confirms the removal.',
      registers,
      collect: fromCounts((c) => c.active + c.revoking),
    }),
    pendingApprovals: new Gauge({
      name: 'elevate_pending_approvals',
      help: 'Elevations waiting for approvers (status pending_approval).',
      registers,
      collect: fromCounts((c) => c.pending_approval),
    }),
    revocationLag: new Histogram({
      name: 'elevate_revocation_lag_seconds',
      help: 'For elevations revoked at the end of their window: seconds from the window end until the target confirmed the removal.',
      labelNames: ['target_type'] as const,
      buckets: REVOCATION_LAG_BUCKETS,
      registers,
    }),
    revocations: new Counter({
      name: 'elevate_revocations_total',
      help: 'Revocations confirmed by reading the target back: removed, or kept because other elevations still hold the same grant.',
      labelNames: ['target_type', 'outcome'] as const,
      registers,
    }),
    revokeFailures: new Counter({
      name: 'elevate_revoke_failures_total',
      help: 'Failed revocation attempts (each is retried until the target confirms the removal).',
      labelNames: ['target_type'] as const,
      registers,
    }),
    grants: new Counter({
      name: 'elevate_grants_total',
      help: 'Grant attempts: granted, already_present (another elevation holds the same grant), or failed.',
      labelNames: ['target_type', 'outcome'] as const,
      registers,
    }),
    targetErrors: new Counter({
      name: 'elevate_target_errors_total',
      help: 'Errors of a target during grant and revocation attempts, by error class (e.g. TargetUnreachableError).',
      labelNames: ['target_type', 'error'] as const,
      registers,
    }),
    driftFindings: new Counter({
      name: 'elevate_drift_findings_total',
      help: 'Grants found in a target that no elevation explains: alerted, or reverted (removed).',
      labelNames: ['target_type', 'outcome'] as const,
      registers,
    }),
    slackApiErrors: new Counter({
      name: 'elevate_slack_api_errors_total',
      help: 'Failed Slack Web API attempts (rate limits and retried ones included), by method.',
      labelNames: ['method'] as const,
      registers,
    }),
    oidcErrors: new Counter({
      name: 'elevate_oidc_errors_total',
      help: "Failures at the approvers' OpenID Connect provider, by stage: discovery, token (code exchange) or claims (MFA, freshness, e-mail).",
      labelNames: ['stage'] as const,
      registers,
    }),
  };
}

/** The `status_class` label of an HTTP status: `2xx`, `4xx`, … */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The `method` label: the usual methods as sent, anything else `other` (bounded). */
export function methodLabel(method: string | undefined): string {
  return method && METHODS.has(method) ? method : 'other';
}

// ---- who may scrape ----------------------------------------------------------------------------

/** What the scrape check needs to know about credentials; {@link ElevationService} provides it. */
export interface ScrapeCredentials {
  authenticateAdmin(token: string): unknown;
  authenticateBot(token: string): { id: string } | undefined;
}

/** Whether a token may scrape, and if not, who presented it (for the audit trail). */
export type ScrapeDecision =
  | { allowed: true }
  | { allowed: false; reason: 'not_admin'; actor: Actor }
  | { allowed: false; reason: 'unknown_token' };

/**
 * Decide a scrape: allowed for `ELEVATE_METRICS_TOKEN` (compared by hash in constant time) and
 * for any admin token. A bot's API key is refused like an unknown token, but named.
 */
export function decideScrape(
  token: string,
  tokenHash: string | undefined,
  credentials: ScrapeCredentials,
): ScrapeDecision {
  if (tokenHash !== undefined && sameHash(tokenHash, hashSecret(token))) return { allowed: true };
  if (credentials.authenticateAdmin(token)) return { allowed: true };
  const bot = credentials.authenticateBot(token);
  if (bot) return { allowed: false, reason: 'not_admin', actor: { kind: 'bot', id: bot.id } };
  return { allowed: false, reason: 'unknown_token' };
}

/** A short, non-reversible fingerprint of a presented token, to correlate refused attempts. */
function fingerprint(token: string): string {
  return hashSecret(token).slice('sha256:'.length, 'sha256:'.length + 12);
}

// ---- the worker's own endpoint -----------------------------------------------------------------

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  metrics: Metrics;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Hash (`sha256:…`) of `ELEVATE_METRICS_TOKEN`, when set; admin tokens are accepted either way. */
  tokenHash?: string;
  /** Checks tokens and records refused scrapes (`auth.refused`), as the API does. */
  service: ScrapeCredentials & {
    recordRefusal(
      type: 'auth.refused',
      elevationId: null,
      actor: Actor,
      data: Record<string, unknown>,
    ): Promise<void>;
  };
  logger: Logger;
}

/**
 * A tiny HTTP server with `GET /metrics` only, for a worker process that runs without the API
 * (the API serves `/metrics` itself). Same protection as the API's endpoint. Resolves once
 * listening; close the returned server to stop it.
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<Server> {
  const { metrics, service, logger } = opts;
  const answer = (res: ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="elevate-metrics"' } : {}),
    });
    res.end(JSON.stringify({ error: { code, message } }));
  };
  const refuse = async (req: IncomingMessage, reason: string, actor: Actor, token?: string) => {
    await service.recordRefusal('auth.refused', null, actor, {
      reason,
      method: req.method ?? 'GET',
      path: '/metrics',
      ip: req.socket.remoteAddress ?? null,
      ...(token ? { credential: fingerprint(token) } : {}),
    });
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
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
    const decision = decideScrape(token, opts.tokenHash, service);
    if (!decision.allowed) {
      if (decision.reason === 'not_admin') await refuse(req, decision.reason, decision.actor);
      else await refuse(req, decision.reason, { kind: 'anonymous', id: 'unknown' }, token);
      return answer(res, 401, 'unauthenticated', 'the metrics token is not valid');
    }
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'metrics scrape failed');
      if (!res.headersSent) answer(res, 500, 'internal', 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
