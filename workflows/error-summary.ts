/** How the elevation workflow describes a failure it records, shows or logs. */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** An error's type and message (an activity's cause, unwrapped): `ApplicationFailure.type` or the error's name. */
export function errorSummary(err: unknown): { type: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  if (cause instanceof Error) return { type: cause.name, message: cause.message };
  return { type: 'Error', message: String(cause) };
}
