/**
 * Where a request's risk score sends it, for one role: approved automatically, to the role's
 * approvers, to them plus an escalation group, or denied. Pure: the workflow calls it with the
 * assessment its scoring activity returned and the routing the role carried in the signed start
 * input, so a replay routes the same way.
 *
 * - Above the `critical` threshold: denied, whatever the role.
 * - An automatic role: approved automatically at or below `autoApproveMax`; above it the
 *   escalation group must approve (denied when the policy names none: an automatic approval
 *   is never given above the threshold).
 * - A role with approvers: above the `high` threshold the escalation group joins the quorum
 *   (unless a group of the same name already is part of it).
 */
import type { ApprovalRule, RoleSnapshot } from '../model/elevation.js';
import {
  DEFAULT_RISK_THRESHOLDS,
  type RiskAssessment,
  type RiskDecision,
  type RiskLevel,
  type RiskThresholds,
  type RoleRiskRouting,
  type RoleSensitivity,
} from '../model/risk.js';
import { riskOf } from './risk.js';

/** Default wait for an escalated automatic role's request: 15 minutes. */
export const DEFAULT_ESCALATION_WINDOW_SECONDS = 900;

/** The level of `score`: above `critical` critical, above `high` high, above `medium` medium. */
export function levelOf(score: number, thresholds: RiskThresholds): RiskLevel {
  if (score > thresholds.critical) return 'critical';
  if (score > thresholds.high) return 'high';
  if (score > thresholds.medium) return 'medium';
  return 'low';
}

/** A role's sensitivity when the policy does not say: its static risk word (`risk.ts`). */
export function defaultSensitivity(role: Pick<RoleSnapshot, 'approval' | 'environment'>): RoleSensitivity {
  return riskOf(role);
}

/** The routing of a role that carries none (runs started before scoring, or a test's input). */
export function routingOf(role: Pick<RoleSnapshot, 'approval' | 'environment' | 'risk'>): RoleRiskRouting {
  return (
    role.risk ?? {
      sensitivity: defaultSensitivity(role),
      thresholds: DEFAULT_RISK_THRESHOLDS,
      autoApproveMax: DEFAULT_RISK_THRESHOLDS.medium,
      escalationWindowSeconds: DEFAULT_ESCALATION_WINDOW_SECONDS,
      lockDownOnCritical: false,
    }
  );
}

/**
 * A stable fingerprint of an approval rule: its mode and, per group (by name), the quorum and
 * who is in it. Scoring compares it with the one the bot's last request of the role saw.
 */
export function approvalChainOf(rule: ApprovalRule): string {
  if (rule.mode === 'auto') return 'auto';
  const groups = [...rule.groups]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((g) => {
      const who =
        g.ldapGroupDn !== undefined
          ? `ldap:${g.ldapGroupDn.toLowerCase()}`
          : [...(g.members ?? [])].sort().join(',');
      return `${g.name}/${g.quorum}/${who}`;
    });
  return `approvers;owner=${rule.ownerMayApprove ? 1 : 0};${groups.join(';')}`;
}

/** What routing decided: the assessment with its route, the approval rule that now applies, and a lockdown. */
export interface RoutedRequest {
  decision: RiskDecision;
  /** The rule the request is approved by from here on (the role's own, or with escalation). */
  approval: ApprovalRule;
  /** Lock the bot down (a critical score, when the role says so). */
  lockDown: boolean;
}

/** Routes one scored request of `role` (see the module comment). */
export function routeRequest(role: RoleSnapshot, assessment: RiskAssessment): RoutedRequest {
  const routing = routingOf(role);
  const { score } = assessment;
  const { thresholds, escalation } = routing;
  const decide = (
    route: RiskDecision['route'],
    routeReason: string,
    approval: ApprovalRule = role.approval,
  ) => ({
    decision: { ...assessment, route, routeReason },
    approval,
    lockDown: route === 'denied' && assessment.level === 'critical' && routing.lockDownOnCritical,
  });

  if (score > thresholds.critical) {
    return decide('denied', `score ${score} is above the critical threshold ${thresholds.critical}`);
  }
  if (role.approval.mode === 'auto') {
    if (score <= routing.autoApproveMax) {
      return decide(
        'auto',
        `score ${score} is at most ${routing.autoApproveMax}, the highest approved automatically`,
      );
    }
    if (!escalation) {
      return decide(
        'denied',
        `score ${score} is above ${routing.autoApproveMax}, the highest approved automatically, and the role names no escalation group`,
      );
    }
    return decide(
      'escalated',
      `score ${score} is above ${routing.autoApproveMax}, the highest approved automatically: the ${escalation.name} group must approve`,
      {
        mode: 'approvers',
        groups: [escalation],
        windowSeconds: routing.escalationWindowSeconds,
        ownerMayApprove: false,
      },
    );
  }
  if (score > thresholds.high) {
    if (!escalation) {
      return decide(
        'approvers',
        `score ${score} is above the high threshold ${thresholds.high}; the role names no escalation group`,
      );
    }
    if (role.approval.groups.some((g) => g.name === escalation.name)) {
      return decide(
        'approvers',
        `score ${score} is above the high threshold ${thresholds.high}; the ${escalation.name} group already approves this role`,
      );
    }
    return decide(
      'escalated',
      `score ${score} is above the high threshold ${thresholds.high}: the ${escalation.name} group joins the approvers`,
      { ...role.approval, groups: [...role.approval.groups, escalation] },
    );
  }
  return decide('approvers', `score ${score} is at most the high threshold ${thresholds.high}`);
}
