/**
 * What Slack sends to an app, for tests: signed request headers (Slack's v0 scheme) and
 * interaction payloads shaped like the real ones, posted as `payload=<url-encoded JSON>`.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** Headers Slack signs every request to an app with. */
export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

/**
 * Signs a request body as Slack does: `v0=` and the hex HMAC-SHA256, keyed with the app's
 * signing secret, of `v0:<timestamp>:<raw body>`.
 *
 * @param timestampSeconds Unix seconds to sign with (default now); an old one tests replay refusal
 */
export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const ts = String(timestampSeconds);
  const digest = createHmac('sha256', signingSecret).update(`v0:${ts}:${rawBody}`, 'utf8').digest('hex');
  return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': ts };
}

/** The body of an interaction request: `payload=` and the URL-encoded JSON, form-encoded. */
export function interactionBody(payload: object): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** Options of {@link blockActionPayload}. */
export interface BlockActionOptions {
  userId: string;
  teamId: string;
  actionId: string;
  value: string;
  /** Default: a fresh random trigger id. */
  triggerId?: string;
  /** Channel of the message the button is on (default `C0APPROVALS`). */
  channel?: string;
  /** Timestamp of the message the button is on (default `1700000000.000100`). */
  messageTs?: string;
  /** Default: a made-up `https://hooks.slack.com/actions/…` URL. */
  responseUrl?: string;
  /** Default `elevate_actions`. */
  blockId?: string;
  /** Default: the user id in lower case. */
  username?: string;
  /** Default `A0ELEVATE1`. */
  apiAppId?: string;
}

/** A `block_actions` payload: one button click on a message, as Slack posts it. */
export function blockActionPayload(opts: BlockActionOptions): Record<string, unknown> {
  const channel = opts.channel ?? 'C0APPROVALS';
  const messageTs = opts.messageTs ?? '1700000000.000100';
  const blockId = opts.blockId ?? 'elevate_actions';
  const actionTs = (Date.now() / 1000).toFixed(6);
  const username = opts.username ?? opts.userId.toLowerCase();
  return {
    type: 'block_actions',
    user: { id: opts.userId, username, name: username, team_id: opts.teamId },
    api_app_id: opts.apiAppId ?? 'A0ELEVATE1',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false },
    trigger_id: opts.triggerId ?? triggerId(),
    team: { id: opts.teamId, domain: 'example' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'approvals' },
    message: {
      type: 'message',
      subtype: 'bot_message',
      bot_id: 'B0000BOT1',
      text: 'Elevation request',
      ts: messageTs,
      blocks: [],
    },
    state: { values: {} },
    response_url: opts.responseUrl ?? `https://hooks.slack.com/actions/${opts.teamId}/1/${randomHex(12)}`,
    actions: [
      {
        action_id: opts.actionId,
        block_id: blockId,
        text: { type: 'plain_text', text: opts.actionId, emoji: true },
        value: opts.value,
        type: 'button',
        action_ts: actionTs,
      },
    ],
  };
}

/** A value of a modal input, either just the text or the element's whole state. */
export type ViewStateValue = string | { type: string; value?: string | null; [key: string]: unknown };

/** Options of {@link viewSubmissionPayload}. */
export interface ViewSubmissionOptions {
  userId: string;
  teamId: string;
  callbackId: string;
  privateMetadata: string;
  /** By block id, then action id. A plain string stands for a `plain_text_input`'s value. */
  values: Record<string, Record<string, ViewStateValue>>;
  /** Default: a fresh random trigger id. */
  triggerId?: string;
  /** Default: the user id in lower case. */
  username?: string;
  /** Default `A0ELEVATE1`. */
  apiAppId?: string;
  /** Default: a made-up `V…` id. */
  viewId?: string;
}

/** A `view_submission` payload: a modal submitted, as Slack posts it. */
export function viewSubmissionPayload(opts: ViewSubmissionOptions): Record<string, unknown> {
  const username = opts.username ?? opts.userId.toLowerCase();
  const apiAppId = opts.apiAppId ?? 'A0ELEVATE1';
  const viewId = opts.viewId ?? `V${randomHex(5).toUpperCase()}`;
  const values = Object.fromEntries(
    Object.entries(opts.values).map(([blockId, actions]) => [
      blockId,
      Object.fromEntries(
        Object.entries(actions).map(([actionId, v]) => [
          actionId,
          typeof v === 'string' ? { type: 'plain_text_input', value: v } : v,
        ]),
      ),
    ]),
  );
  return {
    type: 'view_submission',
    team: { id: opts.teamId, domain: 'example' },
    user: { id: opts.userId, username, name: username, team_id: opts.teamId },
    api_app_id: apiAppId,
    token: 'legacy-verification-token',
    trigger_id: opts.triggerId ?? triggerId(),
    view: {
      id: viewId,
      team_id: opts.teamId,
      type: 'modal',
      blocks: [],
      private_metadata: opts.privateMetadata,
      callback_id: opts.callbackId,
      state: { values },
      hash: `${Math.floor(Date.now() / 1000)}.${randomHex(4)}`,
      title: { type: 'plain_text', text: 'Elevate', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: { type: 'plain_text', text: 'Submit', emoji: true },
      previous_view_id: null,
      root_view_id: viewId,
      app_id: apiAppId,
      external_id: '',
      app_installed_team_id: opts.teamId,
      bot_id: 'B0000BOT1',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** Something shaped like Slack's trigger ids: `<digits>.<digits>.<hex>`. */
function triggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e12)}.${randomHex(16)}`;
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
