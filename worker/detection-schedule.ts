/**
 * The Temporal Schedule that runs continuous detection (`detectionWorkflow`) every
 * `detection.scanIntervalSeconds`. Each worker process sets it up at start from the policy it
 * loaded, as it does the reconcile schedule, so the interval is that of the most recently
 * started worker's policy. The run itself reads the policy of the worker that takes it.
 */
import type { Client, ScheduleHandle } from '@temporalio/client';
import { DEFAULT_SCAN_INTERVAL_SECONDS, DETECTION_SCHEDULE_ID } from '../core/model/anomaly.js';
import type { detectionWorkflow } from '../workflows/detection-workflow.js';
import { ensureIntervalSchedule } from './interval-schedule.js';

export interface DetectionScheduleOptions {
  /** Task queue the worker that runs the detection workflow and its activity polls. */
  taskQueue: string;
  /** Pause between two runs (default {@link DEFAULT_SCAN_INTERVAL_SECONDS}). */
  intervalSeconds?: number;
  /** Schedule id (default `elevate-detection`; tests use their own). */
  scheduleId?: string;
}

/**
 * Create the detection schedule, or bring an existing one up to date (interval, task queue),
 * keeping its paused state: an operator who paused it keeps it paused across worker restarts.
 * A run still going when the next is due makes that next one skipped.
 */
export function ensureDetectionSchedule(
  client: Client,
  opts: DetectionScheduleOptions,
): Promise<ScheduleHandle> {
  return ensureIntervalSchedule<typeof detectionWorkflow>(client, {
    scheduleId: opts.scheduleId ?? DETECTION_SCHEDULE_ID,
    intervalSeconds: opts.intervalSeconds ?? DEFAULT_SCAN_INTERVAL_SECONDS,
    workflowType: 'detectionWorkflow',
    args: [],
    taskQueue: opts.taskQueue,
  });
}
