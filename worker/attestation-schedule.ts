/**
 * The Temporal Schedule that starts periodic owner attestations (`attestationSweepWorkflow`)
 * once a day. Each worker sets it up at start when its policy has `detection.attestation`, as it
 * does the detection schedule (a paused one stays paused); without it, the schedule is removed,
 * so turning attestation off in the policy stops asking owners.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { ATTESTATION_SCHEDULE_ID } from '../core/model/attestation.js';
import type { attestationSweepWorkflow } from '../workflows/attestation-workflow.js';
import { ensureIntervalSchedule } from './interval-schedule.js';

export interface AttestationScheduleOptions {
  /** Task queue the worker that runs the sweep and its activity polls. */
  taskQueue: string;
  /** Whether the policy asks owners to attest (`detection.attestation` is set). */
  enabled: boolean;
  /** Schedule id (default `elevate-attestation`; tests use their own). */
  scheduleId?: string;
}

/** Create, update or (attestation off) delete the daily attestation schedule. */
export async function ensureAttestationSchedule(
  client: Client,
  opts: AttestationScheduleOptions,
): Promise<void> {
  const scheduleId = opts.scheduleId ?? ATTESTATION_SCHEDULE_ID;
  if (!opts.enabled) {
    await client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
    return;
  }
  await ensureIntervalSchedule<typeof attestationSweepWorkflow>(client, {
    scheduleId,
    intervalSeconds: 86_400,
    workflowType: 'attestationSweepWorkflow',
    args: [],
    taskQueue: opts.taskQueue,
  });
}
