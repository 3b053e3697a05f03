/**
 * On-call approver groups: a group whose member is whoever is on call when someone asks, from a
 * rotation in the policy or an on-call provider's schedule (PagerDuty, Opsgenie). Pure types.
 */

/** A rotation kept in the policy: `members` take turns of `shiftSeconds` each from `startsAt`. */
export interface OnCallRotation {
  /** ISO 8601: when the first member's first shift starts. */
  startsAt: string;
  shiftSeconds: number;
  /** E-mail addresses, lower case, in the order of their shifts. */
  members: string[];
}

/** Where a group's on-call person comes from. */
export type OnCallSource =
  { rotation: OnCallRotation } | { pagerduty: { scheduleId: string } } | { opsgenie: { scheduleId: string } };

/** The provider an on-call source is looked up at (`rotation`: none, the policy says it). */
export function onCallProviderOf(source: OnCallSource): 'rotation' | 'pagerduty' | 'opsgenie' {
  if ('rotation' in source) return 'rotation';
  return 'pagerduty' in source ? 'pagerduty' : 'opsgenie';
}
