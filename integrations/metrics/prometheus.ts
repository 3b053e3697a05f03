/**
 * Prometheus metrics: one registry per process, the metrics Elevate records into it, and the
 * rule that protects `GET /metrics` (served on the API's own port by `server/app.ts`, or on
 * `ELEVATE_METRICS_PORT` by `runtime/metrics-server.ts` in a worker process without the API).
 *
 * Why the endpoint needs a token: the counts say how many privileges are held right now, how
 * many requests wait for approval, and when revocations fail, which tells an attacker when
 * Elevate is weakest. So a scrape must present `ELEVATE_METRICS_TOKEN` or an admin token, like
 * the admin API; refused scrapes are recorded in the audit trail like any refused attempt.
 *
 * Labels never carry an elevation id, a principal, a URL or a secret: only bounded sets of
 * names (route patterns, target types, error class names), so the series count stays small.
 * Those sets are known in advance, so every series of the labelled counters is there at 0 from
 * the start (`increase()` then sees a series' first event).
 *
 * A worker process's registry also carries the Temporal SDK's own metrics (`temporal_*`,
 * `temporal-metrics.ts`), served by the same endpoint.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { hashSecret, sameHash } from '../../core/crypto/credentials.js';
import type { ErrorCode } from '../../core/errors/error-codes.js';
import {
  TargetAccessDeniedError,
  TargetInvalidError,
  TargetNotFoundError,
  TargetNotVerifiedError,
  TargetTamperedError,
  TargetUnreachableError,
} from '../../core/errors/target-errors.js';
import type { Actor, ElevationStatus } from '../../core/model/elevation.js';
import type { TargetType } from '../../core/model/targets.js';
import { temporalMetrics, type TemporalMetricsBridge } from './temporal-metrics.js';
import { ANOMALY_KINDS } from '../../core/model/anomaly.js';
import {
  SLACK_METHODS,
  type DetectionMetrics,
  type OidcMetrics,
  type SlackMetrics,
  type TargetMetrics,
} from '../../core/ports/metrics.js';

/** Prefix of every metric Elevate defines, Node's process metrics included (the SDK's are `temporal_`). */
export const METRICS_PREFIX = 'elevate_';

/** Buckets of `elevate_revocation_lag_seconds`: 10 ms to a minute. */
export const REVOCATION_LAG_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Buckets of `elevate_http_request_duration_seconds`, up to a minute (long-polls wait). */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

// ---- the label values known in advance -------------------------------------------------------
//
// Every series of these is exported at 0 from the start. A counter series that first appears
// with its first event has no earlier sample, so `increase()` and `rate()` miss that event, and
// an alert such as `ElevateDrift` would not fire on a process's first finding.

const TARGET_TYPE_SET: Record<TargetType, true> = { ldap: true, postgres: true, 'aws-iam': true };

/** Every `target_type` label value (the compiler checks the list against `TargetType`). */
export const TARGET_TYPES = Object.keys(TARGET_TYPE_SET) as readonly TargetType[];

/** Every `error` label value of `elevate_target_errors_total`: the target error classes' names. */
export const TARGET_ERROR_NAMES: readonly string[] = [
  TargetUnreachableError,
  TargetNotFoundError,
  TargetAccessDeniedError,
  TargetInvalidError,
  TargetNotVerifiedError,
  TargetTamperedError,
].map((Cls) => new Cls('').name);

/**
 * `outcome` of `elevate_elevation_requests_total`: `accepted`, `replayed`, and the error codes
 * `POST /v1/elevations` can answer (the reference lists them; a test checks both agree).
 */
export const ELEVATION_REQUEST_OUTCOMES = [
  'accepted',
  'replayed',
  'invalid_request',
  'invalid_json',
  'invalid_body',
  'unsupported_media_type',
  'payload_too_large',
  'unauthenticated',
  'bot_locked',
  'bot_disabled',
  'attestation_overdue',
  'role_suspended',
  'unknown_role',
  'role_not_allowed',
  'duration_too_long',
  'start_out_of_range',
  'outside_allowed_window',
  'idempotency_conflict',
  'too_many_requests',
  'service_unavailable',
  'internal',
] as const satisfies readonly ('accepted' | 'replayed' | ErrorCode)[];

/** `outcome` of `elevate_grants_total`. */
export const GRANT_OUTCOMES = ['granted', 'already_present', 'failed'] as const;
/** `outcome` of `elevate_revocations_total`. */
export const REVOCATION_OUTCOMES = ['removed', 'kept'] as const;
/** `outcome` of `elevate_expiry_revoker_removals_total`. */
export const EXPIRY_REMOVAL_OUTCOMES = ['removed', 'kept', 'failed'] as const;
/** `outcome` of `elevate_drift_findings_total`. */
export const DRIFT_OUTCOMES = ['alerted', 'reverted'] as const;
/** `stage` of `elevate_oidc_errors_total`. */
export const OIDC_ERROR_STAGES = ['discovery', 'token', 'claims'] as const;

/**
 * `reason` of `elevate_preauth_refusals_total` exported at 0 from the start: the refusals a flood
 * of unauthenticated requests produces. Other reasons appear with their first refusal.
 */
export const PREAUTH_REFUSAL_REASONS = [
  'missing',
  'malformed',
  'unknown_key',
  'unknown_token',
  'rate_limited',
] as const;

/** A refusal's reason as a label: a code of the source (`unknown_key`), else `other` (bounded series). */
export function preAuthReasonLabel(reason: string): string {
  return /^[a-z0-9_]{1,40}$/.test(reason) ? reason : 'other';
}

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
  /**
   * Node's process metrics (CPU, memory, event loop, GC), prefixed `elevate_`. Default true.
   * prom-client's three `_total` gauges (`nodejs_active_handles_total`, `…_requests_total`,
   * `…_resources_total`) are left out: Prometheus reserves `_total` for counters, and each is
   * the sum of its per-type gauge (`sum(elevate_nodejs_active_handles)`).
   */
  processMetrics?: boolean;
  /**
   * Where the Temporal SDK's metrics (`temporal_*`) come from, when this process runs a worker:
   * by default the process's bridge, fed by the runtime `installTemporalLogging` installs.
   * `false` leaves them out.
   */
  temporal?: TemporalMetricsBridge | false;
}

/** The metrics of one process, typed, all in {@link Metrics.registry}. */
export interface Metrics extends TargetMetrics, SlackMetrics, OidcMetrics, DetectionMetrics {
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
  /** `elevate_expiry_revoker_removals_total{target_type,outcome}`: the worker's fast path at expiry. */
  expiryRemovals: Counter<'target_type' | 'outcome'>;
  /**
   * `elevate_worker_clock_offset_seconds`: how far this worker's clock is ahead of the Temporal
   * server's (negative: behind), as corrected for timing windows; 0 within a second.
   */
  workerClockOffset: Gauge;
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
  /**
   * `elevate_preauth_refusals_total{reason}`: every refusal before authentication, whether
   * recorded in the audit trail in full, only counted in a summary, or rate-limited (429).
   */
  preAuthRefusals: Counter<'reason'>;
  /** `elevate_anomalies_total{kind}`: anomalies continuous detection recorded, by kind. */
  anomalies: Counter<'kind'>;
}

/** A fresh registry with every Elevate metric in it. Call once per process (tests may call it more). */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });
    for (const metric of registry.getMetricsAsArray()) {
      // `promtool check metrics`: "non-counter metrics should not have "_total" suffix".
      if (!(metric instanceof Counter) && metric.name.endsWith('_total'))
        registry.removeSingleMetric(metric.name);
    }
  }

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

  const metrics: Metrics = {
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
    expiryRemovals: new Counter({
      name: 'elevate_expiry_revoker_removals_total',
      help: "The worker's expiry revoker at the end of windows: removed (read back), kept for other holders, or failed (the workflow's revocation retries it).",
      labelNames: ['target_type', 'outcome'] as const,
      registers,
    }),
    workerClockOffset: new Gauge({
      name: 'elevate_worker_clock_offset_seconds',
      help: "How far this worker's clock is ahead of the Temporal server's (negative: behind), measured from activities' scheduled times; windows are timed on the server's clock. 0 within a second.",
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
    preAuthRefusals: new Counter({
      name: 'elevate_preauth_refusals_total',
      help: 'Requests refused before authentication (no, malformed or unknown credential; rate-limited), by reason, whether audited in full or only counted in a summary event.',
      labelNames: ['reason'] as const,
      registers,
    }),
    anomalies: new Counter({
      name: 'elevate_anomalies_total',
      help: 'Anomalies continuous detection recorded (anomaly.detected), by kind; the same anomaly of the same bot counts again only after detection.realertHours.',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
  initialiseLabelSets(metrics);
  if (opts.temporal !== false) (opts.temporal ?? temporalMetrics).attach(registry);
  return metrics;
}

/**
 * Export every known label set at 0 (see {@link TARGET_TYPES}). The HTTP metrics are left out:
 * their routes belong to the app, and a route's first request is not an alert.
 */
function initialiseLabelSets(m: Metrics): void {
  for (const outcome of ELEVATION_REQUEST_OUTCOMES) m.elevationRequests.inc({ outcome }, 0);
  for (const target_type of TARGET_TYPES) {
    m.revocationLag.zero({ target_type });
    m.revokeFailures.inc({ target_type }, 0);
    for (const outcome of GRANT_OUTCOMES) m.grants.inc({ target_type, outcome }, 0);
    for (const outcome of REVOCATION_OUTCOMES) m.revocations.inc({ target_type, outcome }, 0);
    for (const outcome of EXPIRY_REMOVAL_OUTCOMES) m.expiryRemovals.inc({ target_type, outcome }, 0);
    for (const outcome of DRIFT_OUTCOMES) m.driftFindings.inc({ target_type, outcome }, 0);
    for (const error of TARGET_ERROR_NAMES) m.targetErrors.inc({ target_type, error }, 0);
  }
  for (const method of SLACK_METHODS) m.slackApiErrors.inc({ method }, 0);
  for (const stage of OIDC_ERROR_STAGES) m.oidcErrors.inc({ stage }, 0);
  for (const reason of PREAUTH_REFUSAL_REASONS) m.preAuthRefusals.inc({ reason }, 0);
  for (const kind of ANOMALY_KINDS) m.anomalies.inc({ kind }, 0);
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

/** What the scrape check needs to know about credentials; the authenticator (`domain/auth/authenticator.ts`) provides it. */
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
export function scrapeFingerprint(token: string): string {
  return hashSecret(token).slice('sha256:'.length, 'sha256:'.length + 12);
}
