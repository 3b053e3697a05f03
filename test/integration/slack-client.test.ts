/**
 * SlackClient against the Web API stand-in on loopback, through the real `WebClient`: posting,
 * updating and threading messages, user look-ups, the error mapping callers decide on, and
 * failures that come back at once, after one attempt, for the caller to retry (or not).
 */
import { createServer } from 'node:net';
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRequestError } from '@slack/web-api';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderDenyModal, renderRequestMessage } from '../../integrations/slack/messages.js';
import { SlackApiError, SlackClient, toSlackApiError } from '../../integrations/slack/slack-client.js';
import { dmOf, startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';

const TOKEN = 'xoxb-1111-2222-secretSecretSecret';
const USERS = [
  { id: 'U0ALICE01', email: 'Alice@Example.org', name: 'Alice' },
  { id: 'U0BOB0001', email: 'bob@example.org' },
];
const CHANNEL = 'C0APPROVALS';

let stub: SlackStub;
let logLines: string[];
let logger: Logger;

function client(overrides: Partial<ConstructorParameters<typeof SlackClient>[0]> = {}): SlackClient {
  return new SlackClient({ token: TOKEN, apiUrl: stub.url, logger, ...overrides });
}

function content(text: string) {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text, verbatim: true } }] };
}

async function caught(promise: Promise<unknown>): Promise<SlackApiError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(SlackApiError);
  return error as SlackApiError;
}

beforeAll(async () => {
  stub = await startSlackApiStub({ token: TOKEN, users: USERS, channels: [CHANNEL] });
});

afterAll(async () => {
  await stub.stop();
});

afterEach(() => {
  // The token must never reach a log line, whatever the test did.
  expect(logLines.join('\n')).not.toContain(TOKEN);
});

beforeEach(() => {
  logLines = [];
  logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
});

describe('SlackClient against the stand-in', () => {
  it('when the token is valid, then auth.test tells the app user and workspace', async () => {
    await expect(client().authTest()).resolves.toEqual({
      userId: stub.botUserId,
      teamId: stub.teamId,
      botId: 'B0000BOT1',
    });
  });

  it('when a message is posted, updated and replied to, then Slack holds the latest content and the thread', async () => {
    const slack = client();
    const ref = await slack.postMessage(CHANNEL, content('first version'));
    expect(ref.channel).toBe(CHANNEL);
    expect(ref.ts).toMatch(/^\d{10}\.\d{6}$/);

    await slack.updateMessage(ref, content('second version'));
    const reply = await slack.postMessage(CHANNEL, content('a reply'), ref.ts);
    expect(Number(reply.ts)).toBeGreaterThan(Number(ref.ts));

    const messages = stub.messages();
    const main = messages.get(`${CHANNEL}:${ref.ts}`);
    expect(main).toMatchObject({ text: 'second version', updates: 1 });
    expect(main?.blocks).toEqual(content('second version').blocks);
    expect(messages.get(`${CHANNEL}:${reply.ts}`)).toMatchObject({ text: 'a reply', threadTs: ref.ts });
    const post = stub.calls.find((c) => c.method === 'chat.postMessage' && c.args.text === 'first version');
    expect(post?.args).toMatchObject({ unfurl_links: 'false', unfurl_media: 'false' });
  });

  it('when a rendered approval request with a 10 KB justification is posted, then Slack accepts it', async () => {
    const ref = await client().postMessage(
      CHANNEL,
      renderRequestMessage({
        elevation: {
          id: 'el_0123456789abcdef01234567',
          workflowId: 'elevation-el_0123456789abcdef01234567',
          status: 'pending_approval',
          botId: 'invoice-bot',
          roleId: 'erp-writer',
          owner: 'olivia@example.org',
          environment: 'production',
          durationSeconds: 3600,
          justification: '<!channel> & '.repeat(800),
          requestedAt: new Date().toISOString(),
          approval: { mode: 'approvers', quorum: 1, deadline: new Date().toISOString(), groups: [] },
          approvals: [],
          revokeAttempts: 0,
        },
        bot: {
          id: 'invoice-bot',
          owner: 'olivia@example.org',
          team: 'Finance',
          purpose: 'p',
          environment: 'production',
        },
        role: { id: 'erp-writer', environment: 'production', target: 'LDAP group cn=erp,dc=example,dc=org' },
        approverGroups: [{ name: 'finance', quorum: 1 }],
        history: [],
      }),
    );
    const posted = stub.messages().get(`${ref.channel}:${ref.ts}`);
    expect(JSON.stringify(posted?.blocks)).toContain('elevate_approve');
    expect(JSON.stringify(posted?.blocks)).not.toContain('<!channel>');
  });

  it('when a message goes to a user id, then the ref names the DM, which updates work on', async () => {
    const slack = client();
    const ref = await slack.postMessage('U0BOB0001', content('for bob'));
    expect(ref.channel).toBe(dmOf('U0BOB0001'));
    await slack.updateMessage(ref, content('for bob, updated'));
    expect(stub.messages().get(`${ref.channel}:${ref.ts}`)?.text).toBe('for bob, updated');
  });

  it('when users are looked up, then e-mails come back lowercased and unknown people as undefined', async () => {
    const slack = client();
    await expect(slack.userEmail('U0ALICE01')).resolves.toBe('alice@example.org');
    await expect(slack.userEmail('U0NOBODY1')).resolves.toBeUndefined();
    await expect(slack.userIdByEmail('ALICE@example.org')).resolves.toBe('U0ALICE01');
    await expect(slack.userIdByEmail('nobody@example.org')).resolves.toBeUndefined();
  });

  it("when a deactivated, guest, Slack Connect or other-workspace account shows an approver's address, then it is refused as an approver; a member is not", async () => {
    const accounts = [
      { id: 'U0GONE001', deleted: true, refused: 'slack_user_deactivated' },
      { id: 'U0GUEST01', restricted: true, refused: 'slack_user_guest' },
      { id: 'U0GUEST02', ultraRestricted: true, refused: 'slack_user_guest' },
      { id: 'U0CONNECT', stranger: true, teamId: 'T0OTHERCO', refused: 'slack_user_external' },
      { id: 'U0OTHERWS', teamId: 'T0ELSEWHR', refused: 'slack_user_external' },
    ] as const;
    for (const { refused: _refused, ...account } of accounts)
      stub.addUser({ ...account, email: 'alice@example.org' });
    const authTests = () => stub.calls.filter((c) => c.method === 'auth.test').length;
    const before = authTests();
    const slack = client();
    await expect(slack.approverEmail('U0ALICE01')).resolves.toEqual({ email: 'alice@example.org' });
    for (const { id, refused } of accounts) {
      await expect(slack.approverEmail(id), id).resolves.toEqual({ refused });
    }
    await expect(slack.approverEmail('U0NOBODY1')).resolves.toEqual({ email: undefined });
    // The workspace was learnt from auth.test, once.
    expect(authTests() - before).toBe(1);
  });

  it('when the app is installed on Enterprise Grid, then a user of another workspace of the same organisation is accepted, one of another organisation is not', async () => {
    const grid = await startSlackApiStub({
      token: TOKEN,
      users: [
        { id: 'U0SAMEORG', email: 'carol@example.org', teamId: 'T0SISTER1', enterpriseId: 'E0ACME' },
        { id: 'U0OTHERRG', email: 'carol@example.org', teamId: 'T0SISTER2', enterpriseId: 'E0EVIL' },
      ],
      enterpriseId: 'E0ACME',
    });
    try {
      const slack = new SlackClient({ token: TOKEN, apiUrl: grid.url, logger });
      await expect(slack.approverEmail('U0SAMEORG')).resolves.toEqual({ email: 'carol@example.org' });
      await expect(slack.approverEmail('U0OTHERRG')).resolves.toEqual({ refused: 'slack_user_external' });
    } finally {
      await grid.stop();
    }
  });

  it('when a modal is opened, then Slack receives the view', async () => {
    await client().openView('123.456.abc', renderDenyModal('el_0123456789abcdef01234567'));
    const call = stub.calls.findLast((c) => c.method === 'views.open');
    expect(call?.args).toMatchObject({
      trigger_id: '123.456.abc',
      view: {
        type: 'modal',
        callback_id: 'elevate_deny_reason',
        private_metadata: 'el_0123456789abcdef01234567',
      },
    });
  });

  it('when the token is wrong, then calls fail with invalid_auth, not retryable, and the token is not logged', async () => {
    const slack = new SlackClient({ token: 'xoxb-wrong-token', apiUrl: stub.url, logger });
    const before = stub.attempts.length;
    const error = await caught(slack.postMessage(CHANNEL, content('never')));
    expect(error).toMatchObject({ code: 'invalid_auth', retryable: false, method: 'chat.postMessage' });
    expect(error.message).not.toContain('xoxb-wrong-token');
    expect(stub.attempts.length - before).toBe(1);
    expect(logLines.join('\n')).not.toContain('xoxb-wrong-token');
  });

  it('when the channel does not exist, then the error is channel_not_found and not retryable', async () => {
    const error = await caught(client().postMessage('C0NOWHERE', content('lost')));
    expect(error).toMatchObject({ code: 'channel_not_found', retryable: false });
  });

  it('when chat.postMessage is rate-limited, then the call fails at once, retryable, saying how long to wait, and the next call posts', async () => {
    const slack = client();
    stub.rateLimit('chat.postMessage', 30);
    const before = stub.attempts.filter((a) => a.method === 'chat.postMessage').length;
    const started = Date.now();

    const error = await caught(slack.postMessage(CHANNEL, content('patient message')));

    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({
      code: 'ratelimited',
      retryable: true,
      retryAfterSeconds: 30,
      method: 'chat.postMessage',
    });
    // One attempt: the wait is the caller's (a Temporal activity's retry policy).
    const attempts = () => stub.attempts.filter((a) => a.method === 'chat.postMessage').slice(before);
    expect(attempts().map((a) => a.status)).toEqual([429]);
    const ref = await slack.postMessage(CHANNEL, content('patient message'));
    expect(attempts().map((a) => a.status)).toEqual([429, 200]);
    expect(stub.messages().get(`${CHANNEL}:${ref.ts}`)?.text).toBe('patient message');
  });

  it('when chat.update is rate-limited with a Retry-After of a second, then it still fails at once, never waiting in the client', async () => {
    const slack = client();
    const ref = await slack.postMessage(CHANNEL, content('to update'));
    stub.rateLimit('chat.update', 1);
    const started = Date.now();

    const error = await caught(slack.updateMessage(ref, content('too soon')));

    expect(Date.now() - started).toBeLessThan(900);
    expect(error).toMatchObject({ code: 'ratelimited', retryable: true, retryAfterSeconds: 1 });
    expect(stub.messages().get(`${CHANNEL}:${ref.ts}`)).toMatchObject({ text: 'to update', updates: 0 });
  });

  it("when users.info is rate-limited during an approver's click, then approverEmail fails at once instead of outliving the trigger id", async () => {
    const slack = client();
    await slack.identity();
    stub.rateLimit('users.info', 30);
    const started = Date.now();

    const error = await caught(slack.approverEmail('U0ALICE01'));

    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'ratelimited', retryable: true, method: 'users.info' });
    await expect(slack.approverEmail('U0ALICE01')).resolves.toEqual({ email: 'alice@example.org' });
  });

  it('when views.open is rate-limited, then it fails fast instead of waiting past the trigger id', async () => {
    stub.rateLimit('views.open', 2);
    const started = Date.now();
    const error = await caught(client().openView('1.2.3', renderDenyModal('el_1')));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'ratelimited', retryable: true });
  });

  it('when Slack cannot be reached, then the call fails at once, retryable, after one attempt', async () => {
    const port = await closedPort();
    const slack = new SlackClient({ token: TOKEN, apiUrl: `http://127.0.0.1:${port}/api/`, logger });
    const started = Date.now();
    const error = await caught(slack.postMessage(CHANNEL, content('offline')));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toMatchObject({ code: 'request_failed', retryable: true });
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it('when Slack answers HTTP 503, then the call fails at once with http_503, retryable, and one attempt reached Slack', async () => {
    const before = stub.attempts.length;
    stub.outage(503);
    try {
      const error = await caught(client().postMessage(CHANNEL, content('outage')));
      expect(error).toMatchObject({ code: 'http_503', retryable: true, method: 'chat.postMessage' });
    } finally {
      stub.outage(false);
    }
    expect(stub.attempts.length - before).toBe(1);
  });
});

describe('the stand-in itself', () => {
  async function call(method: string, init: { headers?: Record<string, string>; body?: string }) {
    const response = await fetch(`${stub.url}${method}`, { method: 'POST', ...init });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('when called as Slack clients do, then it accepts JSON with a bearer token and forms with a token field', async () => {
    const json = await call('chat.postMessage', {
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: CHANNEL, text: 'json', blocks: [{ type: 'divider' }] }),
    });
    expect(json.body).toMatchObject({ ok: true, channel: CHANNEL });
    const form = await call('chat.postMessage', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: TOKEN,
        channel: CHANNEL,
        text: 'form',
        blocks: '[{"type":"divider"}]',
      }).toString(),
    });
    expect(form.body).toMatchObject({ ok: true });
    const recorded = stub.calls.findLast((c) => c.args.text === 'form');
    expect(recorded?.args.blocks).toEqual([{ type: 'divider' }]);
    expect(recorded?.args).not.toHaveProperty('token');
  });

  it('when the token is missing or the method unknown, then it answers as Slack does', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect(await call('auth.test', { headers: form, body: '' })).toEqual({
      status: 200,
      body: { ok: false, error: 'not_authed' },
    });
    expect((await call('no.such.method', { headers: form, body: `token=${TOKEN}` })).body).toEqual({
      ok: false,
      error: 'unknown_method',
    });
  });

  it('when blocks break Block Kit limits, then it refuses them with invalid_blocks', async () => {
    const tooLong = { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } };
    const error = await caught(client().postMessage(CHANNEL, { text: 'big', blocks: [tooLong] }));
    expect(error).toMatchObject({ code: 'invalid_blocks', retryable: false });
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    await expect(client().postMessage(CHANNEL, { text: 'many', blocks: tooMany })).rejects.toMatchObject({
      code: 'invalid_blocks',
    });
  });

  it('when a test waits for a call, then waitFor resolves once it arrives and rejects on timeout', async () => {
    const waiting = stub.waitFor((calls) => calls.some((c) => c.args.text === 'awaited'), 2000);
    await client().postMessage(CHANNEL, content('awaited'));
    await expect(waiting).resolves.toBeUndefined();
    await expect(stub.waitFor(() => false, 50)).rejects.toThrow(/not met/);
  });
});

describe('toSlackApiError', () => {
  it('when Slack answers a platform error, then retryable follows Slack’s meaning of the code', () => {
    const platform = (error: string) => new WebAPIPlatformError({ ok: false, error });
    for (const code of [
      'invalid_auth',
      'not_authed',
      'account_inactive',
      'channel_not_found',
      'users_not_found',
    ]) {
      expect(toSlackApiError('m', platform(code))).toMatchObject({ code, retryable: false });
    }
    for (const code of ['internal_error', 'service_unavailable', 'ratelimited']) {
      expect(toSlackApiError('m', platform(code))).toMatchObject({ code, retryable: true });
    }
  });

  it('when the HTTP answer or the network fails, then server errors and network errors are retryable', () => {
    expect(toSlackApiError('m', new WebAPIHTTPError(503, 'Service Unavailable', {}))).toMatchObject({
      code: 'http_503',
      retryable: true,
    });
    expect(toSlackApiError('m', new WebAPIHTTPError(404, 'Not Found', {}))).toMatchObject({
      code: 'http_404',
      retryable: false,
    });
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), {
      name: 'TimeoutError',
    });
    expect(toSlackApiError('m', new WebAPIRequestError(timeout))).toMatchObject({
      code: 'timeout',
      retryable: true,
    });
    expect(toSlackApiError('m', new WebAPIRequestError(new TypeError('fetch failed')))).toMatchObject({
      code: 'request_failed',
      retryable: true,
    });
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
