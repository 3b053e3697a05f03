/**
 * The API process (`elevate api`): the HTTP API, the approval pages, the admin console and the
 * Slack app, on the stores, the Temporal client and the read-only LDAP directory. It builds no
 * target and needs none of their credentials (PostgreSQL server URLs, AWS, an LDAP account
 * that may write): only workers grant and revoke.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { DEFAULT_HTTP_LIMITS } from '../config/http-limits.js';
import type { Policy } from '../config/policy.js';
import { ConfigError } from '../core/errors/config-error.js';
import { WorkloadIdentityVerifier } from '../integrations/federation/workload-identity.js';
import { adminConsole } from '../server/admin/console.js';
import { createApp } from '../server/app.js';
import { approvalRoutes } from '../server/approvals.js';
import { AuthFailureLimit, DEFAULT_AUTH_FAILURE_LIMIT } from '../server/auth-failure-limit.js';
import type { HealthCheck } from '../server/health.js';
import { createSlackApp } from '../server/slack-app.js';
import { listenWithLimits } from './http-server.js';
import { adminLoginClient, stepUpClient } from './oidc-clients.js';
import {
  checkProcessSettings,
  openProcess,
  runningProcess,
  type ProcessCore,
  type ProcessOptions,
  type RunningProcess,
  type ServiceSettings,
} from './process.js';
import { ldapUses } from './targets.js';

export type ApiProcess = RunningProcess & { url: string };

/** Start the API alone; the worker runs in another process on the same database and Temporal. */
export async function startApi(options: ProcessOptions): Promise<ApiProcess> {
  const { settings, policy, logger } = options;
  const needLdap = ldapUses(policy, settings.adminConsole, { api: true, worker: false });
  checkProcessSettings(options, needLdap);
  checkApiSettings(settings);
  const core = await openProcess(options, {
    nativeConnection: false,
    ...apiFederation(policy, logger),
  });
  return core.shutdown.guard(async () => {
    const { directory } = core;
    const url = await addApi(core, {
      // This process cannot see the worker; it asks Temporal whether anyone polls the queue.
      worker: () => workerPolling(core.client, settings.temporal.namespace, settings.temporal.taskQueue),
      ...(directory && needLdap.length > 0 ? { ldap: () => directory.ping() } : {}),
    });
    return runningProcess(core, { url });
  });
}

/** The API's own settings checks, made before anything is opened. */
export function checkApiSettings(settings: ServiceSettings): void {
  if (!settings.decisionSigningKey) {
    throw new ConfigError(
      'ELEVATE_DECISION_SIGNING_KEY: must be set (or ELEVATE_DECISION_SIGNING_KEY_FILE) for the API: it signs every request and decision it sends to Temporal, and workers act on nothing else (make one with: openssl genpkey -algorithm ed25519 -out decision-signing.pem)',
      'ELEVATE_DECISION_SIGNING_KEY',
    );
  }
  if (settings.adminConsole && !settings.oidc) {
    throw new ConfigError(
      'OIDC_ISSUER: must be set when ADMIN_OIDC_GROUPS or ADMIN_LDAP_GROUP_DN is (admins sign in to the console there)',
      'OIDC_ISSUER',
    );
  }
}

/** Workload identity tokens, for the bots whose policy entry has a `federation` rule. */
export function apiFederation(policy: Policy, logger: Logger): { federation?: WorkloadIdentityVerifier } {
  const rules = policy.bots.flatMap((b) => (b.federation ? [{ botId: b.id, ...b.federation }] : []));
  if (rules.length === 0) return {};
  return {
    federation: new WorkloadIdentityVerifier(rules, policy.federation?.issuers ?? [], {
      logger: logger.child({ component: 'federation' }),
    }),
  };
}

/**
 * Build the app on `core` and listen; returns the API's address. `checks` are this process's
 * checks besides the shared ones (the worker's, the directory's).
 */
export async function addApi(core: ProcessCore, checks: Record<string, HealthCheck>): Promise<string> {
  const { settings, policy, logger, services, stores, slack, directory, publicUrl, shutdown } = core;
  // One limit of failed authentications per source network for the API, the approval pages
  // and the console: an attacker cannot get three budgets by spreading over them.
  const authFailureLimit = new AuthFailureLimit(settings.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT);
  const routers = [];
  const slackApp =
    settings.slack && slack
      ? createSlackApp({
          settings: settings.slack,
          approvals: services.approvals,
          audit: services.audit,
          slack,
          singleUse: stores.singleUse,
          publicUrl,
          logger,
        })
      : undefined;
  if (slackApp?.router) routers.push(slackApp.router);
  routers.push(
    approvalRoutes({
      approvals: services.approvals,
      attestations: services.attestations,
      breakGlassReviews: services.breakGlassReviews,
      audit: services.audit,
      stepUp: stepUpClient(settings.oidc, logger, core.metrics),
      singleUse: stores.singleUse,
      publicUrl,
      slackBound: slack !== undefined,
      logger: logger.child({ component: 'approvals' }),
      authFailureLimit,
    }),
  );
  const app = createApp({
    services,
    healthChecks: { ...core.healthChecks, ...checks },
    logger: logger.child({ component: 'http' }),
    trustProxy: settings.trustProxy ?? false,
    routers,
    metrics: core.metrics,
    ...(settings.metricsTokenHash ? { metricsTokenHash: settings.metricsTokenHash } : {}),
    shutdown: shutdown.draining.signal,
    healthCacheMs: settings.healthCacheMs ?? 1000,
    authFailureLimit,
    strictTransportSecurity: publicUrl.startsWith('https://'),
    adminConsole: adminConsole({
      requests: services.requests,
      bots: services.bots,
      audit: services.audit,
      policy,
      elevations: stores.elevations,
      eventsByType: stores.eventsByType,
      singleUse: stores.singleUse,
      ...(settings.adminConsole && settings.oidc
        ? {
            settings: settings.adminConsole,
            login: adminLoginClient(settings.oidc, settings.adminConsole, publicUrl, logger),
          }
        : {}),
      ...(directory ? { directory } : {}),
      publicUrl,
      logger: logger.child({ component: 'admin-console' }),
      authFailureLimit,
    }),
  });
  if (slackApp) {
    await slackApp.start();
    shutdown.add(() => slackApp.stop());
  }
  // Slow or numerous clients are cut off (`ELEVATE_HTTP_*`); long-polls are not (see http-server.ts).
  const server = await listenWithLimits(
    app,
    settings.http ?? DEFAULT_HTTP_LIMITS,
    settings.port,
    settings.host,
  );
  // Stopping: no new connections, readiness answers 503, waiting long-polls answer now, and
  // requests in flight may finish for the grace time before their connections are cut.
  shutdown.add(async () => {
    shutdown.draining.abort();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), core.graceSeconds * 1000);
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  return `http://${settings.host}:${port}`;
}

/** Whether a worker has polled the task queue lately (the API-only process's `worker` check). */
async function workerPolling(client: Client, namespace: string, taskQueue: string): Promise<void> {
  const res = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // workflow task queue
  });
  const recent = (res.pollers ?? []).some((p) => {
    const seconds = Number(p.lastAccessTime?.seconds ?? 0);
    return Date.now() / 1000 - seconds < 120;
  });
  if (!recent) throw new Error(`no worker has polled task queue ${taskQueue} in the last 2 minutes`);
}
