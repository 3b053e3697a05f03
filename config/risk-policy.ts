/**
 * The policy's risk settings: the top-level `detection` section (how baselines are kept, the
 * score thresholds, the escalation group and where critical alerts go) and a role's own `risk`
 * (its sensitivity and overrides). {@link riskRoutingFor} resolves both into the routing each
 * role's requests carry in their signed start input.
 */
import { z } from 'zod';
import {
  DEFAULT_BASELINE_SETTINGS,
  DEFAULT_RISK_THRESHOLDS,
  ROLE_SENSITIVITIES,
  type BaselineSettings,
  type RiskThresholds,
  type RoleRiskRouting,
} from '../core/model/risk.js';
import type { ApproverGroup, ApprovalRule } from '../core/model/elevation.js';
import {
  DEFAULT_ANOMALY_SETTINGS,
  DEFAULT_SCAN_INTERVAL_SECONDS,
  type AnomalySettings,
} from '../core/model/anomaly.js';
import { DEFAULT_ESCALATION_WINDOW_SECONDS, defaultSensitivity } from '../core/rules/risk-routing.js';
import type { AttestationSettings } from '../core/model/attestation.js';

/**
 * Periodic owner attestation (`detection.attestation`): each bot's owner confirms its roles
 * every `everyDays` with MFA, within `answerWithinDays`, or the bot is suspended. Absent: off.
 */
const attestationSchema = z
  .object({
    everyDays: z.number().int().min(1).max(3650).default(90),
    answerWithinDays: z.number().int().min(1).max(365).default(7),
  })
  .strict()
  .refine((a) => a.answerWithinDays <= a.everyDays, {
    message: 'answerWithinDays must not exceed everyDays',
    path: ['answerWithinDays'],
  });

const score = z.number().int().min(0).max(100);

const thresholdsSchema = z
  .object({ medium: score, high: score, critical: score })
  .strict()
  .refine((t) => t.medium < t.high && t.high < t.critical, {
    message: 'must rise: medium < high < critical',
  });

/**
 * Build the detection and role risk schemas around the policy's approver group schema (passed
 * in, so that an escalation group is checked exactly like a role's approver group).
 */
export function riskSchemas<G extends z.ZodType<ApproverGroup>>(approverGroup: G) {
  const detection = z
    .object({
      /** Days of history a baseline covers. */
      windowDays: z.number().int().min(1).max(365).default(DEFAULT_BASELINE_SETTINGS.windowDays),
      /** Requests in the window before a bot's baseline counts. */
      minRequests: z.number().int().min(1).max(10_000).default(DEFAULT_BASELINE_SETTINGS.minRequests),
      /** Days since the bot's first observed request before its baseline counts. */
      minDays: z.number().int().min(0).max(365).default(DEFAULT_BASELINE_SETTINGS.minDays),
      thresholds: thresholdsSchema.default(DEFAULT_RISK_THRESHOLDS),
      /** Highest score an automatic role approves automatically (default: `thresholds.medium`). */
      autoApproveMax: score.optional(),
      /** Joins the quorum of high-risk requests; approves automatic roles' requests above `autoApproveMax`. */
      escalation: approverGroup.optional(),
      escalationWindowSeconds: z
        .number()
        .int()
        .min(60)
        .max(86_400)
        .default(DEFAULT_ESCALATION_WINDOW_SECONDS),
      /**
       * Slack channel id where critical requests (the bot's owner is told too) and the anomalies
       * continuous detection finds are announced.
       */
      alertChannel: z
        .string()
        .regex(/^[CG][A-Z0-9]{2,20}$/, { message: 'must be a Slack channel id, e.g. C0123ABCDEF' })
        .optional(),
      lockDownOnCritical: z.boolean().default(false),
      // Continuous detection (the schedule `elevate-detection`, core/model/anomaly.ts).
      /** Seconds between two detection runs. */
      scanIntervalSeconds: z.number().int().min(60).max(86_400).default(DEFAULT_SCAN_INTERVAL_SECONDS),
      /** Days without a request after which a bot that may request roles is dormant. */
      dormantDays: z.number().int().min(1).max(3650).default(DEFAULT_ANOMALY_SETTINGS.dormantDays),
      /** Hours before the same anomaly of the same bot is recorded and alerted again. */
      realertHours: z.number().int().min(1).max(720).default(DEFAULT_ANOMALY_SETTINGS.realertHours),
      /** A fleet's last hour above this many times its usual busiest hour is a spike. */
      fleetSpikeFactor: z.number().min(1.5).max(100).default(DEFAULT_ANOMALY_SETTINGS.fleetSpikeFactor),
      /** The fewest requests in an hour that can make a fleet's spike. */
      fleetSpikeMinRequests: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .default(DEFAULT_ANOMALY_SETTINGS.fleetSpikeMinRequests),
      /** Credential refusals of one bot within an hour that make an anomaly. */
      credentialRefusalsPerHour: z
        .number()
        .int()
        .min(2)
        .max(10_000)
        .default(DEFAULT_ANOMALY_SETTINGS.credentialRefusalsPerHour),
      /** Grants in a row run to expiry by a bot that gave them back early. */
      expiryStreak: z.number().int().min(2).max(100).default(DEFAULT_ANOMALY_SETTINGS.expiryStreak),
      /** Periodic owner attestation; no attestation when absent. */
      attestation: attestationSchema.optional(),
    })
    .strict();

  const roleRisk = z
    .object({
      sensitivity: z.enum(ROLE_SENSITIVITIES).optional(),
      thresholds: thresholdsSchema.optional(),
      autoApproveMax: score.optional(),
      escalation: approverGroup.optional(),
      lockDownOnCritical: z.boolean().optional(),
    })
    .strict();
  return { detection, roleRisk };
}

/** The `detection` section as parsed (defaults filled in). */
export interface DetectionPolicy extends BaselineSettings, AnomalySettings {
  thresholds: RiskThresholds;
  autoApproveMax?: number | undefined;
  escalation?: ApproverGroup | undefined;
  escalationWindowSeconds: number;
  alertChannel?: string | undefined;
  lockDownOnCritical: boolean;
  scanIntervalSeconds: number;
  attestation?: AttestationSettings | undefined;
}

/** A role's `risk` as parsed. */
export interface RoleRiskPolicy {
  sensitivity?: RoleRiskRouting['sensitivity'] | undefined;
  thresholds?: RiskThresholds | undefined;
  autoApproveMax?: number | undefined;
  escalation?: ApproverGroup | undefined;
  lockDownOnCritical?: boolean | undefined;
}

/** The detection section when the policy has none. */
export const DEFAULT_DETECTION: DetectionPolicy = {
  ...DEFAULT_BASELINE_SETTINGS,
  thresholds: DEFAULT_RISK_THRESHOLDS,
  escalationWindowSeconds: DEFAULT_ESCALATION_WINDOW_SECONDS,
  lockDownOnCritical: false,
  ...DEFAULT_ANOMALY_SETTINGS,
  scanIntervalSeconds: DEFAULT_SCAN_INTERVAL_SECONDS,
};

/** The routing of one role: its own `risk` over the policy's `detection`, over the defaults. */
export function riskRoutingFor(
  detection: DetectionPolicy | undefined,
  role: { approval: ApprovalRule; environment: string; risk?: RoleRiskPolicy | undefined },
): RoleRiskRouting {
  const d = detection ?? DEFAULT_DETECTION;
  const own = role.risk ?? {};
  const thresholds = own.thresholds ?? d.thresholds;
  const escalation = own.escalation ?? d.escalation;
  return {
    sensitivity: own.sensitivity ?? defaultSensitivity(role),
    thresholds,
    autoApproveMax: own.autoApproveMax ?? d.autoApproveMax ?? thresholds.medium,
    ...(escalation ? { escalation } : {}),
    escalationWindowSeconds: d.escalationWindowSeconds,
    lockDownOnCritical: own.lockDownOnCritical ?? d.lockDownOnCritical,
  };
}

/** The baseline settings of a policy (its `detection` section, or the defaults). */
export function baselineSettingsOf(detection: DetectionPolicy | undefined): BaselineSettings {
  const d = detection ?? DEFAULT_DETECTION;
  return { windowDays: d.windowDays, minRequests: d.minRequests, minDays: d.minDays };
}

/** The continuous detection settings of a policy (its `detection` section, or the defaults). */
export function anomalySettingsOf(detection: DetectionPolicy | undefined): AnomalySettings {
  const d = detection ?? DEFAULT_DETECTION;
  return {
    dormantDays: d.dormantDays,
    realertHours: d.realertHours,
    fleetSpikeFactor: d.fleetSpikeFactor,
    fleetSpikeMinRequests: d.fleetSpikeMinRequests,
    credentialRefusalsPerHour: d.credentialRefusalsPerHour,
    expiryStreak: d.expiryStreak,
  };
}
