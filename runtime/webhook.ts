/**
 * Starts the audit webhook sink in a worker process and records what it does in the process's
 * metrics. Only worker processes deliver: API processes serve requests and should not hold
 * outgoing connections to a receiver that may be slow.
 */
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { WebhookSettings } from '../config/settings.js';
import type { AuditStore, CursorStore } from '../integrations/audit/audit-store.js';
import { WebhookSink, type DeliveryOutcome } from '../integrations/audit/webhook-sink.js';
import type { Metrics } from '../integrations/metrics/prometheus.js';

/** What {@link startWebhookSink} needs. */
export interface WebhookSinkStart {
  settings: WebhookSettings;
  store: AuditStore & CursorStore;
  logger: Logger;
  /** The process's metrics; the sink adds its own series to the registry. */
  metrics?: Metrics;
}

/**
 * Builds the sink from settings and starts it (it stands by while another process delivers).
 * The caller stops it with `stop()` before closing the store.
 */
export function startWebhookSink({ settings, store, logger, metrics }: WebhookSinkStart): WebhookSink {
  const log = logger.child({ component: 'webhook' });
  const url = new URL(settings.url);
  if (url.protocol === 'http:' && !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname)) {
    // The signature proves who sent an event, but plain http shows the audit trail to the network.
    log.warn({ host: url.host }, 'the audit webhook URL is plain http: events travel unencrypted');
  }
  const record = metrics ? webhookMetrics(metrics, () => sink) : undefined;
  const sink: WebhookSink = new WebhookSink({
    store,
    url: settings.url,
    secrets: settings.secrets,
    source: settings.source,
    logger: log,
    concurrency: settings.concurrency,
    timeoutMs: settings.timeoutSeconds * 1000,
    pollIntervalMs: settings.pollIntervalMs,
    onReject: settings.onReject,
    ...(record ? { onOutcome: record } : {}),
  });
  sink.start();
  return sink;
}

/**
 * Registers the sink's series and returns the outcome recorder:
 * `elevate_webhook_deliveries_total{outcome}`, `elevate_webhook_position`,
 * `elevate_webhook_pending_events` and `elevate_webhook_delivering`.
 */
function webhookMetrics(metrics: Metrics, sink: () => WebhookSink): (outcome: DeliveryOutcome) => void {
  const registers = [metrics.registry];
  const attempts = new Counter({
    name: 'elevate_webhook_deliveries_total',
    help: 'Audit webhook delivery attempts by outcome: delivered, retried (failed, tried again), skipped (refused for good, ELEVATE_WEBHOOK_ON_REJECT=skip) or held (refused, ELEVATE_WEBHOOK_ON_REJECT=stop).',
    labelNames: ['outcome'] as const,
    registers,
  });
  // Every outcome at 0 from the start, so increase() sees the first of each (metrics.ts).
  for (const outcome of ['delivered', 'retried', 'skipped', 'held']) attempts.inc({ outcome }, 0);
  new Gauge({
    name: 'elevate_webhook_position',
    help: 'Audit chain position up to which every event is delivered (or skipped) by this process; absent while it stands by.',
    registers,
    collect(this: Gauge) {
      const status = sink().status();
      if (status.delivering) this.set(status.position);
      else this.remove();
    },
  });
  new Gauge({
    name: 'elevate_webhook_pending_events',
    help: 'Audit events read and not yet delivered by this process (at most the stall window, 1000).',
    registers,
    collect(this: Gauge) {
      this.set(sink().status().pending);
    },
  });
  new Gauge({
    name: 'elevate_webhook_delivering',
    help: '1 while this process holds the webhook lease and delivers; 0 while it stands by.',
    registers,
    collect(this: Gauge) {
      this.set(sink().status().delivering ? 1 : 0);
    },
  });
  return (outcome) => {
    const label =
      outcome.kind === 'rejected' ? outcome.action : outcome.kind === 'retrying' ? 'retried' : 'delivered';
    attempts.inc({ outcome: label });
  };
}
