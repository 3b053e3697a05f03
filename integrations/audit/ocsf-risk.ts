/**
 * The inline risk score in the `ocsf` export (see `ocsf.ts`). OCSF 1.5.0 gives a score a place
 * in two spots the export uses: the Detection Finding (`risk_score`, `risk_level`,
 * `risk_level_id`, `risk_details`) and the `user` object (the first three). So:
 *
 * - `elevation.requested` stays an Entity Management Create; the bot that asked is its actor,
 *   and its `actor.user` carries the score and level. The route and the reasons go in the
 *   elevation's `entity.data.risk` (the managed entity's `data` is free-form JSON), and the
 *   event's severity follows the level.
 * - `elevation.denied` because of the score is a Detection Finding, with all four attributes.
 *
 * The event as recorded, score included, stays under `unmapped` like every event.
 */
import type { RiskDecision, RiskLevel } from '../../core/model/risk.js';
import type { Severity } from './ocsf-objects.js';

/** OCSF's `risk_level_id` and `risk_level` (0 Info, 1 Low, 2 Medium, 3 High, 4 Critical). */
const RISK_LEVELS: Record<RiskLevel, [number, string]> = {
  low: [1, 'Low'],
  medium: [2, 'Medium'],
  high: [3, 'High'],
  critical: [4, 'Critical'],
};

/** The event's severity for a request scored at a level: one step below, as it is not a finding. */
const REQUEST_SEVERITY: Record<RiskLevel, Severity> = {
  low: 'informational',
  medium: 'low',
  high: 'medium',
  critical: 'high',
};

/** A finding's severity: the level itself. */
const FINDING_SEVERITY: Record<RiskLevel, Severity> = {
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

/** `risk_score` (an integer in OCSF), `risk_level_id` and `risk_level`. */
export function riskAttributes(risk: RiskDecision): Record<string, unknown> {
  const [levelId, level] = RISK_LEVELS[risk.level];
  return { risk_score: Math.round(risk.score), risk_level_id: levelId, risk_level: level };
}

/** `risk_details` of a finding: the score, the route and every reason, in words. */
export function riskDetails(risk: RiskDecision): string {
  const reasons = risk.reasons.map((r) => `+${r.points} ${r.code}: ${r.text}`).join('; ');
  return `${riskWords(risk)}: ${risk.routeReason}${reasons ? `. Reasons: ${reasons}` : ''}${
    risk.baselined ? '' : ". No baseline yet: only the role's static factors scored"
  }`;
}

/** The decision as the elevation entity's `data.risk`: exactly what was recorded. */
export function riskEntityData(risk: RiskDecision): Record<string, unknown> {
  return {
    score: risk.score,
    level: risk.level,
    route: risk.route,
    routeReason: risk.routeReason,
    baselined: risk.baselined,
    reasons: risk.reasons.map((r) => ({ code: r.code, points: r.points, text: r.text })),
  };
}

/** `risk 72/100 (high), escalated`, for messages. */
export function riskWords(risk: RiskDecision): string {
  return `risk ${risk.score}/100 (${risk.level}), ${risk.route}`;
}

/** The severity of a request's Entity Management event, by its score's level. */
export function requestSeverity(risk: RiskDecision | undefined): Severity {
  return risk ? REQUEST_SEVERITY[risk.level] : 'informational';
}

/** The severity of the finding of a request the score denied. */
export function findingSeverity(risk: RiskDecision): Severity {
  return FINDING_SEVERITY[risk.level];
}
