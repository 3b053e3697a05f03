/**
 * The API as `elevate api` composes it (bot and admin API, Slack in HTTP mode, the approval
 * pages, metrics), over a real SQLite store, for the fuzz suites. Temporal is a stand-in that
 * starts every workflow and knows none afterwards: a valid request goes all the way through to
 * its 202, and no Temporal server is needed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import pino from 'pino';
import { DEFAULT_HTTP_LIMITS } from '../../config/http-limits.js';
import { startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { createDomainServices } from '../../domain/domain-services.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { createMetrics } from '../../integrations/metrics/prometheus.js';
import { createLimitedServer } from '../../runtime/http-server.js';
import { createApp } from '../../server/app.js';
import { approvalRoutes } from '../../server/approvals.js';
import { AuthFailureLimit } from '../../server/auth-failure-limit.js';
import { createSlackApp } from '../../server/slack-app.js';
import type { StepUpClient } from '../../integrations/oidc/step-up.js';
import { openStores, type Stores } from '../../store/stores.js';
import { buildPolicy, testDecisionKey } from './stack.js';

export const FUZZ_SIGNING_SECRET = 'fuzz-signing-secret';

/** A Temporal client that starts every workflow and finds none: no server behind it. */
export function standInTemporal(): { client: Client; started: string[] } {
  const started: string[] = [];
  const notFound = (workflowId: string) => () =>
    Promise.reject(new WorkflowNotFoundError('workflow not found', workflowId, undefined));
  const handle = (workflowId: string) => ({
    workflowId,
    query: notFound(workflowId),
    describe: notFound(workflowId),
    executeUpdate: notFound(workflowId),
    startUpdate: notFound(workflowId),
    signal: notFound(workflowId),
    cancel: notFound(workflowId),
    terminate: notFound(workflowId),
    result: notFound(workflowId),
  });
  const workflow = {
    start: (_type: unknown, opts: { workflowId: string }) => {
      started.push(opts.workflowId);
      return Promise.resolve(handle(opts.workflowId));
    },
    getHandle: (workflowId: string) => handle(workflowId),
  };
  return { client: { workflow } as unknown as Client, started };
}

export interface FuzzApp {
  base: string;
  /** The bot every bot request is made as; `other-bot` is the one admin requests may change. */
  botKey: string;
  /** The roles the bot may request, with the longest duration each allows. */
  botRoles: { id: string; maxDurationSeconds: number }[];
  /** `other-bot`'s key: a real bot that may request `fuzz-auto` only. */
  otherBotKey: string;
  adminToken: string;
  store: Stores;
  /** Log lines at `error` or worse: a request that failed on our side. */
  errors: { msg?: string; err?: unknown }[];
  started: string[];
  server: Server;
  close(): Promise<void>;
}

/** Starts the app on a free loopback port, with its own SQLite file. */
export async function startFuzzApp(): Promise<FuzzApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'elevate-fuzz-'));
  const store = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
  const errors: { msg?: string; err?: unknown }[] = [];
  const logger = pino(
    { level: 'error' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n'))
          if (line) errors.push(JSON.parse(line) as { msg?: string; err?: unknown });
        done();
      },
    }),
  );
  const slackStub: SlackStub = await startSlackApiStub({ token: 'xoxb-fuzz', users: [] });
  const { policy, adminToken, keys } = buildPolicy(
    [
      { id: 'fuzz-bot', roles: ['fuzz-auto', 'fuzz-approved'] },
      { id: 'other-bot', roles: ['fuzz-auto'] },
    ],
    [
      { id: 'fuzz-auto', maxDurationSeconds: 3600 },
      {
        id: 'fuzz-approved',
        maxDurationSeconds: 600,
        approval: { mode: 'approvers', approvers: ['ann@example.org'], quorum: 1 },
      },
    ],
  );
  const temporal = standInTemporal();
  const services = createDomainServices({
    policy,
    temporal: temporal.client,
    signer: new DecisionSigner(testDecisionKey()),
    taskQueue: 'unused',
    ...store,
    timing: { grantTimeoutSeconds: 10, revokeRetryMaxSeconds: 1 },
    logger,
  });
  // Off (burst 0): thousands of bad credentials from one address would otherwise turn every
  // later answer into 429, and the inputs behind the credential would go untried.
  const authFailureLimit = new AuthFailureLimit({ burst: 0, perMinute: 0 });
  const slackApp = createSlackApp({
    settings: {
      botToken: slackStub.token,
      signingSecret: FUZZ_SIGNING_SECRET,
      socketMode: false,
      apiUrl: slackStub.url,
    },
    approvals: services.approvals,
    audit: services.audit,
    slack: new SlackClient({ token: slackStub.token, apiUrl: slackStub.url, logger }),
    singleUse: store.singleUse,
    publicUrl: 'http://127.0.0.1',
    logger,
  });
  // An identity provider that starts logins (a page that begins with one answers as it would:
  // a redirect) and is never reached: no fuzzed callback can carry a state it started.
  const loginStarter = {
    begin: () => {
      const state = randomBytes(24).toString('base64url');
      return Promise.resolve({
        url: `https://idp.invalid/authorize?state=${state}`,
        transaction: { state, nonce: state, codeVerifier: state, createdAt: Date.now() },
      });
    },
  } as unknown as StepUpClient;
  const app = createApp({
    services,
    healthChecks: {},
    logger,
    metrics: createMetrics({ processMetrics: false }),
    authFailureLimit,
    routers: [
      slackApp.router!,
      approvalRoutes({
        ...services,
        stepUp: () => Promise.resolve(loginStarter),
        singleUse: store.singleUse,
        publicUrl: 'http://127.0.0.1',
        slackBound: true,
        logger,
        authFailureLimit,
      }),
    ],
  });
  const server = createLimitedServer(app, DEFAULT_HTTP_LIMITS);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    botKey: keys['fuzz-bot']!,
    botRoles: policy.bots
      .find((b) => b.id === 'fuzz-bot')!
      .roles.map((id) => ({
        id,
        maxDurationSeconds: policy.roles.find((r) => r.id === id)!.maxDurationSeconds,
      })),
    otherBotKey: keys['other-bot']!,
    adminToken,
    store,
    errors,
    started: temporal.started,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await slackStub.stop();
      await store.database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
