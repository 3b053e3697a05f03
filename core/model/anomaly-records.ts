/**
 * An anomaly as the audit trail records it (`anomaly.detected`): a zod schema for
 * {@link AnomalyFinding}, checked at compile time against the type. Pure (imports zod only):
 * workflows import from here only with `import type`.
 */
import { z } from 'zod';
import { ANOMALY_KINDS, type AnomalyFinding } from './anomaly.js';
import { RISK_LEVELS } from './risk.js';
import type { Agrees, Assert } from './type-agreement.js';

/**
 * One anomaly found by continuous detection. A kind this version does not know (from a newer
 * one) does not match, as for a risk reason's code: readers then show the record as data of
 * unknown shape.
 */
export const anomalyDetectedSchema = z.object({
  kind: z.enum(ANOMALY_KINDS),
  botId: z.string(),
  severity: z.enum(RISK_LEVELS),
  text: z.string(),
  evidence: z.record(z.string(), z.number()),
  fleet: z.object({ by: z.enum(['team', 'owner']), id: z.string(), bots: z.array(z.string()) }).optional(),
});

export type _AnomalyFindingAgrees = Assert<Agrees<z.infer<typeof anomalyDetectedSchema>, AnomalyFinding>>;
