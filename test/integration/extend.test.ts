/**
 * Extending an active elevation over the HTTP API, on the real Temporal dev server, slapd and
 * store, with the Slack stand-in where Elevate speaks: an extension moves the window's end in
 * the workflow and in the worker's expiry revoker (the role stays granted past the old end and
 * is removed at the new one), is recorded as `elevation.extended` and told in the approval
 * message's thread and to the bot's owner. Admins may extend any elevation. Refusals (the
 * role's caps, a role without `extend`, an elevation not active or ended, another bot's, a bad
 * body) are 4xx naming the field where there is one, recorded as `extend.refused`, and change
 * nothing. Windows are a few seconds so the test stays fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { startSlackApiStub, dmOf, type SlackStub } from '../../dev/slack-api-stub.js';
import { startStack, type Stack } from '../support/stack.js';
import { serveApi, slackNotifierOn } from '../support/api-server.js';

const CHANNEL = 'C0APPROVALS';
const OWNER = { id: 'UOWNER', email: 'ext-bot-owner@example.org' };

let slack: SlackStub;
let stack: Stack;
let closeApi: (() => void) | undefined;
let base: string;

beforeAll(async () => {
  slack = await startSlackApiStub({
    token: 'xoxb-extend-test',
    users: [{ id: 'UANN', email: 'ann@example.org' }, OWNER],
  });
  stack = await startStack({
    bots: [
      { id: 'ext-bot', roles: ['needs-ok', 'auto-ext', 'no-ext'] },
      { id: 'other-bot', roles: ['auto-ext'] },
    ],
    roles: [
      {
        id: 'needs-ok',
        maxDurationSeconds: 60,
        approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 600 },
        extend: { maxTotalSeconds: 120, maxExtensions: 2, approval: 'none' },
      },
      {
        id: 'auto-ext',
        maxDurationSeconds: 60,
        extend: { maxTotalSeconds: 100, maxExtensions: 2, approval: 'none' },
      },
      { id: 'no-ext' },
    ],
    notifier: slackNotifierOn(slack, CHANNEL),
  });
  ({ base, close: closeApi } = await serveApi(stack));
}, 180_000);

afterAll(async () => {
  closeApi?.();
  await stack?.close();
  await slack?.stop();
});

type Json = Record<string, unknown> & { error?: { code: string; message: string; field?: string } };

async function post(path: string, key: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const bot = (id = 'ext-bot') => stack.keys[id]!;
const admin = () => stack.adminToken;
const extend = (id: string, body: unknown, key = bot()) => post(`/v1/elevations/${id}/extend`, key, body);
const adminExtend = (id: string, body: unknown) => post(`/v1/admin/elevations/${id}/extend`, admin(), body);

/** Requests `role` for `seconds` as ext-bot and waits until it is active (approving it if asked). */
async function activeElevation(role: string, seconds: number): Promise<ElevationView> {
  const res = await post('/v1/elevations', bot(), {
    role,
    durationSeconds: seconds,
    justification: 'nightly load',
  });
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  if (res.body.status === 'pending_approval') {
    await stack.services.approvals.approve(id, { approver: { id: 'ann@example.org' } });
  }
  return stack.waitFor(id, (v) => v.status === 'active');
}

async function eventsOf(elevationId: string, type: string): Promise<AuditEvent[]> {
  return (await stack.stores.auditLog.readEvents(0, 100_000)).filter(
    (e) => e.elevationId === elevationId && e.type === type,
  );
}

const seconds = (from: string | undefined, to: string | undefined) =>
  (Date.parse(to ?? '') - Date.parse(from ?? '')) / 1000;

describe('extending an active elevation', () => {
  it('when the bot extends it, then the role is held past the old end, removed at the new one, audited and told in Slack', async () => {
    const granted = await activeElevation('needs-ok', 3);
    const oldEnd = Date.parse(granted.expiresAt!);

    const res = await extend(granted.id, { durationSeconds: 4, justification: 'the load is running late' });
    expect(res.status).toBe(200);
    const extended = res.body as unknown as ElevationView;
    expect(seconds(granted.expiresAt, extended.expiresAt)).toBe(4);
    expect(extended).toMatchObject({ status: 'active', extensions: 1, extendedSeconds: 4 });

    // Past the old end: still granted, in the workflow and in the directory.
    await new Promise((r) => setTimeout(r, Math.max(oldEnd - Date.now(), 0) + 1500));
    // The summary admins and bots read has the new end too.
    expect(await stack.services.requests.get(granted.id, { kind: 'admin' })).toMatchObject({
      status: 'active',
      expiresAt: extended.expiresAt,
      extensions: 1,
      extendedSeconds: 4,
    });
    expect(await stack.isMember('ext-bot', 'needs-ok')).toBe(true);

    const ended = await stack.waitFor(granted.id, (v) => v.status === 'revoked', 20_000);
    expect(ended.endReason).toBe('expired');
    expect(Date.parse(ended.endedAt!)).toBeGreaterThanOrEqual(Date.parse(extended.expiresAt!));
    expect(await stack.isMember('ext-bot', 'needs-ok')).toBe(false);

    const [record, ...more] = await eventsOf(granted.id, 'elevation.extended');
    expect(more).toHaveLength(0);
    expect(record?.actor).toEqual({ kind: 'bot', id: 'ext-bot' });
    expect(record?.data).toMatchObject({
      from: granted.expiresAt,
      to: extended.expiresAt,
      durationSeconds: 4,
      justification: 'the load is running late',
      extensions: 1,
      lifetimeSeconds: 7,
      maxTotalSeconds: 120,
      rescheduled: true,
    });

    // The approval message's thread and the owner hear of it, with who and why.
    await slack.waitFor((calls) =>
      calls.some(
        (c) =>
          c.method === 'chat.postMessage' &&
          typeof c.args.text === 'string' &&
          c.args.text.includes('extended by'),
      ),
    );
    const posts = slack.calls.filter(
      (c) =>
        c.method === 'chat.postMessage' &&
        typeof c.args.text === 'string' &&
        c.args.text.includes('extended'),
    );
    const reply = posts.find((c) => c.args.channel === CHANNEL && c.args.thread_ts !== undefined);
    expect(reply?.args.text).toContain('the load is running late');
    expect(reply?.args.text).toContain('`ext-bot`');
    const toOwner = slack.calls.filter(
      (c) =>
        c.method === 'chat.postMessage' && (c.args.channel === OWNER.id || c.args.channel === dmOf(OWNER.id)),
    );
    expect(toOwner.some((c) => JSON.stringify(c.args.blocks).includes('the load is running late'))).toBe(
      true,
    );
  }, 60_000);

  it('when an admin and the bot extend it within the caps, then both count, and past them each attempt is refused naming the cap', async () => {
    const granted = await activeElevation('auto-ext', 30);

    const tooLong = await extend(granted.id, { durationSeconds: 80, justification: 'more' });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error).toMatchObject({ code: 'extension_too_long', field: 'durationSeconds' });
    expect(tooLong.body.error?.message).toContain('at most 70 more seconds');

    const byBot = await extend(granted.id, { durationSeconds: 10, justification: 'more' });
    expect(byBot.status).toBe(200);
    const byAdmin = await adminExtend(granted.id, { durationSeconds: 5, justification: 'incident 42' });
    expect(byAdmin.status).toBe(200);
    const view = byAdmin.body as unknown as ElevationView;
    expect(view).toMatchObject({ extensions: 2, extendedSeconds: 15 });
    expect(seconds(granted.expiresAt, view.expiresAt)).toBe(15);

    const third = await extend(granted.id, { durationSeconds: 1, justification: 'more' });
    expect(third.status).toBe(409);
    expect(third.body.error?.code).toBe('too_many_extensions');

    const records = await eventsOf(granted.id, 'elevation.extended');
    expect(records.map((e) => e.actor)).toEqual([
      { kind: 'bot', id: 'ext-bot' },
      { kind: 'admin', id: 'test-admin' },
    ]);
    const refused = await eventsOf(granted.id, 'extend.refused');
    expect(refused.map((e) => (e.data as { code: string }).code)).toEqual([
      'extension_too_long',
      'too_many_extensions',
    ]);
    expect(refused[0]?.data).toMatchObject({ durationSeconds: 80, justification: 'more' });

    // Given back: ended, so extending it is refused as such.
    expect((await post(`/v1/elevations/${granted.id}/revoke`, bot(), {})).status).toBe(202);
    await stack.waitFor(granted.id, (v) => v.status === 'revoked');
    const late = await extend(granted.id, { durationSeconds: 5, justification: 'more' });
    expect(late.status).toBe(409);
    expect(late.body.error?.code).toBe('already_ended');
    expect(
      (await eventsOf(granted.id, 'extend.refused')).map((e) => (e.data as { code: string }).code),
    ).toContain('already_ended');
  }, 60_000);

  it('when the role has no extend rule, the elevation is not active yet, or it is another bot’s, then nothing is extended', async () => {
    const plain = await activeElevation('no-ext', 30);
    const notAllowed = await extend(plain.id, { durationSeconds: 5, justification: 'more' });
    expect(notAllowed.status).toBe(403);
    expect(notAllowed.body.error).toMatchObject({ code: 'extension_not_allowed', field: 'role' });

    const pending = await post('/v1/elevations', bot(), {
      role: 'needs-ok',
      durationSeconds: 5,
      justification: 'nightly load',
    });
    const notActive = await extend(pending.body.id as string, { durationSeconds: 5, justification: 'more' });
    expect(notActive.status).toBe(409);
    expect(notActive.body.error?.code).toBe('not_active');

    const mine = await activeElevation('auto-ext', 30);
    const theirs = await extend(mine.id, { durationSeconds: 5, justification: 'more' }, bot('other-bot'));
    expect(theirs.status).toBe(404);

    for (const id of [plain.id, pending.body.id as string, mine.id]) {
      const view = await stack.services.requests.get(id, { kind: 'admin' });
      expect(view.extensions).toBeUndefined();
      await post(`/v1/elevations/${id}/revoke`, bot(), {});
    }
  }, 60_000);

  it('when the body is malformed, then it is a 400 naming the field, and nothing reaches the workflow', async () => {
    const id = 'el_000000000000000000000000';
    for (const [body, field] of [
      [{ durationSeconds: 0, justification: 'more' }, 'durationSeconds'],
      [{ durationSeconds: 1.5, justification: 'more' }, 'durationSeconds'],
      [{ durationSeconds: 5 }, 'justification'],
      [{ durationSeconds: 5, justification: 'more', until: 'later' }, 'until'],
    ] as const) {
      const res = await extend(id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_request', field });
    }
  });
});
