/**
 * The on-call directory: rotations from the policy computed here, PagerDuty and Opsgenie
 * schedules looked up at the provider when one is configured (a schedule of a provider that is
 * not is {@link OnCallUnavailableError}, as an unreachable one is: nobody is made an approver by
 * a lookup that could not be made).
 */
import type { OnCallSource } from '../../core/model/oncall.js';
import { OnCallUnavailableError, type OnCallDirectory } from '../../core/ports/oncall-directory.js';
import { onCallAt } from '../../core/rules/oncall-rotation.js';
import { OpsgenieOnCall } from './opsgenie.js';
import { PagerDutyOnCall } from './pagerduty.js';

/** Something that can say who is on call in a provider's schedule. */
export interface ScheduleLookup {
  onCall(scheduleId: string, at: Date): Promise<string[]>;
}

export function onCallDirectory(
  providers: { pagerduty?: ScheduleLookup; opsgenie?: ScheduleLookup } = {},
): OnCallDirectory {
  return {
    onCall(source: OnCallSource, at: Date): Promise<string[]> {
      if ('rotation' in source) return Promise.resolve([onCallAt(source.rotation, at.getTime())]);
      const [name, lookup, scheduleId] =
        'pagerduty' in source
          ? (['PagerDuty', providers.pagerduty, source.pagerduty.scheduleId] as const)
          : (['Opsgenie', providers.opsgenie, source.opsgenie.scheduleId] as const);
      if (!lookup) {
        return Promise.reject(
          new OnCallUnavailableError(
            `${name} is not configured, so schedule ${scheduleId} cannot be looked up`,
          ),
        );
      }
      return lookup.onCall(scheduleId, at);
    },
  };
}

/** The directory for the providers the settings configure (`config/oncall-settings.ts`). */
export function onCallDirectoryOf(
  settings: {
    pagerduty?: { token: string; apiUrl?: string };
    opsgenie?: { apiKey: string; apiUrl?: string };
  } = {},
): OnCallDirectory {
  return onCallDirectory({
    ...(settings.pagerduty ? { pagerduty: new PagerDutyOnCall(settings.pagerduty) } : {}),
    ...(settings.opsgenie ? { opsgenie: new OpsgenieOnCall(settings.opsgenie) } : {}),
  });
}
