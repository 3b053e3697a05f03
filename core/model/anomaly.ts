/**
 * Continuous detection: what the schedule `elevate-detection` looks for beyond single requests
 * (the kinds of anomaly), what one finding says, the settings it runs with and what one run
 * reports. Part of the pure core: the rules are in `core/rules/anomalies.ts`, the run in
 * `domain/detection/anomaly-detector.ts`.
 */
import type { RiskLevel } from './risk.js';

/** Id of the Temporal Schedule that runs continuous detection. */
export const DETECTION_SCHEDULE_ID = 'elevate-detection';

/** Seconds between two detection runs unless the policy says (`detection.scanIntervalSeconds`). */
export const DEFAULT_SCAN_INTERVAL_SECONDS = 300;

/**
 * Every kind of anomaly, one code each (stable: events, alerts and the metric's `kind` label key
 * on them):
 *
 * - `fleet_rate_spike`: the bots of one team or one owner together requested far more in the last
 *   hour than in their usual busiest hour;
 * - `credential_refusals`: a bot was refused its credentials (`credentials.refused`) several
 *   times in the last hour;
 * - `grants_run_to_expiry`: a bot that gave its grants back early lets them run to expiry, several
 *   in a row;
 * - `dormant`: a bot that may request roles has requested none for `dormantDays` days (stale);
 * - `orphaned`: a bot whose owner is no longer in the directory.
 */
export const ANOMALY_KINDS = [
  'fleet_rate_spike',
  'credential_refusals',
  'grants_run_to_expiry',
  'dormant',
  'orphaned',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** The bots a fleet finding is about: those of one team, or of one owner. */
export interface AnomalyFleet {
  by: 'team' | 'owner';
  /** The team's name or the owner's address. */
  id: string;
  bots: string[];
}

/** One anomaly found: what the `anomaly.detected` event, the alert and the console show. */
export interface AnomalyFinding {
  kind: AnomalyKind;
  /** The bot it is about (for a fleet: the bot that requested most in the last hour). */
  botId: string;
  severity: RiskLevel;
  /** A human sentence, e.g. "bot etl-bot has not requested a role for 45 days …". */
  text: string;
  /** The numbers behind the sentence, by name. */
  evidence: Record<string, number>;
  /** For a fleet finding: the fleet. */
  fleet?: AnomalyFleet;
}

/** How continuous detection runs (the policy's `detection` section, defaults filled in). */
export interface AnomalySettings {
  /** Days without a request after which a bot that may request roles is dormant. Default 30. */
  dormantDays: number;
  /** Hours before the same kind of anomaly of the same bot (or fleet) is recorded and alerted again. Default 24. */
  realertHours: number;
  /** A fleet's last hour above this many times its usual busiest hour is a spike. Default 3. */
  fleetSpikeFactor: number;
  /** ... and above this many requests at least (a quiet fleet's doubling is no spike). Default 30. */
  fleetSpikeMinRequests: number;
  /** Credential refusals of one bot within an hour that make an anomaly. Default 3. */
  credentialRefusalsPerHour: number;
  /** Grants in a row run to expiry by a bot that gave them back early. Default 3. */
  expiryStreak: number;
}

export const DEFAULT_ANOMALY_SETTINGS: AnomalySettings = {
  dormantDays: 30,
  realertHours: 24,
  fleetSpikeFactor: 3,
  fleetSpikeMinRequests: 30,
  credentialRefusalsPerHour: 3,
  expiryStreak: 3,
};

/** What one detection run did (the workflow's result, in Temporal's history). */
export interface DetectionRunResult {
  /** When it looked (ISO 8601). */
  at: string;
  /** Audit events folded into the baselines first. */
  folded: number;
  /** Bots of the policy looked at. */
  bots: number;
  /** Anomalies found, recorded (new) and left out as already recorded within `realertHours`. */
  found: number;
  recorded: number;
  suppressed: number;
  /** New ones by kind. */
  byKind: Partial<Record<AnomalyKind, number>>;
  /** Checks not made, in words (e.g. orphaned bots without a directory). */
  skipped: string[];
  /** Alerts that could not be delivered this time (the next run tries again). */
  alertFailures: number;
}
