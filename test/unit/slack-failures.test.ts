/** How a failed Slack call is handed to Temporal by the notification activities. */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  SETUP_RETRY_MS,
  SLACK_API_ERROR,
  slackFailure,
  withSlackFailures,
} from '../../activities/slack-failures.js';
import { TargetUnreachableError } from '../../core/errors/target-errors.js';
import { SlackApiError } from '../../integrations/slack/slack-client.js';

function asFailure(err: unknown): ApplicationFailure {
  const failure = slackFailure(err);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  return failure as ApplicationFailure;
}

describe('slackFailure', () => {
  it('when Slack rate-limits, then the failure is retryable after the Retry-After Slack asked for', () => {
    const failure = asFailure(new SlackApiError('chat.postMessage', 'ratelimited', true, undefined, 42));
    expect(failure).toMatchObject({
      type: SLACK_API_ERROR,
      nonRetryable: false,
      nextRetryDelay: 42_000,
      message: 'Slack chat.postMessage failed: ratelimited',
      details: [{ method: 'chat.postMessage', code: 'ratelimited', retryAfterSeconds: 42 }],
    });
  });

  it('when Slack is unreachable or failing, then the failure is retryable and the pause is the policy’s', () => {
    for (const code of ['request_failed', 'timeout', 'http_503', 'internal_error']) {
      const failure = asFailure(new SlackApiError('chat.update', code, true));
      expect(failure, code).toMatchObject({ type: SLACK_API_ERROR, nonRetryable: false });
      expect(failure.nextRetryDelay, code).toBeUndefined();
    }
    // Retry-After: 0 asks for no particular pause.
    expect(
      asFailure(new SlackApiError('chat.update', 'ratelimited', true, undefined, 0)).nextRetryDelay,
    ).toBe(undefined);
  });

  it('when Slack says retrying cannot help, then the failure is non-retryable', () => {
    for (const code of ['invalid_blocks', 'message_not_found', 'cant_update_message']) {
      const failure = asFailure(new SlackApiError('chat.postMessage', code, false, 'detail'));
      expect(failure, code).toMatchObject({
        type: SLACK_API_ERROR,
        nonRetryable: true,
        message: `Slack chat.postMessage failed: ${code} (detail)`,
      });
      expect(failure.nextRetryDelay, code).toBeUndefined();
    }
  });

  it('when the app’s setup is wrong (channel, token, scope), then the failure is retried once a minute and says what to check', () => {
    for (const code of [
      'channel_not_found',
      'not_in_channel',
      'invalid_auth',
      'token_revoked',
      'missing_scope',
    ]) {
      const failure = asFailure(new SlackApiError('chat.postMessage', code, false));
      expect(failure, code).toMatchObject({
        type: SLACK_API_ERROR,
        nonRetryable: false,
        nextRetryDelay: SETUP_RETRY_MS,
        message: `Slack chat.postMessage failed: ${code}: check the Slack app's setup; trying again in a minute`,
        details: [{ method: 'chat.postMessage', code }],
      });
    }
  });

  it('when the error is not a Slack one, then it is handed on unchanged', async () => {
    const store = new Error('database is locked');
    const target = new TargetUnreachableError('ldap down');
    expect(slackFailure(store)).toBe(store);
    expect(slackFailure(target)).toBe(target);
    await expect(withSlackFailures(() => Promise.reject(store))).rejects.toBe(store);
    await expect(withSlackFailures(() => Promise.resolve('posted'))).resolves.toBe('posted');
  });
});
