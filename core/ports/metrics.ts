/**
 * The metrics the layers below the process record, as ports: counters and histograms with named
 * labels, in the shape prom-client's offer. The process's registry (`integrations/metrics/prometheus.ts`)
 * implements them; adapters and activities depend only on the slice they use.
 */

/** Label values of one observation. */
export type MetricLabels<L extends string> = Partial<Record<L, string | number>>;

/** A counter with labels `L`. */
export interface LabelledCounter<L extends string> {
  inc(labels: MetricLabels<L>, value?: number): void;
}

/** A histogram with labels `L`. */
export interface LabelledHistogram<L extends string> {
  observe(labels: MetricLabels<L>, value: number): void;
}

/** `method` of `elevate_slack_api_errors_total`: every Slack Web API method Elevate calls. */
export const SLACK_METHODS = [
  'auth.test',
  'chat.postMessage',
  'chat.update',
  'views.open',
  'users.info',
  'users.lookupByEmail',
] as const;
/** A Slack Web API method Elevate calls. */
export type SlackMethod = (typeof SLACK_METHODS)[number];

/** What grants, revocations and reconciliation record (the worker's activities). */
export interface TargetMetrics {
  /** `elevate_grants_total{target_type,outcome}`. */
  grants: LabelledCounter<'target_type' | 'outcome'>;
  /** `elevate_revocations_total{target_type,outcome}`. */
  revocations: LabelledCounter<'target_type' | 'outcome'>;
  /** `elevate_revoke_failures_total{target_type}`. */
  revokeFailures: LabelledCounter<'target_type'>;
  /** `elevate_revocation_lag_seconds{target_type}`. */
  revocationLag: LabelledHistogram<'target_type'>;
  /** `elevate_target_errors_total{target_type,error}`. */
  targetErrors: LabelledCounter<'target_type' | 'error'>;
  /** `elevate_drift_findings_total{target_type,outcome}`. */
  driftFindings: LabelledCounter<'target_type' | 'outcome'>;
}

/** What continuous detection records (the worker's `detectAnomalies` activity). */
export interface DetectionMetrics {
  /** `elevate_anomalies_total{kind}`: anomalies recorded (once per re-alert period). */
  anomalies: LabelledCounter<'kind'>;
}

/** What the Slack client records. */
export interface SlackMetrics {
  /** `elevate_slack_api_errors_total{method}`. */
  slackApiErrors: LabelledCounter<'method'>;
}

/** What the OpenID Connect relying party records. */
export interface OidcMetrics {
  /** `elevate_oidc_errors_total{stage}`. */
  oidcErrors: LabelledCounter<'stage'>;
}
