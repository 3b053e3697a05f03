/**
 * The worker process (`elevate worker`): the targets, the grant ledger, the activities and the
 * Temporal worker, the reconcile schedule, the audit forwarder, and a small server for its
 * metrics and probes. Only workers hold the targets' credentials.
 */
import type { Worker } from '@temporalio/worker';
import { z } from 'zod';
import { createActivities } from '../activities/index.js';
import { riskActivitiesOn } from '../activities/risk-scoring.js';
import { detectionActivitiesOn } from '../activities/anomaly-detection.js';
import { attestationActivitiesOn } from '../activities/attestation.js';
import { breakGlassActivitiesOn } from '../activities/break-glass.js';
import { DEFAULT_HTTP_LIMITS } from '../config/http-limits.js';
import { ConfigError } from '../core/errors/config-error.js';
import { RequestVerifier } from '../domain/decision-signer.js';
import { GrantLedger } from '../domain/grant-ledger.js';
import { ExpiryRevoker } from '../domain/expiry-revoker.js';
import { ServerClock } from '../domain/server-clock.js';
import { EXTENDED_WINDOWS_NAMESPACE, movedEndFrom } from '../activities/extend.js';
import type { SingleUseRecords } from '../core/ports/single-use.js';
import { LdapTarget } from '../integrations/ldap/ldap-target.js';
import { LogNotifier } from '../integrations/notify/log-notifier.js';
import { SlackNotifier } from '../integrations/slack/slack-notifier.js';
import type { HealthCheck } from '../server/health.js';
import { readLegacyWebhookCursor } from '../store/legacy-webhook-cursor.js';
import { auditSinks } from '../worker/audit-sinks.js';
import { createElevationWorker, installTemporalLogging } from '../worker/create-worker.js';
import { ensureDetectionSchedule } from '../worker/detection-schedule.js';
import { ensureAttestationSchedule } from '../worker/attestation-schedule.js';
import {
  ensureReconcileSchedule,
  reconcileAwsPrincipalsOf,
  reconcilePolicyView,
  scheduledReconcileRolesOf,
} from '../worker/reconcile-schedule.js';
import { buildId } from './build-info.js';
import { startMetricsServer } from './metrics-server.js';
import {
  checkProcessSettings,
  openProcess,
  runningProcess,
  type ProcessCore,
  type ProcessOptions,
  type RunningProcess,
  type ServiceSettings,
} from './process.js';
import { buildTargets, ldapUses } from './targets.js';
import { startAuditForwarder, webhookActivities } from './webhook.js';

export type WorkerProcess = RunningProcess & { worker: Worker };

/** The worker half of a process, once it runs. */
export interface WorkerHalf {
  worker: Worker;
  target?: LdapTarget;
  /** The worker's checks: its state, and its LDAP target when it has one. */
  healthChecks: Record<string, HealthCheck>;
  /** After stopping: true when the worker had to be abandoned with an activity still running. */
  readonly forcedStop: boolean;
}

/** Start the worker alone; the API runs in another process on the same database and Temporal. */
export async function startWorker(options: ProcessOptions): Promise<WorkerProcess> {
  const { settings, policy, logger } = options;
  checkProcessSettings(options, ldapUses(policy, settings.adminConsole, { api: false, worker: true }));
  checkWorkerSettings(settings);
  // Before the first native connection: Temporal's runtime is set up once per process.
  installTemporalLogging(logger);
  const core = await openProcess(options, { nativeConnection: true });
  return core.shutdown.guard(async () => {
    const half = await addWorker(core);
    if (settings.metricsPort) await serveMetrics(core, settings.metricsPort, half.healthChecks);
    return runningProcess(
      core,
      { worker: half.worker, ...(half.target ? { target: half.target } : {}) },
      () => half.forcedStop,
    );
  });
}

/** The worker's own settings check, made before anything is opened. */
export function checkWorkerSettings(settings: ServiceSettings): void {
  if (!settings.decisionPublicKeys?.length) {
    throw new ConfigError(
      "ELEVATE_DECISION_PUBLIC_KEYS: must be set (or ELEVATE_DECISION_PUBLIC_KEYS_FILE) for the worker: the public key(s) of the API's decision signing key (make it with: openssl pkey -in decision-signing.pem -pubout)",
      'ELEVATE_DECISION_PUBLIC_KEYS',
    );
  }
}

/** Build the targets and the worker on `core`, run it, and set up the schedule and the forwarder. */
export async function addWorker(core: ProcessCore): Promise<WorkerHalf> {
  const { settings, policy, logger, stores, metrics, client, slack, directory, shutdown } = core;
  const native = core.temporal.native;
  if (!native)
    throw new Error('the worker needs a native Temporal connection (openProcess: nativeConnection)');
  const target = settings.ldap ? new LdapTarget(settings.ldap) : undefined;
  const { router } = buildTargets({
    policy,
    ...(target ? { ldap: target } : {}),
    ...(core.vault ? { credentialHandoff: core.vault } : {}),
    env: core.env ?? process.env,
    logger,
  });
  shutdown.add(() => router.close());
  const notifier = slack
    ? new SlackNotifier({
        slack,
        singleUse: stores.singleUse,
        elevations: stores.elevations,
        ...(directory ? { directory } : {}),
        oncall: core.oncall,
        ...(settings.slack?.approvalChannel ? { channel: settings.slack.approvalChannel } : {}),
        ...(settings.slack?.driftChannel ? { driftChannel: settings.slack.driftChannel } : {}),
        logger: logger.child({ component: 'slack-notifier' }),
      })
    : new LogNotifier({
        logger: logger.child({ component: 'approvals' }),
        approvalUrl: (id, extension) =>
          `${core.publicUrl}/approvals/${id}${extension !== undefined ? `?extension=${extension}` : ''}`,
      });
  const grace = core.graceSeconds;
  const build = settings.worker?.buildId ?? buildId();
  const ledger = new GrantLedger(stores.leases, router);
  const extendedWindows = stores.singleUse.namespace(EXTENDED_WINDOWS_NAMESPACE, z.string());
  const serverClock = serverClockFor(core);
  const expiry = expiryRevokerFor(
    ledger,
    settings.worker?.expiryRevokerConcurrency ?? 4,
    core,
    extendedWindows,
    serverClock,
  );
  const worker = await createElevationWorker({
    connection: native,
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
        stopping: shutdown.draining.signal,
      }),
      ...riskActivitiesOn({ stores, policy, notifier, logger }),
      ...detectionActivitiesOn({
        stores,
        policy,
        notifier,
        ...(directory ? { directory } : {}),
        metrics,
        logger,
      }),
      ...attestationActivitiesOn({
        stores,
        policy,
        notifier,
        temporal: client,
        taskQueue: settings.temporal.taskQueue,
        publicUrl: core.publicUrl,
        logger,
      }),
      ...breakGlassActivitiesOn({
        stores,
        policy,
        notifier,
        temporal: client,
        taskQueue: settings.temporal.taskQueue,
        publicUrl: core.publicUrl,
        logger,
      }),
      ...createActivities({
        store: stores.auditLog,
        requests: new RequestVerifier(settings.decisionPublicKeys!),
        requestRuns: stores.singleUse.namespace('request-run', z.string()),
        ledger,
        ...(expiry ? { expiry } : {}),
        extendedWindows,
        serverClock,
        reconcilePolicy: reconcilePolicyView(policy),
        notifier,
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
  let forcedStop = false;
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
  logger.info(
    { buildId: build, versioning: settings.worker?.versioning ?? false, shutdownGraceSeconds: grace },
    'worker started',
  );
  shutdown.add(async () => {
    stopping = true;
    logger.info({ graceSeconds: grace }, 'worker stopping: no new tasks; running activities may finish');
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    // After the worker: revocations it was running may still ask the revoker for receipts.
    await expiry?.stop();
    logger.info('worker stopped');
  });
  // Drift detection: every worker sets the schedule up from the policy it loaded.
  await ensureReconcileSchedule(client, {
    taskQueue: settings.temporal.taskQueue,
    // Without principals and identities: each run reads them from its worker's policy.
    roles: scheduledReconcileRolesOf(policy),
    aws: reconcileAwsPrincipalsOf(policy),
    ...(settings.reconcile ? { intervalSeconds: settings.reconcile.intervalSeconds } : {}),
  });
  // Continuous detection: every worker sets its schedule up too (a paused one stays paused).
  await ensureDetectionSchedule(client, {
    taskQueue: settings.temporal.taskQueue,
    ...(policy.detection ? { intervalSeconds: policy.detection.scanIntervalSeconds } : {}),
  });
  // Owner attestation: a daily schedule while the policy asks for it (removed when it does not).
  await ensureAttestationSchedule(client, {
    taskQueue: settings.temporal.taskQueue,
    enabled: policy.detection?.attestation !== undefined,
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
  return {
    worker,
    ...(target ? { target } : {}),
    healthChecks: {
      worker: () =>
        worker.getState() === 'RUNNING'
          ? Promise.resolve()
          : Promise.reject(new Error(`worker is ${worker.getState().toLowerCase()}`)),
      // The worker's LDAP is its target (the API's, when it has one, is its read-only directory).
      ...(target ? { ldap: () => target.ping() } : {}),
    },
    get forcedStop() {
      return forcedStop;
    },
  };
}

/** A worker without the API has no HTTP server of its own: a tiny one for Prometheus and probes. */
async function serveMetrics(
  core: ProcessCore,
  port: number,
  checks: Record<string, HealthCheck>,
): Promise<void> {
  const { settings, logger, services, shutdown } = core;
  const metricsServer = await startMetricsServer({
    metrics: core.metrics,
    host: settings.host,
    port,
    ...(settings.metricsTokenHash ? { tokenHash: settings.metricsTokenHash } : {}),
    auth: services.auth,
    audit: services.audit,
    logger: logger.child({ component: 'metrics' }),
    health: {
      checks: { ...core.healthChecks, ...checks },
      shutdown: shutdown.draining.signal,
      cacheMs: settings.healthCacheMs ?? 1000,
    },
    limits: settings.http ?? DEFAULT_HTTP_LIMITS,
  });
  logger.info(
    { url: `http://${settings.host}:${port}/metrics` },
    'metrics and probes (/livez, /readyz) served',
  );
  shutdown.add(
    () =>
      new Promise<void>((resolve) => {
        metricsServer.close(() => resolve());
        metricsServer.closeAllConnections();
      }),
  );
}

/**
 * The Temporal server's clock as this worker tells it (`domain/server-clock.ts`). Its offset is
 * the gauge `elevate_worker_clock_offset_seconds`, and a warning whenever it moves by more than
 * a second: windows are then timed on the server's clock, and the host's time sync needs fixing.
 */
function serverClockFor({ logger, metrics }: Pick<ProcessCore, 'logger' | 'metrics'>): ServerClock {
  const log = logger.child({ component: 'server-clock' });
  metrics.workerClockOffset.set(0);
  return new ServerClock({
    onOffset: (ms) => {
      metrics.workerClockOffset.set(ms / 1000);
      if (ms === 0) {
        log.info("this host's clock agrees with the Temporal server's again (within a second)");
        return;
      }
      const seconds = Math.abs(ms / 1000).toFixed(1);
      log.warn(
        { clockOffsetSeconds: ms / 1000 },
        `this host's clock is ${seconds} s ${ms > 0 ? 'ahead of' : 'behind'} the Temporal server's: ` +
          "windows are timed on the server's clock; fix the host's time synchronisation (NTP)",
      );
    },
  });
}

/**
 * The worker's expiry revoker (`domain/expiry-revoker.ts`), unless `concurrency` is 0: each
 * removal and failure is counted, and a failure logged (the workflow's revocation retries it).
 */
function expiryRevokerFor(
  ledger: GrantLedger,
  concurrency: number,
  { logger, metrics }: Pick<ProcessCore, 'logger' | 'metrics'>,
  extendedWindows: Pick<SingleUseRecords<string>, 'peek'>,
  serverClock: Pick<ServerClock, 'now'>,
): ExpiryRevoker | undefined {
  if (concurrency === 0) return undefined;
  const log = logger.child({ component: 'expiry-revoker' });
  return new ExpiryRevoker({
    releaseMany: (reqs) => ledger.releaseMany(reqs),
    // Windows end on the Temporal server's clock, as their workflows' timers do.
    now: () => serverClock.now(),
    movedEnd: movedEndFrom(extendedWindows),
    concurrency,
    onRemoved: (receipt) =>
      metrics.expiryRemovals.inc({
        target_type: receipt.target.type,
        outcome: receipt.removed ? 'removed' : 'kept',
      }),
    onFailed: (req, err) => {
      metrics.expiryRemovals.inc({ target_type: req.target.type, outcome: 'failed' });
      log.warn(
        { elevationId: req.elevationId, err: (err as Error).message },
        "removal at the window's end failed; the elevation's own revocation will retry it",
      );
    },
  });
}
