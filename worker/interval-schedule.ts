/**
 * A Temporal Schedule that starts one workflow every so many seconds, created by each worker at
 * start from the policy it loaded, or brought up to date when it exists (interval, input, task
 * queue) keeping its paused state: an operator who paused it keeps it paused across restarts.
 * A run still going when the next is due makes that next one skipped, and a run that hangs is
 * ended after an hour so that it cannot block the schedule for good.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleHandle,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/workflow';

/** What one interval schedule runs, and how often. */
export interface IntervalSchedule<W extends Workflow> {
  scheduleId: string;
  intervalSeconds: number;
  /** The workflow's type name; its id is the schedule's. */
  workflowType: string;
  args: Parameters<W>;
  taskQueue: string;
}

/** Create the schedule, or update the one that exists (see the module comment). */
export async function ensureIntervalSchedule<W extends Workflow>(
  client: Client,
  schedule: IntervalSchedule<W>,
): Promise<ScheduleHandle> {
  const { scheduleId } = schedule;
  const spec: ScheduleSpec = { intervals: [{ every: `${schedule.intervalSeconds}s` }] };
  const action = {
    type: 'startWorkflow',
    workflowType: schedule.workflowType,
    workflowId: scheduleId,
    args: schedule.args,
    taskQueue: schedule.taskQueue,
    workflowExecutionTimeout: '1h',
  } as ScheduleOptionsStartWorkflowAction<W>;
  const policies = { overlap: ScheduleOverlapPolicy.SKIP };
  try {
    return await client.schedule.create({ scheduleId, spec, action, policies });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(scheduleId);
    await handle.update<W>((previous) => ({
      ...previous,
      spec,
      action,
      policies: { ...previous.policies, overlap: ScheduleOverlapPolicy.SKIP },
    }));
    return handle;
  }
}
