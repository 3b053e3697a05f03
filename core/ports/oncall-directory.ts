/**
 * Who is on call for an on-call approver group, now: a rotation in the policy, or a lookup at
 * PagerDuty or Opsgenie (`integrations/oncall/`). The API asks before an approver logs in and
 * the notifier asks whom to send the request to; the workflow trusts the groups the API signed,
 * as it does for LDAP groups.
 */
import type { OnCallSource } from '../model/oncall.js';

export interface OnCallDirectory {
  /**
   * The e-mail addresses (lower case) on call for `source` at `at`. An empty list when nobody
   * is; throws {@link OnCallUnavailableError} when the provider cannot be asked.
   */
  onCall(source: OnCallSource, at: Date): Promise<string[]>;
}

/** The provider could not be asked (not configured, unreachable, or it refused). */
export class OnCallUnavailableError extends Error {
  override readonly name = 'OnCallUnavailableError';
}
