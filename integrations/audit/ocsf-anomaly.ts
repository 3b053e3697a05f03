/**
 * Continuous detection's `anomaly.detected` in the `ocsf` export (see `ocsf.ts`): a Detection
 * Finding 2004 (Create, finding status New, an alert), titled by its kind, with the finding's own
 * severity, its sentence as the message, and its numbers in words in `risk_details`. The event
 * as recorded (kind, bot, fleet, evidence) stays under `unmapped` like every event.
 */
import type { AnomalyKind } from '../../core/model/anomaly.js';
import type { EventDataOf } from '../../core/model/event-data.js';
import type { Severity } from './ocsf-objects.js';

/** The Detection Finding title of each kind (`finding_info.title`). */
const TITLES: Record<AnomalyKind, string> = {
  fleet_rate_spike: 'Rate spike across a fleet of bots',
  credential_refusals: 'Repeated credential fetch refusals',
  grants_run_to_expiry: 'Bot stopped giving its grants back early',
  dormant: 'Dormant bot that may still request roles',
  orphaned: 'Bot whose owner left the directory',
};

/** `finding_info.types` of every anomaly. */
const TYPE = 'Bot behaviour anomaly';

/** The title, type and severity of the finding. */
export function anomalyFinding(d: EventDataOf<'anomaly.detected'>): readonly [string, string, Severity] {
  return [TITLES[d.kind], TYPE, d.severity];
}

/** The message: the finding's sentence, naming the bot (or fleet) it is about. */
export function anomalyMessage(d: EventDataOf<'anomaly.detected'>): string {
  const about = d.fleet ? `${d.fleet.by} ${d.fleet.id}` : `bot ${d.botId}`;
  return `Anomaly ${d.kind} of ${about}: ${d.text}`;
}

/** `risk_details`: the evidence, `name=value` in the recorded order. */
export function anomalyDetails(d: EventDataOf<'anomaly.detected'>): string | undefined {
  const parts = Object.entries(d.evidence).map(([name, value]) => `${name}=${value}`);
  if (d.fleet) parts.push(`bots=${d.fleet.bots.join(',')}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}
