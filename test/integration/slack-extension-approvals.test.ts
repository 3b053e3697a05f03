/**
 * The approvers' side of an extension that needs them (`extend.approval: same-as-request`): the
 * Approve extension / Deny extension buttons, the personal MFA link, the confirmation page and
 * the denial, through the Slack app and the approval pages as mounted in production, over the
 * Slack Web API stand-in, signed interactions and a real store. The workflow is a stand-in: a
 * reader returning an active elevation with its pending extension, and a decision sender that
 * captures what would be sent (and refuses, as the workflow would, a decision for an extension
 * that is not the one waiting). The identity provider is a stand-in too: a login returns at once
 * with the MFA evidence of the person the test says.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor, ElevationView } from '../../core/model/elevation.js';
import type { ApproveInput, DenyInput, RefusalCode } from '../../core/model/decisions.js';
import type { PendingExtension } from '../../core/model/extend.js';
import { pendingExtensionFor } from '../../core/rules/extension-approval.js';
import { createBrowser } from '../../dev/browser.js';
import { startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';
import {
  blockActionPayload,
  interactionBody,
  signSlackRequest,
  viewSubmissionPayload,
} from '../../dev/slack-signing.js';
import { ApprovalService, type ApprovalServiceDeps } from '../../domain/approvals/approval-service.js';
import { REFUSAL_TO_API } from '../../domain/elevations/decision-sender.js';
import { RefusalError } from '../../domain/errors.js';
import type { StepUpClient } from '../../integrations/oidc/step-up.js';
import {
  APPROVE_EXTENSION_ACTION,
  DENY_EXTENSION_ACTION,
  DENY_EXTENSION_CALLBACK,
} from '../../integrations/slack/extend-messages.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { approvalRoutes } from '../../server/approvals.js';
import { approverQueuePage } from '../../server/approver-queue-views.js';
import { createSlackApp } from '../../server/slack-app.js';
import { openStores, type Stores } from '../../store/stores.js';
import { buildPolicy } from '../support/stack.js';

const ID = 'el_00000000000000000000e17e';
const SIGNING_SECRET = 'extension-test-signing-secret-0123456789';
const alice = { email: 'alice@example.org', slackUserId: 'UALICE' }; // security
const bob = { email: 'bob@example.org', slackUserId: 'UBOB' }; // sre
const dave = { email: 'dave@example.org', slackUserId: 'UDAVE' }; // no approver group

const PENDING: PendingExtension = {
  number: 2,
  durationSeconds: 1800,
  requestedBy: { kind: 'bot', id: 'etl-bot' },
  justification: 'the nightly load <b>runs late</b>',
  requestedAt: new Date().toISOString(),
  deadline: new Date(Date.now() + 3600_000).toISOString(),
  quorum: 2,
  groups: [
    { name: 'security', quorum: 1, approved: 0 },
    { name: 'sre', quorum: 1, approved: 0 },
  ],
  approvals: [],
};

function activeView(pendingExtension?: PendingExtension): ElevationView {
  const grantedAt = new Date(Date.now() - 600_000).toISOString();
  return {
    id: ID,
    workflowId: `elevation-${ID}`,
    status: 'active',
    botId: 'etl-bot',
    roleId: 'etl-load',
    owner: 'owner@example.org',
    environment: 'test',
    durationSeconds: 3600,
    justification: 'nightly load',
    requestedAt: grantedAt,
    approval: {
      mode: 'approvers',
      quorum: 2,
      deadline: grantedAt,
      groups: [
        { name: 'security', quorum: 1, approved: 1 },
        { name: 'sre', quorum: 1, approved: 1 },
      ],
    },
    approvals: [
      { approver: 'carol@example.org', at: grantedAt, groups: ['security'] },
      { approver: 'erin@example.org', at: grantedAt, groups: ['sre'] },
    ],
    grantedAt,
    expiresAt: new Date(Date.now() + 3000_000).toISOString(),
    revokeAttempts: 0,
    extensions: 1,
    ...(pendingExtension ? { pendingExtension } : {}),
  };
}

/** A refusal as the workflow's validator would give it. */
class WorkflowRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

let slack: SlackStub;
/** The service as the server builds it, with the approver queue fed `queued` by status. */
let queueService: ApprovalService;
let queued: ElevationView[] = [];
let stores: Stores;
let dir: string;
let server: Server;
let url: string;
let unboundServer: Server;
let unboundUrl: string;
/** What the reader returns. */
let current: ElevationView | undefined;
/** Who the stand-in identity provider logs in. */
let loggingIn = alice.email;
const decided: { kind: string; input: ApproveInput | DenyInput }[] = [];
const refused: { type: string; actor: Actor; data: Record<string, unknown> }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-extension-approvals-'));
  stores = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
  slack = await startSlackApiStub({
    token: 'xoxb-extension-test',
    users: [alice, bob, dave].map((p) => ({ id: p.slackUserId, email: p.email })),
  });
  const logger = pino({ level: 'silent' });
  const { policy } = buildPolicy(
    [{ id: 'etl-bot', roles: ['etl-load'], owner: 'owner@example.org' }],
    [
      {
        id: 'etl-load',
        approval: {
          mode: 'approvers',
          groups: [
            { name: 'security', members: [alice.email] },
            { name: 'sre', members: [bob.email] },
          ],
        },
      },
    ],
  );
  const refusals = {
    recordRefusal: (type: string, _id: string | null, actor: Actor, data: Record<string, unknown>) => {
      refused.push({ type, actor, data });
      return Promise.resolve({ type });
    },
  } as unknown as ApprovalServiceDeps['refusals'];
  const decisions = {
    decide(_id: string, kind: string, input: ApproveInput | DenyInput) {
      const view = current!;
      const found = pendingExtensionFor(view, input.extension);
      if (!('pending' in found)) return Promise.reject(new WorkflowRefusal(found.code, found.message));
      decided.push({ kind, input });
      return Promise.resolve(view);
    },
    async refusalOrUnavailable(
      err: unknown,
      type: 'approval.refused' | 'deny.refused',
      id: string,
      by: Actor,
      extra: Record<string, unknown>,
    ) {
      if (!(err instanceof WorkflowRefusal)) throw err;
      const receipt = await refusals.recordRefusal(type, id, by, {
        code: err.code,
        message: err.message,
        ...extra,
      });
      return new RefusalError(receipt, REFUSAL_TO_API[err.code], err.code, err.message);
    },
  } as unknown as ApprovalServiceDeps['decisions'];
  const approvals = new ApprovalService({
    policy,
    reader: { find: () => Promise.resolve(current) },
    decisions,
    refusals,
    logger,
  });

  queueService = new ApprovalService({
    policy,
    reader: { find: () => Promise.resolve(current) },
    decisions,
    refusals,
    pending: {
      listElevations: (query: { status?: string[] }) =>
        Promise.resolve({ items: queued.filter((v) => query.status?.includes(v.status) ?? true) }),
    },
    logger,
  });

  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stepUp = standInLogin(url);
  // Without Slack (the log notifier): the unbound link, `GET /approvals/{id}?extension=N`.
  unboundServer = createServer();
  await new Promise<void>((resolve) => unboundServer.listen(0, '127.0.0.1', resolve));
  unboundUrl = `http://127.0.0.1:${(unboundServer.address() as AddressInfo).port}`;
  const unbound = express();
  unbound.use(
    approvalRoutes({
      approvals,
      audit: refusals,
      stepUp: () => Promise.resolve(standInLogin(unboundUrl)),
      singleUse: stores.singleUse,
      publicUrl: unboundUrl,
      slackBound: false,
      logger,
    }),
  );
  unboundServer.on('request', unbound);
  const slackApp = createSlackApp({
    settings: { botToken: slack.token, signingSecret: SIGNING_SECRET, socketMode: false, apiUrl: slack.url },
    approvals,
    audit: refusals,
    slack: new SlackClient({ token: slack.token, apiUrl: slack.url, logger }),
    singleUse: stores.singleUse,
    publicUrl: url,
    logger,
  });
  const app = express();
  app.use(pinoHttp({ logger }));
  app.use(slackApp.router!);
  app.use(
    approvalRoutes({
      approvals,
      audit: refusals,
      stepUp: () => Promise.resolve(stepUp),
      singleUse: stores.singleUse,
      publicUrl: url,
      slackBound: true,
      logger,
    }),
  );
  server.on('request', app);
}, 60_000);

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server?.close(() => resolve());
    server?.closeAllConnections();
  });
  await new Promise<void>((resolve) => {
    unboundServer?.close(() => resolve());
    unboundServer?.closeAllConnections();
  });
  await slack?.stop();
  await stores?.database.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  current = activeView(PENDING);
  queued = [];
  loggingIn = alice.email;
  decided.length = 0;
  refused.length = 0;
});

/** The identity provider's stand-in for pages served at `base`: every login comes straight back, with MFA, as `loggingIn`. */
function standInLogin(base: string): StepUpClient {
  return {
    settings: { maxAgeSeconds: 300, redirectUri: `${base}/approvals/callback` },
    begin() {
      const state = randomBytes(24).toString('base64url');
      return Promise.resolve({
        url: `${base}/approvals/callback?state=${state}&code=stand-in`,
        transaction: { state, nonce: state, codeVerifier: state, createdAt: Date.now() },
      });
    },
    finish() {
      return Promise.resolve({
        issuer: 'https://idp.test',
        subject: `sub-${loggingIn}`,
        email: loggingIn,
        amr: ['pwd', 'otp'],
        authTime: new Date().toISOString(),
        mfaMethod: 'otp',
        idTokenHash: `sha256:${'0'.repeat(64)}`,
      });
    },
  } as unknown as StepUpClient;
}

/** POST a signed interaction to /slack/events, as Slack does. */
function interact(payload: object): Promise<Response> {
  const body = interactionBody(payload);
  const signed = signSlackRequest(SIGNING_SECRET, body);
  return fetch(`${url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...signed },
    body,
  });
}

let triggers = 0;

/** Click a button of the extension request as `who`; returns the modal Slack was asked to open. */
async function click(
  who: { slackUserId: string },
  actionId: string,
  value: string,
): Promise<Record<string, unknown>> {
  const triggerId = `trigger-ext-${++triggers}`;
  const res = await interact(
    blockActionPayload({
      userId: who.slackUserId,
      teamId: slack.teamId,
      actionId,
      value,
      triggerId,
      blockId: 'elevate_extension_actions',
    }),
  );
  expect(res.status).toBe(200);
  await slack.waitFor((calls) =>
    calls.some((c) => c.method === 'views.open' && c.args.trigger_id === triggerId),
  );
  const call = slack.calls.find((c) => c.method === 'views.open' && c.args.trigger_id === triggerId)!;
  return call.args.view as Record<string, unknown>;
}

function linkIn(modal: Record<string, unknown>): string {
  const link = /(http:\/\/127\.0\.0\.1:\d+\/approvals\/start\?ticket=[A-Za-z0-9_-]+)/.exec(
    JSON.stringify(modal),
  )?.[1];
  if (!link) throw new Error(`no approval link in the modal: ${JSON.stringify(modal)}`);
  return link;
}

/** Follow an approval link through the stand-in login to the page the callback answers. */
async function login(link: string) {
  const browser = createBrowser(url);
  const start = await browser.get(link);
  expect(start.status).toBe(303);
  const callback = await browser.get(start.headers.get('location')!);
  return { browser, callback, page: await callback.text() };
}

/** Submit the extension's deny modal as `who`. */
function submitDeny(who: { slackUserId: string }, metadata: string, reason: string) {
  return interact(
    viewSubmissionPayload({
      userId: who.slackUserId,
      teamId: slack.teamId,
      callbackId: DENY_EXTENSION_CALLBACK,
      privateMetadata: metadata,
      values: { reason: { reason } },
    }),
  );
}

describe('approving an extension from Slack', () => {
  it('when an approver clicks Approve extension, logs in with MFA and confirms, then the approval sent names extension 2, and the page said it approves the extension', async () => {
    const modal = await click(alice, APPROVE_EXTENSION_ACTION, `${ID}:2`);
    expect(JSON.stringify(modal)).toContain('Approve extension');
    expect(JSON.stringify(modal)).toContain('extension 2');

    const { browser, callback, page } = await login(linkIn(modal));
    expect(callback.status, page).toBe(200);
    expect(page).toContain('Approve extension 2 of this elevation?');
    expect(page).toContain('30 min');
    // The justification is the bot's text: shown escaped, never as markup.
    expect(page).toContain('the nightly load &lt;b>runs late&lt;/b>');
    expect(page).not.toContain('<b>runs late');

    const confirmed = await browser.confirm(page);
    const answer = await confirmed.text();
    expect(confirmed.status, answer).toBe(200);
    expect(answer).toContain('approved extension 2');
    expect(decided).toHaveLength(1);
    expect(decided[0]!.kind).toBe('approve');
    const input = decided[0]!.input as ApproveInput;
    expect(input).toMatchObject({ approver: { id: alice.email }, extension: 2, groups: ['security'] });
    expect(input.evidence).toMatchObject({ email: alice.email, slackUserId: alice.slackUserId });
  });

  it('when the button names another extension than the one waiting, then the modal refuses it with extension_not_pending and no link, and the refusal records the number', async () => {
    const modal = JSON.stringify(await click(alice, APPROVE_EXTENSION_ACTION, `${ID}:3`));
    expect(modal).toContain('Cannot approve');
    expect(modal).toContain('extension 3');
    expect(modal).not.toContain('/approvals/start');
    expect(refused.map((r) => r.type)).toEqual(['approval.refused']);
    expect(refused[0]!.data).toMatchObject({
      code: 'extension_not_pending',
      extension: 3,
      stage: 'precheck',
    });
    expect(decided).toEqual([]);
  });

  it('when no extension is waiting any more, then a click on its button is refused with extension_not_pending', async () => {
    current = activeView();
    const modal = JSON.stringify(await click(alice, APPROVE_EXTENSION_ACTION, `${ID}:2`));
    expect(modal).toContain('Cannot approve');
    expect(modal).not.toContain('/approvals/start');
    expect(refused.map((r) => [r.type, r.data.code, r.data.extension])).toEqual([
      ['approval.refused', 'extension_not_pending', 2],
    ]);
  });

  it('when someone outside the approver groups clicks Approve extension, then they get no link', async () => {
    const modal = JSON.stringify(await click(dave, APPROVE_EXTENSION_ACTION, `${ID}:2`));
    expect(modal).toContain('Cannot approve');
    expect(modal).not.toContain('/approvals/start');
    expect(refused[0]?.data).toMatchObject({ code: 'not_eligible', extension: 2 });
  });

  it('when the extension is closed between the login and the confirmation, then the approval is refused with extension_not_pending and nothing counts', async () => {
    const { browser, page } = await login(linkIn(await click(alice, APPROVE_EXTENSION_ACTION, `${ID}:2`)));
    current = activeView();
    const confirmed = await browser.confirm(page, { accept: 'application/json' });
    expect(confirmed.status).toBe(409);
    expect(await confirmed.json()).toMatchObject({ error: { code: 'extension_not_pending' } });
    expect(decided).toEqual([]);
    expect(refused.at(-1)).toMatchObject({
      type: 'approval.refused',
      data: { code: 'extension_not_pending', extension: 2 },
    });
  });
});

describe('denying an extension from Slack', () => {
  it('when an approver clicks Deny extension and gives a reason, then the denial sent names extension 2 with the reason', async () => {
    const modal = await click(bob, DENY_EXTENSION_ACTION, `${ID}:2`);
    expect(modal).toMatchObject({ callback_id: DENY_EXTENSION_CALLBACK, private_metadata: `${ID}:2` });

    const res = await submitDeny(bob, `${ID}:2`, 'not tonight');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(decided).toEqual([
      {
        kind: 'deny',
        input: { by: { kind: 'human', id: bob.email }, reason: 'not tonight', extension: 2, groups: ['sre'] },
      },
    ]);
  });

  it('when the denial names an extension that is not waiting, then the modal shows the refusal and it is recorded with the number', async () => {
    const res = await submitDeny(bob, `${ID}:5`, 'not tonight');
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { response_action: string; errors: { reason: string } };
    expect(answer.response_action).toBe('errors');
    expect(answer.errors.reason).toContain('extension 5');
    expect(decided).toEqual([]);
    expect(refused.map((r) => r.type)).toEqual(['deny.refused']);
    expect(refused[0]!.data).toMatchObject({
      code: 'extension_not_pending',
      extension: 5,
      reason: 'not tonight',
    });
  });

  it('when the modal carries no extension number, then nothing is denied', async () => {
    const res = await submitDeny(bob, ID, 'not tonight');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { response_action: string }).response_action).toBe('errors');
    expect(decided).toEqual([]);
  });
});

describe("an approver's queue", () => {
  it('when an active elevation has an extension waiting, then its approvers find it in their queue, as extension 2, with a link that approves the extension', async () => {
    const other = { ...activeView(), id: 'el_00000000000000000000e17f' };
    queued = [activeView(PENDING), other];

    const items = await queueService.queue(alice.email);
    expect(items.map((i) => [i.elevation.id, i.extension, i.refusal])).toEqual([[ID, 2, undefined]]);
    const page = approverQueuePage({
      approver: alice.email,
      entries: [{ ...items[0]!, link: 'https://x/l' }],
    });
    expect(page).toContain('30 min longer');
    expect(page).toContain('(extension 2)');
    expect(page).toContain(PENDING.deadline);

    // Someone who approved the extension already sees why not, without a link.
    queued = [
      activeView({
        ...PENDING,
        approvals: [{ approver: alice.email, at: new Date().toISOString(), groups: ['security'] }],
      }),
    ];
    const again = await queueService.queue(alice.email);
    expect(again).toHaveLength(1);
    expect(again[0]!.refusal).toContain('already approved');
    expect(await queueService.queue(dave.email)).toEqual([]);
  });
});

describe('approving an extension without Slack', () => {
  it('when an approver opens the logged link with ?extension=2, logs in with MFA and confirms, then the approval sent names extension 2', async () => {
    const browser = createBrowser(unboundUrl);
    const start = await browser.get(`${unboundUrl}/approvals/${ID}?extension=2`);
    expect(start.status).toBe(303);
    const callback = await browser.get(start.headers.get('location')!);
    const page = await callback.text();
    expect(callback.status, page).toBe(200);
    expect(page).toContain('Approve extension 2 of this elevation?');
    const confirmed = await browser.confirm(page);
    expect(confirmed.status, await confirmed.text()).toBe(200);
    expect(decided.map((d) => [d.kind, (d.input as ApproveInput).extension])).toEqual([['approve', 2]]);
  });

  it('when the link names an extension that is not a positive number, then it is refused naming the field, before any login', async () => {
    const res = await fetch(`${unboundUrl}/approvals/${ID}?extension=0`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('extension');
    expect(decided).toEqual([]);
  });
});
