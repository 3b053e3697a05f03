/**
 * The Temporal worker that runs elevation workflows and their activities.
 */
import { existsSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DefaultLogger,
  Runtime,
  Worker,
  type InjectedSinks,
  type NativeConnection,
} from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Activities } from '../core/ports/activities.js';
import type { AuditForwardingActivities } from '../core/ports/audit-forwarding.js';
import { temporalMetrics } from '../integrations/metrics/temporal-metrics.js';
import type { ElevateSinks } from '../workflows/definitions.js';
import type { WorkerSettings } from '../config/settings.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Workflow code for the worker: the bundle `npm run build` made (fast start, same code every
 * start), or, when running from source (tests), the workflows folder bundled on the fly.
 */
export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundle = path.resolve(here, '..', 'workflow-bundle.js');
  if (existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  const js = path.resolve(here, '..', 'workflows', 'index.js');
  return { workflowsPath: existsSync(js) ? js : path.resolve(here, '..', 'workflows', 'index.ts') };
}

let loggingInstalled = false;

/**
 * Route the Temporal SDK's own log lines (including workflow `log.*`) into pino, and its metrics
 * (`temporal_*`) into the registries of Elevate's metrics (integrations/metrics/temporal-metrics.ts). Once per
 * process, before the first worker or native connection.
 */
export function installTemporalLogging(logger: Logger): void {
  if (loggingInstalled) return;
  loggingInstalled = true;
  const temporal = logger.child({ component: 'temporal' });
  temporalMetrics.onError = (err) =>
    temporal.warn({ err: (err as Error).message }, 'could not read the Temporal SDK metrics');
  Runtime.install({
    // Elevate stops in its own order on SIGINT/SIGTERM (probes, then the API's requests, then the
    // worker: runtime/shutdown.ts); the SDK must not start stopping the worker on its own.
    shutdownSignals: [],
    telemetryOptions: { metrics: temporalMetrics.exporter() },
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      const fields = meta ?? {};
      switch (level) {
        case 'ERROR':
          temporal.error(fields, message);
          break;
        case 'WARN':
          temporal.warn(fields, message);
          break;
        case 'INFO':
          temporal.info(fields, message);
          break;
        default:
          temporal.debug(fields, message);
      }
    }),
  });
}

/**
 * Workflows kept in memory between tasks when `ELEVATE_WORKER_MAX_CACHED_WORKFLOWS` is unset: one
 * per 2 MiB of the heap limit, from 100 to 1,000. Each cached elevation takes about half a
 * megabyte in the workflow thread's own V8 heap (0.47 MiB measured: 674 MiB with 1,000 cached),
 * which the main thread's heap figures leave out; the SDK's own default, also from the heap, held
 * 2,310 and took a worker with 9,800 active elevations to 1.14 GB. A worker that must stay small
 * with tens of thousands active sets a smaller cache (250: about 350 MiB less). An elevation no longer cached is replayed (some 40 history
 * events) when its window ends, which costs the worker CPU then but not the removal of access:
 * the expiry revoker does that from its own timers (docs/benchmarks.md).
 */
export function defaultMaxCachedWorkflows(heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  return Math.min(1_000, Math.max(100, Math.floor(heapLimitBytes / (2 * 2 ** 20))));
}

export interface ElevationWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The elevation and reconcile activities, and the audit forwarder's `deliverPage` (runtime/webhook.ts). */
  activities: Activities & Partial<AuditForwardingActivities>;
  /** Where workflows report what they refused (see worker/audit-sinks.ts). */
  sinks: InjectedSinks<ElevateSinks>;
  /** Overrides {@link workflowSource} (tests share one bundle). */
  workflowBundlePath?: string;
  /** Slots, cache and versioning (defaults: those of `ELEVATE_WORKER_*`'s defaults). */
  tuning?: Partial<WorkerSettings>;
  /** The build this worker tells Temporal it is (see runtime/build-info.ts). */
  buildId?: string;
  /**
   * How long in-flight activities may run on after shutdown is asked for; then they are
   * cancelled (Temporal retries them elsewhere). Default 30 seconds.
   */
  shutdownGraceSeconds?: number;
}

export function createElevationWorker(opts: ElevationWorkerOptions): Promise<Worker> {
  const t = opts.tuning ?? {};
  const grace = opts.shutdownGraceSeconds ?? 30;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    sinks: opts.sinks,
    // Every new elevation's first task arrives on the non-sticky queue, which by default gets
    // only 2 of 10 pollers, so a burst of requests waited seconds before anything happened.
    // 10 of 20 pollers there measured best (docs/benchmarks.md).
    maxConcurrentWorkflowTaskPolls: t.workflowTaskPollers ?? 20,
    nonStickyToStickyPollRatio: 0.5,
    maxConcurrentWorkflowTaskExecutions: t.maxConcurrentWorkflowTasks ?? 100,
    maxConcurrentActivityTaskExecutions: t.maxConcurrentActivities ?? 100,
    maxConcurrentLocalActivityExecutions: t.maxConcurrentLocalActivities ?? 100,
    maxCachedWorkflows: t.maxCachedWorkflows ?? defaultMaxCachedWorkflows(),
    // A stopping worker polls no more and lets running activities finish for the grace time;
    // then they are cancelled, and if one still does not settle the worker gives up on it
    // after a little longer (Temporal retries it on another worker either way).
    shutdownGraceTime: `${grace}s`,
    shutdownForceTime: `${grace + 15}s`,
    ...(opts.buildId
      ? t.versioning
        ? {
            workerDeploymentOptions: {
              version: { deploymentName: t.deploymentName ?? 'elevate', buildId: opts.buildId },
              useWorkerVersioning: true,
              // Elevations can run for days (a revocation waiting for its target): they move to
              // the current version at their next task; workflow changes stay replay-safe
              // (patched(), replay tests), as without versioning.
              defaultVersioningBehavior: 'AUTO_UPGRADE',
            },
          }
        : {
            workerDeploymentOptions: {
              version: { deploymentName: t.deploymentName ?? 'elevate', buildId: opts.buildId },
              useWorkerVersioning: false,
            },
          }
      : {}),
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : workflowSource()),
  });
}
