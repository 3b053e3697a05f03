/**
 * The operations routes' handlers (`OPERATION_ROUTES`): liveness, readiness, metrics and the
 * API reference.
 */
import type { Request, Response } from 'express';
import type { Metrics } from '../../integrations/metrics/prometheus.js';
import { cachedHealthChecks, type HealthCheck } from '../health.js';
import type { OPERATION_ROUTES } from '../openapi/routes/operations.js';
import { apiReferenceHandlers } from '../openapi/serve.js';
import type { RouteHandlers } from './routes.js';

export interface OperationHandlersDeps {
  healthChecks: Record<string, HealthCheck>;
  /** How long a readiness result is reused; 0 runs the checks for every probe, never two rounds at once. */
  healthCacheMs: number;
  /** Aborted when the process starts to stop: readiness answers 503. */
  shutdown?: AbortSignal;
  /** Without metrics, `/metrics` is not served. */
  metrics?: Metrics;
  /** The running policy's role ids, for the reference. */
  roles: readonly string[];
}

export function operationHandlers({
  healthChecks,
  healthCacheMs,
  shutdown,
  metrics,
  roles,
}: OperationHandlersDeps): RouteHandlers<typeof OPERATION_ROUTES> {
  // Readiness: everything Elevate needs answers, and the process is not stopping. One round of
  // checks at a time, reused for `healthCacheMs`: probes cannot fan out to Temporal, the store
  // and LDAP faster than that.
  const health = cachedHealthChecks(healthChecks, healthCacheMs);
  const ready = async (_input: unknown, req: Request, res: Response) => {
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

  return {
    // Liveness: the process answers. Orchestrators restart it when this stops answering.
    getLiveness: (_input, _req, res) => {
      res.json({ status: 'ok' });
    },
    getReadiness: ready,
    getHealth: ready,
    // The metrics guard (the metrics token or an admin token) ran before.
    getMetrics: metrics
      ? async (_input, _req, res) => {
          res.setHeader('content-type', metrics.registry.contentType);
          res.send(await metrics.registry.metrics());
        }
      : null,
    // The reference, generated from the schemas and this policy's roles.
    ...apiReferenceHandlers({ roles }),
  };
}
