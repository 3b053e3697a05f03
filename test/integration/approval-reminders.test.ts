/**
 * Approvals that do not time out silently, end to end: real Temporal, slapd and audit store,
 * the bot on the HTTP API, the Slack Web API stand-in (approval requests by direct message) and
 * a real OpenID Connect provider for the MFA approval. The test policy's minutes are seconds: the
 * window is 40 s, the first reminder comes 4 s in, the escalation 12 s in, the second reminder
 * 14 s in. The escalation group is an on-call rotation in the policy, erin's shift now. Until
 * the escalation she may not approve; after it she is asked (the next in the rotation is not),
 * approves alone from her approver queue page, and the bot's owner heard of every step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { dmOf } from '../../dev/slack-api-stub.js';
import { blockActionPayload } from '../../dev/slack-signing.js';
import { APPROVE_ACTION } from '../../integrations/slack/messages.js';
import { person, startApprovalStack, type ApprovalStack, type Person } from '../support/approval-stack.js';

const alice = person('alice'); // the role's approver, who never answers
const erin = person('erin'); // on call now: the escalation group's rotation puts her first
const frank = person('frank'); // next in the rotation, not on call
const owner = person('owner');

let s: ApprovalStack;
let triggers = 0;

beforeAll(async () => {
  s = await startApprovalStack({
    people: [alice, erin, frank, owner],
    bots: [{ id: 'ci-bot', roles: ['deploy'], owner: owner.email }],
    roles: [
      {
        id: 'deploy',
        approval: {
          mode: 'approvers',
          groups: [{ name: 'leads', members: [alice.email] }],
          windowSeconds: 40,
          remindBeforeSeconds: [36, 26],
          escalation: {
            afterSeconds: 12,
            groups: [
              {
                name: 'oncall',
                oncall: {
                  rotation: {
                    startsAt: new Date(Date.now() - 60_000).toISOString(),
                    shiftSeconds: 3600,
                    members: [erin.email, frank.email],
                  },
                },
              },
            ],
          },
        },
      },
    ],
  });
}, 180_000);

afterAll(async () => {
  await s?.close();
});

/** The bot asks over the HTTP API, as a bot does. */
async function request(): Promise<ElevationView> {
  const res = await fetch(`${s.url}/v1/elevations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.stack.keys['ci-bot']!}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'deploy', durationSeconds: 2, justification: 'deploy release 1.2.3' }),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as ElevationView;
}

/** The elevation as its bot reads it over the API. */
async function read(id: string): Promise<ElevationView> {
  const res = await fetch(`${s.url}/v1/elevations/${id}`, {
    headers: { authorization: `Bearer ${s.stack.keys['ci-bot']!}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as ElevationView;
}

/** The audit events of an elevation, once one of type `type` is among them. */
async function eventsOnce(id: string, type: string, count = 1): Promise<AuditEvent[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const events = await s.stack.stores.auditLog.listEvents(id);
    if (events.filter((e) => e.type === type).length >= count) return events;
    if (Date.now() > deadline) throw new Error(`no ${count} × ${type} for ${id} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Thread replies in `who`'s direct messages that contain `text`. */
function repliesTo(who: Person, text: string) {
  return [...s.slack.messages().values()].filter(
    (m) => m.channel === dmOf(who.slackUserId) && m.threadTs !== undefined && m.text.includes(text),
  );
}

/** Top-level direct messages to `who` that contain `text`. */
function messagesTo(who: Person, text: string) {
  return [...s.slack.messages().values()].filter(
    (m) =>
      m.channel === dmOf(who.slackUserId) &&
      m.threadTs === undefined &&
      (m.text.includes(text) || JSON.stringify(m.blocks).includes(text)),
  );
}

/** Click Approve in Slack as `who`; returns the modal Slack was asked to open. */
async function clickApprove(who: Person, id: string): Promise<string> {
  const triggerId = `trigger-${++triggers}`;
  const res = await s.interact(
    blockActionPayload({
      userId: who.slackUserId,
      teamId: 'T0TEST',
      actionId: APPROVE_ACTION,
      value: id,
      triggerId,
    }),
  );
  expect(res.status).toBe(200);
  await s.slack.waitFor(() => s.modalFor(triggerId) !== undefined);
  return JSON.stringify(s.modalFor(triggerId));
}

/** The approver queue page of `who`, after their MFA login. */
async function queueOf(who: Person): Promise<string> {
  const res = await s.browser().login(`${s.url}/approvals/queue`, who);
  const page = await res.text();
  expect(res.status, page).toBe(200);
  expect(page).toContain('My pending approvals');
  return page;
}

/** The personal approval link on a page (the first one). */
function linkIn(page: string): string {
  const link = /(http:\/\/127\.0\.0\.1:\d+\/approvals\/start\?ticket=[A-Za-z0-9_-]+)/.exec(page)?.[1];
  if (!link) throw new Error(`no approval link in: ${page}`);
  return link;
}

describe('reminders and escalation while a request waits for approval', () => {
  it('when nobody approves, then the approvers are reminded, the on-call group joins and may approve alone, and the owner hears of each step', async () => {
    const asked = await request();
    expect(asked.approval).toMatchObject({
      mode: 'approvers',
      escalation: { groups: [{ name: 'oncall', quorum: 1, approved: 0 }] },
    });
    const escalation = asked.approval.mode === 'approvers' ? asked.approval.escalation! : undefined;
    expect(Date.parse(escalation!.dueAt) - Date.parse(asked.requestedAt)).toBeGreaterThanOrEqual(11_000);
    expect(escalation!.escalatedAt).toBeUndefined();

    // Before the escalation, the on-call member is refused, with the time it is due.
    const early = await clickApprove(erin, asked.id);
    expect(early).toContain('Cannot approve');
    expect(early).toContain('escalation group oncall');
    expect(early).not.toContain('/approvals/start');

    // The queue pages: the role's approver may approve it now; the on-call member sees why not
    // yet; the owner, no approver, sees nothing.
    expect(linkIn(await queueOf(alice))).toContain('/approvals/start?ticket=');
    const erinsEarly = await queueOf(erin);
    expect(erinsEarly).toContain(asked.id);
    expect(erinsEarly).toContain('escalation group oncall');
    expect(erinsEarly).not.toContain('/approvals/start');
    expect(await queueOf(owner)).not.toContain(asked.id);

    // Reminder 1: the approver who has not decided, in the thread of her request; the owner too.
    const first = await eventsOnce(asked.id, 'approval.reminded');
    expect(first.find((e) => e.type === 'approval.reminded')!.data).toMatchObject({
      number: 1,
      secondsLeft: 36,
      approvals: 0,
      escalated: false,
    });
    await s.slack.waitFor(() => repliesTo(alice, 'Reminder 1').length === 1, 10_000);
    expect(repliesTo(alice, 'Reminder 1')[0]!.text).toContain('0 of 1 approval');
    await s.slack.waitFor(() => messagesTo(owner, 'approvers reminded').length === 1, 10_000);
    expect(messagesTo(erin, asked.id)).toHaveLength(0);

    // The escalation: recorded, shown to the bot, the on-call member asked, the owner told.
    const escalated = await eventsOnce(asked.id, 'approval.escalated');
    expect(escalated.find((e) => e.type === 'approval.escalated')!.data).toMatchObject({
      groups: ['oncall'],
      afterSeconds: 12,
      approvals: 0,
      escalationProgress: [{ name: 'oncall', quorum: 1, approved: 0 }],
    });
    const view = await read(asked.id);
    expect(view.status).toBe('pending_approval');
    expect(view.approval.mode === 'approvers' && view.approval.escalation?.escalatedAt).toEqual(
      expect.any(String),
    );
    await s.slack.waitFor(() => messagesTo(erin, asked.id).length === 1, 10_000);
    expect(JSON.stringify(messagesTo(erin, asked.id)[0]!.blocks)).toContain(APPROVE_ACTION);
    await s.slack.waitFor(() => repliesTo(erin, 'Escalated').length === 1, 10_000);
    await s.slack.waitFor(() => messagesTo(owner, 'request escalated').length === 1, 10_000);
    expect(messagesTo(frank, asked.id)).toHaveLength(0);

    // Reminder 2 reaches both the role's approver and the on-call member.
    await eventsOnce(asked.id, 'approval.reminded', 2);
    await s.slack.waitFor(
      () => repliesTo(alice, 'Reminder 2').length === 1 && repliesTo(erin, 'Reminder 2').length === 1,
      10_000,
    );

    // The on-call member approves alone, from the link on their queue page (MFA login), and the
    // role is granted.
    const browser = s.browser();
    const login = await browser.login(linkIn(await queueOf(erin)), erin);
    const page = await login.text();
    expect(login.status, page).toBe(200);
    expect((await browser.confirm(page)).status).toBe(200);
    const active = await s.stack.waitFor(asked.id, (v) => v.status === 'active' || v.status === 'revoked');
    expect(active.approvals.map((a) => a.approver)).toEqual([erin.email]);
    const accepted = (await s.stack.stores.auditLog.listEvents(asked.id)).find(
      (e) => e.type === 'approval.accepted',
    )!;
    expect(accepted.data).toMatchObject({
      groups: ['oncall'],
      escalationProgress: [{ name: 'oncall', quorum: 1, approved: 1 }],
    });
    await s.stack.waitFor(asked.id, (v) => v.status === 'revoked', 30_000);
  }, 90_000);
});
