/**
 * Extensions that go back to the approvers (`extend.approval: same-as-request`), over the HTTP
 * API on the real Temporal dev server, slapd and store, with the Slack stand-in: the extension
 * waits (202, `pendingExtension`) and the window does not move until the role's approver groups
 * meet their quorum again, each approval naming the extension it is for; a denial or a deadline
 * passed closes it and the role goes at its original end. Approvals arrive through the approval
 * service, signed, as the MFA pages send them (the pages and Slack buttons are tested in
 * `slack-extension-approvals.test.ts`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';
import {
  APPROVE_EXTENSION_ACTION,
  parseExtensionButtonValue,
} from '../../integrations/slack/extend-messages.js';
import { ApiError } from '../../domain/errors.js';
import { startStack, type Stack } from '../support/stack.js';
import { serveApi, slackNotifierOn } from '../support/api-server.js';

const CHANNEL = 'C0APPROVALS';
const ANN = 'ann@example.org';
const BOB = 'bob@example.org';

let slack: SlackStub;
let stack: Stack;
let closeApi: (() => void) | undefined;
let base: string;

beforeAll(async () => {
  slack = await startSlackApiStub({
    token: 'xoxb-extend-approval-test',
    users: [
      { id: 'UANN', email: ANN },
      { id: 'UBOB', email: BOB },
      { id: 'UOWNER', email: 'again-bot-owner@example.org' },
    ],
  });
  stack = await startStack({
    bots: [{ id: 'again-bot', roles: ['ask-again'] }],
    roles: [
      {
        id: 'ask-again',
        maxDurationSeconds: 60,
        approval: {
          mode: 'approvers',
          groups: [{ name: 'leads', quorum: 2, members: [ANN, BOB] }],
          windowSeconds: 600,
        },
        extend: { maxTotalSeconds: 120, maxExtensions: 2, approval: 'same-as-request' },
      },
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

async function post(path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.keys['again-bot']!}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const extend = (id: string, body: unknown) => post(`/v1/elevations/${id}/extend`, body);
const approve = (id: string, who: string, extension?: number) =>
  stack.services.approvals.approve(id, {
    approver: { id: who },
    ...(extension !== undefined ? { extension } : {}),
  });

/** Requests the role for `seconds`, has both leads approve, and waits until it is active. */
async function activeElevation(seconds: number): Promise<ElevationView> {
  const res = await post('/v1/elevations', {
    role: 'ask-again',
    durationSeconds: seconds,
    justification: 'nightly load',
  });
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  await approve(id, ANN);
  await approve(id, BOB);
  return stack.waitFor(id, (v) => v.status === 'active');
}

async function eventsOf(elevationId: string, type: string): Promise<AuditEvent[]> {
  return (await stack.stores.auditLog.readEvents(0, 100_000)).filter(
    (e) => e.elevationId === elevationId && e.type === type,
  );
}

/** The refusal an approval service call ends with (it throws), or undefined when it went through. */
async function refusalOf(call: Promise<unknown>): Promise<{ code: string; message: string } | undefined> {
  try {
    await call;
    return undefined;
  } catch (err) {
    if (err instanceof ApiError) return { code: err.code, message: err.message };
    throw err;
  }
}

const seconds = (from: string | undefined, to: string | undefined) =>
  (Date.parse(to ?? '') - Date.parse(from ?? '')) / 1000;

describe('extensions the approvers decide', () => {
  it('when the bot extends, then the window moves only once the quorum approves that extension, and the role goes at the new end', async () => {
    const granted = await activeElevation(8);

    const asked = await extend(granted.id, { durationSeconds: 5, justification: 'the load is running late' });
    expect(asked.status).toBe(202);
    const waiting = asked.body as unknown as ElevationView;
    expect(waiting.expiresAt).toBe(granted.expiresAt);
    expect(waiting.pendingExtension).toMatchObject({
      number: 1,
      durationSeconds: 5,
      requestedBy: { kind: 'bot', id: 'again-bot' },
      justification: 'the load is running late',
      quorum: 2,
      approvals: [],
    });
    // The deadline is the window's end at the latest: an extension cannot outlive what it extends.
    expect(Date.parse(waiting.pendingExtension!.deadline)).toBeLessThanOrEqual(
      Date.parse(granted.expiresAt!),
    );

    // The approvers are asked in the approval message's thread, with buttons naming this extension.
    const isAsk = (c: SlackStub['calls'][number]) =>
      c.method === 'chat.postMessage' &&
      c.args.channel === CHANNEL &&
      c.args.thread_ts !== undefined &&
      JSON.stringify(c.args.blocks ?? []).includes(APPROVE_EXTENSION_ACTION);
    await slack.waitFor((calls) => calls.some(isAsk));
    const ask = JSON.stringify(slack.calls.find(isAsk)!.args.blocks);
    expect(ask).toContain('the load is running late');
    const values = [...ask.matchAll(/"value":"([^"]+)"/g)].map((m) => parseExtensionButtonValue(m[1]));
    expect(values).toContainEqual({ elevationId: granted.id, extension: 1 });

    // One at a time; an approval of the request, or of another extension, does not count for it.
    const again = await extend(granted.id, { durationSeconds: 5, justification: 'more' });
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe('extension_in_progress');
    expect(await refusalOf(approve(granted.id, ANN))).toMatchObject({ code: 'not_pending' });
    expect(await refusalOf(approve(granted.id, ANN, 2))).toMatchObject({ code: 'extension_not_pending' });

    const first = await approve(granted.id, ANN, 1);
    expect(first.expiresAt).toBe(granted.expiresAt);
    expect(first.pendingExtension?.approvals.map((a) => a.approver)).toEqual([ANN]);
    // Each person counts once, for the extension as for the request.
    expect(await refusalOf(approve(granted.id, ANN, 1))).toMatchObject({ code: 'already_approved' });

    const second = await approve(granted.id, BOB, 1);
    expect(second.pendingExtension).toBeUndefined();
    expect(second).toMatchObject({ status: 'active', extensions: 1, extendedSeconds: 5 });
    expect(seconds(granted.expiresAt, second.expiresAt)).toBe(5);

    // Past the old end: still granted; removed at the new one.
    await new Promise((r) => setTimeout(r, Math.max(Date.parse(granted.expiresAt!) - Date.now(), 0) + 1500));
    expect(await stack.isMember('again-bot', 'ask-again')).toBe(true);
    const ended = await stack.waitFor(granted.id, (v) => v.status === 'revoked', 20_000);
    expect(Date.parse(ended.endedAt!)).toBeGreaterThanOrEqual(Date.parse(second.expiresAt!));
    expect(await stack.isMember('again-bot', 'ask-again')).toBe(false);

    const [requested] = await eventsOf(granted.id, 'extension.requested');
    expect(requested?.actor).toEqual({ kind: 'bot', id: 'again-bot' });
    expect(requested?.data).toMatchObject({ number: 1, durationSeconds: 5, quorum: 2 });
    const approvals = (await eventsOf(granted.id, 'approval.accepted')).filter(
      (e) => (e.data as { extension?: number }).extension === 1,
    );
    expect(approvals.map((e) => e.actor.id)).toEqual([ANN, BOB]);
    const [extended, ...more] = await eventsOf(granted.id, 'elevation.extended');
    expect(more).toHaveLength(0);
    expect(extended?.data).toMatchObject({
      from: granted.expiresAt,
      to: second.expiresAt,
      durationSeconds: 5,
      extension: 1,
      approvers: [ANN, BOB],
    });
    expect(await eventsOf(granted.id, 'extension.closed')).toHaveLength(0);
  }, 90_000);

  it('when an approver denies the extension, then it closes, the window stays, and the role goes at its original end', async () => {
    const granted = await activeElevation(6);
    expect((await extend(granted.id, { durationSeconds: 30, justification: 'more' })).status).toBe(202);

    const denied = await stack.services.approvals.deny(granted.id, {
      by: { kind: 'human', id: BOB },
      reason: 'not tonight',
      extension: 1,
    });
    expect(denied.pendingExtension).toBeUndefined();
    expect(denied.expiresAt).toBe(granted.expiresAt);
    // Closed: a late approval of it is refused.
    expect(await refusalOf(approve(granted.id, ANN, 1))).toMatchObject({ code: 'extension_not_pending' });

    const ended = await stack.waitFor(granted.id, (v) => v.status === 'revoked', 20_000);
    expect(ended).toMatchObject({ endReason: 'expired', expiresAt: granted.expiresAt });
    expect(ended.extensions).toBeUndefined();
    const [closed] = await eventsOf(granted.id, 'extension.closed');
    expect(closed?.actor).toEqual({ kind: 'human', id: BOB });
    expect(closed?.data).toMatchObject({ number: 1, outcome: 'denied', reason: 'not tonight', approvals: 0 });
  }, 60_000);

  it('when the window ends before the quorum, then the extension expires and the role goes at its original end', async () => {
    const granted = await activeElevation(4);
    expect((await extend(granted.id, { durationSeconds: 30, justification: 'more' })).status).toBe(202);
    await approve(granted.id, ANN, 1);

    const ended = await stack.waitFor(granted.id, (v) => v.status === 'revoked', 20_000);
    expect(ended).toMatchObject({ endReason: 'expired', expiresAt: granted.expiresAt });
    expect(ended.pendingExtension).toBeUndefined();
    expect(await stack.isMember('again-bot', 'ask-again')).toBe(false);
    const [closed] = await eventsOf(granted.id, 'extension.closed');
    expect(closed?.data).toMatchObject({ number: 1, outcome: 'expired', approvals: 1 });
    // Too late: the elevation has ended.
    expect(await refusalOf(approve(granted.id, BOB, 1))).toMatchObject({ code: 'already_ended' });
  }, 60_000);
});
