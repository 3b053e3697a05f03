/**
 * Continuous detection: started by the Temporal Schedule `elevate-detection` every few minutes
 * (`detection.scanIntervalSeconds`), it runs one activity that keeps the baselines up to date and
 * looks across bots and requests for what single requests cannot show (`core/model/anomaly.ts`).
 * The activity records, alerts and counts; this workflow is only the call and its result.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { DetectionRunResult } from '../core/model/anomaly.js';
import type { Activities } from '../core/ports/activities.js';

/**
 * A few quick tries: the schedule runs again soon, and a run that stopped half-way is finished
 * by the next (its claims name their events; see `anomaly-detector.ts`). The first run after an
 * upgrade may fold a long audit log into the baselines, hence the generous timeout.
 */
const { detectAnomalies } = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});

/** One detection run. */
export async function detectionWorkflow(): Promise<DetectionRunResult> {
  return detectAnomalies();
}
