/**
 * The inline risk score of a bot's request: what scoring looks at, what a bot's baseline keeps,
 * and what the score says. Part of the pure core: the rules that compute it are in
 * `core/rules/risk-score.ts` (the score) and `core/rules/bot-baseline.ts` (the baseline, kept
 * up to date one event at a time); the worker runs them in an activity before the request is
 * routed, so a replay reads the recorded result and never recomputes it.
 */
import type { ApproverGroup } from './approver-group.js';
import type { AuthMethod, WorkloadClaims } from './request-source.js';

/** Risk levels, lowest first; the thresholds between them come from the policy. */
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** How sensitive a role is, as the policy declares it (default: derived from its environment and approval). */
export const ROLE_SENSITIVITIES = ['low', 'medium', 'high', 'critical'] as const;
export type RoleSensitivity = (typeof ROLE_SENSITIVITIES)[number];

/** Every reason a score can give, one code each (stable: exports and alerts key on them). */
export const RISK_REASON_CODES = [
  'new_network',
  'new_user_agent',
  'new_workload',
  'unusual_hour',
  'new_role',
  'long_duration',
  'rate_spike',
  'refusal_burst',
  'sibling_locked_down',
  'approval_chain_changed',
  'production_environment',
  'role_sensitivity',
  'no_baseline',
] as const;
export type RiskReasonCode = (typeof RISK_REASON_CODES)[number];

/** One reason a score is what it is: its code, the points it added, and a sentence for people. */
export interface RiskReason {
  code: RiskReasonCode;
  points: number;
  /** A human sentence, e.g. "first request from 203.0.113.0/24 in 30 days". */
  text: string;
}

/** What scoring knows about one request, taken from the workflow's start input and the policy. */
export interface ScoringRequest {
  botId: string;
  roleId: string;
  /** When the server accepted the request, milliseconds since the epoch (UTC). */
  at: number;
  durationSeconds: number;
  /** The client address, as recorded in the request's source. */
  ip: string | null;
  userAgent: string | null;
  authMethod: AuthMethod;
  workload?: WorkloadClaims;
  /** The role's environment id (`prod`, `staging`...). */
  environment: string;
  sensitivity: RoleSensitivity;
  /** A stable fingerprint of the role's approval rule (groups, quorums, members). */
  approvalChain: string;
  /** Another bot of the same owner or team is locked down right now. */
  siblingLockedDown: boolean;
}

/** What the baseline learns from, one event at a time, in audit order. */
export type BaselineObservation =
  | ({
      kind: 'requested';
      /** The elevation, so that its decision can be matched to it (see `riskLevel`). */
      elevationId?: string;
      /** The role's sensitivity when asked (lets scoring tell a step up to a more sensitive role). */
      sensitivity?: RoleSensitivity;
      /**
       * The level the request's own score had, when known. A `high` or `critical` one is learnt
       * (network, client, claims, role, duration), but its hour and the new values it brought
       * count as usual only once a person approved it (a `decided` observation with the same
       * `elevationId`; a critical one is denied), so an incident does not raise the bar for the
       * next one while a legitimate change stops being news.
       */
      riskLevel?: RiskLevel;
    } & Omit<ScoringRequest, 'siblingLockedDown' | 'sensitivity' | 'environment'>)
  | { kind: 'refused'; botId: string; at: number; reason: string }
  | {
      kind: 'decided';
      botId: string;
      at: number;
      outcome: 'approved' | 'denied' | 'expired';
      elevationId?: string;
    }
  | { kind: 'ended'; botId: string; at: number; roleId: string; heldSeconds: number; givenBack: boolean };

/** How the baselines are kept and when one counts (the policy's `detection` section). */
export interface BaselineSettings {
  /** Days of history a baseline covers; older observations fade out. Default 30. */
  windowDays: number;
  /** Requests a bot must have made in the window before its baseline counts. Default 20. */
  minRequests: number;
  /** Days between a bot's first observed request and now before its baseline counts. Default 7. */
  minDays: number;
}

export const DEFAULT_BASELINE_SETTINGS: BaselineSettings = { windowDays: 30, minRequests: 20, minDays: 7 };

/** The result of scoring one request. */
export interface RiskAssessment {
  /** 0 (nothing unusual) to 100. */
  score: number;
  level: RiskLevel;
  /** Highest points first; empty when nothing added points. */
  reasons: RiskReason[];
  /** Whether the bot's baseline counted (enough history); without it only static factors score. */
  baselined: boolean;
}

/** Score thresholds: a score above `high` is high, above `critical` critical, above `medium` medium. */
export interface RiskThresholds {
  medium: number;
  high: number;
  critical: number;
}

export const DEFAULT_RISK_THRESHOLDS: RiskThresholds = { medium: 30, high: 60, critical: 85 };

/**
 * How the score routes requests for one role, as the policy said when the bot asked (part of
 * the signed start input, so the workflow never re-reads the policy): the thresholds, the
 * highest score that may still be approved automatically, the group that joins the quorum of
 * a high-risk request (and approves an automatic role's requests above `autoApproveMax`), and
 * whether a critical request also locks the bot down.
 */
export interface RoleRiskRouting {
  sensitivity: RoleSensitivity;
  thresholds: RiskThresholds;
  /** An automatic role's request scoring above this needs the escalation group's approval. */
  autoApproveMax: number;
  /** Joins the quorum above `thresholds.high`; absent: none configured. */
  escalation?: ApproverGroup;
  /** How long an escalated automatic role's request waits for a decision. */
  escalationWindowSeconds: number;
  /** Lock the bot down when one of its requests scores critical. */
  lockDownOnCritical: boolean;
}

/** What the score decided for one request. */
export type RiskRoute =
  /** Approved with no human: an automatic role at or below `autoApproveMax`. */
  | 'auto'
  /** The role's approvers, as configured. */
  | 'approvers'
  /** The escalation group joined (high) or became (automatic role above `autoApproveMax`) the approvers. */
  | 'escalated'
  /** Denied before anything was announced or granted (critical, or no one to escalate to). */
  | 'denied';

/** A request's assessment with the route it took: what the view, the events and the exports carry. */
export interface RiskDecision extends RiskAssessment {
  route: RiskRoute;
  /** Why that route, in one sentence. */
  routeReason: string;
}
