/**
 * Slack's failures as Temporal sees them. The Slack client makes each call once
 * (`integrations/slack/slack-client.ts`); the notification activities hand what it threw to
 * Temporal as an `ApplicationFailure` of type {@link SLACK_API_ERROR}, so the activity's retry
 * policy does the waiting, and the wait shows in the Temporal UI (the activity's attempt count,
 * its last failure and when it runs next):
 * - a setup an operator has to mend (the app not in the channel, a revoked or mistyped token, a
 *   missing scope: {@link SETUP_ERRORS}): retryable, once a minute ({@link SETUP_RETRY_MS}), so a
 *   request still waiting is announced as soon as the setup is mended, and meanwhile each
 *   attempt's failure names what to mend;
 * - anything else Slack says retrying cannot help (`invalid_blocks`, `message_not_found`, …):
 *   non-retryable, the activity fails at once;
 * - a rate limit: retryable, the next attempt after the `Retry-After` Slack asked for
 *   (`nextRetryDelay`, which replaces the policy's backoff for that attempt only);
 * - network errors, timeouts, HTTP 5xx, `internal_error`: retryable, after the policy's backoff.
 * The policy's limits (`maximumAttempts`, `scheduleToCloseTimeout`) still apply: a rate limit
 * asking for longer than the activity has left ends it.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { SlackApiError } from '../integrations/slack/slack-client.js';

/** `ApplicationFailure.type` of a failed Slack call: the error class's name. */
export const SLACK_API_ERROR = 'SlackApiError';

/**
 * Slack's answers that mean the workspace or the app's setup is wrong, which an operator mends
 * without touching Elevate: invite the app, replace the token, grant the scope.
 */
export const SETUP_ERRORS: ReadonlySet<string> = new Set([
  'not_in_channel',
  'channel_not_found',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'missing_scope',
  'not_allowed_token_type',
  'team_access_not_granted',
  'ekm_access_denied',
]);

/** Pause between attempts while the setup is wrong (see {@link SETUP_ERRORS}). */
export const SETUP_RETRY_MS = 60_000;

/** What Temporal shows of a Slack failure besides its message (`details[0]`). */
export interface SlackFailureDetails {
  /** The Web API method, e.g. `chat.postMessage`. */
  method: string;
  /** Slack's error string or the client's transport code (`ratelimited`, `timeout`, `http_503`, …). */
  code: string;
  /** For rate limits: the `Retry-After` Slack asked for, in seconds. */
  retryAfterSeconds?: number;
}

/**
 * A {@link SlackApiError} as the activity's failure (see the module's comment); anything else
 * is returned unchanged, for Temporal to treat as it does every error.
 */
export function slackFailure(err: unknown): unknown {
  if (!(err instanceof SlackApiError)) return err;
  const details: SlackFailureDetails = {
    method: err.method,
    code: err.code,
    ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
  };
  const setup = !err.retryable && SETUP_ERRORS.has(err.code);
  // `Retry-After: 0` (or none) leaves the pause to the policy's backoff.
  const retryAfterMs = setup
    ? SETUP_RETRY_MS
    : err.retryable && err.retryAfterSeconds
      ? err.retryAfterSeconds * 1000
      : undefined;
  return ApplicationFailure.create({
    type: SLACK_API_ERROR,
    message: setup ? `${err.message}: check the Slack app's setup; trying again in a minute` : err.message,
    nonRetryable: !err.retryable && !setup,
    details: [details],
    ...(retryAfterMs !== undefined ? { nextRetryDelay: retryAfterMs } : {}),
  });
}

/** Runs `op`, handing a Slack failure to Temporal as {@link slackFailure} describes. */
export async function withSlackFailures<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw slackFailure(err);
  }
}
