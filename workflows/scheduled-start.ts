/**
 * The wait of a scheduled elevation (`startsAt`) between its approval and its grant: a Temporal
 * timer until the start, cut short by a revocation. Revoked while it waits (the bot gives it
 * back, an admin revokes it, a lockdown), it ends `revoked` with nothing granted, recorded and
 * told as a request withdrawn while pending is.
 */
import { condition } from '@temporalio/workflow';
import type { ElevationInput } from '../core/model/elevation.js';
import type { AuditQueue } from './audit-queue.js';
import type { ElevationState } from './elevation-state.js';
import type { NotifyQueue } from './notify-queue.js';

/** What the wait needs of the workflow's run. */
export interface ScheduledRun {
  input: ElevationInput;
  state: ElevationState;
  audit: AuditQueue;
  notify: NotifyQueue;
}

/**
 * Waits until the elevation's start (no timer when it has come already). True when the grant
 * should follow now; false when a revocation ended the elevation first (it is final then).
 */
export async function waitForStart({ input, state, audit, notify }: ScheduledRun): Promise<boolean> {
  const left = Date.parse(input.startsAt ?? '') - Date.now();
  if (left > 0 && state.revocationRequested() === undefined) {
    await condition(() => state.revocationRequested() !== undefined, left);
  }
  const ended = state.endBeforeStart();
  if (!ended) return true;
  await audit.recordBeforeNextStep(audit.event(ended.type, ended.actor, ended.data));
  notify.publish(ended.type, true);
  return false;
}
