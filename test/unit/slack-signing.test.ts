import { isValidSlackRequest } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import {
  blockActionPayload,
  interactionBody,
  signSlackRequest,
  viewSubmissionPayload,
} from '../../dev/slack-signing.js';

const SECRET = 'signing-secret-for-tests-0123456789';

/** Bolt's verifier types the timestamp header as a number. */
function valid(signingSecret: string, body: string, headers: ReturnType<typeof signSlackRequest>): boolean {
  return isValidSlackRequest({
    signingSecret,
    body,
    headers: {
      'x-slack-signature': headers['x-slack-signature'],
      'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
    },
  });
}

describe('test helpers for Slack requests', () => {
  it('when a body is signed, then Bolt’s own verifier accepts it, and rejects it with another secret or body', () => {
    const body = interactionBody({ type: 'block_actions', hello: 'wörld & <x>' });
    const headers = signSlackRequest(SECRET, body);

    expect(valid(SECRET, body, headers)).toBe(true);
    expect(valid(`${SECRET}x`, body, headers)).toBe(false);
    expect(valid(SECRET, `${body}x`, headers)).toBe(false);
  });

  it('when the timestamp is more than five minutes old, then Bolt refuses it as a replay', () => {
    const body = 'payload=%7B%7D';
    const headers = signSlackRequest(SECRET, body, Math.floor(Date.now() / 1000) - 600);
    expect(headers['x-slack-signature']).toMatch(/^v0=[0-9a-f]{64}$/);
    expect(valid(SECRET, body, headers)).toBe(false);
  });

  it('when payloads are built, then they are shaped like Slack’s and survive the form encoding', () => {
    const action = blockActionPayload({
      userId: 'U0ALICE01',
      teamId: 'T0000STUB',
      actionId: 'elevate_approve',
      value: 'el_1',
      channel: 'C0APPROVALS',
      messageTs: '1700000000.000200',
    });
    const decoded = JSON.parse(new URLSearchParams(interactionBody(action)).get('payload') ?? '') as unknown;
    expect(decoded).toEqual(action);
    expect(action).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0ALICE01', team_id: 'T0000STUB' },
      team: { id: 'T0000STUB' },
      channel: { id: 'C0APPROVALS' },
      container: { type: 'message', message_ts: '1700000000.000200', channel_id: 'C0APPROVALS' },
      actions: [{ action_id: 'elevate_approve', value: 'el_1', type: 'button' }],
    });
    expect(typeof action.trigger_id).toBe('string');

    const submission = viewSubmissionPayload({
      userId: 'U0ALICE01',
      teamId: 'T0000STUB',
      callbackId: 'elevate_deny_reason',
      privateMetadata: 'el_1',
      values: { reason: { reason: 'not during the freeze' } },
    });
    expect(submission).toMatchObject({
      type: 'view_submission',
      view: {
        callback_id: 'elevate_deny_reason',
        private_metadata: 'el_1',
        state: {
          values: { reason: { reason: { type: 'plain_text_input', value: 'not during the freeze' } } },
        },
      },
    });
  });
});
