/**
 * A notification activity that Temporal retries posts nothing twice. SlackNotifier runs against
 * the Slack Web API stand-in (through the real SlackClient) and a real SQLite store, whose
 * single-use records keep the "already posted" marks; a rate limit part-way through an attempt
 * fails it the way the activities hand it to Temporal (`activities/slack-failures.ts`), and the
 * whole attempt is then run again, as Temporal's retry does.
 *
 * A rate limit is set on the next post as soon as a chosen call has been answered: the stand-in
 * runs in this process, so the limit is in place before the client's next request arrives.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SETUP_RETRY_MS, withSlackFailures } from '../../activities/slack-failures.js';
import type { ElevationView, SlackMessageRef } from '../../core/model/elevation.js';
import type { EventType } from '../../core/model/events.js';
import type { ElevationDetails, ElevationNotice } from '../../core/ports/notifier.js';
import { dmOf, startSlackApiStub, type SlackStub, type SlackStubCall } from '../../dev/slack-api-stub.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { SlackNotifier } from '../../integrations/slack/slack-notifier.js';
import { openStores, type Stores } from '../../store/stores.js';

const TOKEN = 'xoxb-notifier-retries-token';
const ALICE = { id: 'U0ALICE01', email: 'alice@example.org' };
const BOB = { id: 'U0BOB0001', email: 'bob@example.org' };
const OWNER = { id: 'U0OWNER01', email: 'owner@example.org' };
const CHANNEL = 'C0APPROVALS';

let stub: SlackStub;
let dir: string;
let stores: Stores;
let elevations = 0;

beforeAll(async () => {
  stub = await startSlackApiStub({ token: TOKEN, users: [ALICE, BOB, OWNER], channels: [CHANNEL] });
});

afterAll(async () => {
  await stub.stop();
});

beforeEach(async () => {
  stub.calls.length = 0;
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-notifier-retries-'));
  stores = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
});

afterEach(async () => {
  await stores.database.close();
  rmSync(dir, { recursive: true, force: true });
});

function notifier(channel?: string): SlackNotifier {
  const logger = pino({ level: 'silent' });
  return new SlackNotifier({
    slack: new SlackClient({ token: TOKEN, apiUrl: stub.url, logger }),
    singleUse: stores.singleUse,
    elevations: stores.elevations,
    ...(channel ? { channel } : {}),
    logger,
  });
}

/** A pending elevation of `ci-bot` that alice and bob may approve (its owner may not). */
function details(): ElevationDetails {
  const id = `el_retries${String(++elevations).padStart(16, '0')}`;
  const elevation: ElevationView = {
    id,
    workflowId: `elevation-${id}`,
    status: 'pending_approval',
    botId: 'ci-bot',
    roleId: 'deploy',
    owner: OWNER.email,
    environment: 'production',
    durationSeconds: 600,
    justification: 'deploy release 1.2.3',
    requestedAt: new Date().toISOString(),
    approval: {
      mode: 'approvers',
      quorum: 1,
      deadline: new Date(Date.now() + 600_000).toISOString(),
      groups: [{ name: 'ops', quorum: 1, approved: 0 }],
    },
    approvals: [],
    revokeAttempts: 0,
  };
  return {
    elevation,
    bot: {
      id: 'ci-bot',
      owner: OWNER.email,
      team: 'Platform',
      purpose: 'deploys',
      environment: 'production',
      principal: 'uid=ci-bot,ou=bots,dc=example,dc=org',
    },
    role: {
      id: 'deploy',
      environment: 'production',
      target: { type: 'ldap', groupDn: 'cn=deployers,ou=groups,dc=example,dc=org' },
      maxDurationSeconds: 3600,
      approval: {
        mode: 'approvers',
        groups: [{ name: 'ops', quorum: 1, members: [ALICE.email, BOB.email, OWNER.email] }],
        windowSeconds: 600,
        ownerMayApprove: false,
      },
    },
  };
}

function notice(d: ElevationDetails, messages: SlackMessageRef[], event: EventType): ElevationNotice {
  return { ...d, messages, event, notifyOwner: true };
}

const posts = (where: (c: SlackStubCall) => boolean) =>
  stub.calls.filter((c) => c.method === 'chat.postMessage' && where(c));
const requestsTo = (user: string) => posts((c) => c.args.channel === user && !c.args.thread_ts);
const repliesIn = (ref: SlackMessageRef) =>
  posts((c) => c.args.channel === ref.channel && c.args.thread_ts === ref.ts);

/** From the moment `after` holds, the next chat.postMessage is rate-limited (Retry-After 30). */
function rateLimitNextPostAfter(after: (calls: SlackStubCall[]) => boolean): Promise<void> {
  return stub.waitFor(after, 5_000).then(() => stub.rateLimit('chat.postMessage', 30, 1));
}

/** Runs one activity attempt the way the activities do; returns its failure. */
async function failedAttempt(op: () => Promise<unknown>): Promise<ApplicationFailure> {
  const failure = await withSlackFailures(op).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({
    type: 'SlackApiError',
    nonRetryable: false,
    nextRetryDelay: 30_000,
    details: [{ method: 'chat.postMessage', code: 'ratelimited', retryAfterSeconds: 30 }],
  });
  return failure as ApplicationFailure;
}

describe('a retried announcement', () => {
  it("when the second approver's message is rate-limited, then the retry posts only theirs, and each approver has one message", async () => {
    const n = notifier();
    const d = details();
    const limited = rateLimitNextPostAfter(() => requestsTo(ALICE.id).length === 1);

    await failedAttempt(() => n.announce(d));
    await limited;
    expect(requestsTo(ALICE.id)).toHaveLength(1);
    expect(requestsTo(BOB.id)).toHaveLength(0);

    const refs = await withSlackFailures(() => n.announce(d));
    expect(requestsTo(ALICE.id)).toHaveLength(1);
    expect(requestsTo(BOB.id)).toHaveLength(1);
    expect(requestsTo(OWNER.id)).toHaveLength(0);
    // The refs name both messages, the first one as it was posted by the failed attempt.
    expect(refs.map((r) => r.channel)).toEqual([dmOf(ALICE.id), dmOf(BOB.id)]);
    for (const ref of refs) expect(stub.messages().get(`${ref.channel}:${ref.ts}`)?.threadTs).toBeUndefined();

    // A retry after the activity's result was lost posts nothing and answers the same refs.
    await expect(n.announce(d)).resolves.toEqual(refs);
    expect(posts(() => true)).toHaveLength(2);
  });

  it('when the one channel message is rate-limited, then the retry posts it once', async () => {
    const n = notifier(CHANNEL);
    const d = details();
    stub.rateLimit('chat.postMessage', 30, 1);

    await failedAttempt(() => n.announce(d));
    const [ref] = await n.announce(d);
    await n.announce(d);

    expect(requestsTo(CHANNEL)).toHaveLength(1);
    expect(ref?.channel).toBe(CHANNEL);
  });
});

describe('a retried update', () => {
  it('when the reply in the second thread is rate-limited, then the retry replies there only, and the owner hears once', async () => {
    const n = notifier();
    const d = details();
    const refs = await n.announce(d);
    expect(refs).toHaveLength(2);
    const [first, second] = refs as [SlackMessageRef, SlackMessageRef];
    const denied = notice(d, refs, 'elevation.denied');
    const limited = rateLimitNextPostAfter(() => repliesIn(first).length === 1);

    await failedAttempt(() => n.publish(denied));
    await limited;
    expect(repliesIn(first)).toHaveLength(1);
    expect(repliesIn(second)).toHaveLength(0);
    expect(requestsTo(OWNER.id)).toHaveLength(0);

    await withSlackFailures(() => n.publish(denied));
    await n.publish(denied); // once more: the activity's result was lost
    expect(repliesIn(first)).toHaveLength(1);
    expect(repliesIn(second)).toHaveLength(1);
    expect(requestsTo(OWNER.id)).toHaveLength(1);
    // Updates replace the content, so doing them again is harmless: both show the last step.
    for (const ref of refs) expect(stub.messages().get(`${ref.channel}:${ref.ts}`)?.updates).toBe(3);
  });

  it("when the owner's notice is rate-limited, then the retry posts it without replying again", async () => {
    const n = notifier();
    const d = details();
    const refs = await n.announce(d);
    const expired = notice(d, refs, 'elevation.expired');
    const limited = rateLimitNextPostAfter(() => refs.every((ref) => repliesIn(ref).length === 1));

    await failedAttempt(() => n.publish(expired));
    await limited;
    expect(requestsTo(OWNER.id)).toHaveLength(0);

    await withSlackFailures(() => n.publish(expired));
    for (const ref of refs) expect(repliesIn(ref)).toHaveLength(1);
    expect(requestsTo(OWNER.id)).toHaveLength(1);
  });

  it('when the next step is published, then it gets its own replies and owner notice', async () => {
    const n = notifier();
    const d = details();
    const refs = await n.announce(d);
    await n.publish(notice(d, refs, 'elevation.approved'));
    await n.publish(notice(d, refs, 'elevation.approved'));
    await n.publish(notice(d, refs, 'elevation.revoked'));

    for (const ref of refs) expect(repliesIn(ref)).toHaveLength(2);
    expect(requestsTo(OWNER.id)).toHaveLength(2);
  });
});

describe('a setup an operator has to mend', () => {
  it('when the channel does not exist, then the attempt fails retryable, a minute later, naming what to check', async () => {
    const failure = await withSlackFailures(() => notifier('C0NOWHERE').announce(details())).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: 'SlackApiError',
      nonRetryable: false,
      nextRetryDelay: SETUP_RETRY_MS,
      message: expect.stringContaining("check the Slack app's setup") as unknown,
      details: [{ method: 'chat.postMessage', code: 'channel_not_found' }],
    });
  });
});
