/**
 * The risk score as the audit trail records it and the API answers it: zod schemas for
 * {@link RiskDecision}, checked at compile time against the type. Pure (imports zod only):
 * workflows import from here only with `import type`.
 */
import { z } from 'zod';
import type { Agrees, Assert } from './type-agreement.js';
import { RISK_LEVELS, RISK_REASON_CODES, type RiskDecision } from './risk.js';

/**
 * One reason, as recorded. A code this version does not know (from a newer one) does not match:
 * readers then show the record as data of unknown shape, as for any record that does not parse.
 */
export const riskReasonSchema = z.object({
  code: z.enum(RISK_REASON_CODES),
  points: z.number(),
  text: z.string(),
});

/** A request's score, reasons and route, as recorded with `elevation.requested`. */
export const riskDecisionSchema = z.object({
  score: z.number().min(0).max(100),
  level: z.enum(RISK_LEVELS),
  reasons: z.array(riskReasonSchema),
  baselined: z.boolean(),
  route: z.enum(['auto', 'approvers', 'escalated', 'denied']),
  routeReason: z.string(),
});

export type _RiskDecisionAgrees = Assert<Agrees<z.infer<typeof riskDecisionSchema>, RiskDecision>>;
