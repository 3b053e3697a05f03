/**
 * The on-call providers approver groups may name (`oncall: { pagerduty | opsgenie }` in the
 * policy): each is configured by its key, read like the other secrets (`VAR` or `VAR_FILE`).
 * Without one, its schedules cannot be looked up and such a group approves nothing (the lookup
 * is refused, logged, and answered 503 to the approver).
 */
import type { Env } from './env-schema.js';

export interface OnCallSettings {
  /** PagerDuty: a REST API key (`PAGERDUTY_API_TOKEN`), and `PAGERDUTY_API_URL` if not the default. */
  pagerduty?: { token: string; apiUrl?: string };
  /** Opsgenie: an API key (`OPSGENIE_API_KEY`), and `OPSGENIE_API_URL` (e.g. the EU instance). */
  opsgenie?: { apiKey: string; apiUrl?: string };
}

/** The providers configured; `secret` reads `VAR` or `VAR_FILE`. */
export function onCallSettings(
  secret: (name: string) => string | undefined,
  e: Pick<Env, 'PAGERDUTY_API_URL' | 'OPSGENIE_API_URL'>,
): OnCallSettings | undefined {
  const token = secret('PAGERDUTY_API_TOKEN');
  const apiKey = secret('OPSGENIE_API_KEY');
  if (!token && !apiKey) return undefined;
  return {
    ...(token
      ? { pagerduty: { token, ...(e.PAGERDUTY_API_URL ? { apiUrl: e.PAGERDUTY_API_URL } : {}) } }
      : {}),
    ...(apiKey
      ? { opsgenie: { apiKey, ...(e.OPSGENIE_API_URL ? { apiUrl: e.OPSGENIE_API_URL } : {}) } }
      : {}),
  };
}
