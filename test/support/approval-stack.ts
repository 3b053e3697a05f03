/**
 * The approval path end to end, for tests and the benchmark: a whole stack (real Temporal,
 * slapd, audit store, worker) plus the stand-in for Slack's Web API, a real OpenID Connect
 * provider on loopback (the development provider, whose login decides amr/acr/auth_time),
 * and the HTTP server with the Slack app and the approval pages mounted, as in production.
 *
 * `browser` drives the approver's side the way a browser would: it follows the approval link,
 * logs in at the provider, comes back with the code, and confirms, keeping its cookie.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Secret } from 'otpauth';
import type { SlackSettings } from '../../config/settings.js';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../dev/dev-identity-provider.js';
import { StepUpClient, stepUpSettings, type StepUpSettings } from '../../integrations/oidc/step-up.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { SlackNotifier } from '../../integrations/slack/slack-notifier.js';
import { createApp } from '../../server/app.js';
import { approvalRoutes } from '../../server/approvals.js';
import { createSlackApp } from '../../server/slack-app.js';
import { createBrowser, type Browser } from '../../dev/browser.js';
import { startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';
import { interactionBody, signSlackRequest } from '../../dev/slack-signing.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

/** A person who can log in at the provider and click in Slack. */
export interface Person {
  /** Their entry in the test directory: `uid=<uid>,ou=people,…` with `mail` = email. */
  uid: string;
  email: string;
  slackUserId: string;
  password: string;
  totpSecret: string;
}

export function person(name: string, domain = 'example.org'): Person {
  return {
    uid: name,
    email: `${name}@${domain}`,
    slackUserId: `U${name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`,
    password: `${name}-password`,
    totpSecret: new Secret({ size: 20 }).base32,
  };
}

export interface ApprovalStackOptions extends Omit<StackOptions, 'notifier' | 'people'> {
  /** Approvers (and others who click): Slack users, provider accounts and directory entries. */
  people: Person[];
  /** Also a Slack account for these (e-mail differs from the provider's: identity mismatch tests). */
  slackOnly?: { id: string; email: string }[];
  /** Post approval requests here (default: direct messages). */
  channel?: string;
  oidc?: Partial<StepUpSettings>;
}

export interface ApprovalStack {
  stack: Stack;
  slack: SlackStub;
  idp: DevIdentityProvider;
  /** The Elevate server's base URL (API, /slack/events, /approvals). */
  url: string;
  signingSecret: string;
  oidc: StepUpSettings;
  /** POST a signed interaction to /slack/events (options forge it). */
  interact(payload: object, opts?: InteractOptions): Promise<Response>;
  /** The modal opened for an interaction (by its trigger id), once it was opened. */
  modalFor(triggerId: string): Record<string, unknown> | undefined;
  /** The approval link in the modal opened for an interaction. */
  approvalLinkFor(triggerId: string): string | undefined;
  /** A browser for one approver. */
  browser(): Browser;
  close(): Promise<void>;
}

/**
 * How {@link ApprovalStack.interact} builds the request. By default the body is the payload
 * form-encoded as Slack sends it, signed now with the app's signing secret.
 */
export interface InteractOptions {
  /** Unix seconds to sign with and send as `X-Slack-Request-Timestamp` (default now). */
  timestamp?: number;
  /** `null`: send no `X-Slack-Signature` header; a string: send it instead of the computed one. */
  signature?: string | null;
  /** The raw body to send (default: the payload form-encoded). */
  body?: string;
  /** The raw body the signature is computed over (default: the body sent). */
  signedBody?: string;
  /** Sign with this secret instead of the app's. */
  secret?: string;
}

const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
const CLIENT_ID = 'elevate-test';
const CLIENT_SECRET = 'elevate-test-client-secret-0123456789';

export async function startApprovalStack(opts: ApprovalStackOptions): Promise<ApprovalStack> {
  const slack = await startSlackApiStub({
    token: 'xoxb-test-token',
    users: [...opts.people.map((p) => ({ id: p.slackUserId, email: p.email })), ...(opts.slackOnly ?? [])],
  });
  const slackSettings: SlackSettings = {
    botToken: slack.token,
    signingSecret: SIGNING_SECRET,
    socketMode: false,
    apiUrl: slack.url,
    ...(opts.channel ? { approvalChannel: opts.channel } : {}),
  };
  const slackClientFor = (logger: Stack['logger']) =>
    new SlackClient({ token: slack.token, apiUrl: slack.url, logger });

  const stack = await startStack({
    ...opts,
    people: opts.people.map((p) => ({ uid: p.uid, mail: p.email })),
    notifier: ({ stores, directory, logger }) =>
      new SlackNotifier({
        slack: slackClientFor(logger),
        singleUse: stores.singleUse,
        elevations: stores.elevations,
        directory,
        ...(opts.channel ? { channel: opts.channel } : {}),
        logger,
      }),
  });

  // The server listens first: its address is the provider's redirect URI.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idp = await startDevIdentityProvider({
    clients: [
      { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/approvals/callback`] },
    ],
    accounts: opts.people.map((p) => ({ email: p.email, password: p.password, totpSecret: p.totpSecret })),
    logger: stack.logger,
    env: {},
  });
  const oidc = stepUpSettings({
    issuer: idp.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: `${url}/approvals/callback`,
    ...opts.oidc,
  });
  let client: Promise<StepUpClient> | undefined;
  const slackClient = slackClientFor(stack.logger);
  const slackApp = createSlackApp({
    settings: slackSettings,
    approvals: stack.services.approvals,
    audit: stack.services.audit,
    slack: slackClient,
    singleUse: stack.stores.singleUse,
    publicUrl: url,
    logger: stack.logger,
  });
  const app = createApp({
    services: stack.services,
    healthChecks: {},
    logger: stack.logger,
    routers: [
      slackApp.router!,
      approvalRoutes({
        ...stack.services,
        stepUp: () => (client ??= StepUpClient.discover(oidc, { allowInsecureHttp: true })),
        singleUse: stack.stores.singleUse,
        publicUrl: url,
        slackBound: true,
        logger: stack.logger,
      }),
    ],
  });
  server.on('request', app);

  const browser = (): Browser => createBrowser(url);

  const modalFor = (triggerId: string) => {
    const call = slack.calls.find((c) => c.method === 'views.open' && c.args.trigger_id === triggerId);
    return call?.args.view as Record<string, unknown> | undefined;
  };

  return {
    stack,
    slack,
    idp,
    url,
    signingSecret: SIGNING_SECRET,
    oidc,
    async interact(payload, o = {}) {
      const body = o.body ?? interactionBody(payload);
      const signed = signSlackRequest(o.secret ?? SIGNING_SECRET, o.signedBody ?? body, o.timestamp);
      const headers: Record<string, string> = {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': signed['x-slack-request-timestamp'],
      };
      if (o.signature !== null) headers['x-slack-signature'] = o.signature ?? signed['x-slack-signature'];
      return fetch(`${url}/slack/events`, { method: 'POST', headers, body });
    },
    modalFor,
    approvalLinkFor(triggerId) {
      const view = modalFor(triggerId);
      return /(http:\/\/127\.0\.0\.1:\d+\/approvals\/start\?ticket=[A-Za-z0-9_-]+)/.exec(
        JSON.stringify(view ?? {}),
      )?.[1];
    },
    browser,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await idp.stop();
      await stack.close();
      await slack.stop();
    },
  };
}
