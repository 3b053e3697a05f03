/**
 * Approvals in Slack by MFA-verified humans, end to end: real Temporal, slapd and audit store,
 * the Slack Web API stand-in, signed interactions, and a real OpenID Connect provider whose
 * logins carry chosen amr/acr/auth_time.
 */
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { automatedLogin } from '../../dev/automated-login.js';
import { SETUP_RETRY_MS } from '../../activities/slack-failures.js';
import { DEV_ACR_MFA, DEV_ACR_PASSWORD } from '../../dev/dev-identity-provider.js';
import { APPROVE_ACTION, DENY_ACTION, DENY_CALLBACK } from '../../integrations/slack/messages.js';
import type { ElevationView } from '../../core/model/elevation.js';
import {
  person,
  startApprovalStack,
  type ApprovalStack,
  type InteractOptions,
  type Person,
} from '../support/approval-stack.js';
import type { Browser } from '../../dev/browser.js';
import { dmOf, type SlackStubCall } from '../../dev/slack-api-stub.js';
import {
  blockActionPayload,
  interactionBody,
  signSlackRequest,
  viewSubmissionPayload,
} from '../../dev/slack-signing.js';

const alice = person('alice');
const bob = person('bob');
const carol = person('carol');
const dave = person('dave'); // in no approver group
const erin = person('erin'); // in the security group only
const owner = person('owner');
const TEAM = 'T0TEST';

let s: ApprovalStack;

beforeAll(async () => {
  s = await startApprovalStack({
    people: [alice, bob, carol, dave, erin, owner],
    slackOnly: [{ id: 'UMALLORY', email: 'mallory@example.org' }],
    peopleGroups: [{ id: 'sre', members: ['bob', 'carol'] }],
    bots: [{ id: 'ci-bot', roles: ['deploy', 'two-groups', 'owner-ok', 'short-window'], owner: owner.email }],
    roles: [
      {
        id: 'deploy',
        maxDurationSeconds: 3600,
        approval: { mode: 'approvers', approvers: [alice.email, owner.email, 'mallory@example.org'] },
      },
      {
        id: 'two-groups',
        approval: {
          mode: 'approvers',
          groups: [
            { name: 'security', members: [alice.email, bob.email, erin.email] },
            { name: 'sre', ldapGroup: 'sre' },
          ],
        },
      },
      {
        id: 'owner-ok',
        approval: { mode: 'approvers', approvers: [owner.email], ownerMayApprove: true },
      },
      {
        id: 'short-window',
        approval: { mode: 'approvers', approvers: [alice.email], windowSeconds: 10 },
      },
    ],
  });
}, 180_000);

afterAll(async () => {
  await s?.close();
});

async function request(role: string, durationSeconds = 60): Promise<ElevationView> {
  const bot = s.stack.policy.bots[0]!;
  const { elevation } = await s.stack.services.requests.request(bot, {
    role,
    durationSeconds,
    justification: 'deploy release 1.2.3',
    ticket: 'CHG-1',
  });
  return elevation;
}

function events(id: string): Promise<AuditEvent[]> {
  return s.stack.stores.auditLog.listEvents(id);
}

let triggers = 0;

/** Click Approve in Slack as `who`; returns the modal Slack was asked to open. */
async function clickApprove(who: Pick<Person, 'slackUserId'>, id: string): Promise<Record<string, unknown>> {
  const triggerId = `trigger-${++triggers}`;
  const res = await s.interact(
    blockActionPayload({
      userId: who.slackUserId,
      teamId: TEAM,
      actionId: APPROVE_ACTION,
      value: id,
      triggerId,
    }),
  );
  expect(res.status).toBe(200);
  await s.slack.waitFor(() => s.modalFor(triggerId) !== undefined);
  return s.modalFor(triggerId)!;
}

/** The personal approval link in an approve modal. */
function linkIn(modal: Record<string, unknown>): string {
  const link = /(http:\/\/127\.0\.0\.1:\d+\/approvals\/start\?ticket=[A-Za-z0-9_-]+)/.exec(
    JSON.stringify(modal),
  )?.[1];
  if (!link) throw new Error(`no approval link in the modal: ${JSON.stringify(modal)}`);
  return link;
}

/** The approval message posted for an elevation (first one found). */
function messageFor(id: string) {
  return [...s.slack.messages().values()].find((m) => JSON.stringify(m.blocks).includes(id) && !m.threadTs);
}

const JSON_ACCEPT = { accept: 'application/json' };
const ADMIN = { kind: 'admin', id: 'test-admin' } as const;

/** The `approval.refused` events recorded for an elevation with this reason code. */
async function refusals(id: string, code: string): Promise<AuditEvent[]> {
  return (await events(id)).filter((e) => e.type === 'approval.refused' && e.data.code === code);
}

/** End an elevation as an admin and wait until the role is taken back. */
async function revokeNow(id: string): Promise<void> {
  await s.stack.services.requests.revoke(id, ADMIN, { kind: 'admin' });
  await s.stack.waitFor(id, (v) => v.status === 'revoked');
}

/** The last position in the audit chain: events after it are the ones a step added. */
async function auditHead(): Promise<number> {
  let position = 0;
  for (;;) {
    const last = (await s.stack.stores.auditLog.readEvents(position, 1000)).at(-1);
    if (!last) return position;
    position = last.position;
  }
}

/** Every event appended after `position` (refusals that name no elevation included). */
async function eventsAfter(position: number): Promise<AuditEvent[]> {
  const found: AuditEvent[] = [];
  for (;;) {
    const page = await s.stack.stores.auditLog.readEvents(position, 1000);
    if (page.length === 0) return found;
    found.push(...page);
    position = page.at(-1)!.position;
  }
}

/** Click Approve, log in with MFA: the browser and the confirmation page it stands on. */
async function loginToConfirm(who: Person, id: string) {
  const browser = s.browser();
  const res = await browser.login(linkIn(await clickApprove(who, id)), who);
  const page = await res.text();
  expect(res.status, page).toBe(200);
  expect(page).toContain('Confirm approval');
  return { browser, page };
}

/** The whole approval as `who`: click, MFA login, confirm. Returns the confirmation answer. */
async function approveAs(who: Person, id: string): Promise<Response> {
  const { browser, page } = await loginToConfirm(who, id);
  return browser.confirm(page);
}

/** Start a login in `browser` and complete it at the provider: the callback URL, not yet requested. */
async function loginUntilCallback(browser: Browser, link: string, who: Person): Promise<string> {
  const start = await browser.get(link);
  expect(start.status).toBe(303);
  return (await automatedLogin(start.headers.get('location')!, who)).toString();
}

/** Click Approve as someone who must be refused: the modal says so, and gives no link. */
async function clickRefused(who: Pick<Person, 'slackUserId'>, id: string): Promise<string> {
  const modal = JSON.stringify(await clickApprove(who, id));
  expect(modal).toContain('Cannot approve');
  expect(modal).not.toContain('/approvals/start');
  return modal;
}

/** Submit the deny modal as Slack would. */
function submitDeny(who: Pick<Person, 'slackUserId'>, id: string, reason: string) {
  return s.interact(
    viewSubmissionPayload({
      userId: who.slackUserId,
      teamId: TEAM,
      callbackId: DENY_CALLBACK,
      privateMetadata: id,
      values: { reason: { reason } },
    }),
  );
}

/** Use the login hook for one block: the provider reports `outcome` instead of the real factors. */
async function withLogin<T>(
  outcome: { amr: string[]; acr?: string; authTime?: number },
  fn: () => Promise<T>,
): Promise<T> {
  s.idp.setLoginHook(() => outcome);
  try {
    return await fn();
  } finally {
    s.idp.setLoginHook();
  }
}

/** The elevation still waits, with `approvals` approvals counted and the role not granted. */
async function stillPending(id: string, approvals = 0): Promise<ElevationView> {
  const v = await s.stack.services.requests.get(id, { kind: 'admin' });
  expect(v.status).toBe('pending_approval');
  expect(v.approvals).toHaveLength(approvals);
  expect(await s.stack.isMember('ci-bot', v.roleId)).toBe(false);
  return v;
}

describe('approval through Slack and an MFA login', () => {
  it('when an approver clicks Approve, logs in with MFA and confirms, then the role is granted in LDAP and the message follows every step', async () => {
    const e = await request('deploy', 2);
    // The approver is told by direct message (no channel configured), the owner is not asked.
    await s.slack.waitFor(() => messageFor(e.id) !== undefined);
    const posted = s.slack.calls.filter(
      (c) => c.method === 'chat.postMessage' && JSON.stringify(c.args).includes(e.id) && !c.args.thread_ts,
    );
    expect(posted.map((c) => c.args.channel)).not.toContain(owner.slackUserId);
    const text = JSON.stringify(messageFor(e.id)!.blocks);
    for (const field of ['ci-bot', owner.email, 'deploy', 'deploy release 1.2.3', 'CHG-1', APPROVE_ACTION]) {
      expect(text).toContain(field);
    }

    const link = linkIn(await clickApprove(alice, e.id));
    const browser = s.browser();
    const callback = await browser.login(link, alice);
    expect(callback.status).toBe(200);
    const page = await callback.text();
    expect(page).toContain('Confirm approval');
    const confirmed = await browser.confirm(page);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('Your approval was recorded');

    const active = await s.stack.waitFor(e.id, (v) => v.status === 'active');
    expect(await s.stack.isMember('ci-bot', 'deploy')).toBe(true);
    const evidence = active.approvals[0]!.evidence!;
    expect(evidence).toMatchObject({ email: alice.email, amr: ['pwd', 'otp'], mfaMethod: 'otp' });
    expect(evidence.idTokenHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(evidence.slackUserId).toBe(alice.slackUserId);
    const accepted = (await events(e.id)).find((x) => x.type === 'approval.accepted')!;
    expect(accepted.data.evidence).toMatchObject({
      issuer: s.idp.issuer,
      authTime: expect.any(String) as unknown,
    });

    await s.stack.waitFor(e.id, (v) => v.status === 'revoked');
    expect(await s.stack.isMember('ci-bot', 'deploy')).toBe(false);
    // The message ends showing the approval with its MFA method, and the revocation; no buttons left.
    await s.slack.waitFor(() => {
      const m = messageFor(e.id);
      return m !== undefined && /Ended/.test(JSON.stringify(m.blocks));
    }, 15_000);
    const final = JSON.stringify(messageFor(e.id)!.blocks);
    expect(final).toContain(alice.email);
    expect(final).toContain('otp');
    expect(final).not.toContain(APPROVE_ACTION);
    // Each step is also a reply in the thread, and the owner heard of the decision and the end.
    const replies = s.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts);
    expect(replies.length).toBeGreaterThanOrEqual(3);
    await s.slack.waitFor(
      () =>
        s.slack.calls.filter(
          (c) =>
            c.method === 'chat.postMessage' &&
            c.args.channel === owner.slackUserId &&
            JSON.stringify(c.args).includes(e.id),
        ).length >= 2,
      10_000,
    );
  });
});

/** The activities of a workflow's history by name: the attempt each ended on, and how. */
async function activityRuns(workflowId: string, name: string): Promise<ActivityRuns> {
  const events = (await s.stack.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name)
      .map((e) => String(e.eventId)),
  );
  const of = (id: unknown) => scheduled.has(String(id));
  return {
    started: events.flatMap((e) => {
      const a = e.activityTaskStartedEventAttributes;
      return a && of(a.scheduledEventId) ? [a] : [];
    }),
    failed: events.flatMap((e) => {
      const a = e.activityTaskFailedEventAttributes;
      return a && of(a.scheduledEventId) ? [a] : [];
    }),
    completed: events.filter((e) => of(e.activityTaskCompletedEventAttributes?.scheduledEventId)).length,
  };
}

type HistoryEvent = NonNullable<
  Awaited<
    ReturnType<ReturnType<ApprovalStack['stack']['env']['client']['workflow']['getHandle']>['fetchHistory']>
  >['events']
>[number];

interface ActivityRuns {
  started: NonNullable<HistoryEvent['activityTaskStartedEventAttributes']>[];
  failed: NonNullable<HistoryEvent['activityTaskFailedEventAttributes']>[];
  completed: number;
}

/** {@link activityRuns} once `done` holds for them (or, after `timeoutMs`, as they are). */
async function activityRunsOnce(
  workflowId: string,
  name: string,
  done: (runs: ActivityRuns) => boolean,
  timeoutMs = 15_000,
): Promise<ActivityRuns> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await activityRuns(workflowId, name);
    if (done(runs) || Date.now() > deadline) return runs;
    await sleep(100);
  }
}

type PendingActivity = NonNullable<
  Awaited<
    ReturnType<ReturnType<ApprovalStack['stack']['env']['client']['workflow']['getHandle']>['describe']>
  >['raw']['pendingActivities']
>[number];

/** The pending run of activity `name` once `done` holds for it (or, after `timeoutMs`, fails). */
async function pendingActivityOnce(
  workflowId: string,
  name: string,
  done: (pending: PendingActivity) => boolean,
  timeoutMs = 15_000,
): Promise<PendingActivity> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { raw } = await s.stack.env.client.workflow.getHandle(workflowId).describe();
    const pending = raw.pendingActivities?.find((a) => a.activityType?.name === name);
    if (pending && done(pending)) return pending;
    if (Date.now() > deadline) throw new Error(`no pending ${name} as expected within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** The top-level messages about an elevation in the app's DM with a Slack user. */
function messagesTo(userId: string, elevationId: string) {
  return [...s.slack.messages().values()].filter(
    (m) => m.channel === dmOf(userId) && !m.threadTs && JSON.stringify(m.blocks).includes(elevationId),
  );
}

/** Resolves once no Slack call arrived for `quietMs`: earlier tests' messages are all sent. */
async function slackQuiet(quietMs = 1000): Promise<void> {
  for (;;) {
    const before = s.slack.attempts.length;
    await sleep(quietMs);
    if (s.slack.attempts.length === before) return;
  }
}

describe('Slack rate limits', () => {
  it("when the second approver's message is rate-limited, then Temporal retries the announcement after Retry-After, and each approver has exactly one message", async () => {
    await slackQuiet();
    const marker = `rate-limited announcement ${Date.now()}`;
    const isRequest = (c: SlackStubCall) =>
      c.method === 'chat.postMessage' && !c.args.thread_ts && JSON.stringify(c.args).includes(marker);
    // As soon as the first approver's message is in, the next post is refused with 429: the
    // limit is set before the worker's next request can reach the stand-in.
    const limited = s.slack
      .waitFor((calls) => calls.some(isRequest), 15_000)
      .then(() => s.slack.rateLimit('chat.postMessage', 3, 1));
    const bot = s.stack.policy.bots[0]!;
    const { elevation: e } = await s.stack.services.requests.request(bot, {
      role: 'deploy',
      durationSeconds: 60,
      justification: marker,
    });
    await limited;
    // deploy's approvers: alice and mallory (the owner may not approve).
    const recipients = [alice.slackUserId, 'UMALLORY'];
    const requestsTo = (user: string) => s.slack.calls.filter((c) => isRequest(c) && c.args.channel === user);
    await s.slack.waitFor(() => recipients.every((u) => requestsTo(u).length > 0), 15_000);

    for (const user of recipients) expect(requestsTo(user), user).toHaveLength(1);
    const refused = s.slack.attempts.filter(
      (a) =>
        a.method === 'chat.postMessage' && a.status === 429 && a.at >= requestsTo(alice.slackUserId)[0]!.at,
    );
    expect(refused).toHaveLength(1);
    // The second message waited the 3 seconds Slack asked for (the policy's own first pause is
    // 1 s)...
    expect(requestsTo('UMALLORY')[0]!.at - refused[0]!.at).toBeGreaterThanOrEqual(2900);
    // ...in Temporal: the activity failed its first attempt with Slack's error and completed on
    // a later one, not inside one attempt.
    const runs = await activityRunsOnce(e.workflowId, 'announceApproval', (r) => r.completed > 0);
    expect(runs.completed).toBe(1);
    expect(runs.started).toHaveLength(1);
    expect(runs.started[0]!.attempt).toBeGreaterThan(1);
    expect(runs.started[0]!.lastFailure).toMatchObject({
      message: expect.stringContaining('chat.postMessage failed: ratelimited') as unknown,
      applicationFailureInfo: { type: 'SlackApiError', nonRetryable: false },
    });
    // Both messages are the ones the workflow updates from now on.
    await revokeNow(e.id);
    await s.slack.waitFor(
      () => recipients.every((u) => messagesTo(u, e.id).some((m) => m.updates > 0)),
      15_000,
    );
    for (const user of recipients) expect(messagesTo(user, e.id), user).toHaveLength(1);
  });

  it('when Slack refuses the token while a request is announced, then Temporal tries again once a minute, the failure says to check the setup, and the request still waits for a decision', async () => {
    await slackQuiet();
    s.slack.refuseToken('token_revoked');
    let e: ElevationView;
    let pending: PendingActivity;
    try {
      e = await request('deploy');
      pending = await pendingActivityOnce(e.workflowId, 'announceApproval', (p) => p.lastFailure != null);
    } finally {
      s.slack.refuseToken(false);
    }
    expect(pending.lastFailure).toMatchObject({
      message: expect.stringContaining("token_revoked: check the Slack app's setup") as unknown,
      applicationFailureInfo: { type: 'SlackApiError', nonRetryable: false },
    });
    // The next attempt waits the setup pause, not the policy's short backoff.
    const wait = tsToMs(pending.nextAttemptScheduleTime) - tsToMs(pending.lastAttemptCompleteTime);
    expect(wait).toBeGreaterThanOrEqual(SETUP_RETRY_MS - 1_000);
    // A message that cannot be delivered yet is never fatal to the elevation.
    expect((await s.stack.services.requests.get(e.id, { kind: 'admin' })).status).toBe('pending_approval');
    await revokeNow(e.id);
  });
});

describe('quorum across approver groups', () => {
  it('when one group is met, then the request waits for the other, a second member of the met group is refused not_needed, and the other group completes it', async () => {
    const e = await request('two-groups');
    // erin (security only) logs in while security still needs someone...
    const early = await loginToConfirm(erin, e.id);
    expect((await approveAs(alice, e.id)).status).toBe(200);
    const afterAlice = await stillPending(e.id, 1);
    expect(afterAlice.approval).toMatchObject({
      groups: [
        { name: 'security', quorum: 1, approved: 1 },
        { name: 'sre', quorum: 1, approved: 0 },
      ],
    });

    // ...but confirms after alice filled it: the workflow refuses, her approval would add nothing.
    const page = await early.browser.confirm(early.page);
    expect(page.status).toBe(409);
    const html = await page.text();
    expect(html).toContain('already has its quorum');
    expect(html).toContain('Reason code: <code>not_needed</code>');
    // A click now is refused before any login, in the modal.
    expect(await clickRefused(erin, e.id)).toContain('already has its quorum');
    const notNeeded = await refusals(e.id, 'not_needed');
    expect(notNeeded.map((r) => [r.actor, r.data.stage ?? null])).toEqual([
      [{ kind: 'human', id: erin.email }, null],
      [{ kind: 'human', id: erin.email }, 'precheck'],
    ]);
    // JSON callers get the API code and the specific reason.
    await expect(
      s.stack.services.approvals.approve(e.id, { approver: { id: erin.email }, evidence: {} }),
    ).rejects.toMatchObject({ code: 'approval_not_needed', reason: 'not_needed' });
    await stillPending(e.id, 1);

    expect((await approveAs(carol, e.id)).status).toBe(200);
    const active = await s.stack.waitFor(e.id, (v) => v.status === 'active');
    expect(active.approvals.map((a) => [a.approver, a.groups])).toEqual([
      [alice.email, ['security']],
      [carol.email, ['sre']],
    ]);
    expect(await s.stack.isMember('ci-bot', 'two-groups')).toBe(true);
    await revokeNow(e.id);
  });

  it('when a member of both groups approves alone, then they count for one group only and the request still waits', async () => {
    const e = await request('two-groups');
    expect((await approveAs(bob, e.id)).status).toBe(200);
    await sleep(500); // time enough for the workflow to have moved on, were the quorum met
    const v = await stillPending(e.id, 1);
    if (v.approval.mode !== 'approvers') throw new Error('not an approvers rule');
    expect(v.approval.groups.map((g) => g.approved).sort()).toEqual([0, 1]);
    expect((await events(e.id)).map((x) => x.type)).not.toContain('elevation.approved');
    // bob fills whichever seat is still needed: carol (sre only) completes it.
    expect((await approveAs(carol, e.id)).status).toBe(200);
    await s.stack.waitFor(e.id, (x) => x.status === 'active');
    await revokeNow(e.id);
  });

  it('when the same person approves twice, then the second approval is refused already_approved and they count once', async () => {
    const e = await request('two-groups');
    // Two logins, both confirmed: only the first may count.
    const one = await loginToConfirm(alice, e.id);
    const two = await loginToConfirm(alice, e.id);
    expect((await one.browser.confirm(one.page)).status).toBe(200);
    const again = await two.browser.confirm(two.page);
    expect(again.status).toBe(409);
    const html = await again.text();
    expect(html).toContain('already approved');
    expect(html).toContain('Reason code: <code>already_approved</code>');
    // And clicking Approve again is refused before any login.
    expect(await clickRefused(alice, e.id)).toContain('already approved');
    const refused = await refusals(e.id, 'already_approved');
    expect(refused.map((r) => r.data.stage ?? 'workflow')).toEqual(['workflow', 'precheck']);
    expect(refused.every((r) => r.actor.id === alice.email)).toBe(true);
    const v = await stillPending(e.id, 1);
    expect(v.approvals[0]!.approver).toBe(alice.email);
  });
});

describe('who may approve', () => {
  it("when the bot's owner clicks Approve, then the modal says why and gives no link, and the workflow refuses too", async () => {
    const e = await request('deploy');
    expect(await clickRefused(owner, e.id)).toContain('may not approve');
    const [refused] = await refusals(e.id, 'owner_may_not_approve');
    expect(refused).toMatchObject({ actor: { kind: 'human', id: owner.email }, data: { stage: 'precheck' } });
    // Past the Slack check, the workflow itself refuses the owner.
    await expect(
      s.stack.services.approvals.approve(e.id, { approver: { id: owner.email }, evidence: {} }),
    ).rejects.toMatchObject({ code: 'approval_refused' });
    expect(await refusals(e.id, 'owner_may_not_approve')).toHaveLength(2);
    await stillPending(e.id);
  });

  it('when the role allows the owner to approve, then the owner can', async () => {
    const e = await request('owner-ok');
    const confirmed = await approveAs(owner, e.id);
    expect(confirmed.status).toBe(200);
    const active = await s.stack.waitFor(e.id, (v) => v.status === 'active');
    expect(active.approvals.map((a) => a.approver)).toEqual([owner.email]);
    expect(await s.stack.isMember('ci-bot', 'owner-ok')).toBe(true);
    await revokeNow(e.id);
  });

  it('when someone in no approver group clicks Approve, then the modal says so and the refusal is audited not_eligible', async () => {
    const e = await request('deploy');
    expect(await clickRefused(dave, e.id)).toContain('not in any approver group');
    const [refused] = await refusals(e.id, 'not_eligible');
    expect(refused).toMatchObject({ actor: { kind: 'human', id: dave.email }, data: { stage: 'precheck' } });
    await stillPending(e.id);
  });
});

describe('Slack accounts that may not act', () => {
  it("when a deactivated, guest, Slack Connect or other-workspace account shows an approver's address, then its Approve and Deny are refused with a clear answer, audited, and the request stays pending", async () => {
    const accounts = [
      { id: 'UDEACTIVATED', deleted: true, code: 'slack_user_deactivated', says: 'deactivated' },
      { id: 'UGUEST', restricted: true, code: 'slack_user_guest', says: 'Guest accounts' },
      { id: 'USINGLECHANNEL', ultraRestricted: true, code: 'slack_user_guest', says: 'Guest accounts' },
      {
        id: 'UCONNECT',
        stranger: true,
        teamId: 'T0OTHERCO',
        code: 'slack_user_external',
        says: 'Only members',
      },
      { id: 'UOTHERWORKSPACE', teamId: 'T0ELSEWHERE', code: 'slack_user_external', says: 'Only members' },
    ] as const;
    const e = await request('deploy');
    for (const { code: _code, says: _says, ...account } of accounts) {
      // Each shows alice's address, and alice is an approver of the role.
      s.slack.addUser({ ...account, email: alice.email });
    }
    for (const { id, code, says } of accounts) {
      expect(await clickRefused({ slackUserId: id }, e.id), id).toContain(says);
      const denied = await submitDeny({ slackUserId: id }, e.id, `deny as ${id}`);
      expect(denied.status).toBe(200);
      expect(await denied.json(), id).toMatchObject({
        response_action: 'errors',
        errors: { reason: expect.stringContaining(says) as unknown },
      });
      const refused = (await events(e.id)).filter(
        (x) => (x.type === 'approval.refused' || x.type === 'deny.refused') && x.data.slackUserId === id,
      );
      expect(
        refused.map((x) => [x.type, x.data.code, x.actor]),
        id,
      ).toEqual([
        ['approval.refused', code, { kind: 'anonymous', id: `slack:${id}` }],
        ['deny.refused', code, { kind: 'anonymous', id: `slack:${id}` }],
      ]);
    }
    await stillPending(e.id);
    // Alice's own account still can.
    const denied = await submitDeny(alice, e.id, 'the real alice says no');
    expect(await denied.text()).toBe('');
    await s.stack.waitFor(e.id, (v) => v.status === 'denied');
  });
});

describe('refused logins', () => {
  it('when the ID token shows no MFA, then 401 with insufficient_user_authentication, and audited', async () => {
    const e = await request('deploy');
    const link = linkIn(await clickApprove(alice, e.id));
    await withLogin({ amr: ['pwd'], acr: DEV_ACR_PASSWORD }, async () => {
      const page = await s.browser().login(link, alice);
      expect(page.status).toBe(401);
      expect(page.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
      const html = await page.text();
      expect(html).toContain('did not use multi-factor authentication');
      expect(html).toContain('insufficient_user_authentication');
      const json = await s.browser().login(link, alice, JSON_ACCEPT);
      expect(json.status).toBe(401);
      expect(json.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
      expect(await json.json()).toMatchObject({
        error: { code: 'insufficient_user_authentication', reason: 'insufficient_user_authentication' },
      });
    });
    const refused = await refusals(e.id, 'insufficient_user_authentication');
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ actor: { id: alice.email }, data: { stage: 'callback' } });
    await stillPending(e.id);
  });

  it('when the login is older than the window, then 401 login_too_old, and audited', async () => {
    const e = await request('deploy');
    const link = linkIn(await clickApprove(alice, e.id));
    const authTime = Math.floor(Date.now() / 1000) - 600;
    await withLogin({ amr: ['pwd', 'otp'], acr: DEV_ACR_MFA, authTime }, async () => {
      const page = await s.browser().login(link, alice);
      expect(page.status).toBe(401);
      expect(page.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
      const html = await page.text();
      expect(html).toContain('too old');
      expect(html).toContain('login_too_old');
      const json = await s.browser().login(link, alice, JSON_ACCEPT);
      expect(json.status).toBe(401);
      expect(await json.json()).toMatchObject({
        error: { code: 'insufficient_user_authentication', reason: 'login_too_old' },
      });
    });
    const refused = await refusals(e.id, 'login_too_old');
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ actor: { id: alice.email }, data: { stage: 'callback' } });
    await stillPending(e.id);
  });

  it('when someone logs in as another person than the Slack user who clicked, then 403 identity_mismatch, and audited', async () => {
    const e = await request('deploy');
    const mallory = { slackUserId: 'UMALLORY' };
    const link = linkIn(await clickApprove(mallory, e.id));
    // The link is mallory's; the login is alice's account.
    const page = await s.browser().login(link, alice);
    expect(page.status).toBe(403);
    const html = await page.text();
    expect(html).toContain(`You logged in as ${alice.email}`);
    expect(html).toContain('identity_mismatch');
    const json = await s.browser().login(link, alice, JSON_ACCEPT);
    expect(json.status).toBe(403);
    expect(await json.json()).toMatchObject({
      error: { code: 'identity_mismatch', reason: 'identity_mismatch' },
    });
    const refused = await refusals(e.id, 'identity_mismatch');
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({
      actor: { kind: 'human', id: 'mallory@example.org' },
      data: { stage: 'callback', slackUserId: 'UMALLORY' },
    });
    await stillPending(e.id);
  });

  it('when the callback carries a state that was never issued, then 400 state_mismatch, and audited', async () => {
    // A window of its own: refusals nobody can be named for are recorded once per kind and window.
    await s.stack.services.audit.flushRefusals();
    const head = await auditHead();
    const never = `${s.url}/approvals/callback?code=made-up-code&state=never-issued-state-0123456789`;
    const page = await s.browser().get(never);
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).toContain('This login is unknown');
    expect(html).toContain('state_mismatch');
    const json = await s.browser().get(never, JSON_ACCEPT);
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({
      error: { code: 'approval_link_invalid', reason: 'state_mismatch' },
    });
    const refused = (await eventsAfter(head)).filter(
      (x) => x.type === 'approval.refused' && x.data.code === 'state_mismatch',
    );
    // The first in full; the second, the same again from the same network, only counted.
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ elevationId: null, data: { stage: 'callback' } });
    await s.stack.services.audit.flushRefusals();
    const summaries = (await eventsAfter(head)).filter((x) => x.type === 'refusals.summarized');
    expect(summaries.map((x) => x.data)).toEqual([
      expect.objectContaining({ of: 'approval.refused', reason: 'state_mismatch', count: 2 }),
    ]);
  });

  it("when a stranger brings the login's state back without its cookie, then it is refused and the approver's own browser can still finish the login and confirm", async () => {
    const e = await request('deploy');
    const link = linkIn(await clickApprove(alice, e.id));
    const own = s.browser();
    const callback = await loginUntilCallback(own, link, alice);
    // Someone who saw the callback URL (the provider's logs, a forwarded link) uses it first.
    const stranger = s.browser();
    const burnt = await stranger.get(callback);
    expect(burnt.status).toBe(400);
    expect(await burnt.text()).toContain('browser_mismatch');
    const page = await own.get(callback);
    expect(page.status).toBe(200);
    const html = await page.text();
    // And the confirmation token, posted from the stranger's browser: refused, not used up.
    const confirmation = /name="confirmation" value="([^"]+)"/.exec(html)![1]!;
    const posted = await stranger.post(`${s.url}/approvals/confirm`, { confirmation });
    expect(posted.status).toBe(400);
    expect(await posted.text()).toContain('browser_mismatch');
    expect((await own.confirm(html)).status).toBe(200);
    await s.stack.waitFor(e.id, (v) => v.status === 'active');
    await revokeNow(e.id);
  });

  it('when the provider reports amr or acr values outside Latin-1, then the refusal is a 401 with an ASCII WWW-Authenticate, not a 500', async () => {
    const e = await request('deploy');
    const link = linkIn(await clickApprove(alice, e.id));
    await withLogin({ amr: ['pwd', 'пароль'], acr: 'urn:☃:"x"\\' }, async () => {
      const page = await s.browser().login(link, alice);
      expect(page.status).toBe(401);
      const header = page.headers.get('www-authenticate')!;
      expect(header).toContain('error="insufficient_user_authentication"');
      expect(header).toMatch(/^[\x20-\x7e]+$/);
    });
    await stillPending(e.id);
  });

  it('when the login comes back to another browser than the one that started it, then 400 browser_mismatch, and audited', async () => {
    // The nonce belongs to the login transaction, which is found by state and bound by PKCE:
    // a token from another login cannot reach the nonce check through these pages. What can
    // be tried is finishing someone else's login in another browser.
    const e = await request('deploy');
    const link = linkIn(await clickApprove(alice, e.id));
    const page = await s.browser().get(await loginUntilCallback(s.browser(), link, alice));
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).toContain('started in another browser');
    expect(html).toContain('browser_mismatch');
    const json = await s.browser().get(await loginUntilCallback(s.browser(), link, alice), JSON_ACCEPT);
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({
      error: { code: 'approval_link_invalid', reason: 'browser_mismatch' },
    });
    const refused = await refusals(e.id, 'browser_mismatch');
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ actor: { id: alice.email }, data: { stage: 'callback' } });
    // The control: the same login, finished in the browser that started it, is accepted.
    const own = s.browser();
    expect((await own.get(await loginUntilCallback(own, link, alice))).status).toBe(200);
    await stillPending(e.id);
  });

  it('when the same callback URL (authorization code) is used twice, then the second is refused, and audited', async () => {
    const e = await request('deploy');
    const link = linkIn(await clickApprove(alice, e.id));
    const browser = s.browser();
    const callback = await loginUntilCallback(browser, link, alice);
    const first = await browser.get(callback);
    expect(first.status).toBe(200);
    await s.stack.services.audit.flushRefusals(); // a window of its own (see the state_mismatch test)
    const head = await auditHead();
    const second = await browser.get(callback);
    expect(second.status).toBe(400);
    const html = await second.text();
    expect(html).toContain('was already used');
    expect(html).toContain('state_mismatch');
    const refused = (await eventsAfter(head)).filter((x) => x.type === 'approval.refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ data: { code: 'state_mismatch', stage: 'callback' } });
    // The first login is still good for its one confirmation.
    expect((await browser.confirm(await first.text())).status).toBe(200);
    await s.stack.waitFor(e.id, (v) => v.status === 'active');
    await revokeNow(e.id);
  });
});

describe('approval after the request ended', () => {
  /** Confirm a login made while pending, after the end: 409 already_ended; clicking is refused too. */
  async function refusedAfterEnd(e: ElevationView, pending: { browser: Browser; page: string }) {
    const late = await pending.browser.confirm(pending.page);
    expect(late.status).toBe(409);
    expect(await late.text()).toContain('Reason code: <code>already_ended</code>');
    expect(await clickRefused(alice, e.id)).toContain('has ended');
    const refused = await refusals(e.id, 'already_ended');
    expect(refused.map((r) => r.data.stage ?? 'confirm')).toEqual(['confirm', 'precheck']);
    expect(refused.every((r) => r.actor.id === alice.email)).toBe(true);
    const v = await s.stack.services.requests.get(e.id, { kind: 'admin' });
    expect(v.approvals).toHaveLength(0);
    expect(await s.stack.isMember('ci-bot', v.roleId)).toBe(false);
  }

  it('when the request was denied, then a later confirmation and click are refused already_ended', async () => {
    const e = await request('deploy');
    const pending = await loginToConfirm(alice, e.id);
    expect((await submitDeny(owner, e.id, 'not this week')).status).toBe(200);
    await s.stack.waitFor(e.id, (v) => v.status === 'denied');
    await refusedAfterEnd(e, pending);
  });

  it('when the approval window closed, then a later confirmation and click are refused already_ended', async () => {
    const e = await request('short-window');
    const pending = await loginToConfirm(alice, e.id);
    await s.stack.waitFor(e.id, (v) => v.status === 'expired', 20_000);
    await refusedAfterEnd(e, pending);
  });

  it('when an admin revoked the request, then a later confirmation and click are refused already_ended', async () => {
    const e = await request('deploy');
    const pending = await loginToConfirm(alice, e.id);
    const revoked = await s.stack.services.requests.revoke(
      e.id,
      ADMIN,
      { kind: 'admin' },
      'not needed any more',
    );
    expect(revoked.status).toBe('revoked');
    await refusedAfterEnd(e, pending);
  });
});

describe('Slack request security', () => {
  it('when a request is forged, unsigned, too old or re-serialised, then 401 and nothing is acted on', async () => {
    const e = await request('deploy');
    const head = await auditHead();
    const now = Math.floor(Date.now() / 1000);
    const forgeries: [string, (p: object) => InteractOptions][] = [
      ['wrong secret', () => ({ secret: 'not-the-signing-secret-0123456789abcdef' })],
      ['no signature', () => ({ signature: null })],
      ['older than 5 minutes', () => ({ timestamp: now - 6 * 60 })],
      ['more than 5 minutes ahead', () => ({ timestamp: now + 6 * 60 })],
      [
        're-serialised',
        (p) => ({
          signedBody: interactionBody(p),
          body: new URLSearchParams({ payload: JSON.stringify(p, null, 2) }).toString(),
        }),
      ],
    ];
    const deny = (trigger: string) =>
      viewSubmissionPayload({
        userId: alice.slackUserId,
        teamId: TEAM,
        callbackId: DENY_CALLBACK,
        privateMetadata: e.id,
        values: { reason: { reason: `forged ${trigger}` } },
      });
    const click = (triggerId: string) =>
      blockActionPayload({
        userId: alice.slackUserId,
        teamId: TEAM,
        actionId: APPROVE_ACTION,
        value: e.id,
        triggerId,
      });
    const forgedTriggers: string[] = [];
    for (const [name, forge] of forgeries) {
      const triggerId = `forged-${name.replace(/\W+/g, '-')}`;
      forgedTriggers.push(triggerId);
      const c = click(triggerId);
      expect((await s.interact(c, forge(c))).status, name).toBe(401);
      const d = deny(name);
      expect((await s.interact(d, forge(d))).status, name).toBe(401);
    }
    // The same interactions, signed properly, are acted on: the forgeries were refused for their signatures.
    await clickApprove(alice, e.id);
    await sleep(300);
    expect(
      s.slack.calls.filter(
        (c) => c.method === 'views.open' && forgedTriggers.includes(String(c.args.trigger_id)),
      ),
    ).toEqual([]);
    await stillPending(e.id);
    expect((await events(e.id)).map((x) => x.type)).not.toContain('deny.refused');
    // Each refusal is audited with why (after the 401 went out).
    const refusedReasons = async () =>
      (await eventsAfter(head))
        .filter((x) => x.type === 'auth.refused' && x.data.path === '/slack/events')
        .map((x) => String(x.data.reason))
        .sort();
    // Repeats of one reason from one network within a minute are counted, not each recorded.
    const distinct = async () => [...new Set(await refusedReasons())];
    for (let i = 0; i < 50 && (await distinct()).length < 4; i++) await sleep(50);
    expect(await distinct()).toEqual([
      'slack_signature_mismatch',
      'slack_signature_missing',
      'slack_timestamp_in_future',
      'slack_timestamp_too_old',
    ]);
    const control = deny('control');
    expect((await s.interact(control)).status).toBe(200);
    const denied = await s.stack.waitFor(e.id, (v) => v.status === 'denied');
    expect(denied.status).toBe('denied');
  });

  it('when an unauthenticated client streams a multi-megabyte body, then 413 comes while it still has megabytes to send; without signature headers, 401 comes before any of it', async () => {
    const total = 8 * 1024 * 1024;
    const signed = signSlackRequest(s.signingSecret, 'x');
    // 1 MiB sent, 7 MiB held back until the server answers: it must answer without them.
    const chunked = await streamBody(
      { 'content-type': 'application/x-www-form-urlencoded', ...signed },
      1024 * 1024,
    );
    expect(chunked.status).toBe(413);
    expect(chunked.body).toMatchObject({ error: { code: 'payload_too_large', field: 'body' } });
    // Declared up front: refused from the headers alone.
    const declared = await streamBody({ ...signed, 'content-length': String(total) }, 0);
    expect(declared.status).toBe(413);
    // No signature: refused before a byte of the body is read.
    const unsigned = await streamBody({ 'content-length': String(total) }, 0);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toMatchObject({ error: { code: 'unauthenticated', field: 'x-slack-signature' } });
    // A body just under the limit is read and judged by its signature.
    const under = 'payload=' + 'x'.repeat(200 * 1024);
    const res = await s.interact({}, { body: under, secret: 'not-the-signing-secret-0123456789abcdef' });
    expect(res.status).toBe(401);
  });

  it('when the same signed interaction arrives twice, then it is acted on once', async () => {
    const e = await request('deploy');
    /** Send exactly the same request (body, timestamp, signature) twice. */
    const sendTwice = async (payload: object) => {
      const body = interactionBody(payload);
      const signed = signSlackRequest(s.signingSecret, body);
      const opts = {
        body,
        timestamp: Number(signed['x-slack-request-timestamp']),
        signature: signed['x-slack-signature'],
      };
      const first = await s.interact(payload, opts);
      const second = await s.interact(payload, opts);
      return [first, second] as const;
    };

    const triggerId = `replayed-${++triggers}`;
    const [c1, c2] = await sendTwice(
      blockActionPayload({
        userId: alice.slackUserId,
        teamId: TEAM,
        actionId: APPROVE_ACTION,
        value: e.id,
        triggerId,
      }),
    );
    expect([c1.status, c2.status]).toEqual([200, 200]);
    // The first is acted on (its modal opens, however slow the machine is)...
    await s.slack.waitFor(() => s.modalFor(triggerId) !== undefined);
    // ...and the replay, sent right after it, not: a later click is handled, so it had its chance.
    await clickApprove(bob, e.id);
    await sleep(300);
    expect(
      s.slack.calls.filter((c) => c.method === 'views.open' && c.args.trigger_id === triggerId),
    ).toHaveLength(1);

    const [d1, d2] = await sendTwice(
      viewSubmissionPayload({
        userId: alice.slackUserId,
        teamId: TEAM,
        callbackId: DENY_CALLBACK,
        privateMetadata: e.id,
        values: { reason: { reason: 'replayed denial' } },
      }),
    );
    expect([d1.status, d2.status]).toEqual([200, 200]);
    // Handled twice, the second would answer with the workflow's refusal and audit it.
    expect(await d2.text()).toBe('');
    const types = (await events(e.id)).map((x) => x.type);
    expect(types.filter((t) => t === 'elevation.denied')).toHaveLength(1);
    expect(types).not.toContain('deny.refused');
  });
});

describe('deny from Slack', () => {
  it('when an approver clicks Deny and gives a reason, then the request is denied with that reason and their e-mail; an empty reason is refused', async () => {
    const e = await request('deploy');
    const triggerId = `deny-${++triggers}`;
    const res = await s.interact(
      blockActionPayload({
        userId: alice.slackUserId,
        teamId: TEAM,
        actionId: DENY_ACTION,
        value: e.id,
        triggerId,
      }),
    );
    expect(res.status).toBe(200);
    await s.slack.waitFor(() => s.modalFor(triggerId) !== undefined);
    expect(s.modalFor(triggerId)).toMatchObject({ callback_id: DENY_CALLBACK, private_metadata: e.id });
    expect(JSON.stringify(s.modalFor(triggerId))).toContain('"block_id":"reason"');

    for (const empty of ['', '   ']) {
      const refused = await submitDeny(alice, e.id, empty);
      expect(refused.status).toBe(200);
      expect(await refused.json()).toMatchObject({
        response_action: 'errors',
        errors: { reason: expect.stringContaining('why') as unknown },
      });
    }
    // Text that would hide or reorder what the bot and the console show is refused, as in the API.
    for (const [hidden, code] of [
      ['not \u202eyadot', 'U+202E'],
      ['ok\u200b', 'U+200B'],
      ['\u3164', 'visible'],
    ]) {
      const refused = await submitDeny(alice, e.id, hidden!);
      expect(await refused.json()).toMatchObject({
        response_action: 'errors',
        errors: { reason: expect.stringContaining(code!) as unknown },
      });
    }
    await stillPending(e.id);

    const submitted = await submitDeny(alice, e.id, 'no change window today');
    expect(submitted.status).toBe(200);
    expect(await submitted.text()).toBe('');
    const denied = await s.stack.waitFor(e.id, (v) => v.status === 'denied');
    expect(denied.endReason).toBe('denied');
    const event = (await events(e.id)).find((x) => x.type === 'elevation.denied')!;
    expect(event.actor).toEqual({ kind: 'human', id: alice.email });
    expect(event.data.reason).toBe('no change window today');
  });
});

describe('the confirmation form', () => {
  it('when the form has too many fields or is too large, then it is refused as invalid_form and audited, not a 500', async () => {
    await s.stack.services.audit.flushRefusals(); // a window of its own for refusals nobody can be named for
    const before = await auditHead();
    const browser = s.browser();
    const many = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, 'x']));
    const tooMany = await browser.post(`${s.url}/approvals/confirm`, many);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.text()).toContain('Reason code: <code>invalid_form</code>');
    const tooLarge = await browser.post(
      `${s.url}/approvals/confirm`,
      { confirmation: 'x'.repeat(4096) },
      JSON_ACCEPT,
    );
    expect(tooLarge.status).toBe(400);
    expect(await tooLarge.json()).toMatchObject({
      error: { code: 'invalid_request', reason: 'invalid_form' },
    });
    const refused = (await eventsAfter(before)).filter(
      (x) => x.type === 'approval.refused' && x.data.code === 'invalid_form',
    );
    // The first in full; the second, the same kind from the same network, counted in a summary.
    expect(refused).toHaveLength(1);
    await s.stack.services.audit.flushRefusals();
    const summaries = (await eventsAfter(before)).filter((x) => x.type === 'refusals.summarized');
    expect(summaries.map((x) => x.data)).toEqual([
      expect.objectContaining({ of: 'approval.refused', reason: 'invalid_form', count: 2 }),
    ]);
  });
});

/**
 * POST to /slack/events: the headers, then `first` bytes of body in 64 KiB chunks, then
 * nothing more (the rest of a large body held back) until the server answers. A server that
 * waits for the whole body never answers: the test fails on its timeout.
 */
function streamBody(
  headers: Record<string, string>,
  first: number,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest(`${s.url}/slack/events`, { method: 'POST', headers });
    req.on('response', (res) => {
      answered = true;
      const status = res.statusCode ?? 0;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status, body: text ? (JSON.parse(text) as unknown) : undefined });
      });
      res.on('error', reject);
    });
    // The server closes the connection after answering: writes after that fail, as they should.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.flushHeaders();
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const write = () => {
      while (!answered && sent < first) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
    };
    write();
  });
}
