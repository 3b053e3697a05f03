/**
 * Continuous detection's activity: one run of the anomaly detector
 * (`domain/detection/anomaly-detector.ts`), called by `detectionWorkflow` every few minutes from
 * the schedule `elevate-detection`. Built by a factory from its dependencies, like the other
 * activities.
 */
import type { Logger } from 'pino';
import type { Policy } from '../config/policy.js';
import type { DetectionRunResult } from '../core/model/anomaly.js';
import type { TypedAuditAppender } from '../core/model/audit-record.js';
import type { DetectionActivities } from '../core/ports/activities.js';
import type { PeopleDirectory } from '../core/ports/approver-directory.js';
import type { DetectionMetrics } from '../core/ports/metrics.js';
import type { ApprovalNotifier } from '../core/ports/notifier.js';
import { AnomalyDetector } from '../domain/detection/anomaly-detector.js';
import { scorerOn } from './risk-scoring.js';
import type { Stores } from '../store/stores.js';

export interface DetectionActivityDeps {
  detector: Pick<AnomalyDetector, 'run'>;
  logger: Pick<Logger, 'info'>;
}

export function createDetectionActivities(deps: DetectionActivityDeps): DetectionActivities {
  return {
    /** One detection run; its summary goes to the log and to the workflow's result. */
    async detectAnomalies(): Promise<DetectionRunResult> {
      const result = await deps.detector.run();
      deps.logger.info(
        {
          folded: result.folded,
          bots: result.bots,
          found: result.found,
          recorded: result.recorded,
          suppressed: result.suppressed,
          byKind: result.byKind,
          ...(result.skipped.length > 0 ? { skipped: result.skipped } : {}),
          ...(result.alertFailures > 0 ? { alertFailures: result.alertFailures } : {}),
        },
        'detection run finished',
      );
      return result;
    },
  };
}

/** What {@link detectionActivitiesOn} builds the activity from: a process's stores and policy. */
export interface DetectionActivityStores {
  stores: Pick<Stores, 'baselines' | 'botStates' | 'botActivity' | 'eventsByType' | 'singleUse' | 'auditLog'>;
  policy: Pick<Policy, 'bots' | 'detection'>;
  notifier: ApprovalNotifier;
  /** The LDAP directory, when configured: owners are looked up there (orphaned bots). */
  directory?: PeopleDirectory;
  metrics?: DetectionMetrics;
  /** Where appends go (defaults to the stores' audit log). */
  store?: TypedAuditAppender;
  logger: Logger;
}

/** The detection activity of a worker, over its stores. */
export function detectionActivitiesOn({
  stores,
  policy,
  notifier,
  directory,
  metrics,
  store,
  logger,
}: DetectionActivityStores): DetectionActivities {
  const log = logger.child({ component: 'detection' });
  return createDetectionActivities({
    detector: new AnomalyDetector({
      scorer: scorerOn(stores, policy, log),
      baselines: stores.baselines,
      botStates: stores.botStates,
      botActivity: stores.botActivity,
      eventsByType: stores.eventsByType,
      policy,
      ...(directory ? { directory } : {}),
      singleUse: stores.singleUse,
      store: store ?? stores.auditLog,
      notifier,
      ...(metrics ? { metrics } : {}),
      logger: log,
      ...(policy.detection?.alertChannel ? { alertChannel: policy.detection.alertChannel } : {}),
    }),
    logger: log,
  });
}
