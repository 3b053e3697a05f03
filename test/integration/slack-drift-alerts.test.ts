/**
 * Drift alerts in Slack: SlackNotifier.alertDrift against the Slack Web API stand-in (through
 * the real SlackClient and WebClient) and a real SQLite audit store, whose single-use table
 * keeps the "already posted" marks. Which channel, how often a holder left in place is posted
 * again, removals posted every time, and what a failed post leaves behind for the retry.
 *
 * Faults are injected by a small forwarding proxy on loopback in front of the stand-in: it
 * answers chosen calls with an HTTP 5xx or Slack's `internal_error` instead of passing them on,
 * or passes one on and then loses the answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DriftAlert } from '../../core/model/reconcile.js';
import { openStores, type Stores } from '../../store/stores.js';
import { SlackApiError, SlackClient } from '../../integrations/slack/slack-client.js';
import {
  DEFAULT_DRIFT_REALERT_SECONDS,
  SlackNotifier,
  type SlackNotifierDeps,
} from '../../integrations/slack/slack-notifier.js';
import { startSlackApiStub, type SlackStub, type SlackStubCall } from '../../dev/slack-api-stub.js';

const TOKEN = 'xoxb-drift-test-token';
const DRIFT = 'C0DRIFT01';
const APPROVALS = 'C0APPROVE1';
const GROUP = 'cn=deployers,ou=groups,dc=example,dc=org';
const HOLDER = 'uid=mallory,ou=people,dc=example,dc=org';

/** What the proxy does with the next call of a method instead of passing it on untouched. */
type Fault =
  | { kind: 'answer'; status: number; body: Record<string, unknown> }
  /** Pass it on to the stand-in (which carries it out), then answer 500: the answer is lost. */
  | { kind: 'lose-answer' };

let stub: SlackStub;
let proxy: Server;
let proxyUrl: string;
const faults = new Map<string, Fault[]>();
let dir: string;
let store: Stores;
let logLines: string[];
let logger: Logger;

beforeAll(async () => {
  stub = await startSlackApiStub({ token: TOKEN, users: [], channels: [DRIFT, APPROVALS] });
  proxy = createServer((req, res) => {
    forward(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    proxy.close(() => resolve());
    proxy.closeAllConnections();
  });
  await stub.stop();
});

beforeEach(async () => {
  stub.calls.length = 0;
  faults.clear();
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-drift-slack-'));
  store = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
  logLines = [];
  logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
});

afterEach(async () => {
  vi.useRealTimers();
  await store.database.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Passes a request on to the stand-in, unless a fault is queued for its method. */
async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const method = new URL(req.url ?? '/', 'http://proxy').pathname.replace(/^\/api\//, '');
  const fault = faults.get(method)?.shift();
  if (fault?.kind === 'answer') {
    res.writeHead(fault.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(fault.body));
    return;
  }
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'authorization']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const answer = await fetch(`${stub.url}${method}`, {
    method: 'POST',
    headers,
    body: Buffer.concat(chunks),
  });
  const body = await answer.text();
  if (fault?.kind === 'lose-answer') {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('upstream answer lost');
    return;
  }
  const retryAfter = answer.headers.get('retry-after');
  res.writeHead(answer.status, {
    'content-type': answer.headers.get('content-type') ?? 'application/json',
    ...(retryAfter !== null ? { 'retry-after': retryAfter } : {}),
  });
  res.end(body);
}

function failNext(method: string, fault: Fault): void {
  faults.set(method, [...(faults.get(method) ?? []), fault]);
}

function notifier(
  deps: Partial<Omit<SlackNotifierDeps, 'slack' | 'singleUse' | 'elevations' | 'logger'>> = {},
): SlackNotifier {
  // Each call is one attempt: a failure reaches the caller (the activity) at once.
  const slack = new SlackClient({ token: TOKEN, apiUrl: proxyUrl, logger });
  return new SlackNotifier({
    slack,
    singleUse: store.singleUse,
    elevations: store.elevations,
    logger,
    ...deps,
  });
}

function alert(overrides: Partial<DriftAlert> = {}): DriftAlert {
  return {
    roleId: 'deploy',
    target: { type: 'ldap', groupDn: GROUP },
    principal: HOLDER,
    bot: false,
    outcome: 'alerted',
    at: new Date().toISOString(),
    ...overrides,
  };
}

function posts(): SlackStubCall[] {
  return stub.calls.filter((c) => c.method === 'chat.postMessage');
}

function logged(msg: string): Record<string, unknown>[] {
  return logLines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => typeof entry.msg === 'string' && entry.msg.includes(msg));
}

describe('where drift is posted', () => {
  it('when a drift channel is set, then the alert is posted there, not in the approval channel', async () => {
    await notifier({ driftChannel: DRIFT, channel: APPROVALS }).alertDrift(alert());

    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.args.channel).toBe(DRIFT);
    const message = [...stub.messages().values()].at(-1); // the latest posted
    expect(message?.channel).toBe(DRIFT);
    expect(message?.text).toContain('deploy');
    expect(message?.text).toContain(HOLDER);
    expect(JSON.stringify(message?.blocks)).toContain(`LDAP group ${GROUP}`);
  });

  it('when only the approval channel is set, then the alert is posted in the approval channel', async () => {
    await notifier({ channel: APPROVALS }).alertDrift(alert());

    expect(posts().map((c) => c.args.channel)).toEqual([APPROVALS]);
  });

  it('when no channel is set, then nothing is posted, nothing is thrown, and one warning is logged per alert', async () => {
    const n = notifier();
    await expect(n.alertDrift(alert())).resolves.toBeUndefined();
    await expect(n.alertDrift(alert({ principal: 'uid=trent,ou=people,dc=example,dc=org' }))).resolves.toBe(
      undefined,
    );

    expect(posts()).toEqual([]);
    const warnings = logged('drift not posted in Slack');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ level: 40, roleId: 'deploy', principal: HOLDER, outcome: 'alerted' });
  });

  it('when the channel does not exist (a retry cannot fix it), then nothing is thrown, an error is logged, and a later run tries again', async () => {
    const n = notifier({ driftChannel: 'C0NOSUCH1' });
    await expect(n.alertDrift(alert())).resolves.toBeUndefined();
    await expect(n.alertDrift(alert())).resolves.toBeUndefined();

    expect([...stub.messages().values()].filter((m) => m.channel === 'C0NOSUCH1')).toEqual([]);
    // Both runs asked Slack: the failure left no "posted" mark behind.
    expect(posts().map((c) => c.args.channel)).toEqual(['C0NOSUCH1', 'C0NOSUCH1']);
    expect(logged('retrying will not help')[0]).toMatchObject({ level: 50, code: 'channel_not_found' });
  });
});

describe('how often', () => {
  it('when the same holder is found again at every run within the window, then it is posted once', async () => {
    const n = notifier({ driftChannel: DRIFT });
    for (let run = 0; run < 5; run++)
      await n.alertDrift(alert({ at: new Date(Date.now() + run).toISOString() }));

    expect(posts()).toHaveLength(1);
  });

  it('when holders, roles or details differ, then each is posted on its own', async () => {
    const n = notifier({ driftChannel: DRIFT });
    const policy = 'arn:aws:iam::123456789012:policy/a';
    for (const a of [
      alert(),
      alert({ principal: 'uid=trent,ou=people,dc=example,dc=org' }),
      alert({ roleId: 'deploy-staging' }),
      alert({ detail: policy }),
      alert({ detail: 'arn:aws:iam::123456789012:policy/b' }),
      alert({ detail: policy }), // the same as the fourth
    ]) {
      await n.alertDrift(a);
    }

    expect(posts()).toHaveLength(5);
  });

  it('when the re-alert window has passed, then a holder still in place is posted again', async () => {
    const n = notifier({ driftChannel: DRIFT, driftRealertSeconds: 1 });
    await n.alertDrift(alert());
    await n.alertDrift(alert());
    expect(posts()).toHaveLength(1);

    await sleep(1_100);
    await n.alertDrift(alert());
    await n.alertDrift(alert());
    expect(posts()).toHaveLength(2);
  });

  it('when the default window is used, then the holder is quiet for a day and posted again after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const n = notifier({ driftChannel: DRIFT });
    await n.alertDrift(alert());

    vi.setSystemTime(start + (DEFAULT_DRIFT_REALERT_SECONDS - 60) * 1000);
    await n.alertDrift(alert());
    expect(posts()).toHaveLength(1);

    vi.setSystemTime(start + (DEFAULT_DRIFT_REALERT_SECONDS + 60) * 1000);
    await n.alertDrift(alert());
    expect(posts()).toHaveLength(2);
  });

  it('when holders are removed, then each removal is posted, but a retried one only once', async () => {
    const n = notifier({ driftChannel: DRIFT });
    const first = alert({ outcome: 'reverted', at: '2024-05-01T10:00:00.000Z' });
    const second = alert({ outcome: 'reverted', at: '2024-05-01T10:01:00.000Z' });
    await n.alertDrift(first);
    await n.alertDrift(first); // the activity retried
    await n.alertDrift(second); // put back, and removed again at the next run
    await n.alertDrift(second);

    expect(posts()).toHaveLength(2);
    for (const post of posts()) expect(String(post.args.text)).toMatch(/^Drift removed in role deploy/);
  });

  it('when a holder left in place is removed later, then the removal is posted even inside the window', async () => {
    const n = notifier({ driftChannel: DRIFT });
    await n.alertDrift(alert());
    await n.alertDrift(alert({ outcome: 'reverted' }));

    expect(posts()).toHaveLength(2);
  });

  it('when the holder or detail is longer than a store key may be, then it is still posted once', async () => {
    const n = notifier({ driftChannel: DRIFT });
    const long = alert({ principal: `uid=${'x'.repeat(2000)},dc=example,dc=org`, detail: 'd'.repeat(5000) });
    await n.alertDrift(long);
    await n.alertDrift(long);

    expect(posts()).toHaveLength(1);
  });
});

describe('failures', () => {
  for (const [name, fault] of [
    ['an HTTP 503', { kind: 'answer', status: 503, body: { ok: false } }],
    [
      'ok: false with internal_error',
      { kind: 'answer', status: 200, body: { ok: false, error: 'internal_error' } },
    ],
  ] as const) {
    it(`when Slack answers ${name}, then the alert throws a retryable error, and the retry posts it exactly once`, async () => {
      const n = notifier({ driftChannel: DRIFT });
      failNext('chat.postMessage', fault);

      const error = await n.alertDrift(alert()).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(SlackApiError);
      expect((error as SlackApiError).retryable).toBe(true);
      expect(posts()).toEqual([]);

      await n.alertDrift(alert()); // the activity's retry
      expect(posts()).toHaveLength(1);
      await n.alertDrift(alert()); // the next run
      expect(posts()).toHaveLength(1);
    });
  }

  it('when a removal fails to post, then its retry (same finding) posts it exactly once', async () => {
    const n = notifier({ driftChannel: DRIFT });
    const removed = alert({ outcome: 'reverted' });
    failNext('chat.postMessage', { kind: 'answer', status: 502, body: { ok: false } });

    await expect(n.alertDrift(removed)).rejects.toBeInstanceOf(SlackApiError);
    await n.alertDrift(removed);
    await n.alertDrift(removed);

    expect(posts()).toHaveLength(1);
  });

  it('when Slack rate-limits, then the alert throws at once, saying how long to wait, and the retry posts it once', async () => {
    const n = notifier({ driftChannel: DRIFT });
    stub.rateLimit('chat.postMessage', 30);

    const error = await n.alertDrift(alert()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'ratelimited', retryable: true, retryAfterSeconds: 30 });
    expect(posts()).toEqual([]);

    await n.alertDrift(alert());
    await n.alertDrift(alert());
    expect(posts()).toHaveLength(1);
  });

  it('when Slack posted but its answer was lost, then the retry posts it again: an alert may repeat, never vanish', async () => {
    const n = notifier({ driftChannel: DRIFT });
    failNext('chat.postMessage', { kind: 'lose-answer' });

    await expect(n.alertDrift(alert())).rejects.toMatchObject({ code: 'http_500', retryable: true });
    expect(posts()).toHaveLength(1);
    await n.alertDrift(alert());
    await n.alertDrift(alert());
    expect(posts()).toHaveLength(2);
  });
});

describe('settings', () => {
  it('when the re-alert window is not a positive number, then the notifier refuses to be built', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => notifier({ driftRealertSeconds: bad })).toThrow(RangeError);
    }
  });
});
