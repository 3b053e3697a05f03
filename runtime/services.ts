/**
 * The composition root: builds the clients once and injects them. `elevate start` (embedded),
 * `elevate api`, `elevate worker` and the benchmark all come through here.
 */
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { z } from 'zod';
import { createActivities } from '../activities/index.js';
import { ConfigError } from '../core/errors/config-error.js';
import type { Policy } from '../config/policy.js';
import { CredentialVault } from '../domain/credential-vault.js';
import { DecisionSigner, RequestVerifier } from '../domain/decision-signer.js';
import { describeTemporal } from '../config/temporal-settings.js';
import type { Settings } from '../config/settings.js';
import { createDomainServices, type DomainServices } from '../domain/domain-services.js';
import { GrantLedger } from '../domain/grant-ledger.js';
import { openStores, type Stores } from '../store/stores.js';
import { storeIntegrity } from '../core/crypto/audit-checkpoints.js';
import { WorkloadIdentityVerifier } from '../integrations/federation/workload-identity.js';
import { LdapApproverDirectory } from '../integrations/ldap/approver-directory.js';
import { LdapTarget } from '../integrations/ldap/ldap-target.js';
import { LogNotifier } from '../integrations/notify/log-notifier.js';
import { StepUpClient } from '../integrations/oidc/step-up.js';
import { SlackClient } from '../integrations/slack/slack-client.js';
import { SlackNotifier } from '../integrations/slack/slack-notifier.js';
import { createApp } from '../server/app.js';
import { adminConsole } from '../server/admin/console.js';
import { AdminLoginClient } from '../integrations/oidc/admin-login.js';
import { approvalRoutes } from '../server/approvals.js';
import { createSlackApp } from '../server/slack-app.js';
import type { HealthCheck } from '../server/health.js';
import { auditSinks } from '../worker/audit-sinks.js';
import { createElevationWorker, installTemporalLogging } from '../worker/create-worker.js';
import { connectTemporal } from './temporal-connection.js';
import { buildId } from './build-info.js';
import {
  ensureReconcileSchedule,
  reconcileAwsPrincipalsOf,
  reconcileRolesOf,
} from '../worker/reconcile-schedule.js';
import { createMetrics, preAuthReasonLabel, type Metrics } from '../integrations/metrics/prometheus.js';
import { startMetricsServer } from './metrics-server.js';
import { AuthFailureLimit, DEFAULT_AUTH_FAILURE_LIMIT } from '../server/auth-failure-limit.js';
import { buildTargets, ldapUses, usesCredentialsMode } from './targets.js';
import { startSlackTokenCheck } from './slack-token-check.js';
import { startAuditForwarder, webhookActivities } from './webhook.js';
import { readLegacyWebhookCursor } from '../store/legacy-webhook-cursor.js';
import { DEFAULT_HTTP_LIMITS } from '../config/http-limits.js';
import { listenWithLimits } from './http-server.js';

/** The settings a process needs once its Temporal server and LDAP directory are known. */
export type ServiceSettings = Pick<Settings, 'host' | 'port' | 'audit' | 'timing'> &
  Partial<
    Pick<
      Settings,
      | 'trustProxy'
      | 'publicUrl'
      | 'slack'
      | 'oidc'
      | 'ldapPeopleBaseDn'
      | 'ldapApproverJoinAttribute'
      | 'reconcile'
      | 'credentialsKey'
      | 'credentialsPreviousKeys'
      | 'metricsTokenHash'
      | 'metricsPort'
      | 'webhook'
      | 'adminConsole'
      | 'decisionSigningKey'
      | 'decisionPublicKeys'
      | 'auditCheckpoints'
      | 'shutdownGraceSeconds'
      | 'http'
      | 'healthCacheMs'
      | 'worker'
      | 'authFailureLimit'
    >
  > & {
    /** The LDAP directory; needed only if something uses it ({@link ldapUses}). */
    ldap?: Settings['ldap'];
    temporal: Settings['temporal'] & { address: string };
  };

export interface ServicesOptions {
  settings: ServiceSettings;
  policy: Policy;
  logger: Logger;
  /** Which halves run in this process. */
  run: { api: boolean; worker: boolean };
  /** Where target connections are read from (PostgreSQL server URLs, AWS); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface Services {
  /** The stores by concern, on the one database this process opened. */
  stores: Stores;
  /** The LDAP target, in a process that runs the worker with an LDAP directory configured. */
  target?: LdapTarget;
  client: Client;
  /** The capability services (authentication, requests, approvals, bots, audit). */
  services: DomainServices;
  /** This process's metrics (served at `/metrics`). */
  metrics: Metrics;
  worker?: Worker;
  /** The API's listening address, when the API runs. */
  url?: string;
  /**
   * Stop everything this process started, in order: the API drains its requests, the worker
   * lets running activities finish (both for `shutdownGraceSeconds`), then connections close.
   */
  close(): Promise<void>;
  /** After {@link close}: true when the worker had to be abandoned with an activity still running. */
  readonly forcedStop: boolean;
}

export async function startServices({
  settings,
  policy,
  logger,
  run,
  env,
}: ServicesOptions): Promise<Services> {
  const closers: (() => Promise<void>)[] = [];
  /** Aborted when the process starts to stop: the API drains, every probe says not ready. */
  const draining = new AbortController();
  const close = async () => {
    draining.abort();
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'error while stopping');
      }
    }
  };
  try {
    // Checked before anything is opened: a configuration error needs no clean-up.
    const needLdap = ldapUses(policy, settings.adminConsole, run);
    if (!settings.ldap && needLdap.length > 0) {
      throw new ConfigError(
        `LDAP_URL: must be set (with LDAP_BIND_DN and LDAP_BIND_PASSWORD): ${needLdap.join('; ')}`,
        'LDAP_URL',
      );
    }
    if (run.api && !settings.decisionSigningKey) {
      throw new ConfigError(
        'ELEVATE_DECISION_SIGNING_KEY: must be set (or ELEVATE_DECISION_SIGNING_KEY_FILE) for the API: it signs every request and decision it sends to Temporal, and workers act on nothing else (make one with: openssl genpkey -algorithm ed25519 -out decision-signing.pem)',
        'ELEVATE_DECISION_SIGNING_KEY',
      );
    }
    if (run.worker && !settings.decisionPublicKeys?.length) {
      throw new ConfigError(
        "ELEVATE_DECISION_PUBLIC_KEYS: must be set (or ELEVATE_DECISION_PUBLIC_KEYS_FILE) for the worker: the public key(s) of the API's decision signing key (make it with: openssl pkey -in decision-signing.pem -pubout)",
        'ELEVATE_DECISION_PUBLIC_KEYS',
      );
    }
    const checkpoints = settings.auditCheckpoints;
    if (!checkpoints?.signingKey) {
      logger.warn(
        checkpoints?.publicKeys?.length
          ? 'ELEVATE_AUDIT_CHECKPOINT_KEY is not set: this process verifies checkpoints but writes none, and its single-use records and bot state carry no MAC (set the same key in every process that appends)'
          : 'ELEVATE_AUDIT_CHECKPOINT_KEY is not set: the audit chain is not anchored (verify says "not anchored"), and single-use records and bot state are not MACed; anyone who can write the database can rewrite them undetected (make a key with: elevate keygen --checkpoint-key <folder>)',
      );
    }
    const tamperLog = logger.child({ component: 'audit-store' });
    const stores = await openStores({
      ...settings.audit,
      integrity: storeIntegrity({
        ...(checkpoints?.signingKey ? { signingKey: checkpoints.signingKey } : {}),
        ...(checkpoints?.publicKeys ? { publicKeys: checkpoints.publicKeys } : {}),
        ...(checkpoints?.previousKeys ? { previousKeys: checkpoints.previousKeys } : {}),
        ...(checkpoints ? { every: checkpoints.every, intervalSeconds: checkpoints.intervalSeconds } : {}),
        // The row is treated as absent (or its bot quarantined); this is the alarm.
        onTamper: (report) =>
          tamperLog.error(
            { event: 'store.tampered', ...report },
            `a ${report.table} row failed its integrity check and was refused: someone wrote the database without the key`,
          ),
      }),
    });
    closers.push(() => stores.database.close());
    const metrics = createMetrics({
      statusCounts: () => stores.elevations.countByStatus(),
      onCollectError: (err) =>
        logger.warn({ err: (err as Error).message }, 'metrics: could not count the elevations by status'),
    });
    // Only workers grant and revoke: an API process builds no target, and needs none of their
    // credentials (PostgreSQL server URLs, AWS, an LDAP account that may write).
    const target = run.worker && settings.ldap ? new LdapTarget(settings.ldap) : undefined;
    const vault = settings.credentialsKey
      ? new CredentialVault(
          stores.singleUse,
          settings.credentialsKey,
          undefined,
          settings.credentialsPreviousKeys,
        )
      : undefined;
    const built = run.worker
      ? buildTargets({
          policy,
          ...(target ? { ldap: target } : {}),
          ...(vault ? { credentialHandoff: vault } : {}),
          env: env ?? process.env,
          logger,
        })
      : undefined;
    if (built) closers.push(() => built.router.close());
    if (usesCredentialsMode(policy) && !settings.credentialsKey) {
      throw new ConfigError(
        'ELEVATE_CREDENTIALS_KEY: must be set (or ELEVATE_CREDENTIALS_KEY_FILE), the same in the API and the worker: roles hand out AWS credentials, which wait encrypted for their bot (make one with: openssl rand -base64 32)',
        'ELEVATE_CREDENTIALS_KEY',
      );
    }
    if (run.api && settings.adminConsole && !settings.oidc) {
      throw new ConfigError(
        'OIDC_ISSUER: must be set when ADMIN_OIDC_GROUPS or ADMIN_LDAP_GROUP_DN is (admins sign in to the console there)',
        'OIDC_ISSUER',
      );
    }
    const directory = settings.ldap
      ? new LdapApproverDirectory({
          ...settings.ldap,
          ...(settings.ldapPeopleBaseDn ? { peopleBaseDn: settings.ldapPeopleBaseDn } : {}),
          ...(settings.ldapApproverJoinAttribute
            ? { joinAttribute: settings.ldapApproverJoinAttribute }
            : {}),
        })
      : undefined;
    const publicUrl = settings.publicUrl ?? `http://${settings.host}:${settings.port}`;
    // One client for both halves: every Slack call is one attempt, whoever makes it. The worker's
    // activities leave retries to Temporal, and the API's calls run inside Slack's 3-second
    // trigger (integrations/slack/slack-client.ts).
    const slack = settings.slack
      ? new SlackClient({
          token: settings.slack.botToken,
          ...(settings.slack.apiUrl ? { apiUrl: settings.slack.apiUrl } : {}),
          logger: logger.child({ component: 'slack' }),
          metrics,
        })
      : undefined;
    // The bot token is checked here, not by Bolt (whose unawaited check could kill the process):
    // refused is a configuration error, unreachable is a failing `slack` health check.
    const slackToken = slack ? await startSlackTokenCheck(slack, { logger }) : undefined;
    if (slackToken) closers.push(() => Promise.resolve(slackToken.stop()));
    const grace = settings.shutdownGraceSeconds ?? 30;
    /** Set when the worker had to be abandoned while stopping (see {@link Services.forcedStop}). */
    let forcedStop = false;
    // Before the first native connection: Temporal's runtime is set up once per process.
    if (run.worker) installTemporalLogging(logger);
    const temporal = await connectTemporal(settings.temporal, { worker: run.worker, logger });
    closers.push(() => temporal.close());
    const client = temporal.client;
    logger.info(describeTemporal(settings.temporal), 'connected to Temporal');

    let worker: Worker | undefined;
    if (run.worker && temporal.native && built) {
      const build = settings.worker?.buildId ?? buildId();
      worker = await createElevationWorker({
        connection: temporal.native,
        namespace: settings.temporal.namespace,
        taskQueue: settings.temporal.taskQueue,
        buildId: build,
        ...(settings.worker ? { tuning: settings.worker } : {}),
        shutdownGraceSeconds: grace,
        sinks: auditSinks(stores.auditLog, logger.child({ component: 'audit-sinks' })),
        activities: {
          // The audit forwarder's page delivery, registered on every worker (see runtime/webhook.ts).
          ...webhookActivities({
            ...(settings.webhook ? { settings: settings.webhook } : {}),
            store: stores.auditLog,
            logger,
            metrics,
            stopping: draining.signal,
          }),
          ...createActivities({
            store: stores.auditLog,
            requests: new RequestVerifier(settings.decisionPublicKeys!),
            requestRuns: stores.singleUse.namespace('request-run', z.string()),
            ledger: new GrantLedger(stores.leases, built.router),
            notifier: slack
              ? new SlackNotifier({
                  slack,
                  singleUse: stores.singleUse,
                  elevations: stores.elevations,
                  ...(directory ? { directory } : {}),
                  ...(settings.slack?.approvalChannel ? { channel: settings.slack.approvalChannel } : {}),
                  ...(settings.slack?.driftChannel ? { driftChannel: settings.slack.driftChannel } : {}),
                  logger: logger.child({ component: 'slack-notifier' }),
                })
              : new LogNotifier({
                  logger: logger.child({ component: 'approvals' }),
                  approvalUrl: (id) => `${publicUrl}/approvals/${id}`,
                }),
            logger: logger.child({ component: 'activities' }),
            // Reconciliation releases the leases of elevation workflows that ended without revoking.
            leases: stores.leases,
            elevations: stores.elevations,
            temporal: client,
            metrics,
          }),
        },
      });
      let stopping = false;
      const running = worker.run().catch((err: unknown) => {
        if (stopping) {
          // The grace time and the force time passed with an activity still running: it is
          // abandoned here, and Temporal retries it on another worker when its timeout passes.
          logger.error(
            { err: (err as Error).message },
            'the worker did not stop in time; leaving the rest to Temporal',
          );
          forcedStop = true;
          return;
        }
        // Without its worker the process cannot grant or revoke; exit so a supervisor restarts it.
        logger.fatal({ err: (err as Error).message }, 'the worker stopped unexpectedly; exiting');
        process.exit(1);
      });
      const w = worker;
      logger.info(
        { buildId: build, versioning: settings.worker?.versioning ?? false, shutdownGraceSeconds: grace },
        'worker started',
      );
      closers.push(async () => {
        stopping = true;
        logger.info({ graceSeconds: grace }, 'worker stopping: no new tasks; running activities may finish');
        if (w.getState() === 'RUNNING') w.shutdown();
        await running;
        logger.info('worker stopped');
      });
      // Drift detection: every worker sets the schedule up from the policy it loaded.
      await ensureReconcileSchedule(client, {
        taskQueue: settings.temporal.taskQueue,
        roles: reconcileRolesOf(policy),
        aws: reconcileAwsPrincipalsOf(policy),
        ...(settings.reconcile ? { intervalSeconds: settings.reconcile.intervalSeconds } : {}),
      });
      // The audit webhook: one forwarder workflow (fixed id), started by every worker that has
      // the settings and never stopped by one (its cursor is its state).
      if (settings.webhook) {
        const resumeFrom = await readLegacyWebhookCursor(stores.database);
        if (resumeFrom) {
          logger.info(
            { component: 'webhook', position: resumeFrom.position },
            'an earlier version delivered the audit trail this far; a forwarder starting now goes on from there',
          );
        }
        await startAuditForwarder({
          client,
          taskQueue: settings.temporal.taskQueue,
          logger,
          url: settings.webhook.url,
          ...(resumeFrom ? { resumeFrom } : {}),
        });
      }
    }

    // Workload identity tokens, for the bots whose policy entry has a `federation` rule (API only).
    const rules = policy.bots.flatMap((b) => (b.federation ? [{ botId: b.id, ...b.federation }] : []));
    const federation =
      run.api && rules.length > 0
        ? new WorkloadIdentityVerifier(rules, policy.federation?.issuers ?? [], {
            logger: logger.child({ component: 'federation' }),
          })
        : undefined;
    const services = createDomainServices({
      policy,
      temporal: client,
      // Only the API signs; a worker-only process never sends decisions (its service only reads).
      signer: settings.decisionSigningKey ? new DecisionSigner(settings.decisionSigningKey) : refuseToSign,
      taskQueue: settings.temporal.taskQueue,
      auditLog: stores.auditLog,
      elevations: stores.elevations,
      botStates: stores.botStates,
      leases: stores.leases,
      singleUse: stores.singleUse,
      timing: settings.timing,
      ...(directory ? { directory } : {}),
      ...(vault ? { vault } : {}),
      ...(federation ? { federation } : {}),
      logger: logger.child({ component: 'service' }),
      onPreAuthRefusal: (reason) => metrics.preAuthRefusals.inc({ reason: preAuthReasonLabel(reason) }),
    });
    // Runs before the store closes (closers run in reverse): the counts of the last window are kept.
    closers.push(() => services.audit.flushRefusals());

    let url: string | undefined;
    const w = worker;
    const healthChecks: Record<string, HealthCheck> = {
      temporal: async () => {
        await client.workflowService.getSystemInfo({});
      },
      worker: w
        ? () =>
            w.getState() === 'RUNNING'
              ? Promise.resolve()
              : Promise.reject(new Error(`worker is ${w.getState().toLowerCase()}`))
        : () => workerPolling(client, settings.temporal.namespace, settings.temporal.taskQueue),
      auditStore: () => stores.database.ping(),
      ...(slackToken ? { slack: slackToken.check } : {}),
      // The worker's LDAP is its target; the API's, when it has one, is its read-only directory.
      ...(target
        ? { ldap: () => target.ping() }
        : run.api && directory && needLdap.length > 0
          ? { ldap: () => directory.ping() }
          : {}),
    };
    if (run.api) {
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
          audit: services.audit,
          stepUp: stepUpClient(settings.oidc, logger, metrics),
          singleUse: stores.singleUse,
          publicUrl,
          slackBound: slack !== undefined,
          logger: logger.child({ component: 'approvals' }),
          authFailureLimit,
        }),
      );
      const app = createApp({
        services,
        healthChecks,
        logger: logger.child({ component: 'http' }),
        trustProxy: settings.trustProxy ?? false,
        routers,
        metrics,
        ...(settings.metricsTokenHash ? { metricsTokenHash: settings.metricsTokenHash } : {}),
        shutdown: draining.signal,
        healthCacheMs: settings.healthCacheMs ?? 1000,
        authFailureLimit,
        strictTransportSecurity: publicUrl.startsWith('https://'),
        adminConsole: adminConsole({
          requests: services.requests,
          bots: services.bots,
          audit: services.audit,
          policy,
          elevations: stores.elevations,
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
        closers.push(() => slackApp.stop());
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
      closers.push(async () => {
        draining.abort();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), grace * 1000);
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
      });
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : settings.port;
      url = `http://${settings.host}:${port}`;
    }

    if (run.worker && !run.api && settings.metricsPort) {
      // A worker without the API has no HTTP server of its own: a tiny one for Prometheus.
      const metricsServer = await startMetricsServer({
        metrics,
        host: settings.host,
        port: settings.metricsPort,
        ...(settings.metricsTokenHash ? { tokenHash: settings.metricsTokenHash } : {}),
        auth: services.auth,
        audit: services.audit,
        logger: logger.child({ component: 'metrics' }),
        health: { checks: healthChecks, shutdown: draining.signal, cacheMs: settings.healthCacheMs ?? 1000 },
        limits: settings.http ?? DEFAULT_HTTP_LIMITS,
      });
      logger.info(
        { url: `http://${settings.host}:${settings.metricsPort}/metrics` },
        'metrics and probes (/livez, /readyz) served',
      );
      closers.push(
        () =>
          new Promise<void>((resolve) => {
            metricsServer.close(() => resolve());
            metricsServer.closeAllConnections();
          }),
      );
    }

    return {
      stores,
      target,
      client,
      services,
      metrics,
      ...(worker ? { worker } : {}),
      ...(url ? { url } : {}),
      close,
      get forcedStop() {
        return forcedStop;
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The OpenID Connect relying party, discovered on first use and then kept (a provider that is
 * down at start does not stop Elevate; approvals answer 503 until it is back). Plain http is
 * allowed for loopback issuers only (the development provider).
 */
function stepUpClient(oidc: Settings['oidc'], logger: Logger, metrics: Metrics): () => Promise<StepUpClient> {
  let client: Promise<StepUpClient> | undefined;
  return () => {
    if (!oidc) return Promise.reject(new Error('no OpenID Connect provider is configured (OIDC_ISSUER)'));
    client ??= StepUpClient.discover(oidc, {
      allowInsecureHttp: /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(oidc.issuer),
      metrics,
    }).catch((err: unknown) => {
      client = undefined;
      logger.error({ err: (err as Error).message, issuer: oidc.issuer }, 'OpenID Connect discovery failed');
      throw err;
    });
    return client;
  };
}

/**
 * The console's relying party: the approvals' provider and client, with the console's callback
 * (`<public URL>/admin/callback`, which must be registered at the provider too). Discovered on
 * first use and then kept, as the approvals' client is.
 */
function adminLoginClient(
  oidc: NonNullable<Settings['oidc']>,
  consoleSettings: NonNullable<Settings['adminConsole']>,
  publicUrl: string,
  logger: Logger,
): () => Promise<AdminLoginClient> {
  let client: Promise<AdminLoginClient> | undefined;
  return () => {
    client ??= AdminLoginClient.discover(
      {
        issuer: oidc.issuer,
        clientId: oidc.clientId,
        ...(oidc.clientSecret ? { clientSecret: oidc.clientSecret } : {}),
        redirectUri: `${publicUrl}/admin/callback`,
        mfaMethods: oidc.mfaMethods,
        mfaAcrValues: oidc.mfaAcrValues,
        emailClaim: oidc.emailClaim,
        ...(oidc.emailClaimTrusted === undefined ? {} : { emailClaimTrusted: oidc.emailClaimTrusted }),
        ...(oidc.joinClaim === undefined ? {} : { joinClaim: oidc.joinClaim }),
        groupsClaim: consoleSettings.groupsClaim,
        ...(consoleSettings.signInMaxAgeSeconds === undefined
          ? {}
          : { maxAgeSeconds: consoleSettings.signInMaxAgeSeconds }),
      },
      { allowInsecureHttp: /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(oidc.issuer) },
    ).catch((err: unknown) => {
      client = undefined;
      logger.error(
        { err: (err as Error).message, issuer: oidc.issuer },
        'OpenID Connect discovery failed (console)',
      );
      throw err;
    });
    return client;
  };
}

/** The signer of a process without the signing key: it sends no decisions, and says why if asked. */
const refuseToSign = {
  kid: '',
  decision: () =>
    Promise.reject(
      new Error('this process has no ELEVATE_DECISION_SIGNING_KEY: only the API sends decisions'),
    ),
  request: () =>
    Promise.reject(
      new Error('this process has no ELEVATE_DECISION_SIGNING_KEY: only the API starts elevations'),
    ),
};

/** An API-only process cannot see the worker; it asks Temporal whether anyone polls the queue. */
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
