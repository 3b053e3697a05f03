/**
 * The audit webhook in a worker process: the forwarder's activity built from the webhook
 * settings (with its metrics), and the start of the forwarder workflow. Only worker processes
 * deliver: API processes serve requests and should not hold outgoing connections to a receiver
 * that may be slow.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import {
  createAuditForwardingActivities,
  type AuditTrailReader,
  type DeliveryOutcome,
} from '../activities/audit-forwarding.js';
import type { WebhookSettings } from '../config/settings.js';
import {
  AUDIT_FORWARDER_WORKFLOW_ID,
  INITIAL_FORWARDER_STATE,
  type AuditForwarderOptions,
} from '../core/model/audit-forwarding.js';
import type { AuditForwardingActivities } from '../core/ports/audit-forwarding.js';
import { redactUrl } from '../integrations/audit/webhook-delivery.js';
import type { Metrics } from '../integrations/metrics/prometheus.js';
import { auditForwarderWorkflow } from '../workflows/audit-forwarder-workflow.js';

/** What {@link webhookActivities} needs. */
export interface WebhookActivitiesOptions {
  /** The worker's webhook settings; absent when `ELEVATE_WEBHOOK_URL` is not set. */
  settings?: WebhookSettings;
  store: AuditTrailReader;
  logger: Logger;
  /** The process's metrics; delivery adds its own series to the registry. */
  metrics?: Metrics;
  /** Aborted when the process starts to stop (see `AuditForwardingDeps.stopping`). */
  stopping?: AbortSignal;
  /** Overrides the request timeout of the settings, in ms (tests). */
  timeoutMs?: number;
}

/**
 * The forwarder's activity for this worker. Every worker registers it, with or without a
 * webhook: a forwarder started earlier keeps its cursor, and its pages wait (retried) for a
 * worker that has the settings.
 */
export function webhookActivities({
  settings,
  store,
  logger,
  metrics,
  stopping,
  timeoutMs,
}: WebhookActivitiesOptions): AuditForwardingActivities {
  const log = logger.child({ component: 'webhook' });
  if (settings) {
    const url = new URL(settings.url);
    if (url.protocol === 'http:' && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname)) {
      // The signature proves who sent an event, but plain http shows the audit trail to the network.
      log.warn({ host: url.host }, 'the audit webhook URL is plain http: events travel unencrypted');
    }
  }
  const recorder = settings && metrics ? webhookMetrics(metrics) : undefined;
  return createAuditForwardingActivities({
    store,
    ...(settings
      ? {
          webhook: {
            url: settings.url,
            secrets: settings.secrets,
            source: settings.source,
            timeoutMs: timeoutMs ?? settings.timeoutSeconds * 1000,
            concurrency: settings.concurrency,
            pollIntervalMs: settings.pollIntervalMs,
            onReject: settings.onReject,
          },
        }
      : {}),
    logger: log,
    ...(stopping ? { stopping } : {}),
    ...(recorder ? { onOutcome: recorder.outcome, onPosition: recorder.position } : {}),
  });
}

/** What {@link startAuditForwarder} needs. */
export interface AuditForwarderStart {
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** The webhook URL, for the log line. */
  url: string;
  /** Pacing (tests); production runs with the workflow's defaults. */
  options?: AuditForwarderOptions;
  /** Workflow id (default {@link AUDIT_FORWARDER_WORKFLOW_ID}; tests use their own). */
  workflowId?: string;
  /**
   * Where to begin if the forwarder is not running yet: the cursor an earlier version's
   * dispatcher left in the store (`store/legacy-webhook-cursor.ts`). Ignored when it runs.
   */
  resumeFrom?: { position: number; hash: string | null };
}

/**
 * Starts the forwarder workflow unless it runs already (the id-conflict policy
 * `USE_EXISTING`: every worker calls this at start, one forwarder runs). Returns its run id.
 * Stops nothing: a forwarder that runs keeps its cursor whatever the settings of this worker.
 */
export async function startAuditForwarder({
  client,
  taskQueue,
  logger,
  url,
  options,
  workflowId = AUDIT_FORWARDER_WORKFLOW_ID,
  resumeFrom,
}: AuditForwarderStart): Promise<string> {
  const log = logger.child({ component: 'webhook' });
  const handle = await client.workflow.start(auditForwarderWorkflow, {
    workflowId,
    taskQueue,
    args: [
      {
        ...(options ? { options } : {}),
        ...(resumeFrom ? { state: { ...INITIAL_FORWARDER_STATE, ...resumeFrom } } : {}),
      },
    ],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  log.info(
    { workflowId, runId: handle.firstExecutionRunId, url: redactUrl(url) },
    'audit webhook forwarder running',
  );
  return handle.firstExecutionRunId;
}

/**
 * Registers the delivery series: `elevate_webhook_deliveries_total{outcome}` and
 * `elevate_webhook_position` (the chain position the deliveries this worker ran reached).
 */
function webhookMetrics(metrics: Metrics): {
  outcome: (outcome: DeliveryOutcome) => void;
  position: (position: number) => void;
} {
  const registers = [metrics.registry];
  const attempts = new Counter({
    name: 'elevate_webhook_deliveries_total',
    help: 'Audit webhook delivery attempts by outcome: delivered, retried (failed, tried again), skipped (refused for good, ELEVATE_WEBHOOK_ON_REJECT=skip) or held (refused, ELEVATE_WEBHOOK_ON_REJECT=stop).',
    labelNames: ['outcome'] as const,
    registers,
  });
  // Every outcome at 0 from the start, so increase() sees the first of each (metrics.ts).
  for (const outcome of ['delivered', 'retried', 'skipped', 'held']) attempts.inc({ outcome }, 0);
  const position = new Gauge({
    name: 'elevate_webhook_position',
    help: 'Audit chain position up to which every event is delivered (or skipped), as of the last page this worker delivered; absent until it delivered one.',
    registers,
  });
  return {
    outcome: (outcome) => {
      const label =
        outcome.kind === 'rejected' ? outcome.action : outcome.kind === 'retrying' ? 'retried' : 'delivered';
      attempts.inc({ outcome: label });
    },
    position: (p) => position.set(p),
  };
}
